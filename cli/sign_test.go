package cli

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/signedurl"
)

var (
	signKeyOnce sync.Once
	signKey     *rsa.PrivateKey
	signKeyFile string
)

// testSignKey is a fresh RSA-2048 key, written as "RSA PRIVATE KEY" PEM
// (what `openssl genrsa -traditional` writes) to a file.
func testSignKey(t *testing.T) (*rsa.PrivateKey, string) {
	signKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		dir, err := os.MkdirTemp("", "openfront-sign-test")
		if err != nil {
			panic(err)
		}
		f := filepath.Join(dir, "private.pem")
		if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}), 0o600); err != nil {
			panic(err)
		}
		signKey, signKeyFile = k, f
	})
	return signKey, signKeyFile
}

func runSignCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = Main(append([]string{"sign"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// viewerRequest is the signedurl.Request a viewer sends for rawURL with cookies.
func viewerRequest(t *testing.T, rawURL string, cookies []*http.Cookie, now time.Time) signedurl.Request {
	t.Helper()
	scheme, rest, _ := strings.Cut(rawURL, "://")
	i := strings.IndexAny(rest, "/?")
	path, query := signedurl.SplitRequestURI(rest[i:])
	r := signedurl.Request{Scheme: scheme, Host: rest[:i], RawPath: path, RawQuery: query,
		ClientIP: netip.MustParseAddr("198.51.100.7"), Now: now}
	var parts []string
	for _, c := range cookies {
		parts = append(parts, c.Name+"="+c.Value)
	}
	if len(parts) > 0 {
		r.Cookies = []string{strings.Join(parts, "; ")}
	}
	return r
}

// TestSign compares `openfront sign` with AWS's signer: PKCS #1 v1.5 is
// deterministic, so for the same key and policy the output must be the
// same bytes. Every output must also pass signedurl.Verify.
func TestSign(t *testing.T) {
	key, keyFile := testSignKey(t)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	defer func(f func() time.Time) { signNow = f }(signNow)
	signNow = func() time.Time { return now }
	groups := []*table.KeyGroup{{ID: "g", Keys: map[string]crypto.PublicKey{"KTEST": &key.PublicKey}}}
	urls := sign.NewURLSigner("KTEST", key)
	cookies := sign.NewCookieSigner("KTEST", key)
	exp := now.Add(2 * time.Hour)
	policy := func(resource string, notBefore time.Time, ip string) *sign.Policy {
		c := sign.Condition{DateLessThan: sign.NewAWSEpochTime(exp)}
		if !notBefore.IsZero() {
			c.DateGreaterThan = sign.NewAWSEpochTime(notBefore)
		}
		if ip != "" {
			c.IPAddress = &sign.IPAddress{SourceIP: ip}
		}
		return &sign.Policy{Statements: []sign.Statement{{Resource: resource, Condition: c}}}
	}
	must := func(s string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	cases := []struct {
		name string
		args []string
		// sdk is AWS's signer's output for the same request, when it can make it.
		sdk string
		// at is the viewer's request URL, when not the signed URL itself.
		at string
	}{
		{name: "canned url, relative expiry",
			args: []string{"--url", "https://cdn.example.com/private/a.jpg?size=large&t=<1>", "--expires", "2h"},
			sdk:  must(urls.Sign("https://cdn.example.com/private/a.jpg?size=large&t=<1>", exp))},
		{name: "canned url, RFC 3339 expiry",
			args: []string{"--url", "https://cdn.example.com/caf%C3%A9.jpg", "--expires", exp.Format(time.RFC3339)},
			sdk:  must(urls.Sign("https://cdn.example.com/caf%C3%A9.jpg", exp))},
		{name: "canned url, Unix expiry, flags with =",
			args: []string{"--url=https://cdn.example.com/a", "--expires=" + strconv.FormatInt(exp.Unix(), 10)},
			sdk:  must(urls.Sign("https://cdn.example.com/a", exp))},
		{name: "custom url, HLS wildcard",
			args: []string{"--url", "https://cdn.example.com/live/index.m3u8", "--resource", "https://cdn.example.com/live/*", "--expires", "120m"},
			sdk:  must(urls.SignWithPolicy("https://cdn.example.com/live/index.m3u8", policy("https://cdn.example.com/live/*", time.Time{}, ""))),
			at:   "https://cdn.example.com/live/720p/seg1.ts"},
		{name: "custom url, all conditions",
			args: []string{"--url", "https://cdn.example.com/a", "--expires", "2h", "--not-before", "-10m", "--ip", "198.51.100.0/24"},
			sdk:  must(urls.SignWithPolicy("https://cdn.example.com/a", policy("https://cdn.example.com/a", now.Add(-10*time.Minute), "198.51.100.0/24")))},
		{name: "canned url, sha256",
			args: []string{"--url", "https://cdn.example.com/a?x=1", "--expires", "2h", "--sha256"}},
		{name: "custom url, sha256",
			args: []string{"--url", "https://cdn.example.com/v/a.mp4", "--resource", "https://cdn.example.com/v/*", "--expires", "2h", "--sha256"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runSignCmd(t, append([]string{"--key-pair-id", "KTEST", "--private-key", keyFile}, c.args...)...)
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			u := strings.TrimSuffix(out, "\n")
			if strings.Contains(u, "\n") {
				t.Fatalf("more than one line: %q", out)
			}
			if c.sdk != "" && u != c.sdk {
				t.Errorf("differs from AWS's signer:\n got %s\nwant %s", u, c.sdk)
			}
			if strings.Contains(strings.Join(c.args, " "), "--sha256") != strings.HasSuffix(u, "&Hash-Algorithm=SHA256") {
				t.Errorf("Hash-Algorithm: %s", u)
			}
			req := viewerRequest(t, u, nil, now)
			if c.at != "" {
				_, q, _ := strings.Cut(u, "?")
				req = viewerRequest(t, c.at+"?"+q, nil, now)
			}
			if d := signedurl.Verify(req, groups); !d.Allowed {
				t.Fatalf("openfront sign's URL refused: %+v", d)
			}
			req.Now = now.Add(3 * time.Hour)
			if d := signedurl.Verify(req, groups); d.Code != signedurl.CodeExpired {
				t.Fatalf("after --expires: %+v", d)
			}
		})
	}

	// Cookies.
	cookieCases := []struct {
		name    string
		args    []string
		sdk     []*http.Cookie
		request string
		first   string
	}{
		{name: "canned cookies",
			args:    []string{"--url", "https://cdn.example.com/private/a.jpg", "--expires", "2h"},
			request: "https://cdn.example.com/private/a.jpg", first: "CloudFront-Expires"},
		{name: "custom cookies, like AWS's signer",
			args: []string{"--url", "https://cdn.example.com/members/", "--resource", "https://cdn.example.com/members/*", "--expires", "2h"},
			sdk: func() []*http.Cookie {
				cs, err := cookies.SignWithPolicy(policy("https://cdn.example.com/members/*", time.Time{}, ""))
				if err != nil {
					t.Fatal(err)
				}
				return cs
			}(),
			request: "https://cdn.example.com/members/v/b.mp4", first: "CloudFront-Policy"},
		{name: "custom cookies, sha256, domain",
			args:    []string{"--url", "http://cdn.example.com/m/", "--resource", "http*://cdn.example.com/m/*", "--expires", "2h", "--sha256", "--cookie-domain", "example.com"},
			request: "http://cdn.example.com/m/x", first: "CloudFront-Policy"},
	}
	for _, c := range cookieCases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runSignCmd(t, append([]string{"--key-pair-id", "KTEST", "--private-key", keyFile, "--cookies"}, c.args...)...)
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got []*http.Cookie
			for line := range strings.Lines(out) {
				v, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "Set-Cookie: ")
				if !ok {
					t.Fatalf("not a Set-Cookie line: %q", line)
				}
				ck, err := http.ParseSetCookie(v)
				if err != nil {
					t.Fatal(err)
				}
				https := strings.HasPrefix(c.request, "https:")
				if !ck.HttpOnly || ck.Secure != https || ck.Path != "/" || !ck.Expires.IsZero() {
					t.Errorf("attributes of %q", v)
				}
				if strings.Contains(strings.Join(c.args, " "), "--cookie-domain") != (ck.Domain == "example.com") {
					t.Errorf("domain of %q", v)
				}
				got = append(got, ck)
			}
			if got[0].Name != c.first {
				t.Errorf("first cookie %s, want %s", got[0].Name, c.first)
			}
			for i, s := range c.sdk {
				if got[i].Name != s.Name || got[i].Value != s.Value {
					t.Errorf("cookie %d: %s=%s, AWS's signer %s=%s", i, got[i].Name, got[i].Value, s.Name, s.Value)
				}
			}
			if d := signedurl.Verify(viewerRequest(t, c.request, got, now), groups); !d.Allowed {
				t.Fatalf("openfront sign's cookies refused: %+v", d)
			}
		})
	}
}

