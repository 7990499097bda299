package cache

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Regression tests for what the HTTP caching test suite (http-tests/
// cache-tests, run by scripts/cache-tests.sh) found. Each names the suite's
// tests it stands for; docs/cache-tests.md has the counts.

// freshness-max-age-age, freshness-expires-age-*, other-age-update-*: a
// miss passes the origin's Age on, corrected for the time it took.
func TestMissCarriesOriginAge(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, text("x", "Cache-Control", "max-age=3600", "Age", "7200"))
	runSteps(t, hs, "/a", []step{
		{status: 200, xcache: XCacheMiss, body: "x", age: "7200", origin: 1},
		// 7200 > 3600: stale at once, so fetched again
		{status: 200, xcache: XCacheMiss, body: "x", age: "7200", origin: 2},
	})
}

// age-parse-*: an Age that is not one non-negative integer leaves the age
// unknown, and the response stale.
func TestInitialAgeParse(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		age   []string
		want  time.Duration
		stale bool
	}{
		{[]string{"7200"}, 7200 * time.Second, false},
		{[]string{" 60 "}, time.Minute, false},
		{[]string{"abc"}, 0, true},
		{[]string{"-7200"}, 0, true},
		{[]string{"7200.0"}, 0, true},
		{[]string{"7200,0"}, 0, true},
		{[]string{"0, 0"}, 0, true},
		{[]string{"7200", "0"}, 0, true},
		{[]string{"0", "7200"}, 0, true},
		{[]string{"7200;foo=111"}, 0, true},
		{[]string{""}, 0, true},
		{[]string{"99999999999"}, maxDelta, false},
	}
	for _, tt := range tests {
		h := http.Header{"Date": {now.Format(http.TimeFormat)}, "Age": tt.age}
		got := initialAge(h, now, now)
		if tt.stale && got != maxDelta || !tt.stale && got != tt.want {
			t.Errorf("Age %q: initial age %v, want %v (stale %v)", tt.age, got, tt.want, tt.stale)
		}
	}
	// No Age: the apparent age from Date.
	h := http.Header{"Date": {now.Add(-5 * time.Second).Format(http.TimeFormat)}}
	if got := initialAge(h, now, now); got != 5*time.Second {
		t.Errorf("no Age: %v, want 5s", got)
	}
}

// status-299-fresh, status-499-fresh, status-599-fresh,
// status-599-must-understand: any final status is stored with explicit
// freshness, unless must-understand says the cache must know it.
func TestDecideStatuses(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		status int
		cc     string
		store  bool
	}{
		{299, "max-age=60", true},
		{499, "max-age=60", true},
		{599, "max-age=60", true},
		{599, "", false},
		{599, "public", false},
		{599, "max-age=60, must-understand", false},
		{200, "max-age=60, must-understand, no-store", true},
		{200, "max-age=60, no-store", false},
		{304, "max-age=60", false},
		{101, "max-age=60", false},
	}
	for _, tt := range tests {
		h := http.Header{}
		if tt.cc != "" {
			h.Set("Cache-Control", tt.cc)
		}
		d := decide(tt.status, h, parseCacheControl(h), defaultPolicy, nil, now)
		if d.store != tt.store {
			t.Errorf("%d %q: store %v (%s), want %v", tt.status, tt.cc, d.store, d.why, tt.store)
		}
	}
}

