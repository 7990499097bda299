package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// twoDists compiles distributions a and b (or only a) on a local origin
// and a custom origin at down, where nothing listens.
func twoDists(t *testing.T, dir, down string, withB bool) *table.Table {
	t.Helper()
	d := func(id string) string {
		return fmt.Sprintf(`distributions: %[1]s: {
	aliases: ["%[1]s.test"]
	origins: [{id: "files", localOriginConfig: path: "site"}, {id: "down", domainName: %[2]q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "files", viewerProtocolPolicy: "allow-all"}
	cacheBehaviors: [{pathPattern: "/down/*", targetOriginId: "down", viewerProtocolPolicy: "allow-all"}]
}
`, id, down)
	}
	cfg := "package cdn\n\n" + d("a")
	if withB {
		cfg += d("b")
	}
	os.MkdirAll(filepath.Join(dir, "site"), 0o755)
	os.WriteFile(filepath.Join(dir, "site", "index.html"), []byte("index\n"), 0o644)
	return testenv.Compile(t, dir, cfg)
}

// TestRequestMetricsFollowTable: requests are counted per distribution
// with their result and protocol; unknown hosts are not; a distribution
// that leaves the table takes its series along.
func TestRequestMetricsFollowTable(t *testing.T) {
	dir := t.TempDir()
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	down := ln.Addr().String()
	ln.Close()
	h := New(origin.NewPool(dir), "test", slog.New(slog.DiscardHandler))
	reg := prometheus.NewRegistry()
	if err := h.Register(reg); err != nil {
		t.Fatal(err)
	}
	h.SetTable(twoDists(t, dir, down, true))
	get := func(host, path string, minor int) int {
		w := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "http://"+host+path, nil)
		req.Proto, req.ProtoMinor = fmt.Sprintf("HTTP/1.%d", minor), minor
		h.ServeHTTP(w, req)
		return w.Code
	}
	for _, r := range []struct {
		host, path string
		minor      int
		status     int
	}{{"a.test", "/index.html", 1, 200}, {"a.test", "/missing", 1, 404}, {"a.test", "/down/x", 1, 502}, {"b.test", "/index.html", 1, 200}, {"b.test", "/index.html", 0, 200}, {"nobody.test", "/", 1, 403}} {
		if got := get(r.host, r.path, r.minor); got != r.status {
			t.Fatalf("%s%s: %d, want %d", r.host, r.path, got, r.status)
		}
	}
	want := `
# HELP openfront_requests_total Viewer requests of a distribution, by status class (000: the viewer left before a response), result type (the access log's x-edge-result-type) and protocol (http1.0, http1.1, http2, http3).
# TYPE openfront_requests_total counter
openfront_requests_total{distribution="a",protocol="http1.1",result="Error",status_class="4xx"} 1
openfront_requests_total{distribution="a",protocol="http1.1",result="Error",status_class="5xx"} 1
openfront_requests_total{distribution="a",protocol="http1.1",result="Miss",status_class="2xx"} 1
openfront_requests_total{distribution="b",protocol="http1.0",result="Miss",status_class="2xx"} 1
openfront_requests_total{distribution="b",protocol="http1.1",result="Miss",status_class="2xx"} 1
# HELP openfront_origin_errors_total Failed origin requests, by kind: dns, connect, timeout, comm (failed after connecting), unsupported (origin kind), http_5xx (the origin answered 5xx).
# TYPE openfront_origin_errors_total counter
openfront_origin_errors_total{distribution="a",kind="connect",origin="down"} 1
`
	if err := testutil.GatherAndCompare(nonZero(reg), strings.NewReader(want), "openfront_requests_total", "openfront_origin_errors_total"); err != nil {
		t.Error(err)
	}
	// The denial reasons show at 0 before any denial, as rate() needs.
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP openfront_geo_denials_total Requests refused by a distribution's geo restriction, by reason: blacklisted or not_whitelisted (a viewer whose country the database does not know is served, as by CloudFront).
# TYPE openfront_geo_denials_total counter
openfront_geo_denials_total{reason="blacklisted"} 0
openfront_geo_denials_total{reason="not_whitelisted"} 0
`), "openfront_geo_denials_total"); err != nil {
		t.Error(err)
	}
	h.SetTable(twoDists(t, dir, down, false))
	if n := testutil.CollectAndCount(h.metrics.requests); n != 3 {
		t.Errorf("%d request series after b left, want a's 3", n)
	}
	if n := testutil.CollectAndCount(h.metrics.responseBytes); n != 1 {
		t.Errorf("%d response byte series after b left, want a's", n)
	}
}

// TestOriginErrorsShowAtZero: every error kind of every origin is on
// /metrics at 0 once its distribution is in the table, so that
// increase(openfront_origin_errors_total[5m]) > 0 fires on an origin's
// first error (a series born at 1 has no increase); they leave with
// their distribution.
func TestOriginErrorsShowAtZero(t *testing.T) {
	dir := t.TempDir()
	h := New(origin.NewPool(dir), "test", slog.New(slog.DiscardHandler))
	reg := prometheus.NewRegistry()
	if err := h.Register(reg); err != nil {
		t.Fatal(err)
	}
	h.SetTable(twoDists(t, dir, "127.0.0.1:1", true))
	var want strings.Builder
	want.WriteString(`# HELP openfront_origin_errors_total Failed origin requests, by kind: dns, connect, timeout, comm (failed after connecting), unsupported (origin kind), http_5xx (the origin answered 5xx).
