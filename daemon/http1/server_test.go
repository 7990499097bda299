package http1

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testHandler answers by path, so that one handler covers every framing:
//
//	/echo           the request as the handler saw it, body included
//	/declared/N     N bytes with a Content-Length
//	/undeclared/N   N bytes without one (buffered or chunked)
//	/flushed        two parts with a Flush between
//	/status/N       an empty answer with status N
//	/short          declares 10 bytes, writes 5
//	/file           a file as a LimitedReader (ReadFrom copies it)
//	/section/N      the file from byte N, a SectionReader (ReadFrom sendfiles it)
//	/panic          panics
//	/ignore-body    answers without reading the body
//	/early          103 Early Hints with a Link, then "ok"
func testHandler(file string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.Path, "/"), "/")
		n := 0
		if len(parts) > 1 {
			n, _ = strconv.Atoi(parts[1])
		}
		switch parts[0] {
		case "echo":
			b, err := io.ReadAll(r.Body)
			var keys []string
			for k := range r.Header {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "%s %s %q %s %d.%d host=%s len=%d te=%v close=%v\n", r.Method, r.URL.Path, r.URL.RawQuery, r.RequestURI, r.ProtoMajor, r.ProtoMinor, r.Host, r.ContentLength, r.TransferEncoding, r.Close)
			for _, k := range keys {
				fmt.Fprintf(w, "%s=%q\n", k, r.Header[k])
			}
			fmt.Fprintf(w, "body=%q err=%v\n", b, err)
		case "declared":
			w.Header().Set("Content-Length", strconv.Itoa(n))
			w.Write([]byte(strings.Repeat("d", n)))
		case "undeclared":
			w.Write([]byte(strings.Repeat("u", n)))
		case "flushed":
			io.WriteString(w, "first ")
			w.(http.Flusher).Flush()
			io.WriteString(w, "second")
		case "status":
			w.WriteHeader(n)
		case "short":
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "short")
		case "file", "section":
			f, err := os.Open(file)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			defer f.Close()
			st, _ := f.Stat()
			size := st.Size() - int64(n)
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
			w.Header().Set("Content-Type", "application/octet-stream")
			if parts[0] == "file" {
				io.Copy(w, &io.LimitedReader{R: f, N: size})
			} else {
				io.Copy(w, io.NewSectionReader(f, int64(n), size))
			}
		case "slow": // a miss to a slow origin: the connection's watcher runs meanwhile
			time.Sleep(1200 * time.Millisecond)
			w.Header().Set("Content-Length", strconv.Itoa(n))
			w.Write([]byte(strings.Repeat("s", n)))
		case "panic":
			panic("boom")
		case "ignore-body":
			io.WriteString(w, "ignored")
		case "early":
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			io.WriteString(w, "ok")
		default:
			http.NotFound(w, r)
		}
	})
}

// start serves h on a loopback port with the server's defaults but
// short timeouts.
func start(t *testing.T, h http.Handler) (*Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Handler: h, HeaderTimeout: 500 * time.Millisecond, IdleTimeout: time.Second, MaxHeaderBytes: 8 << 10}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		if err := <-done; err != http.ErrServerClosed {
			t.Errorf("Serve returned %v, want ErrServerClosed", err)
		}
	})
	return s, ln.Addr().String()
}

// exchange writes raw on a new connection and reads n answers, fewer if
// the server closes first, then whether it closes (or stays silent for
// 200 ms).
func exchange(t *testing.T, addr, raw string, n int) (answers []*answer, closed bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go io.WriteString(c, raw)
	br := bufio.NewReader(c)
	method, _, _ := strings.Cut(raw, " ") // the first request's; GET after it
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	for len(answers) < n {
		a, err := readAnswer(br, method)
		method = "GET"
		if err != nil {
			return answers, true
		}
		answers = append(answers, a)
	}
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	_, err = br.ReadByte()
	ne, ok := err.(net.Error)
	return answers, !ok || !ne.Timeout()
}

type answer struct {
	status int
	header http.Header
	te     []string
	close  bool // Connection: close (ReadResponse takes it out of the header)
	body   string
}

// readAnswer reads the final answer to a request of method, skipping
// 100 Continue.
func readAnswer(br *bufio.Reader, method string) (*answer, error) {
	for {
		resp, err := http.ReadResponse(br, &http.Request{Method: method})
		if err != nil {
			return nil, err
		}
		if resp.StatusCode == http.StatusContinue {
			continue
		}
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		return &answer{resp.StatusCode, resp.Header, resp.TransferEncoding, resp.Close, string(b)}, nil
	}
}

