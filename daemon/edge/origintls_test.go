package edge

import (
	"crypto/x509"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

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
	checkOriginErrors(t, reg, `
openfront_origin_errors_total{distribution="site",kind="connect",origin="plain"} 1
openfront_origin_errors_total{distribution="site",kind="connect",origin="untrusted"} 1
`)
	logged := resultsLogged(t, logs, logDir)
	if want := []string{"Error Error OriginConnectError", "Error Error OriginConnectError"}; !slices.Equal(logged, want) {
		t.Errorf("logged %q, want %q", logged, want)
	}
}

// TestOriginCertificateForForwardedHost: through the edge, a behavior
// that forwards the viewer's Host (HostHeaderOnly) reaches an HTTPS origin
// whose certificate names that Host and not the origin's domainName, as
// CloudFront accepts it (http-502-bad-gateway.md); one that does not
// forward it gets 502 from the same origin.
func TestOriginCertificateForForwardedHost(t *testing.T) {
	app := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "host %s, server name %s", r.Host, r.TLS.ServerName)
	}))
	app.Config.ErrorLog = log.New(io.Discard, "", 0)
	app.StartTLS() // httptest's certificate names example.com, not localhost
	t.Cleanup(app.Close)
	roots := x509.NewCertPool()
	roots.AddCert(app.Certificate())
	_, port, _ := net.SplitHostPort(app.Listener.Addr().String())
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["example.com"]
	origins: [{id: "app", domainName: "localhost", connectionAttempts: 1, customOriginConfig: {originProtocolPolicy: "https-only", httpsPort: %s}}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingDisabled", originRequestPolicy: "HostHeaderOnly"}
	cacheBehaviors: [{pathPattern: "/own/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingDisabled"}]
}
`, port))
	pool := origin.NewPool(dir)
	pool.TrustRoots(roots)
	h := New(pool, "edgetest", slog.New(slog.DiscardHandler))
	h.SetTable(tb)
	for _, tt := range []struct {
		path   string
		status int
		body   string
	}{
		{"/x", http.StatusOK, "host example.com, server name example.com"},
		{"/own/x", http.StatusBadGateway, ""},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "http://example.com"+tt.path, nil))
		if w.Code != tt.status || tt.body != "" && w.Body.String() != tt.body {
			t.Errorf("%s: %d %q, want %d %q", tt.path, w.Code, w.Body.String(), tt.status, tt.body)
		}
	}
}

// checkOriginErrors compares openfront_origin_errors_total in reg with
// samples, its lines in the text exposition format; the kinds at 0 that
// every origin shows (TestOriginErrorsShowAtZero) are left out.
func checkOriginErrors(t *testing.T, reg prometheus.Gatherer, samples string) {
	t.Helper()
	want := `# HELP openfront_origin_errors_total Failed origin requests, by kind: dns, connect, timeout, comm (failed after connecting), unsupported (origin kind), http_5xx (the origin answered 5xx).
# TYPE openfront_origin_errors_total counter
` + strings.TrimPrefix(samples, "\n")
	if err := testutil.GatherAndCompare(nonZero(reg), strings.NewReader(want), "openfront_origin_errors_total"); err != nil {
		t.Error(err)
	}
}

// nonZero is reg without the counter samples at 0, and without the
// families left empty.
func nonZero(reg prometheus.Gatherer) prometheus.Gatherer {
	return prometheus.GathererFunc(func() ([]*dto.MetricFamily, error) {
		mfs, err := reg.Gather()
		out := mfs[:0]
		for _, mf := range mfs {
			mf.Metric = slices.DeleteFunc(mf.Metric, func(m *dto.Metric) bool { return m.Counter != nil && m.Counter.GetValue() == 0 })
			if len(mf.Metric) > 0 {
				out = append(out, mf)
			}
		}
		return out, err
	})
}
