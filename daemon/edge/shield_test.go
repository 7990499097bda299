package edge

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/origin"
	"openfront.dev/daemon/shield"
	"openfront.dev/internal/testenv"
)

// shieldedSite is distribution site whose origin app, at %q, is shielded
// in eu-west-1 and times out after a second; /secure/* is https-only.
const shieldedSite = `package cdn

distributions: site: {
	aliases: ["site.test"]
	logging: {enabled: true, prefix: "web/"}
	origins: [{id: "app", domainName: %q, connectionTimeout: 1, connectionAttempts: 1,
		customOriginConfig: {originProtocolPolicy: "http-only", originReadTimeout: 1},
		originShield: {enabled: true, originShieldRegion: "eu-west-1"}}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
	cacheBehaviors: [{pathPattern: "/secure/*", targetOriginId: "app", viewerProtocolPolicy: "https-only"}]
}
`

var fleetSecret = []byte("a fleet's shared secret, 32 bytes")

// shieldNode serves tb as the shield of eu-west-1 (base: nil) or as a node
// in us-east-1 whose shield is at base, with a cache on clock.
func shieldNode(t *testing.T, name string, tb *table.Table, base *url.URL, clock *testenv.Clock) (*Handler, *httptest.Server) {
	t.Helper()
	h := New(origin.NewPool(t.TempDir()), name, slog.New(slog.DiscardHandler))
	h.SetCache(testCacheAt(t, clock.Now))
	c := &shield.Config{Region: "eu-west-1", Secret: fleetSecret}
	if base != nil {
		c = &shield.Config{Region: "us-east-1", URLs: map[string][]*url.URL{"eu-west-1": {base}}, Secret: fleetSecret}
	}
	h.SetShield(c)
	h.SetTable(tb)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv
}

// countingOrigin answers "object PATH", fresh for max-age=10 and dated by
// clock; it counts its requests.
func countingOrigin(t *testing.T, clock *testenv.Clock) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Date", clock.Now().UTC().Format(http.TimeFormat))
		w.Header().Set("Cache-Control", "max-age=10")
		io.WriteString(w, "object "+r.URL.Path)
	}))
	t.Cleanup(app.Close)
	return app, &hits
}

// The shield series a node can count show at 0 from the start, so that
// increase() of fallback fires on the first time a shield node could not
// be reached: forwarded and fallback for each region whose shield is
// another node, served and replayed for the node's own region.
func TestShieldMetricsShowAtZero(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	tb := testenv.Compile(t, "", fmt.Sprintf(shieldedSite, "127.0.0.1:1"))
	shieldURL, _ := url.Parse("http://127.0.0.1:1")
	for _, c := range []struct {
		base *url.URL
		want []string
	}{
		{nil, []string{`region="eu-west-1",result="replayed"`, `region="eu-west-1",result="served"`}},
		{shieldURL, []string{`region="eu-west-1",result="fallback"`, `region="eu-west-1",result="forwarded"`,
			`region="us-east-1",result="replayed"`, `region="us-east-1",result="served"`}},
	} {
		h, _ := shieldNode(t, "node", tb, c.base, clock)
		reg := prometheus.NewRegistry()
		if err := h.Register(reg); err != nil {
			t.Fatal(err)
		}
		want := "# HELP openfront_origin_shield_requests_total Origin requests of origins with originShield, by shield region and result: forwarded (sent to that region's shield node), fallback (none of its shield nodes could be reached: the origin was asked directly), served (this node answered another node's as the shield), replayed (a copy of another node's request this node took before: served as a viewer's).\n# TYPE openfront_origin_shield_requests_total counter\n"
		for _, l := range c.want {
			want += "openfront_origin_shield_requests_total{" + l + "} 0\n"
		}
		if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "openfront_origin_shield_requests_total"); err != nil {
			t.Errorf("shield at %v: %v", c.base, err)
		}
	}
}

