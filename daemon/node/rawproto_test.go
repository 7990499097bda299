package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/qpack"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/quicvarint"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// rawAnswer is what a raw request got: a status, or how its stream (or
// connection) was ended without one.
type rawAnswer struct {
	status int
	header http.Header
	body   string
	reset  string // the stream's reset, or the connection's end, when no status came
}

func (a rawAnswer) String() string {
	if a.status == 0 {
		return "reset " + a.reset
	}
	return fmt.Sprintf("%d %q", a.status, a.body)
}

// rawField is a header field as a client puts it on the wire, pseudo-fields
// included, in order.
type rawField struct{ name, value string }

// rawH1 sends method, target and fields (":authority" becomes Host) as
// HTTP/1.1 text over TLS to addr, then body.
func rawH1(t *testing.T, addr, method, target string, fields []rawField, body string) rawAnswer {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true, ServerName: "site.test", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", method, target)
	for _, f := range fields {
		name := f.name
		if name == ":authority" {
			name = "Host"
		}
		fmt.Fprintf(&b, "%s: %s\r\n", name, f.value)
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.WriteString(body)
	go io.WriteString(c, b.String())
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return rawAnswer{reset: err.Error()}
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return rawAnswer{status: resp.StatusCode, header: resp.Header, body: string(got)}
}

// rawH2 sends the header fields (pseudo-fields included, as given) and
// body in one HTTP/2 stream to addr.
func rawH2(t *testing.T, addr string, fields []rawField, body string) rawAnswer {
	t.Helper()
	a := dialH2(t, addr)
	a.buf.Reset()
	for _, f := range fields {
		a.enc.WriteField(hpack.HeaderField{Name: f.name, Value: f.value})
	}
	if err := a.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: a.buf.Bytes(), EndHeaders: true, EndStream: body == ""}); err != nil {
		t.Fatal(err)
	}
	if body != "" {
		a.fr.WriteData(1, true, []byte(body))
	}
	a.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ans rawAnswer
	var got bytes.Buffer
	dec := hpack.NewDecoder(4096, nil)
	for {
		f, err := a.fr.ReadFrame()
		if err != nil {
			ans.reset = err.Error()
			return ans
		}
		switch f := f.(type) {
		case *http2.HeadersFrame:
			hfs, err := dec.DecodeFull(f.HeaderBlockFragment())
			if err != nil {
				t.Fatal(err)
			}
			if ans.header == nil {
				ans.header = http.Header{}
				for _, hf := range hfs {
					if hf.Name == ":status" {
						ans.status, _ = strconv.Atoi(hf.Value)
					} else {
						ans.header.Add(hf.Name, hf.Value)
					}
				}
			}
			if f.StreamEnded() {
				ans.body = got.String()
				return ans
			}
		case *http2.DataFrame:
			got.Write(f.Data())
			if f.StreamEnded() {
				ans.body = got.String()
				return ans
			}
		case *http2.RSTStreamFrame:
			ans.reset = f.ErrCode.String()
			ans.status = 0
			return ans
		case *http2.GoAwayFrame:
			ans.reset = "GOAWAY " + f.ErrCode.String()
			return ans
		}
	}
}

