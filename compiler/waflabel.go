package compiler

import (
	"cuelang.org/go/cue"

	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

// ruleLabels checks a rule's labels as WAF does
// (waf-rule-label-requirements; table.CheckWAFLabel).
func (k *checker) ruleLabels(key string, at func(...any) []cue.Selector, where string, ls []schema.WAFLabel) {
	for i, l := range ls {
		if err := table.CheckWAFLabel(l.Name); err != nil {
			k.add(key, at("ruleLabels", i, "name"), "%s: ruleLabels: %v", where, err)
		}
	}
}
