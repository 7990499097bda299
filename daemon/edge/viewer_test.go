package edge

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// viewerEdge serves the distributions of TestViewerAnswers over plain HTTP.
func viewerEdge(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "site"), 0o755)
	os.WriteFile(filepath.Join(dir, "site", "index.html"), []byte("index\n"), 0o644)
	tb := testenv.Compile(t, dir, `package cdn

distributions: secure: {
	aliases: ["secure.test"]
	origins: [{id: "files", localOriginConfig: path: "site"}]
	defaultCacheBehavior: {targetOriginId: "files", viewerProtocolPolicy: "redirect-to-https",
		allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]}
}
distributions: plain: {
	aliases: ["plain.test"]
	origins: [{id: "files", localOriginConfig: path: "site"}]
	defaultCacheBehavior: {targetOriginId: "files", viewerProtocolPolicy: "allow-all"}
}
`)
	h := New(origin.NewPool(dir), "edgetest", slog.New(slog.DiscardHandler))
	h.SetTable(tb)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// rawRequest sends one request as written, so that its protocol version is
// the test's, and reads the answer.
func rawRequest(t *testing.T, addr, request string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestViewerAnswers: the edge's own answers to a viewer, before any
// origin, as CloudFront's docs give them.
func TestViewerAnswers(t *testing.T) {
	addr := viewerEdge(t)
	for _, tt := range []struct {
		name, request string
		status        int
		location      string
		says          string // in a refusal's body
	}{
		// using-https-viewers-to-cloudfront: GET and HEAD get a 301; POST,
		// PUT, DELETE, OPTIONS and PATCH a 307 on HTTP/1.1 and above, so
		// that the viewer sends the method and body again, and a 403 below.
		{"redirect-to-https: GET", "GET /a?x=1 HTTP/1.1\r\nHost: secure.test\r\n\r\n", 301, "https://secure.test/a?x=1", ""},
		{"redirect-to-https: HEAD on HTTP/1.0", "HEAD /a HTTP/1.0\r\nHost: secure.test\r\n\r\n", 301, "https://secure.test/a", ""},
		{"redirect-to-https: POST", "POST /form?x=1 HTTP/1.1\r\nHost: secure.test\r\nContent-Length: 3\r\n\r\na=b", 307, "https://secure.test/form?x=1", ""},
		{"redirect-to-https: PUT", "PUT /f HTTP/1.1\r\nHost: secure.test\r\nContent-Length: 0\r\n\r\n", 307, "https://secure.test/f", ""},
		{"redirect-to-https: DELETE", "DELETE /f HTTP/1.1\r\nHost: secure.test\r\n\r\n", 307, "https://secure.test/f", ""},
		{"redirect-to-https: OPTIONS", "OPTIONS /f HTTP/1.1\r\nHost: secure.test\r\n\r\n", 307, "https://secure.test/f", ""},
		{"redirect-to-https: PATCH", "PATCH /f HTTP/1.1\r\nHost: secure.test\r\nContent-Length: 0\r\n\r\n", 307, "https://secure.test/f", ""},
		{"redirect-to-https: POST on HTTP/1.0", "POST /form HTTP/1.0\r\nHost: secure.test\r\nContent-Length: 3\r\n\r\na=b", 403, "", "HTTPS"},
		// RequestAndResponseBehaviorCustomOrigin, "GET requests that
		// include a body": "If a viewer GET request includes a body,
		// CloudFront returns an HTTP status code 403 (Forbidden)".
		{"GET with a body", "GET /index.html HTTP/1.1\r\nHost: plain.test\r\nContent-Length: 2\r\n\r\n{}", 403, "", "body"},
		{"GET with a chunked body", "GET /index.html HTTP/1.1\r\nHost: plain.test\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", 403, "", "body"},
		{"GET with Content-Length: 0", "GET /index.html HTTP/1.1\r\nHost: plain.test\r\nContent-Length: 0\r\n\r\n", 200, "", ""},
		{"GET", "GET /index.html HTTP/1.1\r\nHost: plain.test\r\n\r\n", 200, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp := rawRequest(t, addr, tt.request)
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if got := resp.Header.Get("Location"); got != tt.location {
				t.Errorf("Location %q, want %q", got, tt.location)
			}
			if !strings.Contains(string(body), tt.says) {
				t.Errorf("body %q does not say %q", body, tt.says)
			}
		})
	}
}
