package edge

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"openfront.dev/internal/testenv"
)

// TestCookieOrderInKey: CloudFront sorts the cookies it forwards by name
// (Cookies.md, "CloudFront sorts cookies"), so two viewers that send the
// same cookies in another order, or spaced otherwise, share one cached
// object and the origin gets them in one order; case still counts.
func TestCookieOrderInKey(t *testing.T) {
	var hits atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "%q", r.Header["Cookie"])
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	h := cachedHandler(t, dir, testenv.Compile(t, dir, fmt.Sprintf(`package cdn

cachePolicies: {
	named: parametersInCacheKeyAndForwardedToOrigin: cookiesConfig: {cookieBehavior: "whitelist", cookies: ["a", "b", "B"]}
	every: parametersInCacheKeyAndForwardedToOrigin: cookiesConfig: cookieBehavior: "all"
	except: parametersInCacheKeyAndForwardedToOrigin: cookiesConfig: {cookieBehavior: "allExcept", cookies: ["z"]}
}

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: cookies: {forward: "whitelist", whitelistedNames: ["a", "b", "B"]}}
	cacheBehaviors: [
		{pathPattern: "/legacy-all/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: cookies: forward: "all"},
		{pathPattern: "/named/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "named"},
		{pathPattern: "/every/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "every"},
		{pathPattern: "/except/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "except"},
	]
}
`, strings.TrimPrefix(app.URL, "http://"))))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name          string
		first, second []string // the viewers' Cookie lines
		shared        bool
		origin        string // what the origin got for first
	}{
		{"order", []string{"b=2; a=1"}, []string{"a=1; b=2"}, true, `["a=1; b=2"]`},
		{"spacing", []string{"a=1;b=2"}, []string{"a=1; b=2"}, true, `["a=1; b=2"]`},
		{"lines", []string{"b=2", "a=1"}, []string{"a=1; b=2"}, true, `["a=1; b=2"]`},
		{"name case", []string{"b=2"}, []string{"B=2"}, false, `["b=2"]`},
		{"value case", []string{"a=x"}, []string{"a=X"}, false, `["a=x"]`},
		{"values", []string{"a=1; b=2"}, []string{"a=2; b=1"}, false, `["a=1; b=2"]`},
	} {
		for _, prefix := range []string{"/", "/legacy-all/", "/named/", "/every/", "/except/"} {
			t.Run(prefix+tc.name, func(t *testing.T) {
				path := prefix + strings.ReplaceAll(tc.name, " ", "-")
				before := hits.Load()
				_, body := hostRequest(t, srv.URL, "GET", path, "site.test", http.Header{"Cookie": tc.first}, nil)
				if body != tc.origin {
					t.Errorf("the origin got %s, want %s", body, tc.origin)
				}
				resp, _ := hostRequest(t, srv.URL, "GET", path, "site.test", http.Header{"Cookie": tc.second}, nil)
				if shared := hits.Load()-before == 1; shared != tc.shared {
					t.Errorf("%q then %q: shared %v (%d origin fetches, X-Cache %s), want %v",
						tc.first, tc.second, shared, hits.Load()-before, resp.Header.Get("X-Cache"), tc.shared)
				}
			})
		}
	}
}
