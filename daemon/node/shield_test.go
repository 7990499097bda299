package node

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"openfront.dev/daemon/shield"
	"openfront.dev/internal/testenv"
)

// shieldConfig shields its origins %[1]q and %[3]q (which fails) in
// eu-west-1; /private/* is signed with the key group of %[2]q, /group/*
// fails over from the failing origin to the other.
const shieldConfig = `package cdn

keyGroups: signers: publicKeys: [{id: "K1", encodedKey: %[2]q}]
distributions: site: {
	aliases: ["site.test"]
	logging: enabled: true
	origins: [{id: "app", domainName: %[1]q, customOriginConfig: originProtocolPolicy: "http-only",
		originShield: {enabled: true, originShieldRegion: "eu-west-1"}},
		{id: "failing", domainName: %[3]q, customOriginConfig: originProtocolPolicy: "http-only",
		originShield: {enabled: true, originShieldRegion: "eu-west-1"}}]
	originGroups: [{id: "pair", failoverCriteria: statusCodes: [503], members: [{originId: "failing"}, {originId: "app"}]}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", defaultTTL: 3600}
	cacheBehaviors: [{pathPattern: "/private/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", trustedKeyGroups: ["signers"]},
		{pathPattern: "/group/*", targetOriginId: "pair", viewerProtocolPolicy: "allow-all"}]
}
`

// shieldFleet is an origin that counts its requests by path and the
// fleet's config, with its secret.
type shieldFleet struct {
	dir, secret string
	mu          sync.Mutex
	hits        map[string]int
	via         []string // the Via of each origin request
}

func newShieldFleet(t *testing.T) *shieldFleet {
	f := &shieldFleet{dir: t.TempDir(), hits: map[string]int{}}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.hits[r.URL.Path]++
		f.via = append(f.via, r.Header.Get("Via"))
		f.mu.Unlock()
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, "object "+r.URL.Path)
	}))
	t.Cleanup(app.Close)
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down for maintenance", http.StatusServiceUnavailable)
	}))
	t.Cleanup(failing.Close)
	_, pub := signingKey(t)
	if err := os.WriteFile(filepath.Join(f.dir, "main.cue"), fmt.Appendf(nil, shieldConfig, app.Listener.Addr().String(), pub, failing.Listener.Addr().String()), 0o644); err != nil {
		t.Fatal(err)
	}
	f.secret = filepath.Join(t.TempDir(), "shield-secret")
	if err := os.WriteFile(f.secret, []byte("a fleet's shared secret, 32 bytes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *shieldFleet) originHits(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits[path]
}

// start runs a node of the fleet named name in region, whose shields are urls.
func (f *shieldFleet) start(t *testing.T, name, region, urls string, configure ...func(*Options)) *Node {
	o := Options{ConfigDir: f.dir, HTTPAddr: "127.0.0.1:0", NodeName: name, DrainTimeout: time.Second,
		Region: region, ShieldURLs: urls, ShieldSecretFile: f.secret, Logger: testLogger(t)}
	for _, c := range configure {
		c(&o)
	}
	return startWith(t, o)
}

// startFleet runs the shield of eu-west-1 (configured so) and two edge
// nodes in us-east-1 that send their origin requests through it.
func (f *shieldFleet) startFleet(t *testing.T, configure ...func(*Options)) (sh *Node, edges []*Node) {
	sh = f.start(t, "shield-eu", "eu-west-1", "", configure...)
	urls := "eu-west-1=http://" + sh.Addr("http").String()
	return sh, []*Node{f.start(t, "edge-a", "us-east-1", urls), f.start(t, "edge-b", "us-east-1", urls)}
}

// shieldGet asks node n for path as a viewer of site.test, with header h.
func shieldGet(t *testing.T, n *Node, path string, h http.Header) (int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+n.Addr("http").String()+path, nil)
	req.Host = "site.test"
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// Two edge nodes in us-east-1 send their misses through the shield node
// of eu-west-1: 100 concurrent misses of one object over both are one
// origin request.
func TestOriginShieldCollapsesFleetMisses(t *testing.T) {
	f := newShieldFleet(t)
	logDir := t.TempDir()
	sh, edges := f.startFleet(t, func(o *Options) { o.LogDir = logDir })
	var wg sync.WaitGroup
	var bad atomic.Int32
	for i := range 100 {
		wg.Go(func() {
			if code, body := shieldGet(t, edges[i%2], "/obj", nil); code != http.StatusOK || body != "object /obj" {
				bad.Add(1)
				t.Logf("%d %q", code, body)
			}
		})
	}
	wg.Wait()
	if bad.Load() != 0 {
		t.Fatalf("%d of 100 requests failed", bad.Load())
	}
	if n := f.originHits("/obj"); n != 1 {
		t.Errorf("origin asked %d times for /obj over two edges and their shield, want 1", n)
	}
	// Through the edge and its shield, as CloudFront's Via shows its hops.
	f.mu.Lock()
	if len(f.via) != 1 || !strings.Contains(f.via[0], "edge-") || !strings.Contains(f.via[0], "shield-eu") {
		t.Errorf("origin requests' Via: %q, want one through an edge and the shield", f.via)
	}
	f.mu.Unlock()
	// The shield's own viewers are served from the same cache.
	if code, _ := shieldGet(t, sh, "/obj", nil); code != http.StatusOK || f.originHits("/obj") != 1 {
		t.Errorf("the shield node itself: %d, origin asked %d times", code, f.originHits("/obj"))
	}
	// Its access log has its own viewer's request, not the edges'.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sh.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if lines, _ := readWebLogs(t, logDir); len(lines) != 1 {
		t.Errorf("the shield logged %d requests, want 1 (its own viewer's): %v", len(lines), lines)
	}
}

