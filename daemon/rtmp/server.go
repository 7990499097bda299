// Package rtmp is the RTMP side of streaming distributions: on-demand FLV and
// MP4 from the distribution's S3 origin (app cfx/st) and live publishing with
// fan-out to players (app live), on top of github.com/yutopp/go-rtmp.
package rtmp

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sirupsen/logrus"
	rtmp "github.com/yutopp/go-rtmp"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/signedurl"
)

// Config configures a Server. Zero limits take the defaults below.
type Config struct {
	// Origins builds the S3 fetchers that on-demand streams read from.
	Origins *origin.Pool
	// Cache is the node's shared HTTP cache: on-demand streams read their
	// objects through it, one cached object per 256 KiB range. nil: every
	// range goes to the origin.
	Cache *cache.Cache
	Log   *slog.Logger
	// Live receives every live publish (the HLS packager); nil: RTMP players only.
	Live LiveSink
	// Events gets one call per streaming access-log event; may be nil.
	Events func(Event)
	// SecretsDir holds the files that live.streamKeySecret names.
	SecretsDir string

	HandshakeTimeout time.Duration // handshake and connect command; 10s
	IdleTimeout      time.Duration // no traffic either way once connected; 60s
	WriteTimeout     time.Duration // one blocked write to a viewer; 20s
	MaxMessageSize   uint32        // largest message a peer may send; 4 MiB
	MaxChunkStreams  int           // chunk streams a peer may open; 32
	MaxChunkSize     uint32        // largest chunk size a peer may set; 1 MiB
	ChunkSize        uint32        // the server's own chunk size; 4096
	// PlayerQueue bounds how far (bytes) a live player may fall behind the
	// publisher before it skips to the latest keyframe; 4 MiB.
	PlayerQueue int
	// FlushInterval batches a live player's writes: at most one write per
	// interval (a write syscall per message per player dominates CPU);
	// 200ms: at most that much added to a player's latency (players buffer
	// seconds), for about 0.2 ms of CPU per player-second against 0.35 at
	// 100ms (scripts/bench-rtmp.sh, docs/rtmp.md).
	FlushInterval time.Duration
	// SilentPublisher is how long a live publisher may send nothing
	// before a new publish of its stream (with the stream key) takes its
	// place; 5s.
	SilentPublisher time.Duration
	// Now is the clock signed stream names are checked against;
	// time.Now when nil.
	Now func() time.Time
}

func (c *Config) defaults() {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	set := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	set(&c.HandshakeTimeout, 10*time.Second)
	set(&c.IdleTimeout, 60*time.Second)
	set(&c.SilentPublisher, 5*time.Second)
	set(&c.WriteTimeout, 20*time.Second)
	set(&c.FlushInterval, 200*time.Millisecond)
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = 4 << 20
	}
	if c.MaxChunkStreams <= 0 {
		c.MaxChunkStreams = 32
	}
	if c.MaxChunkSize == 0 {
		c.MaxChunkSize = 1 << 20
	}
	if c.ChunkSize == 0 {
		c.ChunkSize = 4096
	}
	if c.PlayerQueue <= 0 {
		c.PlayerQueue = 4 << 20
	}
}

// Server serves RTMP connections. Sessions keep the table they connected
// under; SetTable ends the streams of distributions a new table removes.
type Server struct {
	cfg      Config
	log      *slog.Logger
	libLog   logrus.FieldLogger
	verifier *signedurl.Verifier
	metrics  *metrics
	hub      *hub

	table atomic.Pointer[table.Table]

	mu       sync.Mutex
	closed   bool
	libs     []*rtmp.Server
	sessions map[*session]struct{}
	wg       sync.WaitGroup // sessions and their goroutines
}

// NewServer returns a server; call SetTable before serving.
func NewServer(cfg Config) *Server {
	cfg.defaults()
	s := &Server{
		cfg:      cfg,
		log:      cfg.Log,
		libLog:   newLibraryLogger(cfg.Log),
		verifier: signedurl.NewVerifier(1024),
		metrics:  newMetrics(),
		sessions: map[*session]struct{}{},
	}
	s.hub = newHub(s)
	return s
}

// SetTable swaps the routing table. Sessions of streaming distributions the
// new table no longer has (or has disabled) are closed.
func (s *Server) SetTable(t *table.Table) {
	s.table.Store(t)
	s.mu.Lock()
	var gone []*session
	for ss := range s.sessions {
		if id := ss.distributionID(); id != "" {
			if d := t.StreamingDistribution(id); d == nil || !d.Spec.Enabled {
				gone = append(gone, ss)
			}
		}
	}
	s.mu.Unlock()
	for _, ss := range gone {
		s.log.Info("rtmp: closing a session of a removed streaming distribution", "distribution", ss.distributionID(), "client", ss.remote)
		ss.close()
	}
	s.metrics.forgetExcept(func(id string) bool { return t.StreamingDistribution(id) != nil })
	for d := range t.StreamingDistributions() {
		s.metrics.show(d.ID)
	}
}