# TYPE openfront_origin_errors_total counter
`)
	for _, d := range []string{"a", "b"} {
		for _, kind := range []string{"comm", "connect", "dns", "http_5xx", "timeout", "unsupported"} {
			for _, o := range []string{"down", "files"} {
				fmt.Fprintf(&want, "openfront_origin_errors_total{distribution=%q,kind=%q,origin=%q} 0\n", d, kind, o)
			}
		}
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want.String()), "openfront_origin_errors_total"); err != nil {
		t.Error(err)
	}
	h.SetTable(twoDists(t, dir, "127.0.0.1:1", false))
	if n := testutil.CollectAndCount(h.metrics.originErrors); n != 12 {
		t.Errorf("%d origin error series after b left, want a's 12", n)
	}
}

// TestRequestMetricsInFlightAcrossRemoval: a request of a distribution
// that left the table while it was served does not bring the removed
// distribution's series back for good.
func TestRequestMetricsInFlightAcrossRemoval(t *testing.T) {
	dir := t.TempDir()
	h := New(origin.NewPool(dir), "test", slog.New(slog.DiscardHandler))
	if err := h.Register(prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	h.SetTable(twoDists(t, dir, "127.0.0.1:1", true))
	st := h.state("b") // taken by a request of b, which then outlives b
	h.SetTable(twoDists(t, dir, "127.0.0.1:1", false))
	req := httptest.NewRequest("GET", "http://b.test/", nil)
	req.ProtoMajor = 3
	st.m.count(req, accesslog.Miss, 200, 100, 1000)
	if n := testutil.CollectAndCount(h.metrics.requests); n != 0 {
		t.Errorf("%d request series after b left and its last request finished, want 0", n)
	}
	if n := testutil.CollectAndCount(h.metrics.cacheable); n != 3 {
		t.Errorf("%d cacheable series after b left and its last request finished, want a's 3", n)
	}
}

func TestOriginErrorKind(t *testing.T) {
	oe := func(err error, timeout bool) error { return &origin.Error{Origin: "o", Timeout: timeout, Err: err} }
	for _, c := range []struct {
		err          error
		kind, detail string
	}{
		{oe(&net.DNSError{Err: "no such host", Name: "origin.invalid", IsNotFound: true}, false), "dns", "OriginDnsError"},
		{oe(&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, false), "connect", "OriginConnectError"},
		{oe(errors.New("read: deadline"), true), "timeout", "OriginCommError"},
		{&origin.Error{Origin: "o", Handshake: true, Err: errors.New("tls: failed to verify certificate")}, "connect", "OriginConnectError"},
		{&origin.Error{Origin: "o", Handshake: true, Timeout: true, Err: errors.New("net/http: TLS handshake timeout")}, "timeout", "OriginCommError"},
		{oe(fmt.Errorf("fetch: %w", context.DeadlineExceeded), false), "timeout", "OriginCommError"},
		// OriginCommError is a timeout ("The request timed out while
		// connecting to the origin, or reading data from the origin");
		// other failures name what failed (standard-logs-reference).
		{oe(&net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, false), "comm", "OriginReadError"},
		{oe(fmt.Errorf("body: %w", io.ErrUnexpectedEOF), false), "comm", "OriginReadError"},
		{oe(io.EOF, false), "comm", "OriginReadError"},
		{oe(&net.OpError{Op: "write", Net: "tcp", Err: errors.New("broken pipe")}, false), "comm", "OriginWriteError"},
		{oe(errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP response "junk"`), false), "comm", "OriginInvalidResponseError"},
		// The connection broke (a TLS alert), not the answer.
		{oe(fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", &net.OpError{Op: "remote error", Net: "tcp", Err: errors.New("tls: bad record MAC")}), false), "comm", "AbortedOrigin"},
		{oe(fmt.Errorf("s3 origin: %w", origin.ErrUnsupported), false), "unsupported", "OriginError"},
		{oe(context.Canceled, false), "", ""},
		{oe(fmt.Errorf("%w: %w", errBodyStalled, os.ErrDeadlineExceeded), true), "", ""}, // the viewer's fault
	} {
		if k, d := originErrorKind(c.err), originDetail(c.err); k != c.kind || d != c.detail {
			t.Errorf("%v: kind %q detail %q, want %q %q", c.err, k, d, c.kind, c.detail)
		}
	}
}

