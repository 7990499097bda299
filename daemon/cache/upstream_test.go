package cache

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
)

// upstreamAnswer is an answer with status, Cache-Control cc and body
// "object", its body an UpstreamHit when wrapped.
func upstreamAnswer(status int, cc string, wrapped bool) *http.Response {
	resp := &http.Response{StatusCode: status, Header: http.Header{"Cache-Control": {cc}, "Etag": {`"1"`}}, ContentLength: 6,
		Body: io.NopCloser(strings.NewReader("object"))}
	if wrapped {
		resp.Body = UpstreamHit{resp.Body}
	}
	return resp
}

// serveUpstream serves a GET of /obj through c, fetching from fetch, and
// checks the body when the answer is a 200.
func serveUpstream(t *testing.T, c *Cache, p Policy, header http.Header, fetch FetchFunc) Result {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, "http://site.test/obj", nil)
	for k, vs := range header {
		r.Header[k] = vs
	}
	w := httptest.NewRecorder()
	res := c.Serve(w, r, "k", p, fetch)
	if res.Status == http.StatusOK && w.Body.String() != "object" {
		t.Errorf("body %q, want object", w.Body.String())
	}
	return res
}

// Result.UpstreamHit is a Miss whose own fetch an upstream cache answered
// from its store: never a hit here, an Error, an answer not marked so, or
// a RefreshHit.
func TestResultUpstreamHit(t *testing.T) {
	uncacheable := defaultPolicy
	uncacheable.Cacheable = false
	tests := []struct {
		name    string
		policy  Policy
		answers []*http.Response // the fetches' answers, in turn
		want    []string         // each request's X-Cache, then "+" when UpstreamHit
	}{
		{"a miss the upstream had", defaultPolicy, []*http.Response{upstreamAnswer(200, "max-age=60", true)},
			[]string{XCacheMiss + "+", XCacheHit}},
		{"a miss the upstream missed too", defaultPolicy, []*http.Response{upstreamAnswer(200, "max-age=60", false)},
			[]string{XCacheMiss, XCacheHit}},
		{"not stored here", defaultPolicy, []*http.Response{upstreamAnswer(200, "no-store", true), upstreamAnswer(200, "no-store", false)},
			[]string{XCacheMiss + "+", XCacheMiss}},
		{"passed through", uncacheable, []*http.Response{upstreamAnswer(200, "max-age=60", true), upstreamAnswer(200, "max-age=60", true)},
			[]string{XCacheMiss + "+", XCacheMiss + "+"}},
		{"an error the upstream had", defaultPolicy, []*http.Response{upstreamAnswer(404, "max-age=60", true)},
			[]string{XCacheError, XCacheError}},
		{"revalidated: the upstream's 304", defaultPolicy, []*http.Response{upstreamAnswer(200, "max-age=0, must-revalidate", false), upstreamAnswer(304, "max-age=60", true)},
			[]string{XCacheMiss, XCacheRefreshHit}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{MemoryBytes: 16 << 20})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			answers := tt.answers
			fetch := func(context.Context, FetchRequest) (*http.Response, error) {
				resp := answers[0]
				answers = answers[1:]
				return resp, nil
			}
			for i, want := range tt.want {
				h := http.Header{}
				if i > 0 && strings.HasPrefix(tt.name, "revalidated") {
					h.Set("Cache-Control", "max-age=0")
				}
				res := serveUpstream(t, c, tt.policy, h, fetch)
				got := res.XCache
				if res.UpstreamHit {
					got += "+"
				}
				if got != want {
					t.Errorf("request %d: %q, want %q", i+1, got, want)
				}
			}
		})
	}
}

// A request that joined another's fetch is a plain Miss, whatever the
// upstream said: only the request that fetched was answered by it.
func TestResultUpstreamHitNotForWaiters(t *testing.T) {
	c, err := New(Config{MemoryBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	release := make(chan struct{})
	fetch := func(context.Context, FetchRequest) (*http.Response, error) {
		<-release // until the second request waits
		return upstreamAnswer(200, "max-age=60", true), nil
	}
	leader := make(chan Result)
	go func() { leader <- serveUpstream(t, c, defaultPolicy, nil, fetch) }()
	for !leading(c) {
		runtime.Gosched()
	}
	waiter := make(chan Result)
	go func() { waiter <- serveUpstream(t, c, defaultPolicy, nil, fetch) }()
	for c.Stats().Coalesced == 0 {
		runtime.Gosched()
	}
	close(release)
	if res := <-leader; !res.UpstreamHit || res.XCache != XCacheMiss {
		t.Errorf("the request that fetched: %+v, want a Miss with UpstreamHit", res)
	}
	if res := <-waiter; res.UpstreamHit || res.XCache != XCacheMiss {
		t.Errorf("the request that waited: %+v, want a plain Miss", res)
	}
}

// leading says a request is fetching for others to join.
func leading(c *Cache) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.flights) > 0
}
