package admin

import (
	"context"
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// edgeMetrics registers the metrics the edge exports, by the same names
// and labels, so the sampler reads what it would read on a node.
type edgeMetrics struct {
	requests, cacheable, bytes, originErrors *prometheus.CounterVec
	originLatency                            *prometheus.HistogramVec
}

func newEdgeMetrics(t *testing.T, reg *prometheus.Registry) edgeMetrics {
	m := edgeMetrics{
		requests:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "openfront_requests_total"}, []string{"distribution", "status_class", "result", "protocol"}),
		cacheable:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "openfront_cacheable_requests_total"}, []string{"distribution", "result"}),
		bytes:         prometheus.NewCounterVec(prometheus.CounterOpts{Name: "openfront_response_bytes_total"}, []string{"distribution"}),
		originErrors:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "openfront_origin_errors_total"}, []string{"distribution", "origin", "kind"}),
		originLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "openfront_origin_request_duration_seconds"}, []string{"distribution", "origin"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.cacheable, m.bytes, m.originErrors, m.originLatency} {
		if err := reg.Register(c); err != nil {
			t.Fatal(err)
		}
	}
	return m
}

// TestTrafficRates feeds the counters between samples taken at known
// times and checks the rates, hit ratio and origin health a page shows.
func TestTrafficRates(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newEdgeMetrics(t, reg)
	tr := newTraffic(source{compileTable(t, testConfig)}, reg, Options{})
	t0 := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	add := func(dist, result string, n int, bytes float64) {
		m.requests.WithLabelValues(dist, "2xx", result, "http/1.1").Add(float64(n))
		m.bytes.WithLabelValues(dist).Add(bytes)
		if result == "Hit" || result == "RefreshHit" || result == "Miss" {
			m.cacheable.WithLabelValues(dist, result).Add(float64(n))
		}
	}
	tr.sample(t0)
	// 10 s: site gets 30 hits, 10 misses, 10 errors and 20 POSTs (Miss,
	// not cacheable); 8 origin requests.
	add("site", "Hit", 20, 2000)
	add("site", "RefreshHit", 10, 1000)
	add("site", "Miss", 10, 1000)
	add("site", "Error", 10, 0)
	m.requests.WithLabelValues("site", "2xx", "Miss", "http/1.1").Add(20)
	for range 8 {
		m.originLatency.WithLabelValues("site", "app").Observe(0.05)
	}
	m.originErrors.WithLabelValues("site", "app", "timeout").Add(2)
	m.originErrors.WithLabelValues("site", "app", "dns") // at 0, as the edge shows every kind
	tr.sample(t0.Add(10 * time.Second))
	// 5 s: nothing cacheable, one origin request at 250 ms.
	add("site", "Error", 5, 0)
	m.originLatency.WithLabelValues("site", "app").Observe(0.25)
	tr.sample(t0.Add(15 * time.Second))

	st := tr.status()
	if len(st.Distributions) != 2 || st.Distributions[0].ID != "other" || st.Distributions[1].ID != "site" {
		t.Fatalf("distributions %+v", st.Distributions)
	}
	other, site := st.Distributions[0], st.Distributions[1]
	if len(other.Points) != 2 || other.Points[0].RequestsPerSecond != 0 || other.Points[0].HitRatio != nil || len(other.Origins) != 1 {
		t.Errorf("an idle distribution: %+v", other)
	}
	if len(site.Aliases) != 2 || site.Aliases[0] != "www.example.com" || !site.Enabled || site.Kind != "web" {
		t.Errorf("site: %+v", site)
	}
	ratio := func(p TrafficPoint) float64 {
		if p.HitRatio == nil {
			return -1
		}
		return *p.HitRatio
	}
	points := []struct{ rps, hit, bps float64 }{{7, 0.75, 400}, {1, -1, 0}}
	for i, want := range points {
		p := site.Points[i]
		if p.RequestsPerSecond != want.rps || ratio(p) != want.hit || p.BytesPerSecond != want.bps {
			t.Errorf("point %d: %v req/s, hit %v, %v B/s; want %+v", i, p.RequestsPerSecond, ratio(p), p.BytesPerSecond, want)
		}
	}
	if site.Requests != 75 || site.Bytes != 4000 {
		t.Errorf("totals %v requests, %v bytes", site.Requests, site.Bytes)
	}
	if len(site.Origins) != 2 || site.Origins[0].ID != "app" || site.Origins[1].ID != "assets" {
		t.Fatalf("origins %+v", site.Origins)
	}
	app, assets := site.Origins[0], site.Origins[1]
	if app.Requests != 9 || app.Errors != 2 || app.RecentErrors != 2 || app.ErrorKinds["timeout"] != 2 || len(app.ErrorKinds) != 1 {
		t.Errorf("app: %+v", app)
	}
	if app.LastLatencySeconds == nil || math.Abs(*app.LastLatencySeconds-0.25) > 1e-9 {
		t.Errorf("app's last latency %v, want 0.25", app.LastLatencySeconds)
	}
	if assets.Requests != 0 || assets.LastLatencySeconds != nil {
		t.Errorf("an origin never asked: %+v", assets)
	}
}

func TestTrafficRingBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	newEdgeMetrics(t, reg)
	tr := newTraffic(source{compileTable(t, testConfig)}, reg, Options{})
	t0 := time.Now()
	for i := range ringSize + 20 {
		tr.sample(t0.Add(time.Duration(i) * time.Second))
	}
	if len(tr.ring) != ringSize {
		t.Errorf("%d samples kept, want %d", len(tr.ring), ringSize)
	}
	if n := len(tr.status().Distributions[0].Points); n != ringSize-1 {
		t.Errorf("%d points, want %d", n, ringSize-1)
	}
}

// TestTrafficSampler: with a context the handler samples by itself, and
// /status/traffic shows the distribution's requests.
func TestTrafficSampler(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := newEdgeMetrics(t, reg)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	srv := httptest.NewServer(Handler("testnode", source{compileTable(t, testConfig)}, nil, reg, Options{Context: ctx, SampleEvery: 20 * time.Millisecond}))
	t.Cleanup(srv.Close)
	for range 1000 {
		m.requests.WithLabelValues("site", "2xx", "Hit", "http/1.1").Inc()
		resp, err := http.Get(srv.URL + "/status/traffic")
		if err != nil {
			t.Fatal(err)
		}
		var st TrafficStatus
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if d := st.Distributions[1]; d.ID == "site" && d.Requests > 0 && len(d.Points) > 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatal("the sampler never showed site's requests")
}
