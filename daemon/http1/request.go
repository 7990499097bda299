package http1

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// requestError is a request the server answers itself: status (0 closes
// the connection without an answer) and a reason for the body; header
// says a header field is at fault, not the request line (Refusal.Header).
type requestError struct {
	status int
	reason string
	header bool
}

var errQuiet = &requestError{}

func badRequest(reason string) *requestError {
	return &requestError{status: http.StatusBadRequest, reason: reason}
}

// badHeader is badRequest for a header field at fault.
func badHeader(reason string) *requestError {
	return &requestError{status: http.StatusBadRequest, reason: reason, header: true}
}

// chunked is every chunked request's TransferEncoding.
var chunked = []string{"chunked"}

// readRequest reads a request's head and makes the handler's request;
// headLen is the head's size as read.
func (c *conn) readRequest() (r *http.Request, b *body, headLen int64, rerr *requestError) {
	head, rerr := c.readHead()
	if rerr != nil {
		return nil, nil, 0, rerr
	}
	r, b, rerr = c.parse(head)
	if rerr != nil && c.srv.Refused != nil {
		r = c.refusedRequest(head)
	}
	return r, b, int64(len(head)), rerr
}

// refusedRequest is what can be read of a head parse refused, for
// Server.Refused to log: the request line's method, target and HTTP/1.x
// version when it has three parts (the version left empty, 1.1 to answer
// in, when it is not 1.x), the header fields with a valid name, and the
// Host when exactly one valid one was sent (or an absolute-form target
// names one): none otherwise, as no distribution can be known from it.
func (c *conn) refusedRequest(head string) *http.Request {
	r := new(http.Request)
	*r = *c.tmpl
	r.RemoteAddr, r.TLS, r.Body, r.Close = c.remote, c.tls, http.NoBody, true
	r.URL, r.Header = &url.URL{}, http.Header{}
	r.ProtoMajor, r.ProtoMinor = 1, 1
	reqLine, rest, _ := strings.Cut(head, "\n")
	if parts := strings.Split(strings.TrimSuffix(reqLine, "\r"), " "); len(parts) == 3 {
		if httpguts.ValidHeaderFieldName(parts[0]) {
			r.Method = parts[0]
		}
		r.RequestURI = parts[1]
		if u, err := parseTarget(r.Method, parts[1]); err == nil {
			r.URL = u
		}
		if major, minor, ok := version(parts[2]); ok && major == 1 {
			r.Proto, r.ProtoMinor = parts[2], minor
		}
	}
	var hosts []string
	for _, l := range strings.Split(rest, "\n") {
		name, value, ok := strings.Cut(strings.TrimSuffix(l, "\r"), ":")
		if !ok || !httpguts.ValidHeaderFieldName(name) {
			continue
		}
		key := textproto.CanonicalMIMEHeaderKey(name)
		value = strings.Trim(value, " \t")
		if key == "Host" {
			hosts = append(hosts, value)
			continue
		}
		r.Header[key] = append(r.Header[key], value)
	}
	switch {
	case r.URL.Host != "" && httpguts.ValidHostHeader(r.URL.Host):
		r.Host = r.URL.Host
	case len(hosts) == 1 && hosts[0] != "" && httpguts.ValidHostHeader(hosts[0]):
		r.Host = hosts[0]
	}
	return r
}

// readHead reads up to the empty line that ends a head and returns it as
// one string: every field of the request is a substring of it.
func (c *conn) readHead() (string, *requestError) {
	limit := c.srv.maxHeaderBytes()
	acc := c.head[:0]
	line, empties := 0, 0 // where the current line starts; empty lines skipped
	for {
		b, err := c.br.ReadSlice('\n')
		if len(acc)+len(b) > limit {
			// 413, not 414 or 431: CloudFront "returns HTTP status code
			// 413, Request Entity Too Large, to the viewer, and then
			// terminates the TCP connection" to a request or URL past its
			// limits (RequestAndResponseBehaviorCustomOrigin).
			if line == 0 {
				return "", &requestError{status: http.StatusRequestEntityTooLarge, reason: "the request line is longer than " + strconv.Itoa(limit) + " bytes"}
			}
			return "", &requestError{status: http.StatusRequestEntityTooLarge, reason: "the request's header is larger than " + strconv.Itoa(limit) + " bytes", header: true}
		}
		acc = append(acc, b...)
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return "", errQuiet // closed or timed out mid-head: no one to answer
		}
		l := acc[line:]
		empty := len(l) == 1 || len(l) == 2 && l[0] == '\r'
		switch {
		case empty && line == 0:
			// RFC 9112 2.2: empty lines before a request line are ignored.
			if empties++; empties > 4 {
				return "", badRequest("empty lines instead of a request")
			}
			acc = acc[:0]
			continue
		case empty:
			if cap(acc) <= 8<<10 {
				c.head = acc[:0]
			}
			return string(acc), nil
		}
		line = len(acc)
	}
}

