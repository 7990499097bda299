package schema

// The Go form of schema/wafgroup.cue.

// RuleGroup is #RuleGroup.
type RuleGroup struct {
	Description          string                           `json:"description"`
	Capacity             int64                            `json:"capacity,omitempty"`
	Rules                []WAFRule                        `json:"rules"`
	VisibilityConfig     map[string]any                   `json:"visibilityConfig,omitempty"`
	CustomResponseBodies map[string]WAFCustomResponseBody `json:"customResponseBodies,omitempty"`
	LabelNamespace       string                           `json:"labelNamespace,omitempty"`
}

// RuleGroupReferenceStatement is #RuleGroupReferenceStatement.
type RuleGroupReferenceStatement struct {
	ARN                 string                  `json:"arn"`
	ExcludedRules       []WAFExcludedRule       `json:"excludedRules,omitempty"`
	RuleActionOverrides []WAFRuleActionOverride `json:"ruleActionOverrides,omitempty"`
}

// WAFExcludedRule is #RuleGroupReferenceStatement.excludedRules' element.
type WAFExcludedRule struct {
	Name string `json:"name"`
}

// WAFRuleActionOverride is #RuleGroupReferenceStatement.ruleActionOverrides' element.
type WAFRuleActionOverride struct {
	Name        string        `json:"name"`
	ActionToUse WAFRuleAction `json:"actionToUse"`
}

// WAFOverrideAction is #WAFRule.overrideAction.
type WAFOverrideAction struct {
	None  *struct{} `json:"none,omitempty"`
	Count *struct{} `json:"count,omitempty"`
}
