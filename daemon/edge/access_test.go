package edge

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"openfront.dev/daemon/access"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// signingKey is a fresh RSA key pair for a key group: the private key and
// the public key in PEM.
func signingKey(t testing.TB) (*rsa.PrivateKey, []byte) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	return key, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestViewerAccess runs signed URLs and cookies made by the AWS SDK, and geo
// restriction, through the request path: who is admitted, the reason given
// to who is not, and that signatures never reach the origin.
func TestViewerAccess(t *testing.T) {
	key, pub := signingKey(t)

	seen := make(chan *http.Request, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case seen <- r:
		default:
		}
		io.WriteString(w, "content\n")
	}))
	t.Cleanup(app.Close)
	appHost := strings.TrimPrefix(app.URL, "http://")

	dir := t.TempDir()
	cfg := fmt.Sprintf(`package cdn

keyGroups: signers: publicKeys: [{id: "K1", encodedKey: %q}]
distributions: private: {
	aliases: ["private.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: {queryString: true, cookies: forward: "all"}}
	cacheBehaviors: [{pathPattern: "/private/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", trustedKeyGroups: ["signers"],
		forwardedValues: {queryString: true, cookies: forward: "all"}}]
}
distributions: france: {
	aliases: ["france.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
	restrictions: geoRestriction: {restrictionType: "whitelist", items: ["FR"]}
}
distributions: country: {
	aliases: ["country.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: headers: ["CloudFront-Viewer-Country"]}
}
distributions: everything: {
	aliases: ["everything.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: headers: ["*"]}
}
distributions: secure: {
	aliases: ["secure.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "redirect-to-https"}
}
`, pub, appHost, appHost, appHost, appHost, appHost)
	res := testenv.Compile(t, dir, cfg)
	geoPath := filepath.Join(dir, "geo.mmdb")
	testenv.WriteGeoDB(t, geoPath, map[string]mmdbtype.Map{"81.0.0.0/8": testenv.Country("FR"), "85.0.0.0/8": testenv.Country("DE")})
	geo, err := access.OpenGeoDB(geoPath)
	if err != nil {
		t.Fatal(err)
	}
	h := New(origin.NewPool(dir), "test-node", slog.New(slog.DiscardHandler))
	h.SetViewerIdentity([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, geo)
	h.SetTable(res)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	urlSigner := sign.NewURLSigner("K1", key)
	signedURL := func(path string, expires time.Time) string {
		u, err := urlSigner.Sign("http://private.test"+path, expires)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(u, "http://private.test")
	}
	signedHTTPSURL := func(path string, expires time.Time) string {
		u, err := urlSigner.Sign("https://private.test"+path, expires)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(u, "https://private.test")
	}
	cookies, err := sign.NewCookieSigner("K1", key).Sign("http://private.test/private/*", time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var cookieHeader []string
	for _, c := range cookies {
		cookieHeader = append(cookieHeader, c.Name+"="+c.Value)
	}
	cookieHeader = append(cookieHeader, "session=abc")

	noRedirects := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct {
		name, host, target string
		header             http.Header
		status             int
		reason             string // in the 403 body
	}{
		{"public path needs no signature", "private.test", "/index.html", nil, 200, ""},
		{"unsigned private path", "private.test", "/private/a.txt", nil, 403, "Key-Pair-Id"},
		{"signed URL", "private.test", signedURL("/private/a.txt?v=1", time.Now().Add(time.Hour)), nil, 200, ""},
		{"expired signed URL", "private.test", signedURL("/private/a.txt", time.Now().Add(-time.Minute)), nil, 403, "expired"},
		{"signed URL for another path", "private.test", strings.Replace(signedURL("/private/a.txt", time.Now().Add(time.Hour)), "/a.txt", "/b.txt", 1), nil, 403, ""},
		{"signed cookies", "private.test", "/private/b.txt", http.Header{"Cookie": {strings.Join(cookieHeader, "; ")}}, 200, ""},
		// The messages CloudFront gives (cloudfront-troubleshoot-signed-url-cookies).
		{"signed URL without Key-Pair-Id", "private.test", strings.Replace(signedURL("/private/a.txt", time.Now().Add(time.Hour)), "&Key-Pair-Id=K1", "", 1), nil, 403,
			"Missing Key-Pair-Id query parameter or cookie value"},
		{"signed URL with an empty Key-Pair-Id", "private.test", strings.Replace(signedURL("/private/a.txt", time.Now().Add(time.Hour)), "Key-Pair-Id=K1", "Key-Pair-Id=", 1), nil, 403,
			"Missing Key-Pair-Id query parameter or cookie value"},
		{"signed cookies without CloudFront-Key-Pair-Id", "private.test", "/private/b.txt", http.Header{"Cookie": {strings.Replace(strings.Join(cookieHeader, "; "), "CloudFront-Key-Pair-Id=K1", "", 1)}}, 403,
			"Missing Key-Pair-Id query parameter or cookie value"},
		{"signed URL with an unknown Key-Pair-Id", "private.test", strings.Replace(signedURL("/private/a.txt", time.Now().Add(time.Hour)), "Key-Pair-Id=K1", "Key-Pair-Id=K9", 1), nil, 403, "Unknown Key"},
		{"country on the whitelist", "france.test", "/", http.Header{"X-Forwarded-For": {"81.2.3.4"}}, 200, ""},
		{"country off the whitelist", "france.test", "/", http.Header{"X-Forwarded-For": {"85.2.3.4"}}, 403, "DE"},
		{"address the database does not know is served, as by CloudFront", "france.test", "/", nil, 200, ""},
		{"viewer country for the origin", "country.test", "/", http.Header{"X-Forwarded-For": {"81.2.3.4"}, "Cloudfront-Viewer-Country": {"US"}}, 200, ""},
		{"a viewer's CloudFront headers do not pass under *", "everything.test", "/", http.Header{"Cloudfront-Viewer-Country": {"US"}, "Cloudfront-Forwarded-Proto": {"https"}, "X-Custom": {"kept"}}, 200, ""},
		// The test client is a trusted proxy: one that ends TLS says so.
		{"https at the trusted proxy is https", "secure.test", "/", http.Header{"X-Forwarded-Proto": {"https"}}, 200, ""},
		{"http at the trusted proxy is redirected", "secure.test", "/", http.Header{"X-Forwarded-Proto": {"http"}}, 301, ""},
		{"signed https URL through a proxy that ended TLS", "private.test", signedHTTPSURL("/private/a.txt", time.Now().Add(time.Hour)),
			http.Header{"X-Forwarded-Proto": {"https"}}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tc.target, nil)
			req.Host = tc.host
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := noRedirects.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.reason != "" && !strings.Contains(string(body), tc.reason) {
				t.Errorf("body %q does not give the reason %q", body, tc.reason)
			}
			if tc.status != 200 {
				return
			}
			got := <-seen
			for _, p := range []string{"Signature", "Key-Pair-Id", "Expires", "Policy"} {
				if got.URL.Query().Has(p) {
					t.Errorf("the origin received the signature parameter %s: %s", p, got.RequestURI)
				}
			}
			if strings.Contains(got.Header.Get("Cookie"), "CloudFront-") {
				t.Errorf("the origin received signature cookies: %s", got.Header.Get("Cookie"))
			}
			if tc.name == "signed URL" && got.URL.Query().Get("v") != "1" {
				t.Errorf("the origin lost the viewer's own query: %s", got.RequestURI)
			}
			if tc.name == "signed cookies" && !strings.Contains(got.Header.Get("Cookie"), "session=abc") {
				t.Errorf("the origin lost the viewer's own cookie: %q", got.Header.Get("Cookie"))
			}
			// The test client is the trusted proxy (127.0.0.1): the origin
			// sees the viewer's address, then the proxy's, as from any proxy.
			if xff := tc.header.Get("X-Forwarded-For"); xff != "" && got.Header.Get("X-Forwarded-For") != xff+", 127.0.0.1" {
				t.Errorf("X-Forwarded-For %q at the origin, want %q", got.Header.Get("X-Forwarded-For"), xff+", 127.0.0.1")
			}
			if tc.host == "everything.test" {
				if got.Header.Get("X-Custom") != "kept" {
					t.Errorf("the origin lost the viewer's X-Custom under *")
				}
				for _, h := range []string{"Cloudfront-Viewer-Country", "Cloudfront-Forwarded-Proto"} {
					if v, ok := got.Header[h]; ok {
						t.Errorf("the viewer's %s %q reached the origin", h, v)
					}
				}
			}
			if tc.name == "viewer country for the origin" && got.Header.Get("Cloudfront-Viewer-Country") != "FR" {
				t.Errorf("CloudFront-Viewer-Country %q at the origin, want the node's lookup FR", got.Header.Get("Cloudfront-Viewer-Country"))
			}
		})
	}
	for reason, want := range map[string]float64{"not_whitelisted": 1, "blacklisted": 0} {
		if n := testutil.ToFloat64(h.metrics.geoDenials.WithLabelValues(reason)); n != want {
			t.Errorf("geo denials %s counted %v, want %v", reason, n, want)
		}
	}
	if n := testutil.ToFloat64(h.metrics.signatureDenials.WithLabelValues(access.CodeExpired)); n != 1 {
		t.Errorf("expired signatures counted %v, want 1", n)
	}
}
