package rtmp

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	sessions prometheus.Gauge
	players  *prometheus.GaugeVec   // distribution, app
	bytesOut *prometheus.CounterVec // distribution; the status page reads it: keep its name and label
	bytesIn  *prometheus.CounterVec // distribution
	skipped  *prometheus.CounterVec // distribution; frames a slow live player skipped
	panics   *prometheus.CounterVec // where: handler, close

	mu    sync.Mutex
	dists map[string]bool // the distributions with series
}

func newMetrics() *metrics {
	m := &metrics{dists: map[string]bool{},
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "openfront_rtmp_sessions",
			Help: "Open RTMP connections."}),
		players: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "openfront_rtmp_players",
			Help: "RTMP streams being played, by streaming distribution and app (vod, live)."}, []string{"distribution", "app"}),
		bytesOut: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "openfront_rtmp_sent_bytes_total",
			Help: "Bytes sent to RTMP clients, by streaming distribution."}, []string{"distribution"}),
		bytesIn: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "openfront_rtmp_received_bytes_total",
			Help: "Bytes received from RTMP clients, by streaming distribution."}, []string{"distribution"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "openfront_rtmp_skipped_frames_total",
			Help: "Media messages live players skipped because they fell behind, by streaming distribution."}, []string{"distribution"}),
		panics: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "openfront_rtmp_panics_total",
			Help: "Panics recovered on RTMP connections, each of which closed its connection (logged at error level), by where: handler (the read loop's command and media handling), close (the connection's cleanup)."}, []string{"where"}),
	}
	for _, w := range []string{"handler", "close"} {
		m.panics.WithLabelValues(w) // shown at 0
	}
	return m
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.sessions, m.players, m.bytesOut, m.bytesIn, m.skipped, m.panics}
}

// counters are distribution id's byte counters; its series are deleted
// by forgetExcept once it leaves the table.
func (m *metrics) counters(id string) (out, in prometheus.Counter) {
	m.mu.Lock()
	m.dists[id] = true
	m.mu.Unlock()
	return m.bytesOut.WithLabelValues(id), m.bytesIn.WithLabelValues(id)
}

// show makes distribution id's counters at 0 (its table is served), so
// that rate() counts its first session's bytes.
func (m *metrics) show(id string) {
	m.counters(id)
	m.skipped.WithLabelValues(id)
}

// forgetExcept deletes the series of the distributions keep says are gone
// (a session connects before it plays, so every series has its id here).
func (m *metrics) forgetExcept(keep func(id string) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.dists {
		if keep(id) {
			continue
		}
		l := prometheus.Labels{"distribution": id}
		for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{m.players, m.bytesOut, m.bytesIn, m.skipped} {
			v.DeletePartialMatch(l)
		}
		delete(m.dists, id)
	}
}
