package table

import (
	"slices"
	"testing"

	"openfront.dev/schema"
)

func TestRuleGroup(t *testing.T) {
	block := &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}}
	allow := &schema.WAFRuleAction{Allow: &schema.WAFAllowAction{}}
	count := &schema.WAFRuleAction{Count: &schema.WAFCountAction{}}
	path := func(p string) schema.WAFStatement {
		return schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: p, PositionalConstraint: "STARTS_WITH", FieldToMatch: schema.WAFFieldToMatch{URIPath: &struct{}{}}, TextTransformations: tts("NONE")}}
	}
	// Group "team", in priority order: admin blocks /admin (label
	// admin), then public allows /; a later web ACL rule blocks
	// what the group labelled, by its fully qualified label.
	group := &schema.RuleGroup{Rules: []schema.WAFRule{
		{Name: "public", Priority: 2, Action: allow, Statement: path("/")},
		{Name: "admin", Priority: 1, Action: block, Statement: path("/admin"), RuleLabels: []schema.WAFLabel{{Name: "admin"}}},
	}}
	ref := func(r *schema.RuleGroupReferenceStatement, override string) schema.WAFRule {
		rule := schema.WAFRule{Name: "team", Priority: 1, Statement: schema.WAFStatement{RuleGroupReferenceStatement: r}, OverrideAction: &schema.WAFOverrideAction{None: &struct{}{}}}
		if override == "count" {
			rule.OverrideAction = &schema.WAFOverrideAction{Count: &struct{}{}}
		}
		return rule
	}
	lateLabel := schema.WAFRule{Name: "late", Priority: 5, Action: block, Statement: labelStatement("LABEL", "awswaf:000000000000:rulegroup:team:admin")}
	ownLabel := schema.WAFRule{Name: "own", Priority: 5, Action: block, Statement: labelStatement("LABEL", "admin")}
	first := schema.WAFRule{Name: "api", Priority: 0, Action: block, Statement: path("/api")}
	for _, c := range []struct {
		name  string
		rules []schema.WAFRule
		path  string
		want  string // the decision: "block by RULE", "allow by RULE", "default"
		count []string
	}{
		{name: "group terminates", rules: []schema.WAFRule{ref(&schema.RuleGroupReferenceStatement{ARN: "team"}, "")}, path: "/admin/x", want: "block by team/admin"},
		{name: "group's later rule allows", rules: []schema.WAFRule{ref(&schema.RuleGroupReferenceStatement{ARN: "team"}, ""), lateLabel}, path: "/x", want: "allow by team/public"},
		{name: "a web ACL rule before the group", rules: []schema.WAFRule{first, ref(&schema.RuleGroupReferenceStatement{ARN: "team"}, "")}, path: "/api", want: "block by api"},
		{name: "group no match continues", rules: []schema.WAFRule{ref(&schema.RuleGroupReferenceStatement{ARN: "team"}, "")}, path: "admin", want: "default"},
		{name: "overrideAction count", rules: []schema.WAFRule{ref(&schema.RuleGroupReferenceStatement{ARN: "team"}, "count")}, path: "/admin", want: "default", count: []string{"team/admin"}},
		// The group stops at its terminating rule: public is not
		// evaluated, and the label admin is seen later.
		{name: "overrideAction count labels", rules: []schema.WAFRule{ref(&schema.RuleGroupReferenceStatement{ARN: "team"}, "count"), lateLabel}, path: "/admin", want: "block by late", count: []string{"team/admin"}},
		{name: "excluded rule counts", rules: []schema.WAFRule{ref(&schema.RuleGroupReferenceStatement{ARN: "team", ExcludedRules: []schema.WAFExcludedRule{{Name: "admin"}}}, "")}, path: "/admin", want: "allow by team/public", count: []string{"team/admin"}},
		{name: "ruleActionOverrides", rules: []schema.WAFRule{ref(&schema.RuleGroupReferenceStatement{ARN: "team", RuleActionOverrides: []schema.WAFRuleActionOverride{{Name: "public", ActionToUse: *block}}}, "")}, path: "/x", want: "block by team/public"},
		{name: "override to count", rules: []schema.WAFRule{ref(&schema.RuleGroupReferenceStatement{ARN: "team", RuleActionOverrides: []schema.WAFRuleActionOverride{{Name: "admin", ActionToUse: *count}}}, ""), lateLabel}, path: "/admin", want: "allow by team/public", count: []string{"team/admin"}},
		// A key without the prefix is read in the web ACL's context.
		{name: "group's label, web ACL's context", rules: []schema.WAFRule{ref(&schema.RuleGroupReferenceStatement{ARN: "team"}, "count"), ownLabel}, path: "/admin", want: "default", count: []string{"team/admin"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := &schema.Config{RuleGroups: map[string]*schema.RuleGroup{"team": group}}
			acl, err := newWebACL("acl", &schema.WebACL{DefaultAction: schema.WAFDefaultAction{Allow: &schema.WAFAllowAction{}}, Rules: c.rules}, cfg)
			if err != nil {
				t.Fatal(err)
			}
			var counted []string
			dec := acl.Evaluate(&WAFRequest{Method: "GET", Path: c.path}, nil, func(r *WAFRule) { counted = append(counted, r.MetricName()) })
			got := "default"
			if dec.Rule != nil {
				got = dec.Action.Kind.String() + " by " + dec.RuleName()
			}
			if got != c.want {
				t.Errorf("decision %q, want %q", got, c.want)
			}
			if !slices.Equal(counted, c.count) {
				t.Errorf("counted %q, want %q", counted, c.count)
			}
		})
	}
}

