package node

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

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
	dir := t.TempDir()
	for name, body := range map[string]string{"main.cue": wafInjectionConfig, "site/index.html": "<h1>site</h1>\n"} {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	n, err := Start(Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", Logger: warnLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	client := &http.Client{Timeout: 10 * time.Second}
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
		req, _ := http.NewRequest(http.MethodGet, "http://"+n.Addr("http").String()+"/index.html?"+c.query, nil)
		req.Host = "site.test"
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("?%s: status %d, want %d", c.query, resp.StatusCode, c.status)
		}
	}
}
