package edge

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"openfront.dev/daemon/cache"
	"openfront.dev/internal/testenv"
)

// TestCachePoisoning plays web cache poisoning and deception (PortSwigger's
// classes) against a cached edge and a real origin that reflects what an
// attacker may send: the attacker's request comes first and fills the
// cache, the next viewer's plain request must get the page any plain
// request gets. Only what a behavior forwards reaches the origin, and what
// reaches it outside the cache key is the behavior's to say (an origin
// request policy), as in CloudFront.
func TestCachePoisoning(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]int{} // origin requests by path
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked[r.URL.Path]++
		mu.Unlock()
		body, _ := io.ReadAll(r.Body)
		if strings.HasPrefix(r.URL.Path, "/account.php") {
			// A page per viewer, whatever the path says after it.
			w.Header().Set("Cache-Control", "private")
			fmt.Fprintf(w, "account of %s", r.Header.Get("Cookie"))
			return
		}
		w.Header().Set("Cache-Control", "max-age=60")
		var b strings.Builder
		fmt.Fprintf(&b, "%s %s host=%s body=%q", r.Method, r.URL.RequestURI(), r.Host, body)
		for _, h := range []string{"X-Forwarded-Host", "X-Host", "X-Forwarded-Server", "X-Original-Url", "X-Rewrite-Url",
			"X-Http-Method-Override", "X-Http-Method", "X-Method-Override", "X-Forwarded-Proto", "X-Forwarded-Scheme",
			"X-Forwarded-Port", "Forwarded", "Surrogate-Capability", "Cookie", "Range"} {
			if v := r.Header.Values(h); len(v) > 0 {
				fmt.Fprintf(&b, " %s=%q", h, v)
			}
		}
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(b.String()))
	}))
	t.Cleanup(app.Close)
	originHost := strings.TrimPrefix(app.URL, "http://")
	dir := t.TempDir()
	h := cachedHandler(t, dir, testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
	cacheBehaviors: [{pathPattern: "*.css", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: cookies: forward: "all"},
		{pathPattern: "/surrogate/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: headers: ["Surrogate-Capability"]}]
}
`, originHost)))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	send := func(t *testing.T, method, path, host string, hdr http.Header, body string) (*http.Response, string) {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		return hostRequest(t, srv.URL, method, path, host, hdr, r)
	}
	plain := func(path string) string {
		// The node's own Surrogate-Capability, and nothing of the viewer's.
		return fmt.Sprintf("GET %s host=%s body=\"\" Surrogate-Capability=%q", path, originHost, []string{cache.SurrogateCapability})
	}
	for _, tc := range []struct {
		name   string
		method string
		host   string
		header http.Header
		body   string
	}{
		{"X-Forwarded-Host", "GET", "site.test", http.Header{"X-Forwarded-Host": {"evil.test"}}, ""},
		{"X-Host and X-Forwarded-Server", "GET", "site.test", http.Header{"X-Host": {"evil.test"}, "X-Forwarded-Server": {"evil.test"}}, ""},
		{"X-Original-URL and X-Rewrite-URL", "GET", "site.test", http.Header{"X-Original-Url": {"/admin"}, "X-Rewrite-Url": {"/admin"}}, ""},
		{"method override headers", "GET", "site.test", http.Header{"X-Http-Method-Override": {"DELETE"}, "X-Http-Method": {"DELETE"}, "X-Method-Override": {"DELETE"}}, ""},
		{"scheme and port headers", "GET", "site.test", http.Header{"X-Forwarded-Proto": {"nothttps"}, "X-Forwarded-Scheme": {"nothttps"},
			"X-Forwarded-Port": {"1337"}, "Forwarded": {"host=evil.test;proto=http"}}, ""},
		{"Surrogate-Capability", "GET", "site.test", http.Header{"Surrogate-Capability": {`evil="ESI/1.0"`}}, ""},
		{"a cookie the behavior does not forward", "GET", "site.test", http.Header{"Cookie": {"session=attacker"}}, ""},
		{"Host with a port", "GET", "site.test:1337", nil, ""},
		{"Host in upper case with a trailing dot", "GET", "SITE.test.", nil, ""},
		{"GET with a body", "GET", "site.test", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, "q=evil"},
		{"HEAD first", "HEAD", "site.test", nil, ""},
		{"a range first", "GET", "site.test", http.Header{"Range": {"bytes=0-3"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/" + strings.NewReplacer(" ", "-").Replace(tc.name)
			send(t, tc.method, path, tc.host, tc.header, tc.body)
			resp, body := send(t, "GET", path, "site.test", nil, "")
			if body != plain(path) || resp.StatusCode != http.StatusOK {
				t.Errorf("the next viewer got %d %q (%s), want 200 %q", resp.StatusCode, body, resp.Header.Get("X-Cache"), plain(path))
			}
			// The next viewer got what the attacker's request fetched: a
			// hit, or, when a HEAD's or a range's answer went out before
			// the object was stored, a share of the fill still running
			// (X-Cache says Miss then).
			mu.Lock()
			n := asked[path]
			mu.Unlock()
			if n != 1 {
				t.Errorf("the origin was asked %d times (X-Cache %q), want once: the next viewer gets what the attacker's request stored", n, resp.Header.Get("X-Cache"))
			}
		})
	}

	t.Run("Surrogate-Capability where the behavior forwards it", func(t *testing.T) {
		_, body := send(t, "GET", "/surrogate/a", "site.test", http.Header{"Surrogate-Capability": {`inner="ESI/1.0"`}}, "")
		if !strings.Contains(body, `inner=\"ESI/1.0\"`) {
			t.Errorf("the origin did not get the viewer's capability: %q", body)
		}
	})

	// Web cache deception: a page per viewer under a path a caching
	// behavior matches (*.css) stays out of the cache when its origin
	// says private (minTTL 0, as here; CloudFront keeps it for a minTTL
	// above 0, and so does openfront).
	t.Run("private page under a cached extension", func(t *testing.T) {
		send(t, "GET", "/account.php/x.css", "site.test", http.Header{"Cookie": {"session=victim"}}, "")
		resp, body := send(t, "GET", "/account.php/x.css", "site.test", http.Header{"Cookie": {"session=victim"}}, "")
		if resp.Header.Get("X-Cache") == cacheHit {
			t.Errorf("a private answer was stored: %q", body)
		}
		if _, body = send(t, "GET", "/account.php/x.css", "site.test", nil, ""); strings.Contains(body, "victim") {
			t.Errorf("another viewer got the victim's page: %q", body)
		}
	})
}

