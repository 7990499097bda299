// Package http1 serves HTTP/1.1 (and 1.0) to an http.Handler.
//
// It exists for speed: a cache hit spends most of its time in the server,
// and net/http's HTTP/1 server does work per request that an edge does not
// need: a goroutine that reads ahead to notice a viewer going away, three
// read-deadline changes, a cancelable context, and a cloned and sorted
// header map. This server parses a request's head into one string, gives
// the handler a plain *http.Request, writes the header straight from the
// handler's map and a small body in the same write; everything else
// follows net/http's semantics (framing, Expect, HEAD, 204/304, sniffed
// Content-Type, sendfile through ReadFrom) so that handlers cannot tell,
// except that the request's context is the connection's: it ends when the
// connection does, not when a viewer's half-sent request is abandoned, and
// a viewer leaving while a handler waits is noticed after a quarter to half
// a second of waiting (gone.go), not at once.
//
// It is stricter than net/http where RFC 9112 allows a choice that matters
// for request smuggling: a request with both Content-Length and
// Transfer-Encoding, a Transfer-Encoding in HTTP/1.0, a folded header
// line, an absolute-form target without a host or with userinfo, or an
// asterisk-form target but for OPTIONS is answered 400 and the
// connection closed; a chunked body whose trailer has a line not ending
// in CRLF fails the handler's read. "OPTIONS *" is the server's to
// answer (200, empty), as net/http's; a 100-continue expectation in
// HTTP/1.0 is ignored (RFC 9110 10.1.1) where net/http answers 417.
//
// HTTP/2 is not here: a TLS listener that negotiates h2 hands the
// connection to net/http (see the node package).
package http1

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Server serves HTTP/1.x connections to Handler.
type Server struct {
	Handler http.Handler
	// HeaderTimeout bounds reading a request's head, from its first byte
	// (from the accept for a connection's first request). Default 10 s.
	HeaderTimeout time.Duration
	// IdleTimeout closes a keep-alive connection waiting for its next
	// request. Default 120 s.
	IdleTimeout time.Duration
	// BodyTimeout bounds each wait for a request body's bytes (not the
	// whole body): a viewer that stops sending is cut. Default 60 s, as
	// nginx's client_body_timeout. It bounds each write of an answer too
	// (sendfile's included), as nginx's send_timeout, with up to a second
	// more: a viewer that stops reading has its connection closed and
	// the handler's writes fail. A hijacked connection has no bound.
	BodyTimeout time.Duration
	// MaxHeaderBytes bounds a request's line and header fields; past it
	// the answer is 413, as CloudFront's, and the connection closed. Default 1 MiB.
	MaxHeaderBytes int
	// Log gets the connections' errors at debug level; nil discards them.
	Log *slog.Logger
	// Refused, when set, answers in place of the server a request it
	// refuses once its head is read (a malformed request line or header
	// field, a missing or repeated Host, framing it will not read, a
	// version but 1.x, an Expect but 100-continue), so that an edge can
	// log and count it for the distribution it names. r is what could be
	// read of the request: its Host is empty unless exactly one valid one
	// was sent, its method, target and version may be empty. The answer
	// says Connection: close and the connection closes after it. A head
	// past MaxHeaderBytes, or not a request at all, is answered by the
	// server alone: CloudFront "can't parse the request completely and
	// can't log the request" when its headers are over its limit
	// (standard-logs-reference).
	Refused func(w http.ResponseWriter, r *http.Request, why Refusal)
	// ConnContext, when set, derives a connection's context, which its
	// requests carry, as net/http's Server.ConnContext does.
	ConnContext func(ctx context.Context, c net.Conn) context.Context

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[*conn]struct{}
	closing   atomic.Bool
	watching  sync.Once // the watchdog started (gone.go)
	wg        sync.WaitGroup
}

