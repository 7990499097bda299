package edge

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"openfront.dev/daemon/access"
	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/origin"
	"openfront.dev/daemon/ratelimit"
	"openfront.dev/internal/testenv"
)

const wafTestConfig = `package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %[1]q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
	webACLId: "acl"
	continuousDeploymentPolicyId: "canary"
}
// Staging has no web ACL of its own: the primary's still sees its requests.
distributions: "site-staging": {
	staging: true
	origins: [{id: "app", domainName: %[1]q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
}
continuousDeploymentPolicies: canary: {
	stagingDistributionId: "site-staging"
	trafficConfig: {type: "SingleHeader", singleHeaderConfig: {header: "aws-cf-cd-canary", value: "on"}}
}
distributions: plain: {
	aliases: ["plain.test"]
	origins: [{id: "app", domainName: %[1]q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
}

ipSets: bad: {ipAddressVersion: "IPV4", addresses: ["203.0.113.0/24"]}
ipSets: office: {ipAddressVersion: "IPV4", addresses: ["203.0.113.7/32"]}

_path: {
	#s: string
	#p: string
	byteMatchStatement: {searchString: #s, fieldToMatch: uriPath: {}, positionalConstraint: #p,
		textTransformations: [{priority: 0, type: "NONE"}]}
}

webACLs: acl: {
	defaultAction: allow: {}
	rules: [{
		name: "bad-ips", priority: 1, action: block: {}
		statement: ipSetReferenceStatement: arn: "bad"
	}, {
		name: "embargo", priority: 2, action: block: {}
		statement: geoMatchStatement: countryCodes: ["DE"]
	}, {
		name: "admin", priority: 3, action: block: customResponse: responseCode: 404
		statement: _path & {#s: "/admin", #p: "STARTS_WITH"}
	}, {
		name: "watch", priority: 4, action: count: {}
		statement: _path & {#s: "watch", #p: "CONTAINS"}
	}, {
		name: "per-ip", priority: 5, action: block: {}
		statement: rateBasedStatement: {limit: 10, evaluationWindowSec: 60,
			scopeDownStatement: _path & {#s: "/rate/", #p: "STARTS_WITH"}}
	}, {
		name: "per-client", priority: 6, action: block: {}
		statement: rateBasedStatement: {limit: 10, evaluationWindowSec: 60, aggregateKeyType: "FORWARDED_IP",
			forwardedIPConfig: {headerName: "x-client-ip", fallbackBehavior: "MATCH"}
			scopeDownStatement: _path & {#s: "/fwd/", #p: "STARTS_WITH"}}
	}, {
		name: "sqli", priority: 7, action: block: {}
		statement: sqliMatchStatement: {fieldToMatch: queryString: {}, textTransformations: [{priority: 0, type: "URL_DECODE"}]}
	}, {
		name: "xss", priority: 8, action: block: {}
		statement: xssMatchStatement: {fieldToMatch: queryString: {}, textTransformations: [{priority: 0, type: "URL_DECODE"}]}
	}, {
		// Behind another proxy that names its viewer in X-Edge-Client.
		name: "proxied-fr", priority: 9, action: block: {}
		statement: geoMatchStatement: {countryCodes: ["FR"], forwardedIPConfig: {headerName: "X-Edge-Client", fallbackBehavior: "NO_MATCH"}}
	}, {
		name: "proxied-bad", priority: 10, action: block: {}
		statement: ipSetReferenceStatement: {arn: "bad", ipSetForwardedIPConfig: {headerName: "X-Edge-Client", fallbackBehavior: "MATCH", position: "LAST"}}
	}, {
		name: "per-api-key", priority: 11, action: block: {}
		statement: rateBasedStatement: {limit: 10, evaluationWindowSec: 60, aggregateKeyType: "CUSTOM_KEYS",
			customKeys: [{header: {name: "x-api-key", textTransformations: [{priority: 0, type: "NONE"}]}}]
			scopeDownStatement: _path & {#s: "/api/", #p: "STARTS_WITH"}}
	}, {
		// The embargo rule's geo match labels every viewer's country.
		name: "fr-beta", priority: 12, action: block: customResponse: responseCode: 451
		statement: andStatement: statements: [
			{labelMatchStatement: {scope: "LABEL", key: "awswaf:clientip:geo:country:FR"}},
			_path & {#s: "/beta/", #p: "STARTS_WITH"},
		]
	}, {
		// Listed last, evaluated first: priority orders rules.
		name: "office", priority: 0, action: allow: {}
		statement: ipSetReferenceStatement: arn: "office"
	}]
}
`