// TestForwardedHostPoisoning: a behavior that forwards the viewer's Host
// without keying it must not let one viewer's odd Host (another port, upper
// case, a trailing dot: all route to the same distribution) reach an origin
// that builds its answer from it, since that answer is stored under the key
// every viewer of the site shares. The origin gets the host routing matched,
// with a port only when it is the port of the listener the viewer reached.
func TestForwardedHostPoisoning(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Location", "http://"+r.Host+"/next")
		fmt.Fprintf(w, "host=%s", r.Host)
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	h := cachedHandler(t, dir, testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test", "*.wild.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingOptimized", originRequestPolicy: "HostHeaderOnly"}
	cacheBehaviors: [
		{pathPattern: "/allviewer/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingOptimized", originRequestPolicy: "AllViewer"},
		{pathPattern: "/fv-allviewer/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: headers: ["Host"], originRequestPolicy: "AllViewer"},
		{pathPattern: "/keyed/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: headers: ["Host"]}]
}
`, strings.TrimPrefix(app.URL, "http://"))))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")

	get := func(t *testing.T, path, host string) (*http.Response, string) {
		t.Helper()
		return hostRequest(t, srv.URL, "GET", path, host, nil, nil)
	}
	for _, prefix := range []string{"/hostheaderonly/", "/allviewer/", "/fv-allviewer/"} {
		for i, odd := range []string{"site.test:1337", "SITE.test", "site.test.", "Site.TEST.:1337", "site.test:"} {
			t.Run(prefix+odd, func(t *testing.T) {
				path := prefix + strconv.Itoa(i)
				if _, body := get(t, path, odd); body != "host=site.test" {
					t.Errorf("the origin got %q for Host %q, want host=site.test", body, odd)
				}
				resp, body := get(t, path, "site.test")
				if body != "host=site.test" || resp.Header.Get("Location") != "http://site.test/next" {
					t.Errorf("the next viewer got %q, Location %q (%s)", body, resp.Header.Get("Location"), resp.Header.Get("X-Cache"))
				}
				if got := resp.Header.Get("X-Cache"); got != cacheHit {
					t.Errorf("X-Cache %q, want a hit of the first request's entry", got)
				}
			})
		}
	}

	// What a normal viewer's origin gets stays as it was.
	for _, tc := range []struct{ host, want string }{
		{"site.test", "site.test"},
		{"site.test:" + port, "site.test:" + port}, // the listener's own port
		{"SITE.test.:" + port, "site.test:" + port},
		{"A.Wild.test", "a.wild.test"},
	} {
		t.Run("listener "+tc.host, func(t *testing.T) {
			if _, body := get(t, "/normal/"+url.PathEscape(tc.host), tc.host); body != "host="+tc.want {
				t.Errorf("the origin got %q for Host %q, want host=%s", body, tc.host, tc.want)
			}
		})
	}

	// Where the key holds the Host, each Host has its own entry: the
	// origin gets the Host as sent.
	t.Run("Host in the key", func(t *testing.T) {
		if _, body := get(t, "/keyed/a", "site.test:1337"); body != "host=site.test:1337" {
			t.Errorf("the origin got %q, want the Host as sent", body)
		}
		if resp, body := get(t, "/keyed/a", "site.test"); body != "host=site.test" || resp.Header.Get("X-Cache") == cacheHit {
			t.Errorf("the next viewer got %q (%s), want its own entry", body, resp.Header.Get("X-Cache"))
		}
	})
}
