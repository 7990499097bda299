package signedurl

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"

	"openfront.dev/compiler/table"
)

// Signed URLs and cookies below are made by AWS's own signer,
// github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign, so compatibility
// with CloudFront's format is tested, not assumed. SHA-256, which that
// signer cannot make, is signed by hand here with crypto/rsa.

func sdkURL(t testing.TB, key *rsa.PrivateKey, id, u string, expires time.Time) string {
	t.Helper()
	s, err := sign.NewURLSigner(id, key).Sign(u, expires)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func sdkPolicyURL(t testing.TB, key *rsa.PrivateKey, id, u string, p *sign.Policy) string {
	t.Helper()
	s, err := sign.NewURLSigner(id, key).SignWithPolicy(u, p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sdkPolicy is a custom policy for resource valid until expires, with
// optional DateGreaterThan and AWS:SourceIp.
func sdkPolicy(resource string, expires, notBefore time.Time, ip string) *sign.Policy {
	c := sign.Condition{DateLessThan: sign.NewAWSEpochTime(expires)}
	if !notBefore.IsZero() {
		c.DateGreaterThan = sign.NewAWSEpochTime(notBefore)
	}
	if ip != "" {
		c.IPAddress = &sign.IPAddress{SourceIP: ip}
	}
	return &sign.Policy{Statements: []sign.Statement{{Resource: resource, Condition: c}}}
}

// cookieHeader is the Cookie line a browser sends for cookies.
func cookieHeader(cs []*http.Cookie) string {
	var parts []string
	for _, c := range cs {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return strings.Join(parts, "; ")
}

func sdkCannedCookies(t testing.TB, key *rsa.PrivateKey, id, u string, expires time.Time) string {
	t.Helper()
	cs, err := sign.NewCookieSigner(id, key).Sign(u, expires)
	if err != nil {
		t.Fatal(err)
	}
	return cookieHeader(cs)
}

func sdkPolicyCookies(t testing.TB, key *rsa.PrivateKey, id string, p *sign.Policy) string {
	t.Helper()
	cs, err := sign.NewCookieSigner(id, key).SignWithPolicy(p)
	if err != nil {
		t.Fatal(err)
	}
	return cookieHeader(cs)
}

var cfBase64 = strings.NewReplacer("+", "-", "=", "_", "/", "~")

// sha256Sig signs msg with SHA-256 by hand, in CloudFront's base64.
func sha256Sig(t testing.TB, key *rsa.PrivateKey, msg string) string {
	t.Helper()
	d := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		t.Fatal(err)
	}
	return cfBase64.Replace(base64.StdEncoding.EncodeToString(sig))
}

func cannedJSON(resource string, expires time.Time) string {
	return `{"Statement":[{"Resource":"` + resource + `","Condition":{"DateLessThan":{"AWS:EpochTime":` +
		strconv.FormatInt(expires.Unix(), 10) + `}}}]}`
}

func withCookies(r Request, lines ...string) Request { r.Cookies = lines; return r }
func withIP(r Request, ip string) Request            { r.ClientIP = netip.MustParseAddr(ip); return r }
func withHost(r Request, h string) Request           { r.Host = h; return r }
func withScheme(r Request, s string) Request         { r.Scheme = s; return r }
func withQuery(r Request, q string) Request          { r.RawQuery = q; return r }

// params maps each parameter name of a query to its "name=value".
func params(q string) map[string]string {
	m := map[string]string{}
	for _, p := range strings.Split(q, "&") {
		name, _, _ := strings.Cut(p, "=")
		m[name] = p
	}
	return m
}

// moveToEnd moves the query parameter named name to the end of the query.
func moveToEnd(q, name string) string {
	var keep, moved []string
	for _, p := range strings.Split(q, "&") {
		if strings.HasPrefix(p, name+"=") {
			moved = append(moved, p)
		} else {
			keep = append(keep, p)
		}
	}
	return strings.Join(append(keep, moved...), "&")
}

func replaceParam(q, name, value string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		if strings.HasPrefix(p, name+"=") {
			parts[i] = name + "=" + value
		}
	}
	return strings.Join(parts, "&")
}

func TestVerify(t *testing.T) {
	keys(t)
	const host = "https://cdn.example.com"
	in1h, ago1h := now.Add(time.Hour), now.Add(-time.Hour)
	trusted := []*table.KeyGroup{trustedGroup}
	cases := []struct {
		name   string
		req    func(t *testing.T) Request
		groups []*table.KeyGroup // nil: the trusted group
		public bool              // the behavior has no trusted key groups
		want   string            // a Code*, or "" for allowed
		// volatile reasons (they quote the real clock) stay out of the golden file.
		volatile bool
	}{
		// Canned policies in signed URLs.
		{name: "canned url", want: "",
			req: func(t *testing.T) Request { return requestFor(t, sdkURL(t, keyK1, "K1", host+"/private/a.jpg", in1h)) }},
		{name: "canned url with query", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, sdkURL(t, keyK1, "K1", host+"/private/a.jpg?color=red&size=medium", in1h))
			}},
		{name: "canned url with & and < in the query, not HTML-escaped", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, sdkURL(t, keyK1, "K1", host+"/search?q=a<b&r=c>d", in1h))
			}},
		{name: "canned url, percent-encoded path signed as sent", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, sdkURL(t, keyK1, "K1", host+"/caf%C3%A9/a%20b%2Fc.jpg", in1h))
			}},
		{name: "canned url, path re-encoded after signing", want: CodeBadSignature,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURL(t, keyK1, "K1", host+"/caf%C3%A9/a.jpg", in1h))
				r.RawPath = "/caf%c3%a9/a.jpg"
				return r
			}},
		{name: "canned url, signature parameters in the middle of the query", want: "",
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg?x=1&y=2", in1h))
				p := params(r.RawQuery)
				return withQuery(r, "x=1&"+p["Expires"]+"&"+p["Signature"]+"&y=2&"+p["Key-Pair-Id"])
			}},
		{name: "canned url, signature parameters first", want: "",
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg?x=1&y=2", in1h))
				p := params(r.RawQuery)
				return withQuery(r, p["Key-Pair-Id"]+"&"+p["Signature"]+"&"+p["Expires"]+"&x=1&y=2")
			}},
		{name: "canned url, parameters reordered", want: CodeBadSignature,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg?x=1&y=2", in1h))
				r.RawQuery = moveToEnd(r.RawQuery, "x")
				return r
			}},
		{name: "canned url, parameter added", want: CodeBadSignature,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h))
				r.RawQuery += "&extra=1"
				return r
			}},
		{name: "canned url signed with a trailing ?", want: "",
			req: func(t *testing.T) Request { return requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg?", in1h)) }},
		{name: "canned url, signature percent-encoded by the client", want: "",
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h))
				sig := strings.TrimPrefix(params(r.RawQuery)["Signature"], "Signature=")
				return withQuery(r, replaceParam(r.RawQuery, "Signature", strings.NewReplacer("~", "%7E", "-", "%2d", "_", "%5F").Replace(sig)))
			}},
		{name: "canned url, host in upper case with default port", want: "",
			req: func(t *testing.T) Request {
				return withHost(requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h)), "CDN.Example.COM:443")
			}},
		{name: "canned url, other host", want: CodeBadSignature,
			req: func(t *testing.T) Request {
				return withHost(requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h)), "other.example.com")
			}},
		{name: "canned url, other scheme", want: CodeBadSignature,
			req: func(t *testing.T) Request {
				return withScheme(requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h)), "http")
			}},
		{name: "canned url, other path", want: CodeBadSignature,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h))
				r.RawPath = "/b.jpg"
				return r
			}},
		{name: "canned url, Expires changed", want: CodeBadSignature,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h))
				return withQuery(r, replaceParam(r.RawQuery, "Expires", strconv.FormatInt(now.Add(48*time.Hour).Unix(), 10)))
			}},
		{name: "canned url expired", want: CodeExpired,
			req: func(t *testing.T) Request { return requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", ago1h)) }},
		{name: "canned url expiring this second", want: CodeExpired,
			req: func(t *testing.T) Request { return requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", now)) }},
		{name: "rotation: second key of the group", want: "",
			req: func(t *testing.T) Request { return requestFor(t, sdkURL(t, keyK2, "K2", host+"/a.jpg", in1h)) }},
		{name: "key id of one key, signed by the other", want: CodeBadSignature,
			req: func(t *testing.T) Request { return requestFor(t, sdkURL(t, keyK2, "K1", host+"/a.jpg", in1h)) }},
		{name: "unknown key pair id", want: CodeUnknownKey,
			req: func(t *testing.T) Request { return requestFor(t, sdkURL(t, keyK3, "K3", host+"/a.jpg", in1h)) }},
		{name: "key of a second trusted group", want: "", groups: []*table.KeyGroup{trustedGroup, otherGroup},
			req: func(t *testing.T) Request { return requestFor(t, sdkURL(t, keyK3, "K3", host+"/a.jpg", in1h)) }},
		{name: "unsigned request", want: CodeMissingKeyPairID,
			req: func(t *testing.T) Request { return requestFor(t, host+"/a.jpg?x=1") }},
		{name: "signed url without Key-Pair-Id", want: CodeMissingKeyPairID,
			req: func(t *testing.T) Request {
				u := sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h)
				return requestFor(t, u[:strings.Index(u, "&Key-Pair-Id")])
			}},
		{name: "signed url without Signature", want: CodeMalformed,
			req: func(t *testing.T) Request { return requestFor(t, host+"/a.jpg?Expires=1900000000&Key-Pair-Id=K1") }},
		{name: "signed url without Expires or Policy", want: CodeMalformed,
			req: func(t *testing.T) Request { return requestFor(t, host+"/a.jpg?Signature=abcd&Key-Pair-Id=K1") }},
		{name: "Expires not a number", want: CodeMalformed,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h))
				return withQuery(r, replaceParam(r.RawQuery, "Expires", "1e10"))
			}},
		{name: "signature in standard base64", want: CodeMalformed,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h))
				sig := strings.TrimPrefix(params(r.RawQuery)["Signature"], "Signature=")
				return withQuery(r, replaceParam(r.RawQuery, "Signature", strings.NewReplacer("-", "+", "~", "/", "_", "=").Replace(sig)))
			}},
		{name: "signature with a line break", want: CodeMalformed,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h))
				return withQuery(r, strings.Replace(r.RawQuery, "Signature=", "Signature=%0A", 1))
			}},
		{name: "signature truncated", want: CodeMalformed,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h))
				i := strings.Index(r.RawQuery, "&Key-Pair-Id")
				return withQuery(r, r.RawQuery[:i-3]+r.RawQuery[i:])
			}},
		{name: "Expires given twice", want: CodeMalformed,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h))
				return withQuery(r, "Expires=1&"+r.RawQuery)
			}},
		{name: "both Expires and Policy", want: CodeMalformed,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a.jpg", sdkPolicy(host+"/a.jpg", in1h, time.Time{}, "")))
				return withQuery(r, r.RawQuery+"&Expires=1900000000")
			}},
		{name: "public behavior ignores signature parameters", public: true, want: "",
			req: func(t *testing.T) Request { return requestFor(t, host+"/a.jpg?Expires=1&Signature=junk") }},

		{name: "rtmp stream name", want: "",
			req: func(t *testing.T) Request {
				u := sdkURL(t, keyK1, "K1", "rtmp://s.example.com/videos/a.mp4", in1h) // "videos/a.mp4?Expires=..."
				path, query := SplitRequestURI(u)
				return Request{Scheme: "rtmp", Host: "s.example.com", RawPath: path, RawQuery: query, Now: now}
			}},
		{name: "zero clock is not the distant past", want: CodeExpired, volatile: true,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", now.Add(-time.Hour)))
				r.Now = time.Time{}
				return r
			}},

		// Custom policies in signed URLs.
		{name: "custom url, exact resource", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a.jpg", sdkPolicy(host+"/a.jpg", in1h, time.Time{}, "")))
			}},
		{name: "custom url, HLS wildcard", want: "",
			req: func(t *testing.T) Request {
				u := sdkPolicyURL(t, keyK1, "K1", host+"/live/index.m3u8", sdkPolicy(host+"/live/*", in1h, time.Time{}, ""))
				r := requestFor(t, u)
				r.RawPath = "/live/720p/segment00042.ts" // a player reuses the query for each segment
				return r
			}},
		{name: "custom url, wildcard does not cover the path", want: CodeResourceMismatch,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/live/index.m3u8", sdkPolicy(host+"/live/*", in1h, time.Time{}, "")))
				r.RawPath = "/vod/a.ts"
				return r
			}},
		// The edge and the origin resolve dot segments: /live/../vod/a.ts
		// is /vod/a.ts, which a policy for /live/* does not cover.
		{name: "custom url, dot segment out of the wildcard", want: CodeResourceMismatch,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/live/index.m3u8", sdkPolicy(host+"/live/*", in1h, time.Time{}, "")))
				r.RawPath = "/live/%2E%2E/vod/a.ts"
				return r
			}},
		{name: "custom url, dot segment within the wildcard", want: "",
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/live/index.m3u8", sdkPolicy(host+"/live/*", in1h, time.Time{}, "")))
				r.RawPath = "/live/720p/../480p/a.ts"
				return r
			}},
		// Only dot segments are resolved for the check: a Resource keeps
		// the escapes its signer wrote (Java's URLEncoder writes ~ as %7E).
		{name: "custom url, an escape of an unreserved character", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a%7Eb.jpg", sdkPolicy(host+"/a%7Eb.jpg", in1h, time.Time{}, "")))
			}},
		{name: "custom url, an escape under a wildcard", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/my%2Dfolder/a.jpg", sdkPolicy(host+"/my%2Dfolder/*", in1h, time.Time{}, "")))
			}},
		{name: "custom url, two slashes", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a//b.jpg", sdkPolicy(host+"/a//b.jpg", in1h, time.Time{}, "")))
			}},
		{name: "custom url, ? matches one character", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/img/a1.jpg", sdkPolicy(host+"/img/a?.jpg", in1h, time.Time{}, "")))
			}},
		{name: "custom url, ? does not match two", want: CodeResourceMismatch,
			req: func(t *testing.T) Request {
				return requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/img/a12.jpg", sdkPolicy(host+"/img/a?.jpg", in1h, time.Time{}, "")))
			}},
		{name: "custom url, http* scheme wildcard over http", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, sdkPolicyURL(t, keyK1, "K1", "http://cdn.example.com/a.jpg", sdkPolicy("http*://cdn.example.com/*", in1h, time.Time{}, "")))
			}},
		{name: "custom url, resource with a query", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a.jpg?v=2", sdkPolicy(host+"/a.jpg?v=*", in1h, time.Time{}, "")))
			}},
		{name: "custom url, resource mismatch", want: CodeResourceMismatch,
			req: func(t *testing.T) Request {
				return requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/b.jpg", sdkPolicy(host+"/a.jpg", in1h, time.Time{}, "")))
			}},
		{name: "custom url, IP inside the CIDR", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a.jpg", sdkPolicy(host+"/*", in1h, time.Time{}, "198.51.100.0/24")))
			}},
		{name: "custom url, IP outside the CIDR", want: CodeIPMismatch,
			req: func(t *testing.T) Request {
				return withIP(requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a.jpg", sdkPolicy(host+"/*", in1h, time.Time{}, "198.51.100.0/24"))), "203.0.113.9")
			}},
		{name: "custom url, IPv6 CIDR", want: "",
			req: func(t *testing.T) Request {
				return withIP(requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a.jpg", sdkPolicy(host+"/*", in1h, time.Time{}, "2001:db8::/32"))), "2001:db8:1::5")
			}},
		{name: "custom url, IPv4-mapped client matches IPv4 CIDR", want: "",
			req: func(t *testing.T) Request {
				return withIP(requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a.jpg", sdkPolicy(host+"/*", in1h, time.Time{}, "198.51.100.7/32"))), "::ffff:198.51.100.7")
			}},
		{name: "custom url, unknown client address", want: CodeIPMismatch,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a.jpg", sdkPolicy(host+"/*", in1h, time.Time{}, "198.51.100.0/24")))
				r.ClientIP = netip.Addr{}
				return r
			}},
		{name: "custom url, not yet valid", want: CodeNotYetValid,
			req: func(t *testing.T) Request {
				return requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a.jpg", sdkPolicy(host+"/*", now.Add(2*time.Hour), in1h, "")))
			}},
		{name: "custom url, valid from this second", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a.jpg", sdkPolicy(host+"/*", in1h, now, "")))
			}},
		{name: "custom url, within its window", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a.jpg", sdkPolicy(host+"/*", in1h, ago1h, "198.51.100.0/24")))
			}},
		{name: "custom url expired", want: CodeExpired,
			req: func(t *testing.T) Request {
				return requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a.jpg", sdkPolicy(host+"/*", ago1h, time.Time{}, "")))
			}},
		{name: "custom url, policy changed", want: CodeBadSignature,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a.jpg", sdkPolicy(host+"/a.jpg", in1h, time.Time{}, "")))
				other := sdkPolicyURL(t, keyK1, "K1", host+"/a.jpg", sdkPolicy(host+"/*", in1h, time.Time{}, ""))
				p := strings.SplitN(strings.SplitN(other, "Policy=", 2)[1], "&", 2)[0]
				return withQuery(r, replaceParam(r.RawQuery, "Policy", p))
			}},
		{name: "custom url, policy without a resource", want: "",
			req: func(t *testing.T) Request {
				msg := fmt.Sprintf(`{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":%d}}}]}`, in1h.Unix())
				s := Signer{KeyPairID: "K1", Key: keyK1}
				sig, _ := s.sign([]byte(msg))
				return requestFor(t, host+"/any/thing?Policy="+EncodeBase64([]byte(msg))+"&Signature="+sig+"&Key-Pair-Id=K1")
			}},
		{name: "custom url, policy with an unknown condition", want: CodeMalformed,
			req: func(t *testing.T) Request {
				msg := fmt.Sprintf(`{"Statement":[{"Resource":"%s/*","Condition":{"DateLessThan":{"AWS:EpochTime":%d},"IpAdress":{"AWS:SourceIp":"10.0.0.0/8"}}}]}`, host, in1h.Unix())
				s := Signer{KeyPairID: "K1", Key: keyK1}
				sig, _ := s.sign([]byte(msg))
				return requestFor(t, host+"/a?Policy="+EncodeBase64([]byte(msg))+"&Signature="+sig+"&Key-Pair-Id=K1")
			}},
		{name: "custom url, pretty-printed policy verified over its bytes", want: "",
			req: func(t *testing.T) Request {
				msg := fmt.Sprintf("{\n  \"Statement\": [\n    {\n      \"Resource\": \"%s\\/*\",\n      \"Condition\": {\"DateLessThan\": {\"AWS:EpochTime\": %d}}\n    }\n  ]\n}\n", host, in1h.Unix())
				s := Signer{KeyPairID: "K1", Key: keyK1}
				sig, _ := s.sign([]byte(msg))
				return requestFor(t, host+"/a?Policy="+EncodeBase64([]byte(msg))+"&Signature="+sig+"&Key-Pair-Id=K1")
			}},

		// SHA-256.
		{name: "sha256 canned url", want: "",
			req: func(t *testing.T) Request {
				u := host + "/a.jpg?x=1"
				return requestFor(t, u+"&Expires="+strconv.FormatInt(in1h.Unix(), 10)+"&Signature="+sha256Sig(t, keyK1, cannedJSON(u, in1h))+"&Key-Pair-Id=K1&Hash-Algorithm=SHA256")
			}},
		{name: "sha256 signature without Hash-Algorithm", want: CodeBadSignature,
			req: func(t *testing.T) Request {
				u := host + "/a.jpg"
				return requestFor(t, u+"?Expires="+strconv.FormatInt(in1h.Unix(), 10)+"&Signature="+sha256Sig(t, keyK1, cannedJSON(u, in1h))+"&Key-Pair-Id=K1")
			}},
		{name: "sha1 signature claiming SHA256", want: CodeBadSignature,
			req: func(t *testing.T) Request {
				return requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h)+"&Hash-Algorithm=SHA256")
			}},
		{name: "Hash-Algorithm=SHA1 said out loud", want: "",
			req: func(t *testing.T) Request {
				return requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h)+"&Hash-Algorithm=SHA1")
			}},
		{name: "unknown Hash-Algorithm", want: CodeMalformed,
			req: func(t *testing.T) Request {
				return requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", in1h)+"&Hash-Algorithm=MD5")
			}},
		{name: "sha256 custom url", want: "",
			req: func(t *testing.T) Request {
				msg := fmt.Sprintf(`{"Statement":[{"Resource":"%s/*","Condition":{"DateLessThan":{"AWS:EpochTime":%d}}}]}`, host, in1h.Unix())
				return requestFor(t, host+"/v/a.ts?Hash-Algorithm=SHA256&Policy="+EncodeBase64([]byte(msg))+"&Signature="+sha256Sig(t, keyK1, msg)+"&Key-Pair-Id=K1")
			}},
		{name: "sha256 cookies", want: "",
			req: func(t *testing.T) Request {
				msg := fmt.Sprintf(`{"Statement":[{"Resource":"%s/*","Condition":{"DateLessThan":{"AWS:EpochTime":%d}}}]}`, host, in1h.Unix())
				return withCookies(requestFor(t, host+"/v/a.ts"), "CloudFront-Policy="+EncodeBase64([]byte(msg))+"; CloudFront-Signature="+sha256Sig(t, keyK1, msg)+
					"; CloudFront-Key-Pair-Id=K1; CloudFront-Hash-Algorithm=SHA256")
			}},

		// Signed cookies.
		{name: "sdk canned cookies (sent as CloudFront-Policy)", want: "",
			req: func(t *testing.T) Request {
				return withCookies(requestFor(t, host+"/a.jpg"), sdkCannedCookies(t, keyK1, "K1", host+"/a.jpg", in1h))
			}},
		{name: "sdk canned cookies, other URL", want: CodeResourceMismatch,
			req: func(t *testing.T) Request {
				return withCookies(requestFor(t, host+"/b.jpg"), sdkCannedCookies(t, keyK1, "K1", host+"/a.jpg", in1h))
			}},
		{name: "sdk custom cookies, wildcard", want: "",
			req: func(t *testing.T) Request {
				return withCookies(requestFor(t, host+"/members/videos/b.mp4?t=3"), sdkPolicyCookies(t, keyK1, "K1", sdkPolicy(host+"/members/*", in1h, time.Time{}, "")))
			}},
		{name: "sdk custom cookies among other cookies, two header lines", want: "",
			req: func(t *testing.T) Request {
				c := sdkPolicyCookies(t, keyK2, "K2", sdkPolicy(host+"/members/*", in1h, time.Time{}, "198.51.100.0/24"))
				parts := strings.SplitN(c, "; ", 2)
				return withCookies(requestFor(t, host+"/members/a"), "session=abc; "+parts[0], "theme=dark; "+parts[1])
			}},
		{name: "sdk custom cookies expired", want: CodeExpired,
			req: func(t *testing.T) Request {
				return withCookies(requestFor(t, host+"/members/a"), sdkPolicyCookies(t, keyK1, "K1", sdkPolicy(host+"/members/*", ago1h, time.Time{}, "")))
			}},
		{name: "sdk custom cookies, wrong IP", want: CodeIPMismatch,
			req: func(t *testing.T) Request {
				return withIP(withCookies(requestFor(t, host+"/members/a"), sdkPolicyCookies(t, keyK1, "K1", sdkPolicy(host+"/members/*", in1h, time.Time{}, "192.0.2.0/24"))), "198.51.100.7")
			}},
		{name: "sdk cookies, unknown key", want: CodeUnknownKey,
			req: func(t *testing.T) Request {
				return withCookies(requestFor(t, host+"/members/a"), sdkPolicyCookies(t, keyK3, "K3", sdkPolicy(host+"/members/*", in1h, time.Time{}, "")))
			}},
		{name: "cookies without CloudFront-Key-Pair-Id", want: CodeMissingKeyPairID,
			req: func(t *testing.T) Request {
				c := sdkPolicyCookies(t, keyK1, "K1", sdkPolicy(host+"/members/*", in1h, time.Time{}, ""))
				return withCookies(requestFor(t, host+"/members/a"), c[:strings.Index(c, "; CloudFront-Key-Pair-Id")])
			}},
		{name: "canned cookies with CloudFront-Expires (AWS's JavaScript signer)", want: "",
			req: func(t *testing.T) Request {
				u := host + "/a.jpg"
				s := Signer{KeyPairID: "K1", Key: keyK1}
				sig, _ := s.sign([]byte(cannedJSON(u, in1h)))
				return withCookies(requestFor(t, u), fmt.Sprintf("CloudFront-Expires=%d; CloudFront-Signature=%s; CloudFront-Key-Pair-Id=K1", in1h.Unix(), sig))
			}},
		{name: "canned cookies with CloudFront-Expires, other URL", want: CodeBadSignature,
			req: func(t *testing.T) Request {
				s := Signer{KeyPairID: "K1", Key: keyK1}
				sig, _ := s.sign([]byte(cannedJSON(host+"/a.jpg", in1h)))
				return withCookies(requestFor(t, host+"/b.jpg"), fmt.Sprintf("CloudFront-Expires=%d; CloudFront-Signature=%s; CloudFront-Key-Pair-Id=K1", in1h.Unix(), sig))
			}},
		{name: "signed url wins over cookies", want: CodeExpired,
			req: func(t *testing.T) Request {
				r := requestFor(t, sdkURL(t, keyK1, "K1", host+"/a.jpg", ago1h))
				return withCookies(r, sdkPolicyCookies(t, keyK1, "K1", sdkPolicy(host+"/*", in1h, time.Time{}, "")))
			}},
		// Hash-Algorithm alone makes a signed URL, as each of the others
		// does: CloudFront then "won't look at signed cookies"
		// (private-content-choosing-signed-urls-cookies.md).
		{name: "sha256 cookies, Hash-Algorithm=SHA1 in the page's query", want: CodeMissingKeyPairID,
			req: func(t *testing.T) Request {
				msg := fmt.Sprintf(`{"Statement":[{"Resource":"%s/*","Condition":{"DateLessThan":{"AWS:EpochTime":%d}}}]}`, host, in1h.Unix())
				return withCookies(requestFor(t, host+"/v/a.ts?Hash-Algorithm=SHA1"), "CloudFront-Policy="+EncodeBase64([]byte(msg))+"; CloudFront-Signature="+sha256Sig(t, keyK1, msg)+
					"; CloudFront-Key-Pair-Id=K1; CloudFront-Hash-Algorithm=SHA256")
			}},
		{name: "sha1 cookies, Hash-Algorithm given twice in the query", want: CodeMalformed,
			req: func(t *testing.T) Request {
				return withCookies(requestFor(t, host+"/members/a?Hash-Algorithm=SHA256&Hash-Algorithm=SHA256"), sdkPolicyCookies(t, keyK1, "K1", sdkPolicy(host+"/members/*", in1h, time.Time{}, "")))
			}},
		{name: "quoted cookie values", want: "",
			req: func(t *testing.T) Request {
				c := sdkPolicyCookies(t, keyK1, "K1", sdkPolicy(host+"/*", in1h, time.Time{}, ""))
				c = strings.NewReplacer("Policy=", `Policy="`, "; CloudFront-Signature", `"; CloudFront-Signature`).Replace(c)
				return withCookies(requestFor(t, host+"/a"), c)
			}},
	}
	var golden strings.Builder
	v := NewVerifier(64)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := c.req(t)
			groups := c.groups
			if groups == nil && !c.public {
				groups = trusted
			}
			for _, verify := range []struct {
				name string
				f    func() Decision
			}{
				{"Verify", func() Decision { return Verify(req, groups) }},
				{"cached, first", func() Decision { return v.Verify(req, groups) }},
				{"cached, again", func() Decision { return v.Verify(req, groups) }},
			} {
				d := verify.f()
				if d.Allowed != (c.want == "") || d.Code != c.want {
					t.Fatalf("%s: %s?%s cookies %q: got %+v, want code %q", verify.name, req.RawPath, req.RawQuery, req.Cookies, d, c.want)
				}
				if !d.Allowed && (d.Reason == "" || !strings.HasSuffix(d.Reason, ".")) {
					t.Errorf("reason %q is not a sentence", d.Reason)
				}
				// The verifier's caches must not change what the viewer reads.
				if want := Verify(req, groups); d.ErrorCode != want.ErrorCode || d.ErrorMessage != want.ErrorMessage {
					t.Errorf("%s: CloudFront error %s %q, uncached %s %q", verify.name, d.ErrorCode, d.ErrorMessage, want.ErrorCode, want.ErrorMessage)
				}
			}
			d := Verify(req, groups)
			if c.volatile {
				fmt.Fprintf(&golden, "%s: %s (%s)\n", c.name, d.Code, d.ErrorCode)
			} else if d.Allowed {
				fmt.Fprintf(&golden, "%s: allowed (%s)\n", c.name, or(d.Via, "public"))
			} else {
				fmt.Fprintf(&golden, "%s: %s (%s): %s\n", c.name, d.Code, d.ErrorCode, d.Reason)
			}
		})
	}
	checkGolden(t, "decisions.golden", golden.String())
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestVerifyCacheKeepsExpiry: a signature verified while valid is remembered,
// and still expires.
func TestVerifyCacheKeepsExpiry(t *testing.T) {
	keys(t)
	v := NewVerifier(8)
	groups := []*table.KeyGroup{trustedGroup}
	for _, u := range []string{
		sdkURL(t, keyK1, "K1", "https://cdn.example.com/a", now.Add(time.Minute)),
		sdkPolicyURL(t, keyK1, "K1", "https://cdn.example.com/a", sdkPolicy("https://cdn.example.com/*", now.Add(time.Minute), time.Time{}, "")),
	} {
		req := requestFor(t, u)
		if d := v.Verify(req, groups); !d.Allowed {
			t.Fatalf("fresh: %+v", d)
		}
		req.Now = now.Add(2 * time.Minute)
		if d := v.Verify(req, groups); d.Code != CodeExpired {
			t.Fatalf("cached after expiry: %+v", d)
		}
	}
	// A cached signature does not vouch for another message.
	u := sdkURL(t, keyK1, "K1", "https://cdn.example.com/a", now.Add(time.Minute))
	v.Verify(requestFor(t, u), groups)
	for _, c := range []struct {
		name string
		edit func(r *Request)
	}{
		{"another path", func(r *Request) { r.RawPath = "/b" }},
		{"another host", func(r *Request) { r.Host = "other.example.com" }},
		{"another scheme", func(r *Request) { r.Scheme = "http" }},
		{"a later Expires", func(r *Request) {
			r.RawQuery = strings.Replace(r.RawQuery, "Expires=", "Expires=1", 1)
		}},
	} {
		req := requestFor(t, u)
		c.edit(&req)
		if d := v.Verify(req, groups); d.Code != CodeBadSignature {
			t.Errorf("cached canned signature, %s: %+v", c.name, d)
		}
	}
	// A remembered custom policy still has its conditions checked, and a
	// changed signature beside it is verified afresh.
	pu := sdkPolicyURL(t, keyK1, "K1", "https://cdn.example.com/p/a", sdkPolicy("https://cdn.example.com/p/*", now.Add(time.Minute), time.Time{}, "198.51.100.0/24"))
	ok := requestFor(t, pu)
	ok.ClientIP = netip.MustParseAddr("198.51.100.7")
	if d := v.Verify(ok, groups); !d.Allowed {
		t.Fatalf("custom policy, fresh: %+v", d)
	}
	for _, c := range []struct {
		name string
		edit func(r *Request)
		want string
	}{
		{"same request again", func(r *Request) {}, ""},
		{"another address", func(r *Request) { r.ClientIP = netip.MustParseAddr("203.0.113.1") }, CodeIPMismatch},
		{"a resource outside the policy", func(r *Request) { r.RawPath = "/q/a" }, CodeResourceMismatch},
		{"after expiry", func(r *Request) { r.Now = now.Add(2 * time.Minute) }, CodeExpired},
		{"a changed signature", func(r *Request) { r.RawQuery = strings.Replace(r.RawQuery, "Signature=", "Signature=AAAA", 1) }, CodeBadSignature},
	} {
		r := ok
		c.edit(&r)
		if d := v.Verify(r, groups); d.Code != c.want || d.Allowed != (c.want == "") {
			t.Errorf("cached custom policy, %s: %+v, want %q", c.name, d, c.want)
		}
	}
	// Nor does the cache outgrow its bound.
	for i := range 40 {
		v.Verify(requestFor(t, sdkURL(t, keyK1, "K1", fmt.Sprintf("https://cdn.example.com/%d", i), now.Add(time.Minute))), groups)
	}
	for i := range 40 {
		v.Verify(requestFor(t, sdkPolicyURL(t, keyK1, "K1", "https://cdn.example.com/a", sdkPolicy(fmt.Sprintf("https://cdn.example.com/%d*", i), now.Add(time.Minute), time.Time{}, ""))), groups)
	}
	if n := len(v.cache.cur) + len(v.cache.old); n > 16 {
		t.Fatalf("cache holds %d entries, bound 16", n)
	}
	if n := len(v.policies.cur) + len(v.policies.old); n > 16 || n == 0 {
		t.Fatalf("policy cache holds %d entries, bound 16", n)
	}
	if n := len(v.canned.cur) + len(v.canned.old); n > 16 || n == 0 {
		t.Fatalf("canned cache holds %d entries, bound 16", n)
	}
}

// TestVerifyAnyTime: a request with AnyTime takes Expires, DateLessThan
// and DateGreaterThan as holding, and still has everything else checked,
// the address after an expired DateLessThan too; cached or not.
func TestVerifyAnyTime(t *testing.T) {
	keys(t)
	const host = "https://cdn.example.com"
	ago, later := now.Add(-24*time.Hour), now.Add(24*time.Hour)
	groups := []*table.KeyGroup{trustedGroup}
	anyTime := func(r Request) Request { r.AnyTime = true; return r }
	expiredIP := sdkPolicyURL(t, keyK1, "K1", host+"/p/a", sdkPolicy(host+"/p/*", ago, time.Time{}, "198.51.100.0/24"))
	for _, c := range []struct {
		name string
		req  Request
		want string // a Code*, or "" for allowed
	}{
		{"expired canned url", anyTime(requestFor(t, sdkURL(t, keyK1, "K1", host+"/a", ago))), ""},
		{"expired canned url, at its time", requestFor(t, sdkURL(t, keyK1, "K1", host+"/a", ago)), CodeExpired},
		{"expired canned cookies", anyTime(withCookies(requestFor(t, host+"/a"), sdkCannedCookies(t, keyK1, "K1", host+"/a", ago))), ""},
		{"expired custom policy", anyTime(requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a", sdkPolicy(host+"/*", ago, time.Time{}, "")))), ""},
		{"custom policy not yet valid", anyTime(requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/a", sdkPolicy(host+"/*", later.Add(time.Hour), later, "")))), ""},
		{"expired custom policy, its address", anyTime(withIP(requestFor(t, expiredIP), "198.51.100.9")), ""},
		{"expired custom policy, another address", anyTime(withIP(requestFor(t, expiredIP), "203.0.113.9")), CodeIPMismatch},
		{"expired custom policy, another resource", anyTime(requestFor(t, sdkPolicyURL(t, keyK1, "K1", host+"/b", sdkPolicy(host+"/a", ago, time.Time{}, "")))), CodeResourceMismatch},
		{"expired canned url, path changed", func() Request {
			r := anyTime(requestFor(t, sdkURL(t, keyK1, "K1", host+"/a", ago)))
			r.RawPath = "/b"
			return r
		}(), CodeBadSignature},
		{"expired canned url, untrusted key", anyTime(requestFor(t, sdkURL(t, keyK3, "K3", host+"/a", ago))), CodeUnknownKey},
		{"malformed Expires", anyTime(requestFor(t, host+"/a?Expires=soon&Signature=AAAA&Key-Pair-Id=K1")), CodeMalformed},
	} {
		for _, v := range []*Verifier{{}, NewVerifier(8)} {
			for range 2 { // the second time from the cache, if any
				if d := v.Verify(c.req, groups); d.Code != c.want || d.Allowed != (c.want == "") {
					t.Errorf("%s (cache %v): %+v, want %q", c.name, v.cache != nil, d, c.want)
				}
			}
		}
	}
}

// TestVerifyOverHTTP serves SDK-signed URLs through a real server and
// client, so the request target is what net/http gives a handler.
func TestVerifyOverHTTP(t *testing.T) {
	keys(t)
	groups := []*table.KeyGroup{trustedGroup}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req := NewRequest(r, "http", netip.MustParseAddr("127.0.0.1"), now)
		if r.Host != "cdn.example.com" {
			t.Errorf("host %q", r.Host)
		}
		d := Verify(req, groups)
		if !d.Allowed {
			http.Error(w, d.Reason, http.StatusForbidden)
			return
		}
		io := StripSignature(req.RawQuery)
		w.Header().Set("X-Origin-Query", io)
		w.Header().Set("X-Origin-Cookie", StripSignatureCookies(r.Header.Get("Cookie")))
	}))
	defer srv.Close()
	get := func(u string, cookies string) *http.Response {
		t.Helper()
		// Send the URL's host as Host, to the test server.
		addr := strings.TrimPrefix(srv.URL, "http://")
		r, err := http.NewRequest("GET", strings.Replace(u, "cdn.example.com", addr, 1), nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Host = "cdn.example.com"
		if cookies != "" {
			r.Header.Set("Cookie", cookies)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	cases := []struct {
		name, url, cookies string
		status             int
		originQuery        string
		originCookie       string
	}{
		{name: "canned, encoded path", url: sdkURL(t, keyK1, "K1", "http://cdn.example.com/a%2Fb/caf%c3%a9.jpg?v=1", now.Add(time.Hour)), status: 200, originQuery: "v=1"},
		{name: "custom wildcard", url: sdkPolicyURL(t, keyK1, "K1", "http://cdn.example.com/live/i.m3u8?a=1&b=2", sdkPolicy("http://cdn.example.com/live/*", now.Add(time.Hour), time.Time{}, "127.0.0.0/8")), status: 200, originQuery: "a=1&b=2"},
		{name: "cookies", url: "http://cdn.example.com/m/x?q=1", cookies: "a=1; " + sdkPolicyCookies(t, keyK1, "K1", sdkPolicy("http://cdn.example.com/m/*", now.Add(time.Hour), time.Time{}, "")) + "; b=2",
			status: 200, originQuery: "q=1", originCookie: "a=1; b=2"},
		{name: "expired", url: sdkURL(t, keyK1, "K1", "http://cdn.example.com/a", now.Add(-time.Hour)), status: 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := get(c.url, c.cookies)
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, c.status)
			}
			if c.status == 200 {
				if q := resp.Header.Get("X-Origin-Query"); q != c.originQuery {
					t.Errorf("origin query %q, want %q", q, c.originQuery)
				}
				if q := resp.Header.Get("X-Origin-Cookie"); q != c.originCookie {
					t.Errorf("origin cookie %q, want %q", q, c.originCookie)
				}
			}
		})
	}
}

// TestVerifyJavaScriptSigner checks URLs and cookies made by AWS's
// JavaScript signer (@aws-sdk/cloudfront-signer; testdata/js-sign.js).
func TestVerifyJavaScriptSigner(t *testing.T) {
	pemBytes, err := os.ReadFile("testdata/js-signer-key.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := ParsePrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	var fixture struct {
		KeyPairID string
		Cases     []struct{ Name, URL, Cookie string }
	}
	b, err := os.ReadFile("testdata/js-signed.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &fixture); err != nil {
		t.Fatal(err)
	}
	groups := []*table.KeyGroup{{ID: "js", Keys: map[string]crypto.PublicKey{fixture.KeyPairID: key.Public()}}}
	if len(fixture.Cases) < 9 {
		t.Fatalf("%d cases", len(fixture.Cases))
	}
	for _, c := range fixture.Cases {
		t.Run(c.Name, func(t *testing.T) {
			req := requestFor(t, c.URL)
			if c.Cookie != "" {
				req.Cookies = []string{c.Cookie}
			}
			if d := Verify(req, groups); !d.Allowed {
				t.Fatalf("%s: %+v", c.URL, d)
			}
			// The same signature is refused on another host.
			req.Host = "other.example.com"
			if d := Verify(req, groups); d.Allowed {
				t.Fatalf("another host allowed")
			}
		})
	}
}
