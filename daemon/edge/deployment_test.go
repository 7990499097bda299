package edge

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
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
	"openfront.dev/internal/testenv"
)

// deploymentEdge serves three primaries with their staging distributions,
// each side's origin requests marked X-Side, through a cache: "site" sends
// requests with aws-cf-cd-canary: on to staging, "shop" 10 % of them,
// sticky, and "zero" none (weight 0). The origin answers with the side,
// the path and the cookies it got, cacheable.
func deploymentEdge(t *testing.T, logDir string) (h *Handler, url string, originHits *atomic.Int64) {
	t.Helper()
	originHits = new(atomic.Int64)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		originHits.Add(1)
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "%s %s cookie=%q", r.Header.Get("X-Side"), r.URL.Path, r.Header.Get("Cookie"))
	}))
	t.Cleanup(app.Close)
	host := strings.TrimPrefix(app.URL, "http://")
	dist := func(id, side, extra string) string {
		return fmt.Sprintf(`distributions: %q: {
	%s
	origins: [{id: "app", domainName: %q, customHeaders: [{headerName: "X-Side", headerValue: %q}], customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: cookies: forward: "all"}
}
`, id, extra, host, side)
	}
	src := "package cdn\n\n" +
		dist("site", "primary", `aliases: ["site.test"], continuousDeploymentPolicyId: "header", logging: {enabled: true, prefix: "primary/"}`) +
		dist("site-staging", "staging", `staging: true, logging: {enabled: true, prefix: "staging/"}`) +
		dist("shop", "primary", `aliases: ["shop.test"], continuousDeploymentPolicyId: "weight"`) +
		dist("shop-staging", "staging", "staging: true") +
		dist("zero", "primary", `aliases: ["zero.test"], continuousDeploymentPolicyId: "zero"`) +
		dist("zero-staging", "staging", "staging: true") + `
continuousDeploymentPolicies: header: {
	stagingDistributionId: "site-staging"
	trafficConfig: {type: "SingleHeader", singleHeaderConfig: {header: "aws-cf-cd-canary", value: "on"}}
}
continuousDeploymentPolicies: weight: {
	stagingDistributionId: "shop-staging"
	trafficConfig: {type: "SingleWeight", singleWeightConfig: {weight: 0.1, sessionStickinessConfig: {idleTTL: 300, maximumTTL: 600}}}
}
continuousDeploymentPolicies: zero: {
	stagingDistributionId: "zero-staging"
	trafficConfig: {type: "SingleWeight", singleWeightConfig: weight: 0}
}
`
	dir := t.TempDir()
	h = New(origin.NewPool(dir), "test-node", slog.New(slog.DiscardHandler))
	h.SetCache(testCache(t))
	if err := h.Register(prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	tb := testenv.Compile(t, dir, src)
	if logDir != "" {
		logInto(t, h, tb, accesslog.Options{Dir: logDir, NodeName: "EDGE1", Registerer: prometheus.NewRegistry()})
	}
	h.SetTable(tb)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return h, srv.URL, originHits
}

