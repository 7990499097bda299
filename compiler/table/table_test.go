package table

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"testing"

	"openfront.dev/schema"
)

// dist makes a distribution with one custom origin "web" and a cache
// behavior per pattern, in order, all with the defaults a vetted config has.
func dist(aliases []string, patterns ...string) *schema.Distribution {
	behavior := func(pattern string) schema.CacheBehavior {
		return schema.CacheBehavior{
			PathPattern:          pattern,
			TargetOriginID:       "web",
			ViewerProtocolPolicy: "allow-all",
			AllowedMethods:       []string{"GET", "HEAD"},
			CachedMethods:        []string{"GET", "HEAD"},
			ForwardedValues:      schema.ForwardedValues{Cookies: schema.Cookies{Forward: "none"}},
			DefaultTTL:           86400,
			MaxTTL:               31536000,
		}
	}
	d := &schema.Distribution{
		Enabled: true,
		Aliases: aliases,
		Origins: []schema.Origin{{
			ID:                 "web",
			DomainName:         "web.example.org",
			ConnectionAttempts: 3,
			ConnectionTimeout:  10,
			CustomOriginConfig: &schema.CustomOriginConfig{HTTPPort: 80, HTTPSPort: 443, OriginProtocolPolicy: "https-only"},
		}},
		DefaultCacheBehavior: behavior(""),
		HTTPVersion:          "http2",
	}
	for _, p := range patterns {
		d.CacheBehaviors = append(d.CacheBehaviors, behavior(p))
	}
	return d
}

