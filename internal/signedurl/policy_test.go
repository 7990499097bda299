package signedurl

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"openfront.dev/compiler/table"
)

func TestParsePolicy(t *testing.T) {
	cases := []struct {
		name, json string
		err        string // a substring of the error; "" for a valid policy
		resource   string
		less, more int64
		ip         string
	}{
		{name: "canned shape", json: `{"Statement":[{"Resource":"https://h/a","Condition":{"DateLessThan":{"AWS:EpochTime":2000000000}}}]}`,
			resource: "https://h/a", less: 2000000000},
		{name: "all conditions, any order, spaces", json: ` { "Statement" : [ { "Condition" : { "IpAddress" : { "AWS:SourceIp" : "192.0.2.0/24" } , "DateGreaterThan" : { "AWS:EpochTime" : 1 } , "DateLessThan" : { "AWS:EpochTime" : 2 } } , "Resource" : "https://h/*" } ] } ` + "\n",
			resource: "https://h/*", less: 2, more: 1, ip: "192.0.2.0/24"},
		{name: "escapes in the resource", json: `{"Statement":[{"Resource":"https:\/\/h\/a\u0026b\"\\\u00e9\ud83d\ude00","Condition":{"DateLessThan":{"AWS:EpochTime":5}}}]}`,
			resource: "https://h/a&b\"\\é😀", less: 5},
		{name: "no resource", json: `{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5}}}]}`, less: 5},
		{name: "bare address", json: `{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5},"IpAddress":{"AWS:SourceIp":"2001:db8::1"}}}]}`, less: 5, ip: "2001:db8::1/128"},
		{name: "unmasked CIDR", json: `{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5},"IpAddress":{"AWS:SourceIp":"192.0.2.77/24"}}}]}`, less: 5, ip: "192.0.2.0/24"},

		{name: "no DateLessThan", json: `{"Statement":[{"Resource":"x","Condition":{"DateGreaterThan":{"AWS:EpochTime":5}}}]}`, err: "DateLessThan"},
		{name: "no condition", json: `{"Statement":[{"Resource":"x"}]}`, err: "DateLessThan"},
		{name: "two statements", json: `{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5}}},{"Condition":{"DateLessThan":{"AWS:EpochTime":5}}}]}`, err: "more than one statement"},
		{name: "no statement", json: `{"Statement":[]}`, err: "empty"},
		{name: "statement not a list", json: `{"Statement":{"Condition":{}}}`, err: "want '['"},
		{name: "empty object", json: `{}`, err: "no \"Statement\""},
		{name: "key in other case", json: `{"statement":[]}`, err: "unknown field"},
		{name: "unknown condition", json: `{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5},"StringEquals":{}}}]}`, err: "unknown condition"},
		{name: "unknown statement field", json: `{"Statement":[{"Effect":"Allow","Condition":{"DateLessThan":{"AWS:EpochTime":5}}}]}`, err: "unknown statement field"},
		{name: "duplicate DateLessThan", json: `{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5},"DateLessThan":{"AWS:EpochTime":9}}}]}`, err: "twice"},
		{name: "duplicate Resource", json: `{"Statement":[{"Resource":"a","Resource":"b","Condition":{"DateLessThan":{"AWS:EpochTime":5}}}]}`, err: "twice"},
		{name: "epoch as a string", json: `{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":"5"}}}]}`, err: "integer"},
		{name: "epoch with a fraction", json: `{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5.5}}}]}`, err: "fraction"},
		{name: "epoch negative", json: `{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":-5}}}]}`, err: "integer"},
		{name: "epoch too big", json: `{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":99999999999999999999}}}]}`, err: "range"},
		{name: "bad CIDR", json: `{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5},"IpAddress":{"AWS:SourceIp":"10.0.0.0/33"}}}]}`, err: "CIDR"},
		{name: "list of CIDRs", json: `{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5},"IpAddress":{"AWS:SourceIp":["10.0.0.0/8"]}}}]}`, err: "want '\"'"},
		{name: "trailing data", json: `{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5}}}]}x`, err: "after"},
		{name: "trailing comma", json: `{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5},}}]}`, err: "invalid JSON"},
		{name: "raw control character", json: "{\"Statement\":[{\"Resource\":\"a\tb\",\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":5}}}]}", err: "control"},
		{name: "lone surrogate", json: `{"Statement":[{"Resource":"\ud800","Condition":{"DateLessThan":{"AWS:EpochTime":5}}}]}`, err: "surrogate"},
		{name: "invalid UTF-8", json: "{\"Statement\":[{\"Resource\":\"\xff\",\"Condition\":{\"DateLessThan\":{\"AWS:EpochTime\":5}}}]}", err: "UTF-8"},
		{name: "truncated", json: `{"Statement":[{"Condition":{"DateLessThan":{"AWS:Epoch`, err: "invalid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := parsePolicy([]byte(c.json))
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one with %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			ip := ""
			if p.ip.IsValid() {
				ip = p.ip.String()
			}
			if string(p.resource) != c.resource || p.hasResource != (c.resource != "") || p.lessThan != c.less || p.greaterThan != c.more || ip != c.ip {
				t.Fatalf("got %+v", p)
			}
			if !json.Valid([]byte(c.json)) {
				t.Fatal("accepted JSON that encoding/json refuses")
			}
		})
	}
}

