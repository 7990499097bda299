package node

import (
	"net/http"
	"testing"
)

const wafKeysConfig = `package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "files", localOriginConfig: path: "site"}]
	defaultCacheBehavior: {targetOriginId: "files", viewerProtocolPolicy: "allow-all"}
	webACLId: "guard"
}
ipSets: abusers: {ipAddressVersion: "IPV4", addresses: ["192.0.2.0/24"]}
ipSets: office: {ipAddressVersion: "IPV4", addresses: ["198.51.100.0/24"]}
webACLs: guard: {
	defaultAction: allow: {}
	rules: [{
		name: "proxied-abusers", priority: 0, action: block: {}
		statement: ipSetReferenceStatement: {arn: "abusers",
			ipSetForwardedIPConfig: {headerName: "X-Forwarded-For", fallbackBehavior: "NO_MATCH", position: "FIRST"}}
	}, {
		name: "per-api-key", priority: 1, action: block: customResponse: responseCode: 429
		statement: rateBasedStatement: {limit: 10, evaluationWindowSec: 300, aggregateKeyType: "CUSTOM_KEYS",
			customKeys: [{header: {name: "x-api-key", textTransformations: [{priority: 0, type: "NONE"}]}}]}
	}, {
		// Proxied requests only from the office; direct ones are not
		// this rule's: without the header it does not apply.
		name: "proxied-from-office-only", priority: 2, action: block: {}
		statement: notStatement: statement: ipSetReferenceStatement: {arn: "office",
			ipSetForwardedIPConfig: {headerName: "X-Forwarded-For", fallbackBehavior: "MATCH", position: "FIRST"}}
	}]
}
`

// A rate rule keyed on a header blocks one API key past its limit while
// another is still served; an IP set rule with ipSetForwardedIPConfig
// blocks by X-Forwarded-For's address, not the connection's, and one
// inside a notStatement does not apply to a request without the header.
func TestNodeWebACLCustomKeysAndForwardedIP(t *testing.T) {
	n := startWAFNode(t, wafKeysConfig)
	if got := wafStatus(t, n, "/index.html", http.Header{"X-Forwarded-For": {"203.0.113.5"}}); got != 403 {
		t.Errorf("X-Forwarded-For's first address not the office's: status %d, want 403", got)
	}
	if got := wafStatus(t, n, "/index.html", http.Header{}); got != 200 {
		t.Errorf("no X-Forwarded-For, the notStatement's rule does not apply: status %d, want 200", got)
	}
	if got := wafStatus(t, n, "/index.html", http.Header{"X-Forwarded-For": {"192.0.2.9, 198.51.100.1"}}); got != 403 {
		t.Errorf("X-Forwarded-For's first address in the IP set: status %d, want 403", got)
	}
	if got := wafStatus(t, n, "/index.html", http.Header{"X-Forwarded-For": {"198.51.100.1, 192.0.2.9"}}); got != 200 {
		t.Errorf("X-Forwarded-For's first address not in the IP set: status %d, want 200", got)
	}
	for i := range 10 {
		if got := wafStatus(t, n, "/index.html", http.Header{"X-Api-Key": {"k1"}}); got != 200 {
			t.Fatalf("request %d of k1's limit of 10: status %d", i+1, got)
		}
	}
	if got := wafStatus(t, n, "/index.html", http.Header{"X-Api-Key": {"k1"}}); got != 429 {
		t.Errorf("k1 past its limit: status %d, want 429", got)
	}
	if got := wafStatus(t, n, "/index.html", http.Header{"X-Api-Key": {"k2"}}); got != 200 {
		t.Errorf("k2 while k1 is over: status %d, want 200", got)
	}
	if got := wafStatus(t, n, "/index.html", http.Header{}); got != 200 {
		t.Errorf("no API key, not counted: status %d, want 200", got)
	}
}
