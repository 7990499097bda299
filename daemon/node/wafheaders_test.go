package node

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

var wafCookieConfig = wafSiteConfig("", `{
		name: "cookie-sqli", priority: 1, action: block: {}
		statement: sqliMatchStatement: {
			fieldToMatch: cookies: {matchPattern: all: {}, matchScope: "VALUE", oversizeHandling: "MATCH"}
			textTransformations: [{priority: 0, type: "URL_DECODE"}]}
	}`)

// A node whose web ACL inspects cookies for SQL injection refuses a
// request with SQL in a cookie's value and serves one with clean cookies.
func TestNodeWebACLCookies(t *testing.T) {
	n := startWAFNode(t, wafCookieConfig)
	for _, c := range []struct {
		cookie string
		status int
	}{
		{"theme=dark; session=1%27%20OR%201%3D1--", 403},
		{"theme=dark; session=abc123", 200},
	} {
		if got := wafStatus(t, n, "/index.html", http.Header{"Cookie": {c.cookie}}); got != c.status {
			t.Errorf("Cookie: %s: status %d, want %d", c.cookie, got, c.status)
		}
	}
}

// startWAFNode starts a node on config, with site/index.html to serve.
func startWAFNode(t *testing.T, config string) *Node {
	t.Helper()
	n, err := Start(Options{ConfigDir: writeWAFSite(t, config), HTTPAddr: "127.0.0.1:0", Logger: warnLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	return n
}

// wafStatus is the status n answers a GET of target on site.test with
// header.
func wafStatus(t *testing.T, n *Node, target string, header http.Header) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+n.Addr("http").String()+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host, req.Header = "site.test", header
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
