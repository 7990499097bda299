package signedurl

import (
	"crypto/x509"
	"encoding/pem"
	"net/netip"
	"strings"
	"testing"
	"time"

	"openfront.dev/compiler/table"
)

// TestSignerMatchesSDK: PKCS #1 v1.5 signatures are deterministic, so for
// the same key and policy Signer must write exactly what AWS's signer writes.
func TestSignerMatchesSDK(t *testing.T) {
	keys(t)
	s := Signer{KeyPairID: "K1", Key: keyK1}
	exp := now.Add(time.Hour)
	cases := []struct {
		name, url string
		p         Policy
		sdk       func() string
	}{
		{"canned", "https://cdn.example.com/a.jpg?x=1&y=<&z", Policy{Expires: exp},
			func() string { return sdkURL(t, keyK1, "K1", "https://cdn.example.com/a.jpg?x=1&y=<&z", exp) }},
		{"custom wildcard", "https://cdn.example.com/live/i.m3u8", Policy{Resource: "https://cdn.example.com/live/*", Expires: exp},
			func() string {
				return sdkPolicyURL(t, keyK1, "K1", "https://cdn.example.com/live/i.m3u8", sdkPolicy("https://cdn.example.com/live/*", exp, time.Time{}, ""))
			}},
		{"custom all conditions", "https://cdn.example.com/a", Policy{Resource: "https://cdn.example.com/*", Expires: exp, NotBefore: now, IP: netip.MustParsePrefix("192.0.2.0/24")},
			func() string {
				return sdkPolicyURL(t, keyK1, "K1", "https://cdn.example.com/a", sdkPolicy("https://cdn.example.com/*", exp, now, "192.0.2.0/24"))
			}},
	}
	for _, c := range cases {
		got, err := s.SignURL(c.url, c.p)
		if err != nil {
			t.Fatal(err)
		}
		if want := c.sdk(); got != want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, got, want)
		}
	}
	cs, err := s.SignCookies("https://cdn.example.com/m/", Policy{Resource: "https://cdn.example.com/m/*", Expires: exp})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := cookieHeader(cs), sdkPolicyCookies(t, keyK1, "K1", sdkPolicy("https://cdn.example.com/m/*", exp, time.Time{}, "")); got != want {
		t.Errorf("cookies:\n got %s\nwant %s", got, want)
	}
}

func TestSignerRoundTrip(t *testing.T) {
	keys(t)
	groups := []*table.KeyGroup{trustedGroup}
	exp := now.Add(time.Hour)
	for _, sha := range []bool{false, true} {
		s := Signer{KeyPairID: "K2", Key: keyK2, SHA256: sha}
		for _, p := range []Policy{
			{Expires: exp},
			{Expires: exp, NotBefore: now.Add(-time.Minute), IP: netip.MustParsePrefix("198.51.100.0/24")},
			{Expires: exp, Resource: "https://cdn.example.com/a/*"},
		} {
			u, err := s.SignURL("https://cdn.example.com/a/b?c=d", p)
			if err != nil {
				t.Fatal(err)
			}
			if sha != strings.HasSuffix(u, "&Hash-Algorithm=SHA256") {
				t.Errorf("sha256 %v: %s", sha, u)
			}
			if d := Verify(requestFor(t, u), groups); !d.Allowed {
				t.Errorf("sha256 %v, %+v: %+v", sha, p, d)
			}
			cs, err := s.SignCookies("https://cdn.example.com/a/b?c=d", p)
			if err != nil {
				t.Fatal(err)
			}
			r := withCookies(requestFor(t, "https://cdn.example.com/a/b?c=d"), cookieHeader(cs))
			if d := Verify(r, groups); !d.Allowed {
				t.Errorf("cookies, sha256 %v, %+v: %+v", sha, p, d)
			}
			if p.Resource == "" && p.NotBefore.IsZero() && cs[0].Name != CookieExpires {
				t.Errorf("canned cookies start with %s", cs[0].Name)
			}
		}
	}
}

func TestSignerRefuses(t *testing.T) {
	keys(t)
	s := Signer{KeyPairID: "K1", Key: keyK1}
	for _, u := range []string{
		"cdn.example.com/a", "ftp://cdn.example.com/a", "https:///a", "https://cdn.example.com/a#frag",
		"https://cdn.example.com/a b", "https://cdn.example.com/é", "https://cdn.example.com/a?Expires=1",
		"https://cdn.example.com/a?x&Key-Pair-Id=K",
	} {
		if _, err := s.SignURL(u, Policy{Expires: now}); err == nil {
			t.Errorf("signed %q", u)
		}
	}
	if _, err := (Signer{Key: keyK1}).SignURL("https://cdn.example.com/", Policy{Expires: now}); err == nil {
		t.Error("signed without a key pair id")
	}
}

func TestParsePrivateKey(t *testing.T) {
	keys(t)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(keyK1)
	for name, b := range map[string][]byte{
		"pkcs1": pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(keyK1)}),
		"pkcs8": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}),
	} {
		k, err := ParsePrivateKey(b)
		if err != nil || !keyK1.Equal(k) {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, b := range []string{"", "junk", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"} {
		if _, err := ParsePrivateKey([]byte(b)); err == nil {
			t.Errorf("parsed %q", b)
		}
	}
}
