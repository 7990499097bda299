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

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/edge"
	originpool "openfront.dev/daemon/origin"
)

// edgeWithAdmin serves distributions (CUE, with ORIGIN standing for
// app's host:port) through an edge with a memory and a disk tier, and an
// admin listener on its cache. get requests a path of host site.test,
// sent as written (raw UTF-8 too, as some clients send it); invalidate runs an invalidation of site and waits for its completion.
func edgeWithAdmin(t *testing.T, cue string, app http.Handler) (get func(path string) (xcache, body string), invalidate func(paths ...string) Invalidation) {
	t.Helper()
	get, invalidate, _ = edgeWithReload(t, cue, app)
	return get, invalidate
}

// reloadable is a node's view whose table a reload replaces.
type reloadable struct {
	source
	t atomic.Pointer[table.Table]
}

func (s *reloadable) Table() *table.Table { return s.t.Load() }

// edgeWithReload is edgeWithAdmin whose reload applies another config
// (CUE, with ORIGIN standing for the same origin) to the edge and the
// admin listener, as a node's reload does.
func edgeWithReload(t *testing.T, cue string, app http.Handler) (get func(path string) (xcache, body string), invalidate func(paths ...string) Invalidation, reload func(cue string)) {
	t.Helper()
	origin := httptest.NewServer(app)
	t.Cleanup(origin.Close)
	compile := func(cue string) *table.Table {
		return compileTable(t, strings.ReplaceAll(cue, "ORIGIN", strings.TrimPrefix(origin.URL, "http://")))
	}
	tbl := compile(cue)
	src := &reloadable{}
	src.t.Store(tbl)
	c, err := cache.New(cache.Config{MemoryBytes: 4 << 20, MaxObjectBytes: 64 << 10, Dir: t.TempDir(), DiskBytes: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := edge.New(originpool.NewPool(t.TempDir()), "test-node", slog.New(slog.DiscardHandler))
	h.SetCache(c)
	h.SetTable(tbl)
	viewer := httptest.NewServer(h)
	t.Cleanup(viewer.Close)
	adm := httptest.NewServer(Handler("test-node", src, nil, nil, Options{TokenFile: tokenFile(t, "s3cret"), Cache: c}))
	t.Cleanup(adm.Close)
	api := apiClient{t, adm.URL, "s3cret"}

	get = func(path string) (string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", viewer.URL, nil)
		req.Host, req.URL.Opaque = "site.test", path
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("X-Cache"), string(b)
	}
	n := 0
	invalidate = func(paths ...string) Invalidation {
		t.Helper()
		n++
		body, _ := json.Marshal(InvalidationBatch{Paths: paths, CallerReference: fmt.Sprintf("deploy-%d", n)})
		resp, b := api.do("POST", "/distributions/site/invalidations", string(body))
		if resp.StatusCode != 201 {
			t.Fatalf("create: %s %s", resp.Status, b)
		}
		return api.waitCompleted(resp.Header.Get("Location"))
	}
	reload = func(cue string) {
		tbl := compile(cue)
		h.SetTable(tbl)
		src.t.Store(tbl)
	}
	return get, invalidate, reload
}

// TestInvalidationThroughTheEdge: objects cached by the edge in memory
// and on disk are hits; after an invalidation the matching ones are
// misses with the origin's new content, and the others still hits.
func TestInvalidationThroughTheEdge(t *testing.T) {
	var version atomic.Int64
	version.Store(1)
	big := strings.Repeat("x", 300<<10) // above the memory tier's largest object
	get, invalidate := edgeWithAdmin(t, `package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: "ORIGIN", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: queryString: true}
	defaultRootObject: "index.html"
}
`, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		v := fmt.Sprintf("v%d ", version.Load())
		if r.URL.Path == "/video/big.bin" {
			http.ServeContent(w, r, "big.bin", time.Time{}, strings.NewReader(v+big))
			return
		}
		io.WriteString(w, v+r.URL.Path)
	}))
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

	inv := invalidate("/images/*", "/index.html", "/video/big.bin")
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

	// "/" names the default root object, as deploy scripts that
	// invalidate "/" expect; its query variants name its objects. A
	// viewer that knows the length may finish before the entry is stored:
	// the second request is a hit once it is.
	get("/?lang=fr")
	if x, _ := get("/?lang=fr"); x != "Hit from openfront" {
		t.Fatalf("/?lang=fr again is %q, want a hit", x)
	}
	version.Store(3)
	if inv := invalidate("/", "/?lang=fr"); inv.Removed != 2 {
		t.Errorf("invalidating / removed %d entries, want 2 (the root object and its query variant)", inv.Removed)
	}
	for _, a := range []struct{ path, xcache string }{{"/index.html", "Miss"}, {"/", "Hit"}, {"/?lang=fr", "Miss"}} {
		if x, body := get(a.path); x != a.xcache+" from openfront" || !strings.HasPrefix(body, "v3 ") {
			t.Errorf("after invalidating /: %s is %q %.20q, want %s with v3", a.path, x, body, a.xcache)
		}
	}
}

