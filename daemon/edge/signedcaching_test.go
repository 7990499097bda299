package edge

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"

	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// TestSignedCaching runs signed URLs and cookies made by the AWS SDK
// through a caching edge: the signature's parameters and cookies are in
// neither the cache key nor the origin request, under legacy
// forwardedValues, a cache policy and an origin request policy; which of
// a signed URL and signed cookies counts; and what a reload that takes a
// key out of its group does.
func TestSignedCaching(t *testing.T) {
	key, pub := signingKey(t)
	ekey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	eder, _ := x509.MarshalPKIXPublicKey(&ekey.PublicKey)
	epub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: eder})

	var n atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "%d query=%q cookie=%q", n.Add(1), r.URL.RawQuery, r.Header.Get("Cookie"))
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	config := func(keys string) string {
		return fmt.Sprintf(`package cdn

keyGroups: signers: publicKeys: [%s]
cachePolicies: everything: {
	minTTL: 0
	defaultTTL: 60
	maxTTL: 600
	parametersInCacheKeyAndForwardedToOrigin: {
		headersConfig: headerBehavior: "none"
		cookiesConfig: cookieBehavior: "all"
		queryStringsConfig: queryStringBehavior: "all"
	}
}
distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
	cacheBehaviors: [
		{pathPattern: "/fv/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", trustedKeyGroups: ["signers"],
			forwardedValues: {queryString: true, cookies: forward: "all"}},
		{pathPattern: "/cp/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", trustedKeyGroups: ["signers"], cachePolicy: "everything"},
		{pathPattern: "/orp/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", trustedKeyGroups: ["signers"],
			cachePolicy: "CachingOptimized", originRequestPolicy: "AllViewer"},
	]
}
`, keys, app.Listener.Addr().String())
	}
	both := fmt.Sprintf(`{id: "K1", encodedKey: %q}, {id: "E1", encodedKey: %q}`, pub, epub)
	tb := testenv.Compile(t, dir, config(both))
	h := New(origin.NewPool(dir), "test-node", slog.New(slog.DiscardHandler))
	h.SetViewerIdentity([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, nil)
	h.SetCache(testCache(t))
	h.SetTable(tb)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	hour := time.Now().Add(time.Hour)
	urlSigner := sign.NewURLSigner("K1", key)
	signed := func(path string, expires time.Time) string {
		u, err := urlSigner.Sign("http://site.test"+path, expires)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(u, "http://site.test")
	}
	withPolicy := func(signer *sign.URLSigner, path, resource, ip string) string {
		p := &sign.Policy{Statements: []sign.Statement{{Resource: resource, Condition: sign.Condition{DateLessThan: sign.NewAWSEpochTime(hour)}}}}
		if ip != "" {
			p.Statements[0].Condition.IPAddress = &sign.IPAddress{SourceIP: ip}
		}
		u, err := signer.SignWithPolicy("http://site.test"+path, p)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(u, "http://site.test")
	}
	cookies := func(resource string) string {
		cs, err := sign.NewCookieSigner("K1", key).Sign(resource, hour)
		if err != nil {
			t.Fatal(err)
		}
		var parts []string
		for _, c := range cs {
			parts = append(parts, c.Name+"="+c.Value)
		}
		return strings.Join(parts, "; ")
	}
	good := cookies("http://site.test/*")
	ecURL, err := sign.NewURLSigner("E1", ekey).Sign("http://site.test/fv/e", hour)
	if err != nil {
		t.Fatal(err)
	}
	ecURL = strings.TrimPrefix(ecURL, "http://site.test")

	steps := []struct {
		name, target, cookie, xff string
		status                    int
		xcache, body              string
	}{
		{"fv: first signed URL", signed("/fv/a?v=1", hour), "s=1", "", 200, "Miss", `query="v=1" cookie="s=1"`},
		{"fv: another signature, same object", signed("/fv/a?v=1", hour.Add(time.Minute)), "s=1", "", 200, "Hit", ""},
		{"fv: signed cookies, same object", "/fv/a?v=1", "s=1; " + good, "", 200, "Hit", ""},
		{"cp: first signed URL", signed("/cp/a?v=1", hour), "s=1", "", 200, "Miss", `query="v=1" cookie="s=1"`},
		{"cp: another signature", signed("/cp/a?v=1", hour.Add(time.Minute)), "s=1", "", 200, "Hit", ""},
		{"cp: cookies", "/cp/a?v=1", good + "; s=1", "", 200, "Hit", ""},
		{"orp: signed URL", signed("/orp/a?v=1", hour), "s=1", "", 200, "Miss", `query="v=1" cookie="s=1"`},
		{"orp: cookies", "/orp/b?v=1", good + "; s=1", "", 200, "Miss", `query="v=1" cookie="s=1"`},
		// "URLs that contain any of those query string parameters are
		// signed URLs, and therefore won't look at signed cookies."
		{"a bad signed URL is not saved by good cookies", strings.Replace(signed("/fv/z", hour), "Expires=", "Expires=1", 1), good, "", 403, "", "AccessDenied"},
		{"a good signed URL beside bad cookies", signed("/fv/y", hour), "CloudFront-Signature=bad; CloudFront-Key-Pair-Id=K9", "", 200, "Miss", ""},
		{"a parameter added after signing (canned)", signed("/fv/x?v=1", hour) + "&utm=1", "", "", 403, "", "AccessDenied"},
		{"a parameter added before the signature (canned)", strings.Replace(signed("/fv/x?v=1", hour), "v=1&", "v=1&utm=1&", 1), "", "", 403, "", "AccessDenied"},
		{"a parameter added after signing, wildcard policy", withPolicy(urlSigner, "/fv/x?v=1", "http://site.test/fv/x*", "") + "&utm=1", "", "", 200, "", `query="v=1&utm=1"`},
		{"own parameters after Key-Pair-Id", signed("/fv/w", hour) + "&v=2", "", "", 403, "", ""},
		{"IPv6 policy, viewer inside", withPolicy(urlSigner, "/fv/v6", "http://site.test/fv/*", "2001:db8::/32"), "", "2001:db8::5", 200, "", ""},
		{"IPv6 policy, viewer outside", withPolicy(urlSigner, "/fv/v6", "http://site.test/fv/*", "2001:db8::/32"), "", "2001:db9::5", 403, "", "AccessDenied"},
		{"IPv4 policy, IPv6 viewer", withPolicy(urlSigner, "/fv/v6", "http://site.test/fv/*", "192.0.2.0/24"), "", "2001:db8::5", 403, "", "AccessDenied"},
		{"ECDSA key", ecURL, "", "", 200, "", ""},
		// The edge takes /fv/../cp/b for /cp/b, and so does the origin: a
		// policy for /fv/* must not open /cp/*.
		{"wildcard policy, dot segment out of its path", withPolicy(urlSigner, "/fv/../cp/secret", "http://site.test/fv/*", ""), "", "", 403, "", "AccessDenied"},
		{"wildcard policy, escaped dot segment", withPolicy(urlSigner, "/fv/%2e%2e/cp/secret", "http://site.test/fv/*", ""), "", "", 403, "", "AccessDenied"},
		{"wildcard cookies, dot segment out of their path", "/fv/../cp/secret", cookies("http://site.test/fv/*"), "", 403, "", "AccessDenied"},
		{"wildcard policy, dot segment within its path", withPolicy(urlSigner, "/fv/x/../y", "http://site.test/fv/*", ""), "", "", 200, "", ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			hdr := http.Header{}
			if s.cookie != "" {
				hdr.Set("Cookie", s.cookie)
			}
			if s.xff != "" {
				hdr.Set("X-Forwarded-For", s.xff)
			}
			resp, body := hostRequest(t, srv.URL, "GET", s.target, "site.test", hdr, nil)
			if resp.StatusCode != s.status {
				t.Fatalf("%s: status %d, want %d: %s %s", s.target, resp.StatusCode, s.status, body, resp.Header.Get("X-Openfront-Reason"))
			}
			if s.xcache != "" && !strings.HasPrefix(resp.Header.Get("X-Cache"), s.xcache) {
				t.Errorf("X-Cache %q, want %s", resp.Header.Get("X-Cache"), s.xcache)
			}
			if !strings.Contains(body, s.body) {
				t.Errorf("body %q, want %q", body, s.body)
			}
			if resp.StatusCode == 200 && (strings.Contains(body, "CloudFront-") || strings.Contains(body, "Signature")) {
				t.Errorf("the origin saw a signature: %s", body)
			}
		})
	}
	// A reload that takes K1 out of the group refuses what it signed,
	// even what was verified and cached before.
	h.SetTable(testenv.Compile(t, dir, config(fmt.Sprintf(`{id: "E1", encodedKey: %q}`, epub))))
	for _, target := range []string{steps[0].target, ecURL} {
		resp, body := hostRequest(t, srv.URL, "GET", target, "site.test", nil, nil)
		want := 403
		if target == ecURL {
			want = 200
		}
		if resp.StatusCode != want {
			t.Errorf("after the reload %s: %d, want %d: %s", target, resp.StatusCode, want, body)
		}
	}
}
