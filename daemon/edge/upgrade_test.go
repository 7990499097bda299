package edge

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/http1"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// wsOrigin is a WebSocket echo server: .../echo answers each message with
// "echo: " and the message, in the subprotocol "chat" when asked for;
// other paths are plain 404s.
func wsOrigin(t *testing.T) *httptest.Server {
	t.Helper()
	echo := testenv.WebSocketEcho("chat")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/echo") {
			http.NotFound(w, r)
			return
		}
		echo.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// upgradeEdge serves three behaviors of site.test from app, through a
// cache and with logging on, over daemon/http1: /all/* forwards every
// viewer header, /keyed/* only the two CloudFront asks for, and the
// default behavior none.
func upgradeEdge(t *testing.T, app string) (*http1.Server, string, *prometheus.Registry, *accesslog.Manager, string) {
	t.Helper()
	dir, logDir := t.TempDir(), t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	logging: {enabled: true}
	origins: [{id: "app", domainName: %q, originPath: "", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
	cacheBehaviors: [
		{pathPattern: "/all/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", originRequestPolicy: "AllViewer"},
		{pathPattern: "/keyed/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all",
			forwardedValues: headers: ["Sec-WebSocket-Key", "Sec-WebSocket-Version", "Sec-WebSocket-Protocol"]},
	]
}
`, app))
	h := New(origin.NewPool(dir), "edgetest", slog.New(slog.DiscardHandler))
	h.SetCache(testCache(t))
	reg := prometheus.NewRegistry()
	if err := h.Register(reg); err != nil {
		t.Fatal(err)
	}
	logs := logInto(t, h, tb, accesslog.Options{Dir: logDir, NodeName: "EDGE1", Registerer: prometheus.NewRegistry()})
	h.SetTable(tb)
	srv, base := serveHTTP1(t, h)
	return srv, base, reg, logs, logDir
}

// serveHTTP1 serves h over daemon/http1 on loopback until the test ends;
// base is its ws:// URL.
func serveHTTP1(t *testing.T, h http.Handler) (srv *http1.Server, base string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv = &http1.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return srv, "ws://" + ln.Addr().String()
}

// dialSite opens a WebSocket to path of site.test on the edge at base.
func dialSite(ctx context.Context, base, path string) (*websocket.Conn, *http.Response, error) {
	return websocket.Dial(ctx, base+path, &websocket.DialOptions{
		Host:         "site.test",
		Subprotocols: []string{"chat"},
		HTTPClient:   &http.Client{Transport: &http.Transport{}},
	})
}

// TestWebSocketThroughTheEdge: a WebSocket handshake goes to the origin
// with what its behavior forwards, past the cache, and once the origin
// switches, messages flow both ways until the viewer closes; the access
// log has the connection's line (ws, 101, what it carried). A behavior
// that forwards neither Sec-WebSocket-Key nor Sec-WebSocket-Version gets
// the origin's refusal, as CloudFront documents; a path that is no
// WebSocket the origin's answer.
func TestWebSocketThroughTheEdge(t *testing.T) {
	app := wsOrigin(t)
	_, base, reg, logs, logDir := upgradeEdge(t, app.Listener.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cases := []struct {
		path   string
		status int // the handshake's answer
	}{
		{"/all/echo", http.StatusSwitchingProtocols},
		{"/keyed/echo", http.StatusSwitchingProtocols},
		{"/echo", http.StatusBadRequest}, // no Sec-WebSocket-Key: the origin refuses
		{"/all/missing", http.StatusNotFound},
	}
	for _, c := range cases {
		conn, resp, err := dialSite(ctx, base, c.path)
		if resp == nil {
			t.Fatalf("%s: no answer: %v", c.path, err)
		}
		if resp.StatusCode != c.status {
			t.Fatalf("%s: handshake answered %d (%v), want %d", c.path, resp.StatusCode, err, c.status)
		}
		if c.status != http.StatusSwitchingProtocols {
			if err == nil {
				t.Errorf("%s: dial succeeded on a %d", c.path, resp.StatusCode)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if conn.Subprotocol() != "chat" || resp.Header.Get("Via") == "" || resp.Header.Get("X-Openfront-Id") == "" {
			t.Errorf("%s: subprotocol %q, Via %q, X-Openfront-Id %q: want chat and the edge's fields", c.path, conn.Subprotocol(), resp.Header.Get("Via"), resp.Header.Get("X-Openfront-Id"))
		}
		// Twice: a cached answer would serve the second from the first.
		for i := range 2 {
			msg := "hello " + strconv.Itoa(i)
			if err := conn.Write(ctx, websocket.MessageText, []byte(msg)); err != nil {
				t.Fatal(err)
			}
			_, got, err := conn.Read(ctx)
			if err != nil || string(got) != "echo: "+msg {
				t.Fatalf("%s: read %q, %v; want the echo of %q", c.path, got, err, msg)
			}
		}
		if err := conn.Close(websocket.StatusNormalClosure, "bye"); err != nil {
			t.Errorf("%s: close: %v", c.path, err)
		}
	}
	// A joined connection is logged and counted once it ends, just after
	// the close.
	for i := 0; sum(t, reg, "openfront_requests_total") < float64(len(cases)); i++ {
		if i == 500 {
			t.Fatalf("%v requests counted, want %d", sum(t, reg, "openfront_requests_total"), len(cases))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := logs.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := readLogLines(t, logDir)
	if len(lines) != len(cases) {
		t.Fatalf("%d lines logged, want %d", len(lines), len(cases))
	}
	byPath := map[string]map[string]string{}
	for _, l := range lines {
		byPath[l["cs-uri-stem"]] = l
	}
	for _, c := range cases {
		l := byPath[c.path]
		if l == nil {
			t.Fatalf("%s: not logged", c.path)
		}
		if l["cs-protocol"] != "ws" || l["sc-status"] != strconv.Itoa(c.status) {
			t.Errorf("%s: logged %s %s, want ws %d", c.path, l["cs-protocol"], l["sc-status"], c.status)
		}
		if c.status != http.StatusSwitchingProtocols {
			continue
		}
		// Each way: the handshake's head and two framed messages.
		in, _ := strconv.Atoi(l["cs-bytes"])
		out, _ := strconv.Atoi(l["sc-bytes"])
		if l["x-edge-result-type"] != "Miss" || in < 150+2*len("hello 0") || out < 100+2*len("echo: hello 0") {
			t.Errorf("%s: logged %s, cs-bytes %d, sc-bytes %d: want Miss and the messages counted", c.path, l["x-edge-result-type"], in, out)
		}
	}
}

// TestWebSocketEndsAtShutdown: a joined connection has no request to
// finish, so Shutdown closes it rather than wait for it.
func TestWebSocketEndsAtShutdown(t *testing.T) {
	app := wsOrigin(t)
	srv, base, _, _, _ := upgradeEdge(t, app.Listener.Addr().String())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, _, err := dialSite(ctx, base, "/all/echo")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if _, _, err := conn.Read(ctx); err == nil || errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read after shutdown: %v, want the connection closed", err)
	}
}

// TestPipeIdle: joined connections over which nothing moves for the idle
// time are closed; bytes moving either way keep them open.
func TestPipeIdle(t *testing.T) {
	viewer, viewerEnd := net.Pipe()
	upstream, upstreamEnd := net.Pipe()
	defer viewerEnd.Close()
	defer upstreamEnd.Close()
	const idle = 200 * time.Millisecond
	done := make(chan [2]int64)
	go func() {
		in, out := pipe(viewer, bufio.NewReader(viewer), upstream, idle)
		done <- [2]int64{in, out}
	}()
	// The origin talks for twice the idle time, in small steps: open.
	go io.Copy(io.Discard, viewerEnd)
	for range 8 {
		if _, err := upstreamEnd.Write([]byte("tick")); err != nil {
			t.Fatalf("closed while bytes moved: %v", err)
		}
		time.Sleep(idle / 8)
	}
	select {
	case n := <-done:
		if n[1] != 8*4 {
			t.Errorf("%d bytes out, want 32", n[1])
		}
	case <-time.After(10 * time.Second):
		t.Fatal("still open long after it went idle")
	}
	if _, err := upstreamEnd.Write([]byte("x")); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("write after idle close: %v, want closed", err)
	}
}

// TestWebSocketForwardedHost: a WebSocket handshake's origin gets the
// viewer's Host as any request's does (originHost), over the node's own
// HTTP/1.1 server: the name routing matched, with the port only when it is
// the edge listener's.
func TestWebSocketForwardedHost(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.Write(r.Context(), websocket.MessageText, []byte(r.Host))
	}))
	t.Cleanup(app.Close)
	_, base, _, _, _ := upgradeEdge(t, app.Listener.Addr().String())
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(base, "ws://"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for host, want := range map[string]string{
		"site.test":          "site.test",
		"Site.TEST.:1337":    "site.test",
		"SITE.test.:" + port: "site.test:" + port,
	} {
		conn, _, err := websocket.Dial(ctx, base+"/all/host", &websocket.DialOptions{Host: host, HTTPClient: &http.Client{Transport: &http.Transport{}}})
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		_, got, err := conn.Read(ctx)
		conn.CloseNow()
		if err != nil || string(got) != want {
			t.Errorf("Host %q: the origin saw %q (%v), want %q", host, got, err, want)
		}
	}
}
