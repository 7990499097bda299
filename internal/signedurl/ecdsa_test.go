package signedurl

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"

	"openfront.dev/compiler/table"
)

// ECDSA P-256 keys from testdata (made with openssl ecparam -name
// prime256v1 -genkey, as CloudFront's guide does): KEC1 signs, KEC2 is
// another key of the same kind.
func ecKey(t testing.TB, file string) *ecdsa.PrivateKey {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s: not PEM", file)
	}
	k, err := x509.ParseECPrivateKey(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return k
}

// cfSig is sig in CloudFront's URL-safe base64.
func cfSig(sig []byte) string { return cfBase64.Replace(base64.StdEncoding.EncodeToString(sig)) }

// sdkECCookies signs p with the SDK's Policy.Sign (its CookieSigner takes
// RSA keys only) and returns the Cookie line: CloudFront-Expires for a
// canned policy, CloudFront-Policy for a custom one.
func sdkECCookies(t testing.TB, key crypto.Signer, id string, p *sign.Policy, canned bool) string {
	t.Helper()
	sig, pol, err := p.Sign(key)
	if err != nil {
		t.Fatal(err)
	}
	first := "CloudFront-Policy=" + string(pol)
	if canned {
		first = "CloudFront-Expires=" + strconv.FormatInt(p.Statements[0].Condition.DateLessThan.Unix(), 10)
	}
	return first + "; CloudFront-Signature=" + string(sig) + "; CloudFront-Key-Pair-Id=" + id
}

// ecSHA256URL signs a canned policy for u with SHA-256 by hand: the SDK
// cannot (it hashes with SHA-1 only).
func ecSHA256URL(t testing.TB, key *ecdsa.PrivateKey, id, u string, expires time.Time, hashParam bool) string {
	t.Helper()
	d := sha256.Sum256([]byte(cannedJSON(u, expires)))
	sig, err := ecdsa.SignASN1(rand.Reader, key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	out := u + "?Expires=" + strconv.FormatInt(expires.Unix(), 10) + "&Signature=" + cfSig(sig) + "&Key-Pair-Id=" + id
	if hashParam {
		out += "&Hash-Algorithm=SHA256"
	}
	return out
}

// p1363URL signs like the SDK but writes the signature as r||s (IEEE
// P1363, as WebCrypto makes) instead of ASN.1 DER.
func p1363URL(t testing.TB, key *ecdsa.PrivateKey, id, u string, expires time.Time) string {
	t.Helper()
	d := sha1.Sum([]byte(cannedJSON(u, expires)))
	r, s, err := ecdsa.Sign(rand.Reader, key, d[:])
	if err != nil {
		t.Fatal(err)
	}
	raw := append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...)
	return u + "?Expires=" + strconv.FormatInt(expires.Unix(), 10) + "&Signature=" + cfSig(raw) + "&Key-Pair-Id=" + id
}

