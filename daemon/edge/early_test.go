package edge

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TestEarlyData: on a connection still in its handshake (QUIC 0-RTT, here
// a test server whose connections say so), an unsafe request is refused
// with 425 before it reaches the origin, a forwarded request carries
// Early-Data: 1, a hit is served, and an origin's 425 is never cached.
func TestEarlyData(t *testing.T) {
	type seen struct{ method, path, earlyData string }
	var mu sync.Mutex
	var got []seen
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, r.Header.Get("Early-Data")})
		mu.Unlock()
		if r.URL.Path == "/strict" && r.Header.Get("Early-Data") == "1" {
			w.Header().Set("Cache-Control", "max-age=60") // not for a 425
			http.Error(w, "too early", http.StatusTooEarly)
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "object "+r.URL.Path)
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	tb := appTable(t, dir, app.Listener.Addr().String())
	h := cachedHandler(t, dir, tb)

	// Each test connection is in its handshake until its channel closes.
	early := make(chan struct{}) // never closed: every request is early
	done := make(chan struct{})
	close(done)
	serve := func(handshake chan struct{}) string {
		srv := httptest.NewUnstartedServer(h)
		srv.Config.ConnContext = func(ctx context.Context, _ net.Conn) context.Context { return WithHandshake(ctx, handshake) }
		srv.Start()
		t.Cleanup(srv.Close)
		return srv.URL
	}
	inHandshake, completed := serve(early), serve(done)

	do := func(base, method, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(""))
		req.Host = "site.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	last := func() (seen, int) {
		mu.Lock()
		defer mu.Unlock()
		if len(got) == 0 {
			return seen{}, 0
		}
		return got[len(got)-1], len(got)
	}

	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		if status, body := do(inHandshake, m, "/order"); status != http.StatusTooEarly || !strings.Contains(body, "early data") {
			t.Errorf("%s in early data: %d %q, want 425 saying why", m, status, body)
		}
	}
	if _, n := last(); n != 0 {
		t.Fatalf("the origin got %d requests, want none of the early unsafe ones", n)
	}
	if status, _ := do(completed, "POST", "/order"); status != http.StatusOK {
		t.Errorf("POST after the handshake: %d, want 200", status)
	}
	if s, _ := last(); s.earlyData != "" {
		t.Errorf("POST after the handshake reached the origin with Early-Data %q", s.earlyData)
	}

	// A miss in early data reaches the origin marked; the hit that follows
	// is served in early data without the origin.
	if status, body := do(inHandshake, "GET", "/page"); status != http.StatusOK || body != "object /page" {
		t.Errorf("GET in early data: %d %q", status, body)
	}
	s, n := last()
	if s != (seen{"GET", "/page", "1"}) {
		t.Errorf("the origin saw %+v, want GET /page with Early-Data: 1", s)
	}
	if status, _ := do(inHandshake, "GET", "/page"); status != http.StatusOK {
		t.Errorf("hit in early data: %d", status)
	}
	if _, n2 := last(); n2 != n {
		t.Errorf("a hit in early data went to the origin")
	}

	// The origin refuses early data: the viewer gets its 425, and a viewer
	// after the handshake gets the object, not a cached 425.
	if status, _ := do(inHandshake, "GET", "/strict"); status != http.StatusTooEarly {
		t.Errorf("origin's 425: viewer got %d", status)
	}
	if status, body := do(completed, "GET", "/strict"); status != http.StatusOK || body != "object /strict" {
		t.Errorf("after the handshake: %d %q, want the object", status, body)
	}
}