// A group's label match statement reads its own context: the group's
// rules see its labels by name, and a rate rule counts apart in each web
// ACL that uses the group.
func TestRuleGroupContext(t *testing.T) {
	count := &schema.WAFRuleAction{Count: &schema.WAFCountAction{}}
	block := &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}}
	cfg := &schema.Config{RuleGroups: map[string]*schema.RuleGroup{"g": {Rules: []schema.WAFRule{
		{Name: "mark", Priority: 1, Action: count, RuleLabels: []schema.WAFLabel{{Name: "seen"}}, Statement: schema.WAFStatement{GeoMatchStatement: &schema.GeoMatchStatement{CountryCodes: []string{"KP"}}}},
		{Name: "check", Priority: 2, Action: block, Statement: labelStatement("LABEL", "seen")},
		{Name: "rate", Priority: 3, Action: block, Statement: schema.WAFStatement{RateBasedStatement: &schema.RateBasedStatement{Limit: 10, EvaluationWindowSec: 60, AggregateKeyType: "IP"}}},
	}}}}
	refRule := schema.WAFRule{Name: "r", Priority: 1, Statement: schema.WAFStatement{RuleGroupReferenceStatement: &schema.RuleGroupReferenceStatement{ARN: "g"}}}
	acls, err := compileWebACLs(&schema.Config{RuleGroups: cfg.RuleGroups,
		WebACLs: map[string]*schema.WebACL{
			"a": {DefaultAction: schema.WAFDefaultAction{Allow: &schema.WAFAllowAction{}}, Rules: []schema.WAFRule{refRule}},
			"b": {DefaultAction: schema.WAFDefaultAction{Allow: &schema.WAFAllowAction{}}, Rules: []schema.WAFRule{refRule}},
		},
		Distributions: map[string]*schema.Distribution{"x": {WebACLID: "a"}, "y": {WebACLID: "b"}}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := acls["a"], acls["b"]
	if !a.NeedsCountry {
		t.Error("a group's geo match does not make the web ACL look the country up")
	}
	req := &WAFRequest{Method: "GET", Path: "/", Country: "KP"}
	if dec := a.Evaluate(req, nil, nil); dec.RuleName() != "r/check" {
		t.Errorf("decided by %s, want r/check", dec.RuleName())
	}
	// The geo match statement's country label, then the rule's own.
	if want := []string{"awswaf:clientip:geo:country:KP", "awswaf:000000000000:rulegroup:g:seen"}; !slices.Equal(req.Labels, want) {
		t.Errorf("labels %q, want %q", req.Labels, want)
	}
	if a.Rules[2].Rate.ID == b.Rules[2].Rate.ID {
		t.Error("the group's rate rule counts the same in both web ACLs")
	}
	if a.Rules[1].Match != b.Rules[1].Match {
		t.Error("the group was compiled twice")
	}
	over := func(r *WAFRule, _ WAFRateKey) bool { return r.Name == "rate" }
	if dec := a.Evaluate(&WAFRequest{Method: "GET", Path: "/"}, over, nil); dec.RuleName() != "r/rate" {
		t.Errorf("decided by %s, want r/rate", dec.RuleName())
	}
}

// A distribution reused from the previous table keeps its web ACL only
// while the rule groups it references, and their sets, are the same
// values: a changed group takes effect on the next table.
func TestRuleGroupChangeRebuilds(t *testing.T) {
	d := dist([]string{"a.example.com"})
	d.WebACLID = "acl"
	acl := &schema.WebACL{DefaultAction: schema.WAFDefaultAction{Allow: &schema.WAFAllowAction{}}, Rules: []schema.WAFRule{{
		Name: "team", OverrideAction: &schema.WAFOverrideAction{None: &struct{}{}},
		Statement: schema.WAFStatement{RuleGroupReferenceStatement: &schema.RuleGroupReferenceStatement{ARN: "team"}}}}}
	config := func(path string) *schema.Config {
		return &schema.Config{Distributions: map[string]*schema.Distribution{"a": d}, WebACLs: map[string]*schema.WebACL{"acl": acl},
			RuleGroups: map[string]*schema.RuleGroup{"team": {Rules: []schema.WAFRule{{Name: "bad", Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}},
				Statement: schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: path, PositionalConstraint: "EXACTLY",
					FieldToMatch: schema.WAFFieldToMatch{URIPath: &struct{}{}}, TextTransformations: tts("NONE")}}}}}}}
	}
	checkChangeRebuilds(t, config)
}

