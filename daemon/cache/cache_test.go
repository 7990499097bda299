package cache

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// A step is one request through the cache after advancing the clock, and
// what the viewer must see.
type step struct {
	advance time.Duration
	method  string
	header  []string
	status  int
	xcache  string
	body    string // "-": not checked
	age     string // "": not checked; "none": absent
	origin  int64  // origin requests so far, -1: not checked
	check   func(t *testing.T, hs *harness, w *http.Response)
}

func runSteps(t *testing.T, hs *harness, path string, steps []step) {
	t.Helper()
	for i, s := range steps {
		hs.clock.Advance(s.advance)
		m := s.method
		if m == "" {
			m = http.MethodGet
		}
		w := hs.do(m, path, s.header...)
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			expect(t, w, s.status, s.xcache, s.body)
			switch age := w.Header().Get("Age"); {
			case s.age == "none" && age != "":
				t.Errorf("Age %q, want none", age)
			case s.age != "" && s.age != "none" && age != s.age:
				t.Errorf("Age %q, want %q", age, s.age)
			}
			if s.origin >= 0 && hs.requests.Load() != s.origin {
				t.Errorf("origin requests %d, want %d", hs.requests.Load(), s.origin)
			}
			if s.check != nil {
				s.check(t, hs, w.Result())
			}
		})
	}
}

func TestHitMissAge(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, text("hello", "Cache-Control", "max-age=60"))
	runSteps(t, hs, "/a", []step{
		{status: 200, xcache: XCacheMiss, body: "hello", age: "none", origin: 1},
		{status: 200, xcache: XCacheHit, body: "hello", age: "0", origin: 1},
		{advance: 10 * time.Second, status: 200, xcache: XCacheHit, body: "hello", age: "10", origin: 1},
		{advance: 49 * time.Second, status: 200, xcache: XCacheHit, body: "hello", age: "59", origin: 1},
		// expired, no validator: fetched again
		{advance: time.Second, status: 200, xcache: XCacheMiss, body: "hello", origin: 2},
		{status: 200, xcache: XCacheHit, body: "hello", age: "0", origin: 2},
	})
}

func TestAgeFromOrigin(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, text("x", "Cache-Control", "max-age=60", "Age", "50"))
	runSteps(t, hs, "/a", []step{
		{status: 200, xcache: XCacheMiss, origin: 1, body: "x"},
		{advance: 5 * time.Second, status: 200, xcache: XCacheHit, age: "55", origin: 1, body: "x"},
		{advance: 5 * time.Second, status: 200, xcache: XCacheMiss, origin: 2, body: "x"},
	})
}

// CloudFront's TTL clamps, end to end.
func TestTTLClamps(t *testing.T) {
	tests := []struct {
		name        string
		p           Policy
		cc          string
		fresh, gone time.Duration // still a hit after fresh; refetched after gone
	}{
		{"max-age capped at maxTTL", Policy{Cacheable: true, MaxTTL: 30 * time.Second}, "max-age=3600", 29 * time.Second, 31 * time.Second},
		{"no-cache kept for minTTL", Policy{Cacheable: true, MinTTL: time.Minute, DefaultTTL: time.Hour, MaxTTL: time.Hour}, "no-cache", 59 * time.Second, 61 * time.Second},
		{"no-store kept for minTTL", Policy{Cacheable: true, MinTTL: time.Minute, DefaultTTL: time.Hour, MaxTTL: time.Hour}, "no-store", 59 * time.Second, 61 * time.Second},
		{"max-age raised to minTTL", Policy{Cacheable: true, MinTTL: time.Minute, DefaultTTL: time.Hour, MaxTTL: time.Hour}, "max-age=5", 59 * time.Second, 61 * time.Second},
		{"defaultTTL without headers", Policy{Cacheable: true, DefaultTTL: 20 * time.Second, MaxTTL: time.Hour}, "", 19 * time.Second, 21 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := []string{}
			if tt.cc != "" {
				hdr = []string{"Cache-Control", tt.cc}
			}
			hs := newHarness(t, Config{}, tt.p, text("x", hdr...))
			runSteps(t, hs, "/a", []step{
				{status: 200, xcache: XCacheMiss, body: "x", origin: 1},
				{advance: tt.fresh, status: 200, xcache: XCacheHit, body: "x", origin: 1},
				{advance: tt.gone - tt.fresh, status: 200, xcache: XCacheMiss, body: "x", origin: 2},
			})
		})
	}
	t.Run("no-store with minTTL 0 is never stored", func(t *testing.T) {
		hs := newHarness(t, Config{}, defaultPolicy, text("x", "Cache-Control", "no-store"))
		runSteps(t, hs, "/a", []step{
			{status: 200, xcache: XCacheMiss, body: "x", origin: 1},
			{status: 200, xcache: XCacheMiss, body: "x", origin: 2},
		})
	})
	t.Run("private with minTTL 0 is never stored", func(t *testing.T) {
		hs := newHarness(t, Config{}, defaultPolicy, text("x", "Cache-Control", "private, max-age=60"))
		runSteps(t, hs, "/a", []step{
			{status: 200, xcache: XCacheMiss, body: "x", origin: 1},
			{status: 200, xcache: XCacheMiss, body: "x", origin: 2},
		})
	})
}

