package node

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"golang.org/x/net/http2"

	"openfront.dev/internal/testenv"
)

// TestWebSocketOverHTTP3: the node's HTTP/3 server (quic-go) tells every
// viewer it takes extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL), so
// a viewer that speaks RFC 9220 opens its WebSocket on the HTTP/3
// connection rather than on an HTTP/1.1 one. The node joins that stream to
// the origin's HTTP/1.1 WebSocket, as it joins an HTTP/1.1 viewer's
// (CloudFront's WebSockets are HTTP/1.1 upgrades to the origin,
// distribution-working-with.websockets.md): the viewer gets 200 and then
// the origin's messages; it is not refused 403 for the CONNECT method.
// An origin that answers the handshake without switching is a 502, not
// the 2xx that would tell the viewer it switched. The node's shutdown
// ends the WebSocket at once.
func TestWebSocketOverHTTP3(t *testing.T) {
	echo := testenv.WebSocketEcho()
	n := startHeadersNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/plain" {
			io.WriteString(w, "no WebSocket here")
			return
		}
		echo.ServeHTTP(w, r)
	}), "Sec-WebSocket-Key", "Sec-WebSocket-Version")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open := h3WebSocketOpener(t, ctx, n)
	// An origin that does not switch: the viewer must not take its 200
	// for an open WebSocket.
	plain, viewer := open("/plain")
	io.Copy(io.Discard, plain.Body)
	plain.Body.Close()
	viewer.Close()
	if plain.StatusCode != http.StatusBadGateway {
		t.Errorf("an origin's 200 to the handshake: the viewer got %d, want 502", plain.StatusCode)
	}
	resp, viewer := open("/chat")
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("extended CONNECT answered %d, want 200: %s", resp.StatusCode, body)
	}
	if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "" {
		t.Errorf("Sec-WebSocket-Accept %q: the HTTP/1.1 handshake's, not for an HTTP/3 viewer", got)
	}
	if got := exchangeText(t, viewer, resp.Body, "hello", len("echo: hello")); got != "echo: hello" {
		t.Errorf("the viewer got %q, want %q", got, "echo: hello")
	}
	// At shutdown the WebSocket ends, as an HTTP/1.1 viewer's does: it has
	// no request to finish, so the node does not wait the drain timeout
	// (30 s) for it. The viewer reads on, as a WebSocket client does.
	ended := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, resp.Body)
		ended <- err
	}()
	began := time.Now()
	if err := n.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
	if d := time.Since(began); d > 5*time.Second {
		t.Errorf("shutdown took %v with a WebSocket open", d)
	}
	select {
	case <-ended:
	case <-ctx.Done():
		t.Error("the viewer's stream is still open after shutdown")
	}
}

// exchangeText writes msg as a masked text frame (RFC 6455 5.2) to w and
// reads from r the origin's unmasked text frame of n bytes (under 126).
func exchangeText(t *testing.T, w io.Writer, r io.Reader, msg string, n int) string {
	t.Helper()
	mask := [4]byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(msg)), mask[0], mask[1], mask[2], mask[3]}
	for i, c := range []byte(msg) {
		frame = append(frame, c^mask[i%4])
	}
	if _, err := w.Write(frame); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 2+n)
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatalf("reading the echo of %q: %v", msg, err)
	}
	if got[0] != 0x81 || int(got[1]) != n {
		t.Errorf("the echo of %q framed % x, want an unmasked text frame of %d bytes", msg, got[:2], n)
	}
	return string(got[2:])
}

// h3WebSocketOpener dials node n over HTTP/3 and returns open, which sends
// RFC 9220's handshake for path of site.test (as RFC 8441 4 and 5):
// CONNECT with :protocol websocket, no Sec-WebSocket-Key; success is a
// 2xx. What the viewer writes to the pipe goes on the stream.
func h3WebSocketOpener(t *testing.T, ctx context.Context, n *Node) func(path string) (*http.Response, *io.PipeWriter) {
	t.Helper()
	conn, err := quic.DialAddr(ctx, n.Addr("http3").String(), &tls.Config{ServerName: "site.test", InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseWithError(0, "") })
	cc := (&http3.Transport{}).NewClientConn(conn)
	return func(path string) (*http.Response, *io.PipeWriter) {
		t.Helper()
		toOrigin, viewer := io.Pipe()
		t.Cleanup(func() { viewer.Close() })
		req, _ := http.NewRequestWithContext(ctx, http.MethodConnect, "https://site.test"+path, toOrigin)
		req.Proto = "websocket"
		req.Header.Set("Sec-WebSocket-Version", "13")
		resp, err := cc.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp, viewer
	}
}

