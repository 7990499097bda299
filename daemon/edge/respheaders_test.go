package edge

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/testenv"
	"openfront.dev/schema"
)

// TestHeadersPolicyApply: what a response headers policy makes of an
// origin's header, for the requests that tell its sections apart. want
// maps a header to its value; "" means absent.
func TestHeadersPolicyApply(t *testing.T) {
	managed := table.ManagedResponseHeadersPolicies
	maxAge := int64(600)
	custom := &schema.ResponseHeadersPolicy{
		CorsConfig: &schema.CorsConfig{
			AccessControlAllowOrigins:     []string{"https://www.example.org", "https://*.example.com"},
			AccessControlAllowHeaders:     []string{"X-App", "Authorization"},
			AccessControlAllowMethods:     []string{"GET", "POST"},
			AccessControlAllowCredentials: true,
			AccessControlMaxAgeSec:        &maxAge,
		},
		SecurityHeadersConfig: &schema.SecurityHeadersConfig{
			ContentSecurityPolicy:   &schema.ContentSecurityPolicy{ContentSecurityPolicy: "default-src 'self'", Override: true},
			StrictTransportSecurity: &schema.StrictTransportSecurity{AccessControlMaxAgeSec: 63072000, IncludeSubdomains: true, Preload: true},
			XSSProtection:           &schema.XSSProtection{Protection: true, ReportURI: "https://r.example/xss"},
			FrameOptions:            &schema.FrameOptions{FrameOption: "DENY"},
		},
		CustomHeadersConfig: []schema.ResponseCustomHeader{
			{Header: "X-Served-By", Value: "edge", Override: true},
			{Header: "X-Team", Value: "web"},
			{Header: "X-Empty", Value: ""},
		},
		RemoveHeadersConfig: []schema.RemoveHeader{{Header: "x-powered-by"}, {Header: "X-Frame-Options"}},
	}
	override := &schema.ResponseHeadersPolicy{CorsConfig: &schema.CorsConfig{
		AccessControlAllowOrigins: []string{"https://a.example"}, AccessControlAllowHeaders: []string{"*"},
		AccessControlAllowMethods: []string{"ALL"}, OriginOverride: true}}
	timing := func(rate float64) *schema.ResponseHeadersPolicy {
		return &schema.ResponseHeadersPolicy{ServerTimingHeadersConfig: &schema.ServerTimingHeadersConfig{Enabled: true, SamplingRate: rate}}
	}
	preflight := http.Header{"Origin": {"https://app.example.com"}, "Access-Control-Request-Method": {"POST"}}
	tests := []struct {
		name   string
		policy *schema.ResponseHeadersPolicy
		method string
		req    http.Header
		resp   http.Header
		want   map[string]string
	}{
		{"security headers added", managed["SecurityHeadersPolicy"], "GET", nil, nil, map[string]string{
			"Strict-Transport-Security": "max-age=31536000", "X-Content-Type-Options": "nosniff",
			"X-Frame-Options": "SAMEORIGIN", "X-Xss-Protection": "1; mode=block",
			"Referrer-Policy": "strict-origin-when-cross-origin", "Content-Security-Policy": "",
			"Access-Control-Allow-Origin": ""}},
		{"the origin's security headers kept, but nosniff", managed["SecurityHeadersPolicy"], "GET", nil,
			http.Header{"X-Frame-Options": {"DENY"}, "X-Content-Type-Options": {"other"}}, map[string]string{
				"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff"}},
		{"simple CORS without Origin: not a CORS request, but it varies by Origin", managed["SimpleCORS"], "GET", nil, nil, map[string]string{
			"Access-Control-Allow-Origin": "", "X-Content-Type-Options": "", "Vary": "Origin"}},
		{"no CORS config, no Vary", managed["SecurityHeadersPolicy"], "GET", http.Header{"Origin": {"https://a.example"}}, nil, map[string]string{
			"Access-Control-Allow-Origin": "", "Vary": ""}},
		{"simple CORS", managed["SimpleCORS"], "GET", http.Header{"Origin": {"https://any.example"}}, nil, map[string]string{
			"Access-Control-Allow-Origin": "*", "Vary": "Origin", "Access-Control-Allow-Methods": "", "Access-Control-Expose-Headers": ""}},
		{"simple CORS keeps the origin's", managed["SimpleCORS"], "GET", http.Header{"Origin": {"https://any.example"}},
			http.Header{"Access-Control-Allow-Origin": {"https://any.example"}}, map[string]string{
				"Access-Control-Allow-Origin": "https://any.example"}},
		{"preflight under CORS-With-Preflight", managed["CORS-With-Preflight"], "OPTIONS", preflight, nil, map[string]string{
			"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
			"Access-Control-Allow-Headers": "*", "Access-Control-Expose-Headers": "*", "Access-Control-Max-Age": ""}},
		{"a GET under CORS-With-Preflight gets no preflight headers", managed["CORS-With-Preflight"], "GET",
			http.Header{"Origin": {"https://any.example"}}, nil, map[string]string{
				"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "*", "Access-Control-Allow-Methods": ""}},
		{"a GET is no preflight", managed["CORS-With-Preflight"], "GET", preflight, nil, map[string]string{
			"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": ""}},
		{"an OPTIONS that is no preflight gets no preflight headers", managed["CORS-With-Preflight"], "OPTIONS",
			http.Header{"Origin": {"https://any.example"}}, nil, map[string]string{
				"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": ""}},
		{"a listed origin's wildcard is reflected, with Vary", custom, "GET", http.Header{"Origin": {"https://app.example.com"}},
			http.Header{"Vary": {"Accept-Encoding"}}, map[string]string{
				"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Credentials": "true",
				"Vary": "Accept-Encoding|Origin", "Access-Control-Allow-Methods": ""}},
		{"an exact origin, case aside", custom, "GET", http.Header{"Origin": {"https://WWW.example.org"}}, nil, map[string]string{
			"Access-Control-Allow-Origin": "https://WWW.example.org", "Vary": "Origin"}},
		{"a preflight from a listed origin", custom, "OPTIONS", preflight, nil, map[string]string{
			"Access-Control-Allow-Origin": "https://app.example.com", "Access-Control-Allow-Methods": "GET, POST",
			"Access-Control-Allow-Headers": "X-App, Authorization", "Access-Control-Max-Age": "600"}},
		{"an origin not listed gets no CORS header", custom, "OPTIONS",
			http.Header{"Origin": {"https://evil.example"}, "Access-Control-Request-Method": {"POST"}}, nil, map[string]string{
				"Access-Control-Allow-Origin": "", "Access-Control-Allow-Credentials": "", "Access-Control-Allow-Methods": "", "Vary": "Origin"}},
		{"the wildcard needs a label", custom, "GET", http.Header{"Origin": {"https://example.com"}}, nil, map[string]string{
			"Access-Control-Allow-Origin": ""}},
		{"the wildcard keeps the scheme", custom, "GET", http.Header{"Origin": {"http://app.example.com"}}, nil, map[string]string{
			"Access-Control-Allow-Origin": ""}},
		{"the wildcard does not take a port", custom, "GET", http.Header{"Origin": {"https://app.example.com:8443"}}, nil, map[string]string{
			"Access-Control-Allow-Origin": ""}},
		{"Vary: * stays", custom, "GET", http.Header{"Origin": {"https://app.example.com"}}, http.Header{"Vary": {"*"}}, map[string]string{
			"Vary": "*"}},
		{"Origin already in Vary", custom, "GET", http.Header{"Origin": {"https://app.example.com"}}, http.Header{"Vary": {"accept-encoding, origin"}}, map[string]string{
			"Vary": "accept-encoding, origin"}},
		{"originOverride replaces the origin's CORS headers", override, "OPTIONS",
			http.Header{"Origin": {"https://a.example"}, "Access-Control-Request-Method": {"PUT"}},
			http.Header{"Access-Control-Allow-Origin": {"*"}, "Access-Control-Allow-Methods": {"GET"}}, map[string]string{
				"Access-Control-Allow-Origin": "https://a.example", "Access-Control-Allow-Methods": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT",
				"Access-Control-Allow-Headers": "*", "Vary": "Origin"}},
		{"removed, then added: the policy's value", custom, "GET", nil,
			http.Header{"X-Powered-By": {"PHP"}, "X-Frame-Options": {"SAMEORIGIN"}, "Server": {"origin"}}, map[string]string{
				"X-Powered-By": "", "X-Frame-Options": "DENY", "Server": "origin"}},
		{"security header values", custom, "GET", nil, http.Header{"Content-Security-Policy": {"none"}}, map[string]string{
			"Content-Security-Policy":   "default-src 'self'",
			"Strict-Transport-Security": "max-age=63072000; includeSubDomains; preload",
			"X-Xss-Protection":          "1; report=https://r.example/xss", "Referrer-Policy": ""}},
		{"custom headers, overriding or not", custom, "GET", nil,
			http.Header{"X-Served-By": {"origin"}, "X-Team": {"api"}}, map[string]string{
				"X-Served-By": "edge", "X-Team": "api", "X-Empty": "(empty)"}},
		{"no Server-Timing at a rate of 0", timing(0), "GET", nil, nil, map[string]string{"Server-Timing": ""}},
		{"Server-Timing asked for by Pragma", timing(0), "GET", http.Header{"Pragma": {"no-cache, server-timing"}},
			http.Header{"X-Cache": {cacheHit}, "Server-Timing": {"db;dur=53"}}, map[string]string{
				"Server-Timing": `~^cdn-cache-hit,cdn-pop;desc="test-node",cdn-rid;desc="rid-1",cdn-hit-layer;desc="EDGE",cdn-downstream-fbl;dur=\d+$`}},
		{"Server-Timing on a miss keeps the origin's", timing(100), "GET", nil,
			http.Header{"X-Cache": {cacheMiss}, "Server-Timing": {"db;dur=53"}}, map[string]string{
				"Server-Timing": `~^cdn-upstream-layer;desc="EDGE",cdn-cache-miss,cdn-pop;desc="test-node",cdn-rid;desc="rid-1",cdn-downstream-fbl;dur=\d+,db;dur=53$`}},
		{"Server-Timing on a refresh", timing(100), "GET", nil,
			http.Header{"X-Cache": {cacheRefreshHit}, "Server-Timing": {"db;dur=53"}}, map[string]string{
				"Server-Timing": `~^cdn-cache-refresh,cdn-pop;desc="test-node",cdn-rid;desc="rid-1",cdn-downstream-fbl;dur=\d+$`}},
	}
	h := &Handler{nodeName: "test-node"}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rh, err := table.CompileResponseHeaders("p", tc.policy)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(tc.method, "http://site.test/a", nil)
			for k, v := range tc.req {
				r.Header[k] = v
			}
			rec := httptest.NewRecorder()
			// The origin's values as the cache holds them: slices with
			// room to grow, which the policy must not write into.
			shared := map[string][]string{}
			for k, v := range tc.resp {
				s := make([]string, len(v), len(v)+4)
				copy(s, v)
				shared[k] = s
				rec.Header()[k] = s
			}
			w := &headersPolicy{ResponseWriter: rec, policy: rh, r: r, h: h, id: "rid-1", start: time.Now()}
			w.WriteHeader(http.StatusOK)
			for name, want := range tc.want {
				got := rec.Result().Header[name]
				gotS := ""
				if len(got) > 0 {
					gotS = got[0]
					for _, g := range got[1:] {
						gotS += "|" + g
					}
					if gotS == "" {
						gotS = "(empty)"
					}
				}
				if re, ok := strings.CutPrefix(want, "~"); ok {
					if !regexp.MustCompile(re).MatchString(gotS) {
						t.Errorf("%s: %q, want it to match %s", name, gotS, re)
					}
				} else if gotS != want {
					t.Errorf("%s: %q, want %q", name, gotS, want)
				}
			}
			for k, s := range shared {
				if full := s[:cap(s)]; full[len(s)] != "" {
					t.Errorf("%s: the policy wrote into the origin's slice: %q", k, full)
				}
			}
		})
	}
}