func TestRevalidation(t *testing.T) {
	version := "v1"
	hs := newHarness(t, Config{}, defaultPolicy, nil)
	hs.setHandler(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("ETag", `"1"`)
		w.Header().Set("X-Version", version)
		if r.Header.Get("If-None-Match") == `"1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte("body"))
	})
	runSteps(t, hs, "/a", []step{{status: 200, xcache: XCacheMiss, body: "body", origin: 1}})
	version = "v2"
	runSteps(t, hs, "/a", []step{
		{advance: 11 * time.Second, status: 200, xcache: XCacheRefreshHit, body: "body", origin: 2, check: func(t *testing.T, hs *harness, w *http.Response) {
			if got := hs.lastSeen().Header.Get("If-None-Match"); got != `"1"` {
				t.Errorf("origin saw If-None-Match %q", got)
			}
			if w.Header.Get("X-Version") != "v2" {
				t.Errorf("X-Version %q: the 304's header did not refresh the stored one", w.Header.Get("X-Version"))
			}
		}},
		{advance: 5 * time.Second, status: 200, xcache: XCacheHit, body: "body", age: "5", origin: 2, check: func(t *testing.T, hs *harness, w *http.Response) {
			if w.Header.Get("X-Version") != "v2" {
				t.Errorf("X-Version %q after refresh", w.Header.Get("X-Version"))
			}
		}},
	})
}

func TestRevalidationLastModified(t *testing.T) {
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=10")
		w.Header().Set("Last-Modified", lm)
		if r.Header.Get("If-Modified-Since") == lm {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte("body"))
	})
	runSteps(t, hs, "/a", []step{
		{status: 200, xcache: XCacheMiss, body: "body", origin: 1},
		{advance: 11 * time.Second, status: 200, xcache: XCacheRefreshHit, body: "body", origin: 2},
		{status: 200, xcache: XCacheHit, body: "body", origin: 2},
	})
	// A changed object replaces the stored one.
	hs.setHandler(text("new", "Cache-Control", "max-age=10"))
	runSteps(t, hs, "/a", []step{
		{advance: 11 * time.Second, status: 200, xcache: XCacheMiss, body: "new", origin: 3},
		{status: 200, xcache: XCacheHit, body: "new", origin: 3},
	})
}

// etagOrigin answers "body" with Cache-Control cc and ETag "e", and 304
// to a request that has it.
func etagOrigin(cc string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", cc)
		w.Header().Set("ETag", `"e"`)
		if r.Header.Get("If-None-Match") == `"e"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Write([]byte("body"))
	}
}

// no-cache with minTTL 0: stored, but validated on every use.
func TestNoCacheRevalidatesEveryTime(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, etagOrigin("no-cache"))
	runSteps(t, hs, "/a", []step{
		{status: 200, xcache: XCacheMiss, body: "body", origin: 1},
		{status: 200, xcache: XCacheRefreshHit, body: "body", origin: 2},
		{status: 200, xcache: XCacheRefreshHit, body: "body", origin: 3},
	})
}

func TestViewerConditionals(t *testing.T) {
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	hs := newHarness(t, Config{}, defaultPolicy, text("body", "Cache-Control", "max-age=60", "ETag", `"v1"`, "Last-Modified", lm.Format(http.TimeFormat)))
	hs.get("/a")
	tests := []struct {
		name   string
		header []string
		status int
	}{
		{"If-None-Match matches", []string{"If-None-Match", `"v1"`}, 304},
		{"If-None-Match weak matches", []string{"If-None-Match", `W/"v1"`}, 304},
		{"If-None-Match list", []string{"If-None-Match", `"x", "v1"`}, 304},
		{"If-None-Match *", []string{"If-None-Match", `*`}, 304},
		{"If-None-Match differs", []string{"If-None-Match", `"v0"`}, 200},
		{"If-Modified-Since later", []string{"If-Modified-Since", lm.Add(time.Hour).Format(http.TimeFormat)}, 304},
		{"If-Modified-Since same", []string{"If-Modified-Since", lm.Format(http.TimeFormat)}, 304},
		{"If-Modified-Since earlier", []string{"If-Modified-Since", lm.Add(-time.Hour).Format(http.TimeFormat)}, 200},
		{"If-None-Match wins over If-Modified-Since", []string{"If-None-Match", `"v0"`, "If-Modified-Since", lm.Format(http.TimeFormat)}, 200},
		{"If-Match fails", []string{"If-Match", `"v0"`}, 412},
		{"If-Match passes", []string{"If-Match", `"v1"`}, 200},
		{"If-Unmodified-Since fails", []string{"If-Unmodified-Since", lm.Add(-time.Hour).Format(http.TimeFormat)}, 412},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := hs.get("/a", tt.header...)
			expect(t, w, tt.status, XCacheHit, "-")
			if tt.status == 304 {
				if w.Body.Len() != 0 || w.Header().Get("Content-Type") != "" {
					t.Errorf("304 with body %q / Content-Type %q", w.Body.String(), w.Header().Get("Content-Type"))
				}
				if w.Header().Get("ETag") != `"v1"` || w.Header().Get("Cache-Control") == "" {
					t.Errorf("304 lacks ETag or Cache-Control: %v", w.Header())
				}
			}
		})
	}
	if n := hs.requests.Load(); n != 1 {
		t.Errorf("origin requests %d, want 1: conditionals answered from cache", n)
	}
}

