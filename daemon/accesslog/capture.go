package accesslog

import (
	"cmp"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Capture wraps a viewer's ResponseWriter and records what a log line
// needs: the status, header and body bytes, when the first byte went out,
// the content headers, and whether the viewer went away. It also counts
// the request body as the handler reads it.
type Capture struct {
	http.ResponseWriter
	req *http.Request
	// header is the request's header as the viewer sent it: the edge
	// replaces r.Header (a viewer-request function's) and adds to it in
	// place (the CloudFront-* headers), and the log is the viewer's.
	header      http.Header
	headBytes   int64 // the request line and header as HTTP/1.1 text, when wire is nil
	start       time.Time
	firstByte   time.Time
	status      int
	headerBytes int64
	bodyBytes   int64
	writeErr    bool
	grpc        bool // served as a gRPC call
	hasBody     bool
	body        countingBody // the request body, counted; used when hasBody
	contentType string
	sniff       bool   // no declared type: the server sniffs one from the body
	sniffed     []byte // the body's first bytes, while sniff
	contentLen  int64
	rangeStart  int64
	rangeEnd    int64
	wire        wireSizer    // the server's writer, when it counts its bytes
	upgradedIn  int64        // what the viewer sent on the connection once switched (a WebSocket)
	viewer      viewerFields // picked from header as it was sized, when wire is nil
}

// viewerFields are the request header's values the log has fields for.
type viewerFields struct {
	referer, userAgent    string
	forwardedFor, cookies []string
	websocket             bool
}

// pick keeps the value of header field k, if the log has a field for it.
func (f *viewerFields) pick(k string, vs []string) {
	switch k {
	case "Referer":
		f.referer = vs[0]
	case "User-Agent":
		f.userAgent = vs[0]
	case "X-Forwarded-For":
		f.forwardedFor = vs
	case "Cookie":
		f.cookies = vs
	case "Upgrade":
		f.websocket = strings.EqualFold(vs[0], "websocket")
	}
}

// wireSizer is a ResponseWriter that knows what its request and answer
// took on the wire (daemon/http1's): the log takes cs-bytes and sc-bytes
// from it, exactly and without sizing the header maps, and the viewer's
// address, parsed once per connection rather than from RemoteAddr.
type wireSizer interface {
	WireBytes() (requestHead, responseHeader int64, sent bool)
	RemoteAddrPort() netip.AddrPort
}

// lengthHolder is a ResponseWriter that holds a small answer whose
// length the handler did not declare, and declares it once the handler
// returns, as daemon/http1 does (the node's HTTP/2 and HTTP/3 writer):
// the log has the Content-Length it will send.
type lengthHolder interface {
	HeldLength() (n int64, ok bool)
}

// heldLength is the Content-Length c's writer will add to the answer
// when the handler returns; ok false: none.
func (c *Capture) heldLength() (int64, bool) {
	if h, ok := c.ResponseWriter.(lengthHolder); ok && c.contentLen < 0 {
		return h.HeldLength()
	}
	return -1, false
}

// NewCapture starts capturing the response to r, received at start; it
// replaces r.Body with a counting reader (the server still closes the original).
func NewCapture(w http.ResponseWriter, r *http.Request, start time.Time) *Capture {
	c := new(Capture)
	c.Reset(w, r, start)
	return c
}

// Reset makes c capture a new request, as NewCapture does: a server keeps
// Captures in a pool so a request allocates none. Call it only once the
// previous request's handler returned.
func (c *Capture) Reset(w http.ResponseWriter, r *http.Request, start time.Time) {
	*c = Capture{ResponseWriter: w, req: r, header: r.Header, start: start, contentLen: -1, rangeStart: -1, rangeEnd: -1}
	c.wire, _ = w.(wireSizer)
	if c.wire == nil {
		// Sized now, before the edge adds to the header what the viewer
		// never sent; the walk picks the logged fields too, so that
		// Record need not walk it again.
		c.headBytes = requestBytes(r, &c.viewer)
	}
	if r.Body != nil && r.Body != http.NoBody {
		c.body.ReadCloser, c.hasBody = r.Body, true
		r.Body = &c.body
	}
}

// Release drops the references to the request and writer, for a Capture
// going back to a pool.
func (c *Capture) Release() { *c = Capture{} }

// Unwrap lets http.ResponseController reach the server's writer.
func (c *Capture) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// Now is the time now as start plus the monotonic time since: one clock
// read, where time.Now reads the wall clock too.
func (c *Capture) Now() time.Time { return c.start.Add(time.Since(c.start)) }

// Status is the status written so far, 0 before any.
func (c *Capture) Status() int { return c.status }

func (c *Capture) WriteHeader(code int) {
	if c.status == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		c.status = code
		c.firstByte = c.Now()
		c.noteHeader()
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *Capture) Write(p []byte) (int, error) {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if c.sniff && len(c.sniffed) < sniffLen {
		c.sniffed = append(c.sniffed, p[:min(len(p), sniffLen-len(c.sniffed))]...)
	}
	n, err := c.ResponseWriter.Write(p)
	c.bodyBytes += int64(n)
	if err != nil {
		c.writeErr = true
	}
	return n, err
}

// ReadFrom keeps the server's sendfile path for disk-cached bodies.
func (c *Capture) ReadFrom(r io.Reader) (int64, error) {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	var n int64
	var err error
	if c.sniff && len(c.sniffed) == 0 {
		// The type is sniffed from the first bytes: they go through Write,
		// which keeps them (rare: a cached body has its type).
		n, err = c.writeFirst(r)
		if err != nil || n < sniffLen {
			return n, err
		}
	}
	// A source that fails (an origin's body broken off) is not the
	// viewer gone: its failures are noted apart. A SectionReader passes
	// as it is, for the server to sendfile it.
	src, noted := r, (*readNoter)(nil)
	if _, file := r.(*io.SectionReader); !file {
		noted = &readNoter{Reader: r}
		src = noted
	}
	var m int64
	if rf, ok := c.ResponseWriter.(io.ReaderFrom); ok {
		m, err = rf.ReadFrom(src)
	} else {
		m, err = io.Copy(struct{ io.Writer }{c.ResponseWriter}, src)
	}
	c.bodyBytes += m
	if err != nil && (noted == nil || noted.err == nil) {
		c.writeErr = true
	}
	return n + m, err
}

// readNoter notes the error its reader returned, other than io.EOF.
type readNoter struct {
	io.Reader
	err error
}

func (r *readNoter) Read(p []byte) (int, error) {
	n, err := r.Reader.Read(p)
	if err != nil && err != io.EOF {
		r.err = err
	}
	return n, err
}

// writeFirst writes what r holds of its first sniffLen bytes through Write.
func (c *Capture) writeFirst(r io.Reader) (int64, error) {
	buf := make([]byte, sniffLen)
	n, err := io.ReadFull(r, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		err = nil
	}
	if n > 0 {
		w, werr := c.Write(buf[:n])
		return int64(w), cmp.Or(werr, err)
	}
	return 0, err
}

func (c *Capture) Flush() {
	if c.status == 0 {
		c.WriteHeader(http.StatusOK)
	}
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// SwitchProtocols notes the 101 a handler is about to write on the
// connection it took from the server (a WebSocket): the server never sees
// it. The header it writes is the ResponseWriter's.
func (c *Capture) SwitchProtocols() {
	if c.status == 0 {
		c.status = http.StatusSwitchingProtocols
		c.firstByte = c.Now()
		c.noteHeader()
	}
}

// GRPC notes that the request is served as a gRPC call (its behavior
// has grpcConfig): cs-protocol is then grpcs, CloudFront's value for one.
func (c *Capture) GRPC() { c.grpc = true }

// Upgraded counts what a switched connection carried, in from the viewer
// and out to it: cs-bytes and sc-bytes then cover the whole WebSocket.
func (c *Capture) Upgraded(in, out int64) {
	c.upgradedIn += in
	c.bodyBytes += out
}

// noteHeader reads the content headers and sizes the header block as
// HTTP/1.1 text: status line, header lines, the Date the server adds.
func (c *Capture) noteHeader() {
	h := c.ResponseWriter.Header()
	if c.wire == nil {
		c.headerBytes = headerSize(h, c.status)
	}
	if vs, ok := h["Content-Type"]; len(vs) > 0 {
		c.contentType = vs[0]
	} else if !ok && len(h["Content-Encoding"]) == 0 && bodyAllowed(c.status) {
		c.sniff = true
	}
	if vs := h["Content-Length"]; len(vs) > 0 {
		if l, err := strconv.ParseInt(vs[0], 10, 64); err == nil && l >= 0 {
			c.contentLen = l
		}
	}
	if vs := h["Content-Range"]; len(vs) > 0 {
		c.rangeStart, c.rangeEnd = parseContentRange(vs[0])
	}
}

// sniffLen is what http.DetectContentType reads of a body.
const sniffLen = 512

// bodyAllowed reports whether a response with status may have a body.
func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}

// sniffedType is the Content-Type the server adds to a response that
// declared none, as net/http, daemon/http1 and quic-go do: sniffed from
// the body's first bytes, unless it is encoded. "" without a body.
func (c *Capture) sniffedType() string {
	if !c.sniff || len(c.sniffed) == 0 {
		return ""
	}
	return http.DetectContentType(c.sniffed)
}

// headerSize sizes a header block as HTTP/1.1 text: status line, header
// lines, the Date the server adds. It reads only lengths; the few names
// wanted are looked up apart, as comparing every name reads their bytes
// too (in a request's working set, cache misses).
func headerSize(h http.Header, status int) int64 {
	n := int64(len("HTTP/1.1 200 ") + len(http.StatusText(status)) + 2 + 2)
	for k, vs := range h {
		for _, v := range vs {
			n += int64(len(k) + 2 + len(v) + 2)
		}
	}
	if _, ok := h["Date"]; !ok { // even an empty one stops the server's
		n += int64(len("Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"))
	}
	return n
}

// parseContentRange reads "bytes FIRST-LAST/LENGTH"; -1, -1 otherwise.
func parseContentRange(v string) (int64, int64) {
	v, ok := strings.CutPrefix(v, "bytes ")
	if !ok {
		return -1, -1
	}
	rng, _, _ := strings.Cut(v, "/")
	first, last, ok := strings.Cut(strings.TrimSpace(rng), "-")
	if !ok {
		return -1, -1
	}
	s, err1 := strconv.ParseInt(first, 10, 64)
	e, err2 := strconv.ParseInt(last, 10, 64)
	if err1 != nil || err2 != nil || s < 0 || e < s {
		return -1, -1
	}
	return s, e
}

// HungUp reports whether the viewer stopped prematurely while sending the
// request: its body broke off (or, over daemon/http1, stalled past the
// read deadline) as it was read, before anything here closed it. The log
// says ClientHungUpRequest: the viewer's doing, not the origin's nor a
// response interrupted.
func (c *Capture) HungUp() bool { return c.hasBody && c.body.broken.Load() }

// Aborted reports whether the viewer went away before the response was
// complete: a write failed or the request's context ended.
func (c *Capture) Aborted() bool { return c.writeErr || c.req.Context().Err() != nil }

// Record returns the log record of the request, finished at end: every
// field but the request id and the result types (see Record.SetResult).
func (c *Capture) Record(end time.Time) Record {
	r := c.req
	rec := Record{
		Time:            end,
		Method:          r.Method,
		Host:            r.Host,
		Path:            requestPath(r),
		Query:           r.URL.RawQuery,
		ProtocolVersion: protocolVersion(r),
		Status:          c.StatusSent(),
		BytesOut:        c.BytesOut(),
		TimeTaken:       end.Sub(c.start),
		ContentType:     c.contentType,
		ContentLength:   c.contentLen,
		RangeStart:      c.rangeStart,
		RangeEnd:        c.rangeEnd,
	}
	viewer := &c.viewer
	if c.wire == nil {
		rec.BytesIn = c.headBytes
		if n, ok := c.heldLength(); ok {
			rec.ContentLength = n
		}
	} else {
		var sent bool
		rec.BytesIn, _, sent = c.wire.WireBytes()
		if !sent && rec.ContentLength < 0 {
			rec.ContentLength = c.addedLength(rec.Status)
		}
		// One pass over the header picks up the fields: lookups would
		// walk it again.
		viewer = new(viewerFields) // on the stack
		for k, vs := range c.header {
			if len(vs) > 0 {
				viewer.pick(k, vs)
			}
		}
	}
	rec.Referer, rec.UserAgent = viewer.referer, viewer.userAgent
	if viewer.forwardedFor != nil {
		rec.ForwardedFor = strings.Join(viewer.forwardedFor, ", ")
	}
	if viewer.cookies != nil {
		rec.Cookie = strings.Join(viewer.cookies, "; ")
	}
	// An HTTP/3 viewer's WebSocket (RFC 9220, which the edge joins to the
	// origin's) has no Upgrade field: its :protocol, quic-go's r.Proto,
	// says it is one, logged wss as an HTTP/1.1 viewer's.
	websocket := viewer.websocket || r.ProtoMajor == 3 && r.Proto == "websocket"
	if c.hasBody {
		rec.BytesIn += c.body.n
	}
	rec.BytesIn += c.upgradedIn
	if rec.ContentType == "" {
		rec.ContentType = c.sniffedType()
	}
	if c.firstByte.IsZero() {
		rec.TimeToFirstByte = rec.TimeTaken
	} else {
		rec.TimeToFirstByte = c.firstByte.Sub(c.start)
	}
	if ap := c.remoteAddrPort(); ap.IsValid() {
		rec.ClientIP, rec.ClientPort = ap.Addr(), int(ap.Port())
	} else {
		rec.ClientIP, rec.ClientPort = parseRemoteAddr(r.RemoteAddr)
	}
	switch {
	case r.TLS != nil && c.grpc: // CloudFront has gRPC over TLS only: no cleartext name
		rec.Protocol = "grpcs"
	case r.TLS != nil && websocket:
		rec.Protocol = "wss"
	case r.TLS != nil:
		rec.Protocol = "https"
	case websocket:
		rec.Protocol = "ws"
	default:
		rec.Protocol = "http"
	}
	if r.TLS != nil {
		rec.TLSProtocol = TLSVersionName(r.TLS.Version)
		rec.TLSCipher = CipherName(r.TLS.CipherSuite)
	}
	return rec
}

// addedLength is the Content-Length the server (daemon/http1) adds to a
// response with status whose header is still unsent when the handler
// returns and that declared none: the whole body's, as it is all
// pending; none for a status without a body or an empty HEAD. -1: none.
func (c *Capture) addedLength(status int) int64 {
	if !bodyAllowed(status) || c.bodyBytes == 0 && c.req.Method == http.MethodHead {
		return -1
	}
	return c.bodyBytes
}

func (c *Capture) remoteAddrPort() netip.AddrPort {
	if c.wire == nil {
		return netip.AddrPort{}
	}
	return c.wire.RemoteAddrPort()
}

// parseRemoteAddr is c-ip and c-port of a RemoteAddr ("192.0.2.1:51234",
// "[2001:db8::1]:443"; a mapped IPv4 address is logged as IPv4).
func parseRemoteAddr(s string) (netip.Addr, int) {
	if a, p, ok := parseIPv4Port(s); ok {
		return a, p
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), int(ap.Port())
	}
	if host, _, err := net.SplitHostPort(s); err == nil {
		a, _ := netip.ParseAddr(host)
		return a, 0
	}
	return netip.Addr{}, 0
}

