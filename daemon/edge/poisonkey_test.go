package edge

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"openfront.dev/internal/testenv"
)

// TestUnderscoreHeaderNames: a header the node never forwards (the
// node's own CloudFront-* values, X-Forwarded-Proto, X-Real-IP, X-Edge-*)
// or that an allExcept policy excepts must not reach the origin under
// another spelling with underscores: CGI, Rack, PHP and WSGI servers name
// X_Forwarded_Proto and X-Forwarded-Proto both HTTP_X_FORWARDED_PROTO, so
// a viewer could have an origin behind a behavior that forwards every
// header (outside the key) answer everyone as to plain HTTP, from another
// country or another host.
func TestUnderscoreHeaderNames(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		var names []string
		for k := range r.Header {
			names = append(names, k)
		}
		slices.Sort(names)
		fmt.Fprint(w, strings.Join(names, " "))
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	h := cachedHandler(t, dir, testenv.Compile(t, dir, fmt.Sprintf(`package cdn

originRequestPolicies: "no-xfh": {
	headersConfig: {headerBehavior: "allExcept", headers: ["X-Forwarded-Host"]}
	cookiesConfig: cookieBehavior: "none"
	queryStringsConfig: queryStringBehavior: "none"
}

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingOptimized", originRequestPolicy: "AllViewerAndCloudFrontHeaders-2022-06"}
	cacheBehaviors: [{pathPattern: "/except/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingOptimized", originRequestPolicy: "no-xfh"}]
}
`, strings.TrimPrefix(app.URL, "http://"))))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	forged := http.Header{
		"X_forwarded_proto":           {"http"},
		"X_real_ip":                   {"192.0.2.1"},
		"X_edge_origin":               {"evil"},
		"Cloudfront_viewer_country":   {"KP"},
		"Cloudfront_is_mobile_viewer": {"true"},
		"X_forwarded_host":            {"evil.test"},
		"X_amzn_waf_verified":         {"true"},
		"X-Kept_name":                 {"ok"},
	}
	for _, path := range []string{"/all", "/except/a"} {
		t.Run(path, func(t *testing.T) {
			_, body := hostRequest(t, srv.URL, "GET", path, "site.test", forged, nil)
			for name := range strings.FieldsSeq(body) {
				dashed := strings.ToLower(strings.ReplaceAll(name, "_", "-"))
				if strings.Contains(name, "_") && (dashed == "x-forwarded-proto" || dashed == "x-real-ip" ||
					strings.HasPrefix(dashed, "x-edge-") || strings.HasPrefix(dashed, "cloudfront-") || strings.HasPrefix(dashed, "x-amzn-waf-") ||
					path != "/all" && dashed == "x-forwarded-host") {
					t.Errorf("the origin got the viewer's %s, which it reads as %s", name, dashed)
				}
			}
			if !strings.Contains(body, "X-Kept_name") {
				t.Errorf("the origin did not get a plain header with an underscore: %q", body)
			}
		})
	}
}

// TestKeyedHeaderPresence: a header in the cache key that the viewer sent
// empty is not the same as one it did not send; the origin tells them
// apart (an Origin, an Accept present or not), so they must not share an
// entry: one viewer's empty header would choose what the others get.
func TestKeyedHeaderPresence(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		vs, sent := r.Header["X-Variant"]
		fmt.Fprintf(w, "sent=%v %q", sent, vs)
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	h := cachedHandler(t, dir, testenv.Compile(t, dir, fmt.Sprintf(`package cdn

cachePolicies: variant: parametersInCacheKeyAndForwardedToOrigin: headersConfig: {headerBehavior: "whitelist", headers: ["X-Variant"]}

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: headers: ["X-Variant"]}
	cacheBehaviors: [{pathPattern: "/policy/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "variant"}]
}
`, strings.TrimPrefix(app.URL, "http://"))))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name   string
		first  http.Header
		victim http.Header
		want   string
	}{
		{"empty, then none", http.Header{"X-Variant": {""}}, nil, `sent=false []`},
		{"none, then empty", nil, http.Header{"X-Variant": {""}}, `sent=true [""]`},
		{"two lines, then one", http.Header{"X-Variant": {"a", "b"}}, http.Header{"X-Variant": {"a,b"}}, `sent=true ["a,b"]`},
	} {
		for _, prefix := range []string{"/legacy/", "/policy/"} {
			t.Run(prefix+tc.name, func(t *testing.T) {
				path := prefix + strings.ReplaceAll(tc.name, " ", "-")
				hostRequest(t, srv.URL, "GET", path, "site.test", tc.first, nil)
				if resp, body := hostRequest(t, srv.URL, "GET", path, "site.test", tc.victim, nil); body != tc.want {
					t.Errorf("the next viewer got %q (%s), want %q", body, resp.Header.Get("X-Cache"), tc.want)
				}
			})
		}
	}
}