// Serve accepts connections on ln until Shutdown; it returns nil then.
func (s *Server) Serve(ln net.Listener) error {
	lib := rtmp.NewServer(&rtmp.ServerConfig{OnConnect: s.onConnect})
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		ln.Close()
		return nil
	}
	s.libs = append(s.libs, lib)
	s.mu.Unlock()
	err := lib.Serve(&backoffListener{Listener: ln, s: s})
	if errors.Is(err, rtmp.ErrClosed) || s.isClosed() {
		return nil
	}
	return err
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Shutdown stops accepting, closes every connection (publishers' tracks
// end) and waits for their goroutines, or for ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	libs := s.libs
	sessions := make([]*session, 0, len(s.sessions))
	for ss := range s.sessions {
		sessions = append(sessions, ss)
	}
	s.mu.Unlock()
	for _, l := range libs {
		l.Close()
	}
	for _, ss := range sessions {
		ss.close()
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Collectors are the server's Prometheus metrics.
func (s *Server) Collectors() []prometheus.Collector { return s.metrics.collectors() }

// onConnect wraps an accepted connection; go-rtmp runs it on its own goroutine.
func (s *Server) onConnect(c net.Conn) (io.ReadWriteCloser, *rtmp.ConnConfig) {
	nc := &netConn{Conn: c, tcp: tcpConn(c), idle: s.cfg.IdleTimeout, writeTimeout: s.cfg.WriteTimeout,
		handshakeDeadline: time.Now().Add(s.cfg.HandshakeTimeout)}
	ss := newSession(s, nc)
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.sessions[ss] = struct{}{}
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if closed {
		c.Close()
	} else {
		s.metrics.sessions.Inc()
		nc.onClose = func() {
			s.mu.Lock()
			delete(s.sessions, ss)
			s.mu.Unlock()
			s.metrics.sessions.Dec()
			s.wg.Done()
		}
	}
	return nc, &rtmp.ConnConfig{
		Handler: ss,
		ControlState: rtmp.StreamControlStateConfig{
			DefaultChunkSize:     128,
			MaxChunkSize:         s.cfg.MaxChunkSize,
			MaxChunkStreams:      s.cfg.MaxChunkStreams,
			MaxMessageSize:       s.cfg.MaxMessageSize,
			MaxMessageStreams:    8,
			DefaultAckWindowSize: 2500000,
			// Upstream's default, MaxInt32, overflows in ffmpeg's bandwidth check.
			DefaultBandwidthWindowSize: 2500000,
			DefaultBandwidthLimitType:  2, // dynamic
		},
		ReaderBufferSize: 4 << 10,
		// Media goes out by writev from the shared bodies (netConn is a
		// go-rtmp BuffersWriter); the buffer only carries command replies.
		WriterBufferSize: 4 << 10,
		Logger:           s.libLog,
		OnPanic: func(v any, stack []byte) {
			s.panicked("handler", ss.log, c.RemoteAddr(), v, stack)
		},
	}
}

// panicked logs, at error level, a panic recovered on a connection, which
// then closes, and counts it: go-rtmp's own report goes to its logger,
// which is at debug level.
func (s *Server) panicked(where string, log *slog.Logger, remote net.Addr, v any, stack []byte) {
	s.metrics.panics.WithLabelValues(where).Inc()
	msg := "rtmp: panic in a connection's handler; the connection is closed"
	if where == "close" {
		msg = "rtmp: panic while closing a connection"
	}
	log.Error(msg, "remote", remote.String(), "panic", v, "stack", string(stack))
}

// backoffListener retries failed accepts with a growing pause (go-rtmp
// retries at once, spinning on EMFILE) and fails only once the server closes.
type backoffListener struct {
	net.Listener
	s *Server
}

func (l *backoffListener) Accept() (net.Conn, error) {
	var pause time.Duration
	for {
		c, err := l.Listener.Accept()
		if err == nil {
			return c, nil
		}
		if l.s.isClosed() || errors.Is(err, net.ErrClosed) {
			return nil, err
		}
		pause = min(max(2*pause, 5*time.Millisecond), time.Second)
		l.s.log.Warn("rtmp: accept failed; retrying", "err", err, "pause", pause)
		time.Sleep(pause)
	}
}