// TestRequests: what a client sends and what it gets back, request by
// request, on one connection each.
func TestRequests(t *testing.T) {
	_, addr := start(t, testHandler(""))
	get := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: example.com\r\n\r\n" }
	big := strings.Repeat("b", maxDrainBytes+1)
	tests := []struct {
		name     string
		raw      string
		statuses []int
		closed   bool   // the server closed the connection after them
		contains string // in the first answer's body
		header   string // "Name: value" in the first answer
	}{
		{"keep-alive, two requests", get("/echo") + get("/declared/3"), []int{200, 200}, false, "GET /echo", ""},
		{"pipelined three", get("/declared/1") + get("/undeclared/1") + get("/status/204"), []int{200, 200, 204}, false, "d", ""},
		{"path, query and host as net/http gives them", "GET /echo/a%20b?x=1&y HTTP/1.1\r\nHost: Example.com:8080\r\n\r\n", []int{200}, false, `GET /echo/a b "x=1&y" /echo/a%20b?x=1&y 1.1 host=Example.com:8080`, ""},
		{"header fields canonical, repeated ones kept", "GET /echo HTTP/1.1\r\nHost: h\r\nx-one: 1\r\nX-Two:  a \r\nx-two: b\r\n\r\n", []int{200}, false, `X-Two=["a" "b"]`, ""},
		{"declared length", get("/declared/10"), []int{200}, false, "dddddddddd", "Content-Length: 10"},
		{"small undeclared body gets a length", get("/undeclared/100"), []int{200}, false, "uuu", "Content-Length: 100"},
		{"large undeclared body is chunked", get("/undeclared/10000"), []int{200}, false, "uuu", ""},
		{"sniffed type", get("/undeclared/10"), []int{200}, false, "", "Content-Type: text/plain; charset=utf-8"},
		{"flush streams chunks", get("/flushed"), []int{200}, false, "first second", ""},
		{"a Content-Length body", "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" + get("/declared/1"), []int{200, 200}, false, `body="hello"`, ""},
		{"a chunked body with a trailer", "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n" + get("/declared/1"), []int{200, 200}, false, `len=-1 te=[chunked]`, ""},
		{"an unread body is drained", "POST /ignore-body HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" + get("/declared/2"), []int{200, 200}, false, "ignored", ""},
		{"Expect: 100-continue", "POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok", []int{200}, false, `body="ok"`, ""},
		{"an unknown Expect", "POST /echo HTTP/1.1\r\nHost: h\r\nExpect: magic\r\nContent-Length: 2\r\n\r\nok", []int{417}, true, "", ""},
		{"HEAD keeps the length, sends no body", "HEAD /declared/7 HTTP/1.1\r\nHost: h\r\n\r\n" + get("/declared/1"), []int{200, 200}, false, "", "Content-Length: 7"},
		{"HEAD of an undeclared body", "HEAD /undeclared/7 HTTP/1.1\r\nHost: h\r\n\r\n" + get("/declared/1"), []int{200, 200}, false, "", "Content-Length: 7"},
		{"304 has no framing fields", get("/status/304") + get("/declared/1"), []int{304, 200}, false, "", ""},
		{"Connection: close from the client", "GET /declared/1 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n" + get("/declared/1"), []int{200}, true, "", "Connection: close"},
		{"HTTP/1.0 closes by default", "GET /declared/1 HTTP/1.0\r\n\r\n" + get("/declared/1"), []int{200}, true, "", ""},
		{"HTTP/1.0 keep-alive", "GET /declared/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" + get("/declared/1"), []int{200, 200}, false, "", "Connection: keep-alive"},
		{"HTTP/1.0 undeclared body ends with the connection", "GET /undeclared/5000 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", []int{200}, true, "uuu", ""},
		{"a short body closes the connection", get("/short") + get("/declared/1"), nil, true, "", ""},
		{"a panic closes the connection", get("/panic") + get("/declared/1"), nil, true, "", ""},
		{"empty lines before a request", "\r\n\r\n" + get("/declared/1"), []int{200}, false, "", ""},
		{"absolute-form target", "GET http://other.example/echo?q HTTP/1.1\r\nHost: h\r\n\r\n", []int{200}, false, "host=other.example", ""},
		{"absolute-form target with a malformed host", "GET a://\"/echo HTTP/1.1\r\nHost: h\r\n\r\n", []int{400}, true, "malformed host", ""},
		{"absolute-form target without a host", "GET http:/echo HTTP/1.1\r\nHost: h\r\n\r\n" + get("/declared/1"), []int{400}, true, "request target", ""},
		{"absolute-form target with an empty host", "GET http:///echo HTTP/1.1\r\nHost: h\r\n\r\n" + get("/declared/1"), []int{400}, true, "request target", ""},
		{"a scheme and no authority", "GET mailto:a@b HTTP/1.1\r\nHost: h\r\n\r\n" + get("/declared/1"), []int{400}, true, "request target", ""},
		{"authority-form target but for CONNECT", "GET other.example:80 HTTP/1.1\r\nHost: h\r\n\r\n" + get("/declared/1"), []int{400}, true, "request target", ""},
		{"absolute-form target with userinfo", "GET http://h@other.example/echo HTTP/1.1\r\nHost: h\r\n\r\n" + get("/declared/1"), []int{400}, true, "request target", ""},
		{"OPTIONS * is the server's", "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n" + get("/declared/1"), []int{200, 200}, false, "", "Content-Length: 0"},
		{"OPTIONS * with a body", "OPTIONS * HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc" + get("/declared/1"), []int{200, 200}, false, "", "Content-Length: 0"},
		{"asterisk-form but for OPTIONS", "GET * HTTP/1.1\r\nHost: h\r\n\r\n" + get("/declared/1"), []int{400}, true, "asterisk", ""},
		{"HTTP/1.0 ignores 100-continue", "POST /echo HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok", []int{200}, true, `body="ok"`, ""},
		{"an unknown Expect in HTTP/1.0", "POST /echo HTTP/1.0\r\nExpect: magic\r\nContent-Length: 2\r\n\r\nok", []int{417}, true, "", ""},
		{"an unknown Expect beside 100-continue", "POST /echo HTTP/1.1\r\nHost: h\r\nExpect: 100-continue, magic\r\nContent-Length: 2\r\n\r\nok", []int{417}, true, "", ""},
		{"an unread body past the drain limit", "POST /ignore-body HTTP/1.1\r\nHost: h\r\nContent-Length: " + strconv.Itoa(len(big)) + "\r\n\r\n" + big + get("/declared/1"), []int{200}, true, "ignored", "Connection: close"},
		{"an unread chunked body past the drain limit", "POST /ignore-body HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(big)), 16) + "\r\n" + big + "\r\n0\r\n\r\n" + get("/declared/1"), []int{200}, true, "ignored", "Connection: close"},
		{"an unread chunked body under the drain limit", "POST /ignore-body HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n" + get("/declared/1"), []int{200, 200}, false, "ignored", ""},
		{"an unread body past the limit, answer flushed first", "POST /flushed HTTP/1.1\r\nHost: h\r\nContent-Length: " + strconv.Itoa(len(big)) + "\r\n\r\n" + big + get("/declared/1"), []int{200}, true, "first second", "Connection: close"},
		{"a chunk size with trailing whitespace, as net/http, nginx, Apache, HAProxy", "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5 \t\r\nhello\r\n0\r\n\r\n" + get("/declared/1"), []int{200, 200}, false, `body="hello" err=<nil>`, ""},
		{"whitespace after a chunk extension", "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b \r\nhello\r\n0\r\n\r\n" + get("/declared/1"), []int{200, 200}, false, `body="hello" err=<nil>`, ""},
		{"whitespace before a chunk extension", "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5 ;a=b\r\nhello\r\n0\r\n\r\n" + get("/smuggled"), []int{200}, true, "invalid byte in chunk length", "Connection: close"},
		{"whitespace inside a chunk size", "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0 5\r\nhello\r\n0\r\n\r\n" + get("/smuggled"), []int{200}, true, "invalid byte in chunk length", "Connection: close"},
		{"whitespace before a chunk size", "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n" + get("/smuggled"), []int{200}, true, "invalid byte in chunk length", "Connection: close"},
		{"a chunk line ended by a bare LF", "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;a\nhello\r\n0\r\n\r\n" + get("/smuggled"), []int{200}, true, "bare LF", "Connection: close"},

		{"no Host", "GET /echo HTTP/1.1\r\n\r\n", []int{400}, true, "missing Host", ""},
		{"two Hosts", "GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", []int{400}, true, "more than one Host", ""},
		{"a bad Host", "GET /echo HTTP/1.1\r\nHost: a b\r\n\r\n", []int{400}, true, "malformed Host", ""},
		{"a folded line", "GET /echo HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n", []int{400}, true, "folded", ""},
		{"a line without a colon", "GET /echo HTTP/1.1\r\nHost: h\r\nnocolon\r\n\r\n", []int{400}, true, "colon", ""},
		{"a space before the colon", "GET /echo HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n", []int{400}, true, "invalid header name", ""},
		{"a control byte in a value", "GET /echo HTTP/1.1\r\nHost: h\r\nX-A: a\x01b\r\n\r\n", []int{400}, true, "invalid header value", ""},
		// A front proxy that ends a line at a bare CR would read a field
		// this server never sees, or the other way round.
		{"a bare CR in a value", "GET /echo HTTP/1.1\r\nHost: h\r\nX-A: a\rX-B: b\r\n\r\n" + get("/smuggled"), []int{400}, true, "invalid header value", ""},
		{"a bare CR in a Host", "GET /echo HTTP/1.1\r\nHost: h\rX-B: b\r\n\r\n" + get("/smuggled"), []int{400}, true, "invalid header value", ""},
		{"a NUL in the target", "GET /a\x00b HTTP/1.1\r\nHost: h\r\n\r\n" + get("/smuggled"), []int{400}, true, "request target", ""},
		// A GET's body is framed like any other: what follows it is
		// the next request, not part of this one's head.
		{"a GET with a body", "GET /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" + get("/declared/1"), []int{200, 200}, false, `body="hello"`, ""},
		{"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", []int{400}, true, "", ""},
		{"HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", []int{505}, true, "", ""},
		{"a bad version", "GET / HTTP/one\r\nHost: h\r\n\r\n", []int{400}, true, "version", ""},
		{"Content-Length and Transfer-Encoding", "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + get("/smuggled"), []int{400}, true, "both", ""},
		{"conflicting Content-Lengths", "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", []int{400}, true, "conflicting", ""},
		{"equal Content-Lengths", "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nab", []int{200}, false, `body="ab"`, ""},
		{"a signed Content-Length", "POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: +2\r\n\r\nab", []int{400}, true, "invalid Content-Length", ""},
		{"gzip, chunked", "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", []int{501}, true, "", ""},
		{"two Transfer-Encodings", "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []int{501}, true, "", ""},
		{"Transfer-Encoding in HTTP/1.0", "POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []int{400}, true, "HTTP/1.0", ""},
		{"HTTP/1.0: close wins over keep-alive", "GET /declared/1 HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n" + get("/declared/1"), []int{200}, true, "", "Connection: close"},
		{"a Transfer-Encoding that is chunked only to Unicode", "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chun\u212aed\r\n\r\n0\r\n\r\n" + get("/smuggled"), []int{501}, true, "", ""},
		{"a trailer ended by a bare LF", "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\n" + get("/smuggled"), []int{200}, true, "err=a trailer line without CRLF", ""},
		{"a trailer line that is no field", "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n" + get("/smuggled"), []int{200}, true, "err=a malformed trailer field", ""},
		{"103 Early Hints to HTTP/1.1", get("/early"), []int{103, 200}, false, "", "Link: </a.css>; rel=preload"},
		{"no 103 to HTTP/1.0", "GET /early HTTP/1.0\r\n\r\n", []int{200}, true, "ok", ""},
		{"a bad chunk size", "POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" + get("/declared/1"), []int{200}, true, "err=", ""},
		// CloudFront's 413 to a request or URL past its limits, then the
		// connection closed (RequestAndResponseBehaviorCustomOrigin).
		{"a long request line", "GET /" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: h\r\n\r\n", []int{413}, true, "", ""},
		{"a large header", "GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + strings.Repeat("a", 9000) + "\r\n\r\n", []int{413}, true, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			answers, closed := exchange(t, addr, tt.raw, len(tt.statuses))
			var statuses []int
			for _, a := range answers {
				statuses = append(statuses, a.status)
			}
			if fmt.Sprint(statuses) != fmt.Sprint(tt.statuses) || closed != tt.closed {
				t.Fatalf("answers %v, closed %v; want %v, closed %v", statuses, closed, tt.statuses, tt.closed)
			}
			if len(answers) == 0 {
				return
			}
			a := answers[0]
			if !strings.Contains(a.body, tt.contains) {
				t.Errorf("body %q does not contain %q", a.body, tt.contains)
			}
			if tt.header != "" {
				name, value, _ := strings.Cut(tt.header, ": ")
				got := a.header.Get(name)
				if name == "Connection" && a.close {
					got = "close"
				}
				if got != value {
					t.Errorf("%s: %q, want %q (header %v)", name, got, value, a.header)
				}
			}
		})
	}
}

// TestAnswerVersion: HTTP/1.2 to 1.9 are answered in 1.1, the version
// whose framing (chunks, keep-alive) the answer uses.
func TestAnswerVersion(t *testing.T) {
	_, addr := start(t, testHandler(""))
	for _, tt := range []struct{ version, want string }{
		{"HTTP/1.0", "HTTP/1.0 200 OK"},
		{"HTTP/1.1", "HTTP/1.1 200 OK"},
		{"HTTP/1.2", "HTTP/1.1 200 OK"},
		{"HTTP/1.9", "HTTP/1.1 200 OK"},
	} {
		t.Run(tt.version, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "GET /undeclared/10000 "+tt.version+"\r\nHost: h\r\nConnection: close\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			br := bufio.NewReader(c)
			line, err := br.ReadString('\n')
			if err != nil || line != tt.want+"\r\n" {
				t.Fatalf("status line %q, %v; want %q", line, err, tt.want)
			}
		})
	}
}

// TestHeaderPerAnswer: a connection reuses its response header map, and
// nothing one answer set shows in the next.
func TestHeaderPerAnswer(t *testing.T) {
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/first" {
			w.Header().Set("X-First", "1")
			w.Header().Set("Cache-Control", "max-age=60")
		}
		w.Header().Set("X-Path", r.URL.Path)
		io.WriteString(w, "ok")
	}))
	req := func(path string) string { return "GET " + path + " HTTP/1.1\r\nHost: h\r\n\r\n" }
	answers, _ := exchange(t, addr, req("/first")+req("/second")+req("/third"), 3)
	if len(answers) != 3 {
		t.Fatalf("%d answers, want 3", len(answers))
	}
	for i, a := range answers {
		want := []string{"/first", "/second", "/third"}[i]
		if got := a.header.Get("X-Path"); got != want {
			t.Errorf("answer %d: X-Path %q, want %q", i, got, want)
		}
		if first := a.header.Get("X-First") != "" || a.header.Get("Cache-Control") != ""; first != (i == 0) {
			t.Errorf("answer %d (%s): header %v", i, want, a.header)
		}
	}
}

