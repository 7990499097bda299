package accesslog

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"openfront.dev/daemon/http1"
)

// captureServer serves content through a Capture and hands back each
// request's record.
func captureServer(t *testing.T, tls bool, serve http.HandlerFunc) (*httptest.Server, chan Record) {
	recs := make(chan Record, 4)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		c := NewCapture(w, r, start)
		serve(c, r)
		rec := c.Record(time.Now())
		rec.SetResult(w.Header().Get("X-Cache"), c.Aborted(), "")
		recs <- rec
	})
	srv := httptest.NewUnstartedServer(h)
	if tls {
		srv.EnableHTTP2 = true
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return srv, recs
}

var content = bytes.Repeat([]byte("0123456789"), 100)

func serveContent(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Cache", "Hit from openfront")
	w.Header().Set("Content-Type", "text/plain")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(content))
}

func TestCaptureHTTP1Range(t *testing.T) {
	srv, recs := captureServer(t, false, serveContent)
	req, _ := http.NewRequest("GET", srv.URL+"/dir%20x/file.txt?a=1&b=%20", nil)
	req.Header.Set("Range", "bytes=10-19")
	req.Header.Set("Cookie", "s=1; t=2")
	req.Header.Set("Referer", "https://ref.example/")
	req.Header.Set("User-Agent", "test agent")
	req.Header.Set("X-Forwarded-For", "203.0.113.5")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	r := <-recs
	if r.Status != 206 || r.RangeStart != 10 || r.RangeEnd != 19 || r.ContentLength != 10 || string(body) != "0123456789" {
		t.Errorf("status %d range %d-%d len %d body %q", r.Status, r.RangeStart, r.RangeEnd, r.ContentLength, body)
	}
	if r.Path != "/dir%20x/file.txt" || r.Query != "a=1&b=%20" {
		t.Errorf("path %q query %q, want them as sent", r.Path, r.Query)
	}
	if r.Protocol != "http" || r.ProtocolVersion != "HTTP/1.1" || r.TLSProtocol != "" || r.TLSCipher != "" {
		t.Errorf("protocol %q %q tls %q %q", r.Protocol, r.ProtocolVersion, r.TLSProtocol, r.TLSCipher)
	}
	if r.ClientIP.String() != "127.0.0.1" || r.ClientPort <= 0 {
		t.Errorf("client %v:%d", r.ClientIP, r.ClientPort)
	}
	if r.Cookie != "s=1; t=2" || r.Referer != "https://ref.example/" || r.UserAgent != "test agent" || r.ForwardedFor != "203.0.113.5" {
		t.Errorf("request headers: %+v", r)
	}
	if r.ContentType != "text/plain" || r.BytesOut < 10+100 || r.BytesOut > 10+400 {
		t.Errorf("content type %q, sc-bytes %d (want body 10 + headers)", r.ContentType, r.BytesOut)
	}
	if r.ResultType != Hit || r.TimeToFirstByte > r.TimeTaken || r.TimeTaken <= 0 {
		t.Errorf("result %s ttfb %v taken %v", r.ResultType, r.TimeToFirstByte, r.TimeTaken)
	}
	if r.BytesIn < 150 {
		t.Errorf("cs-bytes %d: the request's headers are not counted", r.BytesIn)
	}
}

func TestCaptureHTTP2TLS(t *testing.T) {
	srv, recs := captureServer(t, true, serveContent)
	resp, err := srv.Client().Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	r := <-recs
	if r.Protocol != "https" || r.ProtocolVersion != "HTTP/2.0" || r.TLSProtocol != "TLSv1.3" || !strings.HasPrefix(r.TLSCipher, "TLS_") {
		t.Errorf("protocol %q %q tls %q %q", r.Protocol, r.ProtocolVersion, r.TLSProtocol, r.TLSCipher)
	}
	if r.Status != 200 || r.ContentLength != int64(len(content)) || r.BytesOut < int64(len(content)) {
		t.Errorf("status %d len %d bytes %d", r.Status, r.ContentLength, r.BytesOut)
	}
}

