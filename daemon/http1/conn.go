package http1

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// A connection is idle while it waits for a request (Shutdown may close
// it then), active while it reads or answers one.
const (
	stateActive int32 = iota
	stateIdle
	stateClosed
)

// deadlineSlack lets a keep-alive connection keep its idle deadline for up
// to a second of requests: each change is a timer update, and a hit is a
// few microseconds. A short timeout gets an eighth of itself, so that an
// idle connection is never cut much before its time.
const deadlineSlack = time.Second

// maxDrainBytes is how much of a body the handler did not read the server
// reads to keep the connection, as net/http does; past it, it closes.
const maxDrainBytes = 256 << 10

var readers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 4<<10) }}

// outs holds write buffers: a connection has one only while it answers.
var outs = sync.Pool{New: func() any { b := make([]byte, 0, 4<<10); return &b }}

type conn struct {
	srv    *Server
	rwc    net.Conn
	tls    *tls.ConnectionState
	remote string
	// remoteAddr is remote parsed (invalid when the connection is not
	// TCP), for an access log that would parse it on every request.
	remoteAddr netip.AddrPort
	br         *bufio.Reader
	out        *[]byte // the pending bytes of the answer; nil while idle
	iov        [2][]byte
	head       []byte // scratch for a request's head
	state      atomic.Int32
	deadline   time.Time // the read deadline set, zero for none
	wdeadline  time.Time // the write deadline set, zero for none
	broken     bool      // a write failed: nothing more goes out
	// hijacked: the handler took the connection (Hijack); the server
	// leaves it alone but closes it at Shutdown.
	hijacked atomic.Bool
	sent     int64 // bytes handed to the connection (or lost with it), not counting out
	tmpl     *http.Request
	cancel   context.CancelFunc
	// resp and its header are reused from one request to the next: a
	// handler may not use its ResponseWriter once it has returned
	// (http.Handler's contract), and a cleared map keeps its room.
	resp response
	hdr  http.Header
	w    watch   // whether the viewer is still there while a handler waits (gone.go)
	sf   *sender // sends cached files, made at the first (sendfile_linux.go)
}