// parse makes the request of a head, with RFC 9112's checks.
func (c *conn) parse(head string) (*http.Request, *body, *requestError) {
	reqLine, rest, _ := strings.Cut(head, "\n")
	reqLine = strings.TrimSuffix(reqLine, "\r")
	method, r1, ok1 := strings.Cut(reqLine, " ")
	target, proto, ok2 := strings.Cut(r1, " ")
	if !ok1 || !ok2 || target == "" {
		return nil, nil, badRequest("malformed request line")
	}
	if !httpguts.ValidHeaderFieldName(method) { // a method is a token
		return nil, nil, badRequest("invalid method")
	}
	major, minor, ok := version(proto)
	if !ok {
		return nil, nil, badRequest("malformed HTTP version")
	}
	if major != 1 {
		return nil, nil, &requestError{status: http.StatusHTTPVersionNotSupported, reason: "only HTTP/1.x is served on this connection"}
	}

	n := strings.Count(rest, "\n")
	hdr := make(http.Header, n)
	strs := make([]string, n) // one array for every field's first value
	var host string
	hosts := 0
	for rest != "" {
		var l string
		l, rest, _ = strings.Cut(rest, "\n")
		l = strings.TrimSuffix(l, "\r")
		if l == "" {
			break
		}
		if l[0] == ' ' || l[0] == '\t' {
			return nil, nil, badHeader("folded header line")
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			return nil, nil, badHeader("header line without a colon")
		}
		if !httpguts.ValidHeaderFieldName(name) {
			return nil, nil, badHeader("invalid header name")
		}
		value = strings.Trim(value, " \t")
		if !httpguts.ValidHeaderFieldValue(value) {
			return nil, nil, badHeader("invalid header value")
		}
		key := textproto.CanonicalMIMEHeaderKey(name)
		if key == "Host" {
			host, hosts = value, hosts+1
			continue
		}
		if vv, ok := hdr[key]; ok {
			hdr[key] = append(vv, value)
		} else {
			strs[0] = value
			hdr[key] = strs[:1:1]
			strs = strs[1:]
		}
	}

	// RFC 9112 3.2.4: the asterisk-form is OPTIONS's only; net/http's
	// ServeMux answers 400 too.
	if target == "*" && method != http.MethodOptions {
		return nil, nil, badRequest("the asterisk-form target is for OPTIONS only")
	}
	u, err := parseTarget(method, target)
	if err != nil {
		return nil, nil, badRequest("malformed request target")
	}
	switch {
	case hosts > 1:
		return nil, nil, badHeader("more than one Host")
	case hosts == 1 && !httpguts.ValidHostHeader(host):
		return nil, nil, badHeader("malformed Host")
	case hosts == 0 && minor >= 1 && method != http.MethodConnect:
		return nil, nil, badHeader("missing Host")
	}
	if u.Host != "" {
		if !httpguts.ValidHostHeader(u.Host) {
			return nil, nil, badRequest("malformed host in the request target")
		}
		host = u.Host // an absolute-form target wins (RFC 9112 3.2.2)
	}

	r := new(http.Request)
	*r = *c.tmpl
	r.Method, r.URL, r.RequestURI, r.Host = method, u, target, host
	r.Proto, r.ProtoMajor, r.ProtoMinor = proto, major, minor
	r.Header, r.RemoteAddr, r.TLS = hdr, c.remote, c.tls
	r.Body = http.NoBody
	conn := hdr["Connection"]
	if minor == 0 {
		// RFC 9112 9.3: close wins over keep-alive.
		r.Close = !hasToken(conn, "keep-alive") || hasToken(conn, "close")
	} else {
		r.Close = httpguts.HeaderValuesContainsToken(conn, "close")
	}

	b, rerr := c.framing(r)
	if rerr != nil {
		return nil, nil, rerr
	}
	if e, ok := hdr["Expect"]; ok {
		if len(e) != 1 || !equalFoldASCII(e[0], "100-continue") {
			return nil, nil, &requestError{status: http.StatusExpectationFailed, reason: "only 100-continue is understood", header: true}
		}
		// RFC 9110 10.1.1: a 100-continue in HTTP/1.0 is ignored, not
		// refused (net/http answers 417): a 1.0 client may not know 100.
		if b != nil && minor >= 1 {
			b.expect = true
		}
	}
	return r, b, nil
}

