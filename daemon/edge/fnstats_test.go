package edge

import (
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// TestFunctionMetrics: each run of a function is counted by its
// distribution, event and result, and timed; a function that leaves the
// table takes its series along.
func TestFunctionMetrics(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	h := New(origin.NewPool(dir), "test", slog.New(slog.DiscardHandler))
	reg := prometheus.NewRegistry()
	if err := h.Register(reg); err != nil {
		t.Fatal(err)
	}
	h.SetTable(testenv.Compile(t, dir, functionsConfig(t, app.Listener.Addr().String(), map[string]bool{"security-headers": true, "forbidden-header": true})))
	// runs are the nonzero invocation counts, and timed the duration
	// samples, both by function/event/result ("" for the duration's).
	runs, timed := map[string]float64{}, map[string]float64{}
	for _, s := range []struct {
		path                    string
		status                  int
		function, event, result string // the one count that goes up
	}{
		{"/index-html/docs/", 200, "index-html", "viewer-request", "ok"},
		{"/index-html/a.css", 200, "index-html", "viewer-request", "ok"},
		{"/redirect/x", 302, "redirect", "viewer-request", "generated_response"},
		{"/security-headers/a", 200, "security-headers", "viewer-response", "ok"},
		{"/throws/a", 503, "throws", "viewer-request", "execution_error"},
		{"/getter-throws/a", 503, "getter-throws", "viewer-request", "execution_error"},
		{"/loop/a", 503, "loop", "viewer-request", "throttled"},
		{"/forbidden-header/a", 502, "forbidden-header", "viewer-response", "validation_error"},
	} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "http://site.test"+s.path, nil))
		if w.Code != s.status {
			t.Fatalf("%s: %d, want %d", s.path, w.Code, s.status)
		}
		runs[s.function+"/"+s.event+"/"+s.result]++
		timed[s.function+"/"+s.event+"/"]++
		if got := functionSeries(t, reg, "openfront_function_invocations_total"); !maps.Equal(got, runs) {
			t.Errorf("after %s: invocations %v, want %v", s.path, got, runs)
		}
		if got := functionSeries(t, reg, "openfront_function_duration_seconds"); !maps.Equal(got, timed) {
			t.Errorf("after %s: durations %v, want %v", s.path, got, timed)
		}
	}
	// Every result a function can have shows, at 0 until it happens; a
	// viewer-response function generates no response.
	for _, s := range []struct {
		function, event string
		results         int
	}{{"index-html", "viewer-request", 5}, {"security-headers", "viewer-response", 4}} {
		if n := countSeries(t, reg, "openfront_function_invocations_total", s.function, s.event); n != s.results {
			t.Errorf("%s %s: %d series, want %d", s.function, s.event, n, s.results)
		}
	}

	h.SetTable(testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
}
`, app.Listener.Addr().String())))
	for _, name := range []string{"openfront_function_invocations_total", "openfront_function_duration_seconds"} {
		if n := countSeries(t, reg, name, "", ""); n != 0 {
			t.Errorf("%d series of %s once no function runs, want none", n, name)
		}
	}
}

// functionSeries gathers the function metric name from reg: its nonzero
// counts (sample counts of a histogram) by function/event/result.
func functionSeries(t *testing.T, reg *prometheus.Registry, name string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, m := range gatherFamily(t, reg, name) {
		l := labelMap(m)
		v := m.GetCounter().GetValue()
		if m.Histogram != nil {
			v = float64(m.GetHistogram().GetSampleCount())
		}
		if v != 0 {
			out[l["function"]+"/"+l["event_type"]+"/"+l["result"]] = v
		}
	}
	return out
}

// countSeries counts the series of name of function on event ("": any).
func countSeries(t *testing.T, reg *prometheus.Registry, name, function, event string) int {
	t.Helper()
	n := 0
	for _, m := range gatherFamily(t, reg, name) {
		if l := labelMap(m); (function == "" || l["function"] == function) && (event == "" || l["event_type"] == event) {
			n++
		}
	}
	return n
}

func gatherFamily(t *testing.T, reg *prometheus.Registry, name string) []*dto.Metric {
	t.Helper()
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == name {
			return f.GetMetric()
		}
	}
	return nil
}

func labelMap(m *dto.Metric) map[string]string {
	l := map[string]string{}
	for _, p := range m.GetLabel() {
		l[p.GetName()] = p.GetValue()
	}
	return l
}
