package edge

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"openfront.dev/internal/signedurl"
)

// What a signature costs a cache hit, through the real handler in process
// (bench-edge.sh signed measures it on the wire):
//
//	go test -run '^$' -bench HitSigned -benchmem -count 6 ./daemon/edge

const benchSignedConfig = `package bench

keyGroups: signers: publicKeys: [{id: "KBENCH", encodedKey: %q}]
distributions: bench: {
	aliases: ["127.0.0.1"]
	origins: [{id: "origin", domainName: "127.0.0.1", customOriginConfig: {originProtocolPolicy: "http-only", httpPort: %s}}]
	defaultCacheBehavior: {targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400}
	cacheBehaviors: [{pathPattern: "/obj/*/private-*", targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400,
		trustedKeyGroups: ["signers"]}]
}
`

func BenchmarkHitSigned(b *testing.B) {
	key, pub := signingKey(b)
	h, t, _ := benchEdge(b, benchSignedConfig, pub)
	h.SetTable(t)

	// As bench-edge.sh signs them: a canned URL, custom-policy cookies.
	s := signedurl.Signer{KeyPairID: "KBENCH", Key: key}
	const private = "http://127.0.0.1/obj/1k/private-bench"
	exp := time.Now().Add(24 * time.Hour)
	signedURL, err := s.SignURL(private, signedurl.Policy{Expires: exp})
	if err != nil {
		b.Fatal(err)
	}
	cookies, err := s.SignCookies(private, signedurl.Policy{Resource: "http://127.0.0.1/obj/*/private-*", Expires: exp})
	if err != nil {
		b.Fatal(err)
	}
	var cookie []string
	for _, c := range cookies {
		cookie = append(cookie, c.Name+"="+c.Value)
	}
	for _, c := range []struct {
		name, url, cookie string
	}{
		{"unsigned", "http://127.0.0.1/obj/1k/bench", ""},
		{"signed-url", signedURL, ""},
		{"signed-cookie", private, strings.Join(cookie, "; ")},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, c.url, nil)
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("User-Agent", "wrk")
			if c.cookie != "" {
				r.Header.Set("Cookie", c.cookie)
			}
			w := warmHit(b, h, r)
			for b.Loop() {
				w.serve(h, r)
			}
		})
	}
}
