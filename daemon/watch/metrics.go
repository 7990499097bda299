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
	// succeeded is 1 while the last compile worked: an alert on 0 fires
	// for as long as a change is refused, and clears with the fix.
	succeeded prometheus.Gauge
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
		succeeded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "openfront_config_last_reload_successful",
			Help: "1 if the last config reload compiled and was applied (or was the same table), 0 while a change is refused and the last good table serves.",
		}),
	}
	// Both results exist from the start, so rate() and alerts see a zero.
	m.reloads.WithLabelValues("success")
	m.reloads.WithLabelValues("failure")
	if reg != nil {
		for _, c := range []prometheus.Collector{m.reloads, m.version, m.lastSuccess, m.succeeded} {
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
	m.succeeded.Set(1)
}

func (m *metrics) failure() {
	m.reloads.WithLabelValues("failure").Inc()
	m.succeeded.Set(0)
}

// applied makes version the only version label.
func (m *metrics) applied(version string) {
	m.version.Reset()
	m.version.WithLabelValues(version).Set(1)
}
