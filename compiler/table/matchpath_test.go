package table

import (
	"testing"

	"openfront.dev/schema"
)

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
		// RFC 3986 6.2.2.1: an escape's hex digits are case-insensitive,
		// normalized to upper case: "%e6" is the "%E6" an origin decodes
		// alike.
		{"/a%2fb", "/a%2Fb"},
		{"/caf%c3%a9/x", "/caf%C3%A9/x"},
		{"/caf%C3%a9/x%7e", "/caf%C3%A9/x~"},
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

func TestHidesDotSegment(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		// What an origin that decodes %2F before it resolves dot segments
		// (nginx) takes for /private/a.txt.
		{"/x%2F..%2Fprivate/a.txt", true},
		{"/x%2f..%2fprivate/a.txt", true},
		{"/x%5C..%5Cprivate/a.txt", true},
		{"/x%5c..%5cprivate/a.txt", true},
		{"/x%2F%2E%2E%2Fprivate/a.txt", true},
		{"/x/..%2Fprivate/a.txt", true},
		{"/x%2F../private/a.txt", true},
		{"/%2E%2E%2Fprivate/a.txt", true},
		{"/a%2F.", true},
		{"/a%2F./b", true},
		{"/x/%2E%2E%2F", true},
		// Dot segments MatchPath removes already, and encoded slashes
		// without one (S3 keys), are served.
		{"/x/../private/a.txt", false},
		{"/x/%2e%2E/private/a.txt", false},
		{"/a%2Fb/c.txt", false},
		{"/a/./b%2Fc", false},
		{"/a%2F.b%2F..c%2Fc..", false},
		{"/a%252F..%252Fb", false},
		{"/a%2E%2E", false},
		{"/private/a.txt", false},
		{"/..%2E", false},
		{"", false},
	} {
		if got := hidesDotSegment(tc.in); got != tc.want {
			t.Errorf("hidesDotSegment(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { hidesDotSegment("/private/a.txt") }); n != 0 {
		t.Errorf("hidesDotSegment allocates %v times for a path without escapes", n)
	}
}

// An encoded slash that an origin decodes (nginx; S3, for which
// "private%2Fa.txt" names the key "private/a.txt") must not take a request
// out of the behavior whose access rules that path has.
func TestHidesBehavior(t *testing.T) {
	d := build(t, map[string]*schema.Distribution{"a": dist([]string{"a.example.com"}, "/private/*")}).Distribution("a")
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"/private%2Fa.txt", true},
		{"/%2Fprivate/a.txt", true},
		{"/%5Cprivate%5Ca.txt", true},
		{"/x%2F..%2Fprivate/a.txt", true},
		{"/x%2F..%2Fdocs/a.txt", true}, // a dot segment behind one is refused whatever it reaches
		{"/docs%2Fa.txt", false},
		{"/private/a%2Fb.txt", false},
		{"/private%252Fa.txt", false},
		{"/private/a.txt", false},
	} {
		if got := d.HidesBehavior(tc.in, d.Behavior(tc.in)); got != tc.want {
			t.Errorf("HidesBehavior(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { d.HidesBehavior("/private/a.txt", d.Behaviors[0]) }); n != 0 {
		t.Errorf("HidesBehavior allocates %v times for a path without escapes", n)
	}
}

// TestBehaviorNormalizedPattern: a pathPattern that MatchPath would
// change (an escaped unreserved character, "//", a dot segment) matches
// the requests it names, normalized as they are, where it matched none.
func TestBehaviorNormalizedPattern(t *testing.T) {
	d := build(t, map[string]*schema.Distribution{"a": dist([]string{"a.example.com"}, "/%7Euser/*", "/images//*.jpg", "/%E6%97%A5/*", "/caf%c3%a9/*")}).Distribution("a")
	for _, tc := range []struct {
		path    string
		pattern string // "" for the default behavior
	}{
		{"/~user/a.txt", "/~user/*"},
		{"/%7Euser/a.txt", "/~user/*"},
		{"/%7euser/a.txt", "/~user/*"},
		{"/images/a.jpg", "/images/*.jpg"},
		{"/images//a.jpg", "/images/*.jpg"},
		{"/%7Eother/a.txt", ""},
		{"/%E6%97%A5/a.txt", "/%E6%97%A5/*"},
		{"/%e6%97%a5/a.txt", "/%E6%97%A5/*"},
		{"/caf%C3%A9/menu", "/caf%C3%A9/*"},
		{"/caf%c3%a9/menu", "/caf%C3%A9/*"},
	} {
		got := ""
		if b := d.Behavior(tc.path); b != d.Behaviors[len(d.Behaviors)-1] {
			got = b.Pattern.String()
		}
		if got != tc.pattern {
			t.Errorf("Behavior(%q) = %q, want %q", tc.path, got, tc.pattern)
		}
	}
}

// BenchmarkMatchPath: what a request's path costs behavior matching, with
// nothing to normalize and with escapes kept (upper, lower case hex).
func BenchmarkMatchPath(b *testing.B) {
	for _, p := range []string{"/images/a/b/c.jpg", "/caf%C3%A9/menu.html", "/caf%c3%a9/menu.html"} {
		b.Run(p, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				MatchPath(p)
			}
		})
	}
}
