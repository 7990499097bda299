package edge

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"openfront.dev/compiler/table"
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
		c = &shield.Config{Region: "us-east-1", URLs: map[string]*url.URL{"eu-west-1": base}, Secret: fleetSecret}
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
# HELP openfront_origin_shield_requests_total Origin requests of origins with originShield, by shield region and result: forwarded (sent to that region's shield node), fallback (its shield node could not be reached: the origin was asked directly), served (this node answered another node's as the shield), replayed (a copy of another node's request this node took before: served as a viewer's).
# TYPE openfront_origin_shield_requests_total counter
openfront_origin_shield_requests_total{region="eu-west-1",result="replayed"} 1
openfront_origin_shield_requests_total{region="eu-west-1",result="served"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "openfront_origin_shield_requests_total"); err != nil {
		t.Error(err)
	}
}
