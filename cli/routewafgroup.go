package cli

import "openfront.dev/compiler/table"

// RouteWAFGroup is the web ACL rule that runs a rule group, as route
// shows it above the group's rules.
type RouteWAFGroup struct {
	Rule     string `json:"rule"`
	Priority int    `json:"priority"`
	// Describe names the group and its override action.
	Describe string `json:"describe"`
}

// routeGroupRule is rule's line with result why, under the rule that runs
// its group when it is a rule group's.
func routeGroupRule(rule *table.WAFRule, why string) RouteWAFRule {
	out := RouteWAFRule{Name: rule.Name, Priority: rule.Priority, Action: rule.Action.String(), Result: why}
	if v := rule.Via; v != nil {
		out.Via = &RouteWAFGroup{Rule: v.Rule, Priority: v.Priority, Describe: v.Describe()}
	}
	return out
}
