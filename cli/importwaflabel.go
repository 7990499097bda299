package cli

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