// wafEnv is an edge whose distribution site has a web ACL, behind a
// trusted proxy (X-Forwarded-For names the viewer), with a country
// database and a clock the test moves.
type wafEnv struct {
	h    *Handler
	now  time.Time
	addr string
}

func newWAFEnv(t *testing.T) *wafEnv {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(appOrigin))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	addr := app.Listener.Addr().String()
	tbl := testenv.Compile(t, dir, fmt.Sprintf(wafTestConfig, addr))
	geoPath := filepath.Join(dir, "geo.mmdb")
	testenv.WriteGeoDB(t, geoPath, map[string]mmdbtype.Map{"81.0.0.0/8": testenv.Country("FR"), "85.0.0.0/8": testenv.Country("DE")})
	geo, err := access.OpenGeoDB(geoPath)
	if err != nil {
		t.Fatal(err)
	}
	e := &wafEnv{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC), addr: addr}
	e.h = New(origin.NewPool(dir), "waf-node", slog.New(slog.DiscardHandler))
	e.h.SetViewerIdentity([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, geo)
	e.h.rates = ratelimit.New(maxRateKeys, func() time.Time { return e.now })
	e.h.SetTable(tbl)
	return e
}

// get sends GET path to host from viewer (X-Forwarded-For) with header.
func (e *wafEnv) get(host, path, viewer string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "http://"+host+path, nil)
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("X-Forwarded-For", viewer)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

func (e *wafEnv) counted(rule, action string) float64 {
	return testutil.ToFloat64(e.h.metrics.waf.WithLabelValues("site", "acl", rule, action))
}

func TestWebACLMatches(t *testing.T) {
	e := newWAFEnv(t)
	for _, c := range []struct {
		name, path, viewer string
		status             int
	}{
		{"an address in the IP set is blocked", "/a", "203.0.113.9", 403},
		{"a lower priority allow decides first", "/a", "203.0.113.7", 200},
		{"a country in the geo match is blocked", "/a", "85.1.2.3", 403},
		{"another country is served", "/a", "81.1.2.3", 200},
		{"a byte match on the path answers its custom response code", "/admin/users", "198.51.100.1", 404},
		{"a byte match is case-sensitive without LOWERCASE", "/Admin/users", "198.51.100.1", 200},
		// The behavior and the origin see these as /admin/users: so does
		// the web ACL, not only the raw path AWS WAF inspects.
		{"a dot-dot segment does not get past a path rule", "/x/../admin/users", "198.51.100.1", 404},
		{"a double slash does not get past a path rule", "//admin/users", "198.51.100.1", 404},
		{"a dot segment does not get past a path rule", "/./admin/users", "198.51.100.1", 404},
		{"an escaped letter does not get past a path rule", "/%61dmin/users", "198.51.100.1", 404},
		// An origin that decodes %2F merges the "//" it makes (nginx).
		// (/x%2F..%2Fadmin the edge refuses before the web ACL.)
		{"an escaped slash does not get past a path rule", "/%2Fadmin/users", "198.51.100.1", 404},
		{"the default action allows", "/a", "198.51.100.1", 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := e.get("site.test", c.path, c.viewer, nil)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d; body %q", w.Code, c.status, w.Body.String())
			}
			if c.status != 200 {
				if got := w.Header().Get("X-Cache"); got != cacheError {
					t.Errorf("X-Cache %q, want %q", got, cacheError)
				}
				if !strings.Contains(w.Body.String(), "web ACL") || w.Body.Len() > 300 {
					t.Errorf("body %q, want a short one naming the web ACL", w.Body.String())
				}
			}
		})
	}
	for rule, want := range map[string]float64{"bad-ips": 1, "embargo": 1, "admin": 6} {
		if got := e.counted(rule, "block"); got != want {
			t.Errorf("openfront_waf_requests_total{rule=%q,action=block} = %v, want %v", rule, got, want)
		}
	}
	if got := e.counted("office", "allow"); got != 1 {
		t.Errorf("office allows counted %v, want 1", got)
	}
	if got := e.counted("default", "allow"); got != 3 {
		t.Errorf("default allows counted %v, want 3", got)
	}
}

