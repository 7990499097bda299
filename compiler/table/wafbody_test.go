package table

import (
	"strings"
	"testing"

	"openfront.dev/schema"
)

// TestBodyMatch: every statement with a fieldToMatch inspects the body's
// first BodyLimit bytes; past them oversizeHandling decides: CONTINUE
// inspects the first bytes, MATCH and NO_MATCH decide without looking.
func TestBodyMatch(t *testing.T) {
	body := func(handling string) schema.WAFFieldToMatch {
		return schema.WAFFieldToMatch{Body: &schema.WAFBody{OversizeHandling: handling}}
	}
	decode := []schema.TextTransformation{{Priority: 0, Type: "URL_DECODE"}}
	stmt := func(handling string) map[string]schema.WAFStatement {
		f := body(handling)
		return map[string]schema.WAFStatement{
			"sqli":  {SqliMatchStatement: &schema.SqliMatchStatement{FieldToMatch: f, TextTransformations: decode}},
			"xss":   {XssMatchStatement: &schema.XssMatchStatement{FieldToMatch: f, TextTransformations: decode}},
			"byte":  {ByteMatchStatement: &schema.ByteMatchStatement{SearchString: "drop", FieldToMatch: f, PositionalConstraint: "CONTAINS"}},
			"regex": {RegexMatchStatement: &schema.RegexMatchStatement{RegexString: "(?i)union\\s+select", FieldToMatch: f, TextTransformations: decode}},
			"size":  {SizeConstraintStatement: &schema.SizeConstraintStatement{FieldToMatch: f, ComparisonOperator: "GT", Size: 100}},
		}
	}
	small := func(s string) *WAFBody { return &WAFBody{Data: []byte(s), Size: int64(len(s))} }
	// A body larger than the limit: its first bytes are harmless, what
	// follows them is not (and is never seen).
	big := &WAFBody{Data: []byte(strings.Repeat("a", DefaultWAFBodyLimit)), Oversize: true, Size: 1 << 20}
	bigEvil := &WAFBody{Data: []byte("name=1%27%20OR%20%271%27%3D%271&drop=1&q=union%20select%20x&c=%3Cscript%3Ealert(1)%3C/script%3E" + strings.Repeat("a", DefaultWAFBodyLimit-100)), Oversize: true, Size: -1}
	for _, c := range []struct {
		name     string
		handling string
		body     *WAFBody
		want     map[string]bool
	}{
		{"form with sqli", "CONTINUE", small("user=1%27+OR+%271%27%3D%271&pw=x"), map[string]bool{"sqli": true, "xss": false, "byte": false, "regex": false, "size": false}},
		{"form with xss and more", "CONTINUE", small("c=%3Cscript%3Ealert(1)%3C/script%3E&t=drop&q=UNION%20SELECT%201&pad=" + strings.Repeat("x", 50)), map[string]bool{"sqli": false, "xss": true, "byte": true, "regex": true, "size": true}},
		{"clean", "CONTINUE", small("name=fish&and=chips"), map[string]bool{"sqli": false, "xss": false, "byte": false, "regex": false, "size": false}},
		{"no body", "MATCH", nil, map[string]bool{"sqli": false, "xss": false, "byte": false, "regex": false, "size": false}},
		{"within the limit under MATCH", "MATCH", small("name=fish"), map[string]bool{"sqli": false, "xss": false, "byte": false, "regex": false, "size": false}},
		// CONTINUE: the first bytes are inspected; the size is the declared one.
		{"oversize CONTINUE", "CONTINUE", big, map[string]bool{"sqli": false, "xss": false, "byte": false, "regex": false, "size": true}},
		{"oversize CONTINUE, in the first bytes", "CONTINUE", bigEvil, map[string]bool{"sqli": true, "xss": true, "byte": true, "regex": true, "size": true}},
		{"oversize MATCH", "MATCH", big, map[string]bool{"sqli": true, "xss": true, "byte": true, "regex": true, "size": true}},
		{"oversize NO_MATCH", "NO_MATCH", bigEvil, map[string]bool{"sqli": false, "xss": false, "byte": false, "regex": false, "size": false}},
	} {
		for name, s := range stmt(c.handling) {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				m, err := (&wafCompiler{}).statement(&s)
				if err != nil {
					t.Fatal(err)
				}
				r := &WAFRequest{Method: "POST", Path: "/login", Body: c.body}
				if got := m.Match(r); got != c.want[name] {
					t.Errorf("match %v, want %v", got, c.want[name])
				}
				rule := &WAFRule{Name: name, Match: m}
				if got, why := rule.Explain(r); got != c.want[name] {
					t.Errorf("explain %v (%s), want %v", got, why, c.want[name])
				}
			})
		}
	}
}

