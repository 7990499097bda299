package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"openfront.dev/internal/testenv"
)

// writeWAFSite writes config and a local origin's index.html to a new
// config directory.
func writeWAFSite(t *testing.T, config string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{"main.cue": config, "site/index.html": "<h1>site</h1>\n"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// wafSiteConfig is site.test served from a local origin behind web ACL
// guard, whose rules are rules; dist adds to the distribution.
func wafSiteConfig(dist, rules string) string {
	return fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	%s
	origins: [{id: "files", localOriginConfig: path: "site"}]
	defaultCacheBehavior: {targetOriginId: "files", viewerProtocolPolicy: "allow-all"}
	webACLId: "guard"
}
webACLs: guard: {
	defaultAction: allow: {}
	rules: [%s]
}
`, dist, rules)
}

// wafGet is the status c gets for a GET of url on site.test with header.
func wafGet(t *testing.T, c *http.Client, url string, header http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host, req.Header = "site.test", header
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestNodeWebACLJA4: a rule naming a client's JA4 fingerprint blocks that
// client over HTTPS, another an HTTP/3 client's (QUIC's "q" JA4), and the
// node serves a client whose ClientHello differs, and plain HTTP, which
// has no fingerprint (fallbackBehavior NO_MATCH).
func TestNodeWebACLJA4(t *testing.T) {
	blocked := &tls.Config{ServerName: "site.test", InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}
	other := &tls.Config{ServerName: "site.test", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
		CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256}, NextProtos: []string{"http/1.1"}}
	_, ja4 := tcpFingerprints(t, blocked)
	if _, ja4Other := tcpFingerprints(t, other); ja4Other == ja4 {
		t.Fatalf("both clients have JA4 %s", ja4)
	}
	// The HTTP/3 client's ClientHello, as its transport dials: seen by a
	// QUIC server of the test's own, never the node.
	h3 := func(dial func(context.Context, string, *tls.Config, *quic.Config) (*quic.Conn, error)) *http.Client {
		tr := &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, Dial: dial}
		t.Cleanup(func() { tr.Close() })
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	var quicJA4 string
	h3(func(_ context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
		_, quicJA4 = quicFingerprints(t, tlsCfg, cfg)
		return nil, errEnough
	}).Get("https://site.test/")
	if !strings.HasPrefix(quicJA4, "q13d") {
		t.Fatalf("the HTTP/3 client's JA4 is %q", quicJA4)
	}
	certs := t.TempDir()
	writeCert(t, certs, "site", "site.test")
	rule := `{
		name: %q, priority: %d, action: block: {}
		statement: byteMatchStatement: {searchString: %q, fieldToMatch: ja4Fingerprint: fallbackBehavior: "NO_MATCH",
			positionalConstraint: "EXACTLY", textTransformations: [{priority: 0, type: "NONE"}]}
	}`
	dir := writeWAFSite(t, wafSiteConfig(`viewerCertificate: certificateName: "site"
	httpVersion: "http2and3"`, fmt.Sprintf(rule, "bot", 1, ja4)+", "+fmt.Sprintf(rule, "h3-bot", 2, quicJA4)))
	n := startWith(t, Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", CertsDir: certs,
		Logger: warnLogger(t), CacheBodyDir: t.TempDir()})
	https := "https://" + n.Addr("https").String() + "/index.html"
	udp := n.Addr("http3").String()
	h3Client := h3(func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
		return quic.DialAddr(ctx, udp, tlsCfg, cfg)
	})
	for _, c := range []struct {
		name   string
		client *http.Client
		url    string
		want   int
	}{
		{"the JA4 named", tlsClient(t, blocked), https, http.StatusForbidden},
		{"another JA4", tlsClient(t, other), https, http.StatusOK},
		{"HTTP/3, its JA4 named", h3Client, "https://site.test/index.html", http.StatusForbidden},
		{"plain HTTP", &http.Client{Timeout: 10 * time.Second}, "http://" + n.Addr("http").String() + "/index.html", http.StatusOK},
	} {
		if got := wafGet(t, c.client, c.url, nil); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}
}

// TestNodeWebACLASN: with --asn-db, a rule blocks the viewers of an ASN
// (their address from X-Forwarded-For, past --trusted-proxies), and an
// address the database does not hold is ASN 0, as in WAF.
func TestNodeWebACLASN(t *testing.T) {
	dir := writeWAFSite(t, wafSiteConfig("", `{
		name: "umich", priority: 1, action: block: {}
		statement: asnMatchStatement: asnList: [64496, 36375]
	}, {
		name: "unknown", priority: 2, action: block: {}
		statement: andStatement: statements: [{asnMatchStatement: asnList: [0]}, {
			byteMatchStatement: {searchString: "/private/", fieldToMatch: uriPath: {}, positionalConstraint: "STARTS_WITH",
				textTransformations: [{priority: 0, type: "NONE"}]}}]
	}`))
	asn := filepath.Join(t.TempDir(), "asn.mmdb")
	testenv.WriteGeoDB(t, asn, map[string]mmdbtype.Map{"35.0.0.0/8": testenv.ASN(36375, "UMICH")})
	n := startWith(t, Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", TrustedProxies: "127.0.0.0/8", ASNDB: asn,
		Logger: warnLogger(t), CacheBodyDir: t.TempDir()})
	c := &http.Client{Timeout: 10 * time.Second}
	base := "http://" + n.Addr("http").String()
	for _, tc := range []struct {
		viewer, path string
		want         int
	}{
		{"35.1.2.3", "/index.html", http.StatusForbidden},
		{"192.0.2.1", "/index.html", http.StatusOK},
		{"192.0.2.1", "/private/x", http.StatusForbidden},
		{"35.1.2.3", "/private/x", http.StatusForbidden},
	} {
		if got := wafGet(t, c, base+tc.path, http.Header{"X-Forwarded-For": {tc.viewer}}); got != tc.want {
			t.Errorf("%s from %s: status %d, want %d", tc.path, tc.viewer, got, tc.want)
		}
	}
}
