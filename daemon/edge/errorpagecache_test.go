package edge

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// TestCustomErrorPageCachedObject: the custom error page is requested
// through the cache behavior its path matches and kept as that behavior
// keeps any object ("CloudFront finds the first cache behavior in your
// distribution that has a path pattern that matches the path of the
// custom error page", HTTPStatusCodes.md): an error that is not kept
// (errorCachingMinTTL 0) costs its origin one request, not two, once the
// page is in the cache; invalidating the page's path fetches it anew; a
// page from an S3 bucket under another behavior expires with that
// behavior's maxTTL.
func TestCustomErrorPageCachedObject(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	var mu sync.Mutex
	asked := map[string]int{} // origin requests by origin and path
	version := "v1"
	count := func(name string, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		asked[name+" "+r.URL.Path]++
	}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		count("app", r)
		w.Header().Set("Date", clock.Now().UTC().Format(http.TimeFormat))
		mu.Lock()
		v := version
		mu.Unlock()
		switch {
		case r.URL.Path == "/404.html" && v != "gone":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<h1>not here "+v+"</h1>")
		case strings.HasPrefix(r.URL.Path, "/private"):
			http.Error(w, "AccessDenied", http.StatusForbidden)
		default:
			http.Error(w, "NoSuchKey", http.StatusNotFound)
		}
	}))
	t.Cleanup(app.Close)
	bucket := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		count("bucket", r)
		w.Header().Set("Date", clock.Now().UTC().Format(http.TimeFormat))
		if !strings.HasSuffix(r.URL.Path, "/errors/403.html") {
			http.Error(w, "NoSuchKey", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<h1>sign in</h1>")
	}))
	t.Cleanup(bucket.Close)
	h, srv := clockedHandler(t, clock, "testdata/error_page_cached.cue.tmpl", app.Listener.Addr().String(), bucket.URL)

	steps := []struct {
		name       string
		advance    time.Duration
		invalidate string // a path invalidated first
		newVersion string // the app's /404.html from now on
		path       string
		status     int
		body       string
		asked      map[string]int
	}{
		{name: "404: the error, then the page", path: "/missing", status: 404, body: "<h1>not here v1</h1>",
			asked: map[string]int{"app /missing": 1, "app /404.html": 1}},
		{name: "404 again: the error, the page from the cache", path: "/missing", status: 404, body: "<h1>not here v1</h1>",
			asked: map[string]int{"app /missing": 1}},
		{name: "another URL's 404: the same page", path: "/gone", status: 404, body: "<h1>not here v1</h1>",
			asked: map[string]int{"app /gone": 1}},
		{name: "the page changed, not yet invalidated", newVersion: "v2", path: "/missing", status: 404, body: "<h1>not here v1</h1>",
			asked: map[string]int{"app /missing": 1}},
		{name: "the page invalidated: fetched anew", invalidate: "/404.html", path: "/missing", status: 404, body: "<h1>not here v2</h1>",
			asked: map[string]int{"app /missing": 1, "app /404.html": 1}},
		{name: "403: the page from the bucket, as 200", path: "/private/a", status: 200, body: "<h1>sign in</h1>",
			asked: map[string]int{"app /private/a": 1, "bucket /pages/errors/403.html": 1}},
		{name: "403 again: the bucket's page from the cache", path: "/private/b", status: 200, body: "<h1>sign in</h1>",
			asked: map[string]int{"app /private/b": 1}},
		{name: "within the page behavior's maxTTL", advance: 59 * time.Second, path: "/private/a", status: 200, body: "<h1>sign in</h1>",
			asked: map[string]int{"app /private/a": 1}},
		{name: "after it: the page fetched again", advance: 2 * time.Second, path: "/private/a", status: 200, body: "<h1>sign in</h1>",
			asked: map[string]int{"app /private/a": 1, "bucket /pages/errors/403.html": 1}},
		// No loop: a page that is an error itself goes out as its origin
		// answered, asked for directly or as the page.
		{name: "the page deleted: its origin's 404", newVersion: "gone", invalidate: "/404.html", path: "/missing", status: 404, body: "NoSuchKey\n",
			asked: map[string]int{"app /missing": 1, "app /404.html": 1}},
		// The viewer's request, then the page's: its 404 is not kept
		// either (errorCachingMinTTL 0).
		{name: "the page asked for itself", path: "/404.html", status: 404, body: "NoSuchKey\n",
			asked: map[string]int{"app /404.html": 2}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			clock.Advance(s.advance)
			mu.Lock()
			clear(asked)
			if s.newVersion != "" {
				version = s.newVersion
			}
			mu.Unlock()
			if s.invalidate != "" {
				h.cache.InvalidatePaths("site", cache.NewPaths([]string{s.invalidate}))
			}
			resp, body := siteRequest(t, srv.URL, "GET", s.path, nil, nil)
			if resp.StatusCode != s.status || body != s.body {
				t.Errorf("%d %q, want %d %q", resp.StatusCode, body, s.status, s.body)
			}
			// An error's answer, whatever its status (responseCode 200).
			if got := resp.Header.Get("X-Cache"); got != cacheError {
				t.Errorf("X-Cache %q, want %q", got, cacheError)
			}
			if v, ok := resp.Header["Age"]; ok {
				t.Errorf("Age %q: the page's age in the cache is not the answer's", v)
			}
			mu.Lock()
			defer mu.Unlock()
			if fmt.Sprint(asked) != fmt.Sprint(s.asked) {
				t.Errorf("origin requests %v, want %v", asked, s.asked)
			}
		})
	}
}

// clockedHandler serves the config template tmpl, given the origins'
// addresses, from an edge whose cache runs on clock: the handler and its
// server.
func clockedHandler(t *testing.T, clock *testenv.Clock, tmpl string, originAddrs ...any) (*Handler, *httptest.Server) {
	t.Helper()
	src, err := os.ReadFile(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	h := New(origin.NewPool(dir), "test-node", slog.New(slog.DiscardHandler))
	h.SetCache(testCacheAt(t, clock.Now))
	h.SetTable(testenv.Compile(t, dir, fmt.Sprintf(string(src), originAddrs...)))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}
