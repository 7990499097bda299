package table

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

func TestPatternMatch(t *testing.T) {
	long := strings.Repeat("a", 10000)
	tests := []struct {
		pattern string
		path    string
		want    bool
	}{
		// "*" and "/*" match everything, "/" included.
		{"*", "/", true},
		{"*", "/a/b/c.jpg", true},
		{"/*", "/", true},
		{"/*", "/anything?at=all", true},
		{"**", "/x", true},

		// Empty path and paths without "/" read as having one.
		{"*", "", true},
		{"/", "", true},
		{"/", "/", true},
		{"/a", "", false},
		{"/a", "a", true},
		{"/images/*.jpg", "images/x.jpg", true},
		{"?", "", false},

		// Exact literals must match to the end.
		{"/index.html", "/index.html", true},
		{"/index.html", "/index.htm", false},
		{"/index.html", "/index.html5", false},
		{"/index.html", "/index.htmx", false},
		{"/a/b", "/a/b/", false},
		// A pattern is normalized as the paths it is matched against
		// (MatchPath): runs of "/" are one, so "//a" is "/a".
		{"//a", "/a", true},
		{"//a", "//a", false},

		// Prefix only.
		{"/img/*", "/img/", true},
		{"/img/*", "/img/a/b/c.png", true},
		{"/img/*", "/img", false},
		{"/img/*", "/abc/x", false},
		{"/img/*", "/IMG/x", false},

		// Suffix only, and "*" matching "/".
		{"*.jpg", "/a.jpg", true},
		{"*.jpg", "/a/b/c.jpg", true},
		{"*.jpg", "/.jpg", true},
		{"*.jpg", "/a.jpeg", false},
		{"*.jpg", "/a.JPG", false},
		{"*.jpg", "jpg", false},
		{"/*/c", "/a/b/c", true},

		// The CloudFront docs example, with and without the leading "/".
		{"/images/*.jpg", "/images/a.jpg", true},
		{"images/*.jpg", "/images/a.jpg", true},
		{"/images/*.jpg", "/images/x/y/z.jpg", true},
		{"/images/*.jpg", "/images/.jpg", true},
		{"/images/*.jpg", "/images/a.jpg.png", false},
		{"/images/*.jpg", "/images.jpg", false},
		{"/images/*.jpg", "/Images/a.jpg", false},
		{"/images/*.jpg", "/other/images/a.jpg", false},
		{"/ab*ba", "/aba", false}, // prefix and suffix may not overlap

		// Trailing literal after stars.
		{"/a*b*c", "/abc", true},
		{"/a*b*c", "/axxbyyc", true},
		{"/a*b*c", "/axxbyycd", false},
		{"/a*b*c", "/acb", false},

		// "?" is exactly one byte.
		{"/?", "/a", true},
		{"/?", "/", false},
		{"/?", "/ab", false},
		{"/?", "//", true},
		{"/file?.txt", "/file1.txt", true},
		{"/file?.txt", "/file.txt", false},
		{"/file?.txt", "/file12.txt", false},
		{"/??/*", "/ab/", true},
		{"/??/*", "/a/", false},
		{"*.??g", "/x.png", true},
		{"*.??g", "/x.jpeg", false},
		{"/*?", "/", false},
		{"/*?", "/a", true},
		{"/*a?c*", "/xxabcxx", true},
		{"/*a?c*", "/xxacxx", false},
		{"/*??*", "/a", false},
		{"/*??*", "/ab", true},
		{"/*?b?*", "/abc", true},
		{"/*?b?*", "/bc", false},
		{"/x*?b?*y", "/xabcy", true},
		{"/x*?b?*y", "/xbcy", false},

		// Multiple stars.
		{"/*/*/*", "/a/b/c", true},
		{"/*/*/*", "/a/b", false},
		{"/*/*/*", "///", true},
		{"*a*a*", "/aa", true},
		{"*a*a*", "/a", false},
		{"*abc*abd*", "/ababcababd", true},
		{"*abc*abd*", "/ababdababc", false},
		{"/a***b", "/ab", true},
		{"*a*a*a*a*b", "/" + long, false},
		{"*a*a*a*a*b", "/" + long + "b", true},
		{"*a*a*a*a*b*", "/" + long, false},
		{"*a?a*a?a*b*", "/" + long, false},

		// Case sensitivity.
		{"/Docs/*", "/docs/a", false},
		{"/docs/*", "/docs/a", true},
		{"*.PDF", "/a.pdf", false},

		// Percent-encoded paths are compared as sent.
		{"/caf%C3%A9/*", "/caf%C3%A9/menu", true},
		{"/caf%C3%A9/*", "/café/menu", false},
		{"/a%2Fb", "/a%2Fb", true},
		{"/a%2Fb", "/a/b", false},
		{"/a%2fb", "/a%2Fb", true}, // hex digits' case is normalized (RFC 3986 6.2.2.1)
		{"/a?b", "/a%b", true},
		{"/a?b", "/a%2Fb", false},
		{"/a???b", "/a%2Fb", true},

		// Other literal characters from the schema's charset.
		{"/$x~'@:+&=!,;\"", "/$x~'@:+&=!,;\"", true},
		{"/a.b", "/axb", false}, // "." is literal, not regexp
	}
	for _, tt := range tests {
		p, err := CompilePattern(tt.pattern)
		if err != nil {
			t.Fatalf("CompilePattern(%q): %v", tt.pattern, err)
		}
		path := tt.path
		if len(path) > 40 {
			path = path[:40] + "..."
		}
		if got := p.Match(tt.path); got != tt.want {
			t.Errorf("%q.Match(%q) = %v, want %v", tt.pattern, path, got, tt.want)
		}
		if got := patternRefMatch(p.String(), tt.path); got != tt.want {
			t.Errorf("reference %q on %q = %v, want %v (bad test case?)", tt.pattern, path, got, tt.want)
		}
		if got := p.Explain(tt.path) == "matches"; got != tt.want {
			t.Errorf("%q.Explain(%q) = %q, want match %v", tt.pattern, path, p.Explain(tt.path), tt.want)
		}
	}
}

