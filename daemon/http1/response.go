package http1

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"
)

// sniffLen is how much of an undeclared body waits for the handler to
// end, so that its length can be sent (net/http's bufferBeforeChunkingSize).
const sniffLen = 2048

// response is the handler's http.ResponseWriter, http.Flusher and
// io.ReaderFrom.
type response struct {
	c        *conn
	req      *http.Request
	reqBody  *body // nil: the request has none
	header   http.Header
	status   int
	declared int64 // the handler's Content-Length, -1 for none
	written  int64 // body bytes the handler wrote
	pending  []byte
	// headerBytes is the size of the status line and header as sent
	// (once committed), requestBytes of the request's head as read.
	headerBytes, requestBytes int64
	// committed: the header is out (queued); chunked: the body is in
	// chunks; bodyless: HEAD or a status without a body.
	committed, chunked, bodyless, closeAfter bool
}

func (w *response) Header() http.Header { return w.header }

// Hijack hands the connection to the handler, as net/http's does: the
// edge joins a viewer's WebSocket to its origin's this way. The reader
// returned holds what the server read ahead; what was queued for the
// viewer is sent first. From then on the server does not read, write or
// close the connection, but closes it at Shutdown or Close.
func (w *response) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c := w.c
	if c.hijacked.Load() {
		return nil, nil, http.ErrHijacked
	}
	if w.reqBody != nil {
		w.reqBody.answering() // the connection is the handler's to write
	}
	// No watcher may read the connection from now on.
	present := c.watchEnd()
	c.flush()
	if !present || c.broken {
		return nil, nil, io.ErrClosedPipe
	}
	c.deadline, c.wdeadline = time.Time{}, time.Time{}
	// The handler's writes are its own to bound (the answer's last
	// write left one set).
	if err := c.rwc.SetDeadline(time.Time{}); err != nil {
		return nil, nil, fmt.Errorf("http1: hijack: %w", err)
	}
	c.hijacked.Store(true)
	return c.rwc, bufio.NewReadWriter(c.br, bufio.NewWriter(c.rwc)), nil
}

// WireBytes is what the connection carried for this request so far: the
// request's head as read, and the response's status line and header as
// sent (sent is false before they are). An access log takes cs-bytes and
// sc-bytes from it rather than sizing the header maps.
func (w *response) WireBytes() (requestHead, responseHeader int64, sent bool) {
	return w.requestBytes, w.headerBytes, w.committed
}

// RemoteAddrPort is the viewer's address and port, parsed once per
// connection (the zero AddrPort when the connection is not TCP).
func (w *response) RemoteAddrPort() netip.AddrPort { return w.c.remoteAddr }

func (w *response) WriteHeader(code int) {
	if w.committed || w.status != 0 {
		return // as net/http, a second call is ignored
	}
	if code < 100 || code > 999 {
		panic("http1: invalid WriteHeader code " + strconv.Itoa(code))
	}
	if code < 200 {
		// An informational answer goes out now; the real one follows.
		// Never to HTTP/1.0, which does not know them (RFC 9110 15.2).
		if code != http.StatusSwitchingProtocols && w.req.ProtoMinor > 0 {
			if rb := w.reqBody; rb != nil && rb.expect {
				// Not while a reading goroutine sends 100 Continue, and
				// never a second 100.
				rb.contMu.Lock()
				defer rb.contMu.Unlock()
				if code == http.StatusContinue {
					if rb.cont != continuePending {
						return
					}
					rb.cont = continueSent
				}
			}
			w.c.writeString(statusLine(w.req, code))
			w.writeFields()
			w.c.writeString("\r\n")
			w.c.flush()
		}
		return
	}
	w.status = code
	w.bodyless = w.req.Method == http.MethodHead || !bodyAllowed(code)
	if v := w.header["Content-Length"]; len(v) == 1 {
		if n, ok := contentLength(v[0]); ok {
			w.declared = n
		}
	}
}