func TestSignErrors(t *testing.T) {
	_, keyFile := testSignKey(t)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	defer func(f func() time.Time) { signNow = f }(signNow)
	signNow = func() time.Time { return now }
	notKey := filepath.Join(t.TempDir(), "public.pem")
	os.WriteFile(notKey, []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), 0o644)
	base := []string{"--key-pair-id", "K", "--private-key", keyFile}
	cases := []struct {
		name string
		args []string
		code int
		want string // in stderr
	}{
		{"no flags", nil, exitUsage, "are required"},
		{"no expiry", append(base, "--url", "https://h/a"), exitUsage, "--expires is required"},
		{"expiry in the past", append(base, "--url", "https://h/a", "--expires", "-1h"), exitUsage, "in the past"},
		{"bare number", append(base, "--url", "https://h/a", "--expires", "3600"), exitUsage, "write 3600s for a duration"},
		{"bad expiry", append(base, "--url", "https://h/a", "--expires", "tomorrow"), exitUsage, "not a duration"},
		{"not-before after expiry", append(base, "--url", "https://h/a", "--expires", "1h", "--not-before", "2h"), exitUsage, "not before --expires"},
		{"bad ip", append(base, "--url", "https://h/a", "--expires", "1h", "--ip", "10.0.0.0/40"), exitUsage, "--ip"},
		{"url outside the resource", append(base, "--url", "https://h/a", "--expires", "1h", "--resource", "https://h/b/*"), exitUsage, "does not match --resource"},
		// A canned policy takes the URL literally: the * would match no request.
		{"wildcard url without a resource", append(base, "--url", "https://h/private/*", "--expires", "1h", "--cookies"), exitUsage, "--resource 'https://h/private/*'"},
		{"url with a signature parameter", append(base, "--url", "https://h/a?Signature=x", "--expires", "1h"), exitUsage, "signature parameter"},
		{"relative url", append(base, "--url", "/a", "--expires", "1h"), exitUsage, "absolute"},
		{"missing key file", []string{"--key-pair-id", "K", "--private-key", "/nonexistent.pem", "--url", "https://h/a", "--expires", "1h"}, exitFail, "nonexistent.pem"},
		{"not a private key", []string{"--key-pair-id", "K", "--private-key", notKey, "--url", "https://h/a", "--expires", "1h"}, exitFail, "want RSA PRIVATE KEY"},
		{"stray argument", append(base, "--url", "https://h/a", "--expires", "1h", "extra"), exitUsage, "usage: openfront sign"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runSignCmd(t, c.args...)
			if code != c.code || out != "" || !strings.Contains(errOut, c.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errOut, c.code, c.want)
			}
		})
	}
}