// A logged or counted request still reaches the server's Flusher
// (streamed responses) and ReaderFrom (sendfile) through the wrapper.
var (
	_ http.Flusher  = (*observed)(nil)
	_ io.ReaderFrom = (*observed)(nil)
)

// TestRefuseLogsContentLength: openfront's own error pages declare their
// length, so sc-content-len has it on every protocol (CloudFront's error
// lines carry theirs: "502 ... text/html 507"), not only where the
// HTTP/1 server adds one after the record was taken.
func TestRefuseLogsContentLength(t *testing.T) {
	h := New(origin.NewPool(t.TempDir()), "edgetest", slog.New(slog.NewTextHandler(io.Discard, nil)))
	for _, method := range []string{"GET", "HEAD"} {
		rr := httptest.NewRecorder()
		req := httptest.NewRequest(method, "http://site.test/x", nil)
		c := accesslog.NewCapture(rr, req, time.Now())
		h.refuse(c, req, http.StatusForbidden, "This content is served over HTTPS only.")
		rec := c.Record(time.Now())
		want := int64(len("Forbidden\nThis content is served over HTTPS only.\nGenerated by openfront (edgetest)\nRequest ID: \n"))
		if rec.ContentLength != want || rr.Header().Get("Content-Length") != strconv.FormatInt(want, 10) {
			t.Errorf("%s: sc-content-len %d, Content-Length %q, want %d", method, rec.ContentLength, rr.Header().Get("Content-Length"), want)
		}
		if method == "GET" && int64(rr.Body.Len()) != want {
			t.Errorf("body %d bytes, declared %d", rr.Body.Len(), want)
		}
	}
}

// logInto makes h log its distributions of tb through a new manager with
// opts, closed when the test ends (a test may close it before).
func logInto(t testing.TB, h *Handler, tb *table.Table, opts accesslog.Options) *accesslog.Manager {
	t.Helper()
	m, err := accesslog.NewManager(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(context.Background()) })
	h.SetAccessLogs(m)
	if err := m.SetTable(tb); err != nil {
		t.Fatal(err)
	}
	return m
}