// A geo and an IP set statement with a forwarded address inspect the
// header's, looked up in the node's country database, not the viewer's.
func TestWebACLForwardedAddress(t *testing.T) {
	e := newWAFEnv(t)
	for _, c := range []struct {
		name, client string // client: X-Edge-Client, "" for none
		status       int
	}{
		{"no header: the rules do not apply", "", 200},
		{"a forwarded address in France", "81.1.2.3", 403},
		{"only the first address is a geo statement's", "198.51.100.1, 81.1.2.3", 200},
		{"the last address is in the IP set", "198.51.100.1, 203.0.113.9", 403},
		{"the last address is not", "203.0.113.9, 198.51.100.1", 200},
		{"no valid last address: fallbackBehavior MATCH", "198.51.100.1, bogus", 403},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{}
			if c.client != "" {
				h["X-Edge-Client"] = c.client
			}
			// The viewer itself is in neither France nor the set.
			if w := e.get("site.test", "/a", "198.51.100.1", h); w.Code != c.status {
				t.Errorf("status %d, want %d", w.Code, c.status)
			}
		})
	}
}

// SQL injection and XSS in the query string, found by libinjection
// after the rule's URL_DECODE, are blocked; a harmless query is served.
func TestWebACLInjection(t *testing.T) {
	e := newWAFEnv(t)
	for _, c := range []struct {
		query  string
		status int
		rule   string
	}{
		{"id=1%27%20OR%201%3D1--", 403, "sqli"},
		{"q=%3Cscript%3Ealert(1)%3C/script%3E", 403, "xss"},
		{"q=fish%20and%20chips&page=2", 200, ""},
	} {
		w := e.get("site.test", "/a?"+c.query, "198.51.100.1", nil)
		if w.Code != c.status {
			t.Errorf("?%s: status %d, want %d", c.query, w.Code, c.status)
		}
		if c.rule != "" && e.counted(c.rule, "block") != 1 {
			t.Errorf("?%s: rule %s's blocks counted %v, want 1", c.query, c.rule, e.counted(c.rule, "block"))
		}
	}
}

// A viewer that asks for the staging distribution (its header, or a
// sticky cookie it writes) gets no way past the primary's web ACL: WAF is
// in front of the host the viewer named.
func TestWebACLStagingBehindThePrimarys(t *testing.T) {
	e := newWAFEnv(t)
	canary := map[string]string{"aws-cf-cd-canary": "on"}
	if w := e.get("site.test", "/a", "198.51.100.1", canary); w.Code != 200 {
		t.Fatalf("staging: status %d, want 200", w.Code)
	}
	for _, c := range []struct{ path, viewer string }{{"/admin/users", "198.51.100.1"}, {"/a", "203.0.113.9"}} {
		if w := e.get("site.test", c.path, c.viewer, canary); w.Code == 200 {
			t.Errorf("%s from %s to staging: status 200, want the primary's web ACL to block it", c.path, c.viewer)
		}
	}
}

// A geo match statement labels the viewer's country whether it matches
// or not (waf-rule-statement-type-geo-match): a later rule blocks on it.
func TestWebACLGeoLabel(t *testing.T) {
	e := newWAFEnv(t)
	for _, c := range []struct {
		viewer string
		status int
	}{{"81.1.2.3", 451}, {"198.51.100.1", 200}} {
		if w := e.get("site.test", "/beta/x", c.viewer, nil); w.Code != c.status {
			t.Errorf("/beta/x from %s: status %d, want %d", c.viewer, w.Code, c.status)
		}
	}
}

func TestWebACLCountServes(t *testing.T) {
	e := newWAFEnv(t)
	if w := e.get("site.test", "/watch/me", "198.51.100.1", nil); w.Code != 200 {
		t.Fatalf("status %d, want 200: count lets the request go on", w.Code)
	}
	if got := e.counted("watch", "count"); got != 1 {
		t.Errorf("count rule counted %v, want 1", got)
	}
	if got := e.counted("default", "allow"); got != 1 {
		t.Errorf("default allows %v, want 1: after a count rule, evaluation goes on", got)
	}
}

