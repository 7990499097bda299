package edge

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"openfront.dev/daemon/accesslog"
)

// SetBodyTimeout bounds each wait for the next bytes of a request body
// the edge forwards, over HTTP/2 and HTTP/3 (0: no bound); call it before
// serving. HTTP/1 bodies are bounded by daemon/http1 (Server.BodyTimeout)
// with a connection read deadline, which costs no timer.
func (h *Handler) SetBodyTimeout(d time.Duration) { h.bodyTimeout = d }

// errBodyStalled fails the reads of a body the viewer stopped sending.
var errBodyStalled = errors.New("the viewer stopped sending the request body")

// viewerBody is a request body on its way to the origin. It bounds each
// wait for the viewer's bytes, as nginx's client_body_timeout does:
// net/http's HTTP/2 server and quic-go's HTTP/3 server wait for ever, and
// a viewer that announced a body and sent no more would hold the stream,
// the handler and the origin request. And it notes that the viewer
// stalled, for the answer and the log.
//
// The timer closes the server's body rather than setting a read deadline
// through http.ResponseController: the origin transport may read the body
// after the handler returned, when the ResponseWriter is no longer to be
// used. Close wakes a blocked Read in both servers: HTTP/2 breaks the
// stream's pipe, HTTP/3 stops receiving (STOP_SENDING).
type viewerBody struct {
	rc      io.ReadCloser
	timeout time.Duration // 0: the server bounds the waits itself
	timer   *time.Timer   // made at the first Read that waits
	stalled atomic.Bool
	// cut: an HTTP/2 or HTTP/3 viewer's body failed, as when its stream
	// ended short of its Content-Length, while the viewer may still wait
	// for the answer; closed: closed here, when a failed read is not the
	// viewer's doing.
	cut, closed atomic.Bool
	streams     bool // HTTP/2 or HTTP/3
}

// forwardedBody is r's body as the origin gets it; nil for a request
// that forwards none, which costs nothing.
func (h *Handler) forwardedBody(r *http.Request) *viewerBody {
	if !forwardsBody(r) {
		return nil
	}
	b := &viewerBody{rc: r.Body, streams: r.ProtoMajor >= 2}
	if b.streams {
		b.timeout = h.bodyTimeout
	}
	return b
}

// hasBody reports a request whose header says a body follows: a
// Content-Length above 0, or HTTP/1.1's chunked. An HTTP/2 or HTTP/3
// stream without Content-Length may or may not carry one (a client may
// end an open stream with an empty DATA frame): it is not refused.
func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || r.ContentLength < 0 && r.ProtoMajor == 1 && r.Body != nil && r.Body != http.NoBody
}

// forwardsBody reports whether r's body, if it has one, goes to the
// origin: a GET's or a HEAD's never does.
func forwardsBody(r *http.Request) bool {
	return r.Method != http.MethodGet && r.Method != http.MethodHead && r.Body != nil && r.Body != http.NoBody
}

// Read is not for concurrent use (no io.Reader is); Close may come from
// another goroutine.
func (b *viewerBody) Read(p []byte) (int, error) {
	if b.timeout > 0 {
		if b.timer == nil {
			b.timer = time.AfterFunc(b.timeout, b.stall)
		} else {
			b.timer.Reset(b.timeout)
		}
	}
	n, err := b.rc.Read(p)
	if b.timer != nil {
		b.timer.Stop()
	}
	switch {
	case err == nil || err == io.EOF:
	case b.stalled.Load():
		err = fmt.Errorf("%w for %v", errBodyStalled, b.timeout)
	case errors.Is(err, os.ErrDeadlineExceeded): // daemon/http1's bound
		b.stalled.Store(true)
		err = fmt.Errorf("%w: %w", errBodyStalled, err)
	case b.streams && !b.closed.Load():
		b.cut.Store(true)
	}
	return n, err
}

// stall ends a wait that lasted the timeout.
func (b *viewerBody) stall() {
	b.stalled.Store(true)
	b.rc.Close()
}

func (b *viewerBody) Close() error {
	b.closed.Store(true)
	return b.rc.Close()
}

// answerStalled answers a request whose body the viewer stopped sending
// (b nil: none forwarded) and reports whether it did. Before any of the
// response went out, the answer is 408, as nginx's; after, the stream is
// reset, since a short answer could pass for a whole one.
//
// A body an HTTP/2 or HTTP/3 viewer cut (its stream ended before its
// Content-Length) is answered 400: the request is malformed (RFC 9113
// 8.1.1, RFC 9114 4.1.2), and the viewer, whose stream is still open
// for the answer, is told so, as nginx tells it ("client prematurely
// closed stream"), rather than a 502 blaming the origin.
func (h *Handler) answerStalled(w http.ResponseWriter, r *http.Request, b *viewerBody, started bool) bool {
	if b == nil || !b.stalled.Load() && !b.cut.Load() {
		return false
	}
	h.log.Debug("the viewer stopped sending the request body", "host", r.Host, "path", r.URL.Path, "answered", started, "cut", b.cut.Load())
	setDetail(w, accesslog.ClientHungUpRequest)
	switch {
	case started:
		abortStream(w, r)
	case b.cut.Load():
		h.refuse(w, r, http.StatusBadRequest, "The request's body ended before it was whole.")
	default:
		h.refuse(w, r, http.StatusRequestTimeout, "The request's body stopped arriving before it was whole.")
	}
	return true
}
