package table

import (
	"fmt"
	"slices"

	"openfront.dev/schema"
)

// AWS WAF rule groups (API_RuleGroup, API_RuleGroupReferenceStatement,
// API_RuleActionOverride, API_ExcludedRule, API_OverrideAction; developer
// guide waf-rule-groups, web-acl-rule-actions,
// web-acl-rule-group-override-options, waf-rule-label-match):
//
//   - A web ACL's rule with a ruleGroupReferenceStatement runs the
//     group's rules, in the group's priority order, where it runs in the
//     web ACL's. A terminating action (allow, block) of a group's rule
//     ends the web ACL's evaluation as a web ACL's own rule does ("This
//     is true for rules that you add directly to the protection pack
//     (web ACL) and rules that are inside an added rule group"); a group
//     in which no rule terminates lets the web ACL go on.
//   - excludedRules are "Rules in the referenced rule group whose actions
//     are set to Count"; ruleActionOverrides give a rule any action, and
//     "matching requests are handled exactly as if the configured rule's
//     action were the override setting".
//   - overrideAction count on the referencing rule overrides "the rule
//     group evaluation result to count only" and "does not affect how
//     the rules in the rule group are evaluated": the group stops at its
//     terminating rule, and that result is counted, not applied; none
//     leaves it alone.
//   - A rule group reference is only a rule's top statement in a web ACL,
//     never inside another rule group (API_RuleGroupReferenceStatement).
//     A group may hold rate-based rules; each use of the group is a
//     rate-based rule instance of its own, with its own counts
//     (waf-rule-statement-type-rate-based).
//   - A group's rules label with the group's namespace,
//     awswaf:ACCOUNT:rulegroup:NAME:, and read unqualified label keys in
//     that context (waflabel.go).
//
// A group is compiled once per table; each reference shares its
// statements and has its own copy of the rules' actions.

// WAFGroupRef is a web ACL's rule that runs a rule group.
type WAFGroupRef struct {
	// Rule and Priority are the web ACL's rule's.
	Rule     string
	Priority int
	// Group is the rule group's name in the config.
	Group string
	// Count: overrideAction count, the group's result is counted only.
	Count bool
}

// Describe is how route names the reference: "rule group G" with its
// override action.
func (g *WAFGroupRef) Describe() string {
	if g.Count {
		return "rule group " + g.Group + ", overrideAction count"
	}
	return "rule group " + g.Group
}

// order is the rule's place in its web ACL: the referencing rule's
// priority for a group's rule.
func (r *WAFRule) order() int {
	if r.Via != nil {
		return r.Via.Priority
	}
	return r.Priority
}

// Counted reports whether a match of r, an allow or block of a rule
// group that the web ACL references with overrideAction count, is counted
// in place of its action; the group's evaluation ends there.
func (r *WAFRule) Counted() bool {
	return r.Via != nil && r.Via.Count && r.Action.Kind != WAFCount
}

// MetricName names r in metrics: GROUPRULE/RULE for a rule group's rule,
// which may have a name of the web ACL's own rules.
func (r *WAFRule) MetricName() string {
	if r.Via != nil {
		return r.Via.Rule + "/" + r.Name
	}
	return r.Name
}

// wafGroup is a compiled rule group: its rules in priority order, with
// the group's actions, and what its statements need of a request.
type wafGroup struct {
	rules []*WAFRule
	wafNeeds
}

// WAFGroupLabelNamespace is the prefix of the labels group name's rules
// add.
func WAFGroupLabelNamespace(name string, spec *schema.RuleGroup) string {
	if spec.LabelNamespace != "" {
		return spec.LabelNamespace
	}
	return "awswaf:" + WAFDefaultAccount + ":rulegroup:" + name + ":"
}

func compileRuleGroup(name string, spec *schema.RuleGroup, cfg *schema.Config) (*wafGroup, error) {
	c := newWAFCompiler(cfg, WAFGroupLabelNamespace(name, spec))
	g := &wafGroup{}
	for i := range spec.Rules {
		r, err := c.rule(name, &spec.Rules[i], spec.CustomResponseBodies)
		if err != nil {
			return nil, fmt.Errorf("rule group %q: %w", name, err)
		}
		g.rules = append(g.rules, r)
	}
	slices.SortStableFunc(g.rules, func(x, y *WAFRule) int { return x.Priority - y.Priority })
	g.wafNeeds = c.wafNeeds
	return g, nil
}

// groupReference is the rules web ACL acl's rule rs runs: its group's,
// compiled once into groups, with the reference's exclusions and
// overrides.
func (c *wafCompiler) groupReference(acl string, spec *schema.WebACL, rs *schema.WAFRule, cfg *schema.Config, groups map[string]*wafGroup) ([]*WAFRule, error) {
	ref := rs.Statement.RuleGroupReferenceStatement
	g := groups[ref.ARN]
	if g == nil {
		gs := cfg.RuleGroups[ref.ARN]
		if gs == nil {
			return nil, fmt.Errorf("unknown rule group %q", ref.ARN)
		}
		var err error
		if g, err = compileRuleGroup(ref.ARN, gs, cfg); err != nil {
			return nil, err
		}
		groups[ref.ARN] = g
	}
	c.wafNeeds.add(g.wafNeeds)
	via := &WAFGroupRef{Rule: rs.Name, Priority: rs.Priority, Group: ref.ARN, Count: rs.OverrideAction != nil && rs.OverrideAction.Count != nil}
	out := make([]*WAFRule, len(g.rules))
	for i, gr := range g.rules {
		r := *gr
		r.Via = via
		if slices.ContainsFunc(ref.ExcludedRules, func(e schema.WAFExcludedRule) bool { return e.Name == r.Name }) {
			r.Action = WAFAction{Kind: WAFCount}
		}
		for _, o := range ref.RuleActionOverrides {
			if o.Name == r.Name {
				// The override is the web ACL's: its bodies.
				r.Action = ruleAction(o.ActionToUse, spec.CustomResponseBodies)
			}
		}
		if r.Rate != nil {
			// Each use of the group counts apart.
			rate := *r.Rate
			rate.ID = acl + "\x00" + rs.Name + "\x00" + rate.ID
			r.Rate = &rate
		}
		out[i] = &r
	}
	return out, nil
}

// ruleGroupsUsed are the rule groups acl references and the sets their
// rules name, for a table to tell whether a compiled web ACL still holds.
func ruleGroupsUsed(acl *schema.WebACL, cfg *schema.Config) []any {
	var out []any
	for i := range acl.Rules {
		ref := acl.Rules[i].Statement.RuleGroupReferenceStatement
		if ref == nil || cfg.RuleGroups[ref.ARN] == nil {
			continue
		}
		g := cfg.RuleGroups[ref.ARN]
		out = append(out, g)
		ipSets, regexSets := setRefs(&schema.WebACL{Rules: g.Rules})
		for _, name := range ipSets {
			out = append(out, cfg.IPSets[name])
		}
		for _, name := range regexSets {
			out = append(out, cfg.RegexPatternSets[name])
		}
	}
	return out
}
