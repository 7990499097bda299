package cache

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// edge serves the harness's cache on a loopback listener, so viewers are
// real concurrent HTTP clients.
func (hs *harness) edge() *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(hs.serveHTTP))
	hs.t.Cleanup(s.Close)
	return s
}

// storm sends n concurrent GETs per path and returns the bodies by path.
func storm(t *testing.T, base string, paths []string, n int, header ...string) map[string][]string {
	t.Helper()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n * len(paths), MaxConnsPerHost: 0}, Timeout: 20 * time.Second}
	defer client.CloseIdleConnections()
	var mu sync.Mutex
	out := map[string][]string{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, p := range paths {
		for i := range n {
			wg.Go(func() {
				<-start
				req, _ := http.NewRequest("GET", base+p, nil)
				for j := 0; j+1 < len(header); j += 2 {
					req.Header.Set(header[j], header[j+1])
				}
				if len(header) == 0 && strings.Contains(p, "?lang=") {
					req.Header.Set("Accept-Language", p[strings.Index(p, "=")+1:])
				}
				_ = i
				resp, err := client.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				out[p] = append(out[p], fmt.Sprintf("%d %s", resp.StatusCode, b))
				mu.Unlock()
			})
		}
	}
	close(start)
	wg.Wait()
	return out
}

func TestCoalescing(t *testing.T) {
	slow := func(body string, header ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(100 * time.Millisecond) // let every viewer arrive
			text(body+r.URL.Path, header...)(w, r)
		}
	}
	tests := []struct {
		name    string
		handler http.HandlerFunc
		paths   []string
		n       int
		want    int64 // origin requests
	}{
		{"200 requests for one key: one origin request", slow("x", "Cache-Control", "max-age=60"), []string{"/one"}, 200, 1},
		{"different keys are separate", slow("x", "Cache-Control", "max-age=60"), []string{"/k1", "/k2", "/k3", "/k4", "/k5"}, 20, 5},
		{"zero TTL with validator still coalesces the first fetch", slow("x", "Cache-Control", "max-age=0", "ETag", `"1"`), []string{"/z"}, 50, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, Config{}, defaultPolicy, tt.handler)
			got := storm(t, hs.edge().URL, tt.paths, tt.n)
			if n := hs.requests.Load(); n != tt.want {
				t.Errorf("origin requests %d, want %d", n, tt.want)
			}
			for p, bodies := range got {
				for _, b := range bodies {
					if b != "200 x"+p {
						t.Fatalf("%s answered %q", p, b)
					}
				}
				if len(bodies) != tt.n {
					t.Errorf("%s: %d answers, want %d", p, len(bodies), tt.n)
				}
			}
			if s := hs.c.Stats(); s.Coalesced == 0 {
				t.Errorf("no coalesced wait counted: %+v", s)
			}
		})
	}
}

// Coalescing never crosses Vary variants: each language gets its own
// origin response, even when the first requests cannot know the Vary yet.
func TestCoalescingVary(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Vary", "Accept-Language")
		io.WriteString(w, "x"+r.URL.Path+"?lang="+r.Header.Get("Accept-Language"))
	})
	base := hs.edge().URL
	var wg sync.WaitGroup
	var bad atomic.Int64
	for _, lang := range []string{"en", "fr", "de"} {
		wg.Go(func() {
			got := storm(t, base, []string{"/v"}, 30, "Accept-Language", lang)
			for _, b := range got["/v"] {
				if b != "200 x/v?lang="+lang {
					bad.Add(1)
					t.Errorf("%s viewer got %q", lang, b)
				}
			}
		})
	}
	wg.Wait()
	if n := hs.requests.Load(); n < 3 || n > 6 {
		t.Errorf("origin requests %d, want one per language (3), a few more at most while the Vary is learnt", n)
	}
}

// An uncacheable answer: waiters ask the origin themselves, at once, not
// one after the other.
func TestCoalescingUncacheable(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		w.Header().Set("Cache-Control", "private")
		io.WriteString(w, "p")
	})
	start := time.Now()
	got := storm(t, hs.edge().URL, []string{"/p"}, 20)
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("20 uncacheable requests took %v: waiters were serialized", el)
	}
	for _, b := range got["/p"] {
		if b != "200 p" {
			t.Fatalf("answered %q", b)
		}
	}
	if n := hs.requests.Load(); n != 20 {
		t.Errorf("origin requests %d, want 20", n)
	}
	// The pass mark sends later requests straight to the origin.
	expect(t, hs.get("/p"), 200, XCacheMiss, "p")
}

