package watch

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the reload metrics the issue names.
type metrics struct {
	reloads     *prometheus.CounterVec
	version     *prometheus.GaugeVec
	lastSuccess prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_config_reload_total",
			Help: "Config reloads (compiles), by result.",
		}, []string{"result"}),
		version: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "openfront_config_version_info",
			Help: "The version of the routing table being served (always 1).",
		}, []string{"version"}),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "openfront_config_last_success_timestamp_seconds",
			Help: "When the config last compiled successfully, in Unix seconds.",
		}),
	}
	// Both results exist from the start, so rate() and alerts see a zero.
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	if reg != nil {
		for _, c := range []prometheus.Collector{m.reloads, m.version, m.lastSuccess} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register reload metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *metrics) success(at time.Time) {
	m.reloads.WithLabelValues("success").Inc()
	m.lastSuccess.Set(float64(at.UnixNano()) / 1e9)
}

func (m *metrics) failure() { m.reloads.WithLabelValues("failure").Inc() }

// applied makes version the only version label.
func (m *metrics) applied(version string) {
	m.version.Reset()
	m.version.WithLabelValues(version).Set(1)
}