// FuzzParsePolicy checks the policy reader against encoding/json: what it
// accepts is valid JSON with the same values, and it never panics.
func FuzzParsePolicy(f *testing.F) {
	for _, s := range []string{
		`{"Statement":[{"Resource":"https://h/a","Condition":{"DateLessThan":{"AWS:EpochTime":2000000000}}}]}`,
		`{"Statement":[{"Resource":"https://h/*","Condition":{"IpAddress":{"AWS:SourceIp":"192.0.2.0/24"},"DateGreaterThan":{"AWS:EpochTime":1},"DateLessThan":{"AWS:EpochTime":2}}}]}`,
		`{"Statement":[{"Resource":"https:\/\/h\/a\u0026b\"\\\u00e9\ud83d\ude00","Condition":{"DateLessThan":{"AWS:EpochTime":5}}}]}`,
		`{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5},"IpAddress":{"AWS:SourceIp":"2001:db8::/32"}}}]}`,
		" {\n \"Statement\" : [ ] } ",
		`{"Statement":[{"Condition":{"DateLessThan":{"AWS:EpochTime":5.5}}}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePolicy(b)
		if err != nil {
			return
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		var std struct {
			Statement []struct {
				Resource  *string
				Condition struct {
					DateLessThan struct {
						EpochTime int64 `json:"AWS:EpochTime"`
					}
					DateGreaterThan *struct {
						EpochTime int64 `json:"AWS:EpochTime"`
					}
					IpAddress *struct {
						SourceIp string `json:"AWS:SourceIp"`
					}
				}
			}
		}
		if err := json.Unmarshal(b, &std); err != nil {
			t.Fatalf("encoding/json: %v on %q", err, b)
		}
		if len(std.Statement) != 1 {
			t.Fatalf("%d statements accepted", len(std.Statement))
		}
		s := std.Statement[0]
		if (s.Resource != nil) != p.hasResource || (s.Resource != nil && *s.Resource != string(p.resource)) {
			t.Fatalf("resource %q, encoding/json says %v", p.resource, s.Resource)
		}
		if s.Condition.DateLessThan.EpochTime != p.lessThan {
			t.Fatalf("DateLessThan %d, encoding/json says %d", p.lessThan, s.Condition.DateLessThan.EpochTime)
		}
		if (s.Condition.DateGreaterThan != nil) != p.hasGreater || (p.hasGreater && s.Condition.DateGreaterThan.EpochTime != p.greaterThan) {
			t.Fatalf("DateGreaterThan mismatch")
		}
		if (s.Condition.IpAddress != nil) != p.ip.IsValid() {
			t.Fatalf("IpAddress mismatch")
		}
	})
}

// FuzzQuery feeds arbitrary queries and cookies to the parsing and to
// Verify: nothing panics, nothing unsigned is allowed, and the stripped
// query keeps exactly the other parameters, in order.
func FuzzQuery(f *testing.F) {
	keys(f)
	groups := []*table.KeyGroup{trustedGroup}
	// Seeds signed for real; any request Verify allows must carry one of their signatures.
	signed := map[string]bool{}
	seed := func(query, cookie string) {
		var c credentials
		if !c.fromQuery(query) {
			c.fromCookies([]string{cookie})
		}
		sig, err := decodeBase64(nil, nil, c.v[pSignature])
		if err != nil {
			f.Fatal(err)
		}
		signed[string(sig)] = true
		f.Add(query, cookie)
	}
	seed(requestFor(f, sdkURL(f, keyK1, "K1", "https://cdn.example.com/a?x=1", now.Add(time.Hour))).RawQuery, "")
	seed(requestFor(f, sdkPolicyURL(f, keyK1, "K1", "https://cdn.example.com/a", sdkPolicy("https://cdn.example.com/*", now.Add(time.Hour), now, "10.0.0.0/8"))).RawQuery, "")
	seed("a=1", sdkPolicyCookies(f, keyK1, "K1", sdkPolicy("https://cdn.example.com/*", now.Add(time.Hour), time.Time{}, "")))
	f.Add("a=1&Expires=1&&Signature=%7E~&Key-Pair-Id=K1&Hash-Algorithm=sha256&b", "CloudFront-Expires=1; CloudFront-Signature=\"x\"")
	f.Add("Policy=eyJ9_&Signature=AAAA&Key-Pair-Id=K2", "")
	f.Fuzz(func(t *testing.T, query, cookie string) {
		var want []string
		for _, seg := range strings.Split(query, "&") {
			name, _, _ := strings.Cut(seg, "=")
			if !IsSignatureParam(name) {
				want = append(want, seg)
			}
		}
		if query == "" {
			want = nil
		}
		got := StripSignature(query)
		if got != strings.Join(want, "&") {
			t.Fatalf("StripSignature(%q) = %q, want %q", query, got, strings.Join(want, "&"))
		}
		r := Request{Scheme: "https", Host: "cdn.example.com", RawPath: "/a", RawQuery: query,
			Cookies: []string{cookie}, ClientIP: netip.MustParseAddr("10.1.2.3"), Now: now}
		res := string(appendResource(nil, &r))
		wantRes := "https://cdn.example.com/a"
		if len(want) > 0 {
			wantRes += "?" + got
		}
		if res != wantRes {
			t.Fatalf("resource %q, want %q", res, wantRes)
		}
		d := Verify(r, groups)
		if d.Allowed {
			var c credentials
			if !c.fromQuery(query) {
				c.fromCookies(r.Cookies)
			}
			sig, _ := decodeBase64(nil, nil, c.v[pSignature])
			if !signed[string(sig)] {
				t.Fatalf("allowed with a signature nobody made: %q %q", query, cookie)
			}
		}
		if !d.Allowed && (d.Code == "" || d.Reason == "") {
			t.Fatalf("denial without a code or reason: %+v", d)
		}
	})
}
