package signedurl

import (
	"regexp"
	"strings"
	"testing"
)

func TestStripSignature(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"a=1", "a=1"},
		{"Expires=1&Signature=s&Key-Pair-Id=K", ""},
		{"a=1&b=2&Expires=1&Signature=s&Key-Pair-Id=K", "a=1&b=2"},
		{"a=1&Expires=1&Signature=s&b=2&Key-Pair-Id=K", "a=1&b=2"},
		{"Key-Pair-Id=K&b=2&a=1&Policy=p&Signature=s", "b=2&a=1"},
		{"a=1&Hash-Algorithm=SHA256&b=%20x", "a=1&b=%20x"},
		{"expires=1&signature=s", "expires=1&signature=s"}, // names are case-sensitive
		{"Expires", ""},                      // a bare name is still the parameter
		{"a=1&&b=2&Signature=s", "a=1&&b=2"}, // the viewer's encoding is kept
		{"&Expires=1&Signature=s&Key-Pair-Id=K", ""},
		{"Signature=s&Signature=t&a", "a"},
		{"a=Expires=1", "a=Expires=1"},
	}
	for _, c := range cases {
		if got := StripSignature(c.in); got != c.want {
			t.Errorf("StripSignature(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestStripSignatureCookies(t *testing.T) {
	cases := []struct{ in, want string }{
		{"", ""},
		{"a=1; b=2", "a=1; b=2"},
		{"CloudFront-Policy=p; CloudFront-Signature=s; CloudFront-Key-Pair-Id=K", ""},
		{"a=1; CloudFront-Policy=p; b=2; CloudFront-Signature=s;CloudFront-Key-Pair-Id=K; CloudFront-Hash-Algorithm=SHA256", "a=1; b=2"},
		{"CloudFront-Expires=1; CloudFront-Viewer=x", "CloudFront-Viewer=x"},
	}
	for _, c := range cases {
		if got := StripSignatureCookies(c.in); got != c.want {
			t.Errorf("StripSignatureCookies(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestSplitRequestURI(t *testing.T) {
	cases := []struct{ in, path, query string }{
		{"/a%2Fb?x=1&y", "/a%2Fb", "x=1&y"},
		{"/", "/", ""},
		{"/a?", "/a", ""},
		{"/r?to=http://x/y", "/r", "to=http://x/y"},
		{"http://cdn.example.com/a?b=1", "/a", "b=1"},
		{"https://cdn.example.com", "/", ""},
		{"https://cdn.example.com?q", "/", "q"},
		{"*", "*", ""},
		// A "#" is the path's, or the query's, as the edge routes it.
		{"/free/x#/../../paid/a", "/free/x#/../../paid/a", ""},
		{"/a?b#c", "/a", "b#c"},
	}
	for _, c := range cases {
		p, q := SplitRequestURI(c.in)
		if p != c.path || q != c.query {
			t.Errorf("SplitRequestURI(%q) = %q, %q; want %q, %q", c.in, p, q, c.path, c.query)
		}
	}
}

func TestAppendResource(t *testing.T) {
	cases := []struct {
		scheme, host, path, query, want string
	}{
		{"https", "cdn.example.com", "/a", "", "https://cdn.example.com/a"},
		{"https", "CDN.example.com:443", "/a", "x=1", "https://cdn.example.com/a?x=1"},
		{"https", "cdn.example.com:8443", "/a", "", "https://cdn.example.com:8443/a"},
		{"http", "cdn.example.com:80", "/a", "Expires=1&Signature=s&Key-Pair-Id=K", "http://cdn.example.com/a"},
		{"http", "cdn.example.com:443", "/a", "", "http://cdn.example.com:443/a"},
		{"https", "h", "/a", "&Expires=1", "https://h/a?"},
		{"https", "h", "/a", "b=2&Expires=1&c=3", "https://h/a?b=2&c=3"},
	}
	for _, c := range cases {
		r := Request{Scheme: c.scheme, Host: c.host, RawPath: c.path, RawQuery: c.query}
		if got := string(appendResource(nil, &r)); got != c.want {
			t.Errorf("resource of %+v = %q, want %q", c, got, c.want)
		}
	}
}

func TestCredentialsFromCookies(t *testing.T) {
	var c credentials
	// The first of two same-named cookies counts (the more specific path).
	if !c.fromCookies([]string{"x=1; CloudFront-Policy=first", "CloudFront-Policy=second; CloudFront-Key-Pair-Id=K"}) {
		t.Fatal("not found")
	}
	if c.v[pPolicy] != "first" || c.v[pKeyPairID] != "K" {
		t.Fatalf("%+v", c)
	}
	c = credentials{}
	if c.fromCookies([]string{"CloudFront-Hash-Algorithm=SHA256; session=1"}) {
		t.Fatal("Hash-Algorithm alone is not a signed cookie")
	}
}

func TestMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"https://h/a", "https://h/a", true},
		{"https://h/a", "https://h/ab", false},
		{"https://h/*", "https://h/", true},
		{"https://h/*", "https://h/a/b?c=d", true},
		{"https://h/live/*", "https://h/vod/x", false},
		{"http*://h/*", "https://h/a", true},
		{"http*://h/*", "http://h/a", true},
		{"*", "", true},
		{"", "", true},
		{"?", "", false},
		{"https://h/a?.ts", "https://h/a1.ts", true},
		{"https://h/a?.ts", "https://h/a.ts", false},
		{"https://h/*.ts", "https://h/x/y.ts", true},
		{"https://h/*.ts", "https://h/x/y.tsx", false},
		{"*a*a*a*b", strings.Repeat("a", 5000), false},
		{"https://H/a", "https://h/a", false}, // case-sensitive
	}
	for _, c := range cases {
		if got := match([]byte(c.pattern), []byte(c.s)); got != c.want {
			t.Errorf("match(%q, %q) = %v", c.pattern, c.s, got)
		}
	}
}

func TestBase64(t *testing.T) {
	for _, c := range []struct {
		in string
		ok bool
	}{
		{"YQ__", true}, {"YWI_", true}, {"-~-~", true}, {"%2D~-%7e", true},
		{"YQ==", false}, {"+/+/", false}, {"YQ_", false}, {"YR__", false}, // strict padding bits
		{"YQ\n__", false}, {"", false}, {"%", false}, {"%zz", false},
	} {
		_, err := decodeBase64(nil, nil, c.in)
		if (err == nil) != c.ok {
			t.Errorf("decodeBase64(%q): %v", c.in, err)
		}
	}
	if got := EncodeBase64([]byte{0xfb, 0xff, 0xbf, 'a'}); got != "-~-~YQ__" {
		t.Errorf("EncodeBase64 = %q", got)
	}
}

// FuzzMatch checks the wildcard matcher against a regular expression.
func FuzzMatch(f *testing.F) {
	f.Add("https://h/live/*", "https://h/live/a.ts")
	f.Add("*a*?b", "xxaYb")
	f.Add("http*://h/?", "https://h/x")
	f.Fuzz(func(t *testing.T, pattern, s string) {
		if len(pattern) > 64 || len(s) > 256 || !isASCII(pattern) || !isASCII(s) {
			return
		}
		re := regexp.QuoteMeta(pattern)
		re = strings.NewReplacer(`\*`, `.*`, `\?`, `.`).Replace(re)
		want := regexp.MustCompile(`(?s)\A` + re + `\z`).MatchString(s)
		if got := MatchResource(pattern, s); got != want {
			t.Fatalf("MatchResource(%q, %q) = %v, regexp says %v", pattern, s, got, want)
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