// TestFramingAsNetHTTP: for requests both servers accept, the same
// handler gives the same status, body and framing through this server
// and through net/http.
func TestFramingAsNetHTTP(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	var content strings.Builder
	for i := range 40000 {
		fmt.Fprintf(&content, "%d ", i) // no two ranges alike
	}
	if err := os.WriteFile(file, []byte(content.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	h := testHandler(file)
	_, addr := start(t, h)
	ref := httptest.NewServer(h)
	t.Cleanup(ref.Close)
	refAddr := strings.TrimPrefix(ref.URL, "http://")
	for _, raw := range []string{
		"GET /declared/0 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /declared/5000 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /undeclared/0 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /undeclared/2048 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /undeclared/2049 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /undeclared/100000 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /flushed HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /status/204 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /status/304 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /status/404 HTTP/1.1\r\nHost: h\r\n\r\n",
		"HEAD /declared/5 HTTP/1.1\r\nHost: h\r\n\r\n",
		"HEAD /undeclared/5 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /file HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /section/0 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /section/12345 HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /nope HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /undeclared/10 HTTP/1.0\r\n\r\n",
		"POST /echo HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
		"POST /echo HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
		"GET /echo?a=%20&b HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nCookie: b=2\r\nUser-Agent: x\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
		"POST /ignore-body HTTP/1.1\r\nHost: h\r\nContent-Length: 300000\r\n\r\n" + strings.Repeat("b", 300000),
	} {
		t.Run(raw[:strings.Index(raw, " HTTP")], func(t *testing.T) {
			t.Parallel()
			sameAnswer(t, raw, addr, refAddr)
		})
	}
}

func sameAnswer(t *testing.T, raw, addr, refAddr string) {
	got, _ := exchange(t, addr, raw, 1)
	want, _ := exchange(t, refAddr, raw, 1)
	if len(got) != 1 || len(want) != 1 {
		t.Fatalf("%d and %d answers", len(got), len(want))
	}
	g, w := got[0], want[0]
	if g.status != w.status || g.body != w.body || fmt.Sprint(g.te) != fmt.Sprint(w.te) || g.close != w.close {
		t.Errorf("\n got %d %v close=%v %q\nwant %d %v close=%v %q", g.status, g.te, g.close, g.body, w.status, w.te, w.close, w.body)
	}
	for _, name := range []string{"Content-Length", "Content-Type"} {
		if g.header.Get(name) != w.header.Get(name) {
			t.Errorf("%s %q, net/http %q", name, g.header.Get(name), w.header.Get(name))
		}
	}
}

// TestTimeouts: a slow head is cut, an idle connection closed.
func TestTimeouts(t *testing.T) {
	_, addr := start(t, testHandler(""))
	for _, tt := range []struct{ name, raw string }{
		{"a head that never ends", "GET / HTTP/1.1\r\nHost: h\r\nX-Slow: "},
		{"nothing sent", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, tt.raw)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if n, err := c.Read(make([]byte, 1)); err != io.EOF {
				t.Fatalf("read %d, %v; want the server to close (header timeout 500 ms)", n, err)
			}
		})
	}
	t.Run("idle keep-alive", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /declared/1 HTTP/1.1\r\nHost: h\r\n\r\n")
		br := bufio.NewReader(c)
		if a, err := readAnswer(br, "GET"); err != nil || a.status != 200 {
			t.Fatalf("answer %v, %v", a, err)
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("%v; want the server to close an idle connection (idle timeout 1 s)", err)
		}
	})
}