// parseIPv4Port reads the common "a.b.c.d:port" in one pass, a quarter
// of what netip.ParseAddrPort takes; it refuses whatever it is unsure
// of (leading zeros, IPv6) for the general parser.
func parseIPv4Port(s string) (netip.Addr, int, bool) {
	var ip [4]byte
	i := 0
	for k := range 4 {
		n, start := 0, i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' && i-start < 3 {
			n = n*10 + int(s[i]-'0')
			i++
		}
		if i == start || n > 255 || (s[start] == '0' && i-start > 1) || i == len(s) {
			return netip.Addr{}, 0, false
		}
		want := byte('.')
		if k == 3 {
			want = ':'
		}
		if s[i] != want {
			return netip.Addr{}, 0, false
		}
		ip[k] = byte(n)
		i++
	}
	port, start := 0, i
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9' && i-start < 5; i++ {
		port = port*10 + int(s[i]-'0')
	}
	if i == start || i != len(s) || port > 65535 {
		return netip.Addr{}, 0, false
	}
	return netip.AddrFrom4(ip), port, true
}

// StatusSent is the status the viewer got: 200 for a handler that wrote
// nothing (the server sends it), 0 when the viewer went away first.
func (c *Capture) StatusSent() int {
	if c.status == 0 && c.req.Context().Err() == nil {
		return http.StatusOK
	}
	return c.status
}

