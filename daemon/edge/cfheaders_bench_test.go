package edge

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"

	"openfront.dev/internal/tlsfp"
)

// What the CloudFront headers cost a cache hit of a behavior that keys on
// the protocol and the device (the User-Agent's parse is cached):
//
//	go test -run '^$' -bench HitCloudFrontHeaders -benchmem -count 6 ./daemon/edge

const benchCloudFrontHeadersConfig = `package bench

distributions: bench: {
	aliases: ["127.0.0.1"]
	origins: [{id: "origin", domainName: "127.0.0.1", customOriginConfig: {originProtocolPolicy: "http-only", httpPort: %s}}]
	defaultCacheBehavior: {targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400,
		forwardedValues: headers: ["CloudFront-Forwarded-Proto", "CloudFront-Is-Mobile-Viewer", "CloudFront-Is-Desktop-Viewer"]}
}
`

func BenchmarkHitCloudFrontHeaders(b *testing.B) { benchHitCloudFrontHeaders(b, false) }

// BenchmarkHitCloudFrontHeadersTLS is the same hit over TLS, its
// connection's ClientHello in its context, as the node's listeners have it.
func BenchmarkHitCloudFrontHeadersTLS(b *testing.B) { benchHitCloudFrontHeaders(b, true) }

func benchHitCloudFrontHeaders(b *testing.B, overTLS bool) {
	h, t, _ := benchEdge(b, benchCloudFrontHeadersConfig)
	h.SetTable(t)
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1/obj/1k/bench", nil)
	if overTLS {
		r.TLS = &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256, HandshakeComplete: true}
		r = r.WithContext(tlsfp.NewContext(r.Context(), new(tlsfp.Hello)))
	}
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("User-Agent", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")
	warmHit(b, h, r)
	w := &connWriter{h: make(http.Header, 16)}
	for b.Loop() {
		clear(w.h)
		h.ServeHTTP(w, r)
	}
}
