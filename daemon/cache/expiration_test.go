package cache

import (
	"net/http"
	"strconv"
	"testing"
	"time"
)

// TestExpirationTable walks Expiration.html's table "Specify the amount of
// time that CloudFront caches objects" through the cache with the fake
// clock: each row is what the origin adds, under a minimum TTL of 0 or
// above 0 and a maximum TTL below or above the origin's value. keep is how
// long CloudFront keeps the object: a hit one second before it, the origin
// asked again one second after; 0, the origin asked every time.
func TestExpirationTable(t *testing.T) {
	const s = time.Second
	minZero := Policy{Cacheable: true, DefaultTTL: 60 * s, MaxTTL: 300 * s}
	minAbove := Policy{Cacheable: true, MinTTL: 100 * s, DefaultTTL: 60 * s, MaxTTL: 300 * s}
	cases := []struct {
		name    string
		p       Policy
		cc      string
		expires time.Duration // from the response's Date; 0: none
		keep    time.Duration
	}{
		// Minimum TTL = 0.
		{"max-age below maxTTL", minZero, "max-age=120", 0, 120 * s},
		{"max-age above maxTTL", minZero, "max-age=600", 0, 300 * s},
		{"no max-age: defaultTTL", minZero, "", 0, 60 * s},
		{"s-maxage over max-age", minZero, "max-age=600, s-maxage=30", 0, 30 * s},
		{"s-maxage above maxTTL", minZero, "max-age=10, s-maxage=900", 0, 300 * s},
		{"Expires before maxTTL", minZero, "", 120 * s, 120 * s},
		{"Expires after maxTTL", minZero, "", time.Hour, 300 * s},
		{"max-age over Expires", minZero, "max-age=120", time.Hour, 120 * s},
		{"no-cache respected", minZero, "no-cache", 0, 0},
		{"no-store respected", minZero, "no-store", 0, 0},
		{"private respected", minZero, "private, max-age=120", 0, 0},
		// Minimum TTL > 0.
		{"min>0: max-age below minTTL", minAbove, "max-age=30", 0, 100 * s},
		{"min>0: max-age between", minAbove, "max-age=200", 0, 200 * s},
		{"min>0: max-age above maxTTL", minAbove, "max-age=600", 0, 300 * s},
		{"min>0: no max-age: greater of minTTL and defaultTTL", minAbove, "", 0, 100 * s},
		{"min>0: s-maxage between", minAbove, "max-age=30, s-maxage=200", 0, 200 * s},
		{"min>0: s-maxage below minTTL", minAbove, "max-age=200, s-maxage=30", 0, 100 * s},
		{"min>0: Expires below minTTL", minAbove, "", 30 * s, 100 * s},
		{"min>0: Expires between", minAbove, "", 200 * s, 200 * s},
		{"min>0: Expires above maxTTL", minAbove, "", time.Hour, 300 * s},
		{"min>0: no-cache kept minTTL", minAbove, "no-cache", 0, 100 * s},
		{"min>0: no-store kept minTTL", minAbove, "no-store", 0, 100 * s},
		{"min>0: private kept minTTL", minAbove, "private, max-age=600", 0, 100 * s},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hs := newHarness(t, Config{}, c.p, nil)
			hs.setHandler(func(w http.ResponseWriter, r *http.Request) {
				if c.cc != "" {
					w.Header().Set("Cache-Control", c.cc)
				}
				if c.expires != 0 {
					w.Header().Set("Expires", hs.clock.Now().Add(c.expires).UTC().Format(http.TimeFormat))
				}
				text("v")(w, r)
			})
			if c.keep == 0 {
				runSteps(t, hs, "/a", []step{
					{status: 200, xcache: XCacheMiss, body: "v", origin: 1},
					{status: 200, xcache: XCacheMiss, body: "v", origin: 2},
				})
				return
			}
			runSteps(t, hs, "/a", []step{
				{status: 200, xcache: XCacheMiss, body: "v", age: "none", origin: 1},
				// Age tells the viewer how long the object has been
				// in the cache.
				{advance: c.keep - s, status: 200, xcache: XCacheHit, body: "v", age: strconv.Itoa(int((c.keep - s) / s)), origin: 1},
				{advance: 2 * s, status: 200, body: "v", origin: 2},
			})
		})
	}
}

