package edge

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/shield"
	"openfront.dev/internal/testenv"
)

// secondaryShield starts the secondary shield node of eu-west-1 serving
// tb; down is the base URL of a primary nothing listens at, on addr.
func secondaryShield(t *testing.T, tb *table.Table, clock *testenv.Clock) (h *Handler, secondary, down *url.URL, addr string) {
	addr = refusedAddr(t)
	down, _ = url.Parse("http://" + addr)
	h, srv := shieldNode(t, "shield-eu-2", tb, nil, clock)
	secondary, _ = url.Parse(srv.URL)
	return h, secondary, down, addr
}

// edgeWithShields is a node in us-east-1 whose shield nodes of eu-west-1
// are bases, in order.
func edgeWithShields(t *testing.T, name string, tb *table.Table, clock *testenv.Clock, bases ...*url.URL) (*Handler, *httptest.Server) {
	h, srv := shieldNode(t, name, tb, bases[0], clock)
	h.SetShield(&shield.Config{Region: "us-east-1", URLs: map[string][]*url.URL{"eu-west-1": bases}, Secret: fleetSecret})
	return h, srv
}

// TestShieldSecondary: with its region's primary shield node unreachable,
// a node asks the region's next one, as CloudFront routes a request "to a
// secondary Origin Shield location if the primary Origin Shield location
// is unavailable" (origin-shield.html, Origin Shield high availability):
// two nodes' misses are still one origin request, none a fallback. With
// no shield node left to reach, each node asks the origin itself.
func TestShieldSecondary(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	app, hits := countingOrigin(t, clock)
	tb := testenv.Compile(t, "", fmt.Sprintf(shieldedSite, app.Listener.Addr().String()))
	secondaryNode, secondary, down, _ := secondaryShield(t, tb, clock)
	for _, c := range []struct {
		name         string
		bases        []*url.URL
		path         string
		origin       int32   // origin requests for the two nodes' misses
		forwarded    float64 // by each node
		fallback     float64 // by each node
		servedByNext float64 // by the secondary, in all
	}{
		{"primary down", []*url.URL{down, secondary}, "/a", 1, 1, 0, 2},
		{"all down", []*url.URL{down, down}, "/b", 2, 0, 1, 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := hits.Load()
			for n := range 2 {
				edge, _ := edgeWithShields(t, fmt.Sprintf("edge-%d", n), tb, clock, c.bases...)
				w := httptest.NewRecorder()
				edge.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://site.test"+c.path, nil))
				if w.Code != http.StatusOK || w.Body.String() != "object "+c.path {
					t.Errorf("node %d: %d %q, want 200 object %s", n, w.Code, w.Body.String(), c.path)
				}
				for result, want := range map[string]float64{"forwarded": c.forwarded, "fallback": c.fallback} {
					if got := testutil.ToFloat64(edge.metrics.shieldRequests.WithLabelValues("eu-west-1", result)); got != want {
						t.Errorf("node %d: %v %s, want %v", n, got, result, want)
					}
				}
			}
			if n := hits.Load() - before; n != c.origin {
				t.Errorf("origin asked %d times, want %d", n, c.origin)
			}
			if got := testutil.ToFloat64(secondaryNode.metrics.shieldRequests.WithLabelValues("eu-west-1", "served")); got != c.servedByNext {
				t.Errorf("the secondary served %v, want %v", got, c.servedByNext)
			}
		})
	}
}

// TestShieldUnreachableWithBody: a POST whose shield node cannot be
// reached was never sent, its body unread: it goes to the next shield
// node, or with none left to the origin, as a GET does; CloudFront's
// rerouting is "for each request" (origin-shield.html), and dynamic
// requests go through Origin Shield as cacheable ones do. Before, it was
// answered 502 while the shield was down.
func TestShieldUnreachableWithBody(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s via %s", r.Method, r.URL.Path, b, r.Header.Get("Via"))
	}))
	t.Cleanup(app.Close)
	site := strings.Replace(shieldedSite, `viewerProtocolPolicy: "allow-all"}`,
		`viewerProtocolPolicy: "allow-all", allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]}`, 1)
	tb := testenv.Compile(t, "", fmt.Sprintf(site, app.Listener.Addr().String()))
	_, secondary, down, _ := secondaryShield(t, tb, clock)
	for _, c := range []struct {
		name  string
		bases []*url.URL
		want  string
	}{
		{"primary down", []*url.URL{down, secondary}, "POST /form hello via 1.1 edge (openfront), 1.1 shield-eu-2 (openfront)"},
		{"all down", []*url.URL{down}, "POST /form hello via 1.1 edge (openfront)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, srv := edgeWithShields(t, "edge", tb, clock, c.bases...)
			resp, body := hostRequest(t, srv.URL, http.MethodPost, "/form", "site.test", nil, strings.NewReader("hello"))
			if resp.StatusCode != http.StatusOK || body != c.want {
				t.Errorf("%d %q, want 200 %q", resp.StatusCode, body, c.want)
			}
		})
	}
}

// TestShieldUnreachablePassedOver: a shield node found unreachable is
// passed over for a while, as CloudFront tracks errors to route requests
// to a secondary Origin Shield location: the next requests go to the
// secondary without waiting on it again (a blackholed one would hold
// each for its connectionTimeout). Once the while is over, it is asked
// again.
func TestShieldUnreachablePassedOver(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	app, hits := countingOrigin(t, clock)
	tb := testenv.Compile(t, "", fmt.Sprintf(shieldedSite, app.Listener.Addr().String()))
	secondaryNode, secondary, primary, primaryAddr := secondaryShield(t, tb, clock)
	edge, _ := edgeWithShields(t, "edge", tb, clock, primary, secondary)
	edge.shieldRetry = 300 * time.Millisecond
	get := func(path string) {
		t.Helper()
		w := httptest.NewRecorder()
		edge.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://site.test"+path, nil))
		if w.Code != http.StatusOK || w.Body.String() != "object "+path {
			t.Errorf("%s: %d %q", path, w.Code, w.Body.String())
		}
	}
	get("/a") // finds the primary down
	// The primary is back, and counts what it is asked.
	var asked atomic.Int32
	ln, err := net.Listen("tcp", primaryAddr)
	if err != nil {
		t.Skipf("the primary's port was taken meanwhile: %v", err)
	}
	primarySrv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		io.WriteString(w, "object "+r.URL.Path)
	}))
	primarySrv.Listener.Close()
	primarySrv.Listener = ln
	primarySrv.Start()
	t.Cleanup(primarySrv.Close)
	get("/b")
	if n := asked.Load(); n != 0 {
		t.Errorf("the primary found down was asked %d times at once, want 0", n)
	}
	served := testutil.ToFloat64(secondaryNode.metrics.shieldRequests.WithLabelValues("eu-west-1", "served"))
	if served != 2 {
		t.Errorf("the secondary served %v, want 2", served)
	}
	time.Sleep(400 * time.Millisecond)
	get("/c")
	if n := asked.Load(); n != 1 {
		t.Errorf("the primary was asked %d times once its while was over, want 1", n)
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("origin asked %d times, want 2 (/a and /b, through the secondary)", n)
	}
}
