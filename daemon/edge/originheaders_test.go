package edge

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"openfront.dev/internal/testenv"
)

// TestOriginRequestIdentity checks the headers the node adds to every
// origin request, as CloudFront adds Via, User-Agent and X-Amz-Cf-Id:
// the request's X-Openfront-Id (never the viewer's), so an origin's log
// and the access log name the same request, on a pass, a cache miss and
// the fetch of a custom error page.
func TestOriginRequestIdentity(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]http.Header{} // by path
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Clone()
		mu.Unlock()
		if r.URL.Path == "/gone" {
			http.Error(w, "gone", http.StatusNotImplemented)
			return
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
	cacheBehaviors: [
		{pathPattern: "/hdr/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: headers: ["Accept-Language"]},
		{pathPattern: "/all/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", originRequestPolicy: "AllViewer"},
	]
	customErrorResponses: [{errorCode: 501, responsePagePath: "/page501", responseCode: 404}]
}
`, strings.TrimPrefix(app.URL, "http://")))
	tests := []struct {
		name, path string
		header     http.Header
		originPath string // the request whose headers are checked
		userAgent  string
	}{
		{"nothing forwarded", "/plain", nil, "/plain", "openfront"},
		{"a forwarded header", "/hdr/x", http.Header{"Accept-Language": {"fr"}}, "/hdr/x", "openfront"},
		{"the viewer's id is replaced", "/all/x", http.Header{"X-Openfront-Id": {"forged"}, "User-Agent": {"viewer/1"}}, "/all/x", "viewer/1"},
		{"the fetch of an error page", "/gone", nil, "/page501", "openfront"},
	}
	for _, e := range bothEdges(t, dir, tb) {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("cached=%v/%s", e.cached, tt.name), func(t *testing.T) {
				mu.Lock()
				clear(seen)
				mu.Unlock()
				resp, _ := siteRequest(t, e.url, "GET", tt.path, tt.header, nil)
				mu.Lock()
				got, ok := seen[tt.originPath]
				mu.Unlock()
				if !ok {
					t.Fatalf("the origin was not asked for %s", tt.originPath)
				}
				id := resp.Header.Get("X-Openfront-Id")
				if v := got.Values("X-Openfront-Id"); len(v) != 1 || v[0] != id {
					t.Errorf("origin saw X-Openfront-Id %q, want [%q] (the viewer's response's)", v, id)
				}
				if got.Get("Via") != "1.1 test-node (openfront)" || got.Get("User-Agent") != tt.userAgent {
					t.Errorf("origin saw Via %q, User-Agent %q; want 1.1 test-node (openfront), %s", got.Get("Via"), got.Get("User-Agent"), tt.userAgent)
				}
			})
		}
	}
}

// TestAuthorizationByMethod: a behavior that forwards no headers still
// sends the viewer's Authorization with the methods whose answers are
// never shared, as CloudFront ("DELETE, PATCH, POST, and PUT requests –
// CloudFront doesn't remove the header field"; OPTIONS only when its
// answers are not cached), so an API's POST with a bearer token works
// without a cache policy keyed on it; a GET's or HEAD's, or an OPTIONS
// whose answer is kept for every viewer, is removed.
func TestAuthorizationByMethod(t *testing.T) {
	var mu sync.Mutex
	var got []string // the Authorization fields of the last request
	edges := appSiteEdges(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Values("Authorization")
		mu.Unlock()
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "ok")
	},
		`_all: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]`,
		`defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", allowedMethods: _all}
