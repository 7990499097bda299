package node

import (
	"net/http"
	"testing"
)

const wafGroupConfig = `package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "files", localOriginConfig: path: "site"}]
	defaultCacheBehavior: {targetOriginId: "files", viewerProtocolPolicy: "allow-all"}
	webACLId: "guard"
}
ruleGroups: team: rules: [{
	name: "admin", priority: 0, action: block: {}
	statement: byteMatchStatement: {searchString: "/admin", fieldToMatch: uriPath: {},
		positionalConstraint: "STARTS_WITH", textTransformations: [{priority: 0, type: "NONE"}]}
}, {
	name: "old", priority: 1, action: block: {}
	statement: byteMatchStatement: {searchString: "/old", fieldToMatch: uriPath: {},
		positionalConstraint: "STARTS_WITH", textTransformations: [{priority: 0, type: "NONE"}]}
}]
webACLs: guard: {
	defaultAction: allow: {}
	rules: [{
		name: "team", priority: 0, overrideAction: none: {}
		statement: ruleGroupReferenceStatement: {arn: "team", excludedRules: [{name: "old"}]}
	}]
}
`

// A web ACL that references a rule group blocks what the group's rule
// blocks, and nothing else; a rule excluded from the group only counts.
func TestNodeWebACLRuleGroup(t *testing.T) {
	n := startWAFNode(t, wafGroupConfig)
	for path, want := range map[string]int{"/admin/x": 403, "/index.html": 200, "/old/index.html": 404} {
		if got := wafStatus(t, n, path, http.Header{}); got != want {
			t.Errorf("%s: %d, want %d", path, got, want)
		}
	}
}