// rawH3 sends the header fields (pseudo-fields included, as given) and
// body on one HTTP/3 request stream to addr.
func rawH3(t *testing.T, addr string, fields []rawField, body string) rawAnswer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(ctx, addr, &tls.Config{InsecureSkipVerify: true, ServerName: "site.test", NextProtos: []string{http3.NextProtoH3}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var block bytes.Buffer
	enc := qpack.NewEncoder(&block)
	for _, f := range fields {
		enc.WriteField(qpack.HeaderField{Name: f.name, Value: f.value})
	}
	var frames []byte
	frames = quicvarint.Append(frames, 0x1) // HEADERS
	frames = quicvarint.Append(frames, uint64(block.Len()))
	frames = append(frames, block.Bytes()...)
	if body != "" {
		frames = quicvarint.Append(frames, 0x0) // DATA
		frames = quicvarint.Append(frames, uint64(len(body)))
		frames = append(frames, body...)
	}
	str.Write(frames)
	str.Close()
	str.SetReadDeadline(time.Now().Add(5 * time.Second))
	r := quicvarint.NewReader(str)
	var ans rawAnswer
	var got bytes.Buffer
	for {
		typ, err := quicvarint.Read(r)
		if err != nil {
			var se *quic.StreamError
			switch {
			case errors.As(err, &se):
				ans.reset = fmt.Sprintf("%#x", uint64(se.ErrorCode))
			case err == io.EOF && ans.status != 0:
				ans.body = got.String()
			default:
				ans.reset = err.Error()
			}
			return ans
		}
		n, err := quicvarint.Read(r)
		if err != nil {
			ans.reset = err.Error()
			return ans
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(str, payload); err != nil {
			ans.reset = err.Error()
			return ans
		}
		switch typ {
		case 0x1:
			if ans.header != nil {
				continue // trailers
			}
			ans.header = http.Header{}
			next := qpack.NewDecoder().Decode(payload)
			for {
				hf, err := next()
				if err != nil {
					break
				}
				if hf.Name == ":status" {
					ans.status, _ = strconv.Atoi(hf.Value)
				} else {
					ans.header.Add(hf.Name, hf.Value)
				}
			}
		case 0x0:
			got.Write(payload)
		}
	}
}

// requestFields is a GET of path on site.test, its pseudo-fields first,
// then extra.
func requestFields(method, path string, extra ...rawField) []rawField {
	f := []rawField{{":method", method}, {":scheme", "https"}, {":authority", "site.test"}, {":path", path}}
	return append(f, extra...)
}

// TestMalformedRequestsEveryProtocol: requests a viewer can send over
// HTTP/2 and HTTP/3 that HTTP/1.1 has a counterpart of, each answered as
// on HTTP/1.1 where the servers let the edge see it (a status), or
// refused by the server (a stream reset, where RFC 9113 and 9114 call
// the request malformed and the libraries give the edge no say).
func TestMalformedRequestsEveryProtocol(t *testing.T) {
	e, _, _ := startLogging(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s host=%s body=%q\n", r.Method, r.RequestURI, r.Host, b)
	}), 5*time.Second)
	tcp, udp := e.node.Addr("https").String(), e.node.Addr("http3").String()
	const reset = 0
	for _, tt := range []struct {
		name         string
		h1target     string     // the HTTP/1.1 request target
		h1fields     []rawField // its header (":authority" is Host)
		fields       []rawField // the HTTP/2 and HTTP/3 header list
		h1, h2, h3   int
		notServedAll bool // no protocol may have the origin serve it
	}{
		// CloudFront answers 400 to a malformed URL on any protocol;
		// net/http and quic-go reset the stream before the edge sees it.
		{name: "a malformed percent-escape", h1target: "/%zz", fields: requestFields("GET", "/%zz"),
			h1: 400, h2: reset, h3: reset, notServedAll: true},
		{name: "an absolute-form target naming another host", h1target: "https://other.test/abs",
			fields: requestFields("GET", "https://other.test/abs"), h1: 403, h2: 400, h3: reset, notServedAll: true},
		{name: "an absolute-form target naming the host", h1target: "https://site.test/abs",
			fields: requestFields("GET", "https://site.test/abs"), h1: 200, h2: 400, h3: reset},
		{name: "a Host that is not the authority", h1target: "/x", h1fields: []rawField{{"Host", "other.test"}},
			fields: requestFields("GET", "/x", rawField{"host", "other.test"}), h1: 400, h2: 400, h3: reset, notServedAll: true},
		{name: "a Host that is the authority", h1target: "/x",
			fields: requestFields("GET", "/x", rawField{"host", "site.test"}), h1: 200, h2: 200, h3: 200},
		{name: "a Host that is the authority with HTTPS's port", h1target: "/x", h1fields: []rawField{{"Host", "site.test:443"}},
			fields: requestFields("GET", "/x", rawField{"host", "site.test:443"}), h1: 200, h2: 200, h3: reset}, // quic-go compares them as they are
		{name: "TE: trailers", h1target: "/x", h1fields: []rawField{{"TE", "trailers"}},
			fields: requestFields("GET", "/x", rawField{"te", "trailers"}), h1: 200, h2: 200, h3: 200},
		{name: "CONNECT", h1target: "site.test:443",
			fields: []rawField{{":method", "CONNECT"}, {":authority", "site.test:443"}}, h1: 403, h2: 403, h3: 403, notServedAll: true},
		// A space ends an HTTP/1.1 target; over HTTP/2 and HTTP/3 it went
		// to the origin's request line as it was: "GET /x?a b HTTP/1.1".
		{name: "a space in the query", h1target: "/x?a b", fields: requestFields("GET", "/x?a b"),
			h1: 400, h2: 400, h3: 400, notServedAll: true},
		{name: "a space in the path", h1target: "/x y", fields: requestFields("GET", "/x y"),
			h1: 400, h2: 400, h3: 400, notServedAll: true},
		// The server's own answer, never the origin's (for "/*").
		{name: "OPTIONS *", h1target: "*", fields: requestFields("OPTIONS", "*"), h1: 200, h2: 200, h3: 200, notServedAll: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.fields[0].value
			h1fields := tt.h1fields
			if len(h1fields) == 0 || h1fields[0].name != "Host" {
				h1fields = append([]rawField{{"Host", "site.test"}}, h1fields...)
			} else if tt.name == "a Host that is not the authority" {
				h1fields = append([]rawField{{"Host", "site.test"}}, h1fields...) // two Hosts
			}
			for _, got := range []struct {
				proto string
				a     rawAnswer
				want  int
			}{
				{"HTTP/1.1", rawH1(t, tcp, method, tt.h1target, h1fields, ""), tt.h1},
				{"HTTP/2", rawH2(t, tcp, tt.fields, ""), tt.h2},
				{"HTTP/3", rawH3(t, udp, tt.fields, ""), tt.h3},
			} {
				if got.a.status != got.want {
					t.Errorf("over %s: %v, want %d", got.proto, got.a, got.want)
				}
				if tt.notServedAll && got.a.status == 200 && got.a.body != "" {
					t.Errorf("over %s: served %q", got.proto, got.a.body)
				}
			}
		})
	}
}