// BytesOut is sc-bytes: the header block, as HTTP/1.1 text, and the body.
func (c *Capture) BytesOut() int64 {
	if c.status == 0 && c.req.Context().Err() == nil { // the server's empty 200
		return int64(len("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n\r\n"))
	}
	n := c.headerBytes
	if l, ok := c.heldLength(); ok && c.wire == nil {
		n += int64(len("Content-Length: \r\n")) + digits(l)
	}
	if c.wire != nil {
		_, h, sent := c.wire.WireBytes()
		if !sent { // the server commits a small body's header after the handler
			h = headerSize(c.ResponseWriter.Header(), c.status)
		}
		n = h
	}
	if c.req.Method != http.MethodHead { // the server discards a HEAD's body
		n += c.bodyBytes
	}
	return n
}

// digits is how many decimal digits n >= 0 takes.
func digits(n int64) int64 {
	d := int64(1)
	for ; n >= 10; n /= 10 {
		d++
	}
	return d
}

// BytesIn is cs-bytes: the request line and headers as HTTP/1.1 text,
// and the body bytes the handler read.
func (c *Capture) BytesIn() int64 {
	n := c.headBytes
	if c.wire != nil {
		n, _, _ = c.wire.WireBytes()
	}
	if c.hasBody {
		n += c.body.n
	}
	return n + c.upgradedIn
}

