package edge

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestNoCollapsingWithCookies: a behavior that forwards cookies (in its
// cache key, by its origin request policy, or its legacy settings) sends
// each of simultaneous misses to the origin, as CloudFront ("CloudFront
// doesn't support request collapsing if you enable cookie forwarding in
// the cache policy, the origin request policy, or the legacy cache
// settings", request collapsing): a second viewer with another session
// no longer gets the first one's answer, private as it is, because it
// came while the first was being fetched. A behavior that forwards none
// still collapses them.
func TestNoCollapsingWithCookies(t *testing.T) {
	var asked atomic.Int64
	release := make(chan struct{})
	edges := appSiteEdges(t, func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		select {
		case <-release:
		case <-time.After(5 * time.Second):
		}
		w.Header().Set("Cache-Control", r.URL.Query().Get("cc"))
		fmt.Fprintf(w, "cookie=%s", r.Header.Get("Cookie"))
	},
		`cachePolicies: themed: parametersInCacheKeyAndForwardedToOrigin: cookiesConfig: {cookieBehavior: "whitelist", cookies: ["theme"]}

originRequestPolicies: sessions: cookiesConfig: {cookieBehavior: "whitelist", cookies: ["s"]}`,
		`defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingOptimized"}
cacheBehaviors: [
	{pathPattern: "/all-viewer/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingOptimized", originRequestPolicy: "AllViewer"},
	{pathPattern: "/sessions/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingDisabled", originRequestPolicy: "sessions"},
	{pathPattern: "/keyed/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "themed"},
	{pathPattern: "/legacy/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: {queryString: true, cookies: {forward: "whitelist", whitelistedNames: ["theme"]}}},
]`)
	url := edges[1].url // the one with a cache
	tests := []struct {
		path      string
		collapsed bool
		sessions  bool // the origin gets the session cookie s
	}{
		{"/all-viewer/a?cc=private", false, true},
		{"/all-viewer/b?cc=max-age=60", false, true},
		{"/sessions/a?cc=no-store", false, true},
		{"/keyed/a?cc=max-age=60", false, false}, // the same theme: one key
		{"/legacy/a?cc=max-age=60", false, false},
		{"/plain?cc=private", true, false},
		{"/plain2?cc=max-age=60", true, false},
	}
	for _, tt := range tests {
		asked.Store(0)
		release = make(chan struct{})
		bodies := make([]string, 2)
		var wg sync.WaitGroup
		get := func(i int, cookie string) {
			defer wg.Done()
			_, bodies[i] = siteRequest(t, url, "GET", tt.path, http.Header{"Cookie": {cookie}}, nil)
		}
		wg.Add(2)
		go get(0, "s=alice; theme=dark")
		waitFor(func() bool { return asked.Load() == 1 })
		go get(1, "s=bob; theme=dark")
		if tt.collapsed {
			time.Sleep(200 * time.Millisecond) // time to go to the origin, were it to
		} else {
			waitFor(func() bool { return asked.Load() == 2 })
		}
		close(release)
		wg.Wait()
		if n := asked.Load(); n != 1 && tt.collapsed || n != 2 && !tt.collapsed {
			t.Errorf("%s: the origin was asked %d times, want collapsed %v", tt.path, n, tt.collapsed)
		}
		if tt.sessions && (!strings.Contains(bodies[0], "alice") || strings.Contains(bodies[1], "alice")) {
			t.Errorf("%s: answers %q, want each viewer's own", tt.path, bodies)
		}
	}
}

// waitFor waits up to 3 s for cond.
func waitFor(cond func() bool) {
	for deadline := time.Now().Add(3 * time.Second); !cond() && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
}