// TestRequestBodyNotItsLengthH2H3: over HTTP/2 and HTTP/3 a viewer can
// end its request's stream before the body its Content-Length declared
// is whole, and still wait for the answer (over HTTP/1.1 the connection
// would still be the body's, whose wait ends in a 408). That answer is a
// 400, the viewer's request being malformed (RFC 9113 8.1.1, RFC 9114
// 4.1.2), as nginx answers it ("client prematurely closed stream"): not
// a 502 blaming the origin. A body longer than its Content-Length has its
// stream reset by the servers, as those RFCs have it.
func TestRequestBodyNotItsLengthH2H3(t *testing.T) {
	e, _, _ := startLogging(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "the origin got a broken body", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "%s %s body=%q\n", r.Method, r.RequestURI, b)
	}), 5*time.Second)
	tcp, udp := e.node.Addr("https").String(), e.node.Addr("http3").String()
	for _, tt := range []struct {
		name, length, body string
		status             int // 0: the stream reset
	}{
		{"shorter", "10", "abcdef", http.StatusBadRequest},
		{"longer", "3", "abcdef", 0},
		{"as long as", "6", "abcdef", http.StatusOK},
	} {
		fields := requestFields("POST", "/post", rawField{"content-length", tt.length})
		for _, got := range []struct {
			proto string
			a     rawAnswer
		}{
			{"HTTP/2", rawH2(t, tcp, fields, tt.body)},
			{"HTTP/3", rawH3(t, udp, fields, tt.body)},
		} {
			if got.a.status != tt.status {
				t.Errorf("a body %s than its Content-Length over %s: %v, want %d", tt.name, got.proto, got.a, tt.status)
			}
		}
	}
}