// TestShutdown: in-flight requests finish and get Connection: close,
// idle connections are closed, new ones refused.
func TestShutdown(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	s, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			close(entered)
			<-release
		}
		io.WriteString(w, "done")
	}))
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	busy, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	io.WriteString(busy, "GET /slow HTTP/1.1\r\nHost: h\r\n\r\n")
	<-entered
	var wg sync.WaitGroup
	var shutdownErr error
	wg.Go(func() { shutdownErr = s.Shutdown(context.Background()) })
	idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection: %v, want closed", err)
	}
	close(release)
	busy.SetReadDeadline(time.Now().Add(5 * time.Second))
	a, err := readAnswer(bufio.NewReader(busy), "GET")
	if err != nil || a.body != "done" || !a.close {
		t.Fatalf("in-flight request: %+v, %v; want done with Connection: close", a, err)
	}
	wg.Wait()
	if shutdownErr != nil {
		t.Fatalf("Shutdown: %v", shutdownErr)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Fatal("a new connection was accepted after Shutdown")
	}
}

// TestWireBytes: what the writer says its request head and answer header
// took is what crossed the connection (the access log's cs-bytes and
// sc-bytes), and its viewer address is the client's (c-ip, c-port).
func TestWireBytes(t *testing.T) {
	type sizes struct {
		req, resp int64
		sent      bool
		remote    netip.AddrPort
	}
	got := make(chan sizes, 1)
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "5")
		w.Header().Set("X-Long", strings.Repeat("x", 6000)) // past the write buffer
		io.WriteString(w, "hello")
		ws := w.(interface {
			WireBytes() (int64, int64, bool)
			RemoteAddrPort() netip.AddrPort
		})
		var s sizes
		s.req, s.resp, s.sent = ws.WireBytes()
		s.remote = ws.RemoteAddrPort()
		got <- s
	}))
	head := "GET /x HTTP/1.1\r\nHost: h\r\nUser-Agent:  spaced \r\n\r\n"
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, head)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	raw, err := io.ReadAll(io.LimitReader(c, 1<<20))
	if err != nil && !strings.Contains(string(raw), "hello") {
		t.Fatal(err)
	}
	s := <-got
	header, _, _ := strings.Cut(string(raw), "\r\n\r\n")
	if !s.sent || s.req != int64(len(head)) || s.resp != int64(len(header)+4) {
		t.Fatalf("WireBytes %+v; on the wire: request head %d, answer header %d", s, len(head), len(header)+4)
	}
	if want := c.LocalAddr().(*net.TCPAddr).AddrPort(); s.remote != want {
		t.Errorf("RemoteAddrPort %v, want the client's %v", s.remote, want)
	}
}

