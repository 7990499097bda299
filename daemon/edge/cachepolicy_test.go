package edge

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/andybalholm/brotli"

	"openfront.dev/internal/codings"
	"openfront.dev/internal/testenv"
)

// TestCachePolicies: a behavior's cache policy decides its cache key and
// what reaches the origin, as CloudFront's do: CachingOptimized keys on
// the path alone and forwards no query; CachingDisabled stores nothing; a
// policy of the config's own keys on a header and on every cookie and
// query parameter but those it leaves out (allExcept), which the origin
// does not see either.
func TestCachePolicies(t *testing.T) {
	var n atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "%d query=%q cookie=%q lang=%q", n.Add(1), r.URL.RawQuery, r.Header.Get("Cookie"), r.Header.Get("Accept-Language"))
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

cachePolicies: keyed: {
	minTTL: 0
	defaultTTL: 60
	maxTTL: 600
	parametersInCacheKeyAndForwardedToOrigin: {
		headersConfig: {headerBehavior: "whitelist", headers: ["Accept-Language"]}
		cookiesConfig: {cookieBehavior: "allExcept", cookies: ["_ga"]}
		queryStringsConfig: {queryStringBehavior: "allExcept", queryStrings: ["utm_source"]}
	}
}

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "keyed"}
	cacheBehaviors: [
		{pathPattern: "/opt/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingOptimized"},
		{pathPattern: "/off/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingDisabled"},
	]
}
`, app.Listener.Addr().String()))
	url := bothEdges(t, dir, tb)[1].url // the one with a cache
	steps := []struct {
		name, path, cookie, lang string
		xcache                   string
		body                     string // in the answer
	}{
		{"optimized", "/opt/a?x=1", "s=1", "fr", "Miss", `query="" cookie="" lang=""`},
		{"optimized ignores the query", "/opt/a?x=2", "", "", "Hit", `query="" cookie=""`},
		{"disabled", "/off/a", "", "", "Miss", `query=""`},
		{"disabled again", "/off/a", "", "", "Miss", `query=""`},
		{"keyed", "/k?id=1&utm_source=x", "s=1; _ga=2", "fr", "Miss", `query="id=1" cookie="s=1" lang="fr"`},
		{"left-out parameter and cookie", "/k?utm_source=y&id=1", "_ga=9; s=1", "fr", "Hit", `query="id=1" cookie="s=1" lang="fr"`},
		{"another language", "/k?id=1", "s=1", "de", "Miss", `lang="de"`},
		{"another cookie", "/k?id=1", "s=2", "fr", "Miss", `cookie="s=2"`},
		{"another parameter", "/k?id=2", "s=1", "fr", "Miss", `query="id=2"`},
	}
	for _, s := range steps {
		req, _ := http.NewRequest("GET", url+s.path, nil)
		req.Host = "site.test"
		if s.cookie != "" {
			req.Header.Set("Cookie", s.cookie)
		}
		if s.lang != "" {
			req.Header.Set("Accept-Language", s.lang)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if x := resp.Header.Get("X-Cache"); x != s.xcache+" from openfront" || !strings.Contains(string(b), s.body) {
			t.Errorf("%s: %q %q, want %s with %s", s.name, x, b, s.xcache, s.body)
		}
	}
}

// TestCachePolicyEncodings: compress serves only the codings the cache
// policy lets into the key (Elemental-MediaPackage: gzip alone), and
// CachingOptimizedForUncompressedObjects none.
func TestCachePolicyEncodings(t *testing.T) {
	body := strings.Repeat("compressible text ", 200)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("Content-Length", fmt.Sprint(len(body))) // compressed only with one
		io.WriteString(w, body)
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", compress: true, cachePolicy: "CachingOptimized"}
	cacheBehaviors: [
		{pathPattern: "/gzip/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", compress: true, cachePolicy: "Elemental-MediaPackage"},
		{pathPattern: "/plain/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", compress: true, cachePolicy: "CachingOptimizedForUncompressedObjects"},
	]
}
`, app.Listener.Addr().String()))
	url := bothEdges(t, dir, tb)[1].url
	for _, tc := range []struct{ path, accept, want string }{
		{"/a", "gzip, br", "br"},
		{"/gzip/a", "gzip, br", "gzip"},
		{"/gzip/b", "br", ""},
		{"/plain/a", "gzip, br", ""},
	} {
		req, _ := http.NewRequest("GET", url+tc.path, nil)
		req.Host = "site.test"
		req.Header.Set("Accept-Encoding", tc.accept)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if got := resp.Header.Get("Content-Encoding"); got != tc.want {
			t.Errorf("%s, Accept-Encoding %q: Content-Encoding %q, want %q", tc.path, tc.accept, got, tc.want)
		}
	}
}

