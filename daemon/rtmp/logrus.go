package rtmp

import (
	"context"
	"io"
	"log/slog"

	"github.com/sirupsen/logrus"
)

// newLibraryLogger routes go-rtmp's logrus output (info on every command,
// errors on every closed connection) into slog at debug level. When debug is
// off, logrus drops everything before formatting.
func newLibraryLogger(l *slog.Logger) logrus.FieldLogger {
	lg := logrus.New()
	lg.Out = io.Discard
	lg.Formatter = discardFormatter{}
	lg.SetLevel(logrus.PanicLevel)
	if l.Enabled(context.Background(), slog.LevelDebug) {
		lg.SetLevel(logrus.DebugLevel)
		lg.AddHook(slogHook{l.With("component", "go-rtmp")})
	}
	return lg
}

type discardFormatter struct{}

func (discardFormatter) Format(*logrus.Entry) ([]byte, error) { return nil, nil }

type slogHook struct{ l *slog.Logger }

func (slogHook) Levels() []logrus.Level { return logrus.AllLevels }

func (h slogHook) Fire(e *logrus.Entry) error {
	attrs := make([]any, 0, 2*len(e.Data))
	for k, v := range e.Data {
		attrs = append(attrs, k, v)
	}
	h.l.Debug(e.Message, attrs...)
	return nil
}
