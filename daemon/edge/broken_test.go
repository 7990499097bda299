package edge

import (
	"bufio"
	"compress/gzip"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// TestBrokenBodyReset: without a cache in front, a body the origin breaks
// off after the status went out (relayed with or without its length, or
// a custom error page) resets the viewer's stream (ErrAbortHandler)
// rather than ending it as if whole, and only after the request was
// logged and counted: Error, the origin's detail, the bytes sent.
func TestBrokenBodyReset(t *testing.T) {
	part := strings.Repeat("0123456789abcdef", 256)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/length") {
			w.Header().Set("Content-Length", strconv.Itoa(2*len(part)))
		}
		testenv.BreakOff(w, part)
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	logging: {enabled: true, prefix: "web/"}
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
	customErrorResponses: [{errorCode: 404, responsePagePath: "/errors/404.html"}]
}
`, app.Listener.Addr().String()))
	cases := []struct {
		path   string
		status int
		logged string // sc-status and the three result types
	}{
		{"/relay/length", 200, "200 Error Miss OriginReadError"},
		{"/relay/chunked", 200, "200 Error Miss OriginReadError"},
		{"/missing", 404, "404 Error Error OriginReadError"}, // its error page breaks
	}
	for _, mode := range []string{"plain", "counted", "logged"} {
		t.Run(mode, func(t *testing.T) {
			h := New(origin.NewPool(dir), "edgetest", slog.New(slog.DiscardHandler))
			reg := prometheus.NewRegistry()
			if mode != "plain" {
				if err := h.Register(reg); err != nil {
					t.Fatal(err)
				}
			}
			logDir := t.TempDir()
			var logs *accesslog.Manager
			if mode == "logged" {
				logs = logInto(t, h, tb, accesslog.Options{Dir: logDir, NodeName: "EDGE1", Registerer: prometheus.NewRegistry()})
			}
			h.SetTable(tb)
			for _, c := range cases {
				r := httptest.NewRequest("GET", "http://site.test"+c.path, nil)
				r.Proto, r.ProtoMajor, r.ProtoMinor = "HTTP/2.0", 2, 0
				w := httptest.NewRecorder()
				if reset := serveRecovering(h, w, r); !reset || w.Code != c.status || w.Body.String() != part || !w.Flushed {
					t.Errorf("%s: status %d, %d bytes, flushed %v, reset %v; want %d, the %d sent, flushed, reset",
						c.path, w.Code, w.Body.Len(), w.Flushed, reset, c.status, len(part))
				}
			}
			if mode == "plain" {
				return
			}
			want := `
# HELP openfront_requests_total Viewer requests of a distribution, by status class (000: the viewer left before a response), result type (the access log's x-edge-result-type) and protocol (http1.0, http1.1, http2, http3).
# TYPE openfront_requests_total counter
openfront_requests_total{distribution="site",protocol="http2",result="Error",status_class="2xx"} 2
openfront_requests_total{distribution="site",protocol="http2",result="Error",status_class="4xx"} 1
`
			if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "openfront_requests_total"); err != nil {
				t.Error(err)
			}
			if logs == nil {
				return
			}
			if err := logs.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			lines := readLogLines(t, logDir)
			if len(lines) != len(cases) {
				t.Fatalf("%d lines logged, want %d: %q", len(lines), len(cases), lines)
			}
			for i, c := range cases {
				l := lines[i]
				if got := l["cs-uri-stem"] + " " + l["sc-status"] + " " + l["x-edge-result-type"] + " " + l["x-edge-response-result-type"] + " " + l["x-edge-detailed-result-type"]; got != c.path+" "+c.logged {
					t.Errorf("logged %q, want %q", got, c.path+" "+c.logged)
				}
				if sent, _ := strconv.Atoi(l["sc-bytes"]); sent < len(part) || sent >= 2*len(part) {
					t.Errorf("%s: sc-bytes %d, want the %d body bytes sent and the header", c.path, sent, len(part))
				}
			}
		})
	}
}

// serveRecovering serves r and reports whether the handler reset the
// stream, as a server does when it recovers http.ErrAbortHandler.
func serveRecovering(h http.Handler, w http.ResponseWriter, r *http.Request) (reset bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			reset = true
		}
	}()
	h.ServeHTTP(w, r)
	return false
}

// readLogLines reads the web log lines under dir, in order, by field name.
func readLogLines(t *testing.T, dir string) []map[string]string {
	t.Helper()
	var out []map[string]string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".gz") {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(z)
		for sc.Scan() {
			if l := sc.Text(); l != "" && l[0] != '#' {
				line := map[string]string{}
				for i, v := range strings.Split(l, "\t") {
					line[accesslog.Web.Fields[i]] = v
				}
				out = append(out, line)
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
