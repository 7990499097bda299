package edge

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"openfront.dev/daemon/shield"
	"openfront.dev/internal/testenv"
)

// shieldedGroups is distribution site whose origins, shielded in
// eu-west-1 with 1 s timeouts, are down (%[1]q refuses connections),
// hung (%[2]q takes them and never answers) and secondary (%[3]q).
// /refused/* and /hung/* are groups failing over on 503 alone; /alone/*
// is the down origin by itself.
const shieldedGroups = `package cdn

distributions: site: {
	aliases: ["site.test"]
	logging: {enabled: true, prefix: "web/"}
	origins: [
		{id: "down", domainName: %[1]q, connectionTimeout: 1, connectionAttempts: 1,
			customOriginConfig: {originProtocolPolicy: "http-only", originReadTimeout: 1},
			originShield: {enabled: true, originShieldRegion: "eu-west-1"}},
		{id: "hung", domainName: %[2]q, connectionTimeout: 1, connectionAttempts: 1,
			customOriginConfig: {originProtocolPolicy: "http-only", originReadTimeout: 1},
			originShield: {enabled: true, originShieldRegion: "eu-west-1"}},
		{id: "secondary", domainName: %[3]q, connectionTimeout: 1, connectionAttempts: 1,
			customOriginConfig: {originProtocolPolicy: "http-only", originReadTimeout: 1},
			originShield: {enabled: true, originShieldRegion: "eu-west-1"}},
	]
	originGroups: [
		{id: "gdown", failoverCriteria: statusCodes: [503], members: [{originId: "down"}, {originId: "secondary"}]},
		{id: "ghung", failoverCriteria: statusCodes: [503], members: [{originId: "hung"}, {originId: "secondary"}]},
	]
	defaultCacheBehavior: {targetOriginId: "secondary", viewerProtocolPolicy: "allow-all"}
	cacheBehaviors: [
		{pathPattern: "/refused/*", targetOriginId: "gdown", viewerProtocolPolicy: "allow-all"},
		{pathPattern: "/hung/*", targetOriginId: "ghung", viewerProtocolPolicy: "allow-all"},
		{pathPattern: "/alone/*", targetOriginId: "down", viewerProtocolPolicy: "allow-all"},
	]
}
`

// hungListener takes connections and never answers them; they close
// with it at the end of the test.
func hungListener(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn // open, unread, unanswered
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return ln
}

// refusedAddr is a loopback address nothing listens on.
func refusedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// A group's primary behind a shield that cannot reach it (refused, or
// no answer within its timeout) fails over as it does without a shield,
// though the group lists neither 502 nor 504: the shield's own error
// stands for the failure it reports. An origin alone that cannot be
// reached is logged and counted at the edge as if it had asked it
// itself. A shield that cannot be reached is bypassed, with the same
// outcome.
func TestShieldGroupFailoverOnUnreachablePrimary(t *testing.T) {
	secondary := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "secondary %s", r.URL.Path)
	}))
	t.Cleanup(secondary.Close)
	hung := hungListener(t)
	clock := testenv.NewClock(time.Now())
	tb := testenv.Compile(t, "", fmt.Sprintf(shieldedGroups, refusedAddr(t), hung.Addr().String(), secondary.Listener.Addr().String()))
	_, shieldSrv := shieldNode(t, "shield-eu", tb, nil, clock)
	up, _ := url.Parse(shieldSrv.URL)
	for _, sh := range []struct {
		name string
		base *url.URL
	}{
		{"shield up", up},
		{"shield down", &url.URL{Scheme: "http", Host: refusedAddr(t)}},
	} {
		for _, cached := range []bool{true, false} {
			t.Run(fmt.Sprintf("%s/cached=%v", sh.name, cached), func(t *testing.T) {
				edge, logs, dir := loggedEdge(t, "edge-a", tb, sh.base, clock, cached)
				reg := prometheus.NewRegistry()
				if err := edge.Register(reg); err != nil {
					t.Fatal(err)
				}
				edge.SetTable(tb) // again, counted
				for _, tt := range []struct {
					path   string
					status int
					body   string
				}{
					{"/refused/x", http.StatusOK, "secondary /refused/x"},
					{"/hung/x", http.StatusOK, "secondary /hung/x"},
					{"/alone/x", http.StatusBadGateway, ""},
				} {
					w := httptest.NewRecorder()
					edge.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://site.test"+tt.path, nil))
					if w.Code != tt.status || tt.body != "" && w.Body.String() != tt.body {
						t.Errorf("%s: %d %q, want %d %q", tt.path, w.Code, w.Body.String(), tt.status, tt.body)
					}
					if v := w.Header().Get(shield.ErrorHeader); v != "" {
						t.Errorf("%s: the viewer got %s: %s", tt.path, shield.ErrorHeader, v)
					}
				}
				logged := resultsLogged(t, logs, dir)
				if len(logged) != 3 || logged[2] != "Error Error OriginConnectError" {
					t.Errorf("logged %q, want /alone/x as Error Error OriginConnectError", logged)
				}
				checkOriginErrors(t, reg, `
openfront_origin_errors_total{distribution="site",kind="connect",origin="down"} 2
openfront_origin_errors_total{distribution="site",kind="timeout",origin="hung"} 1
`)
			})
		}
	}
}

