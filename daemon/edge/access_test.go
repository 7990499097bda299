package edge

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"encoding/xml"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"openfront.dev/daemon/access"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/signedurl"
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
		reason             string // in the 403 body or X-Openfront-Reason
	}{
		{"public path needs no signature", "private.test", "/index.html", nil, 200, ""},
		{"unsigned private path", "private.test", "/private/a.txt", nil, 403, "Key-Pair-Id"},
		// CloudFront matches behaviors on the path normalized as RFC 3986
		// says (dot segments, unreserved escapes, and repeated slashes
		// gone), and forwards the raw path, which the origin resolves:
		// a spelling of /private/ must not reach the default behavior.
		{"dot segment into a signed path", "private.test", "/x/../private/a.txt", nil, 403, "Key-Pair-Id"},
		{"escaped dot segment into a signed path", "private.test", "/x/%2e%2E/private/a.txt", nil, 403, "Key-Pair-Id"},
		{"single dot before a signed path", "private.test", "/./private/a.txt", nil, 403, "Key-Pair-Id"},
		{"double slash before a signed path", "private.test", "//private/a.txt", nil, 403, "Key-Pair-Id"},
		{"escaped letter in a signed path", "private.test", "/%70rivate/a.txt", nil, 403, "Key-Pair-Id"},
		// CloudFront's match keeps %2F as sent, but an origin that decodes
		// it (nginx; S3, whose key "private/a.txt" it names) takes these
		// paths for /private/a.txt, which the default behavior's match
		// never saw: the edge refuses them. An encoded slash that leaves
		// the request in its behavior (an S3 key's) is served.
		{"encoded slash hiding a dot segment", "private.test", "/x%2F..%2Fprivate/a.txt", nil, 400, "encoded slash"},
		{"encoded backslash hiding a dot segment", "private.test", "/x%5c%2E%2E%5cprivate/a.txt", nil, 400, "encoded slash"},
		{"encoded slash into a signed path", "private.test", "/private%2Fa.txt", nil, 400, "encoded slash"},
		{"encoded slash before a signed path", "private.test", "/%2Fprivate/a.txt", nil, 400, "encoded slash"},
		{"encoded slash within its behavior", "private.test", "/docs%2Fa.txt", nil, 200, ""},
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
			if tc.reason != "" && !strings.Contains(string(body)+resp.Header.Get("X-Openfront-Reason"), tc.reason) {
				t.Errorf("body %q, X-Openfront-Reason %q: no reason %q", body, resp.Header.Get("X-Openfront-Reason"), tc.reason)
			}
			// A geo refusal says why in X-Openfront-Reason too, as a
			// signature refusal does.
			if tc.name == "country off the whitelist" && resp.Header.Get("X-Openfront-Reason") != "This distribution is not available in the viewer's country (DE)." {
				t.Errorf("X-Openfront-Reason %q, want the geo restriction's reason", resp.Header.Get("X-Openfront-Reason"))
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
			if tc.name == "encoded slash without a dot segment" && got.RequestURI != "/private%2Fa.txt" {
				t.Errorf("the origin received %s, want the path as sent", got.RequestURI)
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
	if n := testutil.ToFloat64(h.metrics.signatureDenials.WithLabelValues(signedurl.CodeExpired)); n != 1 {
		t.Errorf("expired signatures counted %v, want 1", n)
	}
}

// TestSignatureDenialXML checks that refused signed URLs and cookies, made by
// the AWS SDK, are answered as CloudFront answers them: a 403 with its XML
// <Error> Code and Message, openfront's own reason in X-Openfront-Reason,
// and the distribution's custom 403 page instead when it has one.
func TestSignatureDenialXML(t *testing.T) {
	key, pub := signingKey(t)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "page "+r.URL.Path+"\n")
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`package cdn

keyGroups: signers: publicKeys: [{id: "K1", encodedKey: %[1]q}]
_dist: {
	origins: [{id: "app", domainName: %[2]q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
	cacheBehaviors: [{pathPattern: "/private/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", trustedKeyGroups: ["signers"]}]
}
distributions: private: _dist & {aliases: ["private.test"]}
distributions: paged: _dist & {
	aliases: ["paged.test"]
	customErrorResponses: [{errorCode: 403, responsePagePath: "/denied.html", responseCode: 403}]
}
`, pub, strings.TrimPrefix(app.URL, "http://"))
	h := New(origin.NewPool(dir), "test-node", slog.New(slog.DiscardHandler))
	h.SetTable(testenv.Compile(t, dir, cfg))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	const resource = "http://private.test/private/a.txt"
	inAnHour, aMinuteAgo := time.Now().Add(time.Hour), time.Now().Add(-time.Minute)
	urlSigner := sign.NewURLSigner("K1", key)
	signedURL := func(p *sign.Policy) string {
		u, err := urlSigner.SignWithPolicy(resource, p)
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimPrefix(u, "http://private.test")
	}
	policy := func(expires time.Time, ip string) *sign.Policy {
		p := sign.NewCannedPolicy(resource, expires)
		if ip != "" {
			p.Statements[0].Condition.IPAddress = &sign.IPAddress{SourceIP: ip}
		}
		return p
	}
	cookieHeader := func(p *sign.Policy, drop string) http.Header {
		cookies, err := sign.NewCookieSigner("K1", key).SignWithPolicy(p)
		if err != nil {
			t.Fatal(err)
		}
		var pairs []string
		for _, c := range cookies {
			if c.Name != drop {
				pairs = append(pairs, c.Name+"="+c.Value)
			}
		}
		return http.Header{"Cookie": {strings.Join(pairs, "; ")}}
	}
	canned, err := urlSigner.Sign(resource, inAnHour) // Expires=...&Signature=...&Key-Pair-Id=K1
	if err != nil {
		t.Fatal(err)
	}
	canned = strings.TrimPrefix(canned, "http://private.test")
	custom := signedURL(policy(inAnHour, "")) // Policy=...&Signature=...&Key-Pair-Id=K1
	replace := func(s, old, new string) string {
		if !strings.Contains(s, old) {
			t.Fatalf("%q has no %q", s, old)
		}
		return strings.Replace(s, old, new, 1)
	}
	signature := func(u string) string { // the Signature parameter
		i := strings.Index(u, "Signature=")
		return strings.SplitN(u[i:], "&", 2)[0]
	}

	const missing = "Missing Key-Pair-Id query parameter or cookie value"
	for _, tc := range []struct {
		name, host, target string
		header             http.Header
		code, message      string
		reason             string // in X-Openfront-Reason
	}{
		{"unsigned", "private.test", "/private/a.txt", nil, "MissingKey", missing, "needs a signed URL"},
		{"signed URL without Key-Pair-Id", "private.test", replace(canned, "&Key-Pair-Id=K1", ""), nil, "MissingKey", missing, "has no Key-Pair-Id"},
		{"signed URL with an empty Key-Pair-Id", "private.test", replace(canned, "Key-Pair-Id=K1", "Key-Pair-Id="), nil, "MissingKey", missing, "has no Key-Pair-Id"},
		{"signed cookies without CloudFront-Key-Pair-Id", "private.test", "/private/a.txt", cookieHeader(policy(inAnHour, ""), "CloudFront-Key-Pair-Id"),
			"MissingKey", missing, "have no CloudFront-Key-Pair-Id"},
		{"unknown key", "private.test", replace(canned, "Key-Pair-Id=K1", "Key-Pair-Id=K9"), nil, "InvalidKey", "Unknown Key", `"K9"`},
		{"signature of another URL", "private.test", replace(canned, "/a.txt", "/b.txt"), nil, "AccessDenied", "Access denied", "Bad signature"},
		{"policy for another URL", "private.test", replace(custom, "/a.txt", "/b.txt"), nil, "AccessDenied", "Access denied", "Resource mismatch"},
		{"signature not base64", "private.test", replace(canned, signature(canned), "Signature=***"), nil, "MalformedSignature", "Could not unencode Signature", "base64"},
		{"policy not base64", "private.test", replace(custom, "Policy=", "Policy=***"), nil, "MalformedPolicy", "Malformed Policy", "Policy"},
		{"expired signed URL", "private.test", signedURL(policy(aMinuteAgo, "")), nil, "AccessDenied", "Access denied", "expired"},
		{"expired signed cookies", "private.test", "/private/a.txt", cookieHeader(policy(aMinuteAgo, ""), ""), "AccessDenied", "Access denied", "cookies expired"},
		{"IP address not allowed", "private.test", signedURL(policy(inAnHour, "192.0.2.0/24")), nil, "AccessDenied", "Access denied", "IP mismatch"},
		{"IP address not allowed by cookies", "private.test", "/private/a.txt", cookieHeader(policy(inAnHour, "192.0.2.0/24"), ""), "AccessDenied", "Access denied", "IP mismatch"},
		// The distribution's own page wins, as for any 403.
		{"custom error page", "paged.test", "/private/a.txt", nil, "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tc.target, nil)
			req.Host = tc.host
			maps.Copy(req.Header, tc.header)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Fatalf("status %d, want 403: %s", resp.StatusCode, body)
			}
			if resp.Header.Get("X-Openfront-Id") == "" {
				t.Error("no X-Openfront-Id")
			}
			if tc.code == "" {
				if string(body) != "page /denied.html\n" || resp.Header.Get("X-Openfront-Reason") != "" {
					t.Errorf("body %q, X-Openfront-Reason %q: want the custom error page alone", body, resp.Header.Get("X-Openfront-Reason"))
				}
				return
			}
			for k, want := range map[string]string{"Content-Type": "text/xml", "Cache-Control": "no-store", "Content-Length": strconv.Itoa(len(body))} {
				if got := resp.Header.Get(k); got != want {
					t.Errorf("%s %q, want %q", k, got, want)
				}
			}
			// The declaration and elements CloudFront writes, on one line: its
			// MissingKey body is 146 bytes.
			if tc.name == "unsigned" && len(body) != 146 {
				t.Errorf("body %q is %d bytes, not CloudFront's 146", body, len(body))
			}
			if !strings.HasPrefix(string(body), `<?xml version="1.0" encoding="UTF-8"?><Error><Code>`) {
				t.Errorf("body %q does not start as CloudFront's", body)
			}
			var e struct {
				XMLName xml.Name `xml:"Error"`
				Code    string
				Message string
			}
			if err := xml.Unmarshal(body, &e); err != nil {
				t.Fatalf("body %q: %v", body, err)
			}
			if e.Code != tc.code || e.Message != tc.message {
				t.Errorf("Code %q Message %q, want %q %q", e.Code, e.Message, tc.code, tc.message)
			}
			if r := resp.Header.Get("X-Openfront-Reason"); !strings.Contains(r, tc.reason) {
				t.Errorf("X-Openfront-Reason %q does not say %q", r, tc.reason)
			}
		})
	}
}
