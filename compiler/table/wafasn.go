package table

import (
	"fmt"
	"slices"
	"strconv"

	"openfront.dev/schema"
)

// The asnMatchStatement and the fieldToMatch ja3Fingerprint,
// ja4Fingerprint and uriFragment.
//
// asnMatchStatement (API_AsnMatchStatement, waf-rule-statement-type-asn-match):
// asnList holds 1 to 100 ASNs of 0 to 4294967295, and matches the ASN of
// the request's address. "If AWS WAF can't determine an ASN for a valid
// IP address, it assigns ASN 0": a viewer the node's ASN database does
// not hold (or a node without one) is ASN 0, which a list matches by
// naming 0. With forwardedIPConfig, the ASN is that of the header's first
// address (wafforwarded.go).
//
// ja3Fingerprint, ja4Fingerprint (API_JA3Fingerprint, API_JA4Fingerprint):
// the fingerprints of the viewer's TLS ClientHello; "You can use this
// choice only with a string match ByteMatchStatement with the
// PositionalConstraint set to EXACTLY" (vet says so), and fallbackBehavior
// is "The match status to assign to the web request if the request
// doesn't have" one: plain HTTP, or a ClientHello the node did not see.
//
// uriFragment (API_UriFragment): what follows "#" in the URL, which a
// browser keeps to itself (RFC 3986 3.5): no request reaching an edge has
// one. The API's page describes fallbackBehavior with JSON body's words;
// openfront applies it to a request without a fragment, every request,
// and without it the request does not match ("if a web request doesn't
// have the request component that's specified in the rule statement, AWS
// WAF evaluates the request as not matching", waf-rule-statement-fields).

// WAFFingerprints are the fingerprints of a viewer's TLS ClientHello
// (tlsfp.Hello), computed when first asked for; "" when unknown.
type WAFFingerprints interface {
	JA3() string
	JA4() string
}

// asnMatcher is an asnMatchStatement.
type asnMatcher []uint32

func compileASN(s *schema.AsnMatchStatement) (asnMatcher, error) {
	m := make(asnMatcher, 0, len(s.AsnList))
	for _, a := range s.AsnList {
		if a < 0 || a > 1<<32-1 {
			return nil, fmt.Errorf("asnMatchStatement: ASN %d is out of WAF's 0 to 4294967295", a)
		}
		m = append(m, uint32(a))
	}
	return m, nil
}

func (m asnMatcher) Match(r *WAFRequest) bool { return slices.Contains(m, r.ASN) }

func (m asnMatcher) explain(r *WAFRequest) (bool, string) {
	asn := strconv.FormatUint(uint64(r.ASN), 10)
	if r.ASN == 0 {
		asn = "0 (unknown)"
	}
	if m.Match(r) {
		return true, "matches: the viewer's ASN " + asn + " is in the list"
	}
	return false, "does not match: the viewer's ASN " + asn + " is not in the list"
}

// fallbackField reports whether field is one a request may lack with
// fallbackBehavior deciding.
func fallbackField(field string) bool {
	return field == "ja3Fingerprint" || field == "ja4Fingerprint" || field == "uriFragment"
}

// fingerprint is the ja3Fingerprint's or ja4Fingerprint's value; ok is
// false when the request has none.
func (in *wafInput) fingerprint(r *WAFRequest) (v string, ok bool) {
	if r.TLS == nil || in.field == "uriFragment" {
		return "", false
	}
	if in.field == "ja3Fingerprint" {
		v = r.TLS.JA3()
	} else {
		v = r.TLS.JA4()
	}
	return v, v != ""
}

// inspectFallback calls match with the fingerprint, transformed, or
// answers fallbackBehavior for a request without the field.
func (in *wafInput) inspectFallback(r *WAFRequest, match func(v string) bool) bool {
	v, ok := in.fingerprint(r)
	if !ok {
		return in.fallback == "MATCH"
	}
	return match(in.transform(v))
}

// explainFallback says why in matched or not when its field is missing
// and fallbackBehavior decided; ok is false otherwise.
func (in *wafInput) explainFallback(r *WAFRequest) (matched bool, why string, ok bool) {
	if !fallbackField(in.field) {
		return false, "", false
	}
	if _, has := in.fingerprint(r); has {
		return false, "", false
	}
	what := map[string]string{"ja3Fingerprint": "the request has no JA3 fingerprint: no TLS handshake",
		"ja4Fingerprint": "the request has no JA4 fingerprint: no TLS handshake",
		"uriFragment":    "a viewer never sends the URI fragment"}[in.field]
	fb := in.fallback
	if fb == "" {
		fb = "not set"
	}
	if in.fallback == "MATCH" {
		return true, "matches: " + what + " (fallbackBehavior MATCH)", true
	}
	return false, "does not match: " + what + " (fallbackBehavior " + fb + ")", true
}
