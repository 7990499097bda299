package node

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// sendTimeout resets an HTTP/2 or HTTP/3 response's stream when one
// write to the viewer has waited d, as nginx's send_timeout: a viewer
// that stops reading (a zero flow-control window, which no connection
// timeout sees, since the connection is not idle and the socket is not
// full) would otherwise hold the stream's handler, its cache file or
// origin request, for ever, a hundred of them a connection. A pause of
// the handler's own between writes (a slow origin, a live stream) is
// not counted.
func sendTimeout(d time.Duration, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		growStack(0)
		g := &sendGuard{ResponseWriter: w, d: d, head: r.Method == http.MethodHead, mayHold: r.Method != http.MethodConnect}
		defer g.disarm()
		defer g.drop() // a handler that panicked (an aborted answer) sends nothing held
		h.ServeHTTP(g, r)
		g.declareHeld()
		// What the server buffered is sent after the handler returns,
		// under no deadline: send it here, under this one. Over HTTP/2
		// that splits END_STREAM into a DATA frame of its own (8 % of a
		// 1 KiB hit's CPU); net/http's own write deadline, set here
		// instead, would outlive a stream that its last frame closes
		// first (the two messages race in its serve loop) and reset it
		// later.
		g.Flush()
	})
}

// sendGuard times each write to the viewer. It also holds an answer
// whose length the handler did not declare, up to heldMax bytes, until
// the handler returns, flushes or writes more: one that ends within them
// then goes out with its Content-Length, as daemon/http1 sends it (the
// HTTP/2 and HTTP/3 servers would too, were their buffer not flushed
// above), so that an answer, and its log line's sc-content-len, are the
// same whatever the protocol.
type sendGuard struct {
	http.ResponseWriter
	d     time.Duration
	timer *time.Timer

	mayHold bool    // not a CONNECT, whose 2xx opens a stream (RFC 9220)
	head    bool    // a HEAD: its body is counted, not sent
	status  int     // the held status, 0 when nothing is held
	held    *[]byte // the held body (a HEAD's first heldMax bytes)
	// sent is the header as it was at WriteHeader, which the held status
	// goes out with: net/http's servers take the header then, and what
	// the handler sets after is for its trailers only.
	sent    http.Header
	heldLen int64 // the held body's length
	passed  bool  // the final status went to the server
}

// heldMax is how much of an undeclared body waits for the handler's end,
// as daemon/http1's (and net/http's) bufferBeforeChunkingSize.
const heldMax = 2048

var heldBufs = sync.Pool{New: func() any { b := make([]byte, 0, heldMax); return &b }}

func (g *sendGuard) WriteHeader(code int) {
	switch {
	case g.status != 0:
		return // a second status is ignored, as the servers do
	case code < 200 || g.passed:
		g.ResponseWriter.WriteHeader(code)
		return
	}
	if _, declared := g.Header()["Content-Length"]; declared || !g.mayHold || !bodyAllowed(code) {
		g.passed = true
		g.ResponseWriter.WriteHeader(code)
		return
	}
	g.status = code
	g.sent = g.Header().Clone()
}

// bodyAllowed reports whether a response with status may have a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// HeldLength is the Content-Length the guard will declare when the
// handler returns, if the answer is still held then: the access log's
// sc-content-len. None for an empty HEAD, as daemon/http1.
func (g *sendGuard) HeldLength() (int64, bool) {
	if g.status == 0 || g.head && g.heldLen == 0 {
		return -1, false
	}
	return g.heldLen, true
}

// release sends what is held: the status, then the body.
func (g *sendGuard) release() error {
	if g.status == 0 {
		return nil
	}
	code := g.status
	g.status, g.passed = 0, true
	g.writeSentHeader(code)
	if g.held == nil {
		return nil
	}
	defer g.drop()
	g.arm()
	defer g.disarm()
	_, err := g.ResponseWriter.Write(*g.held)
	return err
}

