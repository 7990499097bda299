package edge

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
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

// relatedKeys maps an origin's Location / Content-Location to the keys of
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
		keys := relatedKeys(d, b, r, "/dir/post", tt.ref)
		if tt.path == "" {
			if keys != nil {
				t.Errorf("%q: related (%q), want not", tt.ref, keys)
			}
			continue
		}
		want := cacheKey(d, d.Behavior(tt.path), tt.path, tt.query, r.Host, r.Header)
		if !slices.Equal(keys, []string{want}) {
			t.Errorf("%q: keys %q, want %q", tt.ref, keys, want)
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
		var body io.Reader
		if method != http.MethodGet { // a GET with a body is refused
			body = strings.NewReader("x")
		}
		req, _ := http.NewRequest(method, srv.URL+path, body)
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

// A successful unsafe method drops every Accept-Encoding variant of the
// resources it reaches (its own, and what its Location names), not only
// its sender's: a cache policy that enables gzip and brotli keys each
// normalized Accept-Encoding apart.
func TestUnsafeMethodDropsEveryEncoding(t *testing.T) {
	var version atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			w.Header().Set("Cache-Control", "max-age=60")
			fmt.Fprintf(w, "%s v%d", r.URL.Path, version.Load())
		default:
			version.Add(1)
			if r.URL.Path == "/list" {
				w.Header().Set("Location", "/list/doc")
			}
			w.WriteHeader(http.StatusNoContent)
		}
	}))
	t.Cleanup(app.Close)
	tb := compileSource(t, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", compress: false,
		cachePolicy: "CachingOptimized", allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]}
}
`, app.Listener.Addr().String()))
	srv := httptest.NewServer(cachedHandler(t, t.TempDir(), tb))
	t.Cleanup(srv.Close)
	viewer := &http.Transport{DisableCompression: true}
	t.Cleanup(viewer.CloseIdleConnections)
	do := func(method, path, accept string) (string, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		req.Host = "site.test"
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		resp, err := viewer.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if method != http.MethodGet && resp.StatusCode != http.StatusNoContent {
			t.Fatalf("%s %s: status %d, want 204", method, path, resp.StatusCode)
		}
		return string(b), strings.TrimSuffix(resp.Header.Get("X-Cache"), " from openfront")
	}
	// Normalized: "br,gzip", "gzip", "br", and none (no key field).
	accepts := []string{"gzip, deflate, br", "gzip", "br", ""}
	for _, tt := range []struct {
		name, get, method, target string
	}{
		{"own URI", "/doc", http.MethodPut, "/doc"},
		{"Location", "/list/doc", http.MethodPost, "/list"},
	} {
		for _, ae := range accepts {
			do(http.MethodGet, tt.get, ae)
			if _, x := do(http.MethodGet, tt.get, ae); x != "Hit" {
				t.Fatalf("%s: GET %s with Accept-Encoding %q again: %s, want Hit", tt.name, tt.get, ae, x)
			}
		}
		do(tt.method, tt.target, "gzip")
		want := fmt.Sprintf("%s v%d", tt.get, version.Load())
		for _, ae := range accepts {
			if got, x := do(http.MethodGet, tt.get, ae); got != want || x != "Miss" {
				t.Errorf("%s: GET %s with Accept-Encoding %q after the %s: %q %s, want %q Miss", tt.name, tt.get, ae, tt.method, got, x, want)
			}
		}
	}
}