// TestVerifyECDSA checks signed URLs and cookies made with ECDSA P-256
// keys by AWS's Go signer, next to RSA keys in the same behavior.
func TestVerifyECDSA(t *testing.T) {
	keys(t)
	ec1, ec2 := ecKey(t, "ecdsa-p256.pem"), ecKey(t, "ecdsa-p256-other.pem")
	const host = "https://cdn.example.com"
	in1h, ago1h := now.Add(time.Hour), now.Add(-time.Hour)
	ecGroup := &table.KeyGroup{ID: "ec", Keys: map[string]crypto.PublicKey{"KEC1": ec1.Public()}}
	// A group in rotation from RSA to ECDSA holds both kinds.
	mixed := &table.KeyGroup{ID: "mixed", Keys: map[string]crypto.PublicKey{"KR": &keyK3.PublicKey, "KE": ec1.Public()}}
	both := []*table.KeyGroup{trustedGroup, ecGroup}
	sdkURLWith := func(t *testing.T, key crypto.Signer, id, u string, p *sign.Policy) string {
		t.Helper()
		s := sign.NewURLSigner(id, key)
		var out string
		var err error
		if p == nil {
			out, err = s.Sign(u, in1h)
		} else {
			out, err = s.SignWithPolicy(u, p)
		}
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := []struct {
		name   string
		req    func(t *testing.T) Request
		groups []*table.KeyGroup // nil: both, an RSA group and an ECDSA group
		want   string
	}{
		{name: "canned url", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, sdkURLWith(t, ec1, "KEC1", host+"/private/a.jpg?size=large", nil))
			}},
		{name: "custom url, wildcard and IP", want: "",
			req: func(t *testing.T) Request {
				p := sdkPolicy(host+"/live/*", in1h, ago1h, "198.51.100.0/24")
				return requestFor(t, sdkURLWith(t, ec1, "KEC1", host+"/live/index.m3u8", p))
			}},
		{name: "custom url, IP mismatch after a valid signature", want: CodeIPMismatch,
			req: func(t *testing.T) Request {
				p := sdkPolicy(host+"/live/*", in1h, time.Time{}, "203.0.113.0/24")
				return requestFor(t, sdkURLWith(t, ec1, "KEC1", host+"/live/index.m3u8", p))
			}},
		{name: "canned url, expired", want: CodeExpired,
			req: func(t *testing.T) Request {
				u, err := sign.NewURLSigner("KEC1", ec1).Sign(host+"/a.jpg", ago1h)
				if err != nil {
					t.Fatal(err)
				}
				return requestFor(t, u)
			}},
		{name: "canned url, path changed", want: CodeBadSignature,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURLWith(t, ec1, "KEC1", host+"/a.jpg", nil))
				r.RawPath = "/b.jpg"
				return r
			}},
		{name: "canned cookies", want: "",
			req: func(t *testing.T) Request {
				c := sdkECCookies(t, ec1, "KEC1", sign.NewCannedPolicy(host+"/private/a.jpg", in1h), true)
				return withCookies(requestFor(t, host+"/private/a.jpg"), c)
			}},
		{name: "custom cookies", want: "",
			req: func(t *testing.T) Request {
				c := sdkECCookies(t, ec1, "KEC1", sdkPolicy(host+"/members/*", in1h, time.Time{}, ""), false)
				return withCookies(requestFor(t, host+"/members/2026/report.pdf"), c)
			}},
		{name: "SHA-256 url with Hash-Algorithm=SHA256", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, ecSHA256URL(t, ec1, "KEC1", host+"/a.jpg", in1h, true))
			}},
		{name: "SHA-256 url without Hash-Algorithm: SHA-1 is the default", want: CodeBadSignature,
			req: func(t *testing.T) Request {
				return requestFor(t, ecSHA256URL(t, ec1, "KEC1", host+"/a.jpg", in1h, false))
			}},
		{name: "signature as r||s, not ASN.1 DER", want: CodeBadSignature,
			req: func(t *testing.T) Request { return requestFor(t, p1363URL(t, ec1, "KEC1", host+"/a.jpg", in1h)) }},
		{name: "RSA key of the same behavior still verifies", want: "",
			req: func(t *testing.T) Request { return requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h)) }},
		{name: "ECDSA signature under an RSA key's id", want: CodeBadSignature,
			req: func(t *testing.T) Request { return requestFor(t, sdkURLWith(t, ec1, "K1", host+"/a.jpg", nil)) }},
		{name: "RSA signature under an ECDSA key's id", want: CodeBadSignature,
			req: func(t *testing.T) Request { return requestFor(t, sdkURL(t, keyK1, "KEC1", host+"/a.jpg", in1h)) }},
		{name: "ECDSA key in an untrusted group", want: CodeUnknownKey, groups: []*table.KeyGroup{trustedGroup},
			req: func(t *testing.T) Request {
				return requestFor(t, sdkURLWith(t, ec1, "KEC1", host+"/a.jpg", nil))
			}},
		{name: "mixed group, its ECDSA key", want: "", groups: []*table.KeyGroup{mixed},
			req: func(t *testing.T) Request { return requestFor(t, sdkURLWith(t, ec1, "KE", host+"/a.jpg", nil)) }},
		{name: "mixed group, its RSA key", want: "", groups: []*table.KeyGroup{mixed},
			req: func(t *testing.T) Request { return requestFor(t, sdkURL(t, keyK3, "KR", host+"/a.jpg", in1h)) }},
		{name: "mixed group, another ECDSA key's signature", want: CodeBadSignature, groups: []*table.KeyGroup{mixed},
			req: func(t *testing.T) Request { return requestFor(t, sdkURLWith(t, ec2, "KE", host+"/a.jpg", nil)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			groups := c.groups
			if groups == nil {
				groups = both
			}
			req := c.req(t)
			// Twice through a caching verifier: the cached answer must be the same.
			v := NewVerifier(16)
			for i := range 2 {
				d := v.Verify(req, groups)
				if got := d.Code; got != c.want || d.Allowed != (c.want == "") {
					t.Fatalf("pass %d: code %q allowed %v, want %q: %s", i, got, d.Allowed, c.want, d.Reason)
				}
			}
		})
	}
}