// An origin request policy forwards more, outside the key: what the cache
// policy keys on stays in the key beside AllViewer (CloudFront's usual
// pair for an origin that serves several hosts or sessions).
func TestCacheKeyBesideOriginRequestPolicy(t *testing.T) {
	tb := compileSource(t, `package cdn

cachePolicies: lang: parametersInCacheKeyAndForwardedToOrigin: {
	headersConfig: {headerBehavior: "whitelist", headers: ["Accept-Language"]}
	cookiesConfig: {cookieBehavior: "whitelist", cookies: ["session"]}
}

distributions: site: {
	aliases: ["a.test", "b.test"]
	origins: [{id: "app", domainName: "app.test", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "UseOriginCacheControlHeaders", originRequestPolicy: "AllViewer"}
	cacheBehaviors: [
		{pathPattern: "/lang/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "lang", originRequestPolicy: "AllViewerExceptHostHeader"},
		{pathPattern: "/plain/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingOptimized", originRequestPolicy: "AllViewer"},
	]
}
`)
	key := func(host, path string, header ...string) string {
		r := httptest.NewRequest(http.MethodGet, "http://"+host+path, nil)
		for i := 0; i < len(header); i += 2 {
			r.Header.Add(header[i], header[i+1])
		}
		d, b := tb.Route(host, path)
		return cacheKey(d, b, path, "", host, r.Header)
	}
	tests := []struct {
		name string
		a, b string
		same bool
	}{
		{"hosts apart (Host keyed)", key("a.test", "/x"), key("b.test", "/x"), false},
		{"cookies apart (all keyed)", key("a.test", "/x", "Cookie", "s=1"), key("a.test", "/x", "Cookie", "s=2"), false},
		{"Origin apart", key("a.test", "/x", "Origin", "https://o1.test"), key("a.test", "/x", "Origin", "https://o2.test"), false},
		{"an unkeyed header shares", key("a.test", "/x", "Accept-Language", "fr"), key("a.test", "/x", "Accept-Language", "de"), true},
		{"languages apart", key("a.test", "/lang/x", "Accept-Language", "fr"), key("a.test", "/lang/x", "Accept-Language", "de"), false},
		{"sessions apart", key("a.test", "/lang/x", "Cookie", "session=1"), key("a.test", "/lang/x", "Cookie", "session=2"), false},
		{"other cookies share", key("a.test", "/lang/x", "Cookie", "session=1; t=1"), key("a.test", "/lang/x", "Cookie", "session=1; t=2"), true},
		{"nothing keyed", key("a.test", "/plain/x", "Cookie", "s=1", "Origin", "https://o1.test"), key("b.test", "/plain/x"), true},
	}
	for _, tt := range tests {
		if (tt.a == tt.b) != tt.same {
			t.Errorf("%s: keys %q and %q, want same %v", tt.name, tt.a, tt.b, tt.same)
		}
	}
}

