package edge

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// TestVaryOnFieldsTheOriginNeverGets: an origin's Vary naming a field the
// behavior does not forward (Apache's "Accept-Encoding,User-Agent" under
// the node's own User-Agent, a Cookie or an Origin never sent) selects
// no variant: the origin answered every viewer alike, and one copy serves
// them all, as CloudFront caches by what it forwards (its cache key)
// and removes such values from Vary (RequestAndResponseBehaviorCustomOrigin,
// HTTP response headers that CloudFront removes or replaces). Before,
// each User-Agent was a miss. A field the origin gets, in the key or
// outside it, still selects its variants.
func TestVaryOnFieldsTheOriginNeverGets(t *testing.T) {
	var asked atomic.Int64
	edges := appSiteEdges(t, func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", r.URL.Query().Get("vary"))
		fmt.Fprintf(w, "tenant=%s", r.Header.Get("X-Tenant"))
	},
		`originRequestPolicies: tenant: {
	headersConfig: {headerBehavior: "whitelist", headers: ["X-Tenant"]}
	queryStringsConfig: queryStringBehavior: "all"
}`,
		`defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: queryString: true}
cacheBehaviors: [
	{pathPattern: "/ua/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: {queryString: true, headers: ["User-Agent"]}},
	{pathPattern: "/tenant/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingOptimized", originRequestPolicy: "tenant"},
]`)
	url := edges[1].url // the one with a cache
	tests := []struct {
		path  string
		asked int64 // of three viewers differing in every field
	}{
		{"/a?vary=Accept-Encoding,User-Agent", 1},
		{"/b?vary=X-Tenant", 1},
		{"/c?vary=Cookie", 1},
		{"/d?vary=Origin,Accept-Language", 1},
		{"/ua/a?vary=User-Agent", 3},          // in the key
		{"/tenant/a?vary=X-Tenant", 3},        // outside the key, but the origin gets it
		{"/tenant/b?vary=X-Tenant,Cookie", 3}, // the same, Cookie never sent
	}
	for _, tt := range tests {
		asked.Store(0)
		for _, v := range []string{"1", "2", "3"} {
			resp, body := siteRequest(t, url, "GET", tt.path, http.Header{
				"User-Agent": {"agent/" + v}, "X-Tenant": {"t" + v}, "Cookie": {"c=" + v},
				"Origin": {"https://o" + v + ".test"}, "Accept-Language": {"l" + v},
			}, nil)
			if tt.asked == 3 && strings.HasPrefix(tt.path, "/tenant/") && body != "tenant=t"+v {
				t.Errorf("%s viewer %s: %q (%s), want its own tenant's", tt.path, v, body, resp.Header.Get("X-Cache"))
			}
		}
		if n := asked.Load(); n != tt.asked {
			t.Errorf("%s: the origin was asked %d times for three viewers, want %d", tt.path, n, tt.asked)
		}
	}
}
