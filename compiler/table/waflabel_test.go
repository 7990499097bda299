package table

import (
	"net/http"
	"slices"
	"testing"

	"openfront.dev/schema"
)

// labelACL is a web ACL whose rules are, in priority order: count a
// BadBot User-Agent with label bots:bad-ua, count a path under /api with
// label api, then rule "check" with action on statement.
func labelACL(t *testing.T, spec *schema.WebACL, action schema.WAFRuleAction, check schema.WAFStatement) *WebACL {
	t.Helper()
	count := &schema.WAFRuleAction{Count: &schema.WAFCountAction{}}
	ua := schema.WAFFieldToMatch{SingleHeader: &schema.WAFSingleHeader{Name: "user-agent"}}
	spec.Rules = []schema.WAFRule{
		// Listed after check: priority, not order, decides.
		{Name: "check", Priority: 5, Action: &action, Statement: check},
		{Name: "bad-ua", Priority: 1, Action: count, RuleLabels: []schema.WAFLabel{{Name: "bots:bad-ua"}},
			Statement: schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: "BadBot", PositionalConstraint: "CONTAINS", FieldToMatch: ua, TextTransformations: tts("NONE")}}},
		{Name: "api", Priority: 2, Action: count, RuleLabels: []schema.WAFLabel{{Name: "api"}},
			Statement: schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: "/api/", PositionalConstraint: "STARTS_WITH", FieldToMatch: schema.WAFFieldToMatch{URIPath: &struct{}{}}, TextTransformations: tts("NONE")}}},
	}
	spec.DefaultAction = schema.WAFDefaultAction{Allow: &schema.WAFAllowAction{}}
	acl, err := newWebACL("acl", spec, &schema.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return acl
}

func labelStatement(scope, key string) schema.WAFStatement {
	return schema.WAFStatement{LabelMatchStatement: &schema.LabelMatchStatement{Scope: scope, Key: key}}
}

func TestLabelMatch(t *testing.T) {
	block := schema.WAFRuleAction{Block: &schema.WAFBlockAction{}}
	bot := http.Header{"User-Agent": {"BadBot/1.0"}}
	browser := http.Header{"User-Agent": {"Mozilla/5.0"}}
	for _, c := range []struct {
		name      string
		namespace string // the web ACL's labelNamespace
		check     schema.WAFStatement
		path      string
		header    http.Header
		blocked   bool
		labels    []string
	}{
		{name: "label's name", check: labelStatement("LABEL", "bad-ua"), path: "/", header: bot, blocked: true,
			labels: []string{"awswaf:000000000000:webacl:acl:bots:bad-ua"}},
		{name: "name with its namespace", check: labelStatement("LABEL", "bots:bad-ua"), path: "/", header: bot, blocked: true},
		{name: "fully qualified", check: labelStatement("LABEL", "awswaf:000000000000:webacl:acl:bots:bad-ua"), path: "/", header: bot, blocked: true},
		{name: "part of a name", check: labelStatement("LABEL", "ua"), path: "/", header: bot},
		// Labels are case sensitive.
		{name: "case", check: labelStatement("LABEL", "Bad-UA"), path: "/", header: bot},
		{name: "no label added", check: labelStatement("LABEL", "bad-ua"), path: "/", header: browser},
		{name: "namespace", check: labelStatement("NAMESPACE", "bots:"), path: "/", header: bot, blocked: true},
		{name: "namespace without its colon", check: labelStatement("NAMESPACE", "bots"), path: "/", header: bot, blocked: true},
		{name: "namespace with the web ACL's prefix", check: labelStatement("NAMESPACE", "awswaf:000000000000:webacl:acl:bots:"), path: "/", header: bot, blocked: true},
		{name: "the web ACL's prefix", check: labelStatement("NAMESPACE", "awswaf:000000000000:webacl:acl:"), path: "/api/x", header: browser, blocked: true},
		// NAMESPACE names namespaces: a label's name is none.
		{name: "a name is no namespace", check: labelStatement("NAMESPACE", "api"), path: "/api/x", header: browser},
		{name: "another namespace", check: labelStatement("NAMESPACE", "bot:"), path: "/", header: bot},
		// Both count rules label, in priority order.
		{name: "two count rules", check: labelStatement("LABEL", "api"), path: "/api/x", header: bot, blocked: true,
			labels: []string{"awswaf:000000000000:webacl:acl:bots:bad-ua", "awswaf:000000000000:webacl:acl:api"}},
		{name: "and of labels", check: schema.WAFStatement{AndStatement: &schema.WAFStatements{Statements: []schema.WAFStatement{labelStatement("LABEL", "api"), labelStatement("LABEL", "bad-ua")}}},
			path: "/api/x", header: browser},
		{name: "the account labelNamespace gives", namespace: "awswaf:111122223333:webacl:prod:", check: labelStatement("LABEL", "awswaf:111122223333:webacl:prod:bots:bad-ua"), path: "/", header: bot, blocked: true,
			labels: []string{"awswaf:111122223333:webacl:prod:bots:bad-ua"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			acl := labelACL(t, &schema.WebACL{LabelNamespace: c.namespace}, block, c.check)
			req := &WAFRequest{Method: "GET", Path: c.path, Header: c.header}
			dec := acl.Evaluate(req, nil, nil)
			if got := dec.Action.Kind == WAFBlock; got != c.blocked {
				t.Errorf("blocked %v, want %v (labels %q)", got, c.blocked, req.Labels)
			}
			if c.labels != nil && !slices.Equal(req.Labels, c.labels) {
				t.Errorf("labels %q, want %q", req.Labels, c.labels)
			}
		})
	}
}