// TestCaptureProtocol: cs-protocol is http, https, grpcs, ws or wss
// (standard-logs-reference); a gRPC call has grpcs over TLS, and no
// cleartext name of CloudFront's: http. An HTTP/3 viewer's WebSocket
// (RFC 9220: an extended CONNECT with :protocol websocket, which quic-go
// gives as r.Proto and the edge takes for a GET) has no Upgrade field,
// and is a WebSocket over TLS all the same: wss.
func TestCaptureProtocol(t *testing.T) {
	for _, c := range []struct {
		tls, grpc, websocket bool
		proto                string // an HTTP/3 request's r.Proto; "": HTTP/1.1
		want                 string
	}{
		{false, false, false, "", "http"},
		{true, false, false, "", "https"},
		{true, true, false, "", "grpcs"},
		{false, true, false, "", "http"},
		{false, false, true, "", "ws"},
		{true, false, true, "", "wss"},
		{true, false, false, "HTTP/3.0", "https"},
		{true, false, false, "websocket", "wss"},
	} {
		r := httptest.NewRequest("POST", "/svc/Call", nil)
		if c.tls {
			r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13}
		}
		if c.websocket {
			r.Header.Set("Upgrade", "websocket")
		}
		if c.proto != "" {
			r.Method, r.Proto, r.ProtoMajor, r.ProtoMinor = "GET", c.proto, 3, 0
		}
		cw := NewCapture(httptest.NewRecorder(), r, time.Now())
		if c.grpc {
			cw.GRPC()
		}
		if got := cw.Record(time.Now()).Protocol; got != c.want {
			t.Errorf("tls %v, grpc %v, websocket %v, proto %q: cs-protocol %q, want %q", c.tls, c.grpc, c.websocket, c.proto, got, c.want)
		}
	}
}

func TestCaptureHEAD(t *testing.T) {
	srv, recs := captureServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		w.Write(content) // discarded by the server for HEAD
	})
	resp, err := http.Head(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := <-recs; r.BytesOut > 300 || r.ContentLength != 1000 || r.Method != "HEAD" {
		t.Errorf("HEAD: sc-bytes %d (want headers only), sc-content-len %d", r.BytesOut, r.ContentLength)
	}
}

func TestCaptureRequestBody(t *testing.T) {
	srv, recs := captureServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusCreated)
	})
	resp, err := http.Post(srv.URL+"/up", "application/octet-stream", io.LimitReader(neverEnding('x'), 5000)) // chunked: no length
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	r := <-recs
	if r.Status != 201 || r.BytesIn < 5000 || r.Method != "POST" {
		t.Errorf("status %d cs-bytes %d method %s: the body read must count", r.Status, r.BytesIn, r.Method)
	}
	if r.ContentLength != -1 {
		t.Errorf("sc-content-len %d, want none", r.ContentLength)
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}

// TestCaptureViewerGone: the viewer hangs up mid-body; the final result
// is Error / ClientCommError though the response started as a Hit.
func TestCaptureViewerGone(t *testing.T) {
	srv, recs := captureServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Cache", "Hit from openfront")
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for range 2000 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	resp, err := http.Get(srv.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	io.CopyN(io.Discard, resp.Body, 100<<10)
	resp.Body.Close()
	select {
	case r := <-recs:
		if r.ResultType != Error || r.ResponseResultType != Hit || r.DetailedResultType != ClientCommError {
			t.Errorf("results %s/%s/%s, want Error/Hit/ClientCommError", r.ResultType, r.ResponseResultType, r.DetailedResultType)
		}
		if r.BytesOut >= 2000*64<<10 {
			t.Errorf("sc-bytes %d: counts bytes never sent", r.BytesOut)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the handler did not notice the viewer left")
	}
}

// TestCaptureHungUp: a request body that breaks off as it is read (the
// viewer hung up, or stopped within a read deadline) is the viewer's
// ClientHungUpRequest; a whole one is not, and neither is one that fails
// because the server closed it first (an origin transport done with it,
// a stalled body cut).
func TestCaptureHungUp(t *testing.T) {
	gone := errors.New("connection reset by peer")
	for _, c := range []struct {
		name   string
		body   io.Reader
		closed bool // closed before it is read
		hungUp bool
	}{
		{"whole body", strings.NewReader("abc"), false, false},
		{"broken off", io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(gone)), false, true},
		{"short of its length", io.MultiReader(strings.NewReader("ab"), iotest.ErrReader(io.ErrUnexpectedEOF)), false, true},
		{"closed here first", iotest.ErrReader(net.ErrClosed), true, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/up", io.NopCloser(c.body))
			cw := NewCapture(httptest.NewRecorder(), r, time.Now())
			if c.closed {
				r.Body.Close()
			}
			io.Copy(io.Discard, r.Body)
			if cw.HungUp() != c.hungUp {
				t.Errorf("HungUp() = %v, want %v", cw.HungUp(), c.hungUp)
			}
		})
	}
	// Over the wire: a viewer that announced 5000 bytes and left after 100.
	srv, recs := captureServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if !w.(*Capture).HungUp() {
			t.Error("a viewer that left mid-body: HungUp() = false")
		}
	})
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(conn, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n"+strings.Repeat("x", 100))
	conn.Close()
	select {
	case <-recs:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never ended")
	}
}

