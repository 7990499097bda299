package edge

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/cache"
	"openfront.dev/internal/testenv"
)

func compileSource(t *testing.T, src string) *table.Table {
	t.Helper()
	return testenv.Compile(t, "", src)
}

// relatedKey maps an origin's Location / Content-Location to the key of
// the resource it names, in the viewer's URL space, on the viewer's host only.
func TestRelatedKey(t *testing.T) {
	tb := compileSource(t, `package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: "app.test", originPath: "/prod", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: queryString: true}
	cacheBehaviors: [{pathPattern: "/img/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all"}]
}
`)
	d, b := tb.Route("site.test", "/dir/post")
	r := httptest.NewRequest(http.MethodPost, "http://site.test/dir/post", nil)
	tests := []struct {
		ref, path, query string // path "": not related
	}{
		{"/prod/dir/target", "/dir/target", ""},
		{"target", "/dir/target", ""},
		{"../img/a.png?v=2", "/img/a.png", "v=2"},
		{"/prod/x?a=1", "/x", "a=1"},
		{"http://site.test/prod/y", "/y", ""},
		{"http://SITE.test/prod/y", "/y", ""},
		{"http://other.test/prod/y", "", ""},
		{"/elsewhere", "", ""},
		{"mailto:someone@site.test", "", ""},
		{"ftp://site.test/prod/y", "", ""},
	}
	for _, tt := range tests {
		k, ok := relatedKey(d, b, r, "/dir/post", tt.ref)
		if tt.path == "" {
			if ok {
				t.Errorf("%q: related (%q), want not", tt.ref, k)
			}
			continue
		}
		want := cacheKey(d, d.Behavior(tt.path), tt.path, tt.query, r.Host, r.Header)
		if !ok || k != want {
			t.Errorf("%q: key %q (%v), want %q", tt.ref, k, ok, want)
		}
	}
}

// Through the edge: a POST invalidates what its Location names, and its
// answer, when it names its own URI in Content-Location with explicit
// freshness, serves the next GET.
func TestUnsafeMethodsThroughTheEdge(t *testing.T) {
	var hits atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch {
		case r.Method == http.MethodPost && r.URL.Path == "/items":
			w.Header().Set("Location", "/items/1")
			w.WriteHeader(http.StatusCreated)
		case r.Method == http.MethodPost && r.URL.Path == "/state":
			w.Header().Set("Content-Location", "/state")
			w.Header().Set("Cache-Control", "max-age=60")
			io.WriteString(w, "posted state")
		default:
			w.Header().Set("Cache-Control", "max-age=60")
			fmt.Fprintf(w, "%s %s #%d", r.Method, r.URL.Path, hits.Load())
		}
	}))
	t.Cleanup(app.Close)
	tb := compileSource(t, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all",
		allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]}
}
`, strings.TrimPrefix(app.URL, "http://")))
	h := cachedHandler(t, t.TempDir(), tb)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	do := func(method, path string) (string, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader("x"))
		req.Host = "site.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return string(b), resp.Header.Get("X-Cache")
	}
	first, _ := do("GET", "/items/1")
	if again, x := do("GET", "/items/1"); again != first || x != cache.XCacheHit {
		t.Fatalf("second GET: %q %s, want the stored %q", again, x, first)
	}
	do("POST", "/items")
	if after, x := do("GET", "/items/1"); after == first || x != cache.XCacheMiss {
		t.Errorf("after the POST: %q %s, want a new miss", after, x)
	}
	do("POST", "/state")
	if got, x := do("GET", "/state"); got != "posted state" || x != cache.XCacheHit {
		t.Errorf("GET after POST: %q %s, want the POST's answer from the cache", got, x)
	}
}