// versionedEdge serves site through edgeWithAdmin from an origin that
// answers "vN URI", N from the version it returns (1 to start). Its
// default behavior keys every query parameter, /thumbs/* only w, and
// /static/* none.
func versionedEdge(t *testing.T) (get func(path string) (xcache, body string), invalidate func(paths ...string) Invalidation, version *atomic.Int64) {
	version = new(atomic.Int64)
	version.Store(1)
	get, invalidate = edgeWithAdmin(t, `package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: "ORIGIN", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: queryString: true}
	cacheBehaviors: [{
		pathPattern: "/thumbs/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all"
		forwardedValues: {queryString: true, queryStringCacheKeys: ["w"]}
	}, {
		pathPattern: "/static/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all"
	}]
}
`, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprintf(w, "v%d %s", version.Load(), r.URL.RequestURI())
	}))
	return get, invalidate, version
}

// keptCase is a path cached at version 1 and what it serves after an
// invalidation at version 2: "v1" kept, "v2" removed.
type keptCase struct{ path, after string }

// invalidateCases caches each case's path, runs an invalidation of paths
// at version 2, and checks what each case serves after it.
func invalidateCases(t *testing.T, cases []keptCase, paths ...string) Invalidation {
	t.Helper()
	get, invalidate, version := versionedEdge(t)
	for _, c := range cases {
		get(c.path)
		if x, _ := get(c.path); x != "Hit from openfront" {
			t.Fatalf("before: %s is %q, want a hit", c.path, x)
		}
	}
	version.Store(2)
	inv := invalidate(paths...)
	for _, c := range cases {
		if _, body := get(c.path); !strings.HasPrefix(body, c.after+" ") {
			t.Errorf("after: %s serves %q, want %s", c.path, body, c.after)
		}
	}
	return inv
}

// TestInvalidateQueryVariant: a path with a query removes the one object
// viewers get with that query, reduced to what the serving behavior keys.
func TestInvalidateQueryVariant(t *testing.T) {
	inv := invalidateCases(t, []keptCase{
		{"/a.jpg?v=1", "v2"},                   // named
		{"/a.jpg?v=2", "v1"},                   // another query
		{"/a.jpg", "v1"},                       // no query
		{"/a.jpg?v=1&x=2", "v1"},               // every parameter is keyed here
		{"/thumbs/t.jpg?w=100&utm=mail", "v2"}, // only w is keyed: the invalidation's utm does not matter
		{"/thumbs/t.jpg?w=200", "v1"},
		{"/static/s.css?v=7", "v2"},       // no query keyed: any query names the object
		{"/caf%C3%A9.jpg?q=%C3%A9", "v2"}, // encoded as a browser does
	}, "/a.jpg?v=1", "/thumbs/t.jpg?utm=x&w=100", "/static/s.css?v=9", "/café.jpg?q=é", "/nothing?v=1")
	if inv.Removed != 4 {
		t.Errorf("removed %d entries, want 4", inv.Removed)
	}
}

