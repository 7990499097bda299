package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// What a cache policy costs a cache hit against the same behavior in
// legacy settings, for a browser's Accept-Encoding, which the policy
// normalizes and keys on (the object is not compressible, so both send
// the same 1 KiB):
//
//	go test -run '^$' -bench HitCachePolicy -benchmem -count 6 ./daemon/edge

const benchCachePolicyConfig = `package bench

distributions: bench: {
	aliases: ["127.0.0.1"]
	origins: [{id: "origin", domainName: "127.0.0.1", customOriginConfig: {originProtocolPolicy: "http-only", httpPort: %s}}]
	defaultCacheBehavior: {targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400, compress: true}
	cacheBehaviors: [
		{pathPattern: "/obj/*/optimized-*", targetOriginId: "origin", viewerProtocolPolicy: "allow-all", compress: true,
			cachePolicy: "CachingOptimized"},
		{pathPattern: "/obj/*/cookies-*", targetOriginId: "origin", viewerProtocolPolicy: "allow-all", compress: true,
			defaultTTL: 86400, forwardedValues: {queryString: false, cookies: {forward: "whitelist", whitelistedNames: ["session-*", "pref?", "theme"]}}},
	]
}
`

func BenchmarkHitCachePolicy(b *testing.B) {
	h, t, _ := benchEdge(b, benchCachePolicyConfig)
	h.SetTable(t)
	browser := []string{"gzip, deflate, br, zstd"}
	for _, c := range []struct{ name, url string }{
		{"legacy", "http://127.0.0.1/obj/1k/bench"},
		{"CachingOptimized", "http://127.0.0.1/obj/1k/optimized-bench"},
		// A legacy cookie whitelist with wildcards, for a browser's cookies.
		{"cookieWhitelist", "http://127.0.0.1/obj/1k/cookies-bench"},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, c.url, nil)
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("User-Agent", "bench")
			r.Header["Accept-Encoding"] = browser
			r.Header.Set("Cookie", "_ga=GA1.2.3; session-id=abc123; theme=dark; prefs=1; _gid=GA1.2.4")
			warmHit(b, h, r)
			w := &connWriter{h: make(http.Header, 16)}
			for b.Loop() {
				// The edge normalizes the viewer's field in place.
				r.Header["Accept-Encoding"] = browser
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		})
	}
}