func build(tb testing.TB, dists map[string]*schema.Distribution) *Table {
	tb.Helper()
	cfg := &schema.Config{
		Distributions:          dists,
		StreamingDistributions: map[string]*schema.StreamingDistribution{},
		KeyGroups:              map[string]*schema.KeyGroup{},
	}
	t, err := Build(cfg, Source{}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

func TestRoute(t *testing.T) {
	tbl := build(t, map[string]*schema.Distribution{
		"exact":   dist([]string{"www.example.com", "192.0.2.10"}),
		"wild":    dist([]string{"*.example.com"}),
		"deep":    dist([]string{"*.eu.example.com"}),
		"deeper":  dist([]string{"*.de.eu.example.com"}, "/img/*"),
		"ordered": dist([]string{"shop.example.net"}, "/img/special/*", "/img/*", "*.png", "/a?c"),
		// The same patterns the other way round: the broader one wins.
		"reversed": dist([]string{"rev.example.net"}, "/img/*", "/img/special/*"),
		"none":     dist([]string{"plain.example.net"}),
		"kelvin":   dist([]string{"ka.example.net"}),
	})
	tests := []struct {
		name, host, path string
		wantDist         string // "" for no distribution
		wantBehavior     string
	}{
		{"exact alias", "www.example.com", "/", "exact", "default"},
		{"exact beats wildcard", "www.example.com", "/x", "exact", "default"},
		{"wildcard one label", "shop.example.com", "/", "wild", "default"},
		{"wildcard two labels", "a.b.example.com", "/", "wild", "default"},
		{"wildcard not the bare domain", "example.com", "/", "", ""},
		{"wildcard not a look-alike", "badexample.com", "/", "", ""},
		{"deeper wildcard beats shallower", "x.eu.example.com", "/", "deep", "default"},
		{"deepest wildcard", "x.de.eu.example.com", "/img/a", "deeper", "/img/*"},
		{"deepest wildcard, more labels", "a.b.de.eu.example.com", "/", "deeper", "default"},
		{"shallower wildcard above the deeper one", "de.eu.example.com", "/", "deep", "default"},
		{"bare eu domain falls to *.example.com", "eu.example.com", "/", "wild", "default"},
		{"host with port", "www.example.com:8443", "/", "exact", "default"},
		{"upper case host", "WWW.EXAMPLE.COM", "/", "exact", "default"},
		{"trailing dot", "www.example.com.", "/", "exact", "default"},
		{"upper case, trailing dot and port", "WWW.Example.Com.:80", "/", "exact", "default"},
		{"wildcard with upper case and port", "API.Example.com:443", "/", "wild", "default"},
		{"IPv4 alias with port", "192.0.2.10:80", "/", "exact", "default"},
		{"IPv6 literal", "[2001:db8::1]", "/", "", ""},
		{"IPv6 literal with port", "[2001:db8::1]:443", "/", "", ""},
		{"IPv6 without brackets", "2001:db8::1", "/", "", ""},
		{"unknown host", "www.example.org", "/", "", ""},
		{"empty host", "", "/", "", ""},
		{"only a dot", ".", "/", "", ""},
		{"only a port", ":80", "/", "", ""},
		{"host too long", strings.Repeat("a.", 200) + "example.com", "/", "", ""},
		{"non-ASCII folding to an alias", "\u212Aa.example.net", "/", "", ""}, // KELVIN SIGN lowers to "k"
		{"first matching behavior wins", "shop.example.net", "/img/special/a.png", "ordered", "/img/special/*"},
		{"second behavior", "shop.example.net", "/img/a.png", "ordered", "/img/*"},
		{"third behavior", "shop.example.net", "/x/a.png", "ordered", "*.png"},
		{"question mark", "shop.example.net", "/abc", "ordered", "/a?c"},
		{"default fallback", "shop.example.net", "/x/a.jpg", "ordered", "default"},
		{"path is case-sensitive", "shop.example.net", "/IMG/a.jpg", "ordered", "default"},
		{"empty path", "shop.example.net", "", "ordered", "default"},
		{"order is precedence", "rev.example.net", "/img/special/a", "reversed", "/img/*"},
		{"no behaviors", "plain.example.net", "/img/a", "none", "default"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, b := tbl.Route(tc.host, tc.path)
			// ExplainHost (openfront route) agrees with Route (the edge).
			if ed, _ := tbl.ExplainHost(tc.host); ed != d {
				t.Errorf("ExplainHost(%q) = %v, Route found %v", tc.host, ed, d)
			}
			if tc.wantDist == "" {
				if d != nil || b != nil {
					t.Fatalf("Route(%q, %q) = %s/%s, want no distribution", tc.host, tc.path, d.ID, b.Name())
				}
				return
			}
			if d == nil || b == nil {
				t.Fatalf("Route(%q, %q) = nil, want %s/%s", tc.host, tc.path, tc.wantDist, tc.wantBehavior)
			}
			if d.ID != tc.wantDist || b.Name() != tc.wantBehavior {
				t.Errorf("Route(%q, %q) = %s/%s, want %s/%s", tc.host, tc.path, d.ID, b.Name(), tc.wantDist, tc.wantBehavior)
			}
			if b.DistributionID != d.ID || b.Origin == nil || b.Origin.ID != "web" {
				t.Errorf("behavior %s of %s: target %v, want origin web of the same distribution", b.Name(), d.ID, b.Origin)
			}
		})
	}
}

func TestExplainHost(t *testing.T) {
	tbl := build(t, map[string]*schema.Distribution{
		"exact": dist([]string{"www.example.com"}),
		"wild":  dist([]string{"*.example.com"}),
	})
	tests := []struct {
		host string
		want HostMatch
	}{
		{"WWW.example.com.:443", HostMatch{Alias: "www.example.com"}},
		{"a.b.example.com", HostMatch{Alias: "*.example.com", Wildcard: true}},
		{"example.com", HostMatch{}},
	}
	for _, tc := range tests {
		if _, got := tbl.ExplainHost(tc.host); got != tc.want {
			t.Errorf("ExplainHost(%q) = %+v, want %+v", tc.host, got, tc.want)
		}
	}
}

// benchTable builds n distributions shaped like the compiler's benchmark
// config: two aliases (one wildcard) and five behaviors each.
func benchTable(tb testing.TB, n int) *Table {
	dists := make(map[string]*schema.Distribution, n)
	for i := range n {
		dists[fmt.Sprintf("d%d", i)] = dist(
			[]string{fmt.Sprintf("d%d.example.com", i), fmt.Sprintf("*.d%d.example.net", i)},
			"/img/*", "/api/*", "*.css", "/video/*.mp4", "/static/*")
	}
	return build(tb, dists)
}

// routeCases are the requests the allocation test and the benchmark make.
var routeCases = []struct{ name, host, path, wantBehavior string }{
	{"exact", "d7.example.com", "/img/a.png", "/img/*"},
	{"wildcard", "a.b.d7.example.net", "/img/a.png", "/img/*"},
	{"behavior5", "d7.example.com", "/static/app.js", "/static/*"},
	{"default", "D7.Example.Com.:443", "/index.html", "default"},
	{"unknown", "nobody.example.org", "/", ""},
}

// TestRouteZeroAlloc: the per-request lookup must not allocate.
func TestRouteZeroAlloc(t *testing.T) {
	tbl := benchTable(t, 10)
	for _, rc := range routeCases {
		_, b := tbl.Route(rc.host, rc.path)
		if got := behaviorName(b); got != rc.wantBehavior {
			t.Fatalf("%s: Route(%q, %q) behavior %q, want %q", rc.name, rc.host, rc.path, got, rc.wantBehavior)
		}
		allocs := testing.AllocsPerRun(100, func() { tbl.Route(rc.host, rc.path) })
		if allocs != 0 {
			t.Errorf("%s: Route(%q, %q) allocates %v times, want 0", rc.name, rc.host, rc.path, allocs)
		}
	}
}

func behaviorName(b *Behavior) string {
	if b == nil {
		return ""
	}
	return b.Name()
}

// BenchmarkRoute measures the lookup on small and large tables: it should
// not grow with the number of distributions.
func BenchmarkRoute(b *testing.B) {
	for _, n := range []int{10, 10000} {
		tbl := benchTable(b, n)
		b.Run(fmt.Sprintf("distributions=%d", n), func(b *testing.B) {
			for _, rc := range routeCases[:3] {
				b.Run(rc.name, func(b *testing.B) {
					b.ReportAllocs()
					for b.Loop() {
						if _, beh := tbl.Route(rc.host, rc.path); beh == nil {
							b.Fatal("no route")
						}
					}
				})
			}
		})
	}
}

// rsaOfBits is an RSA public key with a modulus of that many bits: only its
// size matters to SignatureKey, and generating a 4096-bit key takes long.
func rsaOfBits(bits int) *rsa.PublicKey {
	n := new(big.Int).Lsh(big.NewInt(1), uint(bits-1))
	return &rsa.PublicKey{N: n.Add(n, big.NewInt(1)), E: 65537}
}

// TestParsePublicKey: RSA keys and ECDSA keys on P-256 are what CloudFront
// verifies signatures with; other curves and kinds are refused by name.
func TestParsePublicKey(t *testing.T) {
	pemOf := func(pub any) string {
		der, err := x509.MarshalPKIXPublicKey(pub)
		if err != nil {
			t.Fatal(err)
		}
		return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ecKey := func(c elliptic.Curve) *ecdsa.PublicKey {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return &k.PublicKey
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p256 := ecKey(elliptic.P256())
	cases := []struct {
		name    string
		encoded string
		want    any    // the key parsed, when accepted
		err     string // in the error, when refused
	}{
		{"rsa pkix", pemOf(&rsaKey.PublicKey), &rsaKey.PublicKey, ""},
		{"rsa pkcs1", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&rsaKey.PublicKey)})), &rsaKey.PublicKey, ""},
		{"ecdsa p-256", pemOf(p256), p256, ""},
		{"ecdsa p-384", pemOf(ecKey(elliptic.P384())), nil, "an ECDSA key on P-384, but CloudFront verifies ECDSA on P-256 (prime256v1) only"},
		{"ecdsa p-521", pemOf(ecKey(elliptic.P521())), nil, "an ECDSA key on P-521"},
		{"ed25519", pemOf(edPub), nil, "not an RSA or ECDSA P-256 public key"},
		{"rsa 1024 pkix", pemOf(rsaOfBits(1024)), nil, "an RSA key of 1024 bits, but CloudFront takes RSA keys of 2048 bits"},
		{"rsa 1024 pkcs1", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(rsaOfBits(1024))})), nil, "an RSA key of 1024 bits"},
		{"rsa 4096 pkcs1", string(pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(rsaOfBits(4096))})), rsaOfBits(4096), ""},
		// A key pasted into a CUE multi-line string deeper than its closing
		// quotes keeps the extra indentation on every line.
		{"indented lines", strings.ReplaceAll(pemOf(p256), "\n", "\n\t"), nil, "its lines start with spaces or tabs: indent them as the closing \"\"\" is"},
		{"no PEM", "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE", nil, "not PEM-encoded: want -----BEGIN PUBLIC KEY----- ... -----END PUBLIC KEY-----"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParsePublicKey(c.encoded)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.(interface{ Equal(crypto.PublicKey) bool }).Equal(c.want) {
				t.Fatalf("parsed another key")
			}
		})
	}
}
