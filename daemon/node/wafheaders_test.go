package node

import (
	"context"
	"io"
	"net/http"
	"strings"
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

// A web ACL that blocks a country needs the node's country database, as
// a geo restriction does: a node without one refuses to start on it,
// saying which flag to give, rather than serve everyone.
func TestWebACLGeoNeedsDatabase(t *testing.T) {
	config := wafSiteConfig("", `{name: "embargo", priority: 0, action: block: {}, statement: geoMatchStatement: countryCodes: ["KP"]}`)
	n, err := Start(Options{ConfigDir: writeWAFSite(t, config), HTTPAddr: "127.0.0.1:0", Logger: warnLogger(t)})
	if err == nil {
		n.Shutdown(context.Background())
		t.Fatal("a node without a country database started on a web ACL that blocks a country")
	}
	if !strings.Contains(err.Error(), "--geoip-db") || !strings.Contains(err.Error(), `"site"`) {
		t.Errorf("error %q does not say which distribution and which flag", err)
	}
}
