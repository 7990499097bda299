package cli

import (
	"testing"

	"openfront.dev/internal/testenv"
)

// TestRouteCachePolicyBesideAllViewer: a cache policy's headers and
// cookies are in the key beside an origin request policy that forwards
// all, as at the edge (daemon/edge cacheKey) and in CloudFront.
func TestRouteCachePolicyBesideAllViewer(t *testing.T) {
	tb := testenv.Compile(t, "", `package cdn

distributions: site: {
	aliases: ["a.test"]
	origins: [{id: "app", domainName: "app.test", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "UseOriginCacheControlHeaders", originRequestPolicy: "AllViewer"}
}
`)
	req, err := NewRouteRequest("GET", "http://a.test/x", []string{"Cookie: s=1; t=2", "Origin: https://o.test"})
	if err != nil {
		t.Fatal(err)
	}
	k := ExplainRoute(tb, req).CacheKey
	var headers []string
	for _, v := range k.Headers.Key {
		if v.Present {
			headers = append(headers, v.Name)
		}
	}
	if len(k.Cookies.Key) != 2 || len(headers) != 2 {
		t.Errorf("key cookies %v, headers present %v; want both cookies, Host and Origin", k.Cookies.Key, headers)
	}
}