// TestECDSAWrongKeySameReason checks that a signature by the wrong ECDSA
// key is refused exactly as one by the wrong RSA key: the same code and the
// same 403 reason, for URLs and cookies, canned and custom.
func TestECDSAWrongKeySameReason(t *testing.T) {
	keys(t)
	ec1, ec2 := ecKey(t, "ecdsa-p256.pem"), ecKey(t, "ecdsa-p256-other.pem")
	const u = "https://cdn.example.com/private/a.jpg"
	in1h := now.Add(time.Hour)
	// The same id names an RSA key in one behavior and an ECDSA key in the other.
	rsaGroups := []*table.KeyGroup{{ID: "g", Keys: map[string]crypto.PublicKey{"KX": &keyK1.PublicKey}}}
	ecGroups := []*table.KeyGroup{{ID: "g", Keys: map[string]crypto.PublicKey{"KX": ec1.Public()}}}
	forms := []struct {
		name string
		req  func(t *testing.T, wrong crypto.Signer) Request
	}{
		{"canned url", func(t *testing.T, wrong crypto.Signer) Request {
			s, err := sign.NewURLSigner("KX", wrong).Sign(u, in1h)
			if err != nil {
				t.Fatal(err)
			}
			return requestFor(t, s)
		}},
		{"custom url", func(t *testing.T, wrong crypto.Signer) Request {
			s, err := sign.NewURLSigner("KX", wrong).SignWithPolicy(u, sdkPolicy(u, in1h, time.Time{}, "198.51.100.0/24"))
			if err != nil {
				t.Fatal(err)
			}
			return requestFor(t, s)
		}},
		{"canned cookies", func(t *testing.T, wrong crypto.Signer) Request {
			return withCookies(requestFor(t, u), sdkECCookies(t, wrong, "KX", sign.NewCannedPolicy(u, in1h), true))
		}},
		{"custom cookies", func(t *testing.T, wrong crypto.Signer) Request {
			return withCookies(requestFor(t, u), sdkECCookies(t, wrong, "KX", sdkPolicy(u, in1h, time.Time{}, ""), false))
		}},
	}
	for _, f := range forms {
		t.Run(f.name, func(t *testing.T) {
			rsaD := Verify(f.req(t, keyK2), rsaGroups)
			ecD := Verify(f.req(t, ec2), ecGroups)
			if rsaD.Code != CodeBadSignature || ecD.Code != CodeBadSignature {
				t.Fatalf("codes: RSA %q, ECDSA %q (%s)", rsaD.Code, ecD.Code, ecD.Reason)
			}
			if ecD.Reason != rsaD.Reason || ecD.Via != rsaD.Via || ecD.KeyPairID != rsaD.KeyPairID {
				t.Fatalf("ECDSA denial differs from RSA's:\n%+v\n%+v", ecD, rsaD)
			}
			// The right key verifies the same form.
			if d := Verify(f.req(t, ec1), ecGroups); !d.Allowed {
				t.Fatalf("right key refused: %s", d.Reason)
			}
		})
	}
}