// TestBodySize: a size constraint on the body compares the bytes
// inspected, transformed, a larger body's first bytes too: "This
// statement uses the size of the component that AWS WAF receives for
// inspection. For body, header, and cookie components, this size could be
// less than the original size that was sent to the protected resource"
// (waf-rule-statement-type-size-constraint-match).
func TestBodySize(t *testing.T) {
	f := schema.WAFFieldToMatch{Body: &schema.WAFBody{OversizeHandling: "CONTINUE"}}
	for _, c := range []struct {
		name string
		tts  []schema.TextTransformation
		body *WAFBody
		want int64
	}{
		{"whole", nil, &WAFBody{Data: []byte("a%41b"), Size: 5}, 5},
		{"decoded", []schema.TextTransformation{{Type: "URL_DECODE"}}, &WAFBody{Data: []byte("a%41b"), Size: 5}, 3},
		{"chunked", nil, &WAFBody{Data: []byte("abc"), Size: -1}, 3},
		{"declared larger", nil, &WAFBody{Data: make([]byte, 16), Oversize: true, Size: 1 << 20}, 16},
		{"undeclared larger", nil, &WAFBody{Data: make([]byte, 16), Oversize: true, Size: -1}, 16},
		{"none", nil, nil, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := compileSize(&schema.SizeConstraintStatement{FieldToMatch: f, TextTransformations: c.tts, ComparisonOperator: "EQ", Size: c.want})
			if err != nil {
				t.Fatal(err)
			}
			if r := (&WAFRequest{Body: c.body}); !m.Match(r) {
				_, why := m.explain(r)
				t.Errorf("size is not %d: %s", c.want, why)
			}
		})
	}
}

// TestBodyLimit: a web ACL reads a body only when a statement inspects
// it, up to 16 KB or its associationConfig's CloudFront limit.
func TestBodyLimit(t *testing.T) {
	bodyRule := schema.WAFRule{Name: "b", Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}},
		Statement: schema.WAFStatement{NotStatement: &schema.WAFNotStatement{Statement: schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{
			SearchString: "x", PositionalConstraint: "CONTAINS", FieldToMatch: schema.WAFFieldToMatch{Body: &schema.WAFBody{OversizeHandling: "CONTINUE"}}}}}}}
	pathRule := schema.WAFRule{Name: "p", Priority: 1, Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}},
		Statement: schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: "x", PositionalConstraint: "CONTAINS", FieldToMatch: schema.WAFFieldToMatch{URIPath: &struct{}{}}}}}
	limit := func(l string) *schema.WAFAssociationConfig {
		ac := &schema.WAFAssociationConfig{}
		ac.RequestBody = &struct {
			CloudFront *schema.WAFRequestBodyConfig `json:"CLOUDFRONT,omitempty"`
		}{&schema.WAFRequestBodyConfig{DefaultSizeInspectionLimit: l}}
		return ac
	}
	for _, c := range []struct {
		name  string
		rules []schema.WAFRule
		ac    *schema.WAFAssociationConfig
		want  int
	}{
		{"no body rule", []schema.WAFRule{pathRule}, limit("KB_64"), 0},
		{"default", []schema.WAFRule{bodyRule, pathRule}, nil, 16384},
		{"KB_16", []schema.WAFRule{bodyRule}, limit("KB_16"), 16384},
		{"KB_32", []schema.WAFRule{bodyRule}, limit("KB_32"), 32768},
		{"KB_48", []schema.WAFRule{bodyRule}, limit("KB_48"), 49152},
		{"KB_64", []schema.WAFRule{bodyRule}, limit("KB_64"), 65536},
	} {
		t.Run(c.name, func(t *testing.T) {
			a, err := newWebACL("acl", &schema.WebACL{DefaultAction: schema.WAFDefaultAction{Allow: &schema.WAFAllowAction{}}, Rules: c.rules, AssociationConfig: c.ac}, &schema.Config{})
			if err != nil {
				t.Fatal(err)
			}
			if a.BodyLimit != c.want {
				t.Errorf("BodyLimit %d, want %d", a.BodyLimit, c.want)
			}
		})
	}
}

// TestBodyTextOnce: the statements of a request inspect one copy of its
// body as text, not one each.
func TestBodyTextOnce(t *testing.T) {
	s := schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: "drop",
		FieldToMatch: schema.WAFFieldToMatch{Body: &schema.WAFBody{}}, PositionalConstraint: "CONTAINS"}}
	m, err := (&wafCompiler{}).statement(&s)
	if err != nil {
		t.Fatal(err)
	}
	r := &WAFRequest{Method: "POST", Path: "/", Body: &WAFBody{Data: []byte(strings.Repeat("a", 4096)), Size: 4096}}
	m.Match(r)
	if n := testing.AllocsPerRun(10, func() { m.Match(r) }); n != 0 {
		t.Errorf("a further statement on the body allocates %v times, want 0", n)
	}
}
