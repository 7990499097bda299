package table

import (
	"fmt"

	"openfront.dev/schema"
)

// The body as a fieldToMatch (API_Body, API_FieldToMatch): WAF inspects
// the first bytes of a request's body, up to the web ACL's limit for
// CloudFront, "16 KB (16,384 bytes)" by default and KB_32, KB_48 or
// KB_64 with associationConfig.requestBody.CLOUDFRONT
// (API_AssociationConfig, API_RequestBodyAssociatedResourceTypeConfig:
// "This applies to statements in the web ACL that inspect the body").
// Past the limit the statement's oversizeHandling decides (API_Body):
// CONTINUE "Inspect the available body contents normally", MATCH "Treat
// the web request as matching the rule statement", NO_MATCH "as not
// matching"; "Default: CONTINUE".

// DefaultWAFBodyLimit is what WAF inspects of a body for CloudFront
// without an associationConfig.
const DefaultWAFBodyLimit = 16 * 1024

// WAFBody is the part of a request's body a web ACL inspects.
type WAFBody struct {
	// Data is the body's first bytes, at most the web ACL's BodyLimit.
	Data []byte
	// Oversize: the body has more than BodyLimit bytes.
	Oversize bool
	// Size is the body's whole size when the viewer declared it
	// (Content-Length), -1 when not. No statement compares it: a size
	// constraint compares the bytes inspected, as WAF's (bodySize).
	Size int64
	// doc is Data parsed as JSON, once, by the first jsonBody statement
	// (wafjson.go).
	doc *jsonDoc
	// str is Data as a string, converted once, by the first statement
	// that inspects it as text.
	str string
}

// text is the body's inspected bytes as a string, one copy for all the
// statements of a request; "" for a request without a body.
func (b *WAFBody) text() string {
	if b == nil {
		return ""
	}
	if b.str == "" && len(b.Data) > 0 {
		b.str = string(b.Data)
	}
	return b.str
}

// WAFBodyLimit is the bytes of a body a web ACL with spec inspects.
func WAFBodyLimit(spec *schema.WebACL) int {
	if ac := spec.AssociationConfig; ac != nil && ac.RequestBody != nil && ac.RequestBody.CloudFront != nil {
		switch ac.RequestBody.CloudFront.DefaultSizeInspectionLimit {
		case "KB_32":
			return 32 * 1024
		case "KB_48":
			return 48 * 1024
		case "KB_64":
			return 64 * 1024
		}
	}
	return DefaultWAFBodyLimit
}

// oversized reports whether the body's size decides the statement
// without an inspection (MATCH, NO_MATCH) and how.
func (in *wafInput) oversized(r *WAFRequest) (decided, matched bool) {
	if r.Body == nil || !r.Body.Oversize || in.oversize == "CONTINUE" || in.oversize == "" {
		return false, false
	}
	return true, in.oversize == "MATCH"
}

// inspectBody calls match with the inspected bytes of the body,
// transformed; a request without a body has an empty one.
func (in *wafInput) inspectBody(r *WAFRequest, match func(v string) bool) bool {
	if decided, matched := in.oversized(r); decided {
		return matched
	}
	return match(in.transform(r.Body.text()))
}

// bodySize is the size a sizeConstraintStatement compares for the body:
// the bytes inspected, after the transformations, a larger body's first
// bytes under CONTINUE: "This statement uses the size of the component
// that AWS WAF receives for inspection. For body, header, and cookie
// components, this size could be less than the original size that was
// sent to the protected resource"
// (waf-rule-statement-type-size-constraint-match). A rule on a size past
// the limit never matches, as on WAF; GT the limit less one, or
// oversizeHandling MATCH, refuses larger bodies.
func (m *sizeMatcher) bodySize(r *WAFRequest) (n int64, decided, matched bool) {
	if decided, matched := m.oversized(r); decided {
		return -1, true, matched
	}
	return int64(len(m.transform(r.Body.text()))), false, false
}

func (m *sizeMatcher) matchBody(r *WAFRequest) bool {
	n, decided, matched := m.bodySize(r)
	if decided {
		return matched
	}
	return compareSize(n, m.op, m.size)
}

func (m *sizeMatcher) explainBody(r *WAFRequest) (bool, string) {
	n, decided, matched := m.bodySize(r)
	if decided {
		return matched, m.explainOversize(matched)
	}
	matched = compareSize(n, m.op, m.size)
	how := "does not match"
	if matched {
		how = "matches"
	}
	return matched, fmt.Sprintf("%s: %s is %d bytes (%s %d)", how, m.describe(), n, m.op, m.size)
}

// explainOversize says that oversizeHandling decided.
func (in *wafInput) explainOversize(matched bool) string {
	if matched {
		return "matches: the body is larger than the web ACL inspects (oversizeHandling MATCH)"
	}
	return "does not match: the body is larger than the web ACL inspects (oversizeHandling NO_MATCH)"
}

// Within is what a web ACL whose limit is limit inspects of b, read up
// to a larger limit for another web ACL: its first limit bytes.
func (b *WAFBody) Within(limit int) *WAFBody {
	if b == nil || len(b.Data) <= limit {
		return b
	}
	return &WAFBody{Data: b.Data[:limit], Oversize: true, Size: b.Size}
}