// TestCachePolicyOriginEncodings: a cache policy that enables gzip and/or
// brotli has the origin asked for those codings, in CloudFront's
// normalized Accept-Encoding, compress or not, and its compressed and
// uncompressed answers cached apart, even without Vary; the edge does not
// compress what the origin did. Without a cache policy the origin is
// asked for no coding, as before.
func TestCachePolicyOriginEncodings(t *testing.T) {
	body := strings.Repeat("compressible text ", 200)
	var mu sync.Mutex
	var asked []string // the Accept-Encoding of each origin request, "none" for none
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ae := r.Header["Accept-Encoding"]
		mu.Lock()
		if ae == nil {
			asked = append(asked, "none")
		} else {
			asked = append(asked, strings.Join(ae, ", "))
		}
		mu.Unlock()
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "text/plain")
		if !strings.Contains(r.URL.Path, "novary") {
			w.Header().Set("Vary", "Accept-Encoding")
		}
		var c io.WriteCloser
		switch {
		case codings.Accepts(ae, "br"):
			w.Header().Set("Content-Encoding", "br")
			c = brotli.NewWriter(w)
		case codings.Accepts(ae, "gzip"):
			w.Header().Set("Content-Encoding", "gzip")
			c = gzip.NewWriter(w)
		default:
			io.WriteString(w, body)
			return
		}
		io.WriteString(c, body)
		c.Close()
	}))
	t.Cleanup(app.Close)
	url, viewer := encodingsEdge(t, app)
	steps := []struct {
		name, path string
		accept     string // "" sends none
		asked      string // the origin's Accept-Encoding; "" for no origin request
		xcache     string
		encoding   string // the answer's Content-Encoding
	}{
		{"gzip policy", "/gzip/a", "gzip, deflate, br", "gzip", "Miss", "gzip"},
		{"gzip policy again", "/gzip/a", "gzip, deflate, br", "", "Hit", "gzip"},
		{"the same normalized header", "/gzip/a", "gzip", "", "Hit", "gzip"},
		{"no Accept-Encoding", "/gzip/a", "", "none", "Miss", ""},
		{"no Accept-Encoding again", "/gzip/a", "", "", "Hit", ""},
		{"gzip still", "/gzip/a", "br, gzip", "", "Hit", "gzip"},
		{"origin without Vary", "/gzip/novary", "gzip, br", "gzip", "Miss", "gzip"},
		{"origin without Vary, no Accept-Encoding", "/gzip/novary", "", "none", "Miss", ""},
		{"origin without Vary again", "/gzip/novary", "gzip", "", "Hit", "gzip"},
		{"origin without Vary, no Accept-Encoding again", "/gzip/novary", "", "", "Hit", ""},
		{"brotli policy", "/br/a", "gzip, deflate, br", "br", "Miss", "br"},
		{"brotli policy again", "/br/a", "br;q=0.5, gzip", "", "Hit", "br"},
		{"brotli policy, viewer without br", "/br/a", "gzip, deflate", "identity", "Miss", ""},
		{"brotli policy, viewer without br again", "/br/a", "gzip", "", "Hit", ""},
		{"both", "/both/a", "gzip, deflate, br", "br,gzip", "Miss", "br"},
		{"both again", "/both/a", "br,gzip", "", "Hit", "br"},
		{"compress, origin compresses", "/edge/a", "gzip, deflate, br", "br,gzip", "Miss", "br"},
		{"compress, origin compresses, again", "/edge/a", "gzip, br", "", "Hit", "br"},
		{"no cache policy", "/a", "gzip, deflate, br", "none", "Miss", ""},
		{"no cache policy again", "/a", "gzip, deflate, br", "", "Hit", ""},
	}
	for _, s := range steps {
		mu.Lock()
		before := len(asked)
		mu.Unlock()
		req, _ := http.NewRequest(http.MethodGet, url+s.path, nil)
		req.Host = "site.test"
		if s.accept != "" {
			req.Header.Set("Accept-Encoding", s.accept)
		}
		resp, err := viewer.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		got := decoded(t, resp)
		mu.Lock()
		origin := strings.Join(asked[before:], " | ")
		mu.Unlock()
		if x := resp.Header.Get("X-Cache"); x != s.xcache+" from openfront" {
			t.Errorf("%s: X-Cache %q, want %s", s.name, x, s.xcache)
		}
		if origin != s.asked {
			t.Errorf("%s: origin asked with Accept-Encoding %q, want %q", s.name, origin, s.asked)
		}
		if ce := resp.Header.Get("Content-Encoding"); ce != s.encoding || got != body {
			t.Errorf("%s: Content-Encoding %q (body decoded once: %d bytes, equal %v), want %q with the origin's body", s.name, ce, len(got), got == body, s.encoding)
		}
	}
}