// TestExpiredRevalidation: "After it expires, the next time the edge
// location gets a request for the file, CloudFront forwards the request to
// the origin to verify that the cache contains the latest version of the
// file": a 304 keeps the object for another lifetime, a 200 replaces it
// (Expiration.html). The request is conditional on what the object has.
func TestExpiredRevalidation(t *testing.T) {
	cases := []struct {
		name       string
		validators []string
		want       string // the conditional field sent; "" none
	}{
		{"ETag", []string{"ETag", `"1"`}, "If-None-Match"},
		{"Last-Modified", []string{"Last-Modified", "Mon, 02 Mar 2026 10:00:00 GMT"}, "If-Modified-Since"},
		{"neither: asked unconditionally", nil, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hs := newHarness(t, Config{}, defaultPolicy, text("v1", append([]string{"Cache-Control", "max-age=60"}, c.validators...)...))
			hs.get("/a")
			hs.setHandler(func(w http.ResponseWriter, r *http.Request) {
				if r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" {
					w.Header().Set("Cache-Control", "max-age=60")
					w.WriteHeader(http.StatusNotModified)
					return
				}
				text("v1", "Cache-Control", "max-age=60")(w, r)
			})
			wantX := XCacheRefreshHit
			if c.want == "" {
				wantX = XCacheMiss
			}
			runSteps(t, hs, "/a", []step{
				{advance: 61 * time.Second, status: 200, xcache: wantX, body: "v1", origin: 2, check: func(t *testing.T, hs *harness, _ *http.Response) {
					seen := hs.lastSeen()
					for _, k := range []string{"If-None-Match", "If-Modified-Since"} {
						if got := seen.Header.Get(k) != ""; got != (k == c.want) {
							t.Errorf("origin request has %s: %v, want %v", k, got, k == c.want)
						}
					}
				}},
				// Kept another 60 s from the 304 or the new 200.
				{advance: 59 * time.Second, status: 200, xcache: XCacheHit, body: "v1", age: "59", origin: 2},
				{advance: 2 * time.Second, status: 200, body: "v1", origin: 3},
			})
		})
	}
	t.Run("200 replaces", func(t *testing.T) {
		hs := newHarness(t, Config{}, defaultPolicy, text("v1", "Cache-Control", "max-age=60", "ETag", `"1"`))
		hs.get("/a")
		hs.setHandler(text("v2", "Cache-Control", "max-age=60", "ETag", `"2"`))
		runSteps(t, hs, "/a", []step{
			{advance: 61 * time.Second, status: 200, xcache: XCacheMiss, body: "v2", origin: 2},
			{advance: 30 * time.Second, status: 200, xcache: XCacheHit, body: "v2", age: "30", origin: 2},
		})
	})
}

