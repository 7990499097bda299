package node

import "testing"

const wafInjectionConfig = `package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "files", localOriginConfig: path: "site"}]
	defaultCacheBehavior: {targetOriginId: "files", viewerProtocolPolicy: "allow-all", forwardedValues: queryString: true}
	webACLId: "guard"
}
webACLs: guard: {
	defaultAction: allow: {}
	rules: [{
		name: "sqli", priority: 1, action: block: {}
		statement: sqliMatchStatement: {fieldToMatch: allQueryArguments: {}, sensitivityLevel: "HIGH",
			textTransformations: [{priority: 0, type: "URL_DECODE"}, {priority: 1, type: "HTML_ENTITY_DECODE"}]}
	}]
}
`

// A node started on a config whose web ACL has a SQL injection rule
// refuses a query with SQL in an argument and serves a harmless one.
func TestNodeWebACLInjection(t *testing.T) {
	n := startWAFNode(t, wafInjectionConfig)
	for _, c := range []struct {
		query  string
		status int
	}{
		{"page=2&id=1%27%20OR%201%3D1--", 403},
		// HTML entities decoded after the URL: &#39; is a quote.
		{"id=1%26%2339%3B%20OR%201%3D1--", 403},
		// HIGH: SQL libinjection takes for prose.
		{"q=select%20name%20from%20users", 403},
		{"page=2&q=fish%20and%20chips", 200},
	} {
		if got := wafStatus(t, n, "/index.html?"+c.query, nil); got != c.status {
			t.Errorf("?%s: status %d, want %d", c.query, got, c.status)
		}
	}
}
