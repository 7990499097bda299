package table

import (
	"fmt"
	"slices"
	"strings"

	"openfront.dev/schema"
)

// AWS WAF labels (API_Rule RuleLabels, API_Label, API_LabelMatchStatement;
// developer guide waf-labels, waf-rule-label-match,
// waf-rule-label-requirements):
//
//   - A rule whose statement matches adds its labels to the request,
//     whatever its action: a count rule labels and evaluation goes on; an
//     allow or block rule labels and stops it.
//   - Rules run in priority order, so a labelMatchStatement sees only the
//     labels of rules before it ("rules that have already run in the web
//     ACL").
//   - A label is fully qualified with the web ACL's namespace,
//     awswaf:<account>:webacl:<name>: (API_WebACL LabelNamespace).
//     openfront has no AWS account: it uses 000000000000 unless the web
//     ACL gives labelNamespace (import keeps get-web-acl's).
//   - Labels are case sensitive; components are separated by ":"; a
//     namespace or name has up to 128 characters, a label up to five
//     namespaces, and none is one of WAF's reserved words.
//
// A web ACL without labels pays nothing per request: evaluate appends
// only for a matching rule that has labels.

// WAFDefaultAccount is the account openfront puts in a web ACL's label
// namespace when the config gives none.
const WAFDefaultAccount = "000000000000"

// WAFLabelNamespace is the prefix of the labels web ACL name's rules add.
func WAFLabelNamespace(name string, spec *schema.WebACL) string {
	if spec.LabelNamespace != "" {
		return spec.LabelNamespace
	}
	return "awswaf:" + WAFDefaultAccount + ":webacl:" + name + ":"
}

// wafReservedLabelWords may not be a label's namespace or name
// (waf-rule-label-requirements).
var wafReservedLabelWords = []string{"awswaf", "aws", "waf", "rulegroup", "webacl", "regexpatternset", "ipset", "managed"}

// CheckWAFLabel reports what WAF refuses in a rule label's name (the part
// after the web ACL's namespace): empty components, one longer than 128
// characters, more than five namespaces, a reserved word.
func CheckWAFLabel(name string) error {
	parts := strings.Split(name, ":")
	if len(parts) > 6 {
		return fmt.Errorf("label %q has %d namespaces; WAF takes 5 at most", name, len(parts)-1)
	}
	for _, p := range parts {
		switch {
		case p == "":
			return fmt.Errorf("label %q has an empty namespace or name: components are separated by one \":\"", name)
		case len(p) > 128:
			return fmt.Errorf("label %q: %q is %d characters; WAF takes 128 at most", name, p[:16]+"…", len(p))
		case slices.Contains(wafReservedLabelWords, p):
			return fmt.Errorf("label %q uses %q, which WAF reserves (%s)", name, p, strings.Join(wafReservedLabelWords, ", "))
		}
	}
	return nil
}

// CheckWAFLabelKey reports what WAF refuses in a labelMatchStatement's
// key: an empty component (NAMESPACE's key may end with ":").
func CheckWAFLabelKey(scope, key string) error {
	k := key
	if scope == "NAMESPACE" {
		k = strings.TrimSuffix(k, ":")
	}
	if slices.Contains(strings.Split(k, ":"), "") {
		return fmt.Errorf("key %q has an empty component: namespaces and the name are separated by one \":\"", key)
	}
	return nil
}

// wafLabels are rule labels qualified with namespace.
func wafLabels(namespace string, ls []schema.WAFLabel) []string {
	if len(ls) == 0 {
		return nil
	}
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = namespace + l.Name
	}
	return out
}

// labelMatcher is a LabelMatchStatement. A key without the awswaf:
// prefix is read in the context of the web ACL or rule group the rule is
// in ("if your label or namespace match string doesn't specify the
// prefix, AWS WAF uses the prefix for the label match rule",
// waf-rule-label-match): a web ACL's rule sees a rule group's labels by
// their fully qualified name or namespace (awswaf:ACCOUNT:rulegroup:NAME:...).
type labelMatcher struct {
	namespace bool   // scope NAMESPACE
	key       string // NAMESPACE's with its trailing ":"
	context   string // the web ACL's or rule group's label namespace
}

func compileLabelMatch(s *schema.LabelMatchStatement, context string) *labelMatcher {
	m := &labelMatcher{namespace: s.Scope == "NAMESPACE", key: s.Key, context: context}
	if m.namespace && !strings.HasSuffix(m.key, ":") {
		m.key += ":"
	}
	return m
}

func (m *labelMatcher) Match(r *WAFRequest) bool {
	_, ok := m.which(r)
	return ok
}

// which is the first label of r the statement matches.
func (m *labelMatcher) which(r *WAFRequest) (string, bool) {
	for _, l := range r.Labels {
		if m.matches(l) {
			return l, true
		}
	}
	return "", false
}

// matches: LABEL's key is the label's name "and can include any number
// of preceding namespace specifications and prefix up to providing the
// fully qualified label name": the label ends with it, at a ":". A
// NAMESPACE key "can include any number of contiguous namespace strings,
// and can include the entire label namespace prefix": the label's
// namespaces, after the web ACL's prefix or with it, start with it.
func (m *labelMatcher) matches(label string) bool {
	qualified := strings.HasPrefix(m.key, "awswaf:")
	if !qualified && !strings.HasPrefix(label, m.context) {
		return false // another context's label
	}
	if !m.namespace {
		return label == m.key || strings.HasSuffix(label, m.key) && label[len(label)-len(m.key)-1] == ':'
	}
	ns := label[:strings.LastIndexByte(label, ':')+1]
	if qualified {
		return strings.HasPrefix(ns, m.key)
	}
	return strings.HasPrefix(ns[len(m.context):], m.key)
}

func (m *labelMatcher) explain(r *WAFRequest) (bool, string) {
	scope := "label"
	if m.namespace {
		scope = "namespace"
	}
	if l, ok := m.which(r); ok {
		return true, fmt.Sprintf("matches: an earlier rule added label %s (%s %s)", l, scope, m.key)
	}
	if len(r.Labels) == 0 {
		return false, fmt.Sprintf("does not match: no earlier rule added a label (%s %s)", scope, m.key)
	}
	return false, fmt.Sprintf("does not match %s %s: earlier rules added %s", scope, m.key, strings.Join(r.Labels, ", "))
}

// AddLabels adds the rule's labels to req, as a matching rule does.
func (r *WAFRule) AddLabels(req *WAFRequest) {
	if len(r.Labels) > 0 {
		req.Labels = append(req.Labels, r.Labels...)
	}
}
