package edge

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"openfront.dev/compiler/table"
)

// WebSockets, as CloudFront proxies them (distribution-working-with.
// websockets.md): a viewer's handshake, an HTTP/1.1 GET with
// "Connection: Upgrade" and "Upgrade: websocket", goes to the origin,
// never through the cache, with the edge's own Connection and Upgrade
// fields and whatever else the behavior forwards (CloudFront asks for
// AllViewer, or Sec-WebSocket-Key and Sec-WebSocket-Version at least:
// without them the origin refuses the handshake, and the viewer gets its
// answer). Once the origin answers 101 the edge joins the two
// connections until either ends. Only custom origins can switch; HTTP/2
// and HTTP/3 carry no Upgrade (RFC 9113 8.2.2), so their requests are
// plain GETs.
//
// But for one form: quic-go's HTTP/3 server tells every viewer it takes
// extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL, which it cannot be
// told not to send), so a viewer that speaks RFC 9220 opens its
// WebSocket as a CONNECT with :protocol websocket on its HTTP/3
// connection rather than on an HTTP/1.1 one. Such a request is taken as
// the GET handshake it stands for (asWebSocketHandshake), goes to the
// origin as one, and on its 101 the viewer gets 200 and the stream is
// joined to the origin's connection, as RFC 9220 has an intermediary do.
// Without that, a viewer told CONNECT works would get a 403 and no
// WebSocket.

// upgradeIdle closes a joined connection over which nothing went either
// way for so long: a viewer or origin that vanished without closing (a
// dead NAT entry) would otherwise hold two sockets for ever. CloudFront
// does not document its value; 10 minutes is API Gateway's WebSocket idle
// timeout, and longer than the keep-alive pings of common clients.
const upgradeIdle = 10 * time.Minute

// upgradeProtocol is "websocket" for a viewer's WebSocket handshake, ""
// for any other request (another Upgrade is not proxied: the field is
// hop-by-hop and dropped, and the request served as it is).
func upgradeProtocol(r *http.Request) string {
	if isWebSocketStream(r) {
		return "websocket"
	}
	if r.ProtoMajor != 1 || r.ProtoMinor < 1 || !WebSocketHandshake(r.Method, r.Header) {
		return ""
	}
	return "websocket"
}

// WebSocketHandshake reports whether an HTTP/1.1 request with method and
// header h asks to switch to a WebSocket (RFC 6455 4.1): a GET with
// "Connection: Upgrade" and "Upgrade: websocket". openfront route
// explains such a request as the edge serves it.
func WebSocketHandshake(method string, h http.Header) bool {
	return method == http.MethodGet &&
		httpguts.HeaderValuesContainsToken(h["Connection"], "upgrade") &&
		httpguts.HeaderValuesContainsToken(h["Upgrade"], "websocket")
}

// WebSocketHeadersNotForwarded lists the fields of a viewer's handshake
// that an origin needs and behavior b does not forward. CloudFront asks
// for the AllViewer origin request policy, or for Sec-WebSocket-Key and
// Sec-WebSocket-Version in one (distribution-working-with.websockets.md):
// without them the origin refuses the handshake.
func WebSocketHeadersNotForwarded(b *table.Behavior) []string {
	var missing []string
	for _, k := range [...]string{"Sec-WebSocket-Key", "Sec-WebSocket-Version"} {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if _, ok := forwardedHeaders(b, http.Header{ck: {""}})[ck]; !ok {
			missing = append(missing, k)
		}
	}
	return missing
}

// isExtendedConnect reports whether r is an HTTP/3 extended CONNECT
// for a WebSocket (RFC 9220): quic-go gives its :protocol as r.Proto.
func isExtendedConnect(r *http.Request) bool {
	return r.ProtoMajor == 3 && r.Method == http.MethodConnect && r.Proto == "websocket"
}

// asWebSocketHandshake makes r, an extended CONNECT, the GET handshake
// it stands for: allowed methods, web ACLs, functions and the log see a
// GET, as for an HTTP/1.1 viewer. The origin's handshake needs the
// Sec-WebSocket-Key that RFC 8441 5 leaves out: a random one, as a
// client makes it (RFC 6455 4.1).
func asWebSocketHandshake(r *http.Request) {
	r.Method = http.MethodGet
	if _, ok := r.Header["Sec-Websocket-Key"]; !ok {
		var key [16]byte
		rand.Read(key[:])
		r.Header["Sec-Websocket-Key"] = []string{base64.StdEncoding.EncodeToString(key[:])}
	}
}

