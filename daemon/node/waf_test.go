package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
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

const wafBodyConfig = `package cdn

distributions: site: {
	aliases: ["site.test"]
	httpVersion: "http2and3"
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"
		allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]}
	webACLId: "guard"
}
webACLs: guard: {
	defaultAction: allow: {}
	rules: [{
		name: "sqli", priority: 1, action: block: {}
		statement: sqliMatchStatement: {fieldToMatch: body: oversizeHandling: "CONTINUE",
			textTransformations: [{priority: 0, type: "URL_DECODE"}]}
	}]
}
`

// TestNodeWebACLBody: a web ACL with a body rule blocks a form POST with
// SQL injection in its body, passes a clean 1 MiB POST to the origin byte
// for byte (past the 16 KB it inspects), leaves a GET alone, and answers
// a viewer that stops sending the body 408 once the body timeout passes,
// over HTTP/1.1, HTTP/2 and HTTP/3; a body that breaks off gets 502, as
// it does without a web ACL.
func TestNodeWebACLBody(t *testing.T) {
	type got struct {
		n   int64
		sum string
	}
	seen := make(chan got, 16)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			return
		}
		if r.Method == http.MethodPost {
			seen <- got{n, hex.EncodeToString(h.Sum(nil))}
		}
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "%s %d bytes\n", r.Method, n)
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(fmt.Sprintf(wafBodyConfig, app.Listener.Addr().String())), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := Start(Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", NodeName: nodeName,
		BodyTimeout: 300 * time.Millisecond, Logger: warnLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	e := &env{node: n}
	big := make([]byte, 1<<20)
	rand.NewChaCha8([32]byte{1}).Read(big)
	bigSum := sha256.Sum256(big)
	for _, p := range []proto{h1, h2, h3} {
		scheme := "https"
		if p == h1 {
			scheme = "http"
		}
		client := e.client(t, p, nil)
		t.Run(string(p), func(t *testing.T) {
			post := func(body io.Reader, length int64) int {
				t.Helper()
				req, _ := http.NewRequest(http.MethodPost, scheme+"://site.test/login", body)
				req.ContentLength = length
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}
			form := "user=admin&password=1%27%20OR%20%271%27%3D%271"
			if s := post(strings.NewReader(form), int64(len(form))); s != http.StatusForbidden {
				t.Errorf("a POST with SQL injection in its body: %d, want 403", s)
			}
			if s := post(bytes.NewReader(big), int64(len(big))); s != http.StatusOK {
				t.Errorf("a clean 1 MiB POST: %d, want 200", s)
			} else if g := <-seen; g.n != int64(len(big)) || g.sum != hex.EncodeToString(bigSum[:]) {
				t.Errorf("the origin got %d bytes, sha256 %s; want %d, %x", g.n, g.sum, len(big), bigSum)
			}
			// Unannounced (chunked), the injection is found as well.
			if s := post(io.MultiReader(strings.NewReader(form)), -1); s != http.StatusForbidden {
				t.Errorf("a chunked POST with SQL injection: %d, want 403", s)
			}
			resp, err := client.Get(scheme + "://site.test/page?id=1")
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("GET: %d, want 200", resp.StatusCode)
			}
			// A viewer that sends 3 bytes of 1 MiB and stops.
			pr, pw := io.Pipe()
			defer pw.Close()
			go io.WriteString(pw, "abc")
			if s := post(pr, 1<<20); s != http.StatusRequestTimeout {
				t.Errorf("a stalled body: %d, want 408", s)
			}
		})
	}
	// A body that breaks off (100 bytes announced, 10 sent) is answered
	// 502, as without a web ACL, where the origin request breaks.
	c, err := net.Dial("tcp", n.Addr("http").String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /x HTTP/1.1\r\nHost: site.test\r\nContent-Length: 100\r\n\r\n0123456789")
	c.(*net.TCPConn).CloseWrite()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("a broken body: %d, want 502", resp.StatusCode)
	}
}

// TestNodeWebACLJSONBody: a web ACL with a jsonBody rule reads the body
// as a body rule does: a JSON POST with SQL injection in a value is
// refused, a clean one reaches the origin byte for byte, over HTTP/1.1
// and HTTP/2.
func TestNodeWebACLJSONBody(t *testing.T) {
	seen := make(chan string, 4)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		seen <- string(b)
		w.Header().Set("Cache-Control", "no-store")
	}))
	t.Cleanup(app.Close)
	config := strings.Replace(fmt.Sprintf(wafBodyConfig, app.Listener.Addr().String()),
		`fieldToMatch: body: oversizeHandling: "CONTINUE"`,
		`fieldToMatch: jsonBody: {matchPattern: all: {}, matchScope: "VALUE", invalidFallbackBehavior: "EVALUATE_AS_STRING"}`, 1)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := Start(Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", NodeName: nodeName, Logger: warnLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	e := &env{node: n}
	for _, p := range []proto{h1, h2} {
		scheme := "https"
		if p == h1 {
			scheme = "http"
		}
		client := e.client(t, p, nil)
		t.Run(string(p), func(t *testing.T) {
			for _, c := range []struct {
				body   string
				status int
			}{
				{`{"user": "1' OR '1'='1"}`, http.StatusForbidden},
				{`{"user": "fish", "tags": ["a", "b"], "n": 1.5, "note": "it's \"fine\""}`, http.StatusOK},
			} {
				resp, err := client.Post(scheme+"://site.test/api/login", "application/json", strings.NewReader(c.body))
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != c.status {
					t.Errorf("POST %s: %d, want %d", c.body, resp.StatusCode, c.status)
				}
				if c.status == http.StatusOK {
					if got := <-seen; got != c.body {
						t.Errorf("the origin got %q, want %q", got, c.body)
					}
				}
			}
		})
	}
}
