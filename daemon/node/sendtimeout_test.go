package node

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go/http3"

	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/http1"
)

// TestSmallAnswerLengthEveryProtocol: an answer whose handler declared no
// length and that ends within HTTP/1.1's buffer goes out with a
// Content-Length over HTTP/2 and HTTP/3 too, as daemon/http1 sends it,
// and the access log's Capture, asked before the handler returns, says
// so: CloudFront's sc-content-len is "The value of the HTTP
// Content-Length header of the response" (standard-logs-reference). A
// longer or flushed one, or one without a body, has none on any.
func TestSmallAnswerLengthEveryProtocol(t *testing.T) {
	var mu sync.Mutex
	logged := map[string]int64{}
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c := accesslog.NewCapture(w, r, time.Now())
		switch strings.TrimPrefix(r.URL.Path, "/") {
		case "small":
			io.WriteString(c, "small")
		case "pieces":
			for range 4 {
				io.WriteString(c, strings.Repeat("p", 512))
			}
		case "empty":
			c.WriteHeader(http.StatusOK)
		case "error":
			http.Error(c, "not here", http.StatusNotFound)
		case "big":
			io.WriteString(c, strings.Repeat("b", 3000))
		case "flushed":
			io.WriteString(c, "flushed")
			c.Flush()
		case "declared":
			c.Header().Set("Content-Length", "8")
			io.WriteString(c, "declared")
		case "nocontent":
			c.WriteHeader(http.StatusNoContent)
		case "late": // what is set after WriteHeader is not the header's
			c.Header().Set("Content-Type", "text/early")
			c.WriteHeader(http.StatusOK)
			io.WriteString(c, "late")
			c.Header().Set("Content-Type", "text/late")
			c.Header().Set("X-Late", "leaked")
			c.Header().Set(http.TrailerPrefix+"X-Trail", "t")
		}
		rec := c.Record(time.Now())
		mu.Lock()
		logged[r.Proto+" "+r.Method+" "+r.URL.Path] = rec.ContentLength
		mu.Unlock()
	})
	guarded := sendTimeout(5*time.Second, app)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h1srv := &http1.Server{Handler: app}
	go h1srv.Serve(ln)
	t.Cleanup(func() { h1srv.Close() })

	h2srv := httptest.NewUnstartedServer(guarded)
	h2srv.EnableHTTP2 = true
	h2srv.StartTLS()
	t.Cleanup(h2srv.Close)

	udp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	h3srv := &http3.Server{Handler: guarded, TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: h2srv.TLS.Certificates})}
	go h3srv.Serve(udp)
	t.Cleanup(func() { h3srv.Close(); udp.Close() })
	h3tr := &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableCompression: true}
	t.Cleanup(func() { h3tr.Close() })

	clients := []struct {
		proto, base string
		c           *http.Client
	}{
		{"HTTP/1.1", "http://" + ln.Addr().String(), &http.Client{Transport: &http.Transport{DisableCompression: true}}},
		{"HTTP/2.0", h2srv.URL, h2srv.Client()},
		{"HTTP/3.0", "https://" + udp.LocalAddr().String(), &http.Client{Transport: h3tr}},
	}
	for _, tt := range []struct {
		method, path string
		want         string // the Content-Length sent, "" for none
	}{
		{"GET", "/small", "5"},
		{"GET", "/pieces", "2048"},
		{"GET", "/empty", "0"},
		{"GET", "/error", "9"},
		{"GET", "/declared", "8"},
		{"GET", "/big", ""},
		{"GET", "/flushed", ""},
		{"GET", "/nocontent", ""},
		{"HEAD", "/small", "5"},
		{"HEAD", "/empty", ""},
		{"GET", "/late", "4"},
	} {
		for _, cl := range clients {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			req, _ := http.NewRequestWithContext(ctx, tt.method, cl.base+tt.path, nil)
			resp, err := cl.c.Do(req)
			if err != nil {
				cancel()
				t.Fatalf("%s %s over %s: %v", tt.method, tt.path, cl.proto, err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			cancel()
			// daemon/http1, as quic-go's server, takes the header at the
			// first write: the guard holds HTTP/2's and HTTP/3's.
			if tt.path == "/late" && cl.proto != "HTTP/1.1" {
				if resp.Header.Get("X-Late") != "" || resp.Header.Get("Content-Type") != "text/early" {
					t.Errorf("over %s: a field set after WriteHeader went with the header: X-Late %q, Content-Type %q", cl.proto, resp.Header.Get("X-Late"), resp.Header.Get("Content-Type"))
				}
				if cl.proto == "HTTP/2.0" && resp.Trailer.Get("X-Trail") != "t" {
					t.Errorf("over %s: trailer %q, want the one set after WriteHeader", cl.proto, resp.Trailer)
				}
			}
			if got := resp.Header.Get("Content-Length"); got != tt.want {
				t.Errorf("%s %s over %s: Content-Length %q, want %q", tt.method, tt.path, cl.proto, got, tt.want)
			}
			mu.Lock()
			got := logged[cl.proto+" "+tt.method+" "+tt.path]
			mu.Unlock()
			want := int64(-1)
			if tt.want != "" {
				want, _ = strconv.ParseInt(tt.want, 10, 64)
			}
			if got != want {
				t.Errorf("%s %s over %s: the log's Content-Length %d, want %d", tt.method, tt.path, cl.proto, got, want)
			}
		}
	}
}