// TestDeploymentHeader: a request with the policy's header and value is
// served by staging, from staging's own cache entries and origin, and
// counted and logged under staging's id and logging config; others by
// the primary.
func TestDeploymentHeader(t *testing.T) {
	logDir := t.TempDir()
	h, url, originHits := deploymentEdge(t, logDir)
	canary := http.Header{"Aws-Cf-Cd-Canary": {"on"}}
	steps := []struct {
		name   string
		hdr    http.Header
		body   string
		xcache string
		hits   int64
	}{
		{"primary", nil, `primary /a cookie=""`, cacheMiss, 1},
		{"primary, cached", nil, `primary /a cookie=""`, cacheHit, 0},
		{"header: staging, its own cache", canary, `staging /a cookie=""`, cacheMiss, 1},
		{"header again: staging's entry", canary, `staging /a cookie=""`, cacheHit, 0},
		{"another value: primary", http.Header{"Aws-Cf-Cd-Canary": {"off"}}, `primary /a cookie=""`, cacheHit, 0},
	}
	for _, s := range steps {
		before := originHits.Load()
		resp, body := hostRequest(t, url, "GET", "/a", "site.test", s.hdr, nil)
		if body != s.body || resp.Header.Get("X-Cache") != s.xcache || originHits.Load()-before != s.hits {
			t.Errorf("%s: %q, X-Cache %q, %d origin requests; want %q, %q, %d", s.name, body, resp.Header.Get("X-Cache"), originHits.Load()-before, s.body, s.xcache, s.hits)
		}
		if c := resp.Header.Get("Set-Cookie"); c != "" {
			t.Errorf("%s: Set-Cookie %q from a header policy", s.name, c)
		}
	}
	if got := testutil.ToFloat64(h.metrics.requests.WithLabelValues("site-staging", "2xx", "Hit", "http1.1")); got != 1 {
		t.Errorf("site-staging's hits counted %v, want 1", got)
	}
	h.logs.Close(context.Background())
	for dir, want := range map[string]int{"primary": 3, "staging": 2} {
		if n := len(readLogLines(t, filepath.Join(logDir, dir))); n != want {
			t.Errorf("%d lines in the %s log, want %d", n, dir, want)
		}
	}
}

// TestDeploymentWeight: with a fixed random source, the share below the
// weight goes to staging; a sticky viewer keeps its side by the cookie
// whatever the draw, and the origin never sees the cookie; weight 0 sends
// nothing to staging.
func TestDeploymentWeight(t *testing.T) {
	h, url, _ := deploymentEdge(t, "")
	var draw float64
	h.random = func() float64 { return draw }
	get := func(host, path, cookie string) (side, setCookie string) {
		t.Helper()
		var hdr http.Header
		if cookie != "" {
			hdr = http.Header{"Cookie": {cookie}}
		}
		resp, body := hostRequest(t, url, "GET", path, host, hdr, nil)
		side, _, _ = strings.Cut(body, " ")
		if strings.Contains(body, table.StickyCookie) {
			t.Errorf("the origin got the sticky cookie: %q", body)
		}
		setCookie, _, _ = strings.Cut(resp.Header.Get("Set-Cookie"), ";")
		return side, setCookie
	}
	draw = 0.05
	side, staging := get("shop.test", "/1", "")
	if side != "staging" || !strings.HasPrefix(staging, table.StickyCookie+"=s.") {
		t.Fatalf("draw 0.05 of weight 0.1: %s, Set-Cookie %q; want staging and its cookie", side, staging)
	}
	draw = 0.99
	if side, again := get("shop.test", "/2", staging+"; other=1"); side != "staging" || again != staging {
		t.Errorf("sticky viewer, draw 0.99: %s, Set-Cookie %q; want staging, %q", side, again, staging)
	}
	side, primary := get("shop.test", "/3", "")
	if side != "primary" || !strings.HasPrefix(primary, table.StickyCookie+"=p.") {
		t.Errorf("draw 0.99 of weight 0.1: %s, Set-Cookie %q; want primary and its cookie", side, primary)
	}
	draw = 0.01
	if side, _ := get("shop.test", "/4", primary); side != "primary" {
		t.Errorf("sticky viewer on primary, draw 0.01: %s", side)
	}
	if side, _ := get("shop.test", "/5", table.StickyCookie+"=s.1.bogus"); side != "staging" {
		t.Errorf("a foreign cookie, draw 0.01: %s, want a new draw (staging)", side)
	}
	draw = 0
	if side, c := get("zero.test", "/1", ""); side != "primary" || c != "" {
		t.Errorf("weight 0: %s, Set-Cookie %q; want primary, none", side, c)
	}
}

// TestDeploymentUnreachable: the staging distribution has no host of its
// own, and a disabled primary's requests are refused, the header's too.
func TestDeploymentUnreachable(t *testing.T) {
	h, url, _ := deploymentEdge(t, "")
	resp, _ := hostRequest(t, url, "GET", "/a", "site-staging", nil, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("Host site-staging: %d, want 403", resp.StatusCode)
	}
	disable(t, h, []string{"site"}, nil)
	resp, body := hostRequest(t, url, "GET", "/a", "site.test", http.Header{"Aws-Cf-Cd-Canary": {"on"}}, nil)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("disabled primary, with the header: %d %q, want 403", resp.StatusCode, body)
	}
}