// 304-etag-update-response-Content-Encoding, -Content-MD5, -ETag: a 304
// refreshes the stored header but not the fields describing the body.
func TestNotModifiedKeepsBodyFields(t *testing.T) {
	version := "1"
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=2")
		w.Header().Set("Content-Encoding", "enc-"+version)
		w.Header().Set("Content-MD5", "md5-"+version)
		w.Header().Set("X-Other", "other-"+version)
		if r.Header.Get("If-None-Match") == `"a"` {
			w.Header().Set("ETag", `"b"`)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"a"`)
		io.WriteString(w, "body")
	})
	hs.get("/a")
	version = "2"
	check := func(t *testing.T, hs *harness, w *http.Response) {
		for k, want := range map[string]string{"Content-Encoding": "enc-1", "Content-Md5": "md5-1", "Etag": `"a"`, "X-Other": "other-2"} {
			if got := w.Header.Get(k); got != want {
				t.Errorf("%s %q, want %q", k, got, want)
			}
		}
	}
	runSteps(t, hs, "/a", []step{
		{advance: 3 * time.Second, status: 200, xcache: XCacheRefreshHit, body: "body", origin: 2, check: check},
		{status: 200, xcache: XCacheHit, body: "body", origin: 2, check: check},
	})
}

// status-204-stale (flaky before): a response stale at once is shared
// only by the requests that waited for it, never by one that came after
// the origin answered.
func TestStaleAtOnceNotJoined(t *testing.T) {
	release := make(chan struct{})
	hs := newHarness(t, Config{}, defaultPolicy, nil)
	hs.setHandler(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Last-Modified", "Wed, 01 Jan 2025 00:00:00 GMT")
		io.WriteString(w, "first-")
		w.(http.Flusher).Flush()
		if hs.requests.Load() == 1 {
			<-release
		}
		io.WriteString(w, "body")
	})
	done := make(chan string, 1)
	header := make(chan struct{})
	base := hs.edge().URL
	go func() {
		resp, err := http.Get(base + "/a")
		close(header) // the origin has answered; its body is still coming
		if err != nil {
			done <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		done <- string(b)
	}()
	<-header
	w := hs.get("/a")
	expect(t, w, 200, XCacheMiss, "first-body")
	if n := hs.requests.Load(); n != 2 {
		t.Errorf("origin requests %d, want 2: the later request joined a stale stream", n)
	}
	close(release)
	if b := <-done; b != "first-body" {
		t.Errorf("first viewer got %q", b)
	}
}

// invalidate-{POST,PUT,DELETE}-{location,cl}: a successful unsafe method
// invalidates the URIs its Location and Content-Location name, when the
// edge resolves them to keys on the same host.
func TestUnsafeMethodInvalidatesLocations(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("Location", "target")
			w.Header().Set("Content-Location", "/other")
			w.Header().Set("Content-Location", "http://elsewhere.test/far")
			w.WriteHeader(http.StatusCreated)
			return
		}
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, r.URL.Path)
	})
	hs.policy.Related = func(ref string) []string {
		u, err := url.Parse(ref)
		if err != nil || u.Host != "" {
			return nil // another host: not ours to invalidate
		}
		return []string{(&url.URL{Path: "/dir/"}).ResolveReference(u).RequestURI()}
	}
	for _, p := range []string{"/dir/target", "/other", "/far"} {
		hs.get(p)
		expect(t, hs.get(p), 200, XCacheHit, p)
	}
	cacheable := hs.policy.Cacheable
	hs.policy.Cacheable = false
	expect(t, hs.do(http.MethodPost, "/dir/post"), 201, XCacheMiss, "")
	hs.policy.Cacheable = cacheable
	expect(t, hs.get("/dir/target"), 200, XCacheMiss, "/dir/target")
	expect(t, hs.get("/far"), 200, XCacheHit, "/far")

	t.Run("Content-Location", func(t *testing.T) {
		hs.setHandler(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut {
				w.Header().Set("Content-Location", "/other")
				w.WriteHeader(http.StatusNoContent)
				return
			}
			w.Header().Set("Cache-Control", "max-age=600")
			io.WriteString(w, r.URL.Path)
		})
		hs.get("/other")
		expect(t, hs.get("/other"), 200, XCacheHit, "/other")
		hs.policy.Cacheable = false
		hs.do(http.MethodPut, "/dir/put")
		hs.policy.Cacheable = cacheable
		expect(t, hs.get("/other"), 200, XCacheMiss, "/other")
	})
}

// surrogate-*: Surrogate-Control addressed to this cache (untargeted or
// ";openfront") replaces Cache-Control's freshness and storage directives,
// and is not passed on; the cache announces itself in Surrogate-Capability.
func TestSurrogateControl(t *testing.T) {
	tests := []struct {
		name  string
		hdr   []string
		fresh bool // still a hit after 10s
	}{
		{"max-age", []string{"Surrogate-Control", "max-age=60"}, true},
		{"targeted at openfront", []string{"Surrogate-Control", "max-age=60;openfront"}, true},
		{"targeted elsewhere", []string{"Surrogate-Control", "max-age=60;other", "Cache-Control", "max-age=5"}, false},
		{"beats a short max-age", []string{"Cache-Control", "max-age=1", "Surrogate-Control", "max-age=60"}, true},
		{"beats a long max-age", []string{"Cache-Control", "max-age=600", "Surrogate-Control", "max-age=5"}, false},
		{"beats no-store", []string{"Cache-Control", "no-store", "Surrogate-Control", "max-age=60;openfront"}, true},
		{"beats a past Expires", []string{"Expires", "Wed, 01 Jan 2020 00:00:00 GMT", "Surrogate-Control", "max-age=60"}, true},
		{"case-insensitive, with extensions", []string{"Surrogate-Control", `content="ESI/1.0", MaX-AgE=60`}, true},
		{"malformed max-age ignored", []string{"Cache-Control", "max-age=5", "Surrogate-Control", "max-age= 60"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, Config{}, defaultPolicy, text("x", tt.hdr...))
			w := hs.get("/a")
			expect(t, w, 200, XCacheMiss, "x")
			if hs.lastSeen().Header.Get("Surrogate-Capability") != `openfront="Surrogate/1.0"` {
				t.Errorf("origin saw Surrogate-Capability %q", hs.lastSeen().Header.Get("Surrogate-Capability"))
			}
			ours := !strings.Contains(tt.name, "elsewhere") && !strings.Contains(tt.name, "malformed")
			if got := w.Header().Get("Surrogate-Control"); ours && got != "" {
				t.Errorf("Surrogate-Control %q passed on", got)
			}
			hs.clock.Advance(10 * time.Second)
			want := XCacheMiss
			if tt.fresh {
				want = XCacheHit
				if got := hs.get("/a").Header().Get("Surrogate-Control"); ours && got != "" {
					t.Errorf("Surrogate-Control %q served from cache", got)
				}
			}
			expect(t, hs.get("/a"), 200, want, "x")
		})
	}
	t.Run("no-store beats Cache-Control", func(t *testing.T) {
		hs := newHarness(t, Config{}, defaultPolicy, text("x", "Cache-Control", "max-age=600", "Surrogate-Control", "no-store"))
		hs.get("/a")
		expect(t, hs.get("/a"), 200, XCacheMiss, "x")
	})
	t.Run("kept across a 304", func(t *testing.T) {
		hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=1")
			w.Header().Set("ETag", `"e"`)
			if r.Header.Get("If-None-Match") == `"e"` {
				w.WriteHeader(http.StatusNotModified)
				return
			}
			w.Header().Set("Surrogate-Control", "max-age=30")
			io.WriteString(w, "x")
		})
		hs.get("/a")
		hs.clock.Advance(31 * time.Second)
		expect(t, hs.get("/a"), 200, XCacheRefreshHit, "x")
		hs.clock.Advance(10 * time.Second) // past max-age=1, inside Surrogate-Control's 30
		expect(t, hs.get("/a"), 200, XCacheHit, "x")
	})
	t.Run("viewer's capabilities kept", func(t *testing.T) {
		hs := newHarness(t, Config{}, defaultPolicy, text("x"))
		hs.get("/a", "Surrogate-Capability", `inner="Surrogate/1.0"`)
		if got := hs.lastSeen().Header.Values("Surrogate-Capability"); len(got) != 2 || got[0] != `inner="Surrogate/1.0"` {
			t.Errorf("origin saw Surrogate-Capability %q", got)
		}
	})
}

// vary-normalise-lang-order, -case: Accept-Language variants ignore the
// order and case of the language tags.
func TestVaryAcceptLanguageNormalized(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, text("x", "Cache-Control", "max-age=60", "Vary", "Accept-Language"))
	runSteps(t, hs, "/a", []step{
		{header: []string{"Accept-Language", "en, de"}, status: 200, xcache: XCacheMiss, body: "x", origin: 1},
		{header: []string{"Accept-Language", "de, en"}, status: 200, xcache: XCacheHit, body: "x", origin: 1},
		{header: []string{"Accept-Language", "eN,  De"}, status: 200, xcache: XCacheHit, body: "x", origin: 1},
		{header: []string{"Accept-Language", "en;q=0.5, de"}, status: 200, xcache: XCacheMiss, body: "x", origin: 2},
	})
}

// vary-normalise-lang-select: a request without a variant of its own is
// answered by the variant in the language it prefers most.
func TestVaryLanguageSelection(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		lang := "en"
		if strings.Contains(r.Header.Get("Accept-Language"), "de") {
			lang = "de"
		}
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		w.Header().Set("Content-Language", lang)
		io.WriteString(w, lang)
	})
	runSteps(t, hs, "/a", []step{
		{header: []string{"Accept-Language", "en;q=0.2, de"}, status: 200, xcache: XCacheMiss, body: "de", origin: 1},
		{header: []string{"Accept-Language", "fr;q=0.5, de;q=1.0"}, status: 200, xcache: XCacheHit, body: "de", origin: 1},
		{header: []string{"Accept-Language", "DE"}, status: 200, xcache: XCacheHit, body: "de", origin: 1},
		// no single preference, or another one: the origin decides
		{header: []string{"Accept-Language", "fr, de"}, status: 200, xcache: XCacheMiss, body: "de", origin: 2},
		{header: []string{"Accept-Language", "fr"}, status: 200, xcache: XCacheMiss, body: "en", origin: 3},
		{status: 200, xcache: XCacheMiss, body: "en", origin: 4},
	})
}

// partial-store-partial-reuse-partial-byterange: a 206 is stored as a piece
// of its object and answers the ranges inside the bytes that arrived.
func TestStoredPiece(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("Content-Range", "bytes 4-9/10")
		w.WriteHeader(http.StatusPartialContent)
		io.WriteString(w, "456789")
	})
	tests := []struct {
		rng, xcache, contentRange, body string
		origin                          int64
	}{
		// the miss gets the origin's 206 as it came
		{"bytes=-6", XCacheMiss, "bytes 4-9/10", "456789", 1},
		{"bytes=6-8", XCacheHit, "bytes 6-8/10", "678", 1},
		{"bytes=-1", XCacheHit, "bytes 9-9/10", "9", 1},
		{"bytes=4-", XCacheHit, "bytes 4-9/10", "456789", 1},
		// outside the piece: a miss
		{"bytes=0-1", XCacheMiss, "bytes 4-9/10", "456789", 2},
	}
	for _, tt := range tests {
		w := hs.get("/p", "Range", tt.rng)
		expect(t, w, 206, tt.xcache, tt.body)
		if got := w.Header().Get("Content-Range"); got != tt.contentRange {
			t.Errorf("%s: Content-Range %q, want %q", tt.rng, got, tt.contentRange)
		}
		if n := hs.requests.Load(); n != tt.origin {
			t.Errorf("%s: origin requests %d, want %d", tt.rng, n, tt.origin)
		}
	}
	// A HEAD or a conditional request is not answered from a piece.
	expect(t, hs.do(http.MethodHead, "/p", "Range", "bytes=6-8"), 206, XCacheMiss, "")

	t.Run("incomplete: only the bytes that came", func(t *testing.T) {
		hs := newHarness(t, Config{}, defaultPolicy, text("01234", "Cache-Control", "max-age=3600", "Content-Range", "bytes 4-9/10"))
		hs.setHandler(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=3600")
			w.Header().Set("Content-Range", "bytes 4-9/10")
			w.WriteHeader(http.StatusPartialContent)
			io.WriteString(w, "01234") // 5 of the 6 bytes announced
		})
		hs.get("/p", "Range", "bytes=-5")
		w := hs.get("/p", "Range", "bytes=6-8")
		expect(t, w, 206, XCacheHit, "234")
		expect(t, hs.get("/p", "Range", "bytes=-1"), 206, XCacheMiss, "01234") // byte 9 never came
	})
}

// partial-store-partial-complete: a GET for the whole object asks only for
// the rest of a stored piece, and combines them when the strong ETags match.
func TestPieceCompleted(t *testing.T) {
	const body = "0123456789"
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=3600")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "text/plain")
		rng := r.Header.Get("Range")
		switch {
		case rng == "bytes=5-" && r.Header.Get("If-Range") == `"v1"`:
			w.Header().Set("Content-Range", "bytes 5-9/10")
			w.WriteHeader(http.StatusPartialContent)
			io.WriteString(w, body[5:])
		case rng == "":
			// the cache asks for whole objects: answer with a piece
			w.Header().Set("Content-Range", "bytes 0-4/10")
			w.WriteHeader(http.StatusPartialContent)
			io.WriteString(w, body[:5])
		default:
			t.Errorf("origin saw Range %q", rng)
		}
	})
	expect(t, hs.get("/c", "Range", "bytes=0-4"), 206, XCacheMiss, body[:5])
	expect(t, hs.get("/c"), 200, XCacheMiss, body)
	if got := hs.lastSeen().Header.Get("Range"); got != "bytes=5-" {
		t.Errorf("origin saw Range %q, want bytes=5-", got)
	}
	expect(t, hs.get("/c"), 200, XCacheHit, body)
	expect(t, hs.get("/c", "Range", "bytes=8-"), 206, XCacheHit, body[8:])
	if n := hs.requests.Load(); n != 2 {
		t.Errorf("origin requests %d, want 2", n)
	}

	t.Run("no validator: asked again for the whole", func(t *testing.T) {
		first := true
		hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=3600")
			if r.Header.Get("Range") == "bytes=5-" || first {
				first = false
				w.Header().Set("Content-Range", "bytes 0-4/10")
				w.WriteHeader(http.StatusPartialContent)
				io.WriteString(w, body[:5])
				return
			}
			io.WriteString(w, body)
		})
		hs.get("/c", "Range", "bytes=0-4")
		expect(t, hs.get("/c"), 200, XCacheMiss, body)
		if n := hs.requests.Load(); n != 3 {
			t.Errorf("origin requests %d, want 3 (piece, rest, whole)", n)
		}
		expect(t, hs.get("/c"), 200, XCacheHit, body)
	})
}

// method-POST: the answer to a POST that names its own URI in
// Content-Location, with explicit freshness, serves later GETs.
func TestPOSTAnswerStored(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.Header().Set("Content-Location", r.URL.Path)
			w.Header().Set("Cache-Control", "max-age=60")
		}
		io.WriteString(w, r.Method+" "+r.URL.Path)
	})
	hs.policy.Related = func(ref string) []string { return []string{ref} }
	post := func(path string) {
		t.Helper()
		p := hs.policy
		hs.policy.Cacheable, hs.policy.StoresPOST = false, true
		expect(t, hs.do(http.MethodPost, path), 200, XCacheMiss, "POST "+path)
		hs.policy = p
	}
	post("/a")
	expect(t, hs.get("/a"), 200, XCacheHit, "POST /a")
	// Content-Location naming another URI: nothing stored for /b.
	hs.policy.Related = func(ref string) []string { return []string{ref + "-elsewhere"} }
	post("/b")
	expect(t, hs.get("/b"), 200, XCacheMiss, "GET /b")
}

// TestPOSTAnswerAcrossInvalidation: a POST's answer that was on its way
// when an invalidation ran is relayed, not stored, as a GET's fill: it
// may be what the invalidation was for.
func TestPOSTAnswerAcrossInvalidation(t *testing.T) {
	started, release := make(chan struct{}), make(chan struct{})
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			io.WriteString(w, "GET new")
			return
		}
		w.Header().Set("Content-Location", r.URL.Path)
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "POST ")
		w.(http.Flusher).Flush()
		close(started)
		<-release
		io.WriteString(w, "old")
	})
	hs.policy.Related = func(ref string) []string { return []string{ref} }
	p := hs.policy
	p.Cacheable, p.StoresPOST = false, true
	done := make(chan *httptest.ResponseRecorder)
	go func() {
		w, r := httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/p", nil)
		hs.c.Serve(w, r, "/p", p, hs.fetch(r))
		done <- w
	}()
	<-started
	hs.c.InvalidatePrefix("/p")
	close(release)
	expect(t, <-done, 200, XCacheMiss, "POST old")
	expect(t, hs.get("/p"), 200, XCacheMiss, "GET new")
}

// conditional-lm: If-Modified-Since against a stored response without
// Last-Modified uses its Date (RFC 9111 4.3.2).
func TestIfModifiedSinceUsesDate(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, text("x", "Cache-Control", "max-age=600"))
	hs.get("/a")
	now := hs.clock.Now()
	expect(t, hs.get("/a", "If-Modified-Since", now.Add(time.Second).UTC().Format(http.TimeFormat)), 304, XCacheHit, "")
	expect(t, hs.get("/a", "If-Modified-Since", now.Add(-time.Hour).UTC().Format(http.TimeFormat)), 200, XCacheHit, "x")
}