func TestHEAD(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, text("hello", "Cache-Control", "max-age=60"))
	runSteps(t, hs, "/a", []step{
		// A HEAD miss fetches the object with GET and stores it.
		{method: "HEAD", status: 200, xcache: XCacheMiss, body: "", origin: 1, check: func(t *testing.T, hs *harness, w *http.Response) {
			if m := hs.lastSeen().Method; m != "GET" {
				t.Errorf("origin saw %s, want GET", m)
			}
			hs.waitBackground() // the body is stored after the HEAD viewer left
		}},
		{method: "HEAD", status: 200, xcache: XCacheHit, body: "", origin: 1, check: func(t *testing.T, hs *harness, w *http.Response) {
			if w.Header.Get("Content-Length") != "5" {
				t.Errorf("HEAD Content-Length %q", w.Header.Get("Content-Length"))
			}
		}},
		{status: 200, xcache: XCacheHit, body: "hello", origin: 1},
	})
}

func TestVary(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		w.Write([]byte("lang=" + r.Header.Get("Accept-Language")))
	})
	runSteps(t, hs, "/a", []step{
		{header: []string{"Accept-Language", "en"}, status: 200, xcache: XCacheMiss, body: "lang=en", origin: 1},
		{header: []string{"Accept-Language", "fr"}, status: 200, xcache: XCacheMiss, body: "lang=fr", origin: 2},
		{header: []string{"Accept-Language", "en"}, status: 200, xcache: XCacheHit, body: "lang=en", origin: 2},
		{header: []string{"Accept-Language", "fr"}, status: 200, xcache: XCacheHit, body: "lang=fr", origin: 2},
		// absent differs from present
		{status: 200, xcache: XCacheMiss, body: "lang=", origin: 3},
		{status: 200, xcache: XCacheHit, body: "lang=", origin: 3},
		{header: []string{"Accept-Language", ""}, status: 200, xcache: XCacheMiss, body: "lang=", origin: 4},
	})
	t.Run("Vary: Host keeps hosts apart", func(t *testing.T) {
		// Go's servers keep the host in Request.Host, not in the header.
		var n atomic.Int64
		for _, vary := range []string{"Host", "Host, Accept-Language"} {
			hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Vary", vary)
				w.Header().Set("Content-Language", "de") // a language variant, for the second Vary
				fmt.Fprintf(w, "%d", n.Add(1))
			})
			first := fmt.Sprint(n.Load() + 1)
			second := fmt.Sprint(n.Load() + 2)
			expect(t, hs.get("http://a.test/a", "Accept-Language", "de"), 200, XCacheMiss, first)
			expect(t, hs.get("http://b.test/a", "Accept-Language", "de"), 200, XCacheMiss, second)
			expect(t, hs.get("http://A.test/a", "Accept-Language", "de"), 200, XCacheHit, first)
			expect(t, hs.get("http://b.test/a", "Accept-Language", "de"), 200, XCacheHit, second)
		}
	})
	t.Run("normalized values share a variant", func(t *testing.T) {
		hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Vary", "Accept")
			w.Write([]byte("x"))
		})
		runSteps(t, hs, "/a", []step{
			{header: []string{"Accept", "text/html, text/plain"}, status: 200, xcache: XCacheMiss, body: "x", origin: 1},
			{header: []string{"Accept", "text/html,text/plain"}, status: 200, xcache: XCacheHit, body: "x", origin: 1},
			{header: []string{"Accept", "text/html", "Accept", "text/plain"}, status: 200, xcache: XCacheHit, body: "x", origin: 1},
		})
	})
	t.Run("Vary: * is not stored", func(t *testing.T) {
		hs := newHarness(t, Config{}, defaultPolicy, text("x", "Cache-Control", "max-age=60", "Vary", "*"))
		runSteps(t, hs, "/a", []step{
			{status: 200, xcache: XCacheMiss, body: "x", origin: 1},
			{status: 200, xcache: XCacheMiss, body: "x", origin: 2},
		})
	})
}

