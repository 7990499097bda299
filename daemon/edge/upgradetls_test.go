package edge

import (
	"context"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// TestWebSocketToHTTPSOrigin: "The options that you choose for your
// CloudFront Viewer protocol policy and Protocol (custom origins only)
// apply to WebSocket connections and also HTTP traffic"
// (distribution-working-with.websockets.md). An https-only origin that
// also speaks HTTP/2 gets the handshake over TLS and HTTP/1.1, the only
// version that can switch; a viewer on plain HTTP under redirect-to-https
// is sent to HTTPS, and under https-only refused.
func TestWebSocketToHTTPSOrigin(t *testing.T) {
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
		if err != nil {
			return
		}
		defer c.CloseNow()
		c.Write(r.Context(), websocket.MessageText, []byte(fmt.Sprintf("%s tls=%v", r.Proto, r.TLS != nil)))
	}))
	app.EnableHTTP2 = true
	app.StartTLS()
	t.Cleanup(app.Close)
	roots := x509.NewCertPool()
	roots.AddCert(app.Certificate())
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "https-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", originRequestPolicy: "AllViewerExceptHostHeader", cachePolicy: "CachingDisabled"}
	cacheBehaviors: [
		{pathPattern: "/redirect/*", targetOriginId: "app", viewerProtocolPolicy: "redirect-to-https", originRequestPolicy: "AllViewerExceptHostHeader", cachePolicy: "CachingDisabled"},
		{pathPattern: "/secure/*", targetOriginId: "app", viewerProtocolPolicy: "https-only", originRequestPolicy: "AllViewerExceptHostHeader", cachePolicy: "CachingDisabled"},
	]
}
`, app.Listener.Addr().String()))
	pool := origin.NewPool(dir)
	pool.TrustRoots(roots)
	h := New(pool, "edgetest", slog.New(slog.DiscardHandler))
	h.SetTable(tb)
	_, base := serveHTTP1(t, h)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	conn, _, err := dialSite(ctx, base, "/ws")
	if err != nil {
		t.Fatal(err)
	}
	_, got, err := conn.Read(ctx)
	conn.CloseNow()
	if err != nil || string(got) != "HTTP/1.1 tls=true" {
		t.Errorf("the origin saw %q (%v), want HTTP/1.1 over TLS", got, err)
	}
	for path, status := range map[string]int{"/redirect/ws": http.StatusMovedPermanently, "/secure/ws": http.StatusForbidden} {
		_, resp, err := websocket.Dial(ctx, base+path, &websocket.DialOptions{Host: "site.test",
			HTTPClient: &http.Client{Transport: &http.Transport{}, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}})
		if err == nil || resp == nil || resp.StatusCode != status {
			t.Errorf("%s: %v, %v; want a %d", path, resp, err, status)
			continue
		}
		if loc := resp.Header.Get("Location"); status == http.StatusMovedPermanently && !strings.HasPrefix(loc, "https://site.test") {
			t.Errorf("%s: Location %q, want https://site.test...", path, loc)
		}
	}
}
