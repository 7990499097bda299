package http1

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"testing"

	"golang.org/x/net/http/httpguts"
)

// FuzzReadRequest: no input panics the parser, and what it accepts is a
// request a handler can trust: a valid Host, a known length, a body that
// ends.
//
//	go test -run '^$' -fuzz FuzzReadRequest -fuzztime 60s -fuzzminimizetime 3s ./daemon/http1
//
// (Without -fuzzminimizetime the engine minimizes each new input for a
// minute, showing 0 execs/s: it looks hung.)
// requestSeeds are the fuzz tests' first inputs: one of each framing.
var requestSeeds = []string{
	"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
	"GET http://a/b?c HTTP/1.1\r\nHost: h\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
	"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n",
	"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
	"GET / HTTP/1.0\r\n\r\n",
	"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n",
	"OPTIONS * HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\n",
	"\r\n\r\nGET /%zz HTTP/1.1\r\nHost: [::1]:80\r\n\r\n",
}

func FuzzReadRequest(f *testing.F) {
	for _, seed := range requestSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The connection itself only takes read deadlines here, and a
		// 100 Continue: the bytes come through br.
		rwc, peer := net.Pipe()
		defer rwc.Close()
		defer peer.Close()
		go io.Copy(io.Discard, peer)
		c := &conn{srv: &Server{MaxHeaderBytes: 4096}, rwc: rwc, br: bufio.NewReaderSize(bytes.NewReader(data), 64), tmpl: new(http.Request)}
		r, b, _, rerr := c.readRequest()
		if rerr != nil {
			if rerr.status != 0 && (rerr.status < 400 || rerr.status > 599) {
				t.Fatalf("refused with status %d", rerr.status)
			}
			return
		}
		if r.ProtoMinor >= 1 && r.Method != http.MethodConnect && !httpguts.ValidHostHeader(r.Host) {
			t.Fatalf("accepted Host %q", r.Host)
		}
		if r.ContentLength < -1 || (r.ContentLength == -1) != (len(r.TransferEncoding) == 1) {
			t.Fatalf("length %d with Transfer-Encoding %v", r.ContentLength, r.TransferEncoding)
		}
		if _, ok := r.Header["Content-Length"]; ok && r.TransferEncoding != nil {
			t.Fatal("both Content-Length and Transfer-Encoding accepted")
		}
		n, err := io.Copy(io.Discard, r.Body)
		if err == nil && r.ContentLength >= 0 && n != r.ContentLength {
			t.Fatalf("read %d bytes of a %d-byte body without an error", n, r.ContentLength)
		}
		if b != nil && err == nil && !b.finish(c) {
			t.Fatal("a body read to its end left the connection unusable")
		}
	})
}