func (w *response) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.c.broken {
		return 0, io.ErrClosedPipe
	}
	if w.bodyless {
		if !bodyAllowed(w.status) {
			return 0, http.ErrBodyNotAllowed
		}
		w.written += int64(len(p)) // HEAD: counted for the length, not sent
		if !w.committed && len(w.pending) < 512 {
			w.pending = append(w.pending, p[:min(len(p), 512-len(w.pending))]...) // to sniff
		}
		return len(p), nil
	}
	if w.declared >= 0 && w.written+int64(len(p)) > w.declared {
		return 0, http.ErrContentLength
	}
	w.written += int64(len(p))
	if !w.committed {
		if w.declared < 0 && len(w.pending)+len(p) <= sniffLen {
			w.pending = append(w.pending, p...)
			return len(p), nil
		}
		w.commit(false, p)
	}
	w.body(p)
	if w.c.broken {
		return 0, io.ErrClosedPipe
	}
	return len(p), nil
}

// body sends p, as a chunk when chunked.
func (w *response) body(p []byte) {
	if len(p) == 0 {
		return
	}
	if w.chunked {
		bp := w.c.buf()
		*bp = strconv.AppendInt(*bp, int64(len(p)), 16)
		*bp = append(*bp, '\r', '\n')
		w.c.write(p)
		w.c.writeString("\r\n")
		return
	}
	w.c.write(p)
}

func (w *response) Flush() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(false, nil)
	}
	w.c.flush()
}

// ReadFrom sends a SectionReader of an *os.File (a cached body in a
// memfd or on disk) with sendfile at explicit offsets, the header going
// with MSG_MORE in the same packet; anything else is copied.
func (w *response) ReadFrom(src io.Reader) (int64, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	// A *tls.Conn is no syscall.Conn: its bytes are not the file's.
	tcp, isTCP := w.c.rwc.(syscall.Conn)
	sr, isSection := src.(*io.SectionReader)
	if !isTCP || !isSection || w.bodyless || w.declared < 0 {
		return w.copyFrom(src)
	}
	ra, base, size := sr.Outer()
	f, ok := ra.(*os.File)
	if !ok {
		return w.copyFrom(src)
	}
	cur, _ := sr.Seek(0, io.SeekCurrent)
	// Never past the declared length: the framing is the connection's.
	left := min(w.declared-w.written, size-cur)
	if !w.committed {
		w.commit(false, nil)
	}
	if w.c.broken {
		return 0, io.ErrClosedPipe
	}
	bp := w.c.buf()
	w.c.armWrite()
	var n int64
	var err error
	if w.c.sf == nil {
		w.c.sf, err = newSender(tcp, w.c.armWrite)
	}
	if err == nil {
		n, err = w.c.sf.send(*bp, f, base+cur, left)
	}
	if errors.Is(err, errors.ErrUnsupported) {
		return w.copyFrom(src)
	}
	*bp = (*bp)[:0] // sent with the body
	w.written += n
	sr.Seek(n, io.SeekCurrent)
	w.c.wrote(err)
	return n, err
}

