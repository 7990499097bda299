package table

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"openfront.dev/schema"
)

// testLocator places 192.0.2.0/24 in FR with ASN 64496, anything else
// nowhere.
type testLocator struct{}

func (testLocator) Country(a netip.Addr) string {
	if netip.MustParsePrefix("192.0.2.0/24").Contains(a) {
		return "FR"
	}
	return ""
}

func (testLocator) ASN(a netip.Addr) uint32 {
	if netip.MustParsePrefix("192.0.2.0/24").Contains(a) {
		return 64496
	}
	return 0
}

func compileForwardedRule(t *testing.T, s schema.WAFStatement) *WebACL {
	t.Helper()
	a, err := newWebACL("acl", &schema.WebACL{DefaultAction: schema.WAFDefaultAction{Allow: &schema.WAFAllowAction{}},
		Rules: []schema.WAFRule{{Name: "r", Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}}, Statement: s}}},
		&schema.Config{IPSets: map[string]*schema.IPSet{"bad": {IPAddressVersion: "IPV4", Addresses: []string{"192.0.2.0/24"}}}})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestForwardedIPSet(t *testing.T) {
	for _, c := range []struct {
		position, fallback string
		xff                []string // nil: no header
		want               bool
	}{
		{"FIRST", "NO_MATCH", []string{"192.0.2.7, 198.51.100.1"}, true},
		{"FIRST", "NO_MATCH", []string{"198.51.100.1, 192.0.2.7"}, false},
		{"LAST", "NO_MATCH", []string{"198.51.100.1, 192.0.2.7"}, true},
		{"LAST", "NO_MATCH", []string{"198.51.100.1", "192.0.2.7"}, true}, // a repeated header is one list
		{"LAST", "NO_MATCH", []string{"192.0.2.7, 198.51.100.1"}, false},
		{"ANY", "NO_MATCH", []string{"198.51.100.1, 192.0.2.7, 198.51.100.2"}, true},
		{"ANY", "NO_MATCH", []string{"198.51.100.1, garbage, 192.0.2.7"}, true},
		{"ANY", "NO_MATCH", []string{"198.51.100.1, 198.51.100.2"}, false},
		// ANY inspects the last 10: an eleventh from the end is not.
		{"ANY", "NO_MATCH", []string{"192.0.2.7" + strings.Repeat(", 198.51.100.1", 10)}, false},
		{"ANY", "NO_MATCH", []string{"192.0.2.7" + strings.Repeat(", 198.51.100.1", 9)}, true},
		{"ANY", "MATCH", []string{"x, y"}, true},
		{"ANY", "NO_MATCH", []string{"x, y"}, false},
		// Missing header: the rule does not apply, fallback or not.
		{"FIRST", "MATCH", nil, false},
		{"ANY", "MATCH", nil, false},
		// Invalid address at the position: the fallback.
		{"FIRST", "MATCH", []string{"unknown, 198.51.100.1"}, true},
		{"FIRST", "NO_MATCH", []string{"unknown, 192.0.2.7"}, false},
		{"LAST", "MATCH", []string{"198.51.100.1, 192.0.2.7:443"}, true},
		{"FIRST", "MATCH", []string{"fe80::1%eth0"}, true},
		{"FIRST", "NO_MATCH", []string{" ::ffff:192.0.2.7 "}, true},
	} {
		a := compileForwardedRule(t, schema.WAFStatement{IPSetReferenceStatement: &schema.IPSetReferenceStatement{ARN: "bad",
			IPSetForwardedIPConfig: &schema.IPSetForwardedIPConfig{HeaderName: "x-forwarded-for", FallbackBehavior: c.fallback, Position: c.position}}})
		h := http.Header{}
		if c.xff != nil {
			h["X-Forwarded-For"] = c.xff
		}
		// The viewer's own address is in the set: only the header counts.
		req := &WAFRequest{Method: "GET", Path: "/", Header: h, Client: netip.MustParseAddr("192.0.2.1")}
		if got := a.Evaluate(req, nil, nil).Action.Kind == WAFBlock; got != c.want {
			t.Errorf("%s %s %q: blocked %v, want %v", c.position, c.fallback, c.xff, got, c.want)
		}
		if a.NeedsLocate {
			t.Errorf("an IP set statement needs no lookup")
		}
	}
}

