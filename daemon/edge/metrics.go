package edge

import (
	"github.com/prometheus/client_golang/prometheus"

	"openfront.dev/daemon/access"
)

// metrics are the edge's counters; Register exposes them.
type metrics struct {
	signatureDenials *prometheus.CounterVec
	geoDenials       prometheus.Counter
}

func newMetrics() metrics {
	m := metrics{
		signatureDenials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_signature_denials_total",
			Help: "Requests refused for a missing or invalid signed URL or cookie, by reason.",
		}, []string{"reason"}),
		geoDenials: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "openfront_geo_denials_total",
			Help: "Requests refused by a distribution's geo restriction.",
		}),
	}
	for _, code := range access.Codes {
		m.signatureDenials.WithLabelValues(code) // every reason shows, at 0
	}
	return m
}

// Register adds the edge's metrics to reg.
func (h *Handler) Register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{h.metrics.signatureDenials, h.metrics.geoDenials} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
