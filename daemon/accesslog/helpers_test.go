package accesslog

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"openfront.dev/internal/testenv"
	"openfront.dev/schema"
)

// rec is request number i, its id in x-edge-request-id.
func rec(i int) Record {
	r := Record{
		Time: t0, ClientIP: netip.MustParseAddr("198.51.100.20"), ClientPort: 40000 + i%20000, Method: "GET",
		Host: "logs.example.com", Path: fmt.Sprintf("/objects/%d/file-%x.bin", i%97, i*7919), Status: 200,
		UserAgent: "openfront-test/1.0", RequestID: reqID(i), Protocol: "https", BytesIn: 300 + int64(i%50),
		BytesOut: 1000 + int64(i*31%5000), TimeTaken: time.Duration(i%900) * time.Microsecond, ProtocolVersion: "HTTP/1.1",
		ContentType: "application/octet-stream", ContentLength: int64(i * 13 % 4000), RangeStart: -1, RangeEnd: -1,
	}
	r.SetResult("Hit from openfront", false, "")
	return r
}

func reqID(i int) string { return fmt.Sprintf("req-%07d", i) }

// fakeClock is a clock the test moves.
type fakeClock = testenv.Clock

var fileName = regexp.MustCompile(`^([A-Za-z0-9_-]+)\.(\d{4}-\d{2}-\d{2}-\d{2})\.([A-Z2-7]+)\.gz$`)

// logFile is a closed log file as a reader of the logs sees it.
type logFile struct {
	path  string // relative to the log dir
	hour  string // YYYY-MM-DD-HH of the name
	size  int64
	lines []string // without the header
}

// readLogs reads every file under dir: closed files must be whole gzip
// streams starting with the header; .tmp files are returned by name.
func readLogs(t *testing.T, dir string) (files []logFile, tmps []string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if strings.HasSuffix(path, ".tmp") {
			tmps = append(tmps, rel)
			return nil
		}
		m := fileName.FindStringSubmatch(d.Name())
		if m == nil {
			t.Errorf("unexpected file %s", rel)
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files = append(files, logFile{path: rel, hour: m[2], size: int64(len(b)), lines: gunzipLines(t, rel, b)})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(files, func(i, j int) bool { return firstID(files[i]) < firstID(files[j]) })
	return files, tmps
}

func firstID(f logFile) string {
	if len(f.lines) == 0 {
		return ""
	}
	return field(f.lines[0], 15)
}

// gunzipLines decompresses every member of a log file and checks its header.
func gunzipLines(t *testing.T, name string, b []byte) []string {
	t.Helper()
	z, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	text, err := io.ReadAll(z)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	header := string(Web.Header())
	s, ok := strings.CutPrefix(string(text), header)
	if !ok {
		t.Fatalf("%s does not start with the header lines:\n%.300s", name, text)
	}
	if strings.Contains(s, "#Version") {
		t.Fatalf("%s has the header twice", name)
	}
	if s == "" {
		return nil
	}
	if !strings.HasSuffix(s, "\n") {
		t.Fatalf("%s ends inside a line", name)
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// countIDs counts every request id in the files.
func countIDs(files []logFile) map[string]int {
	n := map[string]int{}
	for _, f := range files {
		for _, l := range f.lines {
			n[field(l, 15)]++
		}
	}
	return n
}

func testOptions(t *testing.T) Options {
	return Options{Dir: t.TempDir(), NodeName: "TST1", Now: atT0, FlushInterval: time.Hour, RotateEvery: time.Hour, Logger: quietLogger()}
}

func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

func webConfig(id, prefix string) Config {
	return Config{ID: id, Domain: id + ".example.com", Logging: schema.Logging{Enabled: true, Prefix: prefix}}
}

func mustNew(t *testing.T, opts Options, cfg Config) *Writer {
	t.Helper()
	w, err := New(opts, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Uploads to a server a test left down give up soon.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		w.Close(ctx)
	})
	return w
}

func flush(t *testing.T, w *Writer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// logAndFlush logs request i and waits until it is acknowledged.
func logAndFlush(t *testing.T, w *Writer, i int) {
	t.Helper()
	r := rec(i)
	w.Log(&r)
	flush(t, w)
}

func closeWriter(t *testing.T, w *Writer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
}

// metric reads a counter or gauge of a writer.
func metric(c prometheus.Collector) int { return int(testutil.ToFloat64(c)) }

// atT0 is a clock stopped at t0, the time of rec's requests: a file is
// named for its lines' hour, and the writer closes one of an hour that
// is not the clock's at its next tick.
func atT0() time.Time { return t0 }