func TestForwardedGeoASN(t *testing.T) {
	fwd := &schema.ForwardedIPConfig{HeaderName: "X-Forwarded-For", FallbackBehavior: "NO_MATCH"}
	geo := schema.WAFStatement{GeoMatchStatement: &schema.GeoMatchStatement{CountryCodes: []string{"FR"}, ForwardedIPConfig: fwd}}
	asn := schema.WAFStatement{AsnMatchStatement: &schema.AsnMatchStatement{AsnList: []int64{64496}, ForwardedIPConfig: fwd}}
	for _, c := range []struct {
		name string
		s    schema.WAFStatement
		xff  string // "": no header
		want bool
	}{
		{"geo first", geo, "192.0.2.7, 198.51.100.1", true},
		{"geo first only", geo, "198.51.100.1, 192.0.2.7", false},
		{"geo no header", geo, "", false},
		{"geo invalid", geo, "nonsense", false},
		{"asn first", asn, "192.0.2.7", true},
		{"asn other", asn, "198.51.100.1", false},
		{"asn no header", asn, "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := compileForwardedRule(t, c.s)
			if !a.NeedsLocate || a.NeedsCountry || a.NeedsASN {
				t.Errorf("NeedsLocate %v NeedsCountry %v NeedsASN %v: want the forwarded lookup alone", a.NeedsLocate, a.NeedsCountry, a.NeedsASN)
			}
			h := http.Header{}
			if c.xff != "" {
				h.Set("X-Forwarded-For", c.xff)
			}
			// The viewer's own country and ASN would match: only the header counts.
			req := &WAFRequest{Method: "GET", Path: "/", Header: h, Country: "FR", ASN: 64496, Locate: testLocator{}}
			if got := a.Evaluate(req, nil, nil).Action.Kind == WAFBlock; got != c.want {
				t.Errorf("blocked %v, want %v", got, c.want)
			}
		})
	}
}

// The rate statement's FORWARDED_IP reads the header as a geo
// statement's forwardedIPConfig does: the first address.
func TestForwardedRateShared(t *testing.T) {
	r := &WAFRate{Aggregate: "FORWARDED_IP", WAFForwardedIP: compileForwarded("x-forwarded-for", "MATCH", "FIRST")}
	h := http.Header{"X-Forwarded-For": {"198.51.100.1", "192.0.2.7"}}
	key, apply, fallback := r.rateKey(&WAFRequest{Header: h})
	if key != netip.MustParseAddr("198.51.100.1") || !apply || fallback {
		t.Errorf("key %v apply %v fallback %v", key, apply, fallback)
	}
}

func TestForwardedNoAllocs(t *testing.T) {
	a := compileForwardedRule(t, schema.WAFStatement{IPSetReferenceStatement: &schema.IPSetReferenceStatement{ARN: "bad",
		IPSetForwardedIPConfig: &schema.IPSetForwardedIPConfig{HeaderName: "X-Forwarded-For", FallbackBehavior: "NO_MATCH", Position: "ANY"}}})
	req := &WAFRequest{Method: "GET", Path: "/", Header: http.Header{"X-Forwarded-For": {"198.51.100.1, 198.51.100.2, 192.0.2.7"}}}
	if n := testing.AllocsPerRun(100, func() { a.Evaluate(req, nil, nil) }); n != 0 {
		t.Errorf("%v allocations per evaluation", n)
	}
}

