package http1

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Noticing a viewer that goes away while its handler waits (on a slow
// origin, say), so that the request's context ends and the handler stops
// the work, as net/http does. net/http reads ahead on every request, with
// a goroutine; here a request is watched only once its handler has run
// for a while: a hit never pays for it.
//
// A watchdog goroutine per server looks at the connections every
// watchTick. A handler it finds running the same request on two looks in
// a row (so for watchTick to 2*watchTick) gets a watcher: a goroutine
// that reads one byte from the connection. End of stream or an error means
// the viewer is gone: the connection's context is cancelled (the request's
// with it) and the connection closes after the handler. A byte means the
// viewer sent its next request early: the byte is kept for it. When the
// handler returns, the watcher is stopped by a read deadline in the past.
//
// A request is watched only with nothing read ahead of it, and, when it
// has a body, once the handler has read all of it: until then the handler
// owns the connection's reader.

// watchTick is how often the watchdog looks at the connections.
const watchTick = 250 * time.Millisecond

// Watch states of a connection's current request.
const (
	watchNot      int32 = iota // no handler running, or its request is not watchable
	watchable                  // the handler runs, no watcher yet
	watchStarted               // a watcher is reading
	watchStopping              // the handler returned: the watcher is being stopped
)

// watch is a connection's watch state. state and seq are shared with the
// watchdog; seen belongs to the watchdog; pending and gone are the
// watcher's until the serving goroutine stopped it.
type watch struct {
	state atomic.Int32
	seq   atomic.Uint64 // requests begun on the connection
	seen  uint64        // seq at the watchdog's last look
	mu    sync.Mutex    // orders the watcher's deadline and stop's
	done  chan struct{} // a watcher has finished; made with the connection
	gone  bool          // the watcher saw the viewer leave
	// pending is a byte of the next request, read by a watcher: the
	// connection's reader returns it first.
	pending [1]byte
	npend   int
}

// watchBegin is called before a request's handler runs.
func (c *conn) watchBegin(ok bool) {
	c.w.seq.Add(1)
	if ok {
		c.w.state.Store(watchable)
	}
}

// watchEnd is called once the handler returned; it stops a watcher and
// says whether the viewer is still there.
func (c *conn) watchEnd() bool {
	if c.w.state.CompareAndSwap(watchable, watchNot) || c.w.state.Load() == watchNot {
		return true
	}
	c.w.mu.Lock()
	c.w.state.Store(watchStopping)
	c.rwc.SetReadDeadline(aLongTimeAgo)
	c.w.mu.Unlock()
	<-c.w.done
	c.w.state.Store(watchNot)
	// The watcher left the connection's read deadline in the past: the
	// next read sets its own.
	c.deadline = time.Time{}
	return !c.w.gone
}

var aLongTimeAgo = time.Unix(1, 0)

func (c *conn) watchGone() {
	defer func() { c.w.done <- struct{}{} }()
	c.w.mu.Lock()
	if c.w.state.Load() != watchStarted {
		c.w.mu.Unlock()
		return
	}
	// The read deadline was set for reading the head; this read waits
	// for as long as the handler runs.
	c.rwc.SetReadDeadline(time.Time{})
	c.w.mu.Unlock()
	n, err := c.rwc.Read(c.w.pending[:])
	if n > 0 {
		c.w.npend = n
		return
	}
	if err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
		c.w.gone = true
		c.cancel()
	}
}

// look is the watchdog's look at one connection: a request still running
// since the last look gets a watcher.
func (c *conn) look() {
	seq := c.w.seq.Load()
	if seq != c.w.seen {
		c.w.seen = seq
		return
	}
	if c.w.state.CompareAndSwap(watchable, watchStarted) {
		go c.watchGone()
	}
}

// watchdog looks at the server's connections every watchTick until the
// server closes.
func (s *Server) watchdog() {
	t := time.NewTicker(watchTick)
	defer t.Stop()
	for range t.C {
		if s.closing.Load() {
			return
		}
		s.mu.Lock()
		for c := range s.conns {
			c.look()
		}
		s.mu.Unlock()
	}
}

// connReader is what a connection's buffered reader reads: the byte a
// watcher read, then the connection.
type connReader struct{ c *conn }

func (r connReader) Read(p []byte) (int, error) {
	if w := &r.c.w; w.npend > 0 && len(p) > 0 {
		n := copy(p, w.pending[:w.npend])
		w.npend = 0
		return n, nil
	}
	return r.c.rwc.Read(p)
}
