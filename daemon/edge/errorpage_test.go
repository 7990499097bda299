package edge

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"openfront.dev/internal/testenv"
)

// TestCustomErrorPageHeaders: a custom error page reaches the viewer with
// its own end-to-end header fields, as CloudFront returns the page object,
// and never with errorCachingMinTTL, which is how long the edge keeps the
// page under the failing URL: until then the origin is not asked again,
// after it is.
func TestCustomErrorPageHeaders(t *testing.T) {
	var hits atomic.Int64
	clock := testenv.NewClock(time.Now())
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h := w.Header()
		// The edge's clock: the answers arrive with no age.
		h.Set("Date", clock.Now().UTC().Format(http.TimeFormat))
		switch {
		case r.URL.Path == "/404.html":
			h.Set("Content-Type", "text/html")
			h.Set("Cache-Control", "no-cache")
			h.Set("ETag", `"page-1"`)
			h.Set("X-Amz-Meta-Team", "web")
			h.Set("Set-Cookie", "page=1")
			h.Set("Connection", "X-Hop")
			h.Set("X-Hop", "1")
			// Addressed to the edge: never the viewer's, on any path.
			h.Set("Surrogate-Control", "max-age=3600")
			io.WriteString(w, "<h1>not here</h1>")
		case r.URL.Path == "/index.html":
			h.Set("Content-Type", "text/html")
			h.Set("Cache-Control", "max-age=0, must-revalidate")
			h.Set("ETag", `"index-1"`)
			io.WriteString(w, "<div id=app></div>")
		case strings.HasPrefix(r.URL.Path, "/app/"):
			h.Set("X-Original", "403")
			// A 403 is cached, and its page kept, only with a max-age or
			// s-maxage (HTTPStatusCodes.html).
			h.Set("Cache-Control", "max-age=1")
			http.Error(w, "AccessDenied", http.StatusForbidden)
		case strings.HasPrefix(r.URL.Path, "/private/"):
			h.Set("X-Original", "403")
			http.Error(w, "AccessDenied", http.StatusForbidden)
		default:
			h.Set("X-Original", "404")
			http.Error(w, "NoSuchKey", http.StatusNotFound)
		}
	}))
	t.Cleanup(app.Close)
	srv := clockedEdge(t, clock, "testdata/error_pages.cue.tmpl", app.Listener.Addr().String())

	page := http.Header{"Cache-Control": {"no-cache"}, "Etag": {`"page-1"`}, "X-Amz-Meta-Team": {"web"}, "Content-Type": {"text/html"}}
	index := http.Header{"Cache-Control": {"max-age=0, must-revalidate"}, "Etag": {`"index-1"`}, "Content-Type": {"text/html"}}
	// Never to the viewer: the original error's fields, the page's
	// hop-by-hop and cookie (the behavior forwards no cookies), and the
	// edge's own holding time.
	absent := []string{"X-Original", "X-Hop", "Set-Cookie", "Surrogate-Control"}
	steps := []struct {
		name, method, path string
		header             http.Header
		advance            time.Duration // the clock moves before the request
		status             int
		xcache, body       string
		want               http.Header
		originRequests     int64
	}{
		{"miss: the page's own fields", "GET", "/missing", nil, 0, 404, "Error from openfront", "<h1>not here</h1>", page, 2},
		{"hit: the same", "GET", "/missing", nil, 0, 404, "Error from openfront", "<h1>not here</h1>", page, 0},
		{"HEAD hit", "HEAD", "/missing", nil, 0, 404, "Error from openfront", "", page, 0},
		// The page's no-cache is the viewers': the edge keeps it
		// errorCachingMinTTL all the same.
		{"kept for errorCachingMinTTL", "GET", "/missing", nil, 29 * time.Second, 404, "Error from openfront", "<h1>not here</h1>", page, 0},
		// The error only: the page object is kept under its own path, as
		// its Surrogate-Control says (pageObject).
		{"asked again after", "GET", "/missing", nil, 2 * time.Second, 404, "Error from openfront", "<h1>not here</h1>", page, 1},

		// A page sent as a 200 is still the error's answer: X-Cache, and
		// so the log's x-edge-result-type, say Error, as CloudFront's
		// does ("the value in the x-edge-result-type column will be
		// Error", custom-error-pages-response-code).
		{"SPA miss", "GET", "/app/settings", nil, 0, 200, "Error from openfront", "<div id=app></div>", index, 2},
		{"SPA hit", "GET", "/app/settings", nil, 0, 200, "Error from openfront", "<div id=app></div>", index, 0},
		{"SPA HEAD", "HEAD", "/app/settings", nil, 0, 200, "Error from openfront", "", index, 0},
		{"SPA 304", "GET", "/app/settings", http.Header{"If-None-Match": {`"index-1"`}}, 0, 304, "Error from openfront", "",
			http.Header{"Cache-Control": {"max-age=0, must-revalidate"}, "Etag": {`"index-1"`}}, 0},
		{"SPA range", "GET", "/app/settings", http.Header{"Range": {"bytes=0-3"}}, 0, 206, "Error from openfront", "<div", index, 0},
		{"SPA kept for errorCachingMinTTL", "GET", "/app/settings", nil, 19 * time.Second, 200, "Error from openfront", "<div id=app></div>", index, 0},
		{"SPA asked again after", "GET", "/app/settings", nil, 2 * time.Second, 200, "Error from openfront", "<div id=app></div>", index, 2},
		{"403 without max-age: page not kept", "GET", "/private/x", nil, 0, 200, "Error from openfront", "<div id=app></div>", index, 2},
		{"403 without max-age: asked again", "GET", "/private/x", nil, 0, 200, "Error from openfront", "<div id=app></div>", index, 2},

		// CachingDisabled keeps no error (HTTPStatusCodes.html), and its
		// page comes from the default behavior's cache.
		{"CachingDisabled: error not kept", "GET", "/nocache/x", nil, 0, 404, "Error from openfront", "<h1>not here</h1>", page, 1},
		{"CachingDisabled: asked again", "GET", "/nocache/x", nil, 0, 404, "Error from openfront", "<h1>not here</h1>", page, 1},

		// The node's own error, answered with the page (a hit), is not
		// cached.
		{"origin down", "GET", "/down/x", nil, 0, 502, "Error from openfront", "<h1>not here</h1>", page, 0},
		{"HEAD, origin down", "HEAD", "/down/x", nil, 0, 502, "Error from openfront", "", page, 0},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			clock.Advance(s.advance)
			before := hits.Load()
			resp, body := siteRequest(t, srv.URL, s.method, s.path, s.header, nil)
			if resp.StatusCode != s.status || body != s.body {
				t.Errorf("%d %q, want %d %q", resp.StatusCode, body, s.status, s.body)
			}
			if got := resp.Header.Get("X-Cache"); got != s.xcache {
				t.Errorf("X-Cache %q, want %q", got, s.xcache)
			}
			for k, vs := range s.want {
				if got := resp.Header.Values(k); strings.Join(got, ", ") != strings.Join(vs, ", ") {
					t.Errorf("%s %q, want %q", k, got, vs)
				}
			}
			for _, k := range absent {
				if v, ok := resp.Header[k]; ok {
					t.Errorf("%s %q passed to the viewer", k, v)
				}
			}
			if got := hits.Load() - before; got != s.originRequests {
				t.Errorf("%d origin requests, want %d", got, s.originRequests)
			}
		})
	}
}