// writeSentHeader sends the held status with the header as it was at
// WriteHeader, and the trailers the handler set since (TrailerPrefix
// keys, and fields its Trailer field declares): what else it set after
// goes nowhere, as with net/http's HTTP/2 server, which takes the header
// at WriteHeader. (quic-go's takes it at the first write.)
func (g *sendGuard) writeSentHeader(code int) {
	live := g.Header()
	declared := g.sent["Trailer"]
	for k := range live {
		if _, kept := g.sent[k]; !kept && !isTrailer(k, declared) {
			delete(live, k)
		}
	}
	for k, vs := range g.sent {
		if _, set := live[k]; !set || !isTrailer(k, declared) {
			live[k] = vs
		}
	}
	g.ResponseWriter.WriteHeader(code)
	g.sent = nil
}

// isTrailer says whether the header field name is a trailer: a
// TrailerPrefix one, or one declared in Trailer field values.
func isTrailer(name string, declared []string) bool {
	if strings.HasPrefix(name, http.TrailerPrefix) {
		return true
	}
	for _, v := range declared {
		for d := range strings.SplitSeq(v, ",") {
			if http.CanonicalHeaderKey(strings.TrimSpace(d)) == name {
				return true
			}
		}
	}
	return false
}

// drop lets the held body's buffer go.
func (g *sendGuard) drop() {
	if g.held != nil {
		*g.held = (*g.held)[:0]
		heldBufs.Put(g.held)
		g.held = nil
	}
}

// declareHeld sends an answer still held once the handler returned, with
// its Content-Length.
func (g *sendGuard) declareHeld() {
	if n, ok := g.HeldLength(); ok {
		g.sent["Content-Length"] = []string{strconv.FormatInt(n, 10)}
	}
	g.release()
}

// SetWriteDeadline sends what is held first: the deadline is for it too
// (the edge's stream reset writes past an expired one).
func (g *sendGuard) SetWriteDeadline(t time.Time) error {
	g.release()
	return http.NewResponseController(g.ResponseWriter).SetWriteDeadline(t)
}

// arm starts timing a write; disarm ends it.
func (g *sendGuard) arm() {
	if g.timer == nil {
		// A deadline in the past resets the stream and ends the write.
		g.timer = time.AfterFunc(g.d, func() { http.NewResponseController(g.ResponseWriter).SetWriteDeadline(time.Unix(1, 0)) })
		return
	}
	g.timer.Reset(g.d)
}

func (g *sendGuard) disarm() {
	if g.timer != nil {
		g.timer.Stop()
	}
}

func (g *sendGuard) Write(p []byte) (int, error) {
	if !g.passed && g.status == 0 {
		g.WriteHeader(http.StatusOK)
	}
	if g.status != 0 {
		// A HEAD's body is held whole, as the server discards it: its
		// first bytes, which the server sniffs a type from, are kept.
		if g.head || g.heldLen+int64(len(p)) <= heldMax {
			if g.held == nil {
				g.held = heldBufs.Get().(*[]byte)
			}
			if room := heldMax - len(*g.held); room > 0 {
				*g.held = append(*g.held, p[:min(len(p), room)]...)
			}
			g.heldLen += int64(len(p))
			return len(p), nil
		}
		if err := g.release(); err != nil {
			return 0, err
		}
	}
	g.arm()
	defer g.disarm()
	return g.ResponseWriter.Write(p)
}

func (g *sendGuard) Flush() { g.FlushError() }

func (g *sendGuard) FlushError() error {
	if err := g.release(); err != nil {
		return err
	}
	g.arm()
	defer g.disarm()
	return http.NewResponseController(g.ResponseWriter).Flush()
}

// Unwrap gives http.ResponseController the server's writer.
func (g *sendGuard) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// handlerStack is about the stack a request's handler reaches on a
// cache hit. net/http's HTTP/2 server and quic-go run each request on a
// new goroutine, whose stack starts small and is copied to a bigger one
// each time a call goes past its end: deep in the handler, where each
// copy moves many frames (8 % of a node's CPU on 1 KiB hits over h2).
const handlerStack = 16 << 10

// growStack grows the calling goroutine's stack to handlerStack in one
// copy, while there is little on it to move: its frame is what counts,
// and a result the compiler cannot foresee keeps the array in it.
//
//go:noinline
func growStack(i int) byte {
	var frame [handlerStack - 2048]byte
	frame[i%len(frame)] = 1
	return frame[(i+1)%len(frame)]
}
