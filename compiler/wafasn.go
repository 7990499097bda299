package compiler

import (
	"cuelang.org/go/cue"

	"openfront.dev/schema"
)

// wafASN checks what WAF refuses, and openfront does not support, of an
// asnMatchStatement and of the fieldToMatch ja3Fingerprint and
// ja4Fingerprint (table/wafasn.go has the facts): a fingerprint goes only
// in a byteMatchStatement whose positionalConstraint is EXACTLY
// (API_JA3Fingerprint, API_JA4Fingerprint).
func (k *checker) wafASN(key string, at func(...any) []cue.Selector, where string, s *schema.WAFStatement) {
	if b := s.ByteMatchStatement; b != nil {
		if name := fingerprintField(b.FieldToMatch); name != "" && b.PositionalConstraint != "EXACTLY" {
			k.add(key, at("byteMatchStatement", "positionalConstraint"), "%s: byteMatchStatement: %s takes positionalConstraint EXACTLY only, not %s, as in WAF", where, name, b.PositionalConstraint)
		}
		return
	}
	for _, f := range []struct {
		statement string
		field     *schema.WAFFieldToMatch
	}{
		{"sizeConstraintStatement", fieldOf(s.SizeConstraintStatement, func(x *schema.SizeConstraintStatement) *schema.WAFFieldToMatch { return &x.FieldToMatch })},
		{"regexMatchStatement", fieldOf(s.RegexMatchStatement, func(x *schema.RegexMatchStatement) *schema.WAFFieldToMatch { return &x.FieldToMatch })},
		{"regexPatternSetReferenceStatement", fieldOf(s.RegexPatternSetReferenceStatement, func(x *schema.RegexPatternSetReferenceStatement) *schema.WAFFieldToMatch { return &x.FieldToMatch })},
		{"sqliMatchStatement", fieldOf(s.SqliMatchStatement, func(x *schema.SqliMatchStatement) *schema.WAFFieldToMatch { return &x.FieldToMatch })},
		{"xssMatchStatement", fieldOf(s.XssMatchStatement, func(x *schema.XssMatchStatement) *schema.WAFFieldToMatch { return &x.FieldToMatch })},
	} {
		if f.field == nil {
			continue
		}
		if name := fingerprintField(*f.field); name != "" {
			k.add(key, at(f.statement, "fieldToMatch", name), "%s: %s: %s goes only in a byteMatchStatement with positionalConstraint EXACTLY, as in WAF", where, f.statement, name)
		}
	}
}

// fieldOf is get(x), nil for a nil x.
func fieldOf[T any](x *T, get func(*T) *schema.WAFFieldToMatch) *schema.WAFFieldToMatch {
	if x == nil {
		return nil
	}
	return get(x)
}

// fingerprintField names f's ja3Fingerprint or ja4Fingerprint, "" for
// another field.
func fingerprintField(f schema.WAFFieldToMatch) string {
	switch {
	case f.JA3Fingerprint != nil:
		return "ja3Fingerprint"
	case f.JA4Fingerprint != nil:
		return "ja4Fingerprint"
	}
	return ""
}