// A rule sees only the labels of rules before it, and a terminating
// action stops the rules after it from labelling.
func TestLabelOrder(t *testing.T) {
	count := &schema.WAFRuleAction{Count: &schema.WAFCountAction{}}
	allow := &schema.WAFRuleAction{Allow: &schema.WAFAllowAction{}}
	block := &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}}
	method := func(m string) schema.WAFStatement {
		return schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: m, PositionalConstraint: "EXACTLY", FieldToMatch: schema.WAFFieldToMatch{Method: &struct{}{}}, TextTransformations: tts("NONE")}}
	}
	for _, c := range []struct {
		name    string
		rules   []schema.WAFRule
		blocked bool
		labels  []string
	}{
		{name: "label from a later rule", rules: []schema.WAFRule{
			{Name: "block", Priority: 1, Action: block, Statement: labelStatement("LABEL", "post")},
			{Name: "label", Priority: 2, Action: count, Statement: method("POST"), RuleLabels: []schema.WAFLabel{{Name: "post"}}},
		}, labels: []string{"awswaf:000000000000:webacl:acl:post"}},
		{name: "label from an earlier rule", rules: []schema.WAFRule{
			{Name: "block", Priority: 3, Action: block, Statement: labelStatement("LABEL", "post")},
			{Name: "label", Priority: 2, Action: count, Statement: method("POST"), RuleLabels: []schema.WAFLabel{{Name: "post"}}},
		}, blocked: true, labels: []string{"awswaf:000000000000:webacl:acl:post"}},
		{name: "allow labels and stops", rules: []schema.WAFRule{
			{Name: "allow", Priority: 1, Action: allow, Statement: method("POST"), RuleLabels: []schema.WAFLabel{{Name: "allowed"}}},
			{Name: "later", Priority: 2, Action: count, Statement: method("POST"), RuleLabels: []schema.WAFLabel{{Name: "later"}}},
		}, labels: []string{"awswaf:000000000000:webacl:acl:allowed"}},
		{name: "no match, no label", rules: []schema.WAFRule{
			{Name: "get", Priority: 1, Action: count, Statement: method("GET"), RuleLabels: []schema.WAFLabel{{Name: "get"}}},
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			acl, err := newWebACL("acl", &schema.WebACL{DefaultAction: schema.WAFDefaultAction{Allow: &schema.WAFAllowAction{}}, Rules: c.rules}, &schema.Config{})
			if err != nil {
				t.Fatal(err)
			}
			req := &WAFRequest{Method: "POST", Path: "/"}
			if got := acl.Evaluate(req, nil, nil).Action.Kind == WAFBlock; got != c.blocked {
				t.Errorf("blocked %v, want %v", got, c.blocked)
			}
			if !slices.Equal(req.Labels, c.labels) {
				t.Errorf("labels %q, want %q", req.Labels, c.labels)
			}
		})
	}
}