func TestStaleWhileRevalidate(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, text("v1", "Cache-Control", "max-age=1, stale-while-revalidate=60"))
	hs.get("/a")
	release := make(chan struct{})
	hs.setHandler(func(w http.ResponseWriter, r *http.Request) {
		<-release
		text("v2", "Cache-Control", "max-age=1, stale-while-revalidate=60")(w, r)
	})
	hs.clock.Advance(5 * time.Second)
	// Many stale requests: all served stale at once, one refresh.
	for range 10 {
		w := hs.get("/a")
		expect(t, w, 200, XCacheHit, "v1")
	}
	close(release)
	hs.waitBackground()
	if n := hs.requests.Load(); n != 2 {
		t.Errorf("origin requests %d, want 2 (one background refresh)", n)
	}
	expect(t, hs.get("/a"), 200, XCacheHit, "v2")
	// Past the window: the viewer waits for the origin.
	hs.setHandler(text("v3", "Cache-Control", "max-age=1, stale-while-revalidate=60"))
	hs.clock.Advance(2 * time.Minute)
	expect(t, hs.get("/a"), 200, XCacheMiss, "v3")
}

// TestStaleWindowsWithSMaxAge: an explicit stale-while-revalidate or
// stale-if-error beside s-maxage holds, as CDNs honour "s-maxage=1,
// stale-while-revalidate=59"; without them the object still stands in for
// an origin that is down (TestSMaxAgeServedWhenOriginFails).
func TestStaleWindowsWithSMaxAge(t *testing.T) {
	cases := []struct {
		name, cc string
		origin   http.HandlerFunc // after the first request; nil: closed
		status   int
		xcache   string
	}{
		{"stale-while-revalidate", "s-maxage=1, stale-while-revalidate=60", text("v2", "Cache-Control", "s-maxage=1"), 200, XCacheHit},
		{"stale-if-error", "s-maxage=1, stale-if-error=60", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }, 200, XCacheHit},
		{"neither, origin down", "s-maxage=1", nil, 200, XCacheHit},
		{"must-revalidate still wins", "s-maxage=1, must-revalidate, stale-while-revalidate=60", text("v2", "Cache-Control", "s-maxage=1"), 200, XCacheMiss},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			askStale(t, defaultPolicy, c.cc, c.origin, 5*time.Second, c.status, c.xcache)
		})
	}
}

// askStale stores an object with Cache-Control cc and an ETag, has origin
// answer after (nil: closes it), and asks again at age: the answer must
// have status and X-Cache xcache.
func askStale(t *testing.T, p Policy, cc string, origin http.HandlerFunc, age time.Duration, status int, xcache string) {
	t.Helper()
	hs := newHarness(t, Config{}, p, text("v1", "Cache-Control", cc, "ETag", `"1"`))
	hs.get("/a")
	if origin == nil {
		hs.origin.Close()
	} else {
		hs.setHandler(origin)
	}
	hs.clock.Advance(age)
	w := hs.get("/a")
	if w.Code != status || w.Header().Get("X-Cache") != xcache {
		t.Errorf("%d %q, want %d %q", w.Code, w.Header().Get("X-Cache"), status, xcache)
	}
	hs.waitBackground()
}

// TestStaleCappedAtMaxTTL: CloudFront serves stale content "up to the value
// of the stale-while-revalidate directive or the value of the CloudFront
// maximum TTL, whichever is less", the same for stale-if-error, and an
// object it serves stale because the origin fails "only up to the
// specified maximum TTL value" (Expiration.html, HTTPStatusCodes.html).
// maxTTL is 30 s here, the object fresh for 10 s.
func TestStaleCappedAtMaxTTL(t *testing.T) {
	fail := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) }
	cases := []struct {
		name, cc string
		origin   http.HandlerFunc // after the first request; nil: closed
		age      time.Duration    // of the object when asked again
		status   int
		xcache   string
	}{
		{"stale-while-revalidate within maxTTL", "max-age=10, stale-while-revalidate=600", text("v2", "Cache-Control", "max-age=10"), 35 * time.Second, 200, XCacheHit},
		{"stale-while-revalidate past maxTTL", "max-age=10, stale-while-revalidate=600", text("v2", "Cache-Control", "max-age=10"), 45 * time.Second, 200, XCacheMiss},
		{"stale-if-error within maxTTL", "s-maxage=10, stale-if-error=600", fail, 35 * time.Second, 200, XCacheHit},
		{"stale-if-error past maxTTL", "s-maxage=10, stale-if-error=600", fail, 45 * time.Second, 500, XCacheError},
		{"5xx within maxTTL", "max-age=10", fail, 35 * time.Second, 200, XCacheHit},
		{"5xx past maxTTL", "max-age=10", fail, 45 * time.Second, 500, XCacheError},
		{"origin down within maxTTL", "max-age=10", nil, 35 * time.Second, 200, XCacheHit},
		{"origin down past maxTTL", "max-age=10", nil, 45 * time.Second, 502, ""}, // the harness's 502 for the cache's error
	}
	p := defaultPolicy
	p.MaxTTL = 30 * time.Second
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			askStale(t, p, c.cc, c.origin, c.age, c.status, c.xcache)
		})
	}
}