// framing finds the body's length (RFC 9112 6.3) and refuses what a proxy
// in front could frame differently.
func (c *conn) framing(r *http.Request) (*body, *requestError) {
	cl, te := r.Header["Content-Length"], r.Header["Transfer-Encoding"]
	switch {
	case te != nil && r.ProtoMinor == 0:
		return nil, badHeader("Transfer-Encoding in an HTTP/1.0 request")
	case te != nil && cl != nil:
		return nil, badHeader("both Content-Length and Transfer-Encoding")
	case te != nil:
		if len(te) != 1 || !equalFoldASCII(te[0], "chunked") {
			return nil, &requestError{status: http.StatusNotImplemented, reason: "only the chunked Transfer-Encoding is understood", header: true}
		}
		delete(r.Header, "Transfer-Encoding")
		r.TransferEncoding, r.ContentLength = chunked, -1
		// Chunk lines are read as net/http reads them: CRLF only, no CR
		// inside, no whitespace before or within the size. Whitespace
		// after the size or an extension is trimmed: RFC 9112 7.1 has
		// none there, but net/http, nginx, Apache and HAProxy accept it
		// (some servers send it) and it cannot change the size any
		// parser reads. Whitespace before ";" (BWS in 7.1.1) is refused,
		// as net/http does: no client sends it, and the differential
		// fuzz keeps this server never looser than net/http. A refused
		// chunk fails the handler's read and closes the connection.
		b := &body{c: c, br: c.br, src: httputil.NewChunkedReader(c.br), left: -1, limit: c.srv.maxHeaderBytes()}
		r.Body = b
		return b, nil
	case cl != nil:
		for _, v := range cl[1:] {
			if v != cl[0] {
				return nil, badHeader("conflicting Content-Lengths")
			}
		}
		n, ok := contentLength(cl[0])
		if !ok {
			return nil, badHeader("invalid Content-Length")
		}
		r.Header["Content-Length"] = cl[:1]
		r.ContentLength = n
		if n == 0 {
			return nil, nil
		}
		b := &body{c: c, br: c.br, src: c.br, left: n}
		r.Body = b
		return b, nil
	}
	return nil, nil
}

// equalFoldASCII is strings.EqualFold without Unicode's folds: to
// net/http and to a proxy in front, "chun\u212aed" (a Kelvin sign) is not
// chunked.
func equalFoldASCII(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// contentLength parses digits only: no sign, no spaces, no list.
func contentLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, false
		}
		n = n*10 + int64(v[i]-'0')
	}
	return n, true
}

func version(proto string) (major, minor int, ok bool) {
	switch proto {
	case "HTTP/1.1":
		return 1, 1, true
	case "HTTP/1.0":
		return 1, 0, true
	}
	return http.ParseHTTPVersion(proto)
}

// parseTarget is url.ParseRequestURI, without its allocations for the
// usual path and query that need no unescaping.
func parseTarget(method, target string) (*url.URL, error) {
	if plainTarget(target) {
		path, query, hasQuery := strings.Cut(target, "?")
		return &url.URL{Path: path, RawQuery: query, ForceQuery: hasQuery && query == ""}, nil
	}
	if method == http.MethodConnect && !strings.HasPrefix(target, "/") {
		// authority-form, as net/http reads it
		u, err := url.ParseRequestURI("http://" + target)
		if err != nil {
			return nil, err
		}
		u.Scheme = ""
		return u, nil
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, err
	}
	// Not origin-form: an absolute-form target must name a host (RFC 9110
	// 4.2.1 rejects an http URI without one) and no userinfo (4.2.4),
	// else "http:/x" routes by Host to path /x while its RequestURI, and
	// a proxy in front, say otherwise.
	if target[0] != '/' && target != "*" && (u.Host == "" || u.User != nil) {
		return nil, errNoAuthority
	}
	return u, nil
}

