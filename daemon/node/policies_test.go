package node

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// policiesConfig: the default behavior under a response headers policy
// and a cache policy of the config's own; /nocache/ under CachingDisabled
// (and no response headers policy); /host/ under HostHeaderOnly. %q: the
// origin's address.
const policiesConfig = `package cdn

responseHeadersPolicies: api: {
	corsConfig: {
		accessControlAllowOrigins: ["https://app.example"]
		accessControlAllowHeaders: ["X-App"]
		accessControlAllowMethods: ["GET"]
		accessControlAllowCredentials: false
		originOverride: false
	}
	securityHeadersConfig: frameOptions: {frameOption: "DENY", override: true}
	customHeadersConfig: [{header: "X-Served-By", value: "openfront", override: false}]
	removeHeadersConfig: [{header: "X-Powered-By"}]
	serverTimingHeadersConfig: {enabled: true, samplingRate: 0}
}

cachePolicies: search: {
	minTTL: 0
	defaultTTL: 60
	maxTTL: 600
	parametersInCacheKeyAndForwardedToOrigin: {
		headersConfig: {headerBehavior: "whitelist", headers: ["X-Lang"]}
		cookiesConfig: cookieBehavior: "none"
		queryStringsConfig: {queryStringBehavior: "allExcept", queryStrings: ["utm_source"]}
	}
}

distributions: site: {
	aliases: ["site.test"]
	httpVersion: "http2and3"
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", allowedMethods: ["GET", "HEAD", "OPTIONS"],
		cachePolicy: "search", responseHeadersPolicy: "api"}
	cacheBehaviors: [
		{pathPattern: "/nocache/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingDisabled"},
		{pathPattern: "/host/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", originRequestPolicy: "HostHeaderOnly"},
	]
}
`

// policiesOrigin says in its body what it received, and sends headers a
// policy acts on: one to remove, its own Server-Timing. A preflight gets
// 204, as a CORS-aware origin answers it.
func policiesOrigin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Powered-By", "origin")
	w.Header().Set("Server-Timing", "app;dur=3") // originTiming
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(originSaw{Host: r.Host, URI: r.RequestURI, Lang: r.Header.Get("X-Lang")})
}

// originSaw is the request as the origin received it.
type originSaw struct{ Host, URI, Lang string }