func TestCompilePattern(t *testing.T) {
	tests := []struct {
		in, want string
		kind     patKind
	}{
		{"*", "/*", patAny},
		{"/*", "/*", patAny},
		{"/***", "/***", patAny},
		{"/", "/", patExact},
		{"a", "/a", patExact},
		{"/a?", "/a?", patExact},
		// Normalized as MatchPath normalizes the paths it is matched
		// against: a pattern it would change could match no request.
		{"//a", "/a", patExact},
		{"/images//*.jpg", "/images/*.jpg", patPrefixSuffix},
		{"/%7Euser/*", "/~user/*", patPrefix},
		{"/a/./b/../c*", "/a/c*", patPrefix},
		{"/a%2Fb/*", "/a%2Fb/*", patPrefix},
		{"img/*", "/img/*", patPrefix},
		{"*.jpg", "/*.jpg", patSuffix},
		{"/img/*.jpg", "/img/*.jpg", patPrefixSuffix},
		{"/a**b", "/a**b", patPrefixSuffix},
		{"/a*b*c", "/a*b*c", patGeneral},
		{strings.Repeat("a", 255), "/" + strings.Repeat("a", 255), patExact},
		{"/" + strings.Repeat("a", 254), "/" + strings.Repeat("a", 254), patExact},
		{strings.Repeat("é", 255), "/" + strings.Repeat("é", 255), patExact},
	}
	for _, tt := range tests {
		p, err := CompilePattern(tt.in)
		if err != nil {
			t.Errorf("CompilePattern(%q): %v", tt.in, err)
			continue
		}
		if p.String() != tt.want || p.kind != tt.kind {
			t.Errorf("CompilePattern(%q) = %q kind %d, want %q kind %d", tt.in, p.String(), p.kind, tt.want, tt.kind)
		}
	}
	// Same pattern with and without "/" compiles to equal (comparable) values.
	a, _ := CompilePattern("images/*a*.jpg")
	b, _ := CompilePattern("/images/*a*.jpg")
	if a != b {
		t.Errorf("leading \"/\" not normalised: %+v != %+v", a, b)
	}
	for _, in := range []string{"", strings.Repeat("a", 256), "/" + strings.Repeat("a", 255), strings.Repeat("é", 256)} {
		if p, err := CompilePattern(in); err == nil {
			t.Errorf("CompilePattern(%d bytes) = %q, want error", len(in), p)
		}
	}
}

func TestPatternZeroValue(t *testing.T) {
	var p Pattern
	for _, path := range []string{"", "/", "/a", "*"} {
		if p.Match(path) {
			t.Errorf("zero Pattern matches %q", path)
		}
	}
	if p.String() != "" {
		t.Errorf("zero Pattern String() = %q", p.String())
	}
	if got := p.Explain("/"); got == "matches" {
		t.Errorf("zero Pattern Explain = %q", got)
	}
}

