package edge

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// TestFunctionOrigins: a viewer-request function's origin helpers send
// the request to the origin it picks (by a cookie), to a group it makes
// (failing over from an origin's 500), or to a custom origin it updates
// (another server, with an origin path and a header the origin sees);
// an id the distribution does not have fails the function (503).
func TestFunctionOrigins(t *testing.T) {
	serve := func(name string, status int) *httptest.Server {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			fmt.Fprintf(w, "%s %s tenant=%s", name, r.URL.Path, r.Header.Get("X-Tenant"))
		}))
		t.Cleanup(s.Close)
		return s
	}
	a, b, bad, tenant := serve("A", 200), serve("B", 200), serve("bad", 500), serve("T", 200)
	_, tenantPort, _ := strings.Cut(tenant.Listener.Addr().String(), ":")
	dir := t.TempDir()
	config := fmt.Sprintf(`package cdn

functions: route: functionCode: """
	import cf from 'cloudfront';
	function handler(event) {
	    var r = event.request;
	    if (r.cookies.variant && r.cookies.variant.value === 'b') { cf.selectRequestOriginById('b'); }
	    if (r.uri.startsWith('/failover')) {
	        cf.createRequestOriginGroup({originIds: [{originId: 'bad'}, {originId: 'b'}], failoverCriteria: {statusCodes: [500, 503]}});
	    }
	    if (r.uri.startsWith('/tenant')) {
	        cf.updateRequestOrigin({domainName: '127.0.0.1', originPath: '/t1', customHeaders: {'x-tenant': 't1'},
	            customOriginConfig: {port: %s, protocol: 'http'}});
	    }
	    if (r.uri === '/unknown') { cf.selectRequestOriginById('nope'); }
	    return r;
	}
	"""

distributions: site: {
	aliases: ["site.test"]
	origins: [
		{id: "a", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"},
		{id: "b", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"},
		{id: "bad", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"},
	]
	defaultCacheBehavior: {targetOriginId: "a", viewerProtocolPolicy: "allow-all", functionAssociations: [{eventType: "viewer-request", functionName: "route"}]}
}
`, tenantPort, a.Listener.Addr().String(), b.Listener.Addr().String(), bad.Listener.Addr().String())
	h := New(origin.NewPool(dir), "test-node", slog.New(slog.DiscardHandler))
	h.SetTable(testenv.Compile(t, dir, config))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	for _, c := range []struct {
		name, path, cookie string
		status             int
		body               string
	}{
		{"behavior's origin", "/x", "", 200, "A /x tenant="},
		{"selected by cookie", "/x", "variant=b", 200, "B /x tenant="},
		{"other cookie", "/x", "variant=a", 200, "A /x tenant="},
		{"group fails over", "/failover", "", 200, "B /failover tenant="},
		{"updated origin", "/tenant/page", "", 200, "T /t1/tenant/page tenant=t1"},
		{"unknown id", "/unknown", "", 503, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", srv.URL+c.path, nil)
			req.Host = "site.test"
			if c.cookie != "" {
				req.Header.Set("Cookie", c.cookie)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != c.status || c.body != "" && string(body) != c.body {
				t.Fatalf("%d %q; want %d %q", resp.StatusCode, body, c.status, c.body)
			}
		})
	}
}
