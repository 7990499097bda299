package admin

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/edge"
	"openfront.dev/daemon/origin"
)

// TestInvalidationThroughTheEdge: objects cached by the edge in memory
// and on disk are hits; after an invalidation the matching ones are
// misses with the origin's new content, and the others still hits.
func TestInvalidationThroughTheEdge(t *testing.T) {
	var version atomic.Int64
	version.Store(1)
	big := strings.Repeat("x", 300<<10) // above the memory tier's largest object
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		v := fmt.Sprintf("v%d ", version.Load())
		if r.URL.Path == "/video/big.bin" {
			http.ServeContent(w, r, "big.bin", time.Time{}, strings.NewReader(v+big))
			return
		}
		io.WriteString(w, v+r.URL.Path)
	}))
	t.Cleanup(app.Close)

	tbl := compileTable(t, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: queryString: true}
	defaultRootObject: "index.html"
}
`, strings.TrimPrefix(app.URL, "http://")))
	c, err := cache.New(cache.Config{MemoryBytes: 4 << 20, MaxObjectBytes: 64 << 10, Dir: t.TempDir(), DiskBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := edge.New(origin.NewPool(t.TempDir()), "test-node", slog.New(slog.DiscardHandler))
	h.SetCache(c)
	h.SetTable(tbl)
	viewer := httptest.NewServer(h)
	t.Cleanup(viewer.Close)
	adm := httptest.NewServer(Handler("test-node", source{tbl}, nil, nil, Options{TokenFile: tokenFile(t, "s3cret"), Cache: c}))
	t.Cleanup(adm.Close)

	get := func(path string) (xcache, body string) {
		t.Helper()
		req, _ := http.NewRequest("GET", viewer.URL+path, nil)
		req.Host = "site.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("X-Cache"), string(b)
	}
	paths := []string{"/", "/index.html", "/images/a.jpg", "/images/a.jpg?w=100", "/imagesque.jpg", "/video/big.bin"}
	for _, p := range paths {
		get(p)
	}
	for _, p := range paths {
		if x, body := get(p); x != "Hit from openfront" || !strings.HasPrefix(body, "v1 ") {
			t.Fatalf("before: %s is %q %.20q, want a v1 hit", p, x, body)
		}
	}
	version.Store(2)

	req, _ := http.NewRequest("POST", adm.URL+"/distributions/site/invalidations",
		strings.NewReader(`{"paths": ["/images/*", "/index.html", "/video/big.bin"], "callerReference": "deploy-2"}`))
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("create: %s", resp.Status)
	}
	loc := resp.Header.Get("Location")
	var inv Invalidation
	for i := 0; inv.Status != StatusCompleted; i++ {
		if i == 1000 {
			t.Fatalf("%s never completed", loc)
		}
		resp, err := http.NewRequest("GET", loc, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Header.Set("Authorization", "Bearer s3cret")
		r, err := http.DefaultClient.Do(resp)
		if err != nil {
			t.Fatal(err)
		}
		json.NewDecoder(r.Body).Decode(&inv)
		r.Body.Close()
		time.Sleep(5 * time.Millisecond)
	}
	if inv.Removed < 4 {
		t.Errorf("removed %d entries, want at least 4 (two paths, a query variant, the disk object)", inv.Removed)
	}
	after := []struct{ path, xcache, version string }{
		{"/index.html", "Miss", "v2"},
		{"/", "Hit", "v2"}, // the default root object: the same entry
		{"/images/a.jpg", "Miss", "v2"},
		{"/images/a.jpg?w=100", "Miss", "v2"}, // every query variant
		{"/imagesque.jpg", "Hit", "v1"},       // "/images/*" is a prefix of paths, not of names
		{"/video/big.bin", "Miss", "v2"},      // the disk tier
	}
	for _, a := range after {
		if x, body := get(a.path); x != a.xcache+" from openfront" || !strings.HasPrefix(body, a.version+" ") {
			t.Errorf("after: %s is %q %.20q, want %s with %s", a.path, x, body, a.xcache, a.version)
		}
	}
}