// TestSignerECDSA checks openfront's own signer with an ECDSA key: every
// output verifies, and its signature is ASN.1 DER over the policy's SHA-1
// (or, with SHA256, SHA-256) digest, checked with crypto/ecdsa directly.
func TestSignerECDSA(t *testing.T) {
	ec1 := ecKey(t, "ecdsa-p256.pem")
	groups := []*table.KeyGroup{{ID: "ec", Keys: map[string]crypto.PublicKey{"KEC1": ec1.Public()}}}
	const u = "https://cdn.example.com/private/a.jpg"
	policies := map[string]Policy{
		"canned": {Expires: now.Add(time.Hour)},
		"custom": {Resource: "https://cdn.example.com/private/*", Expires: now.Add(time.Hour), NotBefore: now.Add(-time.Minute)},
	}
	for pname, p := range policies {
		for _, sha := range []bool{false, true} {
			for _, cookies := range []bool{false, true} {
				name := pname + "/sha256=" + strconv.FormatBool(sha) + "/cookies=" + strconv.FormatBool(cookies)
				t.Run(name, func(t *testing.T) {
					s := Signer{KeyPairID: "KEC1", Key: ec1, SHA256: sha}
					var req Request
					var sig string
					if cookies {
						cs, err := s.SignCookies(u, p)
						if err != nil {
							t.Fatal(err)
						}
						req = withCookies(requestFor(t, u), cookieHeader(cs))
						for _, c := range cs {
							if c.Name == CookieSignature {
								sig = c.Value
							}
						}
					} else {
						su, err := s.SignURL(u, p)
						if err != nil {
							t.Fatal(err)
						}
						req = requestFor(t, su)
						sig = params(req.RawQuery)["Signature"]
						sig = strings.TrimPrefix(sig, "Signature=")
					}
					if d := Verify(req, groups); !d.Allowed {
						t.Fatalf("refused: %s", d.Reason)
					}
					der, err := base64.StdEncoding.DecodeString(strings.NewReplacer("-", "+", "_", "=", "~", "/").Replace(sig))
					if err != nil {
						t.Fatal(err)
					}
					msg := p.JSON(u)
					var digest []byte
					if sha {
						d := sha256.Sum256(msg)
						digest = d[:]
					} else {
						d := sha1.Sum(msg)
						digest = d[:]
					}
					if !ecdsa.VerifyASN1(&ec1.PublicKey, digest, der) {
						t.Fatalf("signature %q is not ASN.1 DER ECDSA over the policy", sig)
					}
				})
			}
		}
	}
}

// TestParsePrivateKeyECDSA: the forms openssl writes for a P-256 key are
// read; other curves are refused, since CloudFront verifies P-256 only.
func TestParsePrivateKeyECDSA(t *testing.T) {
	ec1 := ecKey(t, "ecdsa-p256.pem")
	for _, file := range []string{"ecdsa-p256.pem", "ecdsa-p256-pkcs8.pem"} {
		b, err := os.ReadFile("testdata/" + file)
		if err != nil {
			t.Fatal(err)
		}
		k, err := ParsePrivateKey(b)
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if !ec1.Equal(k) {
			t.Fatalf("%s: another key", file)
		}
	}
	b, err := os.ReadFile("testdata/ecdsa-p384.pem")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ParsePrivateKey(b); err == nil || !strings.Contains(err.Error(), "P-384") || !strings.Contains(err.Error(), "P-256") {
		t.Fatalf("P-384 key: %v", err)
	}
	// Nor can a P-384 key sign, however it was made.
	p384 := ecKey(t, "ecdsa-p384.pem")
	if _, err := (Signer{KeyPairID: "K", Key: p384}).SignURL("https://cdn.example.com/", Policy{Expires: now}); err == nil {
		t.Fatal("signed with a P-384 key")
	}
}
