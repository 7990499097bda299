package cache

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"openfront.dev/internal/testenv"
)

// fakeClock is the injected clock of TTL tests.
type fakeClock = testenv.Clock

func newClock() *fakeClock { return testenv.NewClock(time.Now().Truncate(time.Second)) }

// harness is a cache in front of an httptest origin on 127.0.0.1.
type harness struct {
	t       *testing.T
	c       *Cache
	clock   *fakeClock
	origin  *httptest.Server
	handler atomic.Pointer[http.HandlerFunc]
	// requests counts origin requests; seen keeps their headers.
	requests atomic.Int64
	mu       sync.Mutex
	seen     []*http.Request
	policy   Policy
}

var defaultPolicy = Policy{Cacheable: true, DefaultTTL: 24 * time.Hour, MaxTTL: 365 * 24 * time.Hour}

func newHarness(t *testing.T, cfg Config, p Policy, h http.HandlerFunc) *harness {
	t.Helper()
	hs := &harness{t: t, clock: newClock(), policy: p}
	if cfg.Now == nil {
		cfg.Now = hs.clock.Now
	}
	if cfg.MemoryBytes == 0 {
		cfg.MemoryBytes = 16 << 20
	}
	hs.setHandler(h)
	hs.origin = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hs.requests.Add(1)
		hs.mu.Lock()
		hs.seen = append(hs.seen, r.Clone(context.Background()))
		hs.mu.Unlock()
		// Dates follow the injected clock, so ages are what the test says.
		w.Header().Set("Date", hs.clock.Now().UTC().Format(http.TimeFormat))
		(*hs.handler.Load())(w, r)
	}))
	t.Cleanup(hs.origin.Close)
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs.c = c
	t.Cleanup(func() { c.Close() })
	return hs
}

func (hs *harness) setHandler(h http.HandlerFunc) { hs.handler.Store(&h) }

// fetch is what the edge would pass: the viewer's headers forwarded, the
// cache's conditional headers authoritative.
func (hs *harness) fetch(r *http.Request) FetchFunc {
	viewer := r.Header.Clone()
	path := r.URL.RequestURI()
	return func(ctx context.Context, fr FetchRequest) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, fr.Method, hs.origin.URL+path, nil)
		if err != nil {
			return nil, err
		}
		maps.Copy(req.Header, viewer)
		for _, k := range conditionalFields {
			delete(req.Header, k)
		}
		maps.Copy(req.Header, fr.Header)
		if _, ok := fr.Header["Accept-Encoding"]; !ok {
			if _, ok := viewer["Accept-Encoding"]; !ok {
				// No transparent gzip from the Go client.
				req.Header.Set("Accept-Encoding", "identity")
			}
		}
		return http.DefaultTransport.RoundTrip(req)
	}
}

// serveHTTP is the edge's part in tests: the key is the request URI.
func (hs *harness) serveHTTP(w http.ResponseWriter, r *http.Request) {
	hs.c.Serve(w, r, r.URL.RequestURI(), hs.policy, hs.fetch(r))
}

// do sends a request through the cache and returns the recorded answer.
func (hs *harness) do(method, path string, header ...string) *httptest.ResponseRecorder {
	hs.t.Helper()
	r := httptest.NewRequest(method, path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	w := httptest.NewRecorder()
	res := hs.c.Serve(w, r, r.URL.RequestURI(), hs.policy, hs.fetch(r))
	if res.Status == 0 {
		w.Code = 502
		w.Header().Set("X-Test-Err", res.Err.Error())
	}
	return w
}

func (hs *harness) get(path string, header ...string) *httptest.ResponseRecorder {
	return hs.do(http.MethodGet, path, header...)
}

func (hs *harness) lastSeen() *http.Request {
	hs.mu.Lock()
	defer hs.mu.Unlock()
	if len(hs.seen) == 0 {
		return nil
	}
	return hs.seen[len(hs.seen)-1]
}

// waitBackground waits for the background work started so far.
func (hs *harness) waitBackground() {
	hs.c.bg.Wait()
}

// heldIn waits until a goroutine waits (in state, as a stack trace names
// it: "Mutex.Lock") inside fn ("cache.(*Cache).invalidate"), so that a
// test hook holding what it waits for knows the goroutine is held by it
// before it lets go. It reports false if ready has a value first: the
// goroutine was not held.
func heldIn[T any](state, fn string, ready chan T) bool {
	buf := make([]byte, 1<<20)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if len(ready) > 0 {
			return false
		}
		n := runtime.Stack(buf, true)
		for g := range strings.SplitSeq(string(buf[:n]), "\n\n") {
			header, _, _ := strings.Cut(g, "\n")
			if strings.Contains(header, state) && strings.Contains(g, fn+"(") {
				return true
			}
		}
	}
	return false
}

// expect checks status, X-Cache and, when body is not "-", the body.
func expect(t *testing.T, w *httptest.ResponseRecorder, status int, xcache, body string) {
	t.Helper()
	if w.Code != status {
		t.Errorf("status %d, want %d (%s)", w.Code, status, w.Header().Get("X-Test-Err"))
	}
	if xcache != "" && w.Header().Get("X-Cache") != xcache {
		t.Errorf("X-Cache %q, want %q", w.Header().Get("X-Cache"), xcache)
	}
	if body != "-" && w.Body.String() != body {
		t.Errorf("body %q, want %q", trunc(w.Body.String()), trunc(body))
	}
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// text answers with body and the given header pairs.
func text(body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		if w.Header().Get("Content-Type") == "" {
			w.Header().Set("Content-Type", "text/plain")
		}
		if _, ok := w.Header()["Content-Length"]; !ok && r.Method != http.MethodHead {
			// As a static file server does; Go chunks bodies over 2 KiB otherwise.
			w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		}
		io.WriteString(w, body)
	}
}

var _ = strings.Repeat