// Without its header, a rule with a forwarded-address statement does not
// apply at all, whatever holds the statement: a notStatement does not
// turn the missing header into a match, an orStatement's other branch
// does not match for it, and the rule adds no label
// (API_ForwardedIPConfig: "AWS WAF doesn't apply the rule to the web
// request at all").
func TestForwardedMissingHeaderSkipsRule(t *testing.T) {
	fwd := &schema.ForwardedIPConfig{HeaderName: "X-Forwarded-For", FallbackBehavior: "NO_MATCH"}
	geo := schema.WAFStatement{GeoMatchStatement: &schema.GeoMatchStatement{CountryCodes: []string{"FR"}, ForwardedIPConfig: fwd}}
	ipset := schema.WAFStatement{IPSetReferenceStatement: &schema.IPSetReferenceStatement{ARN: "bad",
		IPSetForwardedIPConfig: &schema.IPSetForwardedIPConfig{HeaderName: "X-Client-IP", FallbackBehavior: "MATCH", Position: "FIRST"}}}
	anyPath := schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: "/", PositionalConstraint: "STARTS_WITH",
		FieldToMatch: schema.WAFFieldToMatch{URIPath: &struct{}{}}, TextTransformations: tts("NONE")}}
	not := func(s schema.WAFStatement) schema.WAFStatement {
		return schema.WAFStatement{NotStatement: &schema.WAFNotStatement{Statement: s}}
	}
	or := func(s ...schema.WAFStatement) schema.WAFStatement {
		return schema.WAFStatement{OrStatement: &schema.WAFStatements{Statements: s}}
	}
	for _, c := range []struct {
		name    string
		s       schema.WAFStatement
		headers map[string]string
		want    bool
		missing string // the header route names, when the rule does not apply
	}{
		{"not geo, no header", not(geo), nil, false, "X-Forwarded-For"},
		{"not geo, another country", not(geo), map[string]string{"X-Forwarded-For": "198.51.100.1"}, true, ""},
		{"not geo, the country", not(geo), map[string]string{"X-Forwarded-For": "192.0.2.7"}, false, ""},
		{"or, no header", or(geo, anyPath), nil, false, "X-Forwarded-For"},
		{"or, header", or(geo, anyPath), map[string]string{"X-Forwarded-For": "198.51.100.1"}, true, ""},
		// Two headers: the rule needs both.
		{"two headers, one missing", or(geo, ipset), map[string]string{"X-Forwarded-For": "192.0.2.7"}, false, "X-Client-Ip"},
		{"two headers", or(geo, ipset), map[string]string{"X-Forwarded-For": "192.0.2.7", "X-Client-IP": "198.51.100.1"}, true, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, err := newWebACL("acl", &schema.WebACL{DefaultAction: schema.WAFDefaultAction{Allow: &schema.WAFAllowAction{}},
				Rules: []schema.WAFRule{
					{Name: "r", Action: &schema.WAFRuleAction{Count: &schema.WAFCountAction{}}, RuleLabels: []schema.WAFLabel{{Name: "fwd"}}, Statement: c.s},
					{Name: "labelled", Priority: 1, Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}}, Statement: labelStatement("LABEL", "fwd")},
				}},
				&schema.Config{IPSets: map[string]*schema.IPSet{"bad": {IPAddressVersion: "IPV4", Addresses: []string{"192.0.2.0/24"}}}})
			if err != nil {
				t.Fatal(err)
			}
			h := http.Header{}
			for k, v := range c.headers {
				h.Set(k, v)
			}
			req := &WAFRequest{Method: "GET", Path: "/", Header: h, Country: "DE", Locate: testLocator{}}
			var counted []string
			dec := a.Evaluate(req, nil, func(r *WAFRule) { counted = append(counted, r.Name) })
			if got := len(counted) == 1; got != c.want {
				t.Errorf("counted %q, want the rule counted: %v", counted, c.want)
			}
			if got := dec.Action.Kind == WAFBlock; got != c.want {
				t.Errorf("labelled and blocked %v, want %v", got, c.want)
			}
			matched, why := a.Rules[0].Explain(req)
			if matched != c.want || c.missing != "" && why != "does not apply: the request has no "+c.missing+" header" {
				t.Errorf("route says %v %q, want %v (missing %q)", matched, why, c.want, c.missing)
			}
		})
	}
}
