package edge

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// TestCompressionConditions walks ServingCompressedFiles' conditions
// through the edge, one resource each: what the viewer gets and what
// Accept-Encoding the origin is asked with. The origin answers each path
// as its query says: type, status, n (body bytes), ce (Content-Encoding),
// etag, chunked (no Content-Length).
func TestCompressionConditions(t *testing.T) {
	var mu sync.Mutex
	asked := map[string]string{}   // path: the origin's Accept-Encoding, "none" for none
	answers := map[string]string{} // path: the query that says the answer
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		q, _ := url.ParseQuery(answers[r.URL.Path])
		if ae, ok := r.Header["Accept-Encoding"]; ok {
			asked[r.URL.Path] = strings.Join(ae, ", ")
		} else {
			asked[r.URL.Path] = "none"
		}
		mu.Unlock()
		n, _ := strconv.Atoi(q.Get("n"))
		h := w.Header()
		h.Set("Cache-Control", "max-age=60")
		h.Set("Content-Type", q.Get("type"))
		if ce := q.Get("ce"); ce != "" {
			h.Set("Content-Encoding", ce)
		}
		if et := q.Get("etag"); et != "" {
			h.Set("ETag", et)
		}
		if q.Get("chunked") == "" {
			h.Set("Content-Length", strconv.Itoa(n))
		}
		status, _ := strconv.Atoi(q.Get("status"))
		w.WriteHeader(max(status, http.StatusOK))
		body := strings.Repeat("x", n)
		if q.Get("chunked") != "" {
			// Flushed: else net/http counts a short body and sets Content-Length.
			io.WriteString(w, body[:n/2])
			w.(http.Flusher).Flush()
			body = body[n/2:]
		}
		io.WriteString(w, body)
	}))
	t.Cleanup(app.Close)
	edge, viewer := encodingsEdge(t, app) // /edge/*: compress under CachingOptimized; /legacy/*: without a policy
	const page = "type=text/html&n=2000"
	tests := []struct {
		name, path, query string
		accept            string // "" sends none
		http10            bool
		encoding          string // the answer's Content-Encoding
		asked             string // the origin's Accept-Encoding
		etag              string // the answer's ETag, when the query sets one
	}{
		{"br preferred", "/edge/br", page, "gzip, deflate, br", false, "br", "br,gzip", ""},
		{"gzip", "/edge/gzip", page, "gzip", false, "gzip", "gzip", ""},
		{"q=0 refuses", "/edge/q0", page, "gzip;q=0, deflate", false, "", "identity", ""},
		{"others dropped", "/edge/deflate", page, "deflate, sdch", false, "", "identity", ""},
		{"no Accept-Encoding", "/edge/none", page, "", false, "", "none", ""},
		// "If a request to CloudFront uses HTTP 1.0, CloudFront removes
		// the Accept-Encoding header and serves uncompressed content."
		{"HTTP/1.0", "/edge/http10", page, "gzip, br", true, "", "none", ""},
		{"999 bytes", "/edge/small", "type=text/html&n=999", "br", false, "", "br", ""},
		{"1,000 bytes", "/edge/1000", "type=text/html&n=1000", "br", false, "br", "br", ""},
		{"over 10,000,000 bytes", "/edge/large", "type=text/html&n=10000001", "br", false, "", "br", ""},
		{"no Content-Length", "/edge/chunked", page + "&chunked=1", "br", false, "", "br", ""},
		// "CloudFront does not compress a file if the response includes a
		// Content-Encoding header, regardless of the header's value."
		{"Content-Encoding: identity", "/edge/identity", page + "&ce=identity", "br", false, "identity", "br", ""},
		{"403", "/edge/403", page + "&status=403", "br", false, "br", "br", ""},
		{"404", "/edge/404", page + "&status=404", "br", false, "br", "br", ""},
		{"410", "/edge/410", page + "&status=410", "br", false, "", "br", ""},
		{"image/png", "/edge/png", "type=image/png&n=2000", "br", false, "", "br", ""},
		// "File types that CloudFront compresses": the list, no more.
		{"application/protobuf", "/edge/protobuf", "type=application/protobuf&n=2000", "br", false, "br", "br", ""},
		{"vnd.apple.mpegurl", "/edge/m3u8", "type=vnd.apple.mpegurl&n=2000", "br", false, "br", "br", ""},
		{"text/css; charset", "/edge/css", "type=text/css%3B+charset=utf-8&n=2000", "br", false, "br", "br", ""},
		{"TEXT/HTML", "/edge/upper", "type=TEXT/HTML&n=2000", "br", false, "br", "br", ""},
		{"text/markdown, not listed", "/edge/md", "type=text/markdown&n=2000", "br", false, "", "br", ""},
		{"application/wasm, not listed", "/edge/wasm", "type=application/wasm&n=2000", "br", false, "", "br", ""},
		{"strong ETag made weak", "/edge/strong", page + `&etag=%22v1%22`, "br", false, "br", "br", `W/"v1"`},
		{"weak ETag kept", "/edge/weak", page + `&etag=W/%22v1%22`, "br", false, "br", "br", `W/"v1"`},
		// "Brotli doesn't support legacy cache settings": gzip alone,
		// asked of the origin in place of the viewer's.
		{"legacy cache settings", "/legacy/a", page, "gzip, deflate, br", false, "gzip", "gzip", ""},
		{"legacy cache settings, br only", "/legacy/b", page, "br", false, "", "identity", ""},
		{"invalid ETag removed", "/edge/invalid", page + "&etag=v1", "br", false, "br", "br", "-"},
	}
	for _, tt := range tests {
		answers[tt.path] = tt.query
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var resp *http.Response
			if tt.http10 {
				resp = http10Get(t, edge, tt.path, tt.accept)
			} else {
				req, _ := http.NewRequest(http.MethodGet, edge+tt.path, nil)
				req.Host = "site.test"
				if tt.accept != "" {
					req.Header.Set("Accept-Encoding", tt.accept)
				}
				var err error
				if resp, err = viewer.RoundTrip(req); err != nil {
					t.Fatal(err)
				}
			}
			if resp.StatusCode != max(statusOf(tt.query), 200) {
				t.Errorf("status %d", resp.StatusCode)
			}
			got := decoded(t, resp)
			if ce := resp.Header.Get("Content-Encoding"); ce != tt.encoding {
				t.Errorf("Content-Encoding %q, want %q", ce, tt.encoding)
			}
			if n, _ := strconv.Atoi(queryValue(tt.query, "n")); len(got) != n {
				t.Errorf("decoded body %d bytes, want %d", len(got), n)
			}
			mu.Lock()
			a := asked[tt.path]
			mu.Unlock()
			if a != tt.asked {
				t.Errorf("origin asked with Accept-Encoding %q, want %q", a, tt.asked)
			}
			if et, ok := resp.Header["Etag"]; tt.etag == "-" && ok || tt.etag != "" && tt.etag != "-" && resp.Header.Get("ETag") != tt.etag {
				t.Errorf("ETag %q, want %q", et, tt.etag)
			}
		})
	}
}

// http10Get sends an HTTP/1.0 GET for target of site.test, with
// Accept-Encoding accept, and reads the answer.
func http10Get(t *testing.T, edge, target, accept string) *http.Response {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(edge, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "GET %s HTTP/1.0\r\nHost: site.test\r\nAccept-Encoding: %s\r\n\r\n", target, accept)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func queryValue(query, name string) string {
	for kv := range strings.SplitSeq(query, "&") {
		if k, v, _ := strings.Cut(kv, "="); k == name {
			return v
		}
	}
	return ""
}

func statusOf(query string) int {
	n, _ := strconv.Atoi(queryValue(query, "status"))
	return n
}