// TestEncodingWithoutVary: an origin that compresses for a request that
// accepts it and forgets Vary: Accept-Encoding must not have one viewer's
// compressed answer go to the next viewer, which does not accept it.
func TestEncodingWithoutVary(t *testing.T) {
	page := strings.Repeat("plain text page ", 100)
	var mu sync.Mutex
	gzipped := map[string]bool{} // paths the origin compressed
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "text/plain")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			mu.Lock()
			gzipped[r.URL.Path] = true
			mu.Unlock()
			w.Header().Set("Content-Encoding", "gzip")
			gz := gzip.NewWriter(w)
			io.WriteString(gz, page)
			gz.Close()
			return
		}
		io.WriteString(w, page)
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	h := cachedHandler(t, dir, testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", compress: true}
	cacheBehaviors: [
		{pathPattern: "/policy/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", compress: true, cachePolicy: "CachingOptimized"},
		{pathPattern: "/plain/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all"},
		{pathPattern: "/keyed/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: headers: ["Accept-Encoding"]}]
}
`, strings.TrimPrefix(app.URL, "http://"))))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	tr := &http.Transport{DisableCompression: true}
	t.Cleanup(tr.CloseIdleConnections)
	get := func(t *testing.T, path, ae string) (string, string) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Host = "site.test"
		if ae != "" {
			req.Header.Set("Accept-Encoding", ae)
		}
		resp, err := tr.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b), resp.Header.Get("Content-Encoding")
	}
	// Where the origin gets no Accept-Encoding (/plain/) it never compresses.
	for _, prefix := range []string{"/legacy/", "/policy/", "/plain/", "/keyed/"} {
		t.Run(prefix, func(t *testing.T) {
			get(t, prefix+"a", "gzip")
			mu.Lock()
			if gzipped[prefix+"a"] == (prefix == "/plain/") {
				t.Errorf("the origin compressed: %v", gzipped[prefix+"a"])
			}
			mu.Unlock()
			if body, enc := get(t, prefix+"a", ""); body != page || enc != "" {
				t.Errorf("a viewer that accepts no coding got Content-Encoding %q and %d bytes", enc, len(body))
			}
		})
	}
}

// TestAbsoluteFormTarget: a request line with an absolute URL
// (GET http://Site.TEST:1337/x) names the host Go's server routes by, in
// place of the Host header: its odd spelling must not reach an origin
// that gets the viewer's Host outside the key, as TestForwardedHostPoisoning
// checks for the Host header.
func TestAbsoluteFormTarget(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "host=%s", r.Host)
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	h := cachedHandler(t, dir, testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingOptimized", originRequestPolicy: "HostHeaderOnly"}
}
`, strings.TrimPrefix(app.URL, "http://"))))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "GET http://Site.TEST.:1337/abs HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "host=site.test" {
		t.Errorf("the origin got %q for an absolute-form target, want host=site.test", b)
	}
	if resp, body := hostRequest(t, srv.URL, "GET", "/abs", "site.test", nil, nil); body != "host=site.test" {
		t.Errorf("the next viewer got %q (%s)", body, resp.Header.Get("X-Cache"))
	}
}
