package edge

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"openfront.dev/daemon/access"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// TestRefusalPageKept: the custom error page of a request the edge refuses
// itself (here its geo restriction) is kept in the node's cache, as
// CloudFront keeps pages in its edge caches, for errorCachingMinTTL or the
// page's own longer freshness: a flood of refused requests costs the
// page's origin one fetch, however many arrive at once, until then, and
// another after. A page whose origin answers an error gives the viewer
// that answer, as on CloudFront (GeneratingCustomErrorResponses.html),
// and is kept as long.
func TestRefusalPageKept(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	var mu sync.Mutex
	asked := map[string]int{}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		asked[r.URL.Path]++
		mu.Unlock()
		h := w.Header()
		h.Set("Date", clock.Now().UTC().Format(http.TimeFormat))
		h.Set("Content-Type", "text/html")
		switch r.URL.Path {
		case "/403.html", "/index.html":
			h.Set("Cache-Control", "no-cache")
			io.WriteString(w, "<h1>not for you</h1>")
		case "/403-cookies.html": // slow enough for the flood to wait on it
			time.Sleep(100 * time.Millisecond)
			h.Set("Cache-Control", "no-cache")
			io.WriteString(w, "<h1>not for you</h1>")
		case "/403-long.html":
			h.Set("Cache-Control", "max-age=90")
			io.WriteString(w, "<h1>not for you</h1>")
		default:
			http.Error(w, "boom", http.StatusInternalServerError)
		}
	}))
	t.Cleanup(app.Close)
	srv := refusingEdge(t, clock, app.Listener.Addr().String())
	french := http.Header{"X-Forwarded-For": {"81.2.3.4"}}

	// flood sends n refused requests for host, all at once when
	// concurrent, and checks each got want in its body.
	flood := func(t *testing.T, host string, n int, concurrent bool, status int, want string) {
		t.Helper()
		var wg sync.WaitGroup
		var bad atomic.Int64
		var first atomic.Value
		one := func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", srv.URL+"/anything", nil)
			req.Host = host
			req.Header = french.Clone()
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				bad.Add(1)
				first.CompareAndSwap(nil, err.Error())
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// The edge's own refusal, page or not, is an Error.
			if resp.StatusCode != status || !strings.Contains(string(b), want) || resp.Header.Get("X-Cache") != cacheError {
				bad.Add(1)
				first.CompareAndSwap(nil, fmt.Sprintf("%d %q X-Cache %q", resp.StatusCode, b, resp.Header.Get("X-Cache")))
			}
		}
		for range n {
			wg.Add(1)
			if concurrent {
				go one()
			} else {
				one()
			}
		}
		wg.Wait()
		if bad.Load() > 0 {
			t.Errorf("%d of %d answers wrong, first: %v; want %d with %q", bad.Load(), n, first.Load(), status, want)
		}
	}
	cases := []struct {
		host, page string
		kept       time.Duration
		status     int
		want       string
	}{
		{"short.test", "/403.html", 30 * time.Second, 403, "<h1>not for you</h1>"},
		{"long.test", "/403-long.html", 90 * time.Second, 403, "<h1>not for you</h1>"},
		{"spa.test", "/index.html", 20 * time.Second, 200, "<h1>not for you</h1>"},
		{"broken.test", "/broken.html", 30 * time.Second, 500, "boom"},
		{"cookies.test", "/403-cookies.html", 30 * time.Second, 403, "<h1>not for you</h1>"},
	}
	for _, c := range cases {
		t.Run(c.host, func(t *testing.T) {
			count := func() int {
				mu.Lock()
				defer mu.Unlock()
				n := asked[c.page]
				delete(asked, c.page)
				return n
			}
			flood(t, c.host, 50, true, c.status, c.want)
			flood(t, c.host, 50, false, c.status, c.want)
			if got := count(); got != 1 {
				t.Errorf("origin asked %d times for %s, want 1", got, c.page)
			}
			clock.Advance(c.kept - time.Second)
			flood(t, c.host, 3, false, c.status, c.want)
			if got := count(); got != 0 {
				t.Errorf("origin asked %d times within %v, want 0", got, c.kept)
			}
			clock.Advance(2 * time.Second)
			flood(t, c.host, 3, false, c.status, c.want)
			if got := count(); got != 1 {
				t.Errorf("origin asked %d times after %v, want 1", got, c.kept)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(asked) != 0 {
				t.Errorf("origin asked for other paths: %v", asked)
			}
		})
	}
}

// refusingEdge serves testdata/refusal_page.cue.tmpl, given the origin's
// address, from an edge whose cache runs on clock and that places
// 81.0.0.0/8 in France, behind a proxy on loopback.
func refusingEdge(t *testing.T, clock *testenv.Clock, originAddr string) *httptest.Server {
	t.Helper()
	src, err := os.ReadFile("testdata/refusal_page.cue.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	geoPath := filepath.Join(dir, "geo.mmdb")
	testenv.WriteGeoDB(t, geoPath, map[string]mmdbtype.Map{"81.0.0.0/8": testenv.Country("FR")})
	geo, err := access.OpenGeoDB(geoPath)
	if err != nil {
		t.Fatal(err)
	}
	h := New(origin.NewPool(dir), "test-node", slog.New(slog.DiscardHandler))
	h.SetViewerIdentity([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, geo)
	h.SetCache(testCacheAt(t, clock.Now))
	h.SetTable(testenv.Compile(t, dir, fmt.Sprintf(string(src), originAddr)))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}
