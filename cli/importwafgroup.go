package cli

// AWS WAF rule groups from `aws wafv2 get-rule-group` output, referenced
// by their config name instead of their ARN, as IP sets are. A group's
// rule that needs what openfront does not enforce is left out as a web
// ACL's is.

// wafRules imports the Rules of s, a web ACL or rule group (owner names
// it), into o's rules, with the LabelNamespace their labels need.
func (imp *importer) wafRules(o *cueStruct, s *src, owner string) {
	var rules []any
	for _, r := range s.items("Rules") {
		m, _ := r.(map[string]any)
		name, _ := m["Name"].(string)
		m = imp.referenceLabels(o, s, name, m)
		v, why := imp.wafValue(m, "rules")
		if why != "" {
			imp.weaker(o, s, ruleBlocks(owner, name, m), "rule %s not imported: %s", name, why)
			continue
		}
		rules = append(rules, v)
	}
	if rules == nil {
		rules = []any{}
	}
	o.set("rules", rules)
	imp.labelNamespace(o, s, rules)
}

func (imp *importer) ruleGroupsSection() *cueStruct {
	out := &cueStruct{}
	for _, g := range imp.ruleGroups {
		s := newSrc(g.file, "ruleGroups."+g.name, g.cfg)
		o := &cueStruct{}
		o.setStr("description", s.str("Description"), "")
		imp.wafRules(o, s, "rule group "+g.name)
		imp.customResponseBodies(o, s)
		// What the group's rules label and match: WAF's summary of them.
		s.get("AvailableLabels")
		s.get("ConsumedLabels")
		imp.wafRest(o, s)
		out.set(g.name, o)
	}
	return out
}