// An edge whose shield cannot be reached asks the origin itself.
func TestOriginShieldDownFallsBackToOrigin(t *testing.T) {
	f := newShieldFleet(t)
	down := refusedAddr(t)
	edge := f.start(t, "edge-a", "us-east-1", "eu-west-1=http://"+down)
	if code, body := shieldGet(t, edge, "/down", nil); code != http.StatusOK || body != "object /down" {
		t.Fatalf("with its shield down: %d %q, want the origin's object", code, body)
	}
	if n := f.originHits("/down"); n != 1 {
		t.Errorf("origin asked %d times, want 1", n)
	}
}

// A region named twice in --origin-shield lists a secondary shield node:
// an edge whose primary is down goes through it, not to the origin, as
// CloudFront reroutes to a secondary Origin Shield location.
func TestOriginShieldSecondary(t *testing.T) {
	f := newShieldFleet(t)
	down := refusedAddr(t)
	second := f.start(t, "shield-eu-b", "eu-west-1", "")
	urls := "eu-west-1=http://" + down + ",eu-west-1=http://" + second.Addr("http").String()
	for _, edge := range []*Node{f.start(t, "edge-a", "us-east-1", urls), f.start(t, "edge-b", "us-east-1", urls)} {
		if code, body := shieldGet(t, edge, "/second", nil); code != http.StatusOK || body != "object /second" {
			t.Fatalf("with its primary shield down: %d %q, want the origin's object", code, body)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hits["/second"] != 1 || !strings.Contains(f.via[len(f.via)-1], "shield-eu-b") {
		t.Errorf("origin asked %d times, last Via %q; want once, through shield-eu-b", f.hits["/second"], f.via[len(f.via)-1])
	}
}

// refusedAddr is a loopback address nothing listens on.
func refusedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// A viewer's shield header, forged or signed with another secret, is no
// fleet node's: the shield checks the signed URL as for any viewer.
func TestOriginShieldForgedHeaderIsAViewers(t *testing.T) {
	f := newShieldFleet(t)
	sh := f.start(t, "shield-eu", "eu-west-1", "")
	now := time.Now()
	claim := shield.Claim{Distribution: "site", Origin: "app", Behavior: 0}
	for name, v := range map[string]string{
		"garbage":      "v1 trust me",
		"other secret": shield.Sign([]byte("not the fleet's secret at all"), claim, http.MethodGet, "site.test", "/private/x", now),
		"unsigned":     "v2 " + strconv.FormatInt(now.Unix(), 10) + " AAAAAAAAAAAAAAAAAAAAAA site app 0 0 AAAA",
	} {
		code, body := shieldGet(t, sh, "/private/x", http.Header{shield.Header: {v}})
		if code != http.StatusForbidden {
			t.Errorf("%s: %d %q, want 403 for a viewer without a signed URL", name, code, body)
		}
	}
	if n := f.originHits("/private/x"); n != 0 {
		t.Errorf("origin asked %d times for a signed path without a signature", n)
	}
}

// An origin group's failover goes through the shield too: the failing
// primary's cached error is not served for its secondary.
func TestOriginShieldGroupFailover(t *testing.T) {
	f := newShieldFleet(t)
	_, edges := f.startFleet(t)
	for _, e := range edges {
		if code, body := shieldGet(t, e, "/group/x", nil); code != http.StatusOK || body != "object /group/x" {
			t.Errorf("%d %q, want the secondary's object", code, body)
		}
	}
	if n := f.originHits("/group/x"); n != 1 {
		t.Errorf("secondary asked %d times, want 1", n)
	}
}

// A node with no shield for an origin's region says so when it applies
// the table, and asks the origin itself.
func TestOriginShieldMissingRegionLogged(t *testing.T) {
	f := newShieldFleet(t)
	var log testenv.Buffer
	n := startWith(t, Options{ConfigDir: f.dir, HTTPAddr: "127.0.0.1:0", NodeName: "edge-a", DrainTimeout: time.Second,
		Region: "us-east-1", ShieldURLs: "ap-south-1=http://127.0.0.1:1", ShieldSecretFile: f.secret, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if s := log.String(); !strings.Contains(s, "no --origin-shield URL") || !strings.Contains(s, "regions=[eu-west-1]") {
		t.Errorf("log does not name eu-west-1 as without a shield:\n%s", s)
	}
	if code, body := shieldGet(t, n, "/direct", nil); code != http.StatusOK || body != "object /direct" || f.originHits("/direct") != 1 {
		t.Errorf("%d %q, origin asked %d times; want the origin's object", code, body, f.originHits("/direct"))
	}
}