// TestCustomErrorPageLifetime: the edge keeps a custom error page for the
// greater of errorCachingMinTTL and the max-age, s-maxage or Expires of
// the origin's original error, that one capped at the behavior's maxTTL
// (custom-error-pages-expiration.html): the origin is not asked again
// until then, and is after.
func TestCustomErrorPageLifetime(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	date := func() string { return clock.Now().UTC().Format(http.TimeFormat) }
	cases := []struct {
		name, path string
		header     func() http.Header // the origin's 404
		kept       time.Duration
	}{
		{"no freshness: errorCachingMinTTL", "/plain", func() http.Header { return http.Header{} }, 30 * time.Second},
		{"other directives: errorCachingMinTTL", "/must-revalidate", func() http.Header { return http.Header{"Cache-Control": {"must-revalidate"}} }, 30 * time.Second},
		{"shorter max-age: errorCachingMinTTL", "/short", func() http.Header { return http.Header{"Cache-Control": {"max-age=5"}} }, 30 * time.Second},
		{"longer max-age", "/max-age", func() http.Header { return http.Header{"Cache-Control": {"max-age=60"}} }, 60 * time.Second},
		{"s-maxage wins over max-age", "/s-maxage", func() http.Header { return http.Header{"Cache-Control": {"max-age=5, s-maxage=45"}} }, 45 * time.Second},
		{"Expires", "/expires", func() http.Header {
			return http.Header{"Expires": {clock.Now().Add(50 * time.Second).UTC().Format(http.TimeFormat)}}
		}, 50 * time.Second},
		{"max-age capped at maxTTL", "/capped/long", func() http.Header { return http.Header{"Cache-Control": {"max-age=3600"}} }, 100 * time.Second},
	}
	errors := map[string]func() http.Header{}
	for _, c := range cases {
		errors[c.path] = c.header
	}
	var hits atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		h := w.Header()
		h.Set("Date", date())
		if r.URL.Path == "/404.html" {
			h.Set("Content-Type", "text/html")
			h.Set("Cache-Control", "no-cache")
			io.WriteString(w, "<h1>not here</h1>")
			return
		}
		for k, vs := range errors[r.URL.Path]() {
			h[k] = vs
		}
		http.Error(w, "NoSuchKey", http.StatusNotFound)
	}))
	t.Cleanup(app.Close)
	srv := clockedEdge(t, clock, "testdata/error_page_ttl.cue.tmpl", app.Listener.Addr().String())

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			steps := []struct {
				advance        time.Duration
				originRequests int64
			}{
				{0, 2},                    // the error, then the page
				{c.kept - time.Second, 0}, // still kept
				{2 * time.Second, 2},      // asked again
			}
			for i, s := range steps {
				clock.Advance(s.advance)
				before := hits.Load()
				resp, body := siteRequest(t, srv.URL, "GET", c.path, nil, nil)
				if resp.StatusCode != 404 || body != "<h1>not here</h1>" {
					t.Errorf("step %d: %d %q, want the page", i, resp.StatusCode, body)
				}
				if got := hits.Load() - before; got != s.originRequests {
					t.Errorf("step %d, after %v: %d origin requests, want %d", i, s.advance, got, s.originRequests)
				}
			}
		})
	}
}