// TestCaptureReadFromFails: a body copied in through ReadFrom whose
// source fails (an origin's, broken off) is not a viewer gone; one whose
// writes fail is. Over a server's ReadFrom (net/http's) and without one.
func TestCaptureReadFromFails(t *testing.T) {
	broken := errors.New("origin body broke")
	for _, c := range []struct {
		name    string
		src     io.Reader
		w       http.ResponseWriter
		aborted bool
	}{
		{"source fails", io.MultiReader(strings.NewReader("part"), iotest.ErrReader(broken)), httptest.NewRecorder(), false},
		{"write fails", strings.NewReader("part"), failingWriter{httptest.NewRecorder()}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			cw := NewCapture(c.w, httptest.NewRequest("GET", "/", nil), time.Now())
			if _, err := io.Copy(cw, c.src); err == nil || cw.Aborted() != c.aborted {
				t.Errorf("copy error %v, aborted %v; want an error, aborted %v", err, cw.Aborted(), c.aborted)
			}
		})
	}
	srv, recs := captureServer(t, false, func(w http.ResponseWriter, r *http.Request) {
		if _, ok := w.(*Capture).ResponseWriter.(io.ReaderFrom); !ok {
			t.Error("net/http's writer has no ReadFrom")
		}
		io.Copy(w, io.MultiReader(strings.NewReader("part"), iotest.ErrReader(broken)))
	})
	if resp, err := http.Get(srv.URL); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if r := <-recs; r.ResultType != Miss || r.BytesOut < 4 {
		t.Errorf("result %s, sc-bytes %d; want Miss (the viewer did not leave), the 4 body bytes counted", r.ResultType, r.BytesOut)
	}
}

// failingWriter is a viewer gone: its writes fail.
type failingWriter struct{ http.ResponseWriter }

func (failingWriter) Write([]byte) (int, error) { return 0, net.ErrClosed }

func TestParseContentRange(t *testing.T) {
	cases := []struct {
		in         string
		start, end int64
	}{
		{"bytes 0-99/1000", 0, 99}, {"bytes 100-199/*", 100, 199}, {"bytes */1000", -1, -1}, {"", -1, -1}, {"items 1-2/3", -1, -1}, {"bytes 9-1/10", -1, -1},
	}
	for _, c := range cases {
		if s, e := parseContentRange(c.in); s != c.start || e != c.end {
			t.Errorf("parseContentRange(%q) = %d, %d; want %d, %d", c.in, s, e, c.start, c.end)
		}
	}
}