func TestWebACLRateLimit(t *testing.T) {
	e := newWAFEnv(t)
	for i := range 10 {
		if w := e.get("site.test", "/rate/x", "198.51.100.1", nil); w.Code != 200 {
			t.Fatalf("request %d of the limit of 10: status %d", i+1, w.Code)
		}
		e.now = e.now.Add(time.Second)
	}
	if w := e.get("site.test", "/rate/x", "198.51.100.1", nil); w.Code != 403 {
		t.Fatalf("the 11th request in 60 s: status %d, want 403", w.Code)
	}
	if w := e.get("site.test", "/rate/x", "198.51.100.2", nil); w.Code != 200 {
		t.Errorf("another viewer: status %d, want 200 (counted per IP)", w.Code)
	}
	if w := e.get("site.test", "/other", "198.51.100.1", nil); w.Code != 200 {
		t.Errorf("outside the scope-down statement: status %d, want 200", w.Code)
	}
	e.now = e.now.Add(20 * time.Second)
	if w := e.get("site.test", "/rate/x", "198.51.100.1", nil); w.Code != 403 {
		t.Errorf("within the window: status %d, want 403", w.Code)
	}
	e.now = e.now.Add(2 * time.Minute)
	if w := e.get("site.test", "/rate/x", "198.51.100.1", nil); w.Code != 200 {
		t.Errorf("after the window: status %d, want 200", w.Code)
	}
	if got := e.counted("per-ip", "block"); got != 2 {
		t.Errorf("rate blocks counted %v, want 2", got)
	}
}

func TestWebACLRateForwardedIP(t *testing.T) {
	e := newWAFEnv(t)
	// Without the header the rule does not apply at all
	// (API_ForwardedIPConfig).
	for i := range 15 {
		if w := e.get("site.test", "/fwd/x", "198.51.100.1", nil); w.Code != 200 {
			t.Fatalf("request %d without X-Client-IP: status %d, want 200", i+1, w.Code)
		}
	}
	// With it, the header's first address is counted, whatever the
	// viewer's address.
	for i := range 10 {
		viewer := fmt.Sprintf("198.51.100.%d", 10+i)
		if w := e.get("site.test", "/fwd/x", viewer, map[string]string{"X-Client-IP": "192.0.2.1, 10.0.0.1"}); w.Code != 200 {
			t.Fatalf("request %d for 192.0.2.1: status %d, want 200", i+1, w.Code)
		}
	}
	if w := e.get("site.test", "/fwd/x", "198.51.100.99", map[string]string{"X-Client-IP": "192.0.2.1"}); w.Code != 403 {
		t.Errorf("the 11th request for 192.0.2.1: status %d, want 403", w.Code)
	}
	if w := e.get("site.test", "/fwd/x", "198.51.100.1", map[string]string{"X-Client-IP": "192.0.2.2"}); w.Code != 200 {
		t.Errorf("another forwarded address: status %d, want 200", w.Code)
	}
	// No valid address: fallbackBehavior MATCH applies the rule's action.
	if w := e.get("site.test", "/fwd/x", "198.51.100.1", map[string]string{"X-Client-IP": "not-an-ip"}); w.Code != 403 {
		t.Errorf("an invalid address with fallbackBehavior MATCH: status %d, want 403", w.Code)
	}
}

// A rate rule keyed on a header counts each API key apart, whatever the
// viewer's address; a request without the header is not counted.
func TestWebACLRateCustomKeys(t *testing.T) {
	e := newWAFEnv(t)
	for _, c := range []struct {
		name, key string // key: X-Api-Key, "" for none
		n, status int    // n requests, the last answered status
	}{
		{"k1 up to its limit, from many addresses", "k1", 10, 200},
		{"k1 past it", "k1", 1, 403},
		{"k2 is still served", "k2", 10, 200},
		{"no key: not counted", "", 20, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := map[string]string{}
			if c.key != "" {
				h["X-Api-Key"] = c.key
			}
			var w *httptest.ResponseRecorder
			for i := range c.n {
				w = e.get("site.test", "/api/x", fmt.Sprintf("198.51.100.%d", i+1), h)
			}
			if w.Code != c.status {
				t.Errorf("status %d, want %d", w.Code, c.status)
			}
		})
	}
}