// TestCustomErrorPageUnavailable: when the custom error page cannot be
// had, the viewer gets the status (and body) the page's origin answered,
// not the original error: "CloudFront returns to the viewer the status
// code that CloudFront received from the origin that contains the custom
// error pages" (GeneratingCustomErrorResponses.html; a deleted page in S3
// gives the viewer a 404). The page that is there still goes out.
func TestCustomErrorPageUnavailable(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/private":
			http.Error(w, "app: denied", http.StatusForbidden)
		case "/broken":
			http.Error(w, "app: broken", http.StatusInternalServerError)
		default:
			http.Error(w, "app: not found", http.StatusNotFound)
		}
	}))
	t.Cleanup(app.Close)
	pages := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/errors/404.html":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<h1>not here</h1>")
		case "/errors/403.html":
			w.Header().Set("X-Page-Origin", "pages")
			http.Error(w, "pages: AccessDenied", http.StatusForbidden)
		default:
			w.Header().Set("X-Page-Origin", "pages")
			w.Header().Set("Set-Cookie", "pages=1")
			http.Error(w, "pages: NoSuchKey", http.StatusNotFound)
		}
	}))
	t.Cleanup(pages.Close)
	srv := clockedEdge(t, testenv.NewClock(time.Now()), "testdata/error_page_missing.cue.tmpl", app.Listener.Addr().String(), pages.Listener.Addr().String())

	cases := []struct {
		name, method, path string
		status             int
		body               string
		fromPages          bool // the pages origin's own answer
	}{
		{"the page is there", "GET", "/missing", 404, "<h1>not here</h1>", false},
		{"500, its page missing: the pages origin's 404", "GET", "/broken", 404, "pages: NoSuchKey\n", true},
		{"again, from the cache", "GET", "/broken", 404, "pages: NoSuchKey\n", true},
		{"HEAD", "HEAD", "/broken", 404, "", true},
		{"403, its page forbidden: the pages origin's 403, not responseCode 200", "GET", "/private", 403, "pages: AccessDenied\n", true},
		{"the node's own 502, its page missing", "GET", "/down/x", 404, "pages: NoSuchKey\n", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := siteRequest(t, srv.URL, c.method, c.path, nil, nil)
			if resp.StatusCode != c.status || body != c.body {
				t.Errorf("%d %q, want %d %q", resp.StatusCode, body, c.status, c.body)
			}
			if got := resp.Header.Get("X-Cache"); got != "Error from openfront" {
				t.Errorf("X-Cache %q, want Error from openfront", got)
			}
			if got := resp.Header.Get("X-Page-Origin") == "pages"; got != c.fromPages {
				t.Errorf("X-Page-Origin %q", resp.Header.Get("X-Page-Origin"))
			}
			// The page's behavior forwards no cookies.
			if v, ok := resp.Header["Set-Cookie"]; ok {
				t.Errorf("Set-Cookie %q passed to the viewer", v)
			}
		})
	}
}

