package edge

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
	"openfront.dev/schema"
)

// TestCachedRequestPath runs the edge with its cache: what is a hit, what
// reaches the origin, and that a config change never serves old entries.
func TestCachedRequestPath(t *testing.T) {
	var hits atomic.Int64
	gate := make(chan struct{})
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		switch r.URL.Path {
		case "/slow":
			<-gate
		case "/missing":
			http.Error(w, "nope", http.StatusNotFound)
			return
		case "/unavailable":
			w.Header().Set("Cache-Control", "max-age=0")
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		case "/404.html":
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, "<h1>not here</h1>")
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "origin %s %s q=%s lang=%s", r.Header.Get("X-Version"), r.URL.Path, r.URL.RawQuery, r.Header.Get("Accept-Language"))
	}))
	t.Cleanup(app.Close)
	host := strings.TrimPrefix(app.URL, "http://")

	dir := t.TempDir()
	compile := func(version string) *table.Table {
		src := fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customHeaders: [{headerName: "X-Version", headerValue: %q}], customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all",
		forwardedValues: {queryString: true, queryStringCacheKeys: ["page"], headers: ["Accept-Language"]}}
	customErrorResponses: [{errorCode: 404, responsePagePath: "/404.html", responseCode: 404, errorCachingMinTTL: 30}]
}
`, host, version)
		return testenv.Compile(t, dir, src)
	}
	h := cachedHandler(t, dir, compile("v1"))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	get := func(t *testing.T, method, path string, hdr http.Header) (*http.Response, string) {
		t.Helper()
		return siteRequest(t, srv.URL, method, path, hdr, nil)
	}
	steps := []struct {
		name, method, path string
		hdr                http.Header
		xcache             string
		body               string
		originRequests     int64 // added by this step
	}{
		// Legacy queryStringCacheKeys: "CloudFront forwards all query
		// string parameters to the origin, but it only caches based on
		// the query string parameters that you specify" (ForwardedValues).
		{"first request", "GET", "/a?page=1&utm=x", nil, "Miss from openfront", "origin v1 /a q=page=1&utm=x lang=", 1},
		{"same key", "GET", "/a?page=1&utm=y", nil, "Hit from openfront", "origin v1 /a q=page=1&utm=x lang=", 0},
		{"HEAD from the GET entry", "HEAD", "/a?page=1", nil, "Hit from openfront", "", 0},
		{"another keyed query value", "GET", "/a?page=2", nil, "Miss from openfront", "origin v1 /a q=page=2 lang=", 1},
		{"a keyed header", "GET", "/a?page=1", http.Header{"Accept-Language": {"fr"}}, "Miss from openfront", "origin v1 /a q=page=1 lang=fr", 1},
		// Errors say Error, cached or not, as CloudFront's do; the origin
		// count shows the second one came from the cache.
		{"custom error page, cached", "GET", "/missing", nil, "Error from openfront", "<h1>not here</h1>", 2},
		{"custom error page again", "GET", "/missing", nil, "Error from openfront", "<h1>not here</h1>", 0},
		// An error is kept for the error caching minimum TTL (10 s by
		// default) even when the origin says less.
		{"503 max-age=0", "GET", "/unavailable", nil, "Error from openfront", "down\n", 1},
		{"503 again: cached", "GET", "/unavailable", nil, "Error from openfront", "down\n", 0},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			before := hits.Load()
			resp, body := get(t, s.method, s.path, s.hdr)
			if got := resp.Header.Get("X-Cache"); got != s.xcache {
				t.Errorf("X-Cache %q, want %q", got, s.xcache)
			}
			if body != s.body {
				t.Errorf("body %q, want %q", body, s.body)
			}
			if got := hits.Load() - before; got != s.originRequests {
				t.Errorf("%d origin requests, want %d", got, s.originRequests)
			}
			if resp.Header.Get("Via") != "1.1 test-node (openfront)" || resp.Header.Get("X-Openfront-Id") == "" {
				t.Errorf("Via %q, X-Openfront-Id %q", resp.Header.Get("Via"), resp.Header.Get("X-Openfront-Id"))
			}
		})
	}

	t.Run("200 concurrent misses make one origin request", func(t *testing.T) {
		before := hits.Load()
		var wg sync.WaitGroup
		bodies := make([]string, 200)
		for i := range bodies {
			wg.Go(func() { _, bodies[i] = get(t, "GET", "/slow", nil) })
		}
		for hits.Load() == before {
			time.Sleep(time.Millisecond) // until the leader reaches the origin
		}
		close(gate)
		wg.Wait()
		if got := hits.Load() - before; got != 1 {
			t.Errorf("%d origin requests, want 1", got)
		}
		for _, b := range bodies {
			if b != "origin v1 /slow q= lang=" {
				t.Fatalf("a coalesced viewer got %q", b)
			}
		}
	})

	t.Run("a changed origin is not served from the old entries", func(t *testing.T) {
		h.SetTable(compile("v2"))
		resp, body := get(t, "GET", "/a?page=1", nil)
		if body != "origin v2 /a q=page=1 lang=" || resp.Header.Get("X-Cache") != "Miss from openfront" {
			t.Errorf("after the swap: %q (%s), want a miss from the new origin", body, resp.Header.Get("X-Cache"))
		}
	})
}

// TestHostInCacheKey: a behavior whose forwardedValues.headers name Host
// keys its cache on the viewer's Host, as CloudFront does when it caches
// on Host (header-caching.md): the aliases of one distribution share an
// origin that answers per host, and each viewer gets its own host's page.
// Go's servers (net/http, http1, HTTP/2, HTTP/3) give the Host in r.Host,
// not in r.Header.
func TestHostInCacheKey(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "page of %s", r.Host)
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	h := cachedHandler(t, dir, testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["a.test", "b.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: headers: ["host"]}
}
`, strings.TrimPrefix(app.URL, "http://"))))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	for _, step := range []struct{ host, xcache string }{
		{"a.test", "Miss from openfront"},
		{"b.test", "Miss from openfront"},
		{"a.test", "Hit from openfront"},
		{"b.test", "Hit from openfront"},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
		req.Host = step.host
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "page of "+step.host || resp.Header.Get("X-Cache") != step.xcache {
			t.Errorf("%s: %q (%s), want its own page (%s)", step.host, b, resp.Header.Get("X-Cache"), step.xcache)
		}
	}
}

