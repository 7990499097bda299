package table

import "testing"

func TestMatchPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/private/a.txt", "/private/a.txt"},
		{"/x/../private/a.txt", "/private/a.txt"},
		{"/x/%2e%2E/private/a.txt", "/private/a.txt"},
		{"/./private/a.txt", "/private/a.txt"},
		{"//private//a.txt", "/private/a.txt"},
		{"/%70rivate/a.txt", "/private/a.txt"},
		{"/../../private/a.txt", "/private/a.txt"},
		{"/a/..", "/"},
		{"/a/.", "/a/"},
		{"/a/", "/a/"},
		{"/", "/"},
		{"", ""},
		{"*", "*"},
		{"/.well-known/x", "/.well-known/x"},
		{"/a..b/..c/c../...", "/a..b/..c/c../..."},
		// Reserved characters stay escaped: "%2F" is not a "/" to
		// CloudFront's match, "%25" not a "%".
		{"/public%2F..%2Fprivate/a.txt", "/public%2F..%2Fprivate/a.txt"},
		{"/a%2fb", "/a%2fb"},
		{"/a%252e%252e/b", "/a%252e%252e/b"},
		{"/a%zz", "/a%zz"},
		{"/a%4", "/a%4"},
		{"/a;x/../b", "/b"},
	} {
		if got := MatchPath(tc.in); got != tc.want {
			t.Errorf("MatchPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, p := range []string{"/private/a.txt", "/.well-known/acme-challenge/x", "/a.b/c"} {
		if n := testing.AllocsPerRun(100, func() { MatchPath(p) }); n != 0 {
			t.Errorf("MatchPath(%q) allocates %v times", p, n)
		}
	}
}