// TestWebSocketOverHTTP3NotFalselyOpen: an HTTP/3 viewer takes any 2xx
// for its WebSocket opened, so no 2xx goes out but the origin's switch: a
// custom error page with responseCode 200 standing in for the origin's
// 404 is a 502, and a viewer-response function does not run on the
// switch (as none runs on an HTTP/1.1 101), so its body cannot take the
// stream's place.
func TestWebSocketOverHTTP3NotFalselyOpen(t *testing.T) {
	echo := testenv.WebSocketEcho()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/index.html":
			io.WriteString(w, "the app")
		case "/chat", "/fn/chat":
			echo.ServeHTTP(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	cfg := `package cdn

functions: replace: {runtime: "cloudfront-js-2.0", functionCode: "function handler(event) { var r = event.response; r.body = {encoding: 'text', data: 'replaced'}; return r; }"}
distributions: site: {
	aliases: ["site.test"]
	httpVersion: "http2and3"
	origins: [{id: "app", domainName: "` + srv.Listener.Addr().String() + `", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingDisabled", originRequestPolicy: "ws"}
	cacheBehaviors: [{pathPattern: "/fn/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingDisabled", originRequestPolicy: "ws",
		functionAssociations: [{eventType: "viewer-response", functionName: "replace"}]}]
	customErrorResponses: [{errorCode: 404, responsePagePath: "/index.html", responseCode: 200}]
}
originRequestPolicies: ws: headersConfig: {headerBehavior: "whitelist", headers: ["Sec-WebSocket-Key", "Sec-WebSocket-Version"]}
`
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	n := startWith(t, Options{ConfigDir: dir, HTTPSAddr: "127.0.0.1:0", Logger: warnLogger(t), CacheBodyDir: t.TempDir()})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	open := h3WebSocketOpener(t, ctx, n)

	page, _ := open("/missing")
	body, _ := io.ReadAll(page.Body)
	if page.StatusCode/100 == 2 {
		t.Errorf("the origin's 404 under a 200 error page: the viewer got %d %q, an open WebSocket to it", page.StatusCode, body)
	}
	// Its length is declared, as on any small answer of the edge's: the
	// log's sc-content-len is "The value of the HTTP Content-Length
	// header of the response" (CloudFront's standard-logs-reference).
	if page.ContentLength != int64(len(body)) {
		t.Errorf("the refused WebSocket's answer declares Content-Length %d, its body is %d bytes", page.ContentLength, len(body))
	}
	resp, viewer := open("/fn/chat")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a WebSocket under a viewer-response function: %d, want 200", resp.StatusCode)
	}
	mask := [4]byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | 2, mask[0], mask[1], mask[2], mask[3], 'h' ^ mask[0], 'i' ^ mask[1]}
	if _, err := viewer.Write(frame); err != nil {
		t.Fatal(err)
	}
	want := append([]byte{0x81, 8}, "echo: hi"...)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(resp.Body, got); err != nil || string(got) != string(want) {
		t.Errorf("the viewer read %q (%v), want the origin's %q", got, err, want)
	}
}

// TestNoWebSocketOverHTTP2: the node's HTTP/2 server does not offer
// extended CONNECT (RFC 8441; Go's needs GODEBUG http2xconnect=1), so
// browsers open their WebSockets as HTTP/1.1 upgrades, the form CloudFront
// documents and the edge joins. Should a Go release offer it by default,
// they would send CONNECT on their HTTP/2 connections instead, which the
// edge does not join: this says so.
func TestNoWebSocketOverHTTP2(t *testing.T) {
	n := startHeadersNode(t, http.NotFoundHandler(), "Sec-WebSocket-Key")
	a := dialH2(t, n.Addr("https").String())
	a.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	f, err := a.fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	settings, ok := f.(*http2.SettingsFrame)
	if !ok {
		t.Fatalf("the node's first frame is %v, want its SETTINGS", f.Header().Type)
	}
	if v, ok := settings.Value(http2.SettingEnableConnectProtocol); ok && v != 0 {
		t.Errorf("the node's HTTP/2 SETTINGS offer extended CONNECT (%d): browsers would send WebSockets over HTTP/2, which the edge does not join", v)
	}
}