// TestParseRemoteAddr: c-ip and c-port of whatever a server puts in
// RemoteAddr; the IPv4 shortcut agrees with netip, and refuses what netip
// refuses.
func TestParseRemoteAddr(t *testing.T) {
	cases := []struct {
		in   string
		ip   string // "" for none
		port int
	}{
		{"192.0.2.100:51234", "192.0.2.100", 51234},
		{"0.0.0.0:0", "0.0.0.0", 0},
		{"255.255.255.255:65535", "255.255.255.255", 65535},
		{"10.1.2.3:080", "10.1.2.3", 80},
		{"[2001:db8::1]:443", "2001:db8::1", 443},
		{"[::ffff:192.0.2.7]:80", "192.0.2.7", 80}, // a dual-stack listener's IPv4 viewer
		{"[fe80::1%eth0]:8080", "fe80::1%eth0", 8080},
		{"192.0.2.1:65536", "192.0.2.1", 0}, // a bad port keeps the address
		{"192.0.2.1:", "192.0.2.1", 0},
		{"256.0.0.1:80", "", 0},
		{"01.2.3.4:80", "", 0},
		{"1.2.3:80", "", 0},
		{"1.2.3.4.5:80", "", 0},
		{"1234.1.1.1:80", "", 0},
		{"192.0.2.1", "", 0},
		{"@", "", 0},
		{"", "", 0},
	}
	for _, c := range cases {
		ip, port := parseRemoteAddr(c.in)
		got := ""
		if ip.IsValid() {
			got = ip.String()
		}
		if got != c.ip || port != c.port {
			t.Errorf("parseRemoteAddr(%q) = %q, %d; want %q, %d", c.in, got, port, c.ip, c.port)
		}
		if ap, err := netip.ParseAddrPort(c.in); err == nil && ap.Addr().Is4() {
			if a, p, ok := parseIPv4Port(c.in); !ok || a != ap.Addr() || p != int(ap.Port()) {
				t.Errorf("parseIPv4Port(%q) = %v, %d, %v; netip says %v", c.in, a, p, ok, ap)
			}
		}
	}
}

// TestRequestPath: cs-uri-stem is the target's path as the viewer sent it,
// however the request reached the server.
func TestRequestPath(t *testing.T) {
	cases := []struct{ target, want string }{
		{"/dir%20x/file.txt?a=1", "/dir%20x/file.txt"},
		{"/plain", "/plain"},
		{"/q?", "/q"},
		{"/caf%C3%A9?x=%3F", "/caf%C3%A9"},
		{"http://www.example.com/abs%2Fpath?x=1", "/abs%2Fpath"}, // absolute form
		{"*", "*"}, // OPTIONS *
	}
	for _, c := range cases {
		r, err := http.ReadRequest(bufio.NewReader(strings.NewReader("OPTIONS " + c.target + " HTTP/1.1\r\nHost: h\r\n\r\n")))
		if err != nil {
			t.Fatalf("%s: %v", c.target, err)
		}
		if got := requestPath(r); got != c.want {
			t.Errorf("requestPath(%q) = %q, want %q", c.target, got, c.want)
		}
	}
	// A request made in the program has no RequestURI.
	r := httptest.NewRequest("GET", "/made/here%2F?q", nil)
	r.RequestURI = ""
	if got := requestPath(r); got != "/made/here%2F" {
		t.Errorf("requestPath of a request without RequestURI = %q", got)
	}
}