// isWebSocketStream reports whether r is an HTTP/3 WebSocket handshake
// that asWebSocketHandshake made a GET.
func isWebSocketStream(r *http.Request) bool {
	return r.ProtoMajor == 3 && r.Method == http.MethodGet && r.Proto == "websocket"
}

// join answers the viewer with the origin's 101 and joins the viewer's
// connection to the origin's until either ends. proto is what the viewer
// asked for ("" when it asked for no upgrade: the origin's 101 is then a
// fault).
func (h *Handler) join(w http.ResponseWriter, r *http.Request, resp *http.Response, id, proto string) error {
	upstream, ok := resp.Body.(io.ReadWriteCloser)
	if got := resp.Header.Get("Upgrade"); !ok || proto == "" || !strings.EqualFold(got, proto) {
		resp.Body.Close()
		h.refuse(w, r, http.StatusBadGateway, fmt.Sprintf("The origin switched to the protocol %q, which the viewer did not ask for.", got))
		return nil
	}
	defer upstream.Close()
	if isWebSocketStream(r) {
		return h.joinStream(w, r, resp, upstream, id)
	}
	hdr := h.originHeader(w, resp, id)
	// Hop-by-hop, so left out above: the switch's own, for this hop.
	hdr["Connection"] = []string{"Upgrade"}
	hdr["Upgrade"] = []string{proto}
	hdr.Set("X-Cache", cacheMiss)
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// The viewer left, or (never for an HTTP/1 request) the server
		// cannot hand its connection over: nothing was sent yet.
		if errors.Is(err, http.ErrNotSupported) {
			h.refuse(w, r, http.StatusBadGateway, "This connection cannot switch protocols.")
		}
		return err
	}
	defer conn.Close()
	switchProtocols(w)
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	hdr.Write(brw)
	brw.WriteString("\r\n")
	if err := brw.Flush(); err != nil {
		return err
	}
	in, out := pipe(conn, brw.Reader, upstream, upgradeIdle)
	upgraded(w, in, out)
	return nil
}

// joinStream answers an HTTP/3 viewer's WebSocket handshake, which the
// origin switched, with 200 (RFC 9220, RFC 8441 5) and joins its stream
// to the origin's connection until either ends.
func (h *Handler) joinStream(w http.ResponseWriter, r *http.Request, resp *http.Response, upstream io.ReadWriteCloser, id string) error {
	joined := &upstream // the key: an origin connection need not be comparable
	if !h.streams.add(joined) {
		h.refuse(w, r, http.StatusServiceUnavailable, "This edge node is shutting down.")
		return nil
	}
	defer h.streams.remove(joined)
	hdr := h.originHeader(w, resp, id)
	// The key's proof is for the HTTP/1.1 handshake the edge made.
	delete(hdr, "Sec-Websocket-Accept")
	hdr.Set("X-Cache", cacheMiss)
	// The 200 is the switch, not an answer: no viewer-response function
	// sees it (as none sees an HTTP/1.1 101), and it alone opens the
	// stream.
	if p, ok := writerOf[*headersPolicy](w); ok {
		p.noFn = true
	}
	if g, ok := writerOf[*streamGuard](w); ok {
		g.joined = true
	}
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	if err := rc.Flush(); err != nil {
		return err
	}
	// What goes out is written through w, which counts it: only what came
	// in is added.
	in, _ := pipe(streamWriter{w: w, rc: rc, body: r.Body}, r.Body, upstream, upgradeIdle)
	upgraded(w, in, 0)
	return nil
}

// streamGuard is an HTTP/3 WebSocket handshake's writer: an RFC 9220
// client takes any 2xx for its WebSocket opened, so a 2xx that is not
// joinStream's (an origin's answer that did not switch, a custom error
// page with responseCode 200, a function's generated answer) goes out as
// a 502 instead.
type streamGuard struct {
	http.ResponseWriter
	joined, refused, wrote bool
}

