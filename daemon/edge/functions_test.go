package edge

import (
	"compress/gzip"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"openfront.dev/daemon/accesslog"
	"openfront.dev/internal/testenv"
)

// functionsConfig associates the functions of testdata/functions, by
// file name, with behaviors /NAME/* (viewer-request, or viewer-response
// for the names in response).
func functionsConfig(t testing.TB, originAddr string, response map[string]bool) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "functions", "*.js"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/functions/*.js: %v", err)
	}
	var funcs, behaviors strings.Builder
	for _, f := range files {
		code, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".js")
		fmt.Fprintf(&funcs, "functions: %q: functionCode: %s\n", name, strconv.Quote(string(code)))
		event := "viewer-request"
		if response[name] {
			event = "viewer-response"
		}
		fmt.Fprintf(&behaviors, "\t\t{pathPattern: \"/%s/*\", targetOriginId: \"app\", viewerProtocolPolicy: \"allow-all\", forwardedValues: {queryString: true, headers: [\"True-Client-Ip\", \"X-Looked-Up\"]}, functionAssociations: [{eventType: %q, functionName: %q}]},\n", name, event, name)
	}
	return fmt.Sprintf(`package cdn

%s
distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
	cacheBehaviors: [
%s	]
}
`, funcs.String(), originAddr, behaviors.String())
}

// TestFunctions runs AWS's example functions and others on a caching edge
// in front of an origin that echoes what it was asked.
func TestFunctions(t *testing.T) {
	var n atomic.Int64
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "%d path=%q query=%q tci=%q looked=%q", n.Add(1), r.URL.Path, r.URL.RawQuery, r.Header.Get("True-Client-Ip"), r.Header.Get("X-Looked-Up"))
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, functionsConfig(t, app.Listener.Addr().String(), map[string]bool{"security-headers": true, "content-length": true, "replace-body": true}))
	url := bothEdges(t, dir, tb)[1].url // the one with a cache
	for _, s := range []struct {
		name, path  string
		status      int
		xcache      string
		body        string // in the answer
		header, val string // a header of the answer
	}{
		{"index.html in a directory", "/index-html/docs/", 200, "Miss", `path="/index-html/docs/index.html"`, "", ""},
		{"index.html without an extension", "/index-html/about", 200, "Miss", `path="/index-html/about/index.html"`, "", ""},
		{"a file's URI is left alone", "/index-html/a.css", 200, "Miss", `path="/index-html/a.css"`, "", ""},
		{"the rewritten URI is the cache key", "/index-html/about/index.html", 200, "Hit", `path="/index-html/about/index.html"`, "", ""},
		{"a generated redirect", "/redirect/x", 302, "FunctionGeneratedResponse", "", "Location", "https://site.test/de/index.html"},
		{"viewer-response on a miss", "/security-headers/a", 200, "Miss", `path="/security-headers/a"`, "X-Frame-Options", "DENY"},
		{"viewer-response on a hit", "/security-headers/a", 200, "Hit", `path="/security-headers/a"`, "Strict-Transport-Security", "max-age=63072000; includeSubdomains; preload"},
		{"a header from the viewer's address", "/true-client-ip/a", 200, "Miss", `tci="127.0.0.1"`, "", ""},
		{"a query string sorted", "/normalize-query-string/a?b=2&a=1", 200, "Miss", `query="a=1&b=2"`, "", ""},
		{"sorted, it is one key", "/normalize-query-string/a?a=1&b=2", 200, "Hit", `query="a=1&b=2"`, "", ""},
		{"an async handler awaited", "/async/a", 200, "Miss", `looked="v-viewer-request"`, "", ""},
		{"a function that throws", "/throws/a", 503, "Error", "The function throws failed (FunctionExecutionError)", "", ""},
		{"an endless loop is cut short", "/loop/a", 503, "Error", "The function loop failed (FunctionThrottledError)", "", ""},
		{"a getter that never ends is cut short", "/getter-loop/a", 503, "Error", "The function getter-loop failed (FunctionThrottledError)", "", ""},
		{"a getter that throws", "/getter-throws/a", 503, "Error", "The function getter-throws failed (FunctionExecutionError)", "", ""},
		{"a function's content-length does not cut the body (miss)", "/content-length/a", 200, "Miss", `path="/content-length/a"`, "X-Framed", "yes"},
		{"a function's content-length does not cut the body (hit)", "/content-length/a", 200, "Hit", `path="/content-length/a"`, "X-Framed", "yes"},
		{"viewer-response replaces the body (miss)", "/replace-body/a", 200, "Miss", "replaced", "Content-Length", "8"},
		{"viewer-response replaces the body (hit)", "/replace-body/a", 200, "Hit", "replaced", "Content-Length", "8"},
		{"viewer-response drops the body", "/replace-body/a?drop=1", 200, "Miss", "", "Content-Length", "0"},
		{"a good HMAC token", "/hmac-token/a?token=" + hmacToken("1700000000", "/hmac-token/a"), 200, "Miss", `path="/hmac-token/a"`, "", ""},
		{"a token of another URI", "/hmac-token/a?token=" + hmacToken("1700000000", "/hmac-token/b"), 403, "FunctionGeneratedResponse", "", "", ""},
		{"no token", "/hmac-token/a", 403, "FunctionGeneratedResponse", "", "", ""},
		// rawQueryString() (general-helper-methods.md): the viewer's
		// query unparsed, "" for a "?" alone, undefined without one.
		{"rawQueryString of a query", "/raw-query/a?b=%20&a=1&b", 200, "FunctionGeneratedResponse", "query [b=%20&a=1&b]", "", ""},
		{"rawQueryString of a ? alone", "/raw-query/a?", 200, "FunctionGeneratedResponse", "query []", "", ""},
		{"rawQueryString without a ?", "/raw-query/a", 200, "FunctionGeneratedResponse", "no query", "", ""},
		// cf.edgeLocation (general-helper-methods.md): the node's name,
		// the address the viewer reached; no region without a shield.
		{"cf.edgeLocation", "/edge-location/a", 200, "FunctionGeneratedResponse", "edge test-node 127.0.0.1 undefined", "", ""},
		{"the node serves on", "/index-html/b.txt", 200, "Miss", `path="/index-html/b.txt"`, "", ""},
		{"a function's runtimes serve on", "/index-html/c/", 200, "Miss", `path="/index-html/c/index.html"`, "", ""},
	} {
		req, _ := http.NewRequest("GET", url+s.path, nil)
		req.Host = "site.test"
		resp, err := http.DefaultTransport.RoundTrip(req) // redirects not followed
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		x := resp.Header.Get("X-Cache")
		if resp.StatusCode != s.status || x != s.xcache+" from openfront" || !strings.Contains(string(b), s.body) ||
			s.header != "" && resp.Header.Get(s.header) != s.val {
			t.Errorf("%s: %d %q %q %s=%q, want %d %s with %q, %s=%q", s.name, resp.StatusCode, x, b, s.header, resp.Header.Get(s.header), s.status, s.xcache, s.body, s.header, s.val)
		}
	}
	if got := accesslog.ResponseResult(cacheFunction, http.StatusFound); got != accesslog.FunctionGeneratedResponse {
		t.Errorf("x-edge-result-type of a generated response: %q", got)
	}
}

// hmacToken is the token testdata/functions/hmac-token.js accepts.
func hmacToken(expires, uri string) string {
	m := hmac.New(sha256.New, []byte("secret"))
	m.Write([]byte(expires + uri))
	return expires + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// TestViewerResponseBodyFraming checks that a viewer-response function's
// replacement body goes out as the function gave it: the headers that
// framed the answer's body (its coding, its range) do not go with it, so
// a viewer reads the function's body, not a decoding error.
func TestViewerResponseBodyFraming(t *testing.T) {
	text := strings.Repeat("an origin's text, long enough to compress. ", 50)
	var gz strings.Builder
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(text))
	zw.Close()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "text/plain")
		w.Header().Set("ETag", `"origin"`)
		if strings.HasPrefix(r.URL.Path, "/gzipped/") {
			w.Header().Set("Content-Encoding", "gzip")
			io.WriteString(w, gz.String())
			return
		}
		io.WriteString(w, text)
	}))
	t.Cleanup(app.Close)
	code, err := os.ReadFile(filepath.Join("testdata", "functions", "replace-body.js"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

functions: "replace-body": functionCode: %s
distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", compress: true,
		functionAssociations: [{eventType: "viewer-response", functionName: "replace-body"}]}
}
`, strconv.Quote(string(code)), app.Listener.Addr().String()))
	for _, e := range bothEdges(t, dir, tb) {
		for _, s := range []struct {
			name, path, encoding, rng string
		}{
			{"the origin's gzip", "/gzipped/a", "gzip", ""},
			{"the edge's compression", "/plain/a", "gzip, br", ""},
			{"a range of the answer", "/plain/b", "", "bytes=0-9"},
			{"a range of a cached answer", "/plain/b", "", "bytes=0-9"},
		} {
			header := http.Header{"Accept-Encoding": {s.encoding}}
			if s.rng != "" {
				header.Set("Range", s.rng)
			}
			resp, body := siteRequest(t, e.url, "GET", s.path, header, nil)
			if resp.StatusCode != http.StatusOK || body != "replaced" || resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Content-Range") != "" {
				t.Errorf("cached=%v %s: %d %q Content-Encoding=%q Content-Range=%q, want 200 %q with neither",
					e.cached, s.name, resp.StatusCode, body, resp.Header.Get("Content-Encoding"), resp.Header.Get("Content-Range"), "replaced")
			}
		}
	}
}
