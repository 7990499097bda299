package node

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadRequests sends malformed and hostile HTTP/1.1 requests on raw
// connections: each gets a clear status (or the connection is cut), and a
// normal request works after every one of them.
func TestBadRequests(t *testing.T) {
	n, err := Start(Options{ConfigDir: filepath.Join("..", "..", "examples", "quickstart"), HTTPAddr: "127.0.0.1:0",
		NodeName: nodeName, HeaderTimeout: 300 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	addr := n.Addr("http").String()

	long := func(n int) string { return strings.Repeat("a", n) }
	tests := []struct {
		name    string
		request string
		status  int // 0: the connection is closed without an answer
	}{
		// CloudFront answers 413 to a URL over 8,192 bytes and a request
		// over 20,480 (RequestAndResponseBehaviorCustomOrigin).
		{"a URL over 8,192 bytes", "GET /?" + long(9000) + " HTTP/1.1\r\nHost: localhost\r\n\r\n", 413},
		{"a request line over 20 KiB", "GET /?" + long(21000) + " HTTP/1.1\r\nHost: localhost\r\n\r\n", 413},
		{"a header over 20 KiB", "GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " + long(30<<10) + "\r\n\r\n", 413},
		{"no Host", "GET / HTTP/1.1\r\n\r\n", 400},
		{"a bad Host", "GET / HTTP/1.1\r\nHost: local host\r\n\r\n", 400},
		{"two Hosts", "GET / HTTP/1.1\r\nHost: localhost\r\nHost: 127.0.0.1\r\n\r\n", 400},
		{"two different Content-Lengths", "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400},
		{"an unknown Transfer-Encoding", "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501},
		{"a garbage request line", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400},
		{"a header without a colon", "GET / HTTP/1.1\r\nHost: localhost\r\nnocolon\r\n\r\n", 400},
		{"a slow header (slowloris)", "GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: ", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, err := rawRequest(addr, tt.request)
			if tt.status == 0 {
				if err == nil {
					t.Fatalf("answered %d, want the connection cut", status)
				}
			} else if err != nil || status != tt.status {
				t.Fatalf("status %d (%v), want %d", status, err, tt.status)
			}
			if status, err := rawRequest(addr, "GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"); err != nil || status != 200 {
				t.Fatalf("a normal request after it: %d, %v", status, err)
			}
		})
	}
}

// TestRefusalCloses: requests answered with the connection closed, so
// that a request behind them is never served.
func TestRefusalCloses(t *testing.T) {
	n, err := Start(Options{ConfigDir: filepath.Join("..", "..", "examples", "quickstart"), HTTPAddr: "127.0.0.1:0",
		NodeName: nodeName, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	for _, tt := range []struct {
		name, request string
		status        int
	}{
		// Both Content-Length and Transfer-Encoding: refused with 400 and
		// the connection closed (RFC 9112 6.1 allows it), so a request
		// hidden in its body by a front proxy that trusted Content-Length
		// is never served.
		{"no smuggling", "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n", http.StatusBadRequest},
		// A URL over CloudFront's 8,192 bytes, under the 20 KiB head limit
		// (the edge answers it, not the HTTP/1.1 server): CloudFront
		// "returns HTTP status code 413 ... and then terminates the TCP
		// connection" (RequestAndResponseBehaviorCustomOrigin).
		{"a long URL", "GET /?" + strings.Repeat("a", 9000) + " HTTP/1.1\r\nHost: localhost\r\n\r\n" +
			"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", http.StatusRequestEntityTooLarge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", n.Addr("http").String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, tt.request)
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("no answer to the first request: %v", err)
			}
			io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if !resp.Close { // ReadResponse takes "Connection: close" into Close
				t.Errorf("answer without Connection: close: %v", resp.Header)
			}
			if resp, err := http.ReadResponse(br, nil); err == nil {
				t.Fatalf("the request behind it was served: %s", resp.Status)
			}
		})
	}
}

// rawRequest writes req on a new connection and reads the status of the
// answer; an error when the server closes without one within 5 s.
func rawRequest(addr, req string) (int, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	go io.WriteString(c, req) // a server may answer before reading it all
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return 0, fmt.Errorf("no answer and no close within 5 s: %w", err)
		}
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestHeaderLimitPerProtocol: CloudFront's 20 KiB limit on a request's
// headers holds whatever the protocol: more is refused with CloudFront's
// 413, and a large header under it is served.
func TestHeaderLimitPerProtocol(t *testing.T) {
	e := start(t)
	over, under := http.Header{}, http.Header{}
	for i := range 30 {
		over.Set(fmt.Sprintf("X-Big-%d", i), strings.Repeat("a", 1000))
		if i < 10 {
			under.Set(fmt.Sprintf("X-Big-%d", i), strings.Repeat("a", 1000))
		}
	}
	for _, p := range []proto{h1tls, h2, h3} {
		t.Run(string(p), func(t *testing.T) {
			req, _ := http.NewRequest("GET", "https://site.test/api/hello", nil)
			req.Header = over
			resp, err := e.client(t, p, nil).Do(req)
			if err != nil {
				t.Fatalf("30 KB of headers: %v, want a 413", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Errorf("30 KB of headers over %s: status %d, want 413", resp.Proto, resp.StatusCode)
			}
			if resp, _ := do(t, e.client(t, p, nil), "GET", "https://site.test/api/hello", under, ""); resp.StatusCode != http.StatusOK {
				t.Errorf("10 KB of headers over %s: status %d, want 200", resp.Proto, resp.StatusCode)
			}
		})
	}
}