var errNoAuthority = errors.New("an absolute-form target without a host, or with userinfo")

// plainTarget says target is "/path?query" with a path net/url would keep
// as it is (no escapes, nothing it would escape) and a query of visible
// ASCII.
func plainTarget(s string) bool {
	if s == "" || s[0] != '/' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '?' {
			for _, q := range []byte(s[i+1:]) {
				if q <= ' ' || q >= 0x7f || q == '#' {
					return false
				}
			}
			return true
		}
		if !pathByte[c] {
			return false
		}
	}
	return true
}

// pathByte: the bytes url.URL.EscapedPath leaves as they are.
var pathByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range "-_.~$&+,/:;=@" {
		t[c] = true
	}
	return t
}()

// body is a request's body: Content-Length bytes or chunks read from the
// connection. The handler may read it from any goroutine; the connection
// reads what is left after the handler, under the same lock.
type body struct {
	mu     sync.Mutex
	c      *conn
	br     *bufio.Reader
	src    io.Reader
	left   int64 // bytes left of a Content-Length body; -1 chunked, 0 done
	limit  int   // bytes of trailer fields allowed
	expect bool  // the client waits for 100 Continue
	// cont is where the 100 Continue of an expect body is: pending until
	// the first read sends it or the answer's first bytes make it moot.
	// contMu orders the two: a handler may read the body in one goroutine
	// (a transport sending it to the origin) while it answers in another.
	// Until the answer starts, the goroutine sending 100 owns the
	// connection's writing side.
	contMu sync.Mutex
	cont   int8
	closed bool
	// finished: the connection has drained what the handler left, and
	// kept says whether all of it.
	finished, kept bool
	err            error
	// failed is err != nil, read without the lock (which a reader
	// waiting for the viewer holds): the answer says Connection: close.
	failed atomic.Bool
}

func (b *body) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, http.ErrBodyReadAfterClose
	}
	return b.read(p)
}

// Close is the handler's: what it leaves unread, the connection drains.
func (b *body) Close() error { return nil }

func (b *body) read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.left == 0 {
		return 0, io.EOF
	}
	if b.left > 0 && int64(len(p)) > b.left {
		p = p[:b.left]
	}
	if b.expect {
		if err := b.sendContinue(); err != nil {
			b.err = err
			b.failed.Store(true)
			return 0, err
		}
	}
	if b.br.Buffered() == 0 {
		// A viewer that stops sending its body is cut, as nginx's
		// client_body_timeout does: the wait for each read is bounded.
		d := b.c.srv.bodyTimeout()
		b.c.setDeadline(time.Now(), d, min(deadlineSlack, d/8))
	}
	n, err := b.src.Read(p)
	switch {
	case b.left > 0:
		b.left -= int64(n)
		if b.left == 0 {
			err = io.EOF
		} else if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	case err == io.EOF:
		if err = b.skipTrailer(); err == nil {
			b.left, err = 0, io.EOF
		}
	}
	if err != nil && err != io.EOF {
		b.err = err
		b.failed.Store(true)
	}
	if err == io.EOF && !b.closed && b.br.Buffered() == 0 {
		// The handler has the whole body and nothing was read beyond it:
		// the connection may be watched for the viewer leaving (gone.go).
		b.c.w.state.CompareAndSwap(watchNot, watchable)
	}
	return n, err
}

// close ends the handler's reads: once the handler returned, a goroutine
// it left (a transport sending the body) gets ErrBodyReadAfterClose and
// can no longer make the connection watchable.
func (b *body) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
}

