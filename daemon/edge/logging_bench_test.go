package edge

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/loadgen"
	"openfront.dev/internal/testenv"
)

// What access logs and metrics cost a cache hit, through the real handler
// in process (as internal/loadgen's BenchmarkEdgeHit, without sockets):
//
//	go test -run '^$' -bench HitObserved -benchmem -count 6 ./daemon/edge

// discardWriter keeps no bytes but treats the header as net/http does: a
// fresh map per request, cloned when the header is written.
type discardWriter struct {
	h, sent http.Header
	n       int
}

func (w *discardWriter) Header() http.Header { return w.h }

func (w *discardWriter) WriteHeader(int) {
	if w.sent == nil {
		w.sent = w.h.Clone()
	}
}

func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += len(p)
	return len(p), nil
}

const benchLogConfig = `package bench

distributions: bench: {
	aliases: ["127.0.0.1"]
	logging: enabled: %t
	origins: [{id: "origin", domainName: "127.0.0.1", customOriginConfig: {originProtocolPolicy: "http-only", httpPort: %s}}]
	defaultCacheBehavior: {targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400}
}
`

// benchEdge is a handler with a cache in front of a loadgen origin, serving
// the table of config (a format with %s for the origin's port), not yet set.
func benchEdge(b testing.TB, config string, args ...any) (*Handler, *table.Table, *slog.Logger) {
	o := httptest.NewServer(loadgen.NewOrigin())
	b.Cleanup(o.Close)
	u, _ := url.Parse(o.URL)
	dir := b.TempDir()
	res := testenv.Compile(b, dir, fmt.Sprintf(config, append(args, u.Port())...))
	c, err := cache.New(cache.Config{MemoryBytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	log := slog.New(slog.DiscardHandler)
	h := New(origin.NewPool(dir), "bench", log)
	h.SetCache(c)
	return h, res, log
}

// observedEdge is benchEdge's handler with metrics and access logs as asked.
func observedEdge(b testing.TB, metrics, logs bool) (*Handler, *accesslog.Manager, *prometheus.Registry) {
	h, t, log := benchEdge(b, benchLogConfig, logs)
	reg := prometheus.NewRegistry()
	if metrics {
		if err := h.Register(reg); err != nil {
			b.Fatal(err)
		}
	}
	var m *accesslog.Manager
	if logs {
		m = logInto(b, h, t, accesslog.Options{Dir: b.TempDir(), NodeName: "BENCH1", Registerer: reg, Logger: log})
	}
	h.SetTable(t)
	return h, m, reg
}

// serve serves r through h into w, as a fresh response.
func (w *discardWriter) serve(h *Handler, r *http.Request) {
	w.h, w.sent, w.n = http.Header{}, nil, 0
	h.ServeHTTP(w, r)
}

// warmHit makes r, a request for a 1 KiB object, a cache hit, and returns
// the writer to serve it with.
func warmHit(b *testing.B, h *Handler, r *http.Request) *discardWriter {
	w := &discardWriter{}
	w.serve(h, r) // the miss that fills the cache
	w.serve(h, r)
	if x := w.h.Get("X-Cache"); x != cache.XCacheHit || w.n != 1024 {
		b.Fatalf("X-Cache %q, %d bytes: want a hit of 1 KiB", x, w.n)
	}
	b.ReportAllocs()
	b.SetBytes(1024)
	return w
}

func BenchmarkHitObserved(b *testing.B) {
	for _, c := range []struct {
		name          string
		metrics, logs bool
	}{{"plain", false, false}, {"metrics", true, false}, {"logs", false, true}, {"metrics+logs", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			h, m, reg := observedEdge(b, c.metrics, c.logs)
			r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/obj/1k/bench", nil)
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("User-Agent", "wrk")
			w := warmHit(b, h, r)
			cpu0 := processCPU()
			for b.Loop() {
				w.serve(h, r)
			}
			if m != nil {
				// The writer compresses what is still queued.
				m.Close(context.Background())
				// Lines the writer could not keep up with are dropped,
				// which is cheaper than writing them: report how many.
				b.ReportMetric(sum(b, reg, "openfront_log_lines_dropped_total")/float64(b.N), "dropped/op")
			}
			// CPU of the whole process (the writer's compression
			// included): steadier than wall time on a shared machine,
			// and what bounds throughput when every core serves.
			b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the CPU time this process used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// sum adds up a metric's series.
func sum(b testing.TB, reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}
