package edge

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// What a web ACL with an IP set and a rate-based rule costs a cache hit,
// and one that inserts a header into the requests it allows, against the
// same distribution without one:
//
//	go test -run '^$' -bench HitWebACL -benchmem -count 6 ./daemon/edge

const benchWebACLConfig = `package bench

_d: {
	origins: [{id: "origin", domainName: "127.0.0.1", customOriginConfig: {originProtocolPolicy: "http-only", httpPort: %[1]s}}]
	defaultCacheBehavior: {targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400}
}
distributions: bench: _d & {aliases: ["127.0.0.1"]}
distributions: guarded: _d & {aliases: ["guarded.test"], webACLId: "acl"}
distributions: tagged: _d & {aliases: ["tagged.test"], webACLId: "tagging"}

ipSets: blocked: {ipAddressVersion: "IPV4", addresses: ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "10.0.0.0/8"]}
webACLs: acl: {
	defaultAction: allow: {}
	rules: [{
		name: "blocked", priority: 0, action: block: {}
		statement: ipSetReferenceStatement: arn: "blocked"
	}, {
		name: "per-ip", priority: 1, action: block: {}
		statement: rateBasedStatement: limit: 2000000000
	}]
}
webACLs: tagging: defaultAction: allow: customRequestHandling: insertHeaders: [{name: "verdict", value: "allowed"}]
`

func BenchmarkHitWebACL(b *testing.B) {
	h, t, _ := benchEdge(b, benchWebACLConfig)
	h.SetTable(t)
	for _, c := range []struct{ name, url string }{
		{"none", "http://127.0.0.1/obj/1k/bench"},
		{"ipset+rate", "http://guarded.test/obj/1k/bench"},
		{"inserts", "http://tagged.test/obj/1k/bench"},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, c.url, nil)
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("User-Agent", "bench")
			warmHit(b, h, r)
			w := &connWriter{h: make(http.Header, 16)}
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, r)
			}
		})
	}
}