func TestWebACLRateTableBounded(t *testing.T) {
	e := newWAFEnv(t)
	e.h.rates = ratelimit.New(64, func() time.Time { return e.now })
	for i := range 2000 {
		e.get("site.test", "/rate/x", fmt.Sprintf("10.%d.%d.1", i/256, i%256), nil)
	}
	if n := e.h.rates.Len(); n == 0 || n > 64 {
		t.Errorf("%d addresses counted after a flood of 2000, want at most 64", n)
	}
}

func TestNoWebACLNoCount(t *testing.T) {
	e := newWAFEnv(t)
	if w := e.get("plain.test", "/a", "203.0.113.9", nil); w.Code != 200 {
		t.Fatalf("a distribution without a web ACL: status %d", w.Code)
	}
	if n := e.h.metrics.waf.DeletePartialMatch(prometheus.Labels{"distribution": "plain"}); n != 0 {
		t.Errorf("%d web ACL series for a distribution without one", n)
	}
}

// A new table with the same rule keeps its counts: a config push does
// not reset a viewer's rate.
func TestWebACLRateKeptAcrossTables(t *testing.T) {
	e := newWAFEnv(t)
	for range 11 {
		e.get("site.test", "/rate/x", "198.51.100.1", nil)
	}
	e.h.SetTable(testenv.Compile(t, t.TempDir(), fmt.Sprintf(wafTestConfig, e.addr)))
	if w := e.get("site.test", "/rate/x", "198.51.100.1", nil); w.Code != 403 {
		t.Errorf("after a new table: status %d, want 403", w.Code)
	}
}

// Each rule's decision, and the default action's, shows at 0 once the
// web ACL is served, so that increase() of a block rule's series fires on
// its first block (a series born at 1 has no increase).
func TestWebACLDecisionsShowAtZero(t *testing.T) {
	e := newWAFEnv(t)
	for _, c := range []struct{ rule, action string }{
		{"bad-ips", "block"}, {"admin", "block"}, {"per-ip", "block"}, {"watch", "count"}, {"office", "allow"}, {"default", "allow"},
	} {
		if v, ok := e.series()[c.rule+" "+c.action]; !ok || v != 0 {
			t.Errorf("openfront_waf_requests_total{rule=%q,action=%q} before any request: %v (present: %v), want 0", c.rule, c.action, v, ok)
		}
	}
}

// series are openfront_waf_requests_total's values by "rule action".
func (e *wafEnv) series() map[string]float64 {
	ch := make(chan prometheus.Metric, 100)
	go func() { e.h.metrics.waf.Collect(ch); close(ch) }()
	out := map[string]float64{}
	for m := range ch {
		var pb dto.Metric
		m.Write(&pb)
		l := map[string]string{}
		for _, p := range pb.GetLabel() {
			l[p.GetName()] = p.GetValue()
		}
		out[l["rule"]+" "+l["action"]] = pb.GetCounter().GetValue()
	}
	return out
}

// A rule that leaves the web ACL, and a web ACL that leaves its
// distribution, leave no series behind.
func TestWebACLSeriesFollowTable(t *testing.T) {
	e := newWAFEnv(t)
	e.get("site.test", "/a", "203.0.113.9", nil)
	e.get("site.test", "/a", "198.51.100.1", nil)
	const series = 14 // the 13 rules' decisions and the default's
	if n := testutil.CollectAndCount(e.h.metrics.waf); n != series {
		t.Fatalf("%d series, want %d", n, series)
	}
	without := strings.Replace(wafTestConfig, `name: "bad-ips", priority: 1`, `name: "bad-ips-v2", priority: 1`, 1)
	e.h.SetTable(testenv.Compile(t, t.TempDir(), fmt.Sprintf(without, e.addr)))
	if n := testutil.CollectAndCount(e.h.metrics.waf); n != series {
		t.Errorf("%d series after the rule was renamed, want %d", n, series)
	}
	if v, ok := e.series()["bad-ips block"]; ok {
		t.Errorf("the renamed rule's old name still counts %v", v)
	}
	// A rule whose action changes shows its new action at 0, not the
	// old one's series.
	blocking := strings.Replace(without, `name: "watch", priority: 4, action: count: {}`, `name: "watch", priority: 4, action: block: {}`, 1)
	e.h.SetTable(testenv.Compile(t, t.TempDir(), fmt.Sprintf(blocking, e.addr)))
	if n := testutil.CollectAndCount(e.h.metrics.waf); n != series {
		t.Errorf("%d series after a rule's action changed, want %d", n, series)
	}
	if v, ok := e.series()["watch block"]; !ok || v != 0 {
		t.Errorf("the rule's new action: %v (present %v), want 0", v, ok)
	}
	if v, ok := e.series()["watch count"]; ok {
		t.Errorf("the rule's old action still shows %v", v)
	}
	none := strings.Replace(wafTestConfig, `webACLId: "acl"`, ``, 1)
	e.h.SetTable(testenv.Compile(t, t.TempDir(), fmt.Sprintf(none, e.addr)))
	if n := testutil.CollectAndCount(e.h.metrics.waf); n != 0 {
		t.Errorf("%d series after the distribution lost its web ACL, want 0", n)
	}
}