// TestInvalidateEverySpellingOfAPath: viewers spell one path in several
// ways the origin takes alike (hex in lower or upper case, raw UTF-8 or
// percent-encoded); an invalidation removes what each spelling cached,
// however the invalidation itself spells the path.
func TestInvalidateEverySpellingOfAPath(t *testing.T) {
	invalidateCases(t, []keptCase{
		{"/caf%C3%A9.jpg", "v2"},
		{"/caf%c3%a9.jpg", "v2"}, // lower-case hex (RFC 3986 6.2.2.1: the same)
		{"/café.jpg", "v2"},      // raw UTF-8 on the wire
		{"/docs/r%c3%a9sum%c3%a9.pdf", "v2"},
		{"/docs/résumé.txt", "v2"},
		{"/docs/resume.pdf", "v1"},
		{"/up/%C3%BC.png", "v2"}, // the invalidation spells it in lower case
		{"/q?city=z%c3%bcrich", "v2"},
		{"/q?city=zürich", "v2"},
		{"/q?city=zurich", "v1"},
		{"/thumbs/%c3%a9.jpg?w=1&utm=x", "v2"}, // a keyed query of a behavior
	}, "/café.jpg", "/docs/r%C3%A9*", "/up/%c3%bc.png", "/q?city=zürich", "/thumbs/é.jpg?w=1")
}

// TestInvalidateEncodedUnreserved: a letter, digit, "-", ".", "_" or "~"
// percent-encoded is the same character (RFC 3986 6.2.2.2), which
// origins read alike; a reserved one encoded is not ("%2F" is no "/").
func TestInvalidateEncodedUnreserved(t *testing.T) {
	invalidateCases(t, []keptCase{
		{"/%7Euser/a", "v2"},
		{"/%7euser/b.css?v=%31", "v2"},
		{"/~bob/a", "v2"}, // the invalidation encodes it
		{"/%41%2d1.txt", "v2"},
		{"/a%2Fb", "v1"},
		{"/q?x=%61", "v2"},
	}, "/~user/*", "/%7Ebob/a", "/A-1.txt", "/a/b", "/q?x=a")
}

// TestInvalidateQueryVariantAcrossConfigs: a config change that touches a
// behavior starts its cache entries anew (its cache scope), and rolling
// the change back makes the old entries reachable again. A path with a
// query removes its object under the config it runs on; the object's
// entries in scopes no behavior of that config has, which only a
// rollback could serve, go with it whatever their query, as a path
// without a query removes them in every scope.
func TestInvalidateQueryVariantAcrossConfigs(t *testing.T) {
	var version atomic.Int64
	version.Store(1)
	const config = `package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: "ORIGIN", customOriginConfig: {originProtocolPolicy: "http-only", originReadTimeout: TIMEOUT}}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: queryString: true}
}
`
	get, invalidate, reload := edgeWithReload(t, strings.ReplaceAll(config, "TIMEOUT", "30"), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprintf(w, "v%d %s", version.Load(), r.URL.RequestURI())
	}))
	paths := []string{"/a.jpg?v=1", "/a.jpg?v=1&utm=x", "/b.jpg?v=1"}
	for _, p := range paths {
		get(p)
		if x, _ := get(p); x != "Hit from openfront" {
			t.Fatalf("before: %s is %q, want a hit", p, x)
		}
	}
	reload(strings.ReplaceAll(config, "TIMEOUT", "40")) // a deploy: the origin's timeout, a new scope
	version.Store(2)
	invalidate("/a.jpg?v=1")
	reload(strings.ReplaceAll(config, "TIMEOUT", "30")) // its rollback: the first scope again
	for _, c := range []keptCase{{"/a.jpg?v=1", "v2"}, {"/a.jpg?v=1&utm=x", "v2"}, {"/b.jpg?v=1", "v1"}} {
		if _, body := get(c.path); !strings.HasPrefix(body, c.after+" ") {
			t.Errorf("after the rollback: %s serves %q, want %s", c.path, body, c.after)
		}
	}
}
