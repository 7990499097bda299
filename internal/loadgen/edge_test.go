package loadgen

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"
	"testing"

	"openfront.dev/daemon/edge"
)

// The edge's hot path shares header values between requests (Via, Alt-Svc,
// the origin request's header when nothing is forwarded). These tests pin
// what viewers and origins see, with and without a cache, and run requests
// concurrently so that -race catches a shared value being written.

// echoOrigin answers uncacheable objects that say what the origin got.
func echoOrigin(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header()["X-Seen-Via"] = r.Header["Via"]
	w.Header()["X-Seen-User-Agent"] = r.Header["User-Agent"]
	w.Header()["X-Seen-If-None-Match"] = r.Header["If-None-Match"]
	io.WriteString(w, "ok\n")
}

func echoEdge(t *testing.T, withCache bool) *edge.Handler {
	var cacheBytes int64
	if withCache {
		cacheBytes = 8 << 20
	}
	return testEdge(t, http.HandlerFunc(echoOrigin), cacheBytes)
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{24}$`)

func TestEdgeHeadersOnTheHotPath(t *testing.T) {
	tests := []struct {
		name      string
		header    http.Header
		wantVia   []string
		wantAgent []string
		wantINM   []string
	}{
		{"a bare request", nil, []string{"1.1 bench (openfront)"}, []string{"openfront"}, nil},
		{"the viewer's agent is not forwarded", http.Header{"User-Agent": {"curl/8"}},
			[]string{"1.1 bench (openfront)"}, []string{"openfront"}, nil},
		{"a proxy's Via is kept, the node's appended",
			http.Header{"Via": {"1.0 a", "1.1 b"}},
			[]string{"1.0 a, 1.1 b, 1.1 bench (openfront)"}, []string{"openfront"}, nil},
		{"a conditional header is forwarded", http.Header{"If-None-Match": {`"x"`}},
			[]string{"1.1 bench (openfront)"}, []string{"openfront"}, []string{`"x"`}},
	}
	for _, withCache := range []bool{true, false} {
		h := echoEdge(t, withCache)
		for _, tt := range tests {
			t.Run(fmt.Sprintf("cache=%v/%s", withCache, tt.name), func(t *testing.T) {
				ids := map[string]bool{}
				var mu sync.Mutex
				var wg sync.WaitGroup
				for i := range 20 {
					wg.Go(func() {
						r := httptest.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:8080/obj/1k/echo-%d", i), nil)
						for k, vs := range tt.header {
							r.Header[k] = vs
						}
						w := httptest.NewRecorder()
						h.ServeHTTP(w, r)
						got := w.Result().Header
						if w.Code != http.StatusOK || got.Get("Via") != "1.1 bench (openfront)" || got.Get("Alt-Svc") != `h3=":8443"; ma=86400` {
							t.Errorf("status %d, Via %q, Alt-Svc %q", w.Code, got.Get("Via"), got.Get("Alt-Svc"))
						}
						if !slices.Equal(got["X-Seen-Via"], tt.wantVia) || !slices.Equal(got["X-Seen-User-Agent"], tt.wantAgent) ||
							!slices.Equal(got["X-Seen-If-None-Match"], tt.wantINM) {
							t.Errorf("origin saw Via %q, User-Agent %q, If-None-Match %q; want %q, %q, %q",
								got["X-Seen-Via"], got["X-Seen-User-Agent"], got["X-Seen-If-None-Match"], tt.wantVia, tt.wantAgent, tt.wantINM)
						}
						id := got.Get("X-Openfront-Id")
						mu.Lock()
						defer mu.Unlock()
						if !requestIDPattern.MatchString(id) || ids[id] {
							t.Errorf("X-Openfront-Id %q: want 24 base64url characters, unique", id)
						}
						ids[id] = true
					})
				}
				wg.Wait()
			})
		}
	}
}
