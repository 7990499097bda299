package node

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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
// error page for 403 does not replace; nor does it replace a custom
// response without a body, which comes with its custom header.
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
	if resp.StatusCode != 403 || body == "<h1>site</h1>\n" || resp.Header.Get("X-Blocked-By") != "admin" {
		t.Errorf("admin: %d %q X-Blocked-By %q, want 403 with the header, not the error page", resp.StatusCode, body, resp.Header.Get("X-Blocked-By"))
	}
}

const wafInsertConfig = `package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", minTTL: 0, defaultTTL: 0, maxTTL: 0
		forwardedValues: {queryString: false, headers: ["X-Amzn-Waf-Verdict"]}}
	webACLId: "guard"
}
webACLs: guard: {
	defaultAction: allow: {}
	rules: [{
		name: "label-partner", priority: 0
		action: count: customRequestHandling: insertHeaders: [{name: "partner", value: "yes"}]
		statement: byteMatchStatement: {searchString: "Partner", fieldToMatch: singleHeader: name: "user-agent",
			positionalConstraint: "CONTAINS", textTransformations: [{priority: 0, type: "NONE"}]}
	}, {
		name: "trusted", priority: 1
		action: allow: customRequestHandling: insertHeaders: [{name: "verdict", value: "trusted"}]
		statement: byteMatchStatement: {searchString: "/trusted/", fieldToMatch: uriPath: {},
			positionalConstraint: "STARTS_WITH", textTransformations: [{priority: 0, type: "NONE"}]}
	}]
}
`

// An allow rule's and a count rule's inserted headers reach the origin,
// prefixed x-amzn-waf-, though the behavior forwards neither; a viewer's
// own x-amzn-waf-verdict does not, even where the behavior forwards it.
func TestNodeWebACLInsertHeaders(t *testing.T) {
	seen := make(chan http.Header, 4)
	origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		io.WriteString(w, "ok")
	}))
	defer origin.Close()
	n := startWAFNode(t, fmt.Sprintf(wafInsertConfig, strings.TrimPrefix(origin.URL, "http://")))
	for _, c := range []struct {
		path, ua         string
		verdict, partner string
	}{
		{"/trusted/a", "Partner/1.0", "trusted", "yes"},
		{"/trusted/b", "Mozilla/5.0", "trusted", ""},
		{"/other", "Mozilla/5.0", "", ""},
	} {
		header := http.Header{"User-Agent": {c.ua}, "X-Amzn-Waf-Verdict": {"forged"}, "X-Amzn-Waf-Partner": {"forged"}}
		if got := wafStatus(t, n, c.path, header); got != 200 {
			t.Fatalf("%s: status %d", c.path, got)
		}
		h := <-seen
		if h.Get("X-Amzn-Waf-Verdict") != c.verdict || h.Get("X-Amzn-Waf-Partner") != c.partner {
			t.Errorf("%s %s: origin got x-amzn-waf-verdict %q, x-amzn-waf-partner %q; want %q, %q", c.path, c.ua,
				h.Get("X-Amzn-Waf-Verdict"), h.Get("X-Amzn-Waf-Partner"), c.verdict, c.partner)
		}
	}
}
