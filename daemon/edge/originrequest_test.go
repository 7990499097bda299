package edge

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"openfront.dev/internal/testenv"
)

// TestCustomOriginRequestPolicies: a config's own origin request policy
// forwards its headers, cookies and query parameters outside the cache key
// (viewers differing only in them share one stored copy, and the origin
// saw the first one's), its allExcept lists hold values back, and a cache
// policy's key parameters reach the origin even where the origin request
// policy's allExcept names them (CloudFront: the cache policy's whitelist
// overrides the origin request policy's allExcept).
func TestCustomOriginRequestPolicies(t *testing.T) {
	var n atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "%d query=%q cookie=%q tenant=%q secret=%q", n.Add(1), r.URL.RawQuery, r.Header.Get("Cookie"), r.Header.Get("X-Tenant"), r.Header.Get("X-Secret"))
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

cachePolicies: {
	"by-id": parametersInCacheKeyAndForwardedToOrigin: queryStringsConfig: {queryStringBehavior: "whitelist", queryStrings: ["id"]}
	"by-utm": parametersInCacheKeyAndForwardedToOrigin: {
		headersConfig: {headerBehavior: "whitelist", headers: ["X-Secret"]}
		cookiesConfig: {cookieBehavior: "whitelist", cookies: ["_ga"]}
		queryStringsConfig: {queryStringBehavior: "whitelist", queryStrings: ["utm_source"]}
	}
}

originRequestPolicies: {
	listed: {
		headersConfig: {headerBehavior: "whitelist", headers: ["X-Tenant"]}
		cookiesConfig: {cookieBehavior: "whitelist", cookies: ["session"]}
		queryStringsConfig: {queryStringBehavior: "whitelist", queryStrings: ["ref"]}
	}
	except: {
		headersConfig: {headerBehavior: "allExcept", headers: ["X-Secret"]}
		cookiesConfig: {cookieBehavior: "allExcept", cookies: ["_ga"]}
		queryStringsConfig: {queryStringBehavior: "allExcept", queryStrings: ["utm_source"]}
	}
}

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "by-id", originRequestPolicy: "listed"}
	cacheBehaviors: [
		{pathPattern: "/ex/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingOptimized", originRequestPolicy: "except"},
		{pathPattern: "/union/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "by-utm", originRequestPolicy: "except"},
	]
}
`, app.Listener.Addr().String()))
	url := bothEdges(t, dir, tb)[1].url // the one with a cache
	steps := []struct {
		name, path, cookie, tenant, secret string
		xcache                             string
		body                               string // in the answer
	}{
		{"whitelists", "/wl?id=1&ref=a&other=z", "session=s1; other=o", "t1", "k",
			"Miss", `1 query="id=1&ref=a" cookie="session=s1" tenant="t1" secret=""`},
		{"whitelisted values are not keyed", "/wl?ref=b&id=1", "session=s2", "t2", "",
			"Hit", `1 query="id=1&ref=a" cookie="session=s1" tenant="t1"`},
		{"the key's parameter is", "/wl?id=2&ref=b", "session=s2", "t2", "",
			"Miss", `query="id=2&ref=b" cookie="session=s2" tenant="t2"`},
		{"allExcept", "/ex/a?utm_source=x&q=1", "_ga=1; s=2", "t", "k",
			"Miss", `query="q=1" cookie="s=2" tenant="t" secret=""`},
		{"allExcept's values are not keyed", "/ex/a?q=2", "s=3", "u", "",
			"Hit", `query="q=1" cookie="s=2" tenant="t"`},
		{"the key's values pass allExcept", "/union/a?utm_source=x&q=1", "_ga=1; s=2", "t", "k",
			"Miss", `query="utm_source=x&q=1" cookie="_ga=1; s=2" tenant="t" secret="k"`},
		{"keyed on the cache policy's", "/union/a?utm_source=y&q=1", "_ga=1; s=2", "t", "k",
			"Miss", `query="utm_source=y&q=1"`},
		{"not on the origin request policy's", "/union/a?utm_source=x&q=9", "_ga=1; s=3", "u", "k",
			"Hit", `query="utm_source=x&q=1" cookie="_ga=1; s=2" tenant="t"`},
	}
	for _, s := range steps {
		req, _ := http.NewRequest("GET", url+s.path, nil)
		req.Host = "site.test"
		for k, v := range map[string]string{"Cookie": s.cookie, "X-Tenant": s.tenant, "X-Secret": s.secret} {
			if v != "" {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if x := resp.Header.Get("X-Cache"); x != s.xcache+" from openfront" || !strings.Contains(string(b), s.body) {
			t.Errorf("%s: %q %q, want %s with %s", s.name, x, b, s.xcache, s.body)
		}
	}
}
