package edge

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"openfront.dev/compiler"
	"openfront.dev/daemon/origin"
)

// TestKeyValueStoreRedirect: a viewer-request function redirects by a
// lookup in its key value store, and a path not in the store goes on to
// the origin. After the store's data changes (its own file: the function
// is the one compiled before), a reload sends the new target.
func TestKeyValueStoreRedirect(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "origin %s", r.URL.Path)
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	write := func(name, src string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.cue", fmt.Sprintf(`package cdn

functions: redirects: {
	keyValueStoreAssociations: ["redirects"]
	functionCode: """
		import cf from 'cloudfront';
		const kvs = cf.kvs();
		async function handler(event) {
		    var request = event.request;
		    if (!(await kvs.exists(request.uri))) { return request; }
		    var target = await kvs.get(request.uri);
		    return {statusCode: 301, statusDescription: 'Moved Permanently', headers: {location: {value: target}}};
		}
		"""
}

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", functionAssociations: [{eventType: "viewer-request", functionName: "redirects"}]}
}
`, app.Listener.Addr().String()))
	store := func(target string) {
		write("kvs.cue", fmt.Sprintf("package cdn\n\nkeyValueStores: redirects: data: \"/old\": %q\n", target))
	}
	store("/new")
	c := compiler.New(dir)
	res, err := c.Compile()
	if err != nil {
		t.Fatal(err)
	}
	h := New(origin.NewPool(dir), "test-node", slog.New(slog.DiscardHandler))
	h.SetTable(res.Table)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Host = "site.test"
		resp, err := http.DefaultTransport.RoundTrip(req) // redirects not followed
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	if code, loc := get("/old"); code != 301 || loc != "/new" {
		t.Errorf("/old: %d %q, want 301 to /new", code, loc)
	}
	if code, loc := get("/other"); code != 200 || loc != "" {
		t.Errorf("/other: %d %q, want 200 from the origin", code, loc)
	}

	store("/newer")
	res, err = c.Compile()
	if err != nil {
		t.Fatal(err)
	}
	h.SetTable(res.Table)
	if code, loc := get("/old"); code != 301 || loc != "/newer" {
		t.Errorf("after the reload, /old: %d %q, want 301 to /newer", code, loc)
	}
}