// skipTrailer reads the fields after the last chunk; a handler gets none.
// Its lines end in CRLF, as chunk lines do (RFC 9112 7.1, erratum 7633,
// and net/http): a bare LF ending the body here but not in a proxy in
// front would smuggle what follows as a request. Each line must be a
// field, as net/http requires.
func (b *body) skipTrailer() error {
	for n := 0; ; {
		line, err := b.br.ReadSlice('\n')
		if err != nil {
			return io.ErrUnexpectedEOF
		}
		if n += len(line); n > b.limit {
			return badRequest("the trailer is too large")
		}
		if len(line) < 2 || line[len(line)-2] != '\r' {
			return badRequest("a trailer line without CRLF")
		}
		if len(line) == 2 {
			return nil
		}
		name, value, ok := strings.Cut(string(line[:len(line)-2]), ":")
		if !ok || !httpguts.ValidHeaderFieldName(name) || !httpguts.ValidHeaderFieldValue(strings.Trim(value, " \t")) {
			return badRequest("a malformed trailer field")
		}
	}
}

func (e *requestError) Error() string { return e.reason }

// Where a body's 100 Continue is (body.cont).
const (
	continuePending int8 = iota
	continueSent
	continueMoot // the answer started first: the client is not told to send
)

var continueLine = []byte("HTTP/1.1 100 Continue\r\n\r\n")

// errContinueMoot is a read of a body the answer went out before asking for.
var errContinueMoot = errors.New("http1: the request body was read after the answer started without a 100 Continue")

// sendContinue tells the client waiting for 100 Continue to send its body,
// once: RFC 9110 10.1.1 lets a server answer first, and the edge does
// when it refuses the request (a WAF block, a signed URL denied, a body
// over its limit), so that the body is never sent. A failed write fails
// the read; the request's context ends, as for any write to a viewer gone.
func (b *body) sendContinue() error {
	b.contMu.Lock()
	defer b.contMu.Unlock()
	switch b.cont {
	case continueSent:
		return nil
	case continueMoot:
		// The answer went out first: the client was never asked for the
		// body and may never send it. Waiting would hold the reader (and
		// the body's lock, and so the end of the exchange) until the body
		// timeout.
		return errContinueMoot
	}
	b.cont = continueSent
	c := b.c
	c.armWrite()
	if _, err := c.rwc.Write(continueLine); err != nil {
		c.cancel()
		return err
	}
	return nil
}

// answering notes that the answer's first bytes are about to go out: a
// 100 Continue not sent by then is moot (net/http's rule too). It waits
// for one being sent. It says whether the client was told to send its
// body.
func (b *body) answering() bool {
	if !b.expect {
		return true
	}
	b.contMu.Lock()
	defer b.contMu.Unlock()
	if b.cont == continuePending {
		b.cont = continueMoot
	}
	return b.cont == continueSent
}

// finish ends the body once the handler returned: it reads what is left,
// up to maxDrainBytes, and says whether the connection can go on.
func (b *body) finish(c *conn) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	if b.finished {
		return b.kept
	}
	b.finished = true
	if b.left != 0 && b.err == nil {
		if !b.answering() {
			// The client waits for 100 Continue, or sends the body after a
			// while regardless (RFC 9110 10.1.1): which, the server cannot
			// know, so the connection closes, as net/http's does.
			b.kept = false
			return false
		}
		c.setDeadline(time.Now(), c.srv.headerTimeout(), 0)
		io.Copy(io.Discard, &io.LimitedReader{R: readFunc(b.read), N: maxDrainBytes})
	}
	b.kept = b.left == 0 && b.err == nil
	return b.kept
}

// leftOver says, as the answer's header is queued, that the connection
// will close for the body the handler leaves, so that the answer says
// Connection: close as net/http's does, and the client sends its next
// request on another connection. Once the handler returned (done), the
// body is drained first, as net/http does; before, the handler may still
// read it: a body past maxDrainBytes, or a chunked one of unknown size,
// counts as left over unless a read is under way.
func (b *body) leftOver(c *conn, done bool) bool {
	if done {
		return !b.finish(c)
	}
	asked := b.answering()
	if !b.mu.TryLock() {
		// The handler is reading it: a body never asked for may or may
		// not follow (the read gives up, sendContinue), so the
		// connection closes; one asked for will be read to its end.
		return !asked
	}
	defer b.mu.Unlock()
	// A body never asked for may or may not follow: not drained.
	return b.err == nil && (b.left < 0 || b.left > maxDrainBytes || !asked && b.left != 0)
}

type readFunc func([]byte) (int, error)

func (f readFunc) Read(p []byte) (int, error) { return f(p) }