// Refusal is why the server refuses a request (Server.Refused).
type Refusal struct {
	Status int    // 400, 417, 501 or 505
	Reason string // what is wrong, for the answer's body
	// Header says a header field is at fault (its form, a Host, the
	// framing or an expectation), not the request line.
	Header bool
}

func (s *Server) headerTimeout() time.Duration {
	if s.HeaderTimeout > 0 {
		return s.HeaderTimeout
	}
	return 10 * time.Second
}

func (s *Server) idleTimeout() time.Duration {
	if s.IdleTimeout > 0 {
		return s.IdleTimeout
	}
	return 120 * time.Second
}

func (s *Server) bodyTimeout() time.Duration {
	if s.BodyTimeout > 0 {
		return s.BodyTimeout
	}
	return 60 * time.Second
}

func (s *Server) maxHeaderBytes() int {
	if s.MaxHeaderBytes > 0 {
		return s.MaxHeaderBytes
	}
	return 1 << 20
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Serve accepts connections on ln until Shutdown or Close; it returns
// http.ErrServerClosed then, as net/http does.
func (s *Server) Serve(ln net.Listener) error {
	if !s.track(ln, true) {
		ln.Close()
		return http.ErrServerClosed
	}
	defer s.track(ln, false)
	var delay time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.closing.Load() {
				return http.ErrServerClosed
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				// Out of descriptors or the like: back off, as net/http does.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				s.log().Debug("accept failed; retrying", "err", err, "delay", delay)
				time.Sleep(delay)
				continue
			}
			return err
		}
		delay = 0
		s.ServeConn(nc)
	}
}

// ServeConn serves one connection in a new goroutine: a plain TCP
// connection or a *tls.Conn whose handshake is done.
func (s *Server) ServeConn(nc net.Conn) {
	c := newConn(s, nc)
	if tc, ok := nc.(*tls.Conn); ok {
		st := tc.ConnectionState()
		c.tls = &st
	}
	s.mu.Lock()
	if s.closing.Load() {
		s.mu.Unlock()
		nc.Close()
		return
	}
	if s.conns == nil {
		s.conns = map[*conn]struct{}{}
	}
	s.watching.Do(func() { go s.watchdog() })
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.wg.Done()
		c.serve()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
}

func (s *Server) track(ln net.Listener, add bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		if s.closing.Load() {
			return false
		}
		if s.listeners == nil {
			s.listeners = map[net.Listener]struct{}{}
		}
		s.listeners[ln] = struct{}{}
	} else {
		delete(s.listeners, ln)
	}
	return true
}

// Shutdown stops accepting, closes idle connections and hijacked ones,
// and waits for the others to finish the request they are serving (each
// closes after its answer), until ctx ends: then the rest are closed and
// ctx's error returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	s.mu.Lock()
	for ln := range s.listeners {
		ln.Close()
	}
	s.mu.Unlock()
	tick := 5 * time.Millisecond
	for {
		if s.closeIdle() {
			s.wg.Wait()
			return nil
		}
		t := time.NewTimer(tick)
		select {
		case <-ctx.Done():
			t.Stop()
			s.Close()
			return ctx.Err()
		case <-t.C:
		}
		tick = min(2*tick, 500*time.Millisecond)
	}
}

// closeIdle closes the connections waiting for a request and says whether
// none is left.
func (s *Server) closeIdle() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		// A hijacked connection (a WebSocket) has no request boundary
		// to stop at: it would hold the shutdown for as long as it lasts.
		if c.state.CompareAndSwap(stateIdle, stateClosed) || c.hijacked.Load() {
			c.rwc.Close()
		}
	}
	return len(s.conns) == 0
}

// Close closes the listeners and every connection at once; handlers
// still running see their writes fail.
func (s *Server) Close() error {
	s.closing.Store(true)
	s.mu.Lock()
	for ln := range s.listeners {
		ln.Close()
	}
	for c := range s.conns {
		c.state.Store(stateClosed)
		c.rwc.Close()
	}
	s.mu.Unlock()
	return nil
}
