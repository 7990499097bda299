package cli

import "maps"

// labelNamespace keeps a web ACL's LabelNamespace when its imported rules
// use labels: a label match key may name a label fully qualified, with
// the AWS account openfront does not otherwise know. Without labels it is
// metadata.
func (imp *importer) labelNamespace(o *cueStruct, s *src, rules []any) {
	ns := s.str("LabelNamespace")
	if ns == "" || !usesLabels(rules) {
		return
	}
	o.set("labelNamespace", ns)
}

// usesLabels reports whether imported rules (cueStructs) hold ruleLabels
// or a labelMatchStatement.
func usesLabels(v any) bool {
	switch v := v.(type) {
	case *cueStruct:
		for _, f := range v.fields {
			if f.name == "ruleLabels" || f.name == "labelMatchStatement" || usesLabels(f.val) {
				return true
			}
		}
	case []any:
		for _, e := range v {
			if usesLabels(e) {
				return true
			}
		}
	}
	return false
}

// referenceLabels is rule m, named name, without the RuleLabels of a rule
// group reference, with a note: WAF refuses them ("specifying a label for
// either statement type results in a validation exception",
// waf-rule-label-add), and so does vet.
func (imp *importer) referenceLabels(o *cueStruct, s *src, name string, m map[string]any) map[string]any {
	st, _ := m["Statement"].(map[string]any)
	ls, ok := m["RuleLabels"].([]any)
	if _, ref := st["RuleGroupReferenceStatement"]; !ref || !ok {
		return m
	}
	names := []string{}
	for _, l := range ls {
		lm, _ := l.(map[string]any)
		n, _ := lm["Name"].(string)
		names = append(names, n)
	}
	imp.note(o, s, "rule %s: RuleLabels %v not imported: WAF refuses labels on a rule group reference statement; give them to the group's rules", name, names)
	m = maps.Clone(m)
	delete(m, "RuleLabels")
	return m
}