// TestCaptureContentLengthAddedByServer: a small body written without a
// Content-Length (openfront's own error pages, a short chunked origin
// response) gets one from daemon/http1 once the handler returned, after
// the record was taken: sc-content-len is the value the viewer got
// ("the value of the HTTP Content-Length header of the response"), not -.
func TestCaptureContentLengthAddedByServer(t *testing.T) {
	cases := []struct {
		name   string
		method string
		serve  http.HandlerFunc
		header string // the Content-Length the viewer got, "" for none
	}{
		{"small body", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, "Forbidden\nThis content is served over HTTPS only.\n")
		}, "50"},
		{"two writes", "GET", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "abc")
			io.WriteString(w, "de")
		}, "5"},
		{"empty body", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusOK)
		}, "0"},
		{"nothing written", "GET", func(w http.ResponseWriter, r *http.Request) {}, "0"},
		{"HEAD with a body", "HEAD", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "abc")
		}, "3"},
		{"HEAD without", "HEAD", func(w http.ResponseWriter, r *http.Request) {}, ""},
		{"declared", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "3")
			io.WriteString(w, "abc")
		}, "3"},
		{"204", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}, ""},
		{"304", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotModified)
		}, ""},
		{"flushed: chunked", "GET", func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "abc")
			w.(http.Flusher).Flush()
		}, ""},
		{"large: chunked", "GET", func(w http.ResponseWriter, r *http.Request) {
			w.Write(bytes.Repeat([]byte("x"), 5000))
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recs := make(chan Record, 1)
			srv := &http1.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				capt := NewCapture(w, r, time.Now())
				c.serve(capt, r)
				recs <- capt.Record(time.Now())
			})}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
			req, _ := http.NewRequest(c.method, "http://"+ln.Addr().String()+"/x", nil)
			resp, err := http.DefaultTransport.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			got := resp.Header.Get("Content-Length")
			if got != c.header {
				t.Fatalf("the server sent Content-Length %q, the case expects %q", got, c.header)
			}
			want := int64(-1)
			if got != "" {
				want, _ = strconv.ParseInt(got, 10, 64)
			}
			if r := <-recs; r.ContentLength != want {
				t.Errorf("sc-content-len %d, the viewer got Content-Length %q", r.ContentLength, got)
			}
		})
	}
}

// A response that declares no Content-Type gets one sniffed by the server
// (daemon/http1, net/http's HTTP/1 and HTTP/2): sc-content-type is the
// value the viewer got ("the value of the HTTP Content-Type header of
// the response"), not -.
func TestCaptureSniffedContentType(t *testing.T) {
	html := "<!DOCTYPE html><html><body>" + strings.Repeat("x", 600) + "</body></html>"
	cases := []struct {
		name  string
		serve http.HandlerFunc
	}{
		{"html in one write", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, html) }},
		{"html in small writes", func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i < len(html); i += 7 {
				io.WriteString(w, html[i:min(i+7, len(html))])
			}
		}},
		{"status then text", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
			io.WriteString(w, "not here\n")
		}},
		{"binary", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte{0, 1, 2, 3, 0xff}) }},
		{"copied from a reader", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(w, struct{ io.Reader }{strings.NewReader(html)})
		}},
		{"copied, short", func(w http.ResponseWriter, r *http.Request) {
			io.Copy(w, struct{ io.Reader }{strings.NewReader("%PDF-1.4 a")})
		}},
		{"declared", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "video/mp4")
			io.WriteString(w, html)
		}},
		{"encoded: not sniffed", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Encoding", "gzip")
			io.WriteString(w, html)
		}},
		{"type suppressed", func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil
			io.WriteString(w, html)
		}},
		{"no body", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }},
		{"204", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) }},
	}
	servers := []struct {
		name  string
		start func(t *testing.T, h http.Handler) (url string, client *http.Client)
	}{
		{"http1", func(t *testing.T, h http.Handler) (string, *http.Client) {
			srv := &http1.Server{Handler: h}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(ln)
			t.Cleanup(func() { srv.Close() })
			return "http://" + ln.Addr().String(), &http.Client{}
		}},
		{"net/http h2", func(t *testing.T, h http.Handler) (string, *http.Client) {
			srv := httptest.NewUnstartedServer(h)
			srv.EnableHTTP2 = true
			srv.StartTLS()
			t.Cleanup(srv.Close)
			return srv.URL, srv.Client()
		}},
	}
	for _, s := range servers {
		for _, c := range cases {
			t.Run(s.name+"/"+c.name, func(t *testing.T) {
				recs := make(chan Record, 1)
				url, client := s.start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					capt := NewCapture(w, r, time.Now())
					c.serve(capt, r)
					recs <- capt.Record(time.Now())
				}))
				req, _ := http.NewRequest("GET", url+"/x", nil)
				req.Header.Set("Accept-Encoding", "identity")
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				got := resp.Header.Get("Content-Type")
				if r := <-recs; r.ContentType != got {
					t.Errorf("sc-content-type %q, the viewer got Content-Type %q", r.ContentType, got)
				}
			})
		}
	}
}
