package node

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// idleConns is how many connections TestIdleConnections holds open. The
// node runs in a child process: the test's 10,000 sockets and the node's
// 10,000 would not fit one process's file limit (20,000 here).
const idleConns = 10_000

// TestIdleConnections holds 10,000 connections open against a node, half
// of them idle after one request (keep-alive) and half stalled in the
// middle of a request header (slowloris), and checks that new viewers are
// still served, over fresh connections and correctly.
func TestIdleConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 10,000 connections")
	}
	addr := startChildNode(t)
	var (
		mu    sync.Mutex
		conns []net.Conn
		errs  []error
		wg    sync.WaitGroup
		slots = make(chan struct{}, 64) // dials in flight
	)
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	for i := range idleConns {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			c, err := openIdle(addr, i%2 == 0)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			conns = append(conns, c)
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d of %d connections failed; first: %v", len(errs), idleConns, errs[0])
	}
	// With every one of them still open, viewers are served.
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range 20 {
		req, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
		req.Host = "localhost"
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d with %d connections open: %v", i, len(conns), err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), "<") {
			t.Fatalf("request %d: status %d, body %.80q", i, resp.StatusCode, body)
		}
	}
	// The idle keep-alive connections still work too: they were not dropped
	// to make room.
	for _, c := range conns[:10] {
		if _, err := fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
			t.Fatalf("write on an idle connection: %v", err)
		}
	}
}

// openIdle connects to addr. keepAlive: after one complete request and its
// answer, the connection stays open, idle. Otherwise it sends half a
// request header and stalls.
func openIdle(addr string, keepAlive bool) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	if !keepAlive {
		if _, err := fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: "); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		c.Close()
		return nil, err
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("first request: %w", err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		c.Close()
		return nil, fmt.Errorf("first request: status %d", resp.StatusCode)
	}
	c.SetDeadline(time.Time{})
	return c, nil
}

// startChildNode runs this test binary as a node serving the quickstart
// example on a loopback port, and returns the HTTP address.
func startChildNode(t *testing.T) string {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestChildNode$")
	cmd.Env = append(os.Environ(), "OPENFRONT_CHILD_NODE="+addrFile)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	for range 300 {
		if b, err := os.ReadFile(addrFile); err == nil && len(b) > 0 && b[len(b)-1] == '\n' {
			return strings.TrimSpace(string(b))
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the child node did not start within 30 s")
	return ""
}

// TestChildNode is the node process of startChildNode; it does nothing in
// a normal run.
func TestChildNode(t *testing.T) {
	addrFile := os.Getenv("OPENFRONT_CHILD_NODE")
	if addrFile == "" {
		t.Skip("runs only as the child of TestIdleConnections")
	}
	n, err := Start(Options{ConfigDir: filepath.Join("..", "..", "examples", "quickstart"), HTTPAddr: "127.0.0.1:0",
		NodeName: nodeName, Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer n.Shutdown(context.Background())
	if err := os.WriteFile(addrFile, []byte(n.Addr("http").String()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	select {} // until the parent kills this process
}

// TestIdleHTTP3: an HTTP/3 connection without requests is closed after
// the idle timeout, as HTTP/1.1 and HTTP/2 ones are, even when the
// client keeps it alive at the QUIC layer with PINGs.
func TestIdleHTTP3(t *testing.T) {
	n, err := Start(Options{ConfigDir: filepath.Join("..", "..", "examples", "quickstart"), HTTPSAddr: "127.0.0.1:0",
		NodeName: nodeName, IdleTimeout: 300 * time.Millisecond, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(ctx, n.Addr("http3").String(),
		&tls.Config{ServerName: "localhost", InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}},
		&quic.Config{KeepAlivePeriod: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://localhost/", nil)
	resp, err := (&http3.Transport{}).NewClientConn(conn).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	select {
	case <-conn.Context().Done():
	case <-ctx.Done():
		t.Fatal("the idle HTTP/3 connection is still open 5 s after its last request")
	}
}

// TestHTTP3SlowAnswer: an HTTP/3 viewer waiting on a slow origin keeps
// its connection, as an HTTP/1.1 or HTTP/2 one does, though neither side
// sends anything meanwhile: the node keeps the QUIC connection alive with
// PINGs. Before, a client that sends no PINGs itself (quic-go's default)
// lost the request when the connection idled out: at 5 s with the
// smallest idle timeout a peer may ask for, at 30 s at most.
func TestHTTP3SlowAnswer(t *testing.T) {
	n, _, arrived, release := startLimited(t, Options{HTTPSAddr: "127.0.0.1:0"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := quic.DialAddr(ctx, n.Addr("http3").String(),
		&tls.Config{ServerName: "cap.test", InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}},
		&quic.Config{MaxIdleTimeout: 5 * time.Second}) // the least quic-go accepts of a peer
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
	go func() {
		<-arrived
		time.Sleep(6 * time.Second) // past the idle timeout
		release()
	}()
	req, _ := http.NewRequestWithContext(ctx, "GET", "https://cap.test/slow/x", nil)
	resp, err := (&http3.Transport{}).NewClientConn(conn).RoundTrip(req)
	if err != nil {
		t.Fatalf("a request answered after 6 s: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "slow\n" {
		t.Errorf("%d %q, want 200 slow", resp.StatusCode, body)
	}
}