func TestPatternExplain(t *testing.T) {
	tests := []struct{ pattern, path, want string }{
		{"/img/*", "/abc", `literal prefix "/img/" differs at byte 1`},
		{"/img/*", "/img", `path too short: pattern needs at least 5 bytes, path is 4`},
		{"/img/*", "/img/x", "matches"},
		{"/a/b", "/a/c", `literal "/a/b" differs at byte 3`},
		{"/a/b", "/a/", `path too short: literal "/a/b" is 4 bytes, path is 3`},
		{"/a/b", "/a/bc", `path continues past literal "/a/b" at byte 4`},
		{"/a?c", "/abd", `literal "/a?c" differs at byte 3`},
		{"*.jpg", "/a.png", `literal suffix ".jpg" differs at byte 3`},
		{"*.jpg", "/jpg", `path too short: pattern needs at least 5 bytes, path is 4`},
		{"/x/*.jpg", "/x/a.gif", `literal suffix ".jpg" differs at byte 5`},
		{"/x/*b*.jpg", "/x/aaa.jpg", `segment "b" not found between byte 3 and byte 6`},
		{"/x/*a*b*.jpg", "/x/aaaa.jpg", `segment "b" not found between byte 4 and byte 7`},
		{"/a", "b", `path "b" is read as "/b": literal "/a" differs at byte 1`},
		{"/", "", "matches"},
	}
	for _, tt := range tests {
		p, err := CompilePattern(tt.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Explain(tt.path); got != tt.want {
			t.Errorf("%q.Explain(%q) = %q, want %q", tt.pattern, tt.path, got, tt.want)
		}
	}
}

// TestPatternMatchLinear guards against exponential backtracking: with it
// these take years; without it, well under a millisecond each.
func TestPatternMatchLinear(t *testing.T) {
	path := "/" + strings.Repeat("a", 100000)
	start := time.Now()
	for _, s := range []string{"*a*a*a*a*b", "*a*a*a*a*b*", "*a*a*a*a*a*a*a*a*a*a*b*c", "*a?a*?a?*a??a*b*"} {
		p, _ := CompilePattern(s)
		if p.Match(path) {
			t.Errorf("%q matches a run of a's", s)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("pathological patterns took %v", d)
	}
}

func TestPatternMatchAllocs(t *testing.T) {
	for _, bc := range patternBenchCases {
		p, _ := CompilePattern(bc.pattern)
		if n := testing.AllocsPerRun(100, func() { p.Match(bc.path) }); n != 0 {
			t.Errorf("%q.Match allocates %v times", bc.pattern, n)
		}
	}
}

// patternRefMatch is the spec as a regexp: each byte becomes the rune of the
// same value (Latin-1) so that "." consumes exactly one byte, like "?".
func patternRefMatch(norm, path string) bool {
	var re strings.Builder
	re.WriteString(`(?s)\A`)
	for i := 0; i < len(norm); i++ {
		switch c := norm[i]; c {
		case '*':
			re.WriteString(".*")
		case '?':
			re.WriteString(".")
		default:
			re.WriteString(regexp.QuoteMeta(string(rune(c))))
		}
	}
	re.WriteString(`\z`)
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return regexp.MustCompile(re.String()).MatchString(patternLatin1(path))
}

func patternLatin1(s string) string {
	r := make([]rune, len(s))
	for i := 0; i < len(s); i++ {
		r[i] = rune(s[i])
	}
	return string(r)
}

// patternSquash maps s onto a small alphabet so that random inputs match
// often enough to exercise the interesting paths.
func patternSquash(s, alphabet string) string {
	b := []byte(s)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func FuzzPatternMatch(f *testing.F) {
	for _, s := range [][2]string{
		{"*", ""}, {"/images/*.jpg", "/images/a/b.jpg"}, {"*a*a*b", "/aaab"},
		{"/a?c*", "/abcd"}, {"?*?", "ab"}, {"/x*?b?*y", "/xabcy"}, {"*ab*ab*", "/abab"},
		{"/%2F*", "/%2f"}, {"/\xff?", "/\xff\xfe"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		check := func(pattern, path string) {
			p, err := CompilePattern(pattern)
			if err != nil {
				if pattern != "" && len([]rune(pattern)) <= maxPatternLen {
					t.Fatalf("CompilePattern(%q): %v", pattern, err)
				}
				return
			}
			want := patternRefMatch(p.String(), path)
			if got := p.Match(path); got != want {
				t.Fatalf("%q.Match(%q) = %v, reference says %v", p.String(), path, got, want)
			}
			if got := p.Explain(path); (got == "matches") != want {
				t.Fatalf("%q.Explain(%q) = %q, reference says %v", p.String(), path, got, want)
			}
		}
		check(pattern, path)
		check(patternSquash(pattern, "ab/*?"), patternSquash(path, "ab/"))
	})
}

var patternBenchCases = []struct{ name, pattern, path string }{
	{"any", "*", "/images/2024/05/photo.jpg"},
	{"exact", "/index.html", "/index.html"},
	{"exact_q", "/file?.txt", "/file1.txt"},
	{"prefix", "/img/*", "/img/2024/05/photo.jpg"},
	{"suffix", "*.jpg", "/images/2024/05/photo.jpg"},
	{"prefix_suffix", "/images/*.jpg", "/images/2024/05/photo.jpg"},
	{"general", "/images/*/thumb/*.jpg", "/images/2024/05/thumb/photo.jpg"},
	{"general_q", "/images/*/t?umb/*.jpg", "/images/2024/05/thumb/photo.jpg"},
	{"general_miss", "/images/*/thumb/*.jpg", "/images/2024/05/large/photo.jpg"},
	{"pathological", "*a*a*a*a*b", "/" + strings.Repeat("a", 1000)},
	{"pathological_mid", "*a*a*a*a*b*", "/" + strings.Repeat("a", 1000)},
	{"pathological_q", "*a?a*a?a*b*", "/" + strings.Repeat("a", 1000)},
}

func BenchmarkPatternMatch(b *testing.B) {
	for _, bc := range patternBenchCases {
		p, err := CompilePattern(bc.pattern)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				p.Match(bc.path)
			}
		})
	}
}
