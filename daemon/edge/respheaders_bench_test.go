package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// What a response headers policy costs a cache hit, through the real
// handler in process:
//
//	go test -run '^$' -bench HitHeadersPolicy -benchmem -count 6 ./daemon/edge

const benchPolicyConfig = `package bench

responseHeadersPolicies: timed: serverTimingHeadersConfig: {enabled: true, samplingRate: 0}

distributions: bench: {
	aliases: ["127.0.0.1"]
	origins: [{id: "origin", domainName: "127.0.0.1", customOriginConfig: {originProtocolPolicy: "http-only", httpPort: %s}}]
	defaultCacheBehavior: {targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400}
	cacheBehaviors: [
		{pathPattern: "/obj/*/secure-*", targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400,
			responseHeadersPolicy: "SecurityHeadersPolicy"},
		{pathPattern: "/obj/*/cors-*", targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400,
			responseHeadersPolicy: "CORS-with-preflight-and-SecurityHeadersPolicy"},
		{pathPattern: "/obj/*/timed-*", targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400,
			responseHeadersPolicy: "timed"},
	]
}
`

func BenchmarkHitHeadersPolicy(b *testing.B) {
	h, t, _ := benchEdge(b, benchPolicyConfig)
	h.SetTable(t)
	for _, c := range []struct{ name, url, origin string }{
		{"none", "http://127.0.0.1/obj/1k/bench", ""},
		{"security", "http://127.0.0.1/obj/1k/secure-bench", ""},
		{"cors+security", "http://127.0.0.1/obj/1k/cors-bench", "https://app.example"},
		// Server-Timing on, but not drawn for this answer.
		{"server-timing-unsampled", "http://127.0.0.1/obj/1k/timed-bench", ""},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, c.url, nil)
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("User-Agent", "wrk")
			if c.origin != "" {
				r.Header.Set("Origin", c.origin)
			}
			serveHits(b, h, r)
		})
	}
}

// serveHits serves r, made a hit first, for the benchmark's loop.
func serveHits(b *testing.B, h *Handler, r *http.Request) {
	warmHit(b, h, r)
	// As daemon/http1 serves: one header map per connection, cleared,
	// with room for 16 fields (HTTP/2 and HTTP/3 make a fresh map per
	// request, which the added fields then grow).
	w := &connWriter{h: make(http.Header, 16)}
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}

// connWriter keeps no bytes; its header map is the connection's.
type connWriter struct {
	h http.Header
	n int
}

func (w *connWriter) Header() http.Header { return w.h }
func (w *connWriter) WriteHeader(int)     {}
func (w *connWriter) Write(p []byte) (int, error) {
	w.n += len(p)
	return len(p), nil
}
