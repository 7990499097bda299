package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// What a small function costs a cache hit, through the real handler in
// process:
//
//	go test -run '^$' -bench HitFunction -benchmem -count 6 ./daemon/edge

const benchFunctionConfig = `package bench

functions: {
	"true-client-ip": functionCode: """
		function handler(event) {
		    var request = event.request;
		    request.headers['true-client-ip'] = {value: event.viewer.ip};
		    return request;
		}
		"""
	"frame-options": functionCode: """
		function handler(event) {
		    var response = event.response;
		    response.headers['x-frame-options'] = {value: 'DENY'};
		    return response;
		}
		"""
}

distributions: bench: {
	aliases: ["127.0.0.1"]
	origins: [{id: "origin", domainName: "127.0.0.1", customOriginConfig: {originProtocolPolicy: "http-only", httpPort: %s}}]
	defaultCacheBehavior: {targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400}
	cacheBehaviors: [
		{pathPattern: "/obj/*/request-*", targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400,
			functionAssociations: [{eventType: "viewer-request", functionName: "true-client-ip"}]},
		{pathPattern: "/obj/*/response-*", targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400,
			functionAssociations: [{eventType: "viewer-response", functionName: "frame-options"}]},
	]
}
`

func BenchmarkHitFunction(b *testing.B) { benchHitFunction(b, false) }

// BenchmarkHitFunctionMetrics: the same with the function metrics counted.
func BenchmarkHitFunctionMetrics(b *testing.B) { benchHitFunction(b, true) }

func benchHitFunction(b *testing.B, metrics bool) {
	h, t, _ := benchEdge(b, benchFunctionConfig)
	if metrics {
		if err := h.Register(prometheus.NewRegistry()); err != nil {
			b.Fatal(err)
		}
	}
	h.SetTable(t)
	for _, c := range []struct{ name, url string }{
		{"none", "http://127.0.0.1/obj/1k/bench"},
		{"viewer-request", "http://127.0.0.1/obj/1k/request-bench"},
		{"viewer-response", "http://127.0.0.1/obj/1k/response-bench"},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, c.url, nil)
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("User-Agent", "wrk")
			serveHits(b, h, r)
		})
	}
}
