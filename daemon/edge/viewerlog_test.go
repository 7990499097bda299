package edge

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// TestLoggedRequestIsTheViewers: the log's request fields are the request
// the viewer sent, over a real HTTP/2 connection, whatever the edge did
// with it before the origin: a viewer-request function that replaces the
// User-Agent and drops the cookies (CloudFront logs the viewer's
// cs-uri-stem too, not the function's), and the CloudFront-* headers a
// behavior forwards, which cs-bytes ("the total number of bytes of data
// that the viewer included in the request, including headers",
// standard-logs-reference) must not count.
func TestLoggedRequestIsTheViewers(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "ua=%s cookie=%s", r.Header.Get("User-Agent"), r.Header.Get("Cookie"))
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	fn := `function handler(event) {
	var r = event.request;
	r.headers['user-agent'] = {value: 'function-agent'};
	r.headers['x-added-by-function'] = {value: 'a value the viewer never sent'};
	r.cookies = {};
	return r;
}`
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

functions: rewrite: functionCode: %s
distributions: site: {
	aliases: ["site.test"]
	logging: {enabled: true, includeCookies: true, prefix: "web/"}
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: {headers: ["User-Agent"], cookies: forward: "all"}}
	cacheBehaviors: [
		{pathPattern: "/fn/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: {headers: ["User-Agent"], cookies: forward: "all"},
			functionAssociations: [{eventType: "viewer-request", functionName: "rewrite"}]},
		{pathPattern: "/cf/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: headers: [
			"User-Agent", "CloudFront-Is-Desktop-Viewer", "CloudFront-Is-Mobile-Viewer", "CloudFront-Is-Tablet-Viewer", "CloudFront-Forwarded-Proto"]},
	]
}
`, strconv.Quote(fn), app.Listener.Addr().String()))
	h := New(origin.NewPool(dir), "edgetest", slog.New(slog.DiscardHandler))
	logDir := t.TempDir()
	logs := logInto(t, h, tb, accesslog.Options{Dir: logDir, NodeName: "EDGE1", Registerer: prometheus.NewRegistry()})
	h.SetTable(tb)
	srv := httptest.NewUnstartedServer(h)
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	client := srv.Client()

	// Paths of one length: the requests are the same size on the wire.
	cases := []struct {
		path   string
		origin string // what the origin got
	}{
		{"/df/a", "ua=viewer-agent cookie=a=1"},
		{"/fn/a", "ua=function-agent cookie="},
		{"/cf/a", "ua=viewer-agent cookie="},
	}
	for _, c := range cases {
		req, _ := http.NewRequest("GET", srv.URL+c.path, nil)
		req.Host = "site.test"
		req.Header.Set("User-Agent", "viewer-agent")
		req.Header.Set("Cookie", "a=1")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.StatusCode != 200 || string(body) != c.origin {
			t.Fatalf("%s: %s %d %q, want HTTP/2 200 %q", c.path, resp.Proto, resp.StatusCode, body, c.origin)
		}
	}
	if err := logs.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	lines := readLogLines(t, logDir)
	if len(lines) != len(cases) {
		t.Fatalf("%d lines, want %d", len(lines), len(cases))
	}
	first := lines[0]
	for i, c := range cases {
		l := lines[i]
		for f, want := range map[string]string{"cs-uri-stem": c.path, "cs(User-Agent)": "viewer-agent", "cs(Cookie)": "a=1",
			"cs-protocol-version": "HTTP/2.0", "cs-bytes": first["cs-bytes"]} {
			if l[f] != want {
				t.Errorf("%s: %s = %q, want %q (what the viewer sent)", c.path, f, l[f], want)
			}
		}
	}
}
