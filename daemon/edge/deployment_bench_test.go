package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// What a continuous deployment policy costs a cache hit of its primary,
// through the real handler in process:
//
//	go test -run '^$' -bench HitDeployment -benchmem -count 6 ./daemon/edge

const benchDeploymentConfig = `package bench

_d: {
	origins: [{id: "origin", domainName: "127.0.0.1", customOriginConfig: {originProtocolPolicy: "http-only", httpPort: %s}}]
	defaultCacheBehavior: {targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400}
}
distributions: bench: _d & {
	aliases: ["127.0.0.1"]
	continuousDeploymentPolicyId: "canary"
}
distributions: "bench-staging": _d & {staging: true}
continuousDeploymentPolicies: canary: {
	stagingDistributionId: "bench-staging"
	trafficConfig: {type: "SingleHeader", singleHeaderConfig: {header: "aws-cf-cd-canary", value: "on"}}
}
`

func BenchmarkHitDeployment(b *testing.B) {
	h, t, _ := benchEdge(b, benchDeploymentConfig)
	h.SetTable(t)
	for _, c := range []struct {
		name   string
		header http.Header
	}{
		{"primary", nil},
		{"primary-cookies", http.Header{"Cookie": {"theme=dark; _ga=GA1.2.3.4; session=0123456789abcdef"}}},
		{"staging", http.Header{"Aws-Cf-Cd-Canary": {"on"}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/obj/1k/bench", nil)
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("User-Agent", "wrk")
			for k, v := range c.header {
				r.Header[k] = v
			}
			serveHits(b, h, r)
		})
	}
}