func TestCheckWAFLabel(t *testing.T) {
	for name, ok := range map[string]bool{
		"bad-ua": true, "a:b:c:d:e:name": true, "a:b:c:d:e:f:name": false, "ns::name": false, ":name": false,
		"name:": false, "aws:name": false, "ns:managed": false, "AWS:name": true,
	} {
		if err := CheckWAFLabel(name); (err == nil) != ok {
			t.Errorf("CheckWAFLabel(%q) = %v, want ok %v", name, err, ok)
		}
	}
	for _, c := range []struct {
		scope, key string
		ok         bool
	}{{"LABEL", "a:b", true}, {"LABEL", "a:", false}, {"NAMESPACE", "a:", true}, {"NAMESPACE", "a::b:", false}} {
		if err := CheckWAFLabelKey(c.scope, c.key); (err == nil) != c.ok {
			t.Errorf("CheckWAFLabelKey(%s, %q) = %v, want ok %v", c.scope, c.key, err, c.ok)
		}
	}
}

// A geo match statement labels every request it inspects with its
// country, matched or not: "A geo match statement add labels to web
// requests that indicate the country of origin and the region of origin.
// It adds these labels regardless of whether the statement criteria is a
// match for the request" (waf-rule-statement-type-geo-match), as
// awswaf:clientip:geo:country:<ISO country code>, or
// awswaf:forwardedip:geo:country:<ISO country code> with a
// forwardedIPConfig. WAF's documented pattern: a geo rule that counts,
// then a label match rule.
func TestGeoMatchLabels(t *testing.T) {
	count := &schema.WAFRuleAction{Count: &schema.WAFCountAction{}}
	block := &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}}
	geo := func(fwd *schema.ForwardedIPConfig) schema.WAFStatement {
		return schema.WAFStatement{GeoMatchStatement: &schema.GeoMatchStatement{CountryCodes: []string{"US"}, ForwardedIPConfig: fwd}}
	}
	xff := &schema.ForwardedIPConfig{HeaderName: "X-Forwarded-For", FallbackBehavior: "NO_MATCH"}
	for _, c := range []struct {
		name    string
		label   schema.WAFStatement // the block rule's statement
		header  http.Header
		blocked bool
		labels  []string
	}{
		{name: "the viewer's country", label: labelStatement("LABEL", "awswaf:clientip:geo:country:DE"), blocked: true,
			labels: []string{"awswaf:clientip:geo:country:DE"}},
		{name: "by namespace", label: labelStatement("NAMESPACE", "awswaf:clientip:geo:country:"), blocked: true,
			labels: []string{"awswaf:clientip:geo:country:DE"}},
		{name: "another country", label: labelStatement("LABEL", "awswaf:clientip:geo:country:FR"),
			labels: []string{"awswaf:clientip:geo:country:DE"}},
		{name: "a forwarded address's country", label: labelStatement("LABEL", "awswaf:forwardedip:geo:country:FR"),
			header: http.Header{"X-Forwarded-For": {"192.0.2.1, 10.0.0.1"}}, blocked: true,
			labels: []string{"awswaf:clientip:geo:country:DE", "awswaf:forwardedip:geo:country:FR"}},
		// Without the header the rule does not apply: no label.
		{name: "no forwarded header", label: labelStatement("NAMESPACE", "awswaf:forwardedip:"),
			labels: []string{"awswaf:clientip:geo:country:DE"}},
		// An address the database does not place has no country to label.
		{name: "an unknown forwarded address", label: labelStatement("NAMESPACE", "awswaf:forwardedip:"),
			header: http.Header{"X-Forwarded-For": {"198.51.100.1"}}, labels: []string{"awswaf:clientip:geo:country:DE"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := &schema.WebACL{DefaultAction: schema.WAFDefaultAction{Allow: &schema.WAFAllowAction{}}, Rules: []schema.WAFRule{
				{Name: "geo", Priority: 0, Action: count, Statement: geo(nil)},
				{Name: "geo-fwd", Priority: 1, Action: count, Statement: geo(xff)},
				{Name: "check", Priority: 2, Action: block, Statement: c.label},
			}}
			acl, err := newWebACL("acl", spec, &schema.Config{})
			if err != nil {
				t.Fatal(err)
			}
			req := &WAFRequest{Method: "GET", Path: "/", Header: c.header, Country: "DE", Locate: testLocator{}}
			if got := acl.Evaluate(req, nil, nil).Action.Kind == WAFBlock; got != c.blocked {
				t.Errorf("blocked %v, want %v", got, c.blocked)
			}
			if !slices.Equal(req.Labels, c.labels) {
				t.Errorf("labels %q, want %q", req.Labels, c.labels)
			}
		})
	}
}