// TestHijack: a handler that takes the connection gets the bytes the
// server read ahead of it (a client that sends its first frames with the
// handshake), writes its own answer, and keeps the connection after it
// returns: the server neither answers for it nor closes it.
func TestHijack(t *testing.T) {
	taken := make(chan net.Conn, 1)
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conn, brw, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		if _, _, err := http.NewResponseController(w).Hijack(); err != http.ErrHijacked {
			t.Errorf("second hijack: %v, want ErrHijacked", err)
		}
		ahead := make([]byte, len("early"))
		if _, err := io.ReadFull(brw, ahead); err != nil || string(ahead) != "early" {
			t.Errorf("read ahead %q, %v; want early", ahead, err)
		}
		fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n")
		brw.Flush()
		taken <- conn
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET /up HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\nearly")
	conn := <-taken
	defer conn.Close()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("answer %v, %v; want the handler's 101", resp, err)
	}
	// The handler returned: the connection is still open, both ways, and
	// carries only what the handler writes.
	io.WriteString(c, "ping")
	got := make([]byte, 4)
	if _, err := io.ReadFull(conn, got); err != nil || string(got) != "ping" {
		t.Fatalf("handler's side read %q, %v; want ping", got, err)
	}
	io.WriteString(conn, "pong")
	if _, err := io.ReadFull(br, got); err != nil || string(got) != "pong" {
		t.Fatalf("client read %q, %v; want pong alone", got, err)
	}
}