// SendsFiles says ReadFrom sends an *os.File's SectionReader with
// sendfile (on TCP; a TLS connection copies).
func (w *response) SendsFiles() bool {
	_, ok := w.c.rwc.(syscall.Conn)
	return ok
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (w *response) copyFrom(src io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(writerOnly{w}, src, *bp)
}

type writerOnly struct{ io.Writer }

// finish completes the answer once the handler returned.
func (w *response) finish() {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if !w.committed {
		w.commit(true, nil)
	}
	if w.chunked {
		w.c.writeString("0\r\n\r\n")
	}
	if !w.bodyless && w.declared >= 0 && w.written < w.declared {
		w.closeAfter = true // the viewer waits for bytes that never come
	}
}

// commit queues the status line and header, choosing the framing: the
// declared length, the whole body's when the handler has ended (done),
// else chunks (HTTP/1.1) or the connection's end (HTTP/1.0).
// first is the body's first bytes when pending is empty, for sniffing.
func (w *response) commit(done bool, first []byte) {
	w.committed = true
	c, h := w.c, w.header
	// A body that failed (cut for stalling, malformed) ends the
	// connection: say so, as nginx's 408 does.
	w.closeAfter = w.req.Close || c.srv.closing.Load() || hasToken(h["Connection"], "close") ||
		w.reqBody != nil && (w.reqBody.failed.Load() || w.reqBody.leftOver(c, done))
	length := w.declared
	switch {
	case !bodyAllowed(w.status):
		length = -2 // no framing fields at all
	case length < 0 && done:
		length = int64(len(w.pending))
		if w.bodyless { // HEAD
			length = w.written
			if length == 0 && w.req.Method == http.MethodHead {
				length = -2 // nothing known: say nothing
			}
		}
	case length < 0 && !w.bodyless:
		if w.req.ProtoMinor >= 1 {
			w.chunked = true
		} else {
			w.closeAfter = true
		}
	}
	if len(w.pending) > 0 {
		first = w.pending
	}
	// As net/http: a body without a type and not encoded gets a sniffed one.
	if _, ok := h["Content-Type"]; !ok && bodyAllowed(w.status) && len(first) > 0 && len(h["Content-Encoding"]) == 0 {
		h["Content-Type"] = []string{http.DetectContentType(first)}
	}
	if w.status == http.StatusNotModified {
		delete(h, "Content-Type")
	}
	start := c.pos()
	c.writeString(statusLine(w.req, w.status))
	w.writeFields()
	if _, ok := h["Date"]; !ok {
		bp := c.buf()
		*bp = appendDate(*bp)
	}
	if length >= 0 && (w.declared < 0 || w.bodyless && w.declared != length) {
		bp := c.buf()
		*bp = append(*bp, "Content-Length: "...)
		*bp = strconv.AppendInt(*bp, length, 10)
		*bp = append(*bp, '\r', '\n')
	}
	if w.chunked {
		c.writeString("Transfer-Encoding: chunked\r\n")
	}
	switch {
	case w.closeAfter:
		c.writeString("Connection: close\r\n")
	case w.req.ProtoMinor == 0:
		c.writeString("Connection: keep-alive\r\n")
	}
	c.writeString("\r\n")
	w.headerBytes = c.pos() - start
	if !w.bodyless {
		p := w.pending
		w.pending = nil
		w.body(p)
	}
}

// writeFields queues the handler's fields but the ones the framing owns.
func (w *response) writeFields() {
	bp := w.c.buf()
	lengthOK := w.declared >= 0 && bodyAllowed(w.status) && w.status != http.StatusNotModified
	for k, vv := range w.header {
		switch k {
		case "Transfer-Encoding", "Connection", "Trailer":
			continue
		case "Content-Length":
			if !lengthOK {
				continue
			}
		}
		if !httpguts.ValidHeaderFieldName(k) {
			continue
		}
		for _, v := range vv {
			*bp = append(*bp, k...)
			*bp = append(*bp, ':', ' ')
			if strings.IndexByte(v, '\n') >= 0 || strings.IndexByte(v, '\r') >= 0 {
				v = newlineToSpace.Replace(v) // as net/http: no field injection
			}
			*bp = append(*bp, v...)
			*bp = append(*bp, '\r', '\n')
		}
	}
}

var newlineToSpace = strings.NewReplacer("\r", " ", "\n", " ")

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

func hasToken(vv []string, token string) bool {
	return vv != nil && httpguts.HeaderValuesContainsToken(vv, token)
}

func statusLine(r *http.Request, code int) string {
	// HTTP/1.2 to 1.9 get 1.1, the highest this server speaks (RFC 9110
	// 6.2), as their chunks and keep-alive are 1.1's.
	if code < len(statusLines[1]) {
		return statusLines[min(r.ProtoMinor, 1)][code]
	}
	return proto(r.ProtoMinor) + strconv.Itoa(code) + " status code " + strconv.Itoa(code) + "\r\n"
}

func proto(minor int) string {
	if minor == 0 {
		return "HTTP/1.0 "
	}
	return "HTTP/1.1 "
}

// statusLines[minor][code], built once: a status line costs no allocation.
var statusLines = func() (t [2][600]string) {
	for minor := range t {
		for code := 100; code < 600; code++ {
			text := http.StatusText(code)
			if text == "" {
				text = "status code " + strconv.Itoa(code)
			}
			t[minor][code] = proto(minor) + strconv.Itoa(code) + " " + text + "\r\n"
		}
	}
	return t
}()

// The Date field changes once a second: formatted once a second.
type dateLine struct {
	unix int64
	line []byte
}

var date atomic.Pointer[dateLine]

func appendDate(b []byte) []byte {
	now := time.Now()
	d := date.Load()
	if d == nil || d.unix != now.Unix() {
		d = &dateLine{unix: now.Unix(), line: now.UTC().AppendFormat([]byte("Date: "), http.TimeFormat)}
		d.line = append(d.line, '\r', '\n')
		date.Store(d)
	}
	return append(b, d.line...)
}