// TestSignECDSA signs with an ECDSA P-256 key (openssl ecparam -name
// prime256v1 -genkey writes it as EC PRIVATE KEY): URLs and cookies,
// SHA-1 and SHA-256, each verified by signedurl.Verify against the public key.
// A P-384 key, which CloudFront cannot verify, is refused.
func TestSignECDSA(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	defer func(f func() time.Time) { signNow = f }(signNow)
	signNow = func() time.Time { return now }
	const keyFile = "testdata/sign/ecdsa-p256.pem"
	pemBytes, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pemBytes)
	key, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	groups := []*table.KeyGroup{{ID: "g", Keys: map[string]crypto.PublicKey{"KEC": key.Public()}}}
	cases := []struct {
		name    string
		args    []string
		request string // the viewer's URL, for cookies
	}{
		{name: "canned url", args: []string{"--url", "https://cdn.example.com/a.jpg?x=1", "--expires", "2h"}},
		{name: "custom url, sha256", args: []string{"--url", "https://cdn.example.com/v/a.mp4", "--resource", "https://cdn.example.com/v/*", "--ip", "198.51.100.0/24", "--expires", "2h", "--sha256"}},
		{name: "canned cookies", args: []string{"--url", "https://cdn.example.com/p/a.jpg", "--expires", "2h", "--cookies"},
			request: "https://cdn.example.com/p/a.jpg"},
		{name: "custom cookies, sha256", args: []string{"--url", "https://cdn.example.com/m/", "--resource", "https://cdn.example.com/m/*", "--expires", "2h", "--cookies", "--sha256"},
			request: "https://cdn.example.com/m/b.mp4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errOut := runSignCmd(t, append([]string{"--key-pair-id", "KEC", "--private-key", keyFile}, c.args...)...)
			if code != exitOK || errOut != "" {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var req signedurl.Request
			if c.request == "" {
				req = viewerRequest(t, strings.TrimSuffix(out, "\n"), nil, now)
			} else {
				var cs []*http.Cookie
				for line := range strings.Lines(out) {
					ck, err := http.ParseSetCookie(strings.TrimPrefix(strings.TrimSuffix(line, "\n"), "Set-Cookie: "))
					if err != nil {
						t.Fatal(err)
					}
					cs = append(cs, ck)
				}
				req = viewerRequest(t, c.request, cs, now)
			}
			if d := signedurl.Verify(req, groups); !d.Allowed {
				t.Fatalf("refused: %+v\n%s", d, out)
			}
		})
	}
	code, _, errOut := runSignCmd(t, "--key-pair-id", "KEC", "--private-key", "testdata/sign/ecdsa-p384.pem", "--url", "https://cdn.example.com/a", "--expires", "1h")
	if code != exitFail || !strings.Contains(errOut, "P-384") || !strings.Contains(errOut, "ecdsa-p384.pem") {
		t.Fatalf("P-384 key: exit %d: %s", code, errOut)
	}
}