// TestMinTTLOverridesNoCacheWhenOriginFails: under a minimum TTL above 0
// CloudFront keeps a no-cache, no-store or private object "for the value of
// the CloudFront minimum TTL" like any other, and "If the origin is
// unreachable and the minimum or maximum TTL value is greater than 0,
// CloudFront will serve the object that it got from the origin previously"
// (Expiration.html): no-cache does not keep the expired object from
// standing in for a failing origin, as it does not under minTTL 0.
func TestMinTTLOverridesNoCacheWhenOriginFails(t *testing.T) {
	fail := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }
	minAbove := defaultPolicy
	minAbove.MinTTL = time.Minute
	cases := []struct {
		name, cc string
		p        Policy
		origin   http.HandlerFunc // after the first request; nil: closed
		status   int
		xcache   string
	}{
		{"minTTL>0 no-cache, origin down", "no-cache", minAbove, nil, 200, XCacheHit},
		{"minTTL>0 no-cache, 5xx", "no-cache", minAbove, fail, 200, XCacheHit},
		{"minTTL>0 no-store, origin down", "no-store", minAbove, nil, 200, XCacheHit},
		{"minTTL>0 private, 5xx", "private", minAbove, fail, 200, XCacheHit},
		// The origin's own word on stale use still holds.
		{"minTTL>0 no-cache, stale-if-error=0", "no-cache, stale-if-error=0", minAbove, nil, 502, ""},
		{"minTTL>0 no-cache, must-revalidate", "no-cache, must-revalidate", minAbove, fail, 503, XCacheError},
		// minTTL 0: no-cache is respected, every use asks the origin.
		{"minTTL 0 no-cache, origin down", "no-cache", defaultPolicy, nil, 502, ""},
		{"minTTL 0 no-cache, 5xx", "no-cache", defaultPolicy, fail, 503, XCacheError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			askStale(t, c.p, c.cc, c.origin, 65*time.Second, c.status, c.xcache)
		})
	}
}

// TestSMaxAgeServedWhenOriginFails: s-maxage is how Expiration.html has an
// origin give CloudFront its own cache duration ("If you want objects to
// stay in CloudFront edge caches for a different duration than they stay in
// browser caches, you can use the Cache-Control max-age and Cache-Control
// s-maxage directives together"), and such an object stands in for an
// unreachable or failing origin as any other: "To avoid this behavior,
// include the Cache-Control: stale-if-error=0 directive".
func TestSMaxAgeServedWhenOriginFails(t *testing.T) {
	fail := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadGateway) }
	cases := []struct {
		name, cc string
		origin   http.HandlerFunc // after the first request; nil: closed
		status   int
		xcache   string
	}{
		{"origin down", "max-age=0, s-maxage=10", nil, 200, XCacheHit},
		{"5xx", "public, s-maxage=10", fail, 200, XCacheHit},
		{"stale-if-error=0, origin down", "s-maxage=10, stale-if-error=0", nil, 502, ""},
		{"stale-if-error=0, 5xx", "s-maxage=10, stale-if-error=0", fail, 502, XCacheError},
		{"proxy-revalidate, origin down", "s-maxage=10, proxy-revalidate", nil, 502, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			askStale(t, defaultPolicy, c.cc, c.origin, 30*time.Second, c.status, c.xcache)
		})
	}
}

// TestViewerCacheControlIgnored: "You cannot use the HTTP Cache-Control or
// Pragma header fields in a GET request from a viewer to force CloudFront to
// go back to the origin server for the object. CloudFront ignores those
// header fields in viewer requests" (Expiration.html): a viewer's no-store
// does not keep the answer out of the cache, nor its only-if-cached the
// origin from being asked on a miss.
func TestViewerCacheControlIgnored(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, etagOrigin("max-age=60"))
	runSteps(t, hs, "/a", []step{
		{header: []string{"Cache-Control", "only-if-cached"}, status: 200, xcache: XCacheMiss, body: "body", origin: 1},
		{header: []string{"Cache-Control", "no-cache", "Pragma", "no-cache"}, status: 200, xcache: XCacheHit, body: "body", origin: 1},
		{header: []string{"Cache-Control", "max-age=0"}, status: 200, xcache: XCacheHit, body: "body", origin: 1},
	})
	hs = newHarness(t, Config{}, defaultPolicy, etagOrigin("max-age=60"))
	runSteps(t, hs, "/a", []step{
		{header: []string{"Cache-Control", "no-store, no-cache"}, status: 200, xcache: XCacheMiss, body: "body", origin: 1},
		{status: 200, xcache: XCacheHit, body: "body", origin: 1},
		// Expired: a no-store viewer's revalidation refreshes it for all.
		{advance: 61 * time.Second, header: []string{"Cache-Control", "no-store"}, status: 200, xcache: XCacheRefreshHit, body: "body", origin: 2},
		{status: 200, xcache: XCacheHit, body: "body", origin: 2},
	})
}
