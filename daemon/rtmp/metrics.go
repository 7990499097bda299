package rtmp

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	sessions prometheus.Gauge
	players  *prometheus.GaugeVec   // distribution, app
	bytesOut *prometheus.CounterVec // distribution
	bytesIn  *prometheus.CounterVec // distribution
	skipped  *prometheus.CounterVec // distribution; frames a slow live player skipped
}

func newMetrics() *metrics {
	return &metrics{
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
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.sessions, m.players, m.bytesOut, m.bytesIn, m.skipped}
}