// A waiter's wait is bounded: past it, it asks the origin itself.
func TestCoalescingBoundedWait(t *testing.T) {
	release := make(chan struct{})
	var first atomic.Bool
	p := defaultPolicy
	p.Wait = 50 * time.Millisecond
	hs := newHarness(t, Config{}, p, func(w http.ResponseWriter, r *http.Request) {
		if first.CompareAndSwap(false, true) {
			<-release
		}
		text("x", "Cache-Control", "max-age=60")(w, r)
	})
	base := hs.edge().URL
	done := make(chan struct{})
	go func() {
		defer close(done)
		resp, err := http.Get(base + "/slow")
		if err == nil {
			resp.Body.Close()
		}
	}()
	for hs.requests.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	start := time.Now()
	resp, err := http.Get(base + "/slow")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "x" || time.Since(start) > 2*time.Second {
		t.Errorf("waiter got %q after %v", b, time.Since(start))
	}
	close(release)
	<-done
	if n := hs.requests.Load(); n != 2 {
		t.Errorf("origin requests %d, want 2", n)
	}
}

// Waiters stream the leader's response as it arrives, not after it.
func TestCoalescedStreaming(t *testing.T) {
	release := make(chan struct{})
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Length", "10")
		io.WriteString(w, "first")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "-last")
	})
	base := hs.edge().URL
	var wg sync.WaitGroup
	firsts := make(chan string, 3)
	for range 3 {
		wg.Go(func() {
			resp, err := http.Get(base + "/s")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			b := make([]byte, 5)
			io.ReadFull(resp.Body, b)
			firsts <- string(b)
			rest, _ := io.ReadAll(resp.Body)
			if string(b)+string(rest) != "first-last" {
				t.Errorf("body %q", string(b)+string(rest))
			}
		})
	}
	for range 3 {
		select {
		case f := <-firsts:
			if f != "first" {
				t.Errorf("first bytes %q", f)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("viewers did not get the first bytes before the body ended")
		}
	}
	close(release)
	wg.Wait()
	if n := hs.requests.Load(); n != 1 {
		t.Errorf("origin requests %d, want 1", n)
	}
	hs.waitBackground()
	expect(t, hs.get("/s"), 200, XCacheHit, "first-last")
}

// A viewer that goes away does not stop the object being stored.
func TestLeaderGoneStillStores(t *testing.T) {
	release := make(chan struct{})
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, "head")
		w.(http.Flusher).Flush()
		<-release
		io.WriteString(w, "-tail")
	})
	base := hs.edge().URL
	resp, err := http.Get(base + "/g")
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	io.ReadFull(resp.Body, b)
	resp.Body.Close()
	close(release)
	hs.waitBackground()
	expect(t, hs.get("/g"), 200, XCacheHit, "head-tail")
}

// stale-while-revalidate under load: every viewer gets the stale copy at
// once, and the origin is asked once.
func TestStaleWhileRevalidateConcurrent(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, text("v1", "Cache-Control", "max-age=1, stale-while-revalidate=600"))
	base := hs.edge().URL
	storm(t, base, []string{"/s"}, 1)
	hs.setHandler(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Second)
		text("v2", "Cache-Control", "max-age=600")(w, r)
	})
	hs.clock.Advance(10 * time.Second)
	start := time.Now()
	got := storm(t, base, []string{"/s"}, 50)
	if el := time.Since(start); el > 800*time.Millisecond {
		t.Errorf("stale answers took %v: viewers waited for the refresh", el)
	}
	for _, b := range got["/s"] {
		if b != "200 v1" {
			t.Fatalf("answered %q, want the stale copy", b)
		}
	}
	hs.waitBackground()
	if n := hs.requests.Load(); n != 2 {
		t.Errorf("origin requests %d, want 2 (the fill, one refresh)", n)
	}
	expect(t, hs.get("/s"), 200, XCacheHit, "v2")
}