func newConn(s *Server, nc net.Conn) *conn {
	remote := nc.RemoteAddr()
	c := &conn{srv: s, rwc: nc, remote: remote.String()}
	if a, ok := remote.(*net.TCPAddr); ok {
		ap := a.AddrPort()
		c.remoteAddr = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	// Made here, not by the watchdog that starts a watcher: the serving
	// goroutine may wait on it as soon as the watch state says started.
	c.w.done = make(chan struct{}, 1)
	c.br = readers.Get().(*bufio.Reader)
	c.br.Reset(connReader{c})
	ctx, cancel := context.WithCancel(context.Background())
	ctx = context.WithValue(ctx, http.LocalAddrContextKey, nc.LocalAddr())
	if s.ConnContext != nil {
		ctx = s.ConnContext(ctx, nc)
	}
	c.cancel = cancel
	// Every request is a copy of this one: it carries the context.
	c.tmpl = new(http.Request).WithContext(ctx)
	return c
}

func (c *conn) serve() {
	defer func() {
		if v := recover(); v != nil && v != http.ErrAbortHandler {
			c.srv.log().Error("panic serving a request; connection closed", "remote", c.remote, "panic", v, "stack", string(debug.Stack()))
		}
		c.cancel()
		c.releaseOut()
		if c.hijacked.Load() {
			return // the connection and its reader are the handler's
		}
		c.rwc.Close()
		c.br.Reset(nil)
		readers.Put(c.br)
	}()
	first := true
	for {
		if c.br.Buffered() == 0 {
			c.releaseOut()
			if !c.state.CompareAndSwap(stateActive, stateIdle) || c.srv.closing.Load() {
				return
			}
			if first {
				c.setDeadline(time.Now(), c.srv.headerTimeout(), 0)
			} else {
				d := c.srv.idleTimeout()
				c.setDeadline(time.Now(), d, min(deadlineSlack, d/8))
			}
			_, err := c.br.Peek(1)
			if !c.state.CompareAndSwap(stateIdle, stateActive) || err != nil {
				return
			}
		}
		first = false
		if !headBuffered(c.br) {
			c.setDeadline(time.Now(), c.srv.headerTimeout(), 0)
		}
		req, body, headLen, rerr := c.readRequest()
		if rerr != nil {
			if req != nil && rerr.status != 0 {
				c.serveRefused(req, rerr, headLen)
			} else {
				c.refuse(rerr)
			}
			return
		}
		if !c.serveRequest(req, body, headLen) {
			return
		}
	}
}

// headBuffered says a whole request head is already read: no deadline
// is needed to read it.
func headBuffered(br *bufio.Reader) bool {
	b, _ := br.Peek(br.Buffered())
	return bytes.Contains(b, []byte("\r\n\r\n"))
}

// setDeadline makes the read deadline now+d, keeping the one set if it is
// at most slack earlier.
func (c *conn) setDeadline(now time.Time, d, slack time.Duration) {
	want := now.Add(d)
	if !c.deadline.IsZero() && !c.deadline.After(want) && c.deadline.After(want.Add(-slack)) {
		return
	}
	c.deadline = want
	c.rwc.SetReadDeadline(want)
}

func (c *conn) clearDeadline() {
	if !c.deadline.IsZero() {
		c.deadline = time.Time{}
		c.rwc.SetReadDeadline(time.Time{})
	}
}

// serveRequest runs the handler and says whether the connection may
// read another request.
func (c *conn) serveRequest(req *http.Request, b *body, headLen int64) bool {
	if b != nil {
		// Reading the body is the handler's pace, not the header timeout's.
		// A 100 Continue the client waits for goes out at the first read
		// (body.sendContinue), as net/http's: the edge may refuse first.
		c.clearDeadline()
	}
	w := c.newResponse(req, b, headLen)
	// A request with a body becomes watchable once the handler read it all.
	c.watchBegin(b == nil && c.br.Buffered() == 0)
	h := c.srv.Handler
	if req.RequestURI == "*" { // OPTIONS: parse refuses the others
		h = serverOptions
	}
	h.ServeHTTP(w, req)
	if c.hijacked.Load() {
		return false
	}
	if b != nil {
		b.close()
	}
	present := c.watchEnd()
	w.finish()
	c.flush()
	keep := !w.closeAfter && !c.broken && present
	if b != nil && !b.finish(c) || !keep && !c.broken && (c.br.Buffered() > 0 || c.w.npend > 0 || pendingInput(c.rwc)) {
		// What the client sent after the request (its body, requests it
		// pipelined) is unread: a plain close would reset the connection
		// under the answer (RFC 9112 9.6). nginx lingers then too.
		c.linger()
		return false
	}
	return keep
}

// newResponse makes the connection's response writer (and its header)
// ready for req.
func (c *conn) newResponse(req *http.Request, b *body, headLen int64) *response {
	if c.hdr == nil {
		c.hdr = make(http.Header, 16)
	} else {
		clear(c.hdr)
	}
	c.resp = response{c: c, req: req, reqBody: b, header: c.hdr, declared: -1, requestBytes: headLen}
	return &c.resp
}

// serveRefused has Server.Refused answer a request the server refuses,
// r being what could be read of it (refusedRequest, which has it close):
// the rest of what the client sent cannot be framed, as for refuse.
func (c *conn) serveRefused(r *http.Request, e *requestError, headLen int64) {
	w := c.newResponse(r, nil, headLen)
	c.srv.Refused(w, r, Refusal{Status: e.status, Reason: e.reason, Header: e.header})
	if c.hijacked.Load() {
		return
	}
	w.finish()
	c.flush()
	c.linger()
}

// serverOptions answers "OPTIONS *", a question about the server, not
// about any resource (RFC 9110 9.3.7): the handler, which routes by path,
// has no answer for it. 200 with an empty body, as net/http's server gives
// (and so the HTTP/2 listener, served by net/http); what methods a
// distribution allows is OPTIONS on its paths to say. A body is drained
// as any other.
var serverOptions = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
	w.Header()["Content-Length"] = []string{"0"}
})

func (c *conn) buf() *[]byte {
	if c.out == nil {
		c.out = outs.Get().(*[]byte)
	}
	return c.out
}

func (c *conn) releaseOut() {
	if c.out != nil {
		*c.out = (*c.out)[:0]
		outs.Put(c.out)
		c.out = nil
	}
}