// Unwrap lets http.ResponseController reach the server's writer.
func (g *streamGuard) Unwrap() http.ResponseWriter { return g.ResponseWriter }

func (g *streamGuard) WriteHeader(code int) {
	if g.refused {
		return
	}
	if code >= 200 {
		g.wrote = true
	}
	if code/100 == 2 && !g.joined {
		g.refused = true
		hdr := g.Header()
		for _, k := range []string{"Content-Length", "Content-Encoding", "Content-Range", "Etag", "Last-Modified"} {
			delete(hdr, k)
		}
		msg := "The WebSocket was not opened: the answer was " + strconv.Itoa(code) + ", not the origin's switch.\n"
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
		hdr.Set("Cache-Control", "no-store")
		// Declared, as the servers would (the node flushes before they
		// can), so the log's sc-content-len has it too.
		hdr.Set("Content-Length", strconv.Itoa(len(msg)))
		g.ResponseWriter.WriteHeader(http.StatusBadGateway)
		io.WriteString(g.ResponseWriter, msg)
		return
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *streamGuard) Write(b []byte) (int, error) {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	if !g.refused {
		return g.ResponseWriter.Write(b)
	}
	return len(b), nil
}

func (g *streamGuard) Flush() {
	if !g.wrote {
		g.WriteHeader(http.StatusOK)
	}
	http.NewResponseController(g.ResponseWriter).Flush()
}

// joinedStreams are the origin connections joined to HTTP/3 viewers'
// streams. An HTTP/1.1 server closes its joined connections at shutdown,
// having no request of theirs to wait for; the HTTP/3 server would wait
// for these streams' handlers until the drain timeout, so EndWebSockets
// closes them.
type joinedStreams struct {
	mu     sync.Mutex
	m      map[*io.ReadWriteCloser]struct{}
	closed bool
}

func (s *joinedStreams) add(c *io.ReadWriteCloser) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.m == nil {
		s.m = map[*io.ReadWriteCloser]struct{}{}
	}
	s.m[c] = struct{}{}
	return true
}

func (s *joinedStreams) remove(c *io.ReadWriteCloser) {
	s.mu.Lock()
	delete(s.m, c)
	s.mu.Unlock()
}

// EndWebSockets ends the WebSockets joined to HTTP/3 viewers' streams,
// and any joined later: call it when the node shuts down.
func (h *Handler) EndWebSockets() {
	s := &h.streams
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.m {
		(*c).Close()
	}
}

// streamWriter writes to an HTTP/3 viewer's stream, each write flushed;
// Close ends the stream's reading (the request body's), which pipe is
// blocked in.
type streamWriter struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	body io.Closer
}

func (s streamWriter) Write(p []byte) (int, error) {
	n, err := s.w.Write(p)
	if err == nil {
		err = s.rc.Flush()
	}
	return n, err
}

func (s streamWriter) Close() error { return s.body.Close() }

// pipe copies viewer to origin and back until either side ends or
// nothing moves for idle, then closes both; it returns the bytes from
// the viewer (read through vr: an HTTP/1.1 connection's reader, which
// holds what the server read ahead, or an HTTP/3 stream's body) and to
// it.
func pipe(viewer io.WriteCloser, vr io.Reader, origin io.ReadWriteCloser, idle time.Duration) (in, out int64) {
	var last atomic.Int64 // unix nanoseconds of the last bytes moved
	last.Store(time.Now().UnixNano())
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			viewer.Close()
			origin.Close()
		})
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(idle / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				if now.UnixNano()-last.Load() >= int64(idle) {
					closeBoth()
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		in, _ = io.Copy(activeWriter{origin, &last}, vr)
		closeBoth()
	}()
	out, _ = io.Copy(activeWriter{viewer, &last}, origin)
	closeBoth()
	wg.Wait()
	close(done)
	return in, out
}

// activeWriter notes when bytes last went through it.
type activeWriter struct {
	w    io.Writer
	last *atomic.Int64
}

func (a activeWriter) Write(p []byte) (int, error) {
	n, err := a.w.Write(p)
	a.last.Store(time.Now().UnixNano())
	return n, err
}