// TestCachingDisabledNoStale: "If the origin is unreachable and the minimum
// or maximum TTL value is greater than 0, CloudFront will serve the object
// that it got from the origin previously" (Expiration.html): with all TTLs
// 0 (CachingDisabled) it does not, and the viewer gets the error.
func TestCachingDisabledNoStale(t *testing.T) {
	disabled := Policy{Cacheable: true}
	fail := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }
	t.Run("origin down", func(t *testing.T) {
		askStale(t, disabled, "max-age=60", nil, 5*time.Second, 502, "")
	})
	t.Run("5xx", func(t *testing.T) {
		askStale(t, disabled, "max-age=60", fail, 5*time.Second, 503, XCacheError)
	})
}

// TestStaleIfErrorBounds: an origin's stale-if-error says how long an
// expired object may stand in for a failing origin, replacing the rule that
// serves it while the origin fails: "include the Cache-Control:
// stale-if-error=0 directive ... This causes CloudFront to return an error
// in response to future requests if the origin is unreachable"
// (Expiration.html), and past stale-if-error=86400 the object is no longer
// served ("for up to 24 hours").
func TestStaleIfErrorBounds(t *testing.T) {
	fail := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }
	cases := []struct {
		name, cc string
		origin   http.HandlerFunc // after the first request; nil: closed
		age      time.Duration
		status   int
		xcache   string
	}{
		{"stale-if-error=0, origin down", "max-age=10, stale-if-error=0", nil, 15 * time.Second, 502, ""},
		{"stale-if-error=0, 5xx", "max-age=10, stale-if-error=0", fail, 15 * time.Second, 503, XCacheError},
		{"within stale-if-error, origin down", "max-age=10, stale-if-error=60", nil, 30 * time.Second, 200, XCacheHit},
		{"past stale-if-error, origin down", "max-age=10, stale-if-error=60", nil, 100 * time.Second, 502, ""},
		{"past stale-if-error, 5xx", "max-age=10, stale-if-error=60", fail, 100 * time.Second, 503, XCacheError},
		{"none: served while the origin fails", "max-age=10", nil, 100 * time.Second, 200, XCacheHit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			askStale(t, defaultPolicy, c.cc, c.origin, c.age, c.status, c.xcache)
		})
	}
}

// An expired object answers when its origin fails or answers 5xx, and
// for the error caching minimum TTL after that without asking the origin
// again, as CloudFront does (HTTPStatusCodes.html); unless the origin
// forbade stale use.
func TestStaleOnOriginError(t *testing.T) {
	p := defaultPolicy
	p.ErrorTTL = 10 * time.Second
	hs := newHarness(t, Config{}, p, text("good", "Cache-Control", "max-age=1"))
	hs.get("/a")
	hs.setHandler(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
	runSteps(t, hs, "/a", []step{
		{advance: 5 * time.Second, status: 200, xcache: XCacheHit, body: "good", origin: 2},
		// Within the error caching minimum TTL: the origin rests.
		{advance: 9 * time.Second, status: 200, xcache: XCacheHit, body: "good", origin: 2},
		// Past it: asked again, still failing.
		{advance: 2 * time.Second, status: 200, xcache: XCacheHit, body: "good", origin: 3},
		// An hour later, still failing: the object is still there.
		{advance: time.Hour, status: 200, xcache: XCacheHit, body: "good", origin: 4},
	})
	hs.setHandler(text("new", "Cache-Control", "max-age=60"))
	runSteps(t, hs, "/a", []step{
		{status: 200, xcache: XCacheHit, body: "good", origin: 4}, // the grace runs out first
		{advance: 11 * time.Second, status: 200, xcache: XCacheMiss, body: "new", origin: 5},
	})

	t.Run("stale-if-error", func(t *testing.T) {
		hs := newHarness(t, Config{}, defaultPolicy, text("good", "Cache-Control", "max-age=1, stale-if-error=60"))
		hs.get("/a")
		hs.setHandler(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
		hs.clock.Advance(5 * time.Second)
		expect(t, hs.get("/a"), 200, XCacheHit, "good")
	})

	t.Run("origin unreachable", func(t *testing.T) {
		hs := newHarness(t, Config{}, defaultPolicy, text("good", "Cache-Control", "max-age=1", "ETag", `"1"`))
		hs.get("/a")
		hs.origin.Close()
		hs.clock.Advance(5 * time.Second)
		expect(t, hs.get("/a"), 200, XCacheHit, "good")
	})
	t.Run("must-revalidate: no stale", func(t *testing.T) {
		hs := newHarness(t, Config{}, defaultPolicy, text("good", "Cache-Control", "max-age=1, must-revalidate", "ETag", `"1"`))
		hs.get("/a")
		hs.origin.Close()
		hs.clock.Advance(5 * time.Second)
		if w := hs.get("/a"); w.Code != 502 {
			t.Errorf("status %d, want the edge's 502", w.Code)
		}
	})
	t.Run("must-revalidate: the 5xx is relayed", func(t *testing.T) {
		hs := newHarness(t, Config{}, defaultPolicy, text("good", "Cache-Control", "max-age=1, must-revalidate"))
		hs.get("/a")
		hs.setHandler(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) })
		hs.clock.Advance(5 * time.Second)
		expect(t, hs.get("/a"), 503, XCacheError, "")
	})
	t.Run("a stored error is not an object", func(t *testing.T) {
		p := defaultPolicy
		p.ErrorTTL = 10 * time.Second
		hs := newHarness(t, Config{}, p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=1")
			w.WriteHeader(http.StatusBadGateway)
			io.WriteString(w, r.Header.Get("Req"))
		})
		expect(t, hs.get("/a", "Req", "1"), 502, XCacheError, "1")
		// Kept for the error TTL, over its max-age: the first body again.
		hs.clock.Advance(5 * time.Second)
		expect(t, hs.get("/a", "Req", "2"), 502, XCacheError, "1")
		hs.clock.Advance(6 * time.Second)
		expect(t, hs.get("/a", "Req", "3"), 502, XCacheError, "3")
	})
	t.Run("4xx is relayed", func(t *testing.T) {
		hs := newHarness(t, Config{}, defaultPolicy, text("good", "Cache-Control", "max-age=1"))
		hs.get("/a")
		hs.setHandler(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) })
		hs.clock.Advance(5 * time.Second)
		expect(t, hs.get("/a"), 404, XCacheError, "")
	})
}

