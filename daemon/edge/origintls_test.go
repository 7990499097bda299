package edge

import (
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// TestOriginTLSFailure: an HTTPS origin the edge cannot set up TLS with
// (a certificate no trusted CA signed, a server that does not speak TLS
// on its HTTPS port) is a connection that could not be made, as in
// CloudFront: 502 ("CloudFront wasn't able to serve the requested object
// because it couldn't connect to the origin server", http-502-bad-gateway.md,
// "SSL/TLS negotiation failure"), logged as OriginConnectError ("The
// server couldn't connect to the origin") and counted as kind connect.
func TestOriginTLSFailure(t *testing.T) {
	quiet := log.New(io.Discard, "", 0)
	untrusted := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	untrusted.Config.ErrorLog = quiet
	untrusted.StartTLS() // httptest's certificate, which no system root signed
	t.Cleanup(untrusted.Close)
	plain := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	plain.Config.ErrorLog = quiet
	plain.Start()
	t.Cleanup(plain.Close)
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	logging: {enabled: true, prefix: "web/"}
	origins: [
		{id: "untrusted", domainName: %q, connectionAttempts: 1, customOriginConfig: originProtocolPolicy: "https-only"},
		{id: "plain", domainName: %q, connectionAttempts: 1, customOriginConfig: originProtocolPolicy: "https-only"},
	]
	defaultCacheBehavior: {targetOriginId: "untrusted", viewerProtocolPolicy: "allow-all"}
	cacheBehaviors: [{pathPattern: "/plain/*", targetOriginId: "plain", viewerProtocolPolicy: "allow-all"}]
}
`, untrusted.Listener.Addr().String(), plain.Listener.Addr().String()))
	h := New(origin.NewPool(dir), "edgetest", slog.New(slog.DiscardHandler))
	reg := prometheus.NewRegistry()
	if err := h.Register(reg); err != nil {
		t.Fatal(err)
	}
	logDir := t.TempDir()
	logs := logInto(t, h, tb, accesslog.Options{Dir: logDir, NodeName: "EDGE1", Registerer: prometheus.NewRegistry()})
	h.SetTable(tb)
	paths := []string{"/x", "/plain/x"}
	for _, path := range paths {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "http://site.test"+path, nil))
		if w.Code != http.StatusBadGateway {
			t.Errorf("%s: status %d, want 502", path, w.Code)
		}
	}
	want := `
# HELP openfront_origin_errors_total Failed origin requests, by kind: dns, connect, timeout, comm (failed after connecting), unsupported (origin kind), http_5xx (the origin answered 5xx).
# TYPE openfront_origin_errors_total counter
openfront_origin_errors_total{distribution="site",kind="connect",origin="plain"} 1
openfront_origin_errors_total{distribution="site",kind="connect",origin="untrusted"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "openfront_origin_errors_total"); err != nil {
		t.Error(err)
	}
	logged := resultsLogged(t, logs, logDir)
	if want := []string{"Error Error OriginConnectError", "Error Error OriginConnectError"}; !slices.Equal(logged, want) {
		t.Errorf("logged %q, want %q", logged, want)
	}
}
