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
	url, hits := countedEdge(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "%q", r.Header["Cookie"])
	}, `package cdn

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
`)

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
				_, body := hostRequest(t, url, "GET", path, "site.test", http.Header{"Cookie": tc.first}, nil)
				if body != tc.origin {
					t.Errorf("the origin got %s, want %s", body, tc.origin)
				}
				resp, _ := hostRequest(t, url, "GET", path, "site.test", http.Header{"Cookie": tc.second}, nil)
				if shared := hits.Load()-before == 1; shared != tc.shared {
					t.Errorf("%q then %q: shared %v (%d origin fetches, X-Cache %s), want %v",
						tc.first, tc.second, shared, hits.Load()-before, resp.Header.Get("X-Cache"), tc.shared)
				}
			})
		}
	}
}

// TestVaryStarMinTTL: an origin's Vary: * has CloudFront ask the origin on
// every request when the behavior's minTTL is 0, and is otherwise dropped
// like any Vary value it does not key on, the object kept for minTTL
// (RequestAndResponseBehaviorCustomOrigin.md, "Content negotiation").
func TestVaryStarMinTTL(t *testing.T) {
	url, hits := countedEdge(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", r.URL.Query().Get("vary"))
		fmt.Fprint(w, "negotiated")
	}, `package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: queryString: true}
	cacheBehaviors: [{pathPattern: "/floor/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: queryString: true, minTTL: 30}]
}
`)

	for _, tc := range []struct {
		path   string
		shared bool
	}{
		{"/a?vary=*", false},
		{"/b?vary=Accept,%20*", false},
		{"/floor/a?vary=*", true},
		{"/floor/b?vary=Accept,%20*", true},
	} {
		t.Run(tc.path, func(t *testing.T) {
			before := hits.Load()
			hostRequest(t, url, "GET", tc.path, "site.test", nil, nil)
			resp, body := hostRequest(t, url, "GET", tc.path, "site.test", nil, nil)
			if body != "negotiated" {
				t.Fatalf("got %q", body)
			}
			if shared := hits.Load()-before == 1; shared != tc.shared {
				t.Errorf("second request served from the cache %v (%d origin fetches, X-Cache %s), want %v",
					shared, hits.Load()-before, resp.Header.Get("X-Cache"), tc.shared)
			}
		})
	}
}

// countedEdge serves config, a CUE config with a %q for its one origin's
// domain name, through a cached edge in front of handler; hits counts the
// origin's requests.
func countedEdge(t *testing.T, handler http.HandlerFunc, config string) (url string, hits *atomic.Int32) {
	hits = new(atomic.Int32)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		handler(w, r)
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	srv := httptest.NewServer(cachedHandler(t, dir, testenv.Compile(t, dir, fmt.Sprintf(config, strings.TrimPrefix(app.URL, "http://")))))
	t.Cleanup(srv.Close)
	return srv.URL, hits
}