cacheBehaviors: [
	{pathPattern: "/policy/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", allowedMethods: _all, cachePolicy: "CachingDisabled"},
	{pathPattern: "/options-cached/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", allowedMethods: _all, cachedMethods: ["GET", "HEAD", "OPTIONS"]},
]`)
	tests := []struct {
		method, path string
		forwarded    bool
	}{
		{"GET", "/a", false},
		{"HEAD", "/a", false},
		{"POST", "/a", true},
		{"PUT", "/a", true},
		{"PATCH", "/a", true},
		{"DELETE", "/a", true},
		{"OPTIONS", "/a", true},
		{"POST", "/policy/a", true},
		{"GET", "/policy/a", false},
		{"OPTIONS", "/options-cached/a", false},
		{"POST", "/options-cached/a", true},
	}
	for _, e := range edges {
		for _, tt := range tests {
			mu.Lock()
			got = nil
			mu.Unlock()
			resp, _ := siteRequest(t, e.url, tt.method, tt.path, http.Header{"Authorization": {"Bearer t0ken"}}, nil)
			mu.Lock()
			seen := got
			mu.Unlock()
			var want []string
			if tt.forwarded {
				want = []string{"Bearer t0ken"}
			}
			if resp.StatusCode != http.StatusOK || !slices.Equal(seen, want) {
				t.Errorf("cached=%v %s %s: %d, origin saw Authorization %q, want %q", e.cached, tt.method, tt.path, resp.StatusCode, seen, want)
			}
		}
	}
}

// TestOriginXAccelFields: an origin's X-Accel-* fields, addressed to an
// nginx in front of it (X-Accel-Redirect's internal path, -Buffering,
// -Expires, -Limit-Rate, -Charset), never reach viewers, on a miss or a
// hit, as nginx's proxy does not pass them ("By default, nginx does not
// pass the header fields ... X-Accel-... from the response of a proxied
// server to a client", proxy_hide_header) and CloudFront reserves them
// (edge functions may not set them); the origin's other fields pass.
func TestOriginXAccelFields(t *testing.T) {
	edges := appSiteEdges(t, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Accel-Redirect", "/internal/files/42.pdf")
		h.Set("X-Accel-Buffering", "no")
		h.Set("X-Accel-Expires", "60")
		h.Set("Cache-Control", "max-age=60")
		h.Set("X-Accelerated", "kept")
		io.WriteString(w, "ok")
	},
		``,
		`defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}`)
	for _, e := range edges {
		for _, want := range []string{"Miss", "Hit"} {
			resp, _ := siteRequest(t, e.url, "GET", "/a", nil, nil)
			if want == "Hit" && !e.cached {
				continue
			}
			var accel []string
			for k := range resp.Header {
				if strings.HasPrefix(k, "X-Accel-") {
					accel = append(accel, k)
				}
			}
			if x := resp.Header.Get("X-Cache"); !strings.HasPrefix(x, want) || accel != nil || resp.Header.Get("X-Accelerated") != "kept" {
				t.Errorf("cached=%v %s: X-Cache %q, X-Accel fields %q, X-Accelerated %q; want none and kept", e.cached, want, x, accel, resp.Header.Get("X-Accelerated"))
			}
		}
	}
}

// TestExpectNotForwarded: a viewer's Expect: 100-continue is answered by
// the node, which reads the body itself, and does not reach the origin
// under a behavior forwarding every header (AllViewer, legacy "*"), as
// CloudFront "removes the header" (RequestAndResponseBehaviorCustomOrigin,
// HTTP request headers); a behavior that names it still forwards it.
func TestExpectNotForwarded(t *testing.T) {
	var mu sync.Mutex
	var got []string
	var body string
	edges := appSiteEdges(t, func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, body = r.Header.Values("Expect"), string(b)
		mu.Unlock()
		io.WriteString(w, "ok")
	},
		`_all: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]`,
		`defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", allowedMethods: _all, cachePolicy: "CachingDisabled", originRequestPolicy: "AllViewer"}
cacheBehaviors: [
	{pathPattern: "/star/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", allowedMethods: _all, forwardedValues: headers: ["*"]},
	{pathPattern: "/named/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", allowedMethods: _all, forwardedValues: headers: ["Expect"]},
]`)
	for _, e := range edges {
		for _, tt := range []struct {
			path string
			want []string
		}{
			{"/a", nil},
			{"/star/a", nil},
			{"/named/a", []string{"100-continue"}},
		} {
			mu.Lock()
			got, body = nil, ""
			mu.Unlock()
			resp, _ := siteRequest(t, e.url, "POST", tt.path, http.Header{"Expect": {"100-continue"}}, strings.NewReader("payload"))
			mu.Lock()
			seen, sent := got, body
			mu.Unlock()
			if resp.StatusCode != http.StatusOK || sent != "payload" || !slices.Equal(seen, tt.want) {
				t.Errorf("cached=%v POST %s: %d, origin got body %q and Expect %q, want payload and %q", e.cached, tt.path, resp.StatusCode, sent, seen, tt.want)
			}
		}
	}
}

// appSiteEdges starts handler as the custom origin "app" (HTTP) of the
// distribution site (site.test) and returns the edges without and with a
// cache (bothEdges) serving it. top holds the config's other top-level
// fields (policies, hidden values), behaviors the distribution's
// fields after its origins (defaultCacheBehavior, cacheBehaviors).
// TestPOSTAnswerByAuthorizationNotShared: a POST carries the viewer's
// Authorization to the origin, a GET does not; an answer to the POST that
// varies on it (and names the URI in Content-Location, with s-maxage) is
// not stored for the GETs of that URI, which would all get the POSTing
// viewer's answer.
func TestPOSTAnswerByAuthorizationNotShared(t *testing.T) {
	edges := appSiteEdges(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Vary", "Authorization")
		w.Header().Set("Cache-Control", "s-maxage=60")
		w.Header().Set("Content-Location", r.URL.Path)
		io.WriteString(w, "who="+r.Header.Get("Authorization"))
	},
		`_all: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]`,
		`defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", allowedMethods: _all}`)
	for _, e := range edges {
		if _, body := siteRequest(t, e.url, "POST", "/me", http.Header{"Authorization": {"Bearer alice"}}, strings.NewReader("x")); body != "who=Bearer alice" {
			t.Fatalf("cached=%v POST: %q", e.cached, body)
		}
		if _, body := siteRequest(t, e.url, "GET", "/me", http.Header{"Authorization": {"Bearer mallory"}}, nil); body != "who=" {
			t.Errorf("cached=%v a GET after alice's POST got %q, want the origin's answer to a GET (who=)", e.cached, body)
		}
	}
}

func appSiteEdges(t *testing.T, handler http.HandlerFunc, top, behaviors string) []struct {
	cached bool
	url    string
} {
	t.Helper()
	app := httptest.NewServer(handler)
	t.Cleanup(app.Close)
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

%s

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	%s
}
`, top, app.Listener.Addr().String(), behaviors))
	return bothEdges(t, dir, tb)
}