// An origin's answer carrying the shield's error mark, even a genuine
// one for the request, is no error of the shield's: the shield, caching
// or relaying it, drops the mark, and the edge serves the origin's answer.
func TestShieldErrorMarkNotTakenFromTheOrigin(t *testing.T) {
	mark := shield.MarkError(fleetSecret, "connect", "OriginConnectError", http.MethodGet, "site.test", "/x")
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(shield.ErrorHeader, mark)
		io.WriteString(w, "object "+r.URL.Path)
	}))
	t.Cleanup(app.Close)
	clock := testenv.NewClock(time.Now())
	tb := testenv.Compile(t, "", fmt.Sprintf(shieldedSite, app.Listener.Addr().String()))
	for _, shieldCached := range []bool{true, false} {
		sh, shieldSrv := shieldNode(t, "shield-eu", tb, nil, clock)
		if !shieldCached {
			sh.SetCache(nil)
		}
		base, _ := url.Parse(shieldSrv.URL)
		for _, cached := range []bool{true, false} {
			edge, _, _ := loggedEdge(t, "edge-a", tb, base, clock, cached)
			w := httptest.NewRecorder()
			edge.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://site.test/x", nil))
			if w.Code != http.StatusOK || w.Body.String() != "object /x" || w.Header().Get(shield.ErrorHeader) != "" {
				t.Errorf("shield cached=%v, edge cached=%v: %d %q, %s %q; want the origin's object without the mark",
					shieldCached, cached, w.Code, w.Body.String(), shield.ErrorHeader, w.Header().Get(shield.ErrorHeader))
			}
		}
	}
}

// The shield marks the answers it makes for an origin it cannot reach or
// that does not answer in time with the failure, signed for the request
// it answers; the status is the one the node would answer.
func TestShieldMarksItsOwnErrors(t *testing.T) {
	hung := hungListener(t)
	tb := testenv.Compile(t, "", fmt.Sprintf(shieldedGroups, refusedAddr(t), hung.Addr().String(), refusedAddr(t)))
	_, srv := shieldNode(t, "shield-eu", tb, nil, testenv.NewClock(time.Now()))
	for _, tt := range []struct {
		origin, path string
		behavior     int
		status       int
		mark         string
	}{
		{"down", "/refused/x", 1, http.StatusBadGateway, "connect OriginConnectError"},
		{"hung", "/hung/x", 2, http.StatusGatewayTimeout, "timeout OriginCommError"},
		{"down", "/alone/x", 3, http.StatusBadGateway, "connect OriginConnectError"},
	} {
		claim := shield.Claim{Distribution: "site", Origin: tt.origin, Behavior: tt.behavior}
		req, _ := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
		req.Host = "site.test"
		req.Header.Set(shield.Header, shield.Sign(fleetSecret, claim, http.MethodGet, "site.test", tt.path, time.Now()))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		kind, detail, ok := shield.VerifyError(fleetSecret, resp.Header.Get(shield.ErrorHeader), http.MethodGet, "site.test", tt.path)
		if resp.StatusCode != tt.status || !ok || kind+" "+detail != tt.mark {
			t.Errorf("%s: %d, mark %q (verifies: %v); want %d, %s", tt.path, resp.StatusCode, resp.Header.Get(shield.ErrorHeader), ok, tt.status, tt.mark)
		}
	}
}