func TestCoalesceWait(t *testing.T) {
	custom := func(read, attempts int) *table.Behavior {
		return &table.Behavior{Origin: &table.Origin{Spec: &schema.Origin{ConnectionAttempts: attempts,
			CustomOriginConfig: &schema.CustomOriginConfig{OriginReadTimeout: read}}}}
	}
	tests := []struct {
		name string
		b    *table.Behavior
		want time.Duration
	}{
		{"custom origin: originReadTimeout per attempt", custom(30, 3), 90 * time.Second},
		{"one attempt", custom(5, 1), 5 * time.Second},
		{"S3: 30 s per attempt", &table.Behavior{Origin: &table.Origin{Spec: &schema.Origin{ConnectionAttempts: 2, S3OriginConfig: &schema.S3OriginConfig{}}}}, 60 * time.Second},
		{"S3: its originReadTimeout per attempt", &table.Behavior{Origin: &table.Origin{Spec: &schema.Origin{ConnectionAttempts: 3, S3OriginConfig: &schema.S3OriginConfig{OriginReadTimeout: 120}}}}, 360 * time.Second},
		{"a responseCompletionTimeout ends it sooner", &table.Behavior{Origin: &table.Origin{Spec: &schema.Origin{ConnectionAttempts: 3, ResponseCompletionTimeout: 45,
			CustomOriginConfig: &schema.CustomOriginConfig{OriginReadTimeout: 30}}}}, 45 * time.Second},
		{"or not", &table.Behavior{Origin: &table.Origin{Spec: &schema.Origin{ConnectionAttempts: 1, ResponseCompletionTimeout: 45,
			CustomOriginConfig: &schema.CustomOriginConfig{OriginReadTimeout: 30}}}}, 30 * time.Second},
		{"origin group", &table.Behavior{Group: &table.OriginGroup{}}, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := coalesceWait(tt.b); got != tt.want {
				t.Errorf("coalesceWait = %v, want %v", got, tt.want)
			}
		})
	}
}

// testCache is a 16 MiB memory cache, closed when the test ends.
func testCache(t *testing.T) *cache.Cache {
	t.Helper()
	return testCacheAt(t, nil)
}

// testCacheAt is a testCache on the clock now (nil: time.Now).
func testCacheAt(t *testing.T, now func() time.Time) *cache.Cache {
	t.Helper()
	c, err := cache.New(cache.Config{MemoryBytes: 16 << 20, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// cachedHandler is a Handler with a testCache serving tb, whose local
// origins are under dir.
func cachedHandler(t *testing.T, dir string, tb *table.Table) *Handler {
	t.Helper()
	h := New(origin.NewPool(dir), "test-node", slog.New(slog.DiscardHandler))
	h.SetCache(testCache(t))
	h.SetTable(tb)
	return h
}

// bothEdges serves tb from two edges, without and with a cache, whose
// local origins are under dir: cached says which one url is.
func bothEdges(t *testing.T, dir string, tb *table.Table) []struct {
	cached bool
	url    string
} {
	t.Helper()
	var edges []struct {
		cached bool
		url    string
	}
	for _, cached := range []bool{false, true} {
		h := New(origin.NewPool(dir), "test-node", slog.New(slog.DiscardHandler))
		if cached {
			h.SetCache(testCache(t))
		}
		h.SetTable(tb)
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		edges = append(edges, struct {
			cached bool
			url    string
		}{cached, srv.URL})
	}
	return edges
}

// siteRequest sends method for path of site.test to the edge at url,
// with header and body (nil: none), and reads the answer.
func siteRequest(t *testing.T, url, method, path string, header http.Header, body io.Reader) (*http.Response, string) {
	t.Helper()
	return hostRequest(t, url, method, path, "site.test", header, body)
}

// hostRequest is siteRequest with the Host host.
func hostRequest(t *testing.T, url, method, path, host string, header http.Header, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url+path, body)
	req.Host = host
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}
