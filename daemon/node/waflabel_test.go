package node

import (
	"io"
	"net/http"
	"testing"
	"time"
)

const wafLabelConfig = `package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "files", localOriginConfig: path: "site"}]
	defaultCacheBehavior: {targetOriginId: "files", viewerProtocolPolicy: "allow-all"}
	customErrorResponses: [{errorCode: 403, responsePagePath: "/index.html", responseCode: 403}]
	webACLId: "guard"
}
webACLs: guard: {
	defaultAction: allow: {}
	customResponseBodies: denied: {contentType: "APPLICATION_JSON", content: "{\"error\":\"bad bot\"}"}
	rules: [{
		name: "label-bad-ua", priority: 0, action: count: {}
		ruleLabels: [{name: "bots:bad-ua"}]
		statement: byteMatchStatement: {searchString: "BadBot", fieldToMatch: singleHeader: name: "user-agent",
			positionalConstraint: "CONTAINS", textTransformations: [{priority: 0, type: "NONE"}]}
	}, {
		name: "block-bots", priority: 1
		action: block: customResponse: {responseCode: 429, customResponseBodyKey: "denied",
			responseHeaders: [{name: "Retry-After", value: "3600"}]}
		statement: labelMatchStatement: {scope: "LABEL", key: "bad-ua"}
	}, {
		name: "admin", priority: 2
		action: block: customResponse: {responseCode: 403, responseHeaders: [{name: "X-Blocked-By", value: "admin"}]}
		statement: byteMatchStatement: {searchString: "/admin", fieldToMatch: uriPath: {},
			positionalConstraint: "STARTS_WITH", textTransformations: [{priority: 0, type: "NONE"}]}
	}]
}
`

// A count rule labels a bad User-Agent and a later rule blocks on the
// label with its custom JSON body and header, which the distribution's
// error page for 403 does not replace; a block without a body keeps the
// page, with its custom header.
func TestNodeWebACLLabelsAndCustomResponse(t *testing.T) {
	n := startWAFNode(t, wafLabelConfig)
	get := func(path, ua string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, "http://"+n.Addr("http").String()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "site.test"
		req.Header.Set("User-Agent", ua)
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := get("/index.html", "Mozilla/5.0 BadBot/1.0")
	if resp.StatusCode != 429 || resp.Header.Get("Content-Type") != "application/json" || body != `{"error":"bad bot"}` || resp.Header.Get("Retry-After") != "3600" {
		t.Errorf("labelled bot: %d %q %q Retry-After %q, want 429 application/json {\"error\":\"bad bot\"} 3600",
			resp.StatusCode, resp.Header.Get("Content-Type"), body, resp.Header.Get("Retry-After"))
	}
	if resp, _ := get("/index.html", "Mozilla/5.0"); resp.StatusCode != 200 {
		t.Errorf("browser: %d, want 200", resp.StatusCode)
	}
	resp, body = get("/admin", "Mozilla/5.0")
	if resp.StatusCode != 403 || body != "<h1>site</h1>\n" || resp.Header.Get("X-Blocked-By") != "admin" {
		t.Errorf("admin: %d %q X-Blocked-By %q, want 403 with the error page and the header", resp.StatusCode, body, resp.Header.Get("X-Blocked-By"))
	}
}