// A rule group's statements need of a request what they would need in
// the web ACL itself: a web ACL whose group has a statement of each kind
// asks the edge for the country, the ASN, the TLS fingerprints, the body
// and the forwarded addresses' lookups.
func TestRuleGroupNeeds(t *testing.T) {
	block := &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}}
	fwd := &schema.ForwardedIPConfig{HeaderName: "X-Forwarded-For", FallbackBehavior: "NO_MATCH"}
	tt := []schema.TextTransformation{{Type: "NONE"}}
	for _, c := range []struct {
		name string
		s    schema.WAFStatement
		need func(*WebACL) bool
	}{
		{"geo", schema.WAFStatement{GeoMatchStatement: &schema.GeoMatchStatement{CountryCodes: []string{"FR"}}}, func(a *WebACL) bool { return a.NeedsCountry && a.CountryDB }},
		{"asn", schema.WAFStatement{AsnMatchStatement: &schema.AsnMatchStatement{AsnList: []int64{64496}}}, func(a *WebACL) bool { return a.NeedsASN && a.ASNDB }},
		{"forwarded geo", schema.WAFStatement{GeoMatchStatement: &schema.GeoMatchStatement{CountryCodes: []string{"FR"}, ForwardedIPConfig: fwd}}, func(a *WebACL) bool { return a.NeedsLocate && a.CountryDB }},
		{"forwarded asn", schema.WAFStatement{AsnMatchStatement: &schema.AsnMatchStatement{AsnList: []int64{64496}, ForwardedIPConfig: fwd}}, func(a *WebACL) bool { return a.NeedsLocate && a.ASNDB }},
		{"ja4", schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: "t13d", PositionalConstraint: "EXACTLY",
			FieldToMatch: schema.WAFFieldToMatch{JA4Fingerprint: &schema.WAFFallback{FallbackBehavior: "NO_MATCH"}}, TextTransformations: tt}}, func(a *WebACL) bool { return a.NeedsTLS }},
		{"body", schema.WAFStatement{SqliMatchStatement: &schema.SqliMatchStatement{FieldToMatch: schema.WAFFieldToMatch{Body: &schema.WAFBody{OversizeHandling: "CONTINUE"}}, TextTransformations: tt}},
			func(a *WebACL) bool { return a.BodyLimit > 0 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			groups := map[string]*schema.RuleGroup{"g": {Rules: []schema.WAFRule{{Name: "in", Priority: 1, Action: block, Statement: c.s}}}}
			ref := schema.WAFRule{Name: "r", Priority: 1, Statement: schema.WAFStatement{RuleGroupReferenceStatement: &schema.RuleGroupReferenceStatement{ARN: "g"}}}
			acls, err := compileWebACLs(&schema.Config{RuleGroups: groups,
				WebACLs:       map[string]*schema.WebACL{"a": {DefaultAction: schema.WAFDefaultAction{Allow: &schema.WAFAllowAction{}}, Rules: []schema.WAFRule{ref}}},
				Distributions: map[string]*schema.Distribution{"x": {WebACLID: "a"}}})
			if err != nil {
				t.Fatal(err)
			}
			if !c.need(acls["a"]) {
				t.Errorf("a %s statement in a rule group does not make the web ACL ask for what it reads", c.name)
			}
		})
	}
}
