package http1

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// FuzzDifferential: what this server accepts, net/http's ReadRequest
// accepts too (this one may be stricter, never looser), and both see the
// same request, the same body, and the same bytes left after it: where
// the next request starts, which is what smuggling is about.
//
// Both take Host out of the header, Transfer-Encoding out once chunked is
// understood, and keep one of equal Content-Lengths, so the maps compare
// as they are. Refused here but read by ReadRequest, on purpose: obs-fold
// (RFC 9112 5.2), Transfer-Encoding in HTTP/1.0 or with Content-Length
// (6.1, 6.3), a missing or second Host (3.2; net/http's server refuses
// these after ReadRequest), an absolute-form target without a host or
// with userinfo (RFC 9110 4.2.1, 4.2.4), Content-Lengths equal only as numbers, over
// 18 digits, an Expect but 100-continue, versions but 1.x, a head over
// MaxHeaderBytes, and trailer lines ending in a bare LF or not a field
// (7.1.2; net/http reads those only when a CRLF CRLF follows).
//
//	go test -run '^$' -fuzz '^FuzzDifferential$' -fuzztime 5m -fuzzminimizetime 3s -parallel 1 ./daemon/http1
func FuzzDifferential(f *testing.F) {
	long := strings.Repeat("a", 4100)
	for _, seed := range append(slices.Clone(requestSeeds),
		// framing
		"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\nabc",
		"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3, 3\r\n\r\nabc",
		"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 0003\r\n\r\nabc",
		"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999\r\n\r\nabc",
		"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1;q=\"a b\"\r\nabc\r\n0;x\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0003\r\nabc\r\n00000\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nabc\r\n0\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\n\n",
		"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nX-T: 1\r\nY: 2\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chun\u212aed\r\n\r\n0\r\n\r\n", // a Kelvin sign
		"POST /x HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\na",
		"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
		"POST /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\nabc",
		// lines and fields
		"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n 2\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n\t2\r\n\r\n",
		"GET / HTTP/1.1\nHost: h\nX-A: 1\n\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX-A : 1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX-A:\t 1 \t\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\x01b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX-A: a\rb\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nX-A: caf\xc3\xa9 \xff\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nx-a: 1\r\nX-A: 2\r\nx_b: 3\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\n"+long+": 1\r\n\r\n",
		"GET /"+long+" HTTP/1.1\r\nHost: h\r\n\r\n",
		// targets and hosts
		"GET http://u:p@a.example:8080/p%20q?x=1#f HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET https://a.example HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET //a/b HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /a%2Fb?c=%zz&d HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET /a? HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: user@h\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
		"GET / HTTP/1.1\r\nHost:\r\n\r\n",
		"CONNECT /rpc HTTP/1.1\r\nHost: a\r\n\r\n",
		// versions and connections
		"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
		"GET / HTTP/1.0\r\nConnection: close, keep-alive\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nConnection: close, keep-alive\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\nConnection: Close\r\n\r\n",
		"GET / HTTP/1.2\r\nHost: h\r\n\r\n",
		"GET / HTTP/0.9\r\n\r\n",
		"GET / http/1.1\r\nHost: h\r\n\r\n",
		"GET  / HTTP/1.1\r\nHost: h\r\n\r\n",
	) {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rwc, peer := net.Pipe()
		defer rwc.Close()
		defer peer.Close()
		go io.Copy(io.Discard, peer) // a 100 Continue, sent at the first read
		// The production reader's size: a line longer than it is refused
		// in a chunk, on both sides alike.
		c := &conn{srv: &Server{MaxHeaderBytes: 4096}, rwc: rwc, br: bufio.NewReaderSize(bytes.NewReader(data), 4<<10), tmpl: new(http.Request)}
		got, _, _, rerr := c.readRequest()
		if rerr != nil {
			return // refused: stricter is allowed
		}
		gotBody, gotErr := io.ReadAll(got.Body)
		gotRest, _ := io.ReadAll(c.br)

		// RFC 9112 2.2: empty lines before the request line are ignored.
		// net/http's server does the same before ReadRequest (after a
		// POST); ReadRequest itself does not.
		in := data
		for {
			if bytes.HasPrefix(in, []byte("\r\n")) {
				in = in[2:]
			} else if bytes.HasPrefix(in, []byte("\n")) {
				in = in[1:]
			} else {
				break
			}
		}
		br := bufio.NewReaderSize(bytes.NewReader(in), 4<<10)
		want, err := http.ReadRequest(br)
		if err != nil {
			t.Fatalf("accepted; net/http refuses: %v", err)
		}
		wantBody, wantErr := io.ReadAll(want.Body)
		wantRest, _ := io.ReadAll(br)

		// net/http adds Cache-Control: no-cache for Pragma: no-cache (RFC
		// 7234's HTTP/1.0 compatibility); RFC 9111 5.4 deprecates Pragma,
		// and an edge's handler sees the fields the viewer sent.
		if _, ok := got.Header["Cache-Control"]; !ok {
			delete(want.Header, "Cache-Control")
		}

		for _, d := range []struct {
			what      string
			got, want any
		}{
			{"Method", got.Method, want.Method},
			{"RequestURI", got.RequestURI, want.RequestURI},
			{"URL", got.URL, want.URL},
			{"Host", got.Host, want.Host},
			{"Proto", fmt.Sprint(got.Proto, got.ProtoMajor, got.ProtoMinor), fmt.Sprint(want.Proto, want.ProtoMajor, want.ProtoMinor)},
			{"Header", got.Header, want.Header},
			{"ContentLength", got.ContentLength, want.ContentLength},
			{"TransferEncoding", got.TransferEncoding, want.TransferEncoding},
			{"Close", got.Close, want.Close},
		} {
			if !reflect.DeepEqual(d.got, d.want) {
				t.Errorf("%s: %#v; net/http %#v", d.what, d.got, d.want)
			}
		}
		if gotErr != nil {
			return // a body refused: stricter is allowed
		}
		if wantErr != nil {
			t.Fatalf("body %q read; net/http refuses it: %v", gotBody, wantErr)
		}
		if !bytes.Equal(gotBody, wantBody) {
			t.Errorf("body %q; net/http %q", gotBody, wantBody)
		}
		if !bytes.Equal(gotRest, wantRest) {
			t.Errorf("after the request: %q; net/http %q", gotRest, wantRest)
		}
	})
}
