package node

import (
	"net/http"
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
		g := &sendGuard{ResponseWriter: w, d: d}
		defer g.disarm()
		h.ServeHTTP(g, r)
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

// sendGuard times each write to the viewer.
type sendGuard struct {
	http.ResponseWriter
	d     time.Duration
	timer *time.Timer
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
	g.arm()
	defer g.disarm()
	return g.ResponseWriter.Write(p)
}

func (g *sendGuard) Flush() { g.FlushError() }

func (g *sendGuard) FlushError() error {
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