func TestInvalidation(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("Vary", "Accept-Language")
		w.Write([]byte(r.URL.Path))
	})
	for _, p := range []string{"/a/1", "/a/2", "/b/1"} {
		hs.get(p)
		hs.get(p, "Accept-Language", "fr")
	}
	if n := hs.c.InvalidatePrefix("/a/"); n != 6 {
		t.Errorf("invalidated %d entries, want 6 (2 marks, 4 variants)", n)
	}
	expect(t, hs.get("/a/1"), 200, XCacheMiss, "/a/1")
	expect(t, hs.get("/b/1"), 200, XCacheHit, "/b/1")
	expect(t, hs.get("/b/1", "Accept-Language", "fr"), 200, XCacheHit, "/b/1")
	hs.c.Invalidate(func(k string) bool { return k == "/b/1" })
	expect(t, hs.get("/b/1"), 200, XCacheMiss, "/b/1")
}

func TestUnsafeMethodInvalidates(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Write([]byte(r.Method))
	})
	expect(t, hs.get("/a"), 200, XCacheMiss, "GET")
	expect(t, hs.get("/a"), 200, XCacheHit, "GET")
	p := hs.policy
	hs.policy.Cacheable = false
	expect(t, hs.do("POST", "/a"), 200, XCacheMiss, "POST")
	hs.policy = p
	expect(t, hs.get("/a"), 200, XCacheMiss, "GET")
}

func TestPassThrough(t *testing.T) {
	hs := newHarness(t, Config{}, Policy{}, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Header().Set("ETag", `"1"`)
		if r.Header.Get("If-None-Match") == `"1"` {
			w.WriteHeader(304)
			return
		}
		w.Write([]byte("x"))
	})
	runSteps(t, hs, "/a", []step{
		{status: 200, xcache: XCacheMiss, body: "x", origin: 1},
		{status: 200, xcache: XCacheMiss, body: "x", origin: 2},
		// the viewer's conditionals reach the origin
		{header: []string{"If-None-Match", `"1"`}, status: 304, xcache: XCacheMiss, body: "", origin: 3},
	})
}

func TestRequestDirectives(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, text("x", "Cache-Control", "max-age=60"))
	// CloudFront ignores a viewer's Cache-Control (Expiration.html); see
	// TestViewerCacheControlIgnored.
	runSteps(t, hs, "/a", []step{
		{header: []string{"Cache-Control", "only-if-cached"}, status: 200, xcache: XCacheMiss, origin: 1, body: "x"},
		{header: []string{"Cache-Control", "no-store"}, status: 200, xcache: XCacheHit, origin: 1, body: "x"},
		// a viewer's no-cache does not bypass the cache (as CloudFront)
		{header: []string{"Cache-Control", "no-cache"}, status: 200, xcache: XCacheHit, origin: 1, body: "x"},
		{header: []string{"Cache-Control", "only-if-cached"}, status: 200, xcache: XCacheHit, origin: 1, body: "x"},
	})
}

func TestStoredHeaders(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, text("x", "Cache-Control", `max-age=60, no-cache="Set-Cookie"`, "Set-Cookie", "s=1", "Connection", "X-Hop", "X-Hop", "1", "X-Kept", "k"))
	// The viewer whose request reached the origin gets its Set-Cookie: the
	// qualified no-cache only keeps it from being reused (RFC 9111
	// 5.2.2.4; CloudFront's Cookies.html recommends it for exactly this).
	if w := hs.get("/a"); w.Header().Get("Set-Cookie") != "s=1" || w.Header().Get("X-Hop") != "" {
		t.Errorf("miss: Set-Cookie %q, X-Hop %q; want s=1 and none", w.Header().Get("Set-Cookie"), w.Header().Get("X-Hop"))
	}
	w := hs.get("/a")
	expect(t, w, 200, XCacheHit, "x")
	for _, k := range []string{"Set-Cookie", "X-Hop"} {
		if v := w.Header().Get(k); v != "" {
			t.Errorf("%s: %q served from cache", k, v)
		}
	}
	if w.Header().Get("X-Kept") != "k" || w.Header().Get("Date") == "" {
		t.Errorf("stored header lost fields: %v", w.Header())
	}
}