// TestNoContinueToHTTP10: RFC 9110 10.1.1, a 100-continue expectation in
// an HTTP/1.0 request is ignored: no 100 goes out, the request is served.
func TestNoContinueToHTTP10(t *testing.T) {
	_, addr := start(t, testHandler(""))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /echo HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(got), "HTTP/1.0 200 OK\r\n") || !strings.Contains(string(got), `body="ok"`) {
		t.Errorf("answer %q, want a 200 with the body and no 100 before it", got)
	}
}

// TestAnswerBeforeLeftOverBody: an answer after which the server closes
// for the body the handler left reaches a client that is still sending
// it and reads late: the server does not reset the connection under it.
func TestAnswerBeforeLeftOverBody(t *testing.T) {
	_, addr := start(t, testHandler(""))
	for _, te := range []string{"Content-Length", "chunked"} {
		t.Run(te, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			const size, answer = 8 << 20, 4 << 20
			go func() {
				// A large answer: what the server's socket still holds when
				// it closes is lost if the close resets the connection.
				head := "POST /declared/" + strconv.Itoa(answer) + " HTTP/1.1\r\nHost: h\r\nContent-Length: " + strconv.Itoa(size) + "\r\n\r\n"
				if te == "chunked" {
					head = "POST /declared/" + strconv.Itoa(answer) + " HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(size, 16) + "\r\n"
				}
				io.WriteString(c, head)
				c.Write(make([]byte, size)) // fails once the server stops reading
			}()
			time.Sleep(300 * time.Millisecond) // the server has answered and closed
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			a, err := readAnswer(bufio.NewReader(c), "POST")
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			if a.status != 200 || !a.close || len(a.body) != answer {
				t.Errorf("status %d, close %v, %d bytes; want 200, Connection: close, %d bytes", a.status, a.close, len(a.body), answer)
			}
		})
	}
}

// TestIdleTimeoutAfterLaterRequest: a keep-alive connection is idle for
// its whole timeout after its last answer, not after an earlier one's: a
// request half a second into a 1 s idle wait gets a new second.
func TestIdleTimeoutAfterLaterRequest(t *testing.T) {
	_, addr := start(t, testHandler("")) // IdleTimeout 1 s
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var answered time.Time
	for i := range 2 {
		if i > 0 {
			time.Sleep(500 * time.Millisecond)
		}
		io.WriteString(c, "GET /declared/1 HTTP/1.1\r\nHost: h\r\n\r\n")
		if _, err := readAnswer(br, "GET"); err != nil {
			t.Fatalf("answer %d: %v", i+1, err)
		}
		answered = time.Now()
	}
	// The server closes the idle connection: not before most of the
	// second (a late test only makes the wait look longer).
	if _, err := br.ReadByte(); err == nil {
		t.Fatal("a byte after the answers")
	}
	if idle := time.Since(answered); idle < 700*time.Millisecond {
		t.Fatalf("closed %v after the last answer; want the idle timeout, 1 s", idle.Round(time.Millisecond))
	}
}