// TestHeadersPolicyOnce: the policy applies to the final status only,
// once, however the handler writes.
func TestHeadersPolicyOnce(t *testing.T) {
	rh, err := table.CompileResponseHeaders("p", &schema.ResponseHeadersPolicy{
		CustomHeadersConfig: []schema.ResponseCustomHeader{{Header: "X-Team", Value: "web"}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, write := range []struct {
		name string
		do   func(w *headersPolicy)
	}{
		{"Write", func(w *headersPolicy) { w.Write([]byte("x")) }},
		{"Flush", func(w *headersPolicy) { w.Flush() }},
		{"ReadFrom", func(w *headersPolicy) { w.ReadFrom(strings.NewReader("x")) }},
		{"103 first", func(w *headersPolicy) {
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			if w.done {
				panic("applied to a 1xx")
			}
			w.Header().Set("X-Team", "origin")
			w.WriteHeader(http.StatusOK)
		}},
	} {
		t.Run(write.name, func(t *testing.T) {
			fw := &finalWriter{ResponseRecorder: httptest.NewRecorder()}
			w := &headersPolicy{ResponseWriter: fw, policy: rh, r: httptest.NewRequest("GET", "/", nil), h: &Handler{}}
			write.do(w)
			want := "web"
			if write.name == "103 first" {
				want = "origin"
			}
			if got := fw.final.Get("X-Team"); got != want {
				t.Errorf("X-Team %q, want %q", got, want)
			}
		})
	}
}

// finalWriter keeps the header of the final status, where a
// ResponseRecorder keeps the first status's, a 1xx's too.
type finalWriter struct {
	*httptest.ResponseRecorder
	final http.Header
}

func (f *finalWriter) WriteHeader(code int) {
	if code >= 200 && f.final == nil {
		f.final = f.Header().Clone()
	}
}

func (f *finalWriter) Write(b []byte) (int, error) {
	f.WriteHeader(http.StatusOK)
	return len(b), nil
}

// TestServerTimingSampling: a sampling rate of 25 % puts Server-Timing on
// about a quarter of the responses (2,000 of them: 500 ± 22 expected, so
// the bounds are 9 standard deviations out).
func TestServerTimingSampling(t *testing.T) {
	rh, err := table.CompileResponseHeaders("p", &schema.ResponseHeadersPolicy{
		ServerTimingHeadersConfig: &schema.ServerTimingHeadersConfig{Enabled: true, SamplingRate: 25}})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/", nil)
	n := 0
	for range 2000 {
		rec := httptest.NewRecorder()
		w := &headersPolicy{ResponseWriter: rec, policy: rh, r: r, h: &Handler{}}
		w.WriteHeader(http.StatusOK)
		if rec.Header().Get("Server-Timing") != "" {
			n++
		}
	}
	if n < 300 || n > 700 {
		t.Errorf("Server-Timing on %d of 2000 responses, want about 500", n)
	}
}

// TestHeadersPolicyThroughTheEdge: a behavior's policy applies to every
// answer it sends (a miss, a hit, the origin's 404, the edge's redirect),
// per request: a hit stored for one Origin answers another with its own
// CORS headers, and one without Origin with none. A behavior without a
// policy gets none of its headers.
func TestHeadersPolicyThroughTheEdge(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Powered-By", "PHP/5")
		w.Header().Set("X-Frame-Options", "SAMEORIGIN")
		w.Header().Set("Cache-Control", "max-age=60")
		if r.URL.Path == "/missing" {
			http.Error(w, "origin 404", http.StatusNotFound)
			return
		}
		io.WriteString(w, "hello\n")
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "site", "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site", "files", "a.json"), []byte("{}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

responseHeadersPolicies: site: {
	corsConfig: {
		accessControlAllowOrigins: ["https://a.example", "https://b.example"]
		accessControlAllowHeaders: ["X-App"]
		accessControlAllowMethods: ["GET", "HEAD"]
		accessControlAllowCredentials: false
		originOverride: false
	}
	securityHeadersConfig: {
		contentTypeOptions: override: true
		frameOptions: {frameOption: "DENY", override: true}
	}
	customHeadersConfig: [{header: "X-Team", value: "web", override: false}]
	removeHeadersConfig: [{header: "X-Powered-By"}]
}

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}, {id: "files", localOriginConfig: path: "site"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", responseHeadersPolicy: "site"}
	cacheBehaviors: [
		{pathPattern: "/files/*", targetOriginId: "files", viewerProtocolPolicy: "allow-all", responseHeadersPolicy: "CORS-With-Preflight",
			allowedMethods: ["GET", "HEAD", "OPTIONS"]},
		{pathPattern: "/plain/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all"},
		{pathPattern: "/secure/*", targetOriginId: "app", viewerProtocolPolicy: "redirect-to-https", responseHeadersPolicy: "SecurityHeadersPolicy"},
	]
}
`, app.Listener.Addr().String()))
	type step struct {
		name, method, path, origin string
		status                     int
		want                       map[string]string // "" absent
	}
	steps := []step{
		{"miss from a", "GET", "/a", "https://a.example", 200, map[string]string{"Access-Control-Allow-Origin": "https://a.example", "Vary": "Origin",
			"X-Powered-By": "", "X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "X-Team": "web"}},
		{"again from b", "GET", "/a", "https://b.example", 200, map[string]string{"Access-Control-Allow-Origin": "https://b.example", "Vary": "Origin",
			"X-Powered-By": "", "X-Frame-Options": "DENY", "X-Team": "web"}},
		{"again without Origin", "GET", "/a", "", 200, map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin", "X-Powered-By": "", "X-Team": "web"}},
		{"from a stranger", "GET", "/a", "https://c.example", 200, map[string]string{"Access-Control-Allow-Origin": "", "X-Team": "web"}},
		{"the origin's 404", "GET", "/missing", "https://a.example", 404, map[string]string{"Access-Control-Allow-Origin": "https://a.example",
			"X-Powered-By": "", "X-Team": "web"}},
		{"no policy", "GET", "/plain/a", "https://a.example", 200, map[string]string{"Access-Control-Allow-Origin": "", "X-Powered-By": "PHP/5",
			"X-Frame-Options": "SAMEORIGIN", "X-Team": "", "X-Content-Type-Options": ""}},
		{"the edge's redirect", "GET", "/secure/a", "", 301, map[string]string{"Strict-Transport-Security": "max-age=31536000",
			"X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN", "X-Team": ""}},
		{"a preflight to a local origin", "OPTIONS", "/files/a.json", "https://a.example", 204, map[string]string{
			"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Headers": "*", "Allow": "GET, HEAD, OPTIONS",
			"Access-Control-Allow-Methods": "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"}},
		{"a GET of a local origin", "GET", "/files/a.json", "https://a.example", 200, map[string]string{
			"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": "*", "Access-Control-Allow-Methods": ""}},
	}
	for _, e := range bothEdges(t, dir, tb) {
		t.Run(fmt.Sprintf("cached=%v", e.cached), func(t *testing.T) {
			c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for _, s := range steps {
				req, _ := http.NewRequest(s.method, e.url+s.path, nil)
				req.Host = "site.test"
				if s.origin != "" {
					req.Header.Set("Origin", s.origin)
				}
				if s.method == "OPTIONS" {
					req.Header.Set("Access-Control-Request-Method", "PUT")
				}
				resp, err := c.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != s.status {
					t.Fatalf("%s: status %d, want %d", s.name, resp.StatusCode, s.status)
				}
				for name, want := range s.want {
					if got := strings.Join(resp.Header[name], "|"); got != want {
						t.Errorf("%s (%s): %s %q, want %q", s.name, resp.Header.Get("X-Cache"), name, got, want)
					}
				}
			}
		})
	}
}

// TestDetailUnderHeadersPolicy: what the handler notes for the access
// log reaches it through a policy's writer.
func TestDetailUnderHeadersPolicy(t *testing.T) {
	o := &observed{}
	setDetail(&headersPolicy{ResponseWriter: o}, "OriginDnsError")
	if o.detail != "OriginDnsError" {
		t.Errorf("detail %q, want OriginDnsError", o.detail)
	}
}

// TestServerTimingUpstream: a miss's Server-Timing times the origin
// request, as CloudFront's does (understanding-response-headers-policies,
// "Server-Timing header metrics": cdn-upstream-dns, -connect and -fbl);
// a hit's has none of them, and the origin's own metrics follow the
// node's on a miss.
func TestServerTimingUpstream(t *testing.T) {
	const slow = 40 * time.Millisecond
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(slow) // the origin's first byte latency
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Server-Timing", "app;dur=3")
		io.WriteString(w, "hello\n")
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

responseHeadersPolicies: timed: serverTimingHeadersConfig: {enabled: true, samplingRate: 0}

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", responseHeadersPolicy: "timed"}
}
`, app.Listener.Addr().String()))
	miss := regexp.MustCompile(`^cdn-upstream-layer;desc="EDGE",cdn-upstream-dns;dur=(\d+),cdn-upstream-connect;dur=(\d+),cdn-upstream-fbl;dur=(\d+),cdn-cache-miss,cdn-pop;desc="test-node",cdn-rid;desc="[^"]+",cdn-downstream-fbl;dur=\d+,app;dur=3$`)
	hit := regexp.MustCompile(`^cdn-cache-hit,cdn-pop;desc="test-node",cdn-rid;desc="[^"]+",cdn-hit-layer;desc="EDGE",cdn-downstream-fbl;dur=\d+$`)
	for _, e := range bothEdges(t, dir, tb) {
		t.Run(fmt.Sprintf("cached=%v", e.cached), func(t *testing.T) {
			asked := http.Header{"Pragma": {"server-timing"}}
			resp, _ := siteRequest(t, e.url, "GET", "/a", asked, nil)
			st := resp.Header.Get("Server-Timing")
			m := miss.FindStringSubmatch(st)
			if m == nil {
				t.Fatalf("miss: Server-Timing %q, want it to match %s", st, miss)
			}
			if fbl, _ := strconv.Atoi(m[3]); fbl < int(slow/time.Millisecond) {
				t.Errorf("miss: cdn-upstream-fbl %d ms, want at least the origin's %v", fbl, slow)
			}
			if !e.cached {
				return
			}
			resp, _ = siteRequest(t, e.url, "GET", "/a", asked, nil)
			if st := resp.Header.Get("Server-Timing"); !hit.MatchString(st) {
				t.Errorf("hit: Server-Timing %q, want it to match %s", st, hit)
			}
		})
	}
}