// loggedSite is an edge serving site.test from the origin at originAddr,
// its lines logged into logDir; behavior is added to the default cache
// behavior (CUE fields, or "").
func loggedSite(t *testing.T, originAddr, behavior string) (h *Handler, logs *accesslog.Manager, logDir string) {
	t.Helper()
	dir := t.TempDir()
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	logging: {enabled: true, prefix: "web/"}
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", %s}
}
`, originAddr, behavior))
	h = New(origin.NewPool(dir), "edgetest", slog.New(slog.DiscardHandler))
	logDir = t.TempDir()
	logs = logInto(t, h, tb, accesslog.Options{Dir: logDir, NodeName: "EDGE1", Registerer: prometheus.NewRegistry()})
	h.SetTable(tb)
	return h, logs, logDir
}

// TestObservedReusedWithABody: HTTP/3 gives every request a body, a GET's
// too; a counted GET is served with a pooled writer all the same, as one
// whose body is http.NoBody (HTTP/1, HTTP/2).
func TestObservedReusedWithABody(t *testing.T) {
	h, _, _ := observedEdge(t, true, false)
	allocs := func(body io.ReadCloser) float64 {
		r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/obj/1k/bench", nil)
		r.RemoteAddr = "127.0.0.1:40000"
		w := &discardWriter{}
		serve := func() {
			r.Body = body
			w.serve(h, r)
		}
		serve()
		return testing.AllocsPerRun(200, serve)
	}
	if noBody, body := allocs(http.NoBody), allocs(io.NopCloser(strings.NewReader(""))); body != noBody {
		t.Errorf("a counted hit allocates %v times with an empty body, %v with http.NoBody", body, noBody)
	}
}

// TestCacheableRequestsCounted: the hit ratio's inputs count GET, HEAD
// and OPTIONS requests only, as CloudFront's CacheHitRate leaves POST and
// PUT out; every result shows at 0 once the distribution is in the table,
// and leaves with it.
func TestCacheableRequestsCounted(t *testing.T) {
	dir := t.TempDir()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "app\n")
	}))
	defer app.Close()
	cfg := fmt.Sprintf(`package cdn

distributions: a: {
	aliases: ["a.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]}
}
`, strings.TrimPrefix(app.URL, "http://"))
	h := New(origin.NewPool(dir), "test", slog.New(slog.DiscardHandler))
	reg := prometheus.NewRegistry()
	if err := h.Register(reg); err != nil {
		t.Fatal(err)
	}
	h.SetTable(testenv.Compile(t, dir, cfg))
	zero := `
# HELP openfront_cacheable_requests_total GET, HEAD and OPTIONS requests of a distribution answered from the cache or the origin, by result (Hit, RefreshHit, Miss): the inputs of CloudFront's CacheHitRate, which counts neither POST or PUT requests nor errors.
# TYPE openfront_cacheable_requests_total counter
openfront_cacheable_requests_total{distribution="a",result="Hit"} %d
openfront_cacheable_requests_total{distribution="a",result="Miss"} %d
openfront_cacheable_requests_total{distribution="a",result="RefreshHit"} 0
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(fmt.Sprintf(zero, 0, 0)), "openfront_cacheable_requests_total"); err != nil {
		t.Error(err)
	}
	for _, m := range []string{"GET", "GET", "HEAD", "POST", "PUT", "POST", "DELETE"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(m, "http://a.test/x", strings.NewReader("")))
		if w.Code != 200 {
			t.Fatalf("%s: %d", m, w.Code)
		}
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(fmt.Sprintf(zero, 0, 3)), "openfront_cacheable_requests_total"); err != nil {
		t.Error(err)
	}
	if got := testutil.ToFloat64(h.metrics.requests.WithLabelValues("a", "2xx", "Miss", "http1.1")); got != 7 {
		t.Errorf("requests_total counts %v misses, want 7 (3 reads, 4 writes)", got)
	}
	h.SetTable(testenv.Compile(t, dir, strings.Replace(cfg, "a:", "b:", 1)))
	if n := testutil.CollectAndCount(h.metrics.cacheable); n != 3 {
		t.Errorf("%d cacheable series after a left for b, want b's 3", n)
	}
}