// TestContinueWhenRead: with Expect: 100-continue, 100 Continue goes out
// when the handler first reads the body, as net/http's and nginx's do,
// not as soon as the head is read: a request the handler answers without
// reading (a WAF block, a signed URL denied, a body too large) gets its
// final status first, and a client that waits for 100 never sends the
// body. The server then closes (it cannot know whether the body follows);
// a body read after 100 keeps the connection.
func TestContinueWhenRead(t *testing.T) {
	release := make(chan struct{})
	h := testHandler("")
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/late" { // reads only once released
			<-release
			r.URL.Path = "/echo"
		}
		h.ServeHTTP(w, r)
	}))
	tests := []struct {
		name, path string
		want100    bool
		status     int
	}{
		{"read", "/echo", true, 200},
		{"read once the handler gets to it", "/late", true, 200},
		{"refused unread", "/status/403", false, 403},
		{"answered unread", "/ignore-body", false, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			io.WriteString(c, "POST "+tt.path+" HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
			br := bufio.NewReader(c)
			if tt.path == "/late" {
				c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				if b, err := br.Peek(1); err == nil {
					t.Fatalf("%q before the handler read the body", b)
				}
				close(release)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			resp, err := http.ReadResponse(br, &http.Request{Method: "POST"})
			if err != nil {
				t.Fatal(err)
			}
			if got := resp.StatusCode == http.StatusContinue; got != tt.want100 {
				t.Fatalf("first answer %d; want 100 %v", resp.StatusCode, tt.want100)
			}
			if tt.want100 {
				io.WriteString(c, "ok")
				a, err := readAnswer(br, "POST")
				if err != nil || a.status != tt.status || !strings.Contains(a.body, `body="ok"`) || a.close {
					t.Fatalf("after the body: %+v, %v; want %d with the body, kept", a, err, tt.status)
				}
				io.WriteString(c, "GET /declared/1 HTTP/1.1\r\nHost: h\r\n\r\n")
				if a, err := readAnswer(br, "GET"); err != nil || a.status != 200 {
					t.Fatalf("next request: %+v, %v", a, err)
				}
				return
			}
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != tt.status || !resp.Close {
				t.Errorf("answer %d close %v; want %d, Connection: close", resp.StatusCode, resp.Close, tt.status)
			}
			// The body never sent, the server closes rather than wait for it.
			if b, err := br.ReadByte(); err != io.EOF {
				t.Errorf("after the answer: %q, %v; want the connection closed", b, err)
			}
		})
	}
}

// TestReadAfterAnswerWithoutContinue: a handler that answers first and
// reads the body after (or in another goroutine, racing the answer) is
// told at once that no body is coming, since no 100 Continue asked for
// it, rather than waiting for the body timeout; the answer says
// Connection: close, and the client's next request is never read as
// that body.
func TestReadAfterAnswerWithoutContinue(t *testing.T) {
	read := make(chan error, 1)
	_, addr := start(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "2")
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, "no")
		w.(http.Flusher).Flush()
		_, err := io.ReadAll(r.Body)
		read <- err
	}))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	a, err := readAnswer(br, "POST")
	if err != nil || a.status != 403 || !a.close {
		t.Fatalf("answer %+v, %v; want 403 with Connection: close", a, err)
	}
	select {
	case err := <-read:
		if err == nil {
			t.Error("the handler read a body the client was never asked for")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("the handler's read waits for a body the client was never asked for")
	}
	if b, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after the answer: %q, %v; want the connection closed", b, err)
	}
}