func TestAuthorizationNotShared(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Write([]byte(r.Header.Get("Authorization")))
	})
	expect(t, hs.get("/a", "Authorization", "alice"), 200, XCacheMiss, "alice")
	expect(t, hs.get("/a", "Authorization", "bob"), 200, XCacheMiss, "bob")
}

func TestErrorCaching(t *testing.T) {
	p := defaultPolicy
	p.ErrorTTL = 10 * time.Second
	hs := newHarness(t, Config{}, p, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(404)
		w.Write([]byte("not here"))
	})
	runSteps(t, hs, "/a", []step{
		{status: 404, xcache: XCacheError, body: "not here", origin: 1},
		{advance: 9 * time.Second, status: 404, xcache: XCacheError, body: "not here", origin: 1},
		{advance: 2 * time.Second, status: 404, xcache: XCacheError, body: "not here", origin: 2},
	})
}

// A fetch in flight when an invalidation comes is served, not stored.
func TestInvalidationDuringFill(t *testing.T) {
	release := make(chan struct{})
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		w.Write([]byte("old-"))
		w.(http.Flusher).Flush()
		<-release
		w.Write([]byte("body"))
	})
	base := hs.edge().URL
	done := make(chan string)
	go func() {
		resp, err := http.Get(base + "/i")
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(b)
	}()
	for hs.requests.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	hs.c.InvalidatePrefix("/i")
	close(release)
	if b := <-done; b != "old-body" {
		t.Errorf("viewer got %q", b)
	}
	hs.waitBackground()
	hs.setHandler(text("new", "Cache-Control", "max-age=600"))
	expect(t, hs.get("/i"), 200, XCacheMiss, "new")
}

// TestInvalidationDuringStore: an invalidation that begins while a fill
// stores its entry, after the fill checked for invalidations, still
// removes the entry. Before, it ran at once and the fill stored the old
// content after its scan: served until it expired (seen under load, a
// viewer that knew the length having its last byte before the store).
func TestInvalidationDuringStore(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, text("old", "Cache-Control", "max-age=600"))
	invalidated := make(chan int, 1)
	hs.c.testHookStore = func() {
		hs.c.testHookStore = nil
		go func() { invalidated <- hs.c.InvalidatePrefix("/s") }()
		if !heldIn("Mutex.Lock", "cache.(*Cache).invalidate", invalidated) {
			t.Error("the invalidation was not held by the store")
		}
	}
	expect(t, hs.get("/s"), 200, XCacheMiss, "old")
	hs.waitBackground()
	if n := <-invalidated; n != 1 {
		t.Errorf("the invalidation removed %d entries, want the one being stored", n)
	}
	hs.setHandler(text("new", "Cache-Control", "max-age=600"))
	expect(t, hs.get("/s"), 200, XCacheMiss, "new")
}

// A viewer that has its whole answer and asks again gets a Hit: the last
// byte of a body of known length waits for the entry's store, in memory
// and on disk. Before, a viewer's client had the whole body first, and
// its next request joined the fill still storing, a Miss (seen as a
// shield's hit that its edge logged as a plain Miss).
func TestWholeAnswerFindsEntryStored(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		body string
	}{
		{"memory", Config{}, "body"},
		{"disk", Config{MemoryBytes: 4 << 20, MaxObjectBytes: 1 << 10, StreamWindow: 64 << 10, Dir: t.TempDir(), DiskBytes: 8 << 20}, strings.Repeat("d", 4<<10)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, tt.cfg, defaultPolicy, text(tt.body, "Cache-Control", "max-age=600"))
			edge := httptest.NewServer(http.HandlerFunc(hs.serveHTTP))
			defer edge.Close()
			get := func() (string, string) {
				resp, err := http.Get(edge.URL + "/f")
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				return resp.Header.Get("X-Cache"), string(b)
			}
			whole := make(chan struct{})
			hs.c.testHookStore = func() {
				hs.c.testHookStore = nil
				select {
				case <-whole:
					t.Error("the viewer had its whole answer before the entry was stored")
				case <-time.After(100 * time.Millisecond): // held, as it should
				}
			}
			go func() {
				if x, b := get(); x != XCacheMiss || b != tt.body {
					t.Errorf("first asked: %s %q, want a Miss", x, trunc(b))
				}
				close(whole)
			}()
			<-whole
			if x, b := get(); x != XCacheHit || b != tt.body {
				t.Errorf("asked again: %s %q, want a Hit", x, trunc(b))
			}
		})
	}
}

