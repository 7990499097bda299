package table

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"openfront.dev/schema"
)

// deploymentTable builds a primary "site" whose policy sends requests to
// "site-staging", and a rebuild of it where only the policy changed.
func deploymentTable(t *testing.T, tc schema.TrafficConfig, prev *Table) *Table {
	t.Helper()
	staging := dist(nil)
	staging.Staging = true
	primary := dist([]string{"www.example.com"})
	primary.ContinuousDeploymentPolicyID = "canary"
	if prev != nil {
		primary, staging = prev.dists["site"].Spec, prev.dists["site-staging"].Spec
	}
	cfg := &schema.Config{
		Distributions: map[string]*schema.Distribution{"site": primary, "site-staging": staging},
		ContinuousDeploymentPolicies: map[string]*schema.ContinuousDeploymentPolicy{
			"canary": {Enabled: true, StagingDistributionID: "site-staging", TrafficConfig: tc},
		},
	}
	tab, err := Build(cfg, Source{}, prev)
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestDeploymentHeader(t *testing.T) {
	tab := deploymentTable(t, schema.TrafficConfig{Type: "SingleHeader", SingleHeaderConfig: &schema.SingleHeaderConfig{Header: "aws-cf-cd-test", Value: "on"}}, nil)
	dep := tab.Deployment("site")
	if dep == nil || dep.Staging != tab.dists["site-staging"] || dep.Primary != tab.dists["site"] {
		t.Fatalf("Deployment(site) = %+v", dep)
	}
	if tab.Deployment("site-staging") != nil {
		t.Error("the staging distribution has a deployment of its own")
	}
	for _, c := range []struct {
		h    http.Header
		want bool
	}{
		{http.Header{"Aws-Cf-Cd-Test": {"on"}}, true},
		{http.Header{"Aws-Cf-Cd-Test": {"off", "on"}}, true},
		{http.Header{"Aws-Cf-Cd-Test": {"On"}}, false},
		{http.Header{"Aws-Cf-Cd-Other": {"on"}}, false},
		{http.Header{}, false},
	} {
		if got := dep.HeaderMatches(c.h); got != c.want {
			t.Errorf("HeaderMatches(%v) = %v, want %v", c.h, got, c.want)
		}
	}
}

func TestDeploymentSession(t *testing.T) {
	sticky := func(idle, max int) schema.TrafficConfig {
		return schema.TrafficConfig{Type: "SingleWeight", SingleWeightConfig: &schema.SingleWeightConfig{Weight: 0.1,
			SessionStickinessConfig: &schema.SessionStickinessConfig{IdleTTL: idle, MaximumTTL: max}}}
	}
	tab := deploymentTable(t, sticky(300, 600), nil)
	dep := tab.Deployment("site")
	if !dep.Sticky() || dep.HeaderMatches(http.Header{}) {
		t.Fatalf("Sticky() = %v", dep.Sticky())
	}
	start := time.Unix(1_700_000_000, 0)
	set := dep.Cookie(Session{Staging: true, Start: start}, start.Add(400*time.Second))
	v, attrs, _ := strings.Cut(strings.TrimPrefix(set, StickyCookie+"="), ";")
	if !strings.Contains(attrs, "Max-Age=200;") {
		t.Errorf("Cookie = %q: want Max-Age cut to the 200 s the maximum TTL leaves", set)
	}
	if s, ok := dep.ParseSession(v, start.Add(500*time.Second)); !ok || !s.Staging || !s.Start.Equal(start) {
		t.Errorf("ParseSession(%q) = %+v, %v", v, s, ok)
	}
	if _, ok := dep.ParseSession(v, start.Add(600*time.Second)); ok {
		t.Error("a session past its maximum TTL goes on")
	}
	for _, bad := range []string{"", "x.1.2", "s." + v[2:] + "x", "s.abc." + dep.Session} {
		if _, ok := dep.ParseSession(bad, start); ok {
			t.Errorf("ParseSession(%q) accepted", bad)
		}
	}
	// Other stickiness settings start new sessions.
	next := deploymentTable(t, sticky(300, 900), tab)
	if _, ok := next.Deployment("site").ParseSession(v, start.Add(time.Second)); ok {
		t.Error("a session of the old stickiness settings goes on")
	}
	if next.Deployment("site").Staging != next.dists["site-staging"] {
		t.Error("the rebuilt table's deployment points at another table's staging")
	}
}