// pos is how many bytes of answers the connection has produced.
func (c *conn) pos() int64 {
	if c.out == nil {
		return c.sent
	}
	return c.sent + int64(len(*c.out))
}

// maxSend is the most one write to the viewer hands the connection
// under one deadline: the body timeout bounds each wait for the viewer to
// take bytes, not a large body's whole transfer.
const maxSend = 64 << 10

// armWrite starts the body timeout for a write to the viewer, as nginx's
// send_timeout: a viewer that stops reading (its receive window shut)
// fails the write, and the handler, with its file or origin request, is
// freed. Set per write, a pause of the handler's own between writes (a
// slow origin, a live stream) is not counted. A deadline still at least
// the timeout away is kept, as the read side's: each write gets the
// timeout and up to a second more, and a keep-alive connection's hits
// do not each move a timer.
func (c *conn) armWrite() {
	d := c.srv.bodyTimeout()
	want := time.Now().Add(d)
	if c.wdeadline.After(want) {
		return
	}
	c.wdeadline = want.Add(min(d, deadlineSlack))
	c.rwc.SetWriteDeadline(c.wdeadline)
}

// write queues p, sending the queue and p together when they do not fit.
func (c *conn) write(p []byte) {
	if c.broken {
		return
	}
	bp := c.buf()
	if len(*bp)+len(p) <= cap(*bp) {
		*bp = append(*bp, p...)
		return
	}
	var err error
	c.sent += int64(len(*bp) + len(p))
	head := *bp
	for err == nil && (len(head) > 0 || len(p) > 0) {
		k := min(len(p), maxSend)
		c.armWrite()
		if len(head) == 0 {
			_, err = c.rwc.Write(p[:k])
		} else {
			// One writev for the header and a large body.
			c.iov[0], c.iov[1] = head, p[:k]
			bufs := net.Buffers(c.iov[:])
			_, err = bufs.WriteTo(c.rwc)
			c.iov[0], c.iov[1] = nil, nil
			head = nil
		}
		p = p[k:]
	}
	*bp = (*bp)[:0]
	c.wrote(err)
}

func (c *conn) writeString(s string) {
	bp := c.buf()
	if len(*bp)+len(s) <= cap(*bp) {
		*bp = append(*bp, s...)
		return
	}
	c.write([]byte(s))
}

func (c *conn) flush() {
	if c.out == nil || len(*c.out) == 0 {
		return
	}
	if !c.broken {
		c.armWrite()
		_, err := c.rwc.Write(*c.out)
		c.wrote(err)
	}
	c.sent += int64(len(*c.out))
	*c.out = (*c.out)[:0]
}

// wrote notes a write's failure: the viewer is gone, so is the request's
// context.
func (c *conn) wrote(err error) {
	if err != nil {
		c.broken = true
		c.cancel()
	}
}

// refuse answers a request the server cannot read, then closes: the rest
// of what the client sent cannot be framed.
func (c *conn) refuse(e *requestError) {
	if e.status == 0 {
		return
	}
	text := strconv.Itoa(e.status) + " " + http.StatusText(e.status)
	body := text
	if e.reason != "" {
		body += ": " + e.reason
	}
	c.writeString("HTTP/1.1 " + text + "\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	c.flush()
	c.linger()
}

// Lingering, as nginx's lingering close: how long the client may go on
// sending, in all and between reads.
const (
	lingerTime    = 5 * time.Second
	lingerTimeout = 500 * time.Millisecond
)

// linger ends a connection the server closes with the client's bytes
// unread. Closing at once would reset it (RFC 9112 9.6), and the reset
// drops what of the answer the socket still holds: the writing side is
// ended first, and what the client sends is read and dropped until it
// stops, or for lingerTime at most, while the answer goes out.
func (c *conn) linger() {
	cw, ok := c.rwc.(interface{ CloseWrite() error })
	if !ok || c.broken || cw.CloseWrite() != nil {
		return
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	end := time.Now().Add(lingerTime)
	for {
		left := time.Until(end)
		if left <= 0 {
			return
		}
		c.rwc.SetReadDeadline(time.Now().Add(min(left, lingerTimeout)))
		if _, err := c.rwc.Read(*bp); err != nil {
			return
		}
	}
}