// RFC 9110 13.1.1-2: "*" matches any current representation, with an
// entity-tag or without; a 304 carries the fields a 200 would have had
// that describe caching and validation (RFC 9110 15.4.5).
func TestViewerConditionalsStar(t *testing.T) {
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	exp := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	for _, etag := range []string{"", `"v1"`} {
		hdr := []string{"Cache-Control", "max-age=60", "Last-Modified", lm, "Expires", exp, "Vary", "Accept-Language", "Content-Type", "text/plain"}
		if etag != "" {
			hdr = append(hdr, "ETag", etag)
		}
		hs := newHarness(t, Config{}, defaultPolicy, text("body", hdr...))
		hs.get("/a")
		mismatch := http.StatusPreconditionFailed
		if etag == "" {
			mismatch = http.StatusOK // CloudFront ignores If-Match without an ETag
		}
		tests := []struct {
			name   string
			header []string
			status int
		}{
			{"If-None-Match *", []string{"If-None-Match", "*"}, 304},
			{"If-Match *", []string{"If-Match", "*"}, 200},
			{"If-Match other", []string{"If-Match", `"v0"`}, mismatch},
		}
		for _, tt := range tests {
			t.Run(tt.name+" etag "+etag, func(t *testing.T) {
				w := hs.get("/a", tt.header...)
				expect(t, w, tt.status, XCacheHit, "-")
				if tt.status != 304 {
					return
				}
				if w.Body.Len() != 0 || w.Header().Get("Content-Length") != "" || w.Header().Get("Content-Type") != "" {
					t.Errorf("304 with body %q, Content-Length %q, Content-Type %q", w.Body.String(), w.Header().Get("Content-Length"), w.Header().Get("Content-Type"))
				}
				for _, k := range []string{"Cache-Control", "Expires", "Vary", "Last-Modified", "Date", "Age"} {
					if w.Header().Get(k) == "" {
						t.Errorf("304 lacks %s: %v", k, w.Header())
					}
				}
				if w.Header().Get("ETag") != etag {
					t.Errorf("304 ETag %q, want %q", w.Header().Get("ETag"), etag)
				}
			})
		}
	}
}

// custom-error-pages-expiration.html: with no-store, no-cache or private
// CloudFront does not cache a 404, 410, 414 or 501; for the other errors
// it caches, it ignores them and keeps the error for the error caching
// minimum TTL (and, with max-age, for the greater of the two).
func TestErrorCachingDirectives(t *testing.T) {
	for _, tt := range []struct {
		status int
		cc     string
		cached time.Duration // 0: not cached
	}{
		{404, "no-store", 0},
		{404, "no-cache", 0},
		{404, "private", 0},
		{410, "no-cache, max-age=60", 0},
		{414, "private, max-age=60", 0},
		{501, "no-store", 0},
		{503, "no-store", 10 * time.Second},
		{503, "no-cache", 10 * time.Second},
		{500, "private", 10 * time.Second},
		{403, "no-store", 0}, // 403 needs max-age or s-maxage (HTTPStatusCodes)
		{403, "no-store, max-age=5", 10 * time.Second},
		{400, "no-cache, max-age=60", time.Minute},
		{502, "no-store, max-age=5", 10 * time.Second},
		{404, "max-age=60", time.Minute}, // no directive: as before
		{416, "", 0},                     // never cached, whatever it says
		{416, "max-age=60", 0},
	} {
		t.Run(fmt.Sprintf("%d %s", tt.status, tt.cc), func(t *testing.T) {
			p := defaultPolicy
			p.ErrorTTL = 10 * time.Second
			hs := newHarness(t, Config{}, p, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", tt.cc)
				w.WriteHeader(tt.status)
				w.Write([]byte("error"))
			})
			steps := []step{{status: tt.status, xcache: XCacheError, body: "error", origin: 1}}
			if tt.cached == 0 {
				steps = append(steps, step{status: tt.status, xcache: XCacheError, body: "error", origin: 2})
			} else {
				steps = append(steps,
					step{advance: tt.cached - time.Second, status: tt.status, xcache: XCacheError, body: "error", origin: 1},
					step{advance: 2 * time.Second, status: tt.status, xcache: XCacheError, body: "error", origin: 2})
			}
			runSteps(t, hs, "/e", steps)
		})
	}
}

// TestEmptyBodyHit: a stored response with an empty body (an empty
// object, or a CORS preflight's answer to a cached OPTIONS) is served
// from the cache as it came, empty, by GET and by OPTIONS.
func TestEmptyBodyHit(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodOptions} {
		t.Run(method, func(t *testing.T) {
			p := defaultPolicy
			hs := newHarness(t, Config{}, p, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Access-Control-Allow-Origin", "https://a.example")
			})
			expect(t, hs.do(method, "/empty"), 200, "Miss from openfront", "")
			w := hs.do(method, "/empty")
			expect(t, w, 200, "Hit from openfront", "")
			if g := w.Header().Get("Access-Control-Allow-Origin"); g != "https://a.example" {
				t.Errorf("Access-Control-Allow-Origin %q", g)
			}
		})
	}
}