// TestCustomErrorPageStaleObject: an object the cache holds, expired,
// answers the origin's 5xx in place of its custom error page, whatever
// the page's responseCode: "If your origin returns a 5xx status code,
// CloudFront serves the object even though it has expired ... If your
// origin returns a 4xx status code, CloudFront returns the status code,
// not the requested object" ("How CloudFront processes errors when you
// have configured custom error pages", HTTPStatusCodes.html). Without an
// object, the page answers.
func TestCustomErrorPageStaleObject(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	var failWith atomic.Int64 // the origin's status for objects; 0: the object
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Date", clock.Now().UTC().Format(http.TimeFormat))
		switch r.URL.Path {
		case "/index.html":
			io.WriteString(w, "<div id=app></div>")
		case "/error.html":
			io.WriteString(w, "<h1>error page</h1>")
		default:
			if s := failWith.Load(); s != 0 {
				http.Error(w, "origin error", int(s))
				return
			}
			h.Set("Cache-Control", "max-age=10")
			if strings.HasPrefix(r.URL.Path, "/no-stale") {
				h.Set("Cache-Control", "max-age=10, stale-if-error=0")
			}
			io.WriteString(w, "object "+r.URL.Path)
		}
	}))
	t.Cleanup(app.Close)
	srv := clockedEdge(t, clock, "testdata/error_page_stale.cue.tmpl", app.Listener.Addr().String())

	cases := []struct {
		name, path string
		fail       int
		status     int
		body       string
	}{
		{"500, page as 200: the object", "/a", 500, 200, "object /a"},
		{"502, page as 404: the object", "/b", 502, 200, "object /b"},
		{"503, page as 503: the object", "/c", 503, 200, "object /c"},
		{"404: the page, not the object", "/d", 404, 404, "<h1>error page</h1>"},
		{"stale-if-error=0: the page", "/no-stale", 500, 200, "<div id=app></div>"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			failWith.Store(0)
			if resp, body := siteRequest(t, srv.URL, "GET", c.path, nil, nil); resp.StatusCode != 200 || body != "object "+c.path {
				t.Fatalf("first: %d %q, want the object", resp.StatusCode, body)
			}
			clock.Advance(20 * time.Second) // expired
			failWith.Store(int64(c.fail))
			for i := range 2 { // the second within errorCachingMinTTL
				resp, body := siteRequest(t, srv.URL, "GET", c.path, nil, nil)
				if resp.StatusCode != c.status || body != c.body {
					t.Errorf("after the origin's %d (%d): %d %q, want %d %q", c.fail, i, resp.StatusCode, body, c.status, c.body)
				}
			}
			// Never cached: the page answers a URL the cache has no object for.
			path := c.path + "/new"
			resp, body := siteRequest(t, srv.URL, "GET", path, nil, nil)
			want := map[int]int{500: 200, 502: 404, 503: 503, 404: 404}[c.fail]
			if wantBody := map[int]string{500: "<div id=app></div>"}[c.fail]; resp.StatusCode != want || (wantBody != "" && body != wantBody) {
				t.Errorf("no object: %d %q, want the page as %d", resp.StatusCode, body, want)
			}
		})
	}
}

// clockedEdge serves the config template tmpl, given the origins'
// addresses, from an edge whose cache runs on clock.
func clockedEdge(t *testing.T, clock *testenv.Clock, tmpl string, originAddrs ...any) *httptest.Server {
	t.Helper()
	_, srv := clockedHandler(t, clock, tmpl, originAddrs...)
	return srv
}
