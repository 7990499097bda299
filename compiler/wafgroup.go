package compiler

import (
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue"

	"openfront.dev/schema"
)

// AWS WAF rule groups: what WAF refuses in a rule group and in a web ACL
// rule that references one (API_RuleGroupReferenceStatement,
// API_OverrideAction, API_Rule: a rule that runs a rule group has
// overrideAction where others have action; a rule group reference is a
// web ACL rule's top statement, never in a rule group; customer-owned
// rule groups refuse an override of a rule they do not have).

func (k *checker) ruleGroup(name string, g *schema.RuleGroup, cfg *schema.Config) {
	base := sel("ruleGroups", name)
	at := func(parts ...any) []cue.Selector { return append(slices.Clone(base), sel(parts...)...) }
	k.wafRules("ruleGroups."+name, at, fmt.Sprintf("rule group %q", name), "rule group", g.Rules, g.CustomResponseBodies, cfg)
}

// groupRule checks r's overrideAction and, when r references a rule
// group, the reference, and reports whether it does.
func (k *checker) groupRule(key string, rat func(...any) []cue.Selector, rwhere, what string, r *schema.WAFRule, bodies map[string]schema.WAFCustomResponseBody, cfg *schema.Config) bool {
	ref := r.Statement.RuleGroupReferenceStatement
	if ref == nil {
		// A managed rule group's is for its unsupported statement to say.
		if r.OverrideAction != nil && r.Statement.ManagedRuleGroupStatement == nil {
			k.add(key, rat("overrideAction"), "%s: overrideAction is for a rule that references a rule group; this rule takes action", rwhere)
		}
		return false
	}
	refAt := func(parts ...any) []cue.Selector {
		return rat(append([]any{"statement", "ruleGroupReferenceStatement"}, parts...)...)
	}
	if what == "rule group" {
		k.add(key, refAt(), "%s: a rule group cannot reference another rule group: WAF runs rule groups only from a web ACL's rules", rwhere)
		return true
	}
	if r.RuleLabels != nil {
		// "Through the API, specifying a label for either statement type
		// results in a validation exception" (waf-rule-label-add).
		k.add(key, rat("ruleLabels"), "%s: ruleLabels: WAF refuses labels on a ruleGroupReferenceStatement (a validation exception): give them to the group's rules", rwhere)
	}
	if r.Action != nil {
		k.add(key, rat("action"), "%s: a rule that references a rule group takes overrideAction (none or count), not action", rwhere)
	}
	if o := r.OverrideAction; o == nil {
		k.add(key, rat(), "%s: a rule that references a rule group needs overrideAction: none or count", rwhere)
	} else {
		k.one(key, func(parts ...any) []cue.Selector { return rat(append([]any{"overrideAction"}, parts...)...) }, rwhere, "overrideAction",
			[]wafField{{name: "none", set: o.None != nil, supported: true}, {name: "count", set: o.Count != nil, supported: true}})
	}
	g := cfg.RuleGroups[ref.ARN]
	if g == nil {
		k.add(key, refAt("arn"), "%s: unknown rule group %q%s", rwhere, ref.ARN, nameHint(ref.ARN, sortedKeys(cfg.RuleGroups), "a key of ruleGroups"))
		return true
	}
	has := func(name string) bool {
		return slices.ContainsFunc(g.Rules, func(r schema.WAFRule) bool { return r.Name == name })
	}
	for i, e := range ref.ExcludedRules {
		if !has(e.Name) {
			k.add(key, refAt("excludedRules", i, "name"), "%s: excludedRules: rule group %q has no rule %q", rwhere, ref.ARN, e.Name)
		}
	}
	for i := range ref.RuleActionOverrides {
		o := &ref.RuleActionOverrides[i]
		oat := func(parts ...any) []cue.Selector {
			return refAt(append([]any{"ruleActionOverrides", i}, parts...)...)
		}
		if !has(o.Name) {
			k.add(key, oat("name"), "%s: ruleActionOverrides: rule group %q has no rule %q", rwhere, ref.ARN, o.Name)
		}
		k.ruleAction(key, func(parts ...any) []cue.Selector { return oat(append([]any{"actionToUse"}, parts...)...) }, rwhere+": ruleActionOverrides "+o.Name, &o.ActionToUse, bodies)
	}
	return true
}

// bodiesOwner names whose customResponseBodies a check of key reads.
func bodiesOwner(key string) string {
	if strings.HasPrefix(key, "ruleGroups.") {
		return "rule group"
	}
	return "web ACL"
}