// TestPoliciesThroughTheNode: over HTTP/1.1, HTTP/2 and HTTP/3, a viewer
// gets a behavior's response headers policy on misses, hits and
// preflights (CORS for the named origin alone, reflected with Vary:
// Origin; the origin's header removed; Server-Timing only when asked
// for, at rate 0); the cache policy keys on its header and on the query
// but the parameter it leaves out, which the origin never sees;
// CachingDisabled stores nothing; HostHeaderOnly gives the origin the
// viewer's Host.
func TestPoliciesThroughTheNode(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(policiesOrigin))
	t.Cleanup(app.Close)
	appAddr := app.Listener.Addr().String()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(fmt.Sprintf(policiesConfig, appAddr)), 0o644); err != nil {
		t.Fatal(err)
	}
	n := startWith(t, Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", NodeName: nodeName,
		DrainTimeout: time.Second, Logger: testLogger(t), CacheBodyDir: t.TempDir()})
	e := &env{node: n}

	const (
		allowed = "https://app.example"
		hit     = "Hit from openfront"
		miss    = "Miss from openfront"
		// Without Pragma: server-timing, at rate 0, the viewer gets the
		// origin's Server-Timing alone, none of the node's metrics.
		originTiming = "app;dur=3"
	)
	type step struct {
		name, method, path string
		header             http.Header
		status             int
		xcache             string
		want               map[string]string // "" absent; "A...B": begins with A, ends with B
		saw                *originSaw        // the body: what the origin received (on a hit, for the stored answer)
	}
	for _, p := range []proto{h1, h2, h3} {
		t.Run(string(p), func(t *testing.T) {
			client := e.client(t, p, nil)
			scheme := "https"
			if p == h1 {
				scheme = "http"
			}
			// Paths per protocol: the three share the node's cache.
			s := "/" + string(p) + "/search"
			first := &originSaw{Host: appAddr, URI: s + "?q=1", Lang: "fr"}
			steps := []step{
				{"miss from the allowed origin, timing asked for", "GET", s + "?q=1&utm_source=a",
					http.Header{"Origin": {allowed}, "X-Lang": {"fr"}, "Pragma": {"server-timing"}}, 200, miss,
					map[string]string{"Access-Control-Allow-Origin": allowed, "Vary": "Origin", "X-Frame-Options": "DENY",
						"X-Served-By": "openfront", "X-Powered-By": "", "Access-Control-Allow-Methods": "",
						"Server-Timing": `cdn-upstream-layer;desc="EDGE",cdn-upstream-dns;dur=...,app;dur=3`},
					first},
				{"hit: the left-out parameter is not in the key", "GET", s + "?utm_source=b&q=1",
					http.Header{"Origin": {allowed}, "X-Lang": {"fr"}}, 200, hit,
					map[string]string{"Access-Control-Allow-Origin": allowed, "Vary": "Origin", "X-Frame-Options": "DENY",
						"X-Served-By": "openfront", "X-Powered-By": "", "Server-Timing": originTiming},
					first},
				{"hit from another origin, timing asked for", "GET", s + "?q=1",
					http.Header{"Origin": {"https://evil.example"}, "X-Lang": {"fr"}, "Pragma": {"no-cache, server-timing"}}, 200, hit,
					map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin", "X-Frame-Options": "DENY", "X-Powered-By": "",
						"Server-Timing": `cdn-cache-hit,cdn-pop;desc="` + nodeName + `",...`},
					first},
				{"the keyed header", "GET", s + "?q=1", http.Header{"X-Lang": {"de"}}, 200, miss,
					map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin", "X-Served-By": "openfront", "Server-Timing": originTiming},
					&originSaw{Host: appAddr, URI: s + "?q=1", Lang: "de"}},
				{"another parameter", "GET", s + "?q=2&utm_source=c", http.Header{"X-Lang": {"fr"}}, 200, miss,
					map[string]string{"X-Served-By": "openfront"},
					&originSaw{Host: appAddr, URI: s + "?q=2", Lang: "fr"}},
				{"preflight", "OPTIONS", s,
					http.Header{"Origin": {allowed}, "Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"x-app"}}, 204, "",
					map[string]string{"Access-Control-Allow-Origin": allowed, "Access-Control-Allow-Methods": "GET",
						"Access-Control-Allow-Headers": "X-App", "X-Powered-By": "", "Server-Timing": originTiming},
					nil},
				{"CachingDisabled", "GET", "/nocache" + s + "?q=1", http.Header{"Origin": {allowed}}, 200, miss,
					map[string]string{"Access-Control-Allow-Origin": "", "X-Served-By": "", "X-Powered-By": "origin"},
					&originSaw{Host: appAddr, URI: "/nocache" + s}},
				{"CachingDisabled again", "GET", "/nocache" + s + "?q=1", nil, 200, miss, nil,
					&originSaw{Host: appAddr, URI: "/nocache" + s}},
				{"HostHeaderOnly", "GET", "/host" + s, nil, 200, "", nil,
					&originSaw{Host: "site.test", URI: "/host" + s}},
			}
			for _, st := range steps {
				resp, body := do(t, client, st.method, scheme+"://site.test"+st.path, st.header, "")
				if resp.StatusCode != st.status {
					t.Errorf("%s: status %d, want %d", st.name, resp.StatusCode, st.status)
				}
				if got := resp.Header.Get("X-Cache"); st.xcache != "" && got != st.xcache {
					t.Errorf("%s: X-Cache %q, want %q", st.name, got, st.xcache)
				}
				for name, want := range st.want {
					got, ok := strings.Join(resp.Header.Values(name), ", "), len(resp.Header.Values(name)) > 0
					switch prefix, suffix, elided := strings.Cut(want, "..."); {
					case want == "" && ok:
						t.Errorf("%s: %s %q, want none", st.name, name, got)
					case elided && (!ok || !strings.HasPrefix(got, prefix) || !strings.HasSuffix(got, suffix)):
						t.Errorf("%s: %s %q, want %q", st.name, name, got, want)
					case !elided && got != want:
						t.Errorf("%s: %s %q, want %q", st.name, name, got, want)
					}
				}
				if st.saw != nil {
					var saw originSaw
					if err := json.Unmarshal(body, &saw); err != nil || saw != *st.saw {
						t.Errorf("%s: the origin saw %+v (%v), want %+v", st.name, saw, err, *st.saw)
					}
				}
			}
		})
	}
}
