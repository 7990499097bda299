package admin

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"openfront.dev/internal/testenv"
)

// TestServerTimeouts: a client that stops sending, or keeps a connection
// open between requests, loses it; none holds one forever.
func TestServerTimeouts(t *testing.T) {
	old := timeouts
	timeouts = serverTimeouts{header: 300 * time.Millisecond, body: 300 * time.Millisecond, write: time.Second, idle: 300 * time.Millisecond}
	t.Cleanup(func() { timeouts = old })
	srv := Server(Handler("testnode", source{compileTable(t, testConfig)}, nil, nil, Options{TokenFile: tokenFile(t, "s3cret"), Cache: &recorder{}}), slog.New(slog.DiscardHandler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	tests := []struct {
		name, send string
		responses  int // complete responses before the close
	}{
		{"headers never end", "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", 0},
		{"body never ends", "POST /distributions/site/invalidations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer s3cret\r\nContent-Length: 100\r\n\r\n{\"paths\": [", 1},
		{"idle between requests", "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.WriteString(c, tt.send); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			n := 0
			for {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					// A reset is a close too: a server starved past its
					// deadline before it read the request closes with the
					// bytes unread, and the kernel answers with RST.
					if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) {
						break
					}
					t.Fatalf("after %d responses: %v, want the server to close the connection", n, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n++
			}
			if n > tt.responses {
				t.Errorf("%d responses, want at most %d", n, tt.responses)
			}
		})
	}
}

// TestResponseHeaders: no answer may be taken for HTML (/status carries
// commit subjects and config errors) or kept by a cache.
func TestResponseHeaders(t *testing.T) {
	srv := httptest.NewServer(Handler("testnode", source{compileTable(t, testConfig)}, nil, prometheus.NewRegistry(), Options{}))
	t.Cleanup(srv.Close)
	tests := []struct {
		path, csp, cache string
	}{
		{"/status", "default-src 'none'", "no-store"},
		{"/status/traffic", "default-src 'none'", "no-store"},
		{"/metrics", "default-src 'none'", ""},
		{"/distributions/site/invalidations", "default-src 'none'", "no-store"},
		{"/healthz", "default-src 'none'", ""},
		{"/", "script-src 'self'", "no-cache"},
		{"/ui/app.js", "script-src 'self'", "no-cache"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			h := resp.Header
			if h.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(h.Get("Content-Security-Policy"), tt.csp) ||
				!strings.Contains(h.Get("Content-Security-Policy"), "frame-ancestors 'none'") || h.Get("Cache-Control") != tt.cache {
				t.Errorf("%d: X-Content-Type-Options %q, Content-Security-Policy %q, Cache-Control %q; want nosniff, %s and frame-ancestors 'none', %q",
					resp.StatusCode, h.Get("X-Content-Type-Options"), h.Get("Content-Security-Policy"), h.Get("Cache-Control"), tt.csp, tt.cache)
			}
		})
	}
}

// TestServerErrorLog: net/http's own complaints about a request (here a
// handler's panic) reach the node's log, not the process's stderr.
func TestServerErrorLog(t *testing.T) {
	var buf testenv.Buffer
	srv := Server(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }),
		slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	if resp, err := http.Get("http://" + ln.Addr().String() + "/"); err == nil {
		resp.Body.Close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "panic serving") {
		if time.Now().After(deadline) {
			t.Fatalf("no panic logged; the log has %q", buf.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(buf.String(), "level=DEBUG") {
		t.Errorf("logged at another level: %q", buf.String())
	}
}