// TestDeploymentStagingDisabled: a disabled staging distribution serves
// nothing, so its policy sends nothing there: the requests it would have
// drawn, or that carry its header, are the primary's, not refused 403.
func TestDeploymentStagingDisabled(t *testing.T) {
	h, url, _ := deploymentEdge(t, "")
	h.random = func() float64 { return 0 } // every draw under the weight
	disable(t, h, []string{"site-staging", "shop-staging"}, nil)
	for _, c := range []struct {
		name, host string
		hdr        http.Header
		setCookie  string
	}{
		{"header policy, with the header", "site.test", http.Header{"Aws-Cf-Cd-Canary": {"on"}}, ""},
		{"sticky weight, drawn", "shop.test", nil, ""},
		{"sticky weight, staging session: ended", "shop.test", http.Header{"Cookie": {table.StickyCookie + "=s.1.x"}}, table.EndedSession},
	} {
		resp, body := hostRequest(t, url, "GET", "/d", c.host, c.hdr, nil)
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "primary ") {
			t.Errorf("%s: %d %q, want 200 from the primary", c.name, resp.StatusCode, body)
		}
		if sc := resp.Header.Get("Set-Cookie"); sc != c.setCookie {
			t.Errorf("%s: Set-Cookie %q, want %q", c.name, sc, c.setCookie)
		}
	}
}

// TestDeploymentSessionsEnd: CloudFront resets all sessions when a policy
// or its stickiness is disabled or enabled (understanding-continuous-
// deployment). While a primary's policy is disabled or not sticky, the
// edge takes the openfront-cd cookie out of the request, so neither the
// origin nor the cache key sees it, and expires it: the viewer's next
// sticky request starts a new session.
func TestDeploymentSessionsEnd(t *testing.T) {
	h, url, _ := deploymentEdge(t, "")
	h.random = func() float64 { return 0.99 } // every draw the primary's
	session := table.StickyCookie + "=s." + strconv.FormatInt(time.Now().Unix(), 10) + "." + h.Table().Deployment("shop").Session
	disable(t, h, nil, []string{"weight"})
	for _, c := range []struct{ name, host string }{
		{"sticky policy disabled", "shop.test"},
		{"weight without stickiness", "zero.test"},
		{"header policy", "site.test"},
	} {
		resp, body := hostRequest(t, url, "GET", "/e", c.host, http.Header{"Cookie": {"theme=dark; " + session}}, nil)
		if !strings.HasPrefix(body, `primary /e cookie="theme=dark"`) {
			t.Errorf("%s: %q, want the primary's answer to a request without %s", c.name, body, table.StickyCookie)
		}
		if sc := resp.Header.Get("Set-Cookie"); sc != table.EndedSession {
			t.Errorf("%s: Set-Cookie %q, want %q", c.name, sc, table.EndedSession)
		}
		resp, _ = hostRequest(t, url, "GET", "/e", c.host, http.Header{"Cookie": {"theme=dark"}}, nil)
		if sc := resp.Header.Get("Set-Cookie"); sc != "" {
			t.Errorf("%s, no session: Set-Cookie %q", c.name, sc)
		}
	}
}

// disable rebuilds h's table with the distributions and continuous
// deployment policies named disabled (enabled: false).
func disable(t *testing.T, h *Handler, dists, policies []string) {
	t.Helper()
	cfg := *h.Table().Config()
	cfg.Distributions = maps.Clone(cfg.Distributions)
	cfg.ContinuousDeploymentPolicies = maps.Clone(cfg.ContinuousDeploymentPolicies)
	for _, id := range dists {
		d := *cfg.Distributions[id]
		d.Enabled = false
		cfg.Distributions[id] = &d
	}
	for _, name := range policies {
		p := *cfg.ContinuousDeploymentPolicies[name]
		p.Enabled = false
		cfg.ContinuousDeploymentPolicies[name] = &p
	}
	next, err := table.Build(&cfg, table.Source{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.SetTable(next)
}