// A custom rate key a viewer makes long (its API key header) is kept as
// its SHA-256: the rate table's memory stays bounded.
func TestCustomRateKeyBounded(t *testing.T) {
	long1, long2 := strings.Repeat("a", 8000), strings.Repeat("a", 7999)+"b"
	for _, c := range []struct {
		key  string
		size int
	}{
		{"2:k1", 4},
		{strings.Repeat("x", maxCustomRateKey), maxCustomRateKey},
		{long1, 32},
	} {
		if got := customRateKey(c.key); len(got) != c.size {
			t.Errorf("%d bytes kept as %d, want %d", len(c.key), len(got), c.size)
		}
	}
	if customRateKey(long1) == customRateKey(long2) {
		t.Error("two long keys counted as one")
	}
}

const wafInsertAllocsConfig = `package cdn

_d: {
	origins: [{id: "origin", domainName: "127.0.0.1", customOriginConfig: {originProtocolPolicy: "http-only", httpPort: %[1]s}}]
	defaultCacheBehavior: {targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400}
}
distributions: plain: _d & {aliases: ["plain.test"], webACLId: "plain"}
distributions: tagged: _d & {aliases: ["tagged.test"], webACLId: "tagging"}
webACLs: plain: defaultAction: allow: {}
webACLs: tagging: defaultAction: allow: customRequestHandling: insertHeaders: [{name: "verdict", value: "allowed"}]
`

// The headers a web ACL inserts go to the origin request beside the
// viewer's request, not in a copy of it: a cache hit, which makes no
// origin request, allocates no more for them.
func TestWebACLInsertsCostAHitNothing(t *testing.T) {
	h, tb, _ := benchEdge(t, wafInsertAllocsConfig)
	h.SetTable(tb)
	allocs := func(host string) float64 {
		r := httptest.NewRequest(http.MethodGet, "http://"+host+"/obj/1k/allocs", nil)
		r.RemoteAddr = "127.0.0.1:40000"
		w := &discardWriter{}
		w.serve(h, r)
		w.serve(h, r)
		if x := w.h.Get("X-Cache"); x != cache.XCacheHit {
			t.Fatalf("%s: X-Cache %q, want a hit", host, x)
		}
		return testing.AllocsPerRun(200, func() { w.serve(h, r) })
	}
	if plain, tagged := allocs("plain.test"), allocs("tagged.test"); tagged != plain {
		t.Errorf("a hit allocates %v times through a web ACL that inserts a header, %v through one that does not", tagged, plain)
	}
}

const wafPageConfig = `package cdn

distributions: spa: {
	aliases: ["spa.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
	// A single-page app: its 403s and 404s are its index, with 200.
	customErrorResponses: [{errorCode: 403, responsePagePath: "/index.html", responseCode: 200}]
	webACLId: "guard"
}
_path: {
	#s: string
	byteMatchStatement: {searchString: #s, fieldToMatch: uriPath: {}, positionalConstraint: "STARTS_WITH",
		textTransformations: [{priority: 0, type: "NONE"}]}
}
webACLs: guard: {
	defaultAction: allow: {}
	rules: [{
		name: "private", priority: 0, action: block: {}
		statement: _path & {#s: "/private"}
	}, {
		name: "admin", priority: 1
		action: block: customResponse: {responseCode: 403, responseHeaders: [{name: "X-Blocked-By", value: "admin"}]}
		statement: _path & {#s: "/admin"}
	}, {
		name: "gone", priority: 2, action: block: customResponse: responseCode: 404
		statement: _path & {#s: "/gone"}
	}]
}
`

