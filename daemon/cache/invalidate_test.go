package cache

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestInvalidatePaths stores edge-shaped keys in both tiers (query,
// header and Vary variants, two distributions) and checks which a
// CloudFront path set removes: the next request is a miss or a hit.
func TestInvalidatePaths(t *testing.T) {
	big := object(256 << 10) // above MaxObjectBytes: the disk tier
	hs, dir := diskHarness(t, 8<<20, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Vary", "Accept-Language")
		if strings.HasPrefix(r.URL.Path, "/video/") {
			serveBig(big)(w, r)
			return
		}
		w.Write([]byte(r.URL.Path))
	})
	// edgeKey is what daemon/edge's cacheKey makes.
	edgeKey := func(dist, pathQuery, header string) string {
		k := dist + "\x00scope1\x00" + pathQuery
		if header != "" {
			k += "\x00" + header
		}
		return k
	}
	type req struct{ dist, pathQuery, header, lang string }
	get := func(r req) string {
		hr := httptest.NewRequest("GET", r.pathQuery, nil)
		if r.lang != "" {
			hr.Header.Set("Accept-Language", r.lang)
		}
		w := httptest.NewRecorder()
		hs.c.Serve(w, hr, edgeKey(r.dist, r.pathQuery, r.header), hs.policy, hs.fetch(hr))
		hs.waitBackground()
		return w.Header().Get("X-Cache")
	}
	all := []req{
		{"site", "/index.html", "", ""},
		{"site", "/index.html?v=2", "", ""},
		{"site", "/index.html.bak", "", ""},
		{"site", "/images/a.jpg", "", ""},
		{"site", "/images/a.jpg", "", "fr"},
		{"site", "/images/sub/b.png?w=100", "Accept=image/webp", ""},
		{"site", "/imagesque.jpg", "", ""},
		{"site", "/caf%C3%A9.html", "", ""},
		{"site", "/video/big.mp4", "", ""},
		{"other", "/index.html", "", ""},
		{"other", "/images/a.jpg", "", ""},
	}
	type object struct{ scope, path, query string }
	tests := []struct {
		name    string
		dist    string
		paths   []string
		objects []object
		gone    []int    // indexes into all
		live    []string // the distribution's scopes now (SetLiveScopes), nil for none said
	}{
		{"exact path, every query variant", "site", []string{"/index.html"}, nil, []int{0, 1}, nil},
		{"prefix, every header and Vary variant", "site", []string{"/images/*"}, nil, []int{3, 4, 5}, nil},
		{"percent-encoded form", "site", []string{"/caf%C3%A9.html"}, nil, []int{7}, nil},
		{"disk tier", "site", []string{"/video/*"}, nil, []int{8}, nil},
		{"everything of one distribution", "other", []string{"/*"}, nil, []int{9, 10}, nil},
		{"a path nothing has", "site", []string{"/nothing", "/none/*"}, nil, nil, nil},
		{"case matters", "site", []string{"/INDEX.html"}, nil, nil, nil},
		{"one query variant", "site", nil, []object{{"scope1", "/index.html", "v=2"}}, []int{1}, nil},
		{"the variant without a query", "site", nil, []object{{"scope1", "/index.html", ""}}, []int{0}, nil},
		{"an object's header and Vary variants", "site", nil, []object{{"scope1", "/images/a.jpg", ""}, {"scope1", "/images/sub/b.png", "w=100"}}, []int{3, 4, 5}, nil},
		{"another scope's object", "site", nil, []object{{"scope2", "/index.html", "v=2"}}, nil, nil},
		{"a query that is a prefix", "site", nil, []object{{"scope1", "/index.html", "v"}}, nil, nil},
		{"a dead scope's object, whatever its query", "site", nil, []object{{"scope2", "/index.html", "v=3"}}, []int{0, 1}, []string{"scope2"}},
		{"a live scope's object, its query only", "site", nil, []object{{"scope1", "/index.html", "v=2"}}, []int{1}, []string{"scope1", "scope2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, r := range all {
				get(r)
			}
			for i, r := range all {
				if x := get(r); x != XCacheHit {
					t.Fatalf("before: %v is %q, want a hit", all[i], x)
				}
			}
			if objects(t, dir) != 1 {
				t.Fatalf("the disk tier holds %d objects, want 1", objects(t, dir))
			}
			p := NewPaths(tt.paths)
			for _, o := range tt.objects {
				p.AddObject(o.scope, o.path, o.query)
			}
			if tt.live != nil {
				p.SetLiveScopes(tt.live)
			}
			n := hs.c.InvalidatePaths(tt.dist, p)
			if len(tt.gone) == 0 && n != 0 {
				t.Errorf("removed %d entries, want none", n)
			}
			for i, r := range all {
				want := XCacheHit
				for _, g := range tt.gone {
					if g == i {
						want = XCacheMiss
					}
				}
				if x := get(r); x != want {
					t.Errorf("after: %v is %q, want %q", r, x, want)
				}
			}
		})
	}
}

func TestPathsMatch(t *testing.T) {
	p := NewPaths([]string{"/a.html", "/img/*", "/img/*", "/x*", "/*.css", "/caf%c3%a9.jpg"})
	tests := []struct {
		path string
		want bool
	}{
		{"/a.html", true},
		{"/a.htm", false},
		{"/a.html/", false},
		{"/img/", true},
		{"/img/deep/er.png", true},
		{"/img", false},
		{"/x", true},
		{"/xylophone", true},
		{"/*.css", true}, // "*" only ends a path: the rest is literal
		{"/b.css", false},
		// An exact path is matched in the canonical spelling too.
		{"/caf%C3%A9.jpg", true},
	}
	for _, tt := range tests {
		if got := p.Match(tt.path); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.path, got, tt.want)
		}
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct{ in, path, query string }{
		{"/a.html", "/a.html", "/a.html"},
		{"/caf%C3%A9.jpg", "/caf%C3%A9.jpg", "/caf%C3%A9.jpg"},
		{"/caf%c3%a9.jpg", "/caf%C3%A9.jpg", "/caf%C3%A9.jpg"},
		{"/café.jpg", "/caf%C3%A9.jpg", "/caf%C3%A9.jpg"},
		{"/a b\t", "/a%20b%09", "/a%20b%09"},
		{"/{x}`", "/%7Bx%7D%60", "/{x}`"}, // WHATWG encodes these in a path only
		{`"<>`, "%22%3C%3E", "%22%3C%3E"},
		{"/r%c*", "/r%C*", "/r%C*"}, // a prefix may end inside an escape
		{"/100%", "/100%", "/100%"},
		{"/%zz%a", "/%zz%A", "/%zz%A"},
		{"/a+b=c&d", "/a+b=c&d", "/a+b=c&d"},
		{"/%7Eu/%7e%41%2d%2E%5f%30", "/~u/~A-._0", "/~u/~A-._0"}, // unreserved: decoded
		{"/%2f%3F%23%25%2B%20", "/%2F%3F%23%25%2B%20", "/%2F%3F%23%25%2B%20"},
	}
	for _, tt := range tests {
		if got := CanonicalPath(tt.in); got != tt.path {
			t.Errorf("CanonicalPath(%q) = %q, want %q", tt.in, got, tt.path)
		}
		if got := CanonicalQuery(tt.in); got != tt.query {
			t.Errorf("CanonicalQuery(%q) = %q, want %q", tt.in, got, tt.query)
		}
	}
}
