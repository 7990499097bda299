package node

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestViewerTLSEveryProtocol: CloudFront-Viewer-TLS and
// CloudFront-Viewer-Http-Version, on every TLS protocol, as
// adding-cloudfront-headers.md has them: the version and OpenSSL cipher
// name, then "fullHandshake" (or "sessionResumed" on a connection that
// resumed a session) for the request the handshake was made for, and
// "connectionReused" for a later one on the same connection.
func TestViewerTLSEveryProtocol(t *testing.T) {
	n := startHeadersNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s|%s", r.Header.Get("CloudFront-Viewer-TLS"), r.Header.Get("CloudFront-Viewer-Http-Version"))
	}), "CloudFront-Viewer-TLS", "CloudFront-Viewer-Http-Version")
	tls13 := "TLSv1.3:" + tls.CipherSuiteName(tls.TLS_AES_128_GCM_SHA256) + ":"
	for _, tt := range []struct {
		p       proto
		version string
	}{{h1tls, "1.1"}, {h2, "2.0"}, {h3, "3.0"}} {
		t.Run(string(tt.p), func(t *testing.T) {
			// Two connections sharing a session cache: the second resumes
			// the first's session.
			sessions := tls.NewLRUClientSessionCache(4)
			for conn, first := range []string{"fullHandshake", "sessionResumed"} {
				c := connClientTLS(t, n, tt.p, &tls.Config{ServerName: "site.test", InsecureSkipVerify: true, ClientSessionCache: sessions})
				for i, handshake := range []string{first, "connectionReused", "connectionReused"} {
					resp, err := c.Get(fmt.Sprintf("https://site.test/%d/%d", conn, i))
					if err != nil {
						t.Fatal(err)
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if want := tls13 + handshake + "|" + tt.version; resp.StatusCode != 200 || string(body) != want {
						t.Errorf("connection %d, request %d: %d, the origin got %q, want %q", conn, i, resp.StatusCode, body, want)
					}
				}
			}
		})
	}
}

// startHeadersNode starts a node serving site.test over HTTPS and HTTP/3
// from the origin app, uncached, whose requests carry the named headers.
func startHeadersNode(t *testing.T, app http.Handler, headers ...string) *Node {
	t.Helper()
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	names, _ := json.Marshal(headers)
	dir := t.TempDir()
	cfg := `package cdn

distributions: site: {
	aliases: ["site.test"]
	httpVersion: "http2and3"
	origins: [{id: "app", domainName: "` + srv.Listener.Addr().String() + `", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingDisabled", originRequestPolicy: "headers"}
}
originRequestPolicies: headers: headersConfig: {headerBehavior: "whitelist", headers: ` + string(names) + `}
`
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return startWith(t, Options{ConfigDir: dir, HTTPSAddr: "127.0.0.1:0", Logger: warnLogger(t), CacheBodyDir: t.TempDir()})
}
