package node

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestForwardedHostEveryProtocol: on every listener and protocol, an
// origin that gets the viewer's Host (HostHeaderOnly) gets the name
// routing matched, with a port only when it is the port of the listener
// the viewer reached (HTTP/3's is the UDP one).
func TestForwardedHostEveryProtocol(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Host)
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	cfg := `package cdn

distributions: site: {
	aliases: ["site.test"]
	httpVersion: "http2and3"
	origins: [{id: "app", domainName: "` + app.Listener.Addr().String() + `", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingDisabled", originRequestPolicy: "HostHeaderOnly"}
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := Start(Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", Logger: warnLogger(t), CacheBodyDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	plain := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, n.Addr("http").String())
		}}}
	for _, p := range []proto{h1, h1tls, h2, h3} {
		c, listener := plain, n.Addr("http").String()
		if p != h1 {
			c, listener = connClient(t, n, p, "site.test", 0), n.Addr("https").String()
			if p == h3 {
				listener = n.Addr("http3").String()
			}
		}
		_, port, _ := net.SplitHostPort(listener)
		for host, want := range map[string]string{
			"site.test":          "site.test",
			"SITE.test.:1337":    "site.test",
			"Site.Test.:" + port: "site.test:" + port,
		} {
			req, _ := http.NewRequest("GET", "http://site.test/x", nil)
			if p != h1 {
				req.URL.Scheme = "https"
			}
			req.Host = host
			resp, err := c.Do(req)
			if err != nil {
				t.Fatalf("%s %s: %v", p, host, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != want {
				t.Errorf("%s, Host %q: %d, the origin got %q, want %q", p, host, resp.StatusCode, body, want)
			}
		}
	}
}
