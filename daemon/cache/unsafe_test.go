package cache

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestUnsafeMethodDuringFill: a GET whose fetch got the old content before
// a POST changed it, and that stores it after the POST's answer, leaves
// nothing the next GET is served: RFC 9111 4.4's invalidation also covers
// the fills in flight. Before, the fill stored the old content after the
// POST's deletion, and it was a hit until it expired.
func TestUnsafeMethodDuringFill(t *testing.T) {
	big := object(256 << 10) // above MaxObjectBytes: the disk tier
	tests := []struct {
		name string
		disk bool
		// post is the unsafe request's path; location its answer's Location.
		post, location string
		// vary: the origin varies on Accept-Language, and answers in the
		// request's first language (leaving a language alias).
		vary bool
		// piece: the origin answers 206, a piece of a larger object.
		piece bool
		// stale: the GET is a stale hit whose background refresh
		// (stale-while-revalidate) is the fill.
		stale bool
		// before are GETs' headers sent first, get the racing GET's,
		// after those of the GETs that follow the POST.
		before [][]string
		get    []string
		after  [][]string
	}{
		{name: "memory tier", post: "/r"},
		{name: "disk tier", disk: true, post: "/r"},
		{name: "named by Location", post: "/things", location: "/r"},
		{name: "disk tier, named by Location", disk: true, post: "/things", location: "/r"},
		{
			name: "a Vary variant and its language alias", post: "/r", vary: true,
			before: [][]string{{"Accept-Language", "de"}},
			get:    []string{"Accept-Language", "fr"},
			after:  [][]string{{"Accept-Language", "fr;q=0.9, en;q=0.1"}, {"Accept-Language", "fr"}, {"Accept-Language", "de"}},
		},
		{name: "disk tier, a Vary variant", disk: true, post: "/r", vary: true, get: []string{"Accept-Language", "fr"}},
		{name: "a piece", piece: true, post: "/r", get: []string{"Range", "bytes=0-4"}},
		{name: "background refresh", stale: true, post: "/r"},
		{name: "background refresh, named by Location", stale: true, post: "/things", location: "/r"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var version atomic.Pointer[string]
			body := func(v string) string {
				if tt.disk {
					return v + big[len(v):]
				}
				return v + " /r"
			}
			cc := "max-age=600"
			if tt.stale {
				cc = "max-age=1, stale-while-revalidate=600"
			}
			hs, _ := diskHarness(t, 8<<20, func(w http.ResponseWriter, r *http.Request) {
				if r.Method == http.MethodPost {
					v := "new"
					version.Store(&v)
					if tt.location != "" {
						w.Header().Set("Location", tt.location)
					}
					w.WriteHeader(http.StatusCreated)
					return
				}
				b := body(*version.Load()) // what the origin has when asked
				w.Header().Set("Cache-Control", cc)
				if tt.vary {
					w.Header().Set("Vary", "Accept-Language")
					lang, _, _ := strings.Cut(r.Header.Get("Accept-Language"), ",")
					lang, _, _ = strings.Cut(lang, ";")
					w.Header().Set("Content-Language", lang)
				}
				if tt.piece {
					w.Header().Set("Content-Range", "bytes 0-"+strconv.Itoa(len(b)-1)+"/"+strconv.Itoa(len(b)+10))
					w.WriteHeader(http.StatusPartialContent)
				}
				if tt.disk {
					serveBig(b)(w, r)
					return
				}
				io.WriteString(w, b)
			})
			old := "old"
			version.Store(&old)
			hs.policy.Related = func(ref string) []string { return []string{ref} }
			status, want := http.StatusOK, body("new")
			if tt.piece {
				status, want = http.StatusPartialContent, want[:5]
			}
			for _, h := range tt.before {
				hs.get("/r", h...)
			}
			if tt.stale {
				hs.get("/r")
				hs.clock.Advance(2 * time.Second)
			}
			hs.waitBackground()

			// The GET's fetch has the old content, and waits for the POST.
			r := httptest.NewRequest(http.MethodGet, "/r", nil)
			for i := 0; i+1 < len(tt.get); i += 2 {
				r.Header.Set(tt.get[i], tt.get[i+1])
			}
			fetch := hs.fetch(r)
			started, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			blocked := func(ctx context.Context, fr FetchRequest) (*http.Response, error) {
				resp, err := fetch(ctx, fr)
				once.Do(func() {
					close(started)
					<-release
				})
				return resp, err
			}
			p := hs.policy
			done := make(chan *httptest.ResponseRecorder)
			go func() {
				w := httptest.NewRecorder()
				hs.c.Serve(w, r, "/r", p, blocked)
				done <- w
			}()
			<-started
			post := httptest.NewRequest(http.MethodPost, tt.post, nil)
			pw := httptest.NewRecorder()
			pp := p
			pp.Cacheable = false
			hs.c.Serve(pw, post, tt.post, pp, hs.fetch(post))
			if pw.Code != http.StatusCreated {
				t.Fatalf("POST: status %d, want 201", pw.Code)
			}
			// A GET that follows the POST does not join the old fill (it
			// would be sent the old body). Asked of join: such a GET
			// would wait for the fill, which waits for release.
			if f, leader, _ := hs.c.join("/r"); leader {
				hs.c.settle(f, outcome{}, false)
			} else {
				t.Error("a GET after the POST joins the fill that began before it")
			}
			close(release)
			<-done
			hs.waitBackground()

			after := tt.after
			if after == nil {
				after = [][]string{tt.get}
			}
			for i, h := range after {
				w := hs.get("/r", h...)
				x := ""
				if i == 0 {
					x = XCacheMiss
				}
				expect(t, w, status, x, want)
			}
			hs.waitBackground()
			hs.c.mu.Lock()
			defer hs.c.mu.Unlock()
			if n := len(hs.c.fills); n != 0 {
				t.Errorf("%d keys still have fills in flight, want none once all are done", n)
			}
		})
	}
}

// TestUnsafeMethodDuringStore: an unsafe method answered while a fill
// stores its entry, after the fill checked its ticket, still removes the
// entry (as TestInvalidationDuringStore for invalidations).
func TestUnsafeMethodDuringStore(t *testing.T) {
	hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		text("old", "Cache-Control", "max-age=600")(w, r)
	})
	posted := make(chan int, 1)
	hs.c.testHookStore = func() {
		hs.c.testHookStore = nil
		go func() {
			r := httptest.NewRequest(http.MethodPost, "/s", nil)
			w := httptest.NewRecorder()
			hs.c.Serve(w, r, "/s", Policy{}, hs.fetch(r))
			posted <- w.Code
		}()
		if !heldIn("Mutex.Lock", "cache.(*Cache).delUnsafe", posted) {
			t.Error("the POST's deletion was not held by the store")
		}
	}
	expect(t, hs.get("/s"), 200, XCacheMiss, "old")
	hs.waitBackground()
	if code := <-posted; code != http.StatusNoContent {
		t.Fatalf("POST: status %d, want 204", code)
	}
	hs.setHandler(text("new", "Cache-Control", "max-age=600"))
	expect(t, hs.get("/s"), 200, XCacheMiss, "new")
}
