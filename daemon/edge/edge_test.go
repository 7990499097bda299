package edge

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"
	"time"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// edgeEnv is a Handler behind an httptest server, with its origins.
type edgeEnv struct {
	h       *Handler
	srv     *httptest.Server
	app     *httptest.Server
	down    string
	dir     string
	tmplVal map[string]string
}

func appOrigin(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/missing":
		http.Error(w, "origin 404", http.StatusNotFound)
	case "/broken":
		http.Error(w, "origin 500", http.StatusInternalServerError)
	case "/etag":
		w.Header().Set("ETag", `"v1"`)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, "fresh\n")
	default:
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"host": r.Host, "uri": r.RequestURI, "header": r.Header})
	}
}

// compileTemplate writes the config with vals into dir and compiles it.
func compileTemplate(t *testing.T, dir string, vals map[string]string) *table.Table {
	t.Helper()
	tmpl := template.Must(template.ParseFiles(filepath.Join("testdata", "config.cue.tmpl")))
	var b bytes.Buffer
	if err := tmpl.Execute(&b, vals); err != nil {
		t.Fatal(err)
	}
	return testenv.Compile(t, dir, b.String())
}

// appTable compiles distribution site (site.test), whose requests of
// every method go to the custom origin at addr.
func appTable(t *testing.T, dir, addr string) *table.Table {
	t.Helper()
	return testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all",
		allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]}
}
`, addr))
}

func newEdgeEnv(t *testing.T) *edgeEnv {
	t.Helper()
	e := &edgeEnv{app: httptest.NewServer(http.HandlerFunc(appOrigin)), dir: t.TempDir()}
	t.Cleanup(e.app.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.down = ln.Addr().String()
	ln.Close()
	for name, body := range map[string]string{"site/errors/404.html": "custom 404\n", "site/errors/502.html": "custom 502\n"} {
		p := filepath.Join(e.dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	e.tmplVal = map[string]string{"App": e.app.Listener.Addr().String(), "Down": e.down, "Other": "other.test"}
	e.h = New(origin.NewPool(e.dir), "edgetest", slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)
	return e
}

// do sends method to the edge with host as the Host header.
func (e *edgeEnv) do(t *testing.T, method, host, path string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	for k, v := range header {
		req.Header[k] = v
	}
	c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestNoTable(t *testing.T) {
	e := newEdgeEnv(t)
	resp, body := e.do(t, "GET", "site.test", "/", nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "no configuration yet") {
		t.Errorf("status %d body %q, want 503 explaining there is no configuration", resp.StatusCode, body)
	}
	if resp.Header.Get("Via") != "1.1 edgetest (openfront)" || resp.Header.Get("X-Openfront-Id") == "" || resp.Header.Get("X-Cache") != "Error from openfront" {
		t.Errorf("headers %v", resp.Header)
	}
}

func TestHandler(t *testing.T) {
	e := newEdgeEnv(t)
	e.h.SetTable(compileTemplate(t, e.dir, e.tmplVal))
	type echo struct {
		Host   string      `json:"host"`
		URI    string      `json:"uri"`
		Header http.Header `json:"header"`
	}
	tests := []struct {
		name   string
		method string
		host   string
		path   string
		header http.Header
		status int
		body   string // exact, or a prefix when it ends in "..."
		check  func(t *testing.T, resp *http.Response, body string)
	}{
		{name: "error page with its responseCode", host: "site.test", path: "/missing", status: 404, body: "custom 404\n"},
		{name: "error page for HEAD has no body", method: "HEAD", host: "site.test", path: "/missing", status: 404, body: "",
			check: func(t *testing.T, resp *http.Response, _ string) {
				if resp.Header.Get("Content-Length") != "11" {
					t.Errorf("Content-Length %q, want the page's 11", resp.Header.Get("Content-Length"))
				}
			}},
		// CloudFront returns the status the page's origin answered (GeneratingCustomErrorResponses.html).
		{name: "a missing error page gives its origin's 404", host: "site.test", path: "/broken", status: 404, body: "not found\n"},
		{name: "error page for an origin that is down", host: "site.test", path: "/down/x", status: 503, body: "custom 502\n"},
		{name: "a refusal to HEAD has no body", method: "HEAD", host: "nowhere.test", path: "/", status: 403, body: ""},
		{name: "a 304 passes through", host: "site.test", path: "/etag", header: http.Header{"If-None-Match": {`"v1"`}}, status: 304, body: ""},
		{name: "a stale validator gets the body", host: "site.test", path: "/etag", header: http.Header{"If-None-Match": {`"v0"`}}, status: 200, body: "fresh\n"},
		{name: "Host is the origin's domainName", host: "site.test", path: "/x", status: 200,
			check: func(t *testing.T, _ *http.Response, body string) {
				var s echo
				json.Unmarshal([]byte(body), &s)
				if s.Host != e.tmplVal["App"] {
					t.Errorf("origin saw Host %q, want %q", s.Host, e.tmplVal["App"])
				}
			}},
		{name: "AllViewer forwards Host, headers, cookies and the query", host: "site.test", path: "/all/x?a=1",
			header: http.Header{"Cookie": {"c=1"}, "X-Any": {"v"}}, status: 200,
			check: func(t *testing.T, _ *http.Response, body string) {
				var s echo
				json.Unmarshal([]byte(body), &s)
				if s.Host != "site.test" || s.URI != "/all/x?a=1" || s.Header.Get("Cookie") != "c=1" || s.Header.Get("X-Any") != "v" {
					t.Errorf("origin saw %+v", s)
				}
			}},
		{name: "AllViewerExceptHostHeader keeps the domainName", host: "site.test", path: "/nohost/x",
			header: http.Header{"X-Any": {"v"}}, status: 200,
			check: func(t *testing.T, _ *http.Response, body string) {
				var s echo
				json.Unmarshal([]byte(body), &s)
				if s.Host != e.tmplVal["App"] || s.Header.Get("X-Any") != "v" {
					t.Errorf("origin saw %+v", s)
				}
			}},
		{name: "HostHeaderOnly forwards the viewer's Host alone", host: "site.test", path: "/hostonly/x?a=1",
			header: http.Header{"Cookie": {"c=1"}, "X-Any": {"v"}}, status: 200,
			check: func(t *testing.T, _ *http.Response, body string) {
				var s echo
				json.Unmarshal([]byte(body), &s)
				if s.Host != "site.test" || s.URI != "/hostonly/x" || s.Header.Get("Cookie") != "" || s.Header.Get("X-Any") != "" {
					t.Errorf("origin saw %+v", s)
				}
			}},
		{name: "a URL at CloudFront's 8,192-byte limit is served", host: "site.test", path: "/x?" + strings.Repeat("q", 8192-len("/x?")), status: 200},
		// RequestAndResponseBehaviorCustomOrigin, maximum length of a URL:
		// 413, then the connection is closed.
		{name: "a longer URL is refused with 413 and the connection closed", host: "site.test", path: "/x?" + strings.Repeat("q", 8193-len("/x?")), status: 413,
			check: func(t *testing.T, resp *http.Response, body string) {
				if !strings.Contains(body, "longer than 8192 bytes") {
					t.Errorf("body %q does not say why", body)
				}
				if resp.ProtoMajor == 1 && !resp.Close {
					t.Errorf("%s answer without Connection: close: %v", resp.Proto, resp.Header)
				}
			}},
		{name: "a long unknown host is cut in the reason", host: strings.Repeat("a", 150) + ".test", path: "/", status: 403,
			check: func(t *testing.T, _ *http.Response, body string) {
				if !strings.Contains(body, `"`+strings.Repeat("a", 100)+`..."`) || strings.Contains(body, strings.Repeat("a", 101)) {
					t.Errorf("body %q", body)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := tt.method
			if method == "" {
				method = "GET"
			}
			resp, body := e.do(t, method, tt.host, tt.path, tt.header)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tt.status, body)
			}
			if tt.body != "" || method == "HEAD" || tt.status == 304 {
				if body != tt.body {
					t.Errorf("body %q, want %q", body, tt.body)
				}
			}
			if tt.check != nil {
				tt.check(t, resp, body)
			}
		})
	}
}

// TestSetTable swaps the table: the next request sees the new one.
func TestSetTable(t *testing.T) {
	e := newEdgeEnv(t)
	first := compileTemplate(t, e.dir, e.tmplVal)
	e.h.SetTable(first)
	if resp, _ := e.do(t, "GET", "other.test", "/x", nil); resp.StatusCode != 200 {
		t.Fatalf("other.test: status %d", resp.StatusCode)
	}
	vals := map[string]string{}
	for k, v := range e.tmplVal {
		vals[k] = v
	}
	vals["Other"] = "renamed.test"
	second := compileTemplate(t, e.dir, vals)
	if first.Version() == second.Version() {
		t.Fatal("the two configs have the same version")
	}
	e.h.SetTable(second)
	if e.h.Table() != second {
		t.Error("Table() is not the table just set")
	}
	if resp, _ := e.do(t, "GET", "other.test", "/x", nil); resp.StatusCode != 403 {
		t.Errorf("other.test after the swap: status %d, want 403", resp.StatusCode)
	}
	if resp, _ := e.do(t, "GET", "renamed.test", "/x", nil); resp.StatusCode != 200 {
		t.Errorf("renamed.test after the swap: status %d, want 200", resp.StatusCode)
	}
}

// A redirect to HTTPS drops the viewer's port, unless the viewer named
// the node's own plain port, when it goes to the node's HTTPS port.
func TestRedirectHost(t *testing.T) {
	tests := []struct {
		in              string
		httpPort, https int
		want            string
	}{
		{"example.com", 0, 0, "example.com"},
		{"example.com:8080", 0, 0, "example.com"},
		{"example.com:80", 0, 0, "example.com"},
		{"[::1]:8080", 0, 0, "[::1]"},
		{"[2001:db8::1]", 0, 0, "[2001:db8::1]"},
		{"127.0.0.1:80", 0, 0, "127.0.0.1"},
		{"localhost:8080", 8080, 8443, "localhost:8443"},
		{"[::1]:8080", 8080, 8443, "[::1]:8443"},
		{"localhost", 8080, 8443, "localhost"},          // port 80: mapped to the node
		{"example.com:8000", 8080, 8443, "example.com"}, // another port: mapped
		{"localhost:8080", 8080, 443, "localhost"},      // HTTPS on its default
		{"localhost:8080", 8080, 0, "localhost"},        // no HTTPS listener
		{"localhost:80", 80, 8443, "localhost:8443"},    // the node's own port 80
	}
	for _, tt := range tests {
		if got := redirectHost(tt.in, tt.httpPort, tt.https); got != tt.want {
			t.Errorf("redirectHost(%q, %d, %d) = %q, want %q", tt.in, tt.httpPort, tt.https, got, tt.want)
		}
	}
}

func TestQuoteHost(t *testing.T) {
	tests := []struct{ in, want string }{
		{"a.test", `"a.test"`},
		{"", `""`},
		{"bad\xffhost", `"bad?host"`},
		{strings.Repeat("x", 101), fmt.Sprintf("%q", strings.Repeat("x", 100)+"...")},
	}
	for _, tt := range tests {
		if got := quoteHost(tt.in); got != tt.want {
			t.Errorf("quoteHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