// A fleet node's request, signed, taken once: the same header again is a
// viewer's, whose https-only behavior refuses it over http, and is counted.
func TestShieldReplayedRequestIsAViewers(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	app, hits := countingOrigin(t, clock)
	sh, srv := shieldNode(t, "shield-eu", testenv.Compile(t, "", fmt.Sprintf(shieldedSite, app.Listener.Addr().String())), nil, clock)
	reg := prometheus.NewRegistry()
	if err := sh.Register(reg); err != nil {
		t.Fatal(err)
	}
	auth := shield.Sign(fleetSecret, shield.Claim{Distribution: "site", Origin: "app", Behavior: 0}, http.MethodGet, "site.test", "/secure/x", time.Now())
	for i, want := range []int{http.StatusOK, http.StatusForbidden} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/secure/x", nil)
		req.Host = "site.test"
		req.Header.Set(shield.Header, auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("request %d: %d %q, want %d", i+1, resp.StatusCode, body, want)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("origin asked %d times, want 1", n)
	}
	want := `
# HELP openfront_origin_shield_requests_total Origin requests of origins with originShield, by shield region and result: forwarded (sent to that region's shield node), fallback (none of its shield nodes could be reached: the origin was asked directly), served (this node answered another node's as the shield), replayed (a copy of another node's request this node took before: served as a viewer's).
# TYPE openfront_origin_shield_requests_total counter
openfront_origin_shield_requests_total{region="eu-west-1",result="replayed"} 1
openfront_origin_shield_requests_total{region="eu-west-1",result="served"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "openfront_origin_shield_requests_total"); err != nil {
		t.Error(err)
	}
}

// A shield that takes the connection and never answers: the viewer gets
// 504 once the origin's response timeout (1 s) is over, logged as
// CloudFront logs an origin that timed out.
func TestShieldThatHangs(t *testing.T) {
	ln := hungListener(t)
	// The origin itself would answer: the edge must not bypass a shield
	// that is slow (only one it cannot connect to).
	clock := testenv.NewClock(time.Now())
	app, hits := countingOrigin(t, clock)
	tb := testenv.Compile(t, "", fmt.Sprintf(shieldedSite, app.Listener.Addr().String()))
	h, srv := shieldNode(t, "edge-a", tb, &url.URL{Scheme: "http", Host: ln.Addr().String()}, clock)
	logDir := t.TempDir()
	logs := logInto(t, h, tb, accesslog.Options{Dir: logDir, NodeName: "EDGE1", Registerer: prometheus.NewRegistry()})
	h.SetTable(tb) // again, with the logs

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/x", nil)
	req.Host = "site.test"
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("after %v: %v", time.Since(start), err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != http.StatusGatewayTimeout || resp.Header.Get("X-Cache") != "Error from openfront" {
		t.Errorf("%d, X-Cache %q; want 504, Error from openfront", resp.StatusCode, resp.Header.Get("X-Cache"))
	}
	// The origin's timeout is 1 s: 504 after it, well before its default 30 s.
	if took < time.Second || took > 10*time.Second {
		t.Errorf("answered after %v, want just over the origin's 1 s timeout", took)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("origin asked %d times behind a hanging shield, want 0", n)
	}
	if err := logs.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := readLogLines(t, logDir)
	if len(lines) != 1 {
		t.Fatalf("%d lines logged, want 1: %q", len(lines), lines)
	}
	l := lines[0]
	if got := l["sc-status"] + " " + l["x-edge-result-type"] + " " + l["x-edge-response-result-type"] + " " + l["x-edge-detailed-result-type"]; got != "504 Error Error OriginCommError" {
		t.Errorf("logged %q, want 504 Error Error OriginCommError", got)
	}
}

// An object the shield has held for 4 s reaches the viewer through an
// edge with Age 4 and more, and the edge keeps it for the rest of the
// origin's max-age=10 counted from the shield's fetch, not 10 s more. The
// edge's clock is 5 s behind the shield's and the origin's, so that the
// Date gives it no age: the Age it gets is all it can count on.
func TestShieldAgeAcrossHops(t *testing.T) {
	shieldClock := testenv.NewClock(time.Now())
	edgeClock := testenv.NewClock(shieldClock.Now().Add(-5 * time.Second))
	app, hits := countingOrigin(t, shieldClock)
	tb := testenv.Compile(t, "", fmt.Sprintf(shieldedSite, app.Listener.Addr().String()))
	_, shieldSrv := shieldNode(t, "shield-eu", tb, nil, shieldClock)
	base, _ := url.Parse(shieldSrv.URL)
	_, edgeSrv := shieldNode(t, "edge-a", tb, base, edgeClock)
	get := func(srv *httptest.Server) (age int, xCache string) {
		t.Helper()
		resp, body := siteRequest(t, srv.URL, http.MethodGet, "/obj", nil, nil)
		if resp.StatusCode != http.StatusOK || body != "object /obj" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
		age, _ = strconv.Atoi(resp.Header.Get("Age"))
		return age, resp.Header.Get("X-Cache")
	}
	get(shieldSrv) // the shield's own viewer: cached there at 0 s
	for _, step := range []struct {
		advance     time.Duration
		minAge      int
		xCache      string
		originTotal int32
	}{
		{4 * time.Second, 4, "Miss from openfront", 1}, // the edge's miss, a hit at the shield
		{5 * time.Second, 9, "Hit from openfront", 1},  // 9 s after the shield's fetch: fresh
		{2 * time.Second, 0, "Miss from openfront", 2}, // 11 s: stale at the edge and the shield
	} {
		shieldClock.Advance(step.advance)
		edgeClock.Advance(step.advance)
		age, xCache := get(edgeSrv)
		if age < step.minAge || xCache != step.xCache || hits.Load() != step.originTotal {
			t.Errorf("after %v more: Age %d, %s, origin asked %d times; want Age %d or more, %s, %d",
				step.advance, age, xCache, hits.Load(), step.minAge, step.xCache, step.originTotal)
		}
	}
}

// TestShieldForwardedHost: through a shield, an origin that gets the
// viewer's Host gets it as the asking node made it, from the listener the
// viewer reached there: the shield, on another port, keeps that port.
func TestShieldForwardedHost(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Host)
	}))
	t.Cleanup(app.Close)
	site := strings.Replace(shieldedSite, `viewerProtocolPolicy: "allow-all"}`,
		`viewerProtocolPolicy: "allow-all", cachePolicy: "CachingDisabled", originRequestPolicy: "HostHeaderOnly"}`, 1)
	tb := testenv.Compile(t, "", fmt.Sprintf(site, app.Listener.Addr().String()))
	_, sh := shieldNode(t, "shield-eu", tb, nil, clock)
	base, _ := url.Parse(sh.URL)
	_, node := shieldNode(t, "edge-us", tb, base, clock)
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(node.URL, "http://"))
	for host, want := range map[string]string{
		"site.test":          "site.test",
		"SITE.test.:1337":    "site.test",
		"Site.test.:" + port: "site.test:" + port,
	} {
		resp, body := hostRequest(t, node.URL, "GET", "/x", host, nil, nil)
		if resp.StatusCode != http.StatusOK || body != want {
			t.Errorf("Host %q: %d, the origin got %q, want %q", host, resp.StatusCode, body, want)
		}
	}
}

// loggedEdge is shieldNode's handler, without a cache unless cached, with
// an access log in a directory of its own, returned with the manager
// (closed by the caller to read the lines). A request served by the
// handler itself is logged once ServeHTTP returns, where a client may
// have its whole answer before.
func loggedEdge(t *testing.T, name string, tb *table.Table, base *url.URL, clock *testenv.Clock, cached bool) (*Handler, *accesslog.Manager, string) {
	t.Helper()
	h, _ := shieldNode(t, name, tb, base, clock)
	if !cached {
		h.SetCache(nil) // before its first request
	}
	dir := t.TempDir()
	logs := logInto(t, h, tb, accesslog.Options{Dir: dir, NodeName: name, Registerer: prometheus.NewRegistry()})
	h.SetTable(tb) // again, with the logs
	return h, logs, dir
}

// getObj serves a viewer's GET of site.test/obj with h, and checks that
// it is answered 200 "object /obj"; it returns the X-Cache.
func getObj(t *testing.T, h *Handler) string {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://site.test/obj", nil))
	if w.Code != http.StatusOK || w.Body.String() != "object /obj" {
		t.Errorf("%d %q, want 200, object /obj", w.Code, w.Body.String())
	}
	return w.Header().Get("X-Cache")
}

// resultsLogged closes logs and returns, for each line in dir, its
// x-edge-result-type, x-edge-response-result-type and
// x-edge-detailed-result-type.
func resultsLogged(t *testing.T, logs *accesslog.Manager, dir string) []string {
	t.Helper()
	if err := logs.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range readLogLines(t, dir) {
		out = append(out, l["x-edge-result-type"]+" "+l["x-edge-response-result-type"]+" "+l["x-edge-detailed-result-type"])
	}
	return out
}

// An edge's miss that its shield answers from its own cache is logged
// as CloudFront logs it: x-edge-result-type Miss (the edge missed),
// x-edge-detailed-result-type OriginShieldHit. The miss that filled the
// shield is a plain Miss; a hit at the edge is a Hit; the viewer sees
// Miss in X-Cache either way. An edge without a cache relays the shield's
// hits, each a Miss and OriginShieldHit.
func TestShieldHitLogged(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	app, hits := countingOrigin(t, clock)
	tb := testenv.Compile(t, "", fmt.Sprintf(shieldedSite, app.Listener.Addr().String()))
	_, shieldSrv := shieldNode(t, "shield-eu", tb, nil, clock)
	base, _ := url.Parse(shieldSrv.URL)
	edgeA, logsA, dirA := loggedEdge(t, "edge-a", tb, base, clock, true)
	edgeB, logsB, dirB := loggedEdge(t, "edge-b", tb, base, clock, true)
	edgeC, logsC, dirC := loggedEdge(t, "edge-c", tb, base, clock, false)
	for i, step := range []struct {
		edge   *Handler
		xCache string
	}{
		{edgeA, "Miss from openfront"}, // a miss at the edge and at the shield
		{edgeB, "Miss from openfront"}, // a miss at the edge, a hit at the shield
		{edgeB, "Hit from openfront"},
		{edgeC, "Miss from openfront"},
		{edgeC, "Miss from openfront"},
	} {
		if x := getObj(t, step.edge); x != step.xCache {
			t.Errorf("request %d: X-Cache %q, want %s", i+1, x, step.xCache)
		}
	}
	if n := hits.Load(); n != 1 {
		t.Errorf("origin asked %d times, want 1", n)
	}
	if got, want := strings.Join(resultsLogged(t, logsA, dirA), "; "), "Miss Miss Miss"; got != want {
		t.Errorf("edge A logged %q, want %q", got, want)
	}
	if got, want := strings.Join(resultsLogged(t, logsB, dirB), "; "), "Miss Miss OriginShieldHit; Hit Hit Hit"; got != want {
		t.Errorf("edge B logged %q, want %q", got, want)
	}
	if got, want := strings.Join(resultsLogged(t, logsC, dirC), "; "), "Miss Miss OriginShieldHit; Miss Miss OriginShieldHit"; got != want {
		t.Errorf("edge C (no cache) logged %q, want %q", got, want)
	}
}

// An origin's own X-Cache is no shield's word: an origin that says "Hit
// from openfront", asked directly because the shield cannot be reached,
// is a plain Miss in the log.
func TestShieldHitNotTakenFromTheOrigin(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Cache", "Hit from openfront")
		io.WriteString(w, "object "+r.URL.Path)
	}))
	t.Cleanup(app.Close)
	down, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downURL := &url.URL{Scheme: "http", Host: down.Addr().String()}
	down.Close() // refused: the edge asks the origin itself
	tb := testenv.Compile(t, "", fmt.Sprintf(shieldedSite, app.Listener.Addr().String()))
	edge, logs, dir := loggedEdge(t, "edge-a", tb, downURL, testenv.NewClock(time.Now()), true)
	if x := getObj(t, edge); x != "Miss from openfront" {
		t.Errorf("X-Cache %q, want Miss from openfront", x)
	}
	if got, want := strings.Join(resultsLogged(t, logs, dir), "; "), "Miss Miss Miss"; got != want {
		t.Errorf("logged %q, want %q", got, want)
	}
}

// A miss its origin shield answers is, in Server-Timing, CloudFront's
// cdn-cache-hit from cdn-hit-layer "Origin Shield"; a miss the shield
// asked the origin for names it the cdn-upstream-layer
// (understanding-response-headers-policies, "Server-Timing header
// metrics"). X-Cache says Miss either way, as TestShieldHitLogged.
func TestShieldServerTiming(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	app, _ := countingOrigin(t, clock)
	site := strings.Replace(shieldedSite, `viewerProtocolPolicy: "allow-all"}`,
		`viewerProtocolPolicy: "allow-all", responseHeadersPolicy: "timed"}`, 1) +
		"\nresponseHeadersPolicies: timed: serverTimingHeadersConfig: {enabled: true, samplingRate: 100}\n"
	tb := testenv.Compile(t, "", fmt.Sprintf(site, app.Listener.Addr().String()))
	_, shieldSrv := shieldNode(t, "shield-eu", tb, nil, clock)
	base, _ := url.Parse(shieldSrv.URL)
	edgeA, _ := shieldNode(t, "edge-a", tb, base, clock)
	edgeB, _ := shieldNode(t, "edge-b", tb, base, clock)
	for i, step := range []struct {
		edge *Handler
		want string
	}{
		{edgeA, `^cdn-upstream-layer;desc="Origin Shield",cdn-cache-miss,cdn-pop;desc="edge-a",cdn-rid;desc="[^"]+",cdn-downstream-fbl;dur=\d+$`},
		{edgeB, `^cdn-cache-hit,cdn-pop;desc="edge-b",cdn-rid;desc="[^"]+",cdn-hit-layer;desc="Origin Shield",cdn-downstream-fbl;dur=\d+$`},
		{edgeB, `^cdn-cache-hit,cdn-pop;desc="edge-b",cdn-rid;desc="[^"]+",cdn-hit-layer;desc="EDGE",cdn-downstream-fbl;dur=\d+$`},
	} {
		w := httptest.NewRecorder()
		step.edge.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://site.test/obj", nil))
		if st := w.Header().Get("Server-Timing"); !regexp.MustCompile(step.want).MatchString(st) {
			t.Errorf("request %d: Server-Timing %q, want it to match %s", i+1, st, step.want)
		}
	}
}
