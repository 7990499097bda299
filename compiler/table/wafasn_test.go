package table

import (
	"testing"

	"openfront.dev/schema"
)

// hello is a connection's fingerprints; the zero one has none.
type hello struct{ ja3, ja4 string }

func (h hello) JA3() string { return h.ja3 }
func (h hello) JA4() string { return h.ja4 }

const (
	testJA3 = "773906b0efdefa24a7f2b8eb6985bf37"
	testJA4 = "t13d1516h2_8daaf6152771_e5627efa2ab1"
)

func TestASNMatch(t *testing.T) {
	for _, c := range []struct {
		name string
		list []int64
		asn  uint32
		want bool
	}{
		{"in the list", []int64{64496, 36375}, 36375, true},
		{"not in the list", []int64{64496}, 36375, false},
		// WAF assigns ASN 0 to an address it cannot map.
		{"unknown is 0", []int64{0}, 0, true},
		{"unknown, 0 not listed", []int64{64496}, 0, false},
		{"largest", []int64{4294967295}, 4294967295, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := compileRule(t, schema.WAFStatement{AsnMatchStatement: &schema.AsnMatchStatement{AsnList: c.list}})
			if !a.NeedsASN || a.NeedsTLS || a.NeedsCountry {
				t.Errorf("NeedsASN %v, NeedsTLS %v, NeedsCountry %v; want the ASN alone", a.NeedsASN, a.NeedsTLS, a.NeedsCountry)
			}
			if got := a.Evaluate(&WAFRequest{Method: "GET", Path: "/", ASN: c.asn}, nil, nil).Action.Kind == WAFBlock; got != c.want {
				t.Errorf("blocked %v, want %v", got, c.want)
			}
		})
	}
}

func TestASNNotNeeded(t *testing.T) {
	a := compileRule(t, schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: "/x", PositionalConstraint: "EXACTLY",
		FieldToMatch: schema.WAFFieldToMatch{URIPath: &struct{}{}}, TextTransformations: tts("NONE")}})
	if a.NeedsASN || a.NeedsTLS || a.Rules[0].InspectsTLS {
		t.Errorf("a path rule needs the ASN (%v) or TLS (%v)", a.NeedsASN, a.NeedsTLS)
	}
}

func TestFingerprintMatch(t *testing.T) {
	ja3 := func(fb string) schema.WAFFieldToMatch {
		return schema.WAFFieldToMatch{JA3Fingerprint: &schema.WAFFallback{FallbackBehavior: fb}}
	}
	ja4 := func(fb string) schema.WAFFieldToMatch {
		return schema.WAFFieldToMatch{JA4Fingerprint: &schema.WAFFallback{FallbackBehavior: fb}}
	}
	frag := func(fb string) schema.WAFFieldToMatch {
		return schema.WAFFieldToMatch{URIFragment: &schema.WAFFallback{FallbackBehavior: fb}}
	}
	tlsReq := &WAFRequest{Method: "GET", Path: "/", TLS: hello{testJA3, testJA4}}
	plain := &WAFRequest{Method: "GET", Path: "/"}
	noHello := &WAFRequest{Method: "GET", Path: "/", TLS: hello{}}
	for _, c := range []struct {
		name   string
		field  schema.WAFFieldToMatch
		search string
		req    *WAFRequest
		want   bool
	}{
		{"JA4 named", ja4("NO_MATCH"), testJA4, tlsReq, true},
		{"JA4 another", ja4("MATCH"), "t13d1516h2_8daaf6152771_000000000000", tlsReq, false},
		{"JA3 named", ja3("NO_MATCH"), testJA3, tlsReq, true},
		{"JA3 is not JA4", ja3("NO_MATCH"), testJA4, tlsReq, false},
		{"plain HTTP, MATCH", ja4("MATCH"), testJA4, plain, true},
		{"plain HTTP, NO_MATCH", ja4("NO_MATCH"), testJA4, plain, false},
		{"no ClientHello, MATCH", ja3("MATCH"), testJA3, noHello, true},
		{"no ClientHello, NO_MATCH", ja3("NO_MATCH"), testJA3, noHello, false},
		// No request has a fragment: fallbackBehavior decides, even for
		// a search string an empty value would match.
		{"fragment, MATCH", frag("MATCH"), "top", tlsReq, true},
		{"fragment, NO_MATCH", frag("NO_MATCH"), "top", tlsReq, false},
		{"fragment, no fallbackBehavior", frag(""), "top", tlsReq, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := compileRule(t, schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: c.search, PositionalConstraint: "EXACTLY",
				FieldToMatch: c.field, TextTransformations: tts("NONE")}})
			if got := a.Evaluate(c.req, nil, nil).Action.Kind == WAFBlock; got != c.want {
				t.Errorf("blocked %v, want %v", got, c.want)
			}
			matched, why := a.Rules[0].Explain(c.req)
			if matched != c.want {
				t.Errorf("Explain: %v (%s), want %v", matched, why, c.want)
			}
			if tls := c.field.URIFragment == nil; a.NeedsTLS != tls || a.Rules[0].InspectsTLS != tls {
				t.Errorf("NeedsTLS %v, InspectsTLS %v; want %v", a.NeedsTLS, a.Rules[0].InspectsTLS, tls)
			}
		})
	}
}

// A fingerprint in another statement than a byte match (which vet
// refuses as WAF does) is still inspected as a string.
func TestFingerprintSize(t *testing.T) {
	a := compileRule(t, schema.WAFStatement{SizeConstraintStatement: &schema.SizeConstraintStatement{ComparisonOperator: "EQ", Size: 36,
		FieldToMatch: schema.WAFFieldToMatch{JA4Fingerprint: &schema.WAFFallback{FallbackBehavior: "NO_MATCH"}}, TextTransformations: tts("NONE")}})
	if a.Evaluate(&WAFRequest{Method: "GET", Path: "/", TLS: hello{testJA3, testJA4}}, nil, nil).Action.Kind != WAFBlock {
		t.Error("a 36-character JA4 is not 36 bytes")
	}
}

// compileRule is a web ACL of one blocking rule with statement s.
func compileRule(t *testing.T, s schema.WAFStatement) *WebACL {
	t.Helper()
	a, err := newWebACL("acl", &schema.WebACL{DefaultAction: schema.WAFDefaultAction{Allow: &schema.WAFAllowAction{}},
		Rules: []schema.WAFRule{{Name: "r", Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}}, Statement: s}}}, &schema.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}
