package node

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"
)

// authorityConfig serves site.test and its subdomains, signed cookies
// guarding /paid/*.
const authorityConfig = `package cdn

keyGroups: signers: publicKeys: [{id: "K1", encodedKey: %q}]
distributions: site: {
	aliases: ["site.test", "*.site.test"]
	httpVersion: "http2and3"
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: cookies: forward: "all"}
	cacheBehaviors: [{pathPattern: "/paid/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", trustedKeyGroups: ["signers"],
		forwardedValues: cookies: forward: "all"}]
}
`

// TestSignedPolicyScope: a signed cookie for https://www.site.test/free/*
// opens /free/ and nothing else, whatever else a viewer puts in its
// request's authority or path, over every protocol.
//
// An HTTP/2 or HTTP/3 :authority that is no host and port is refused 400,
// as HTTP/1.1 refuses such a Host (RFC 9112 3.2: "A server MUST respond
// with a 400 (Bad Request) status code to any HTTP/1.1 request message
// that ... contains ... a Host header field with an invalid field
// value"). The servers passed them on, and the edge routed
// "www.site.test/free/x.site.test" to *.site.test, while the policy saw
// it as part of the URL.
func TestSignedPolicyScope(t *testing.T) {
	key, pub := signingKey(t)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "served %s\n", r.URL.Path)
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(fmt.Sprintf(authorityConfig, pub, app.Listener.Addr().String())), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := Start(Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", Logger: warnLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	tcp, udp := n.Addr("https").String(), n.Addr("http3").String()

	cookies, err := sign.NewCookieSigner("K1", key).Sign("https://www.site.test/free/*", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var jar []string
	for _, c := range cookies {
		jar = append(jar, c.Name+"="+c.Value)
	}
	cookie := rawField{"cookie", strings.Join(jar, "; ")}

	for _, tt := range []struct {
		name, authority, path string
		want                  int
	}{
		{"the policy's own path", "www.site.test", "/free/a", 200},
		{"another path than the policy's", "www.site.test", "/paid/a", 403},
		{"the policy's path in the authority", "www.site.test/free/x.site.test", "/paid/a", 400},
		{"a path after the port", "site.test:443/free/x", "/paid/a", 400},
		{"a query in the authority", "www.site.test?x.site.test", "/free/a", 400},
		{"userinfo", "u@www.site.test", "/free/a", 400},
		// A "#" is no part of a request target (RFC 9112 3.2.1), but the
		// servers let it through as part of the path: the policy saw
		// /free/x, the path up to it, while the behavior and the origin
		// resolve the path to /paid/a.
		{"the policy's path before a #", "www.site.test", "/free/x#/../../paid/a", 403},
		{"an escaped # is the path's", "www.site.test", "/free/x%23/../../paid/a", 403},
		{"a space", "www site.test", "/free/a", 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := []rawField{{":method", "GET"}, {":scheme", "https"}, {":authority", tt.authority}, {":path", tt.path}, cookie}
			h1 := []rawField{{"Host", tt.authority}, {"Cookie", cookie.value}}
			for _, got := range []struct {
				proto string
				a     rawAnswer
			}{
				{"HTTP/1.1", rawH1(t, tcp, "GET", tt.path, h1, "")},
				{"HTTP/2", rawH2(t, tcp, f, "")},
				{"HTTP/3", rawH3(t, udp, f, "")},
			} {
				// net/http and quic-go reset a stream whose :authority
				// has userinfo (RFC 9113 8.3.1, RFC 9114 4.3.1).
				if got.proto != "HTTP/1.1" && strings.HasPrefix(tt.authority, "u@") && got.a.status == 0 {
					continue
				}
				if got.a.status != tt.want {
					t.Errorf("over %s: %v, want %d", got.proto, got.a, tt.want)
				}
				if tt.want != 200 && strings.HasPrefix(got.a.body, "served") {
					t.Errorf("over %s: the origin served it: %q", got.proto, got.a.body)
				}
			}
		})
	}
}