// OPTIONS is cached only when the behavior caches it, apart from GET.
func TestOptionsCached(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, r.Method)
	})
	expect(t, hs.do("OPTIONS", "/o"), 200, XCacheMiss, "OPTIONS")
	expect(t, hs.do("OPTIONS", "/o"), 200, XCacheHit, "OPTIONS")
	expect(t, hs.get("/o"), 200, XCacheMiss, "GET")
	expect(t, hs.get("/o"), 200, XCacheHit, "GET")
}

// A response that is not stored only because of its own request (its
// Authorization) says nothing about the key: it leaves no pass
// mark, and the requests that waited for it coalesce again rather than all
// going to the origin.
func TestRequestOnlyRefusalKeepsCoalescing(t *testing.T) {
	for _, trigger := range [][]string{{"Authorization", "Bearer x"}} {
		for _, during := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s during=%v", trigger[0], during), func(t *testing.T) {
				hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
					time.Sleep(100 * time.Millisecond) // let every viewer arrive
					text("x", "Cache-Control", "max-age=60")(w, r)
				})
				base := hs.edge().URL
				first := make(chan struct{})
				go func() {
					defer close(first)
					req, _ := http.NewRequest("GET", base+"/a", nil)
					req.Header.Set(trigger[0], trigger[1])
					if resp, err := http.DefaultClient.Do(req); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
					}
				}()
				if during {
					for hs.requests.Load() == 0 {
						time.Sleep(time.Millisecond) // the viewer with the trigger leads
					}
				} else {
					<-first
				}
				storm(t, base, []string{"/a"}, 50)
				<-first
				if n := hs.requests.Load(); n != 2 {
					t.Errorf("%d origin requests, want 2: the first, then one for all the others", n)
				}
			})
		}
	}
}

// An origin that answers a whole-object GET with a piece (206): requests
// that waited on that fetch get the piece only when it is their variant.
// Others ask for their own: a viewer that accepts no coding never gets
// the origin's gzip piece, nor a French viewer the German one.
func TestCoalescingVaryPiece(t *testing.T) {
	compress := defaultPolicy
	compress.Compress = true
	tests := []struct {
		name    string
		policy  Policy
		vary    string   // the origin's Vary (on a gzip answer, compress adds it)
		header  string   // the request field the variants differ in
		values  []string // its values, one group of viewers each
		variant func(r *http.Request) (label string, coded bool)
	}{
		{"Accept-Language", defaultPolicy, "Accept-Language", "Accept-Language", []string{"en", "fr", "de"},
			func(r *http.Request) (string, bool) { return r.Header.Get("Accept-Language"), false }},
		{"origin's gzip piece", compress, "Accept-Encoding", "Accept-Encoding", []string{"gzip", "identity"},
			func(r *http.Request) (string, bool) {
				coded := strings.Contains(r.Header.Get("Accept-Encoding"), "gzip")
				return map[bool]string{true: "gzip", false: "identity"}[coded], coded
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, Config{}, tt.policy, func(w http.ResponseWriter, r *http.Request) {
				time.Sleep(100 * time.Millisecond) // let every viewer arrive
				label, coded := tt.variant(r)
				h := w.Header()
				h.Set("Cache-Control", "max-age=60")
				if coded {
					h.Set("Content-Encoding", "gzip")
				} else {
					h.Set("Vary", tt.vary)
				}
				piece := (label + ":" + strings.Repeat(".", 100))[:100]
				h.Set("Content-Range", "bytes 0-99/1000")
				h.Set("Content-Length", "100")
				w.WriteHeader(http.StatusPartialContent)
				io.WriteString(w, piece)
			})
			base := hs.edge().URL
			var wg sync.WaitGroup
			for _, v := range tt.values {
				wg.Go(func() {
					got := storm(t, base, []string{"/p"}, 10, tt.header, v, "Range", "bytes=0-9")
					want := "206 " + (v + ":" + strings.Repeat(".", 10))[:10]
					for _, b := range got["/p"] {
						if b != want {
							t.Errorf("%s viewer got %q, want %q", v, b, want)
						}
					}
				})
			}
			wg.Wait()
		})
	}
}