// TestRefusedHook: a request the server refuses once its head is read
// goes to Server.Refused, with what could be read of it (the Host only
// when one valid one was sent), for an edge to log; the hook's answer
// goes out with Connection: close and the connection closes. A head past
// the limit is the server's alone: CloudFront cannot log it either.
func TestRefusedHook(t *testing.T) {
	type call struct {
		why                         Refusal
		method, target, host, proto string
		userAgent                   string
		wireHead                    int64 // the request's head as read
	}
	calls := make(chan call, 1)
	srv, addr := start(t, testHandler(""))
	srv.Refused = func(w http.ResponseWriter, r *http.Request, why Refusal) {
		w.Header().Set("X-Refused", "yes")
		w.WriteHeader(why.Status)
		io.WriteString(w, why.Reason)
		head, _, _ := w.(*response).WireBytes()
		calls <- call{why, r.Method, r.RequestURI, r.Host, r.Proto, r.Header.Get("User-Agent"), head}
	}
	tests := []struct {
		name string
		raw  string
		want *call // nil: the server answers alone
	}{
		{"malformed Host", "GET /a?b HTTP/1.1\r\nHost: a b\r\nUser-Agent: ua\r\n\r\n",
			&call{why: Refusal{400, "malformed Host", true}, method: "GET", target: "/a?b", proto: "HTTP/1.1", userAgent: "ua"}},
		{"folded line, Host known", "GET /a HTTP/1.1\r\nHost: d.example\r\nX-A: 1\r\n 2\r\n\r\n",
			&call{why: Refusal{400, "folded header line", true}, method: "GET", target: "/a", host: "d.example", proto: "HTTP/1.1"}},
		{"two Hosts", "GET /a HTTP/1.1\r\nHost: d.example\r\nHost: e.example\r\n\r\n",
			&call{why: Refusal{400, "more than one Host", true}, method: "GET", target: "/a", proto: "HTTP/1.1"}},
		{"CL and TE", "POST /up HTTP/1.1\r\nHost: d.example\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
			&call{why: Refusal{400, "both Content-Length and Transfer-Encoding", true}, method: "POST", target: "/up", host: "d.example", proto: "HTTP/1.1"}},
		{"unknown coding", "POST /up HTTP/1.1\r\nHost: d.example\r\nTransfer-Encoding: gzip\r\n\r\n",
			&call{why: Refusal{501, "only the chunked Transfer-Encoding is understood", true}, method: "POST", target: "/up", host: "d.example", proto: "HTTP/1.1"}},
		{"unknown expectation", "GET /a HTTP/1.0\r\nHost: d.example\r\nExpect: magic\r\n\r\n",
			&call{why: Refusal{417, "only 100-continue is understood", true}, method: "GET", target: "/a", host: "d.example", proto: "HTTP/1.0"}},
		{"version", "GET /a HTTP/2.0\r\nHost: d.example\r\n\r\n",
			&call{why: Refusal{505, "only HTTP/1.x is served on this connection", false}, method: "GET", target: "/a", host: "d.example"}},
		{"asterisk-form", "GET * HTTP/1.1\r\nHost: d.example\r\n\r\n",
			&call{why: Refusal{400, "the asterisk-form target is for OPTIONS only", false}, method: "GET", target: "*", host: "d.example", proto: "HTTP/1.1"}},
		{"malformed request line", "GET /a\r\nHost: d.example\r\n\r\n",
			&call{why: Refusal{400, "malformed request line", false}, host: "d.example"}},
		{"head too large", "GET /a HTTP/1.1\r\nHost: d.example\r\nX-Big: " + strings.Repeat("b", 9000) + "\r\n\r\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			answers, closed := exchange(t, addr, tt.raw+"GET /declared/1 HTTP/1.1\r\nHost: h\r\n\r\n", 2)
			if len(answers) != 1 || !closed || !answers[0].close {
				t.Fatalf("%d answers, closed %v; want one, Connection: close, then closed", len(answers), closed)
			}
			a := answers[0]
			if tt.want == nil {
				if a.header.Get("X-Refused") != "" {
					t.Fatal("the hook answered")
				}
				return
			}
			var got call
			select {
			case got = <-calls:
			default:
				t.Fatal("the hook was not called")
			}
			if a.header.Get("X-Refused") != "yes" || a.status != tt.want.why.Status || a.body != tt.want.why.Reason {
				t.Errorf("answer %d %q %v; want the hook's", a.status, a.body, a.header)
			}
			if got.wireHead != int64(len(tt.raw)) {
				t.Errorf("request head %d bytes; want %d", got.wireHead, len(tt.raw))
			}
			got.wireHead = 0
			if got != *tt.want {
				t.Errorf("hook got %+v\nwant %+v", got, *tt.want)
			}
		})
	}
}

// TestAnswerBeforePipelinedClose: a client that pipelines requests after
// one saying Connection: close (or an HTTP/1.0 one without keep-alive)
// gets that answer whole, though it reads late: the server, which closes
// with those requests unread, does not reset the connection under the
// answer (RFC 9112 9.6), as nginx lingers when more was sent.
func TestAnswerBeforePipelinedClose(t *testing.T) {
	_, addr := start(t, testHandler(""))
	const answer = 4 << 20
	for _, first := range []string{
		"GET /declared/" + strconv.Itoa(answer) + " HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
		"GET /declared/" + strconv.Itoa(answer) + " HTTP/1.0\r\n\r\n",
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		next := strings.Repeat("GET /declared/1 HTTP/1.1\r\nHost: h\r\n\r\n", 4096) // 150 KB
		go io.WriteString(c, first+next)
		time.Sleep(300 * time.Millisecond) // the server has answered and closed
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		a, err := readAnswer(bufio.NewReader(c), "GET")
		if err != nil {
			t.Fatalf("%q: no answer: %v", first, err)
		}
		if a.status != 200 || len(a.body) != answer {
			t.Errorf("%q: status %d, %d bytes; want 200, %d bytes", first, a.status, len(a.body), answer)
		}
	}
	// The same after a slow handler, with the rest pipelined while it
	// ran: the watcher has taken a byte of it and left a read deadline
	// in the past.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const slow = 16 << 20
	io.WriteString(c, "GET /slow/"+strconv.Itoa(slow)+" HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n")
	time.Sleep(700 * time.Millisecond)
	go io.WriteString(c, strings.Repeat("GET /declared/1 HTTP/1.1\r\nHost: h\r\n\r\n", 4096))
	time.Sleep(1500 * time.Millisecond) // the server has answered and closed
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	a, err := readAnswer(bufio.NewReader(c), "GET")
	if err != nil {
		t.Fatalf("after a slow handler: no answer: %v", err)
	}
	if a.status != 200 || len(a.body) != slow {
		t.Errorf("after a slow handler: status %d, %d bytes; want 200, %d bytes", a.status, len(a.body), slow)
	}
}