// requestPath is cs-uri-stem: the path of the request target as the
// viewer sent it, without the query; URL.EscapedPath only when the target
// is not in origin form (an absolute URL), as it costs a scan that
// re-escapes.
func requestPath(r *http.Request) string {
	if u := r.RequestURI; len(u) > 0 && u[0] == '/' {
		if i := strings.IndexByte(u, '?'); i >= 0 {
			return u[:i]
		}
		return u
	}
	return r.URL.EscapedPath()
}

// protocolVersion is cs-protocol-version: Go says HTTP/2.0 for h2 and
// quic-go HTTP/3.0 for h3, the names CloudFront logs.
func protocolVersion(r *http.Request) string {
	switch r.ProtoMajor {
	case 2:
		return "HTTP/2.0"
	case 3:
		return "HTTP/3.0"
	}
	return r.Proto
}

// requestBytes sizes the request line and headers as HTTP/1.1 text, and
// picks the logged fields into f.
func requestBytes(r *http.Request, f *viewerFields) int64 {
	n := requestLineBytes(r)
	for k, vs := range r.Header {
		if len(vs) > 0 {
			f.pick(k, vs)
		}
		for _, v := range vs {
			n += int64(len(k) + 2 + len(v) + 2)
		}
	}
	return n
}

// requestLineBytes sizes the request line, the Host line and the blank
// line that ends the header, as HTTP/1.1 text.
func requestLineBytes(r *http.Request) int64 {
	n := int64(len(r.Method) + 1 + len(r.RequestURI) + 1 + len("HTTP/1.1\r\n") + 2)
	if r.RequestURI == "" {
		n += int64(len(r.URL.RequestURI()))
	}
	return n + int64(len("Host: ")+len(r.Host)+2)
}

// countingBody counts a request body and notes that it broke off. The
// origin transport may read and close it from its own goroutines.
type countingBody struct {
	io.ReadCloser
	n      int64
	closed atomic.Bool // closed here: a read that fails after is not the viewer's doing
	broken atomic.Bool // a read failed before that
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err != nil && err != io.EOF && !b.closed.Load() {
		b.broken.Store(true)
	}
	return n, err
}

func (b *countingBody) Close() error {
	b.closed.Store(true)
	return b.ReadCloser.Close()
}
