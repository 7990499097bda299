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

// TestDefaultRootObject: what the origin is asked for a request of the
// distribution's root, as DefaultRootObject.html gives it: "an
// end-user request that calls the root of your distribution returns the
// default root object", for every method, and "an end-user request for
// a subdirectory of your distribution does not return the default root
// object".
func TestDefaultRootObject(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, r.Method+" "+r.RequestURI)
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	defaultRootObject: "index.html"
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingDisabled", originRequestPolicy: "AllViewer",
		allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]}
}
`, strings.TrimPrefix(app.URL, "http://")))
	h := New(origin.NewPool(dir), "edgetest", slog.New(slog.DiscardHandler))
	h.SetTable(tb)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	for _, tt := range []struct{ name, request, origin string }{
		{"root", "GET / HTTP/1.1\r\nHost: site.test\r\n\r\n", "GET /index.html"},
		{"root with a query", "GET /?a=b HTTP/1.1\r\nHost: site.test\r\n\r\n", "GET /index.html?a=b"},
		{"POST to the root", "POST / HTTP/1.1\r\nHost: site.test\r\nContent-Length: 0\r\n\r\n", "POST /index.html"},
		// RFC 9110 4.2.3: an http URI with an empty path is the one with
		// "/"; an absolute-form request line may leave the path out
		// (RFC 9112 3.2.2), and DefaultRootObject.html's own example of
		// "the root of your domain" is http://example.com.
		{"absolute form without a path", "GET http://site.test HTTP/1.1\r\nHost: site.test\r\n\r\n", "GET /index.html"},
		{"absolute form without a path, with a query", "GET http://site.test?a=b HTTP/1.1\r\nHost: site.test\r\n\r\n", "GET /index.html?a=b"},
		{"absolute form with the root", "GET http://site.test/ HTTP/1.1\r\nHost: site.test\r\n\r\n", "GET /index.html"},
		// RFC 9112 3.2.4: an OPTIONS of a URI with an empty path is about
		// the server, as "OPTIONS *": answered, not sent on.
		{"OPTIONS in absolute form without a path", "OPTIONS http://site.test HTTP/1.1\r\nHost: site.test\r\n\r\n", ""},
		{"a subdirectory", "GET /sub/ HTTP/1.1\r\nHost: site.test\r\n\r\n", "GET /sub/"},
		{"the object itself", "GET /index.html HTTP/1.1\r\nHost: site.test\r\n\r\n", "GET /index.html"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := rawRequest(t, addr, tt.request)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || string(body) != tt.origin {
				t.Errorf("%d %q, want the origin asked %q", resp.StatusCode, body, tt.origin)
			}
		})
	}
}