// encodingsEdge is a caching edge in front of app with
// testdata/origin_encodings.cue.tmpl, and a viewer that sends its
// Accept-Encoding as it is and reads bodies raw.
func encodingsEdge(t *testing.T, app *httptest.Server) (string, *http.Transport) {
	t.Helper()
	src, err := os.ReadFile("testdata/origin_encodings.cue.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(string(src), app.Listener.Addr().String()))
	viewer := &http.Transport{DisableCompression: true}
	t.Cleanup(viewer.CloseIdleConnections)
	return bothEdges(t, dir, tb)[1].url, viewer
}

// decoded is resp's body with its Content-Encoding undone once.
func decoded(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	var r io.Reader = resp.Body
	switch resp.Header.Get("Content-Encoding") {
	case "gzip":
		z, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = z
	case "br":
		r = brotli.NewReader(resp.Body)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("body: %v", err)
	}
	return string(b)
}

// TestAmplifyCachePolicy: the managed Amplify policy keys on the Host,
// Authorization and CloudFront-Viewer-Country headers and on every cookie
// and query string (using-managed-cache-policies, "Amplify"), and sends
// them to the origin: viewers who differ in any of them never get each
// other's answer, while a MediaTailor origin request policy beside
// CachingDisabled forwards the query and User-Agent.
func TestAmplifyCachePolicy(t *testing.T) {
	var n atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// public: an answer to a request with Authorization is stored
		// only when the origin says so (RFC 9111 3.5).
		w.Header().Set("Cache-Control", "public, max-age=60")
		fmt.Fprintf(w, "%d host=%q auth=%q query=%q cookie=%q ua=%q", n.Add(1), r.Host, r.Header.Get("Authorization"),
			r.URL.RawQuery, r.Header.Get("Cookie"), r.Header.Get("User-Agent"))
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test", "other.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "Amplify"}
	cacheBehaviors: [{pathPattern: "/manifests/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all",
		cachePolicy: "CachingDisabled", originRequestPolicy: "Elemental-MediaTailor-PersonalizedManifests"}]
}
`, app.Listener.Addr().String()))
	url := bothEdges(t, dir, tb)[1].url // the one with a cache
	steps := []struct {
		name, host, path string
		header           http.Header
		xcache           string
		body             string // in the answer
	}{
		{"first", "site.test", "/a?x=1", http.Header{"Cookie": {"s=1"}, "Authorization": {"Bearer a"}}, "Miss",
			`host="site.test" auth="Bearer a" query="x=1" cookie="s=1"`},
		{"same viewer", "site.test", "/a?x=1", http.Header{"Cookie": {"s=1"}, "Authorization": {"Bearer a"}}, "Hit", `auth="Bearer a"`},
		{"another host", "other.test", "/a?x=1", http.Header{"Cookie": {"s=1"}, "Authorization": {"Bearer a"}}, "Miss", `host="other.test"`},
		{"another Authorization", "site.test", "/a?x=1", http.Header{"Cookie": {"s=1"}, "Authorization": {"Bearer b"}}, "Miss", `auth="Bearer b"`},
		{"another cookie", "site.test", "/a?x=1", http.Header{"Cookie": {"s=2"}, "Authorization": {"Bearer a"}}, "Miss", `cookie="s=2"`},
		{"another query", "site.test", "/a?x=2", http.Header{"Cookie": {"s=1"}, "Authorization": {"Bearer a"}}, "Miss", `query="x=2"`},
		{"MediaTailor manifest", "site.test", "/manifests/m.m3u8?aws.sessionId=1", http.Header{"User-Agent": {"player/1"}, "Cookie": {"s=1"}}, "Miss",
			`query="aws.sessionId=1" cookie="" ua="player/1"`},
	}
	for _, s := range steps {
		resp, body := hostRequest(t, url, "GET", s.path, s.host, s.header, nil)
		if x := resp.Header.Get("X-Cache"); x != s.xcache+" from openfront" || !strings.Contains(body, s.body) {
			t.Errorf("%s: %q %q, want %s with %s", s.name, x, body, s.xcache, s.body)
		}
	}
}