// appEdge is an edge with config, a format whose %q is the address of
// an appOrigin.
func appEdge(t *testing.T, config string) *Handler {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(appOrigin))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	h := New(origin.NewPool(dir), "waf-node", slog.New(slog.DiscardHandler))
	h.SetTable(testenv.Compile(t, dir, fmt.Sprintf(config, app.Listener.Addr().String())))
	return h
}

// WAF's default 403 gets the distribution's error page for 403, as any
// 403 of CloudFront's; a block whose customResponse is enabled does not,
// even without a body: "If the AWS WAF Block action has a custom response
// enabled, the protected resource sends the configured custom response
// back to the client. Any response settings that you might have defined
// in the protected resource itself have no effect"
// (customizing-the-response-for-blocked-requests). A single-page app's
// 403-to-200 page would otherwise answer a blocked request with 200.
func TestWebACLCustomResponseOverErrorPage(t *testing.T) {
	h := appEdge(t, wafPageConfig)
	for _, c := range []struct {
		path      string
		status    int
		page      bool   // the body is the error page's (the origin's /index.html)
		blockedBy string // X-Blocked-By
	}{
		{"/private/a", 200, true, ""},
		{"/admin/a", 403, false, "admin"},
		{"/gone/a", 404, false, ""},
	} {
		r := httptest.NewRequest(http.MethodGet, "http://spa.test"+c.path, nil)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		page := strings.Contains(w.Body.String(), `"/index.html"`)
		if w.Code != c.status || page != c.page || w.Header().Get("X-Blocked-By") != c.blockedBy {
			t.Errorf("%s: status %d, error page %v, X-Blocked-By %q; want %d, %v, %q (body %q)",
				c.path, w.Code, page, w.Header().Get("X-Blocked-By"), c.status, c.page, c.blockedBy, w.Body.String())
		}
	}
}

const wafBodySizeConfig = `package cdn

distributions: up: {
	aliases: ["up.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all",
		allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]}
	webACLId: "guard"
}
_bodySize: {
	#path: string
	#size: int
	andStatement: statements: [{
		byteMatchStatement: {searchString: #path, fieldToMatch: uriPath: {}, positionalConstraint: "STARTS_WITH",
			textTransformations: [{priority: 0, type: "NONE"}]}
	}, {
		sizeConstraintStatement: {fieldToMatch: body: oversizeHandling: "CONTINUE", comparisonOperator: "GT", size: #size,
			textTransformations: [{priority: 0, type: "NONE"}]}
	}]
}
webACLs: guard: {
	defaultAction: allow: {}
	rules: [{
		// Blocks a body past the 16 KB inspected, whose first 16,384
		// bytes it sees.
		name: "strict", priority: 0, action: block: {}
		statement: _bodySize & {#path: "/strict/", #size: 16383}
	}, {
		// Never matches on WAF: it sees 16,384 bytes at most.
		name: "loose", priority: 1, action: block: {}
		statement: _bodySize & {#path: "/loose/", #size: 20000}
	}]
}
`

// A size constraint on the body compares the bytes WAF inspects, the
// first 16 KB of a larger body, not the size the viewer declares: "This
// statement uses the size of the component that AWS WAF receives for
// inspection. For body, header, and cookie components, this size could be
// less than the original size that was sent to the protected resource"
// (waf-rule-statement-type-size-constraint-match).
func TestWebACLBodySizeInspected(t *testing.T) {
	h := appEdge(t, wafBodySizeConfig)
	for _, c := range []struct {
		path   string
		size   int
		status int
	}{
		{"/strict/a", 30000, 403},
		{"/strict/a", 16383, 200},
		{"/loose/a", 30000, 200},
	} {
		r := httptest.NewRequest(http.MethodPost, "http://up.test"+c.path, strings.NewReader(strings.Repeat("x", c.size)))
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != c.status {
			t.Errorf("POST %s with %d bytes: status %d, want %d", c.path, c.size, w.Code, c.status)
		}
	}
}
