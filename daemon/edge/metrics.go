package edge

import (
	"github.com/prometheus/client_golang/prometheus"

	"openfront.dev/internal/cffunc"
	"openfront.dev/internal/signedurl"
	"openfront.dev/schema"
)

// metrics are the edge's metrics; Register exposes them. Labels are
// bounded by the config (distribution and origin ids) and by the code
// (status class, result type, protocol, reason), never by a request.
type metrics struct {
	signatureDenials *prometheus.CounterVec
	geoDenials       *prometheus.CounterVec
	// The status page reads requests and responseBytes: keep their names
	// and labels.
	requests       *prometheus.CounterVec
	cacheable      *prometheus.CounterVec
	requestBytes   *prometheus.CounterVec
	responseBytes  *prometheus.CounterVec
	originDuration *prometheus.HistogramVec
	originErrors   *prometheus.CounterVec
	shieldRequests *prometheus.CounterVec
	// CloudFront Functions, as CloudFront's per-function metrics
	// (fnstats.go).
	functionRuns     *prometheus.CounterVec
	functionDuration *prometheus.HistogramVec
	// Requests answered 503 CapacityExceeded (overload.go).
	shed prometheus.Counter
	// Web ACL decisions (waf.go); rule names come from the config.
	waf *prometheus.CounterVec
}

func newMetrics() metrics {
	m := metrics{
		signatureDenials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_signature_denials_total",
			Help: "Requests refused for a missing or invalid signed URL or cookie, by reason.",
		}, []string{"reason"}),
		geoDenials: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_geo_denials_total",
			Help: "Requests refused by a distribution's geo restriction, by reason: blacklisted or not_whitelisted (a viewer whose country the database does not know is served, as by CloudFront).",
		}, []string{"reason"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_requests_total",
			Help: "Viewer requests of a distribution, by status class (000: the viewer left before a response), result type (the access log's x-edge-result-type) and protocol (http1.0, http1.1, http2, http3).",
		}, []string{"distribution", "status_class", "result", "protocol"}),
		cacheable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_cacheable_requests_total",
			Help: "GET, HEAD and OPTIONS requests of a distribution answered from the cache or the origin, by result (Hit, RefreshHit, Miss): the inputs of CloudFront's CacheHitRate, which counts neither POST or PUT requests nor errors.",
		}, []string{"distribution", "result"}),
		requestBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_request_bytes_total",
			Help: "Bytes viewers sent to a distribution, headers (as HTTP/1.1 text) and bodies: the access log's cs-bytes.",
		}, []string{"distribution"}),
		responseBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_response_bytes_total",
			Help: "Bytes a distribution sent to viewers, headers (as HTTP/1.1 text) and bodies: the access log's sc-bytes.",
		}, []string{"distribution"}),
		originDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "openfront_origin_request_duration_seconds",
			Help:    "Time from sending an origin request to its response header (or its failure).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"distribution", "origin"}),
		originErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_origin_errors_total",
			Help: "Failed origin requests, by kind: dns, connect, timeout, comm (failed after connecting), unsupported (origin kind), http_5xx (the origin answered 5xx).",
		}, []string{"distribution", "origin", "kind"}),
		shieldRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_origin_shield_requests_total",
			Help: "Origin requests of origins with originShield, by shield region and result: forwarded (sent to that region's shield node), fallback (none of its shield nodes could be reached: the origin was asked directly), served (this node answered another node's as the shield), replayed (a copy of another node's request this node took before: served as a viewer's).",
		}, []string{"region", "result"}),
		functionRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_function_invocations_total",
			Help: "Runs of a distribution's CloudFront Function, by event type and result: ok, generated_response (a viewer-request function answered), validation_error (502: it returned what CloudFront refuses), execution_error (503: it threw), throttled (503: it ran over its budget).",
		}, []string{"distribution", "function", "event_type", "result"}),
		functionDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "openfront_function_duration_seconds",
			Help: "Time a CloudFront Function's run took, failed ones too; a run is cut at the budget, the last bucket.",
			// CloudFront allows about 1 ms of compute; small functions
			// run in tens of microseconds.
			Buckets: []float64{.000001, .0000025, .000005, .00001, .000025, .00005, .0001, .00025, .0005, .001, .0025, .005, .01, cffunc.Budget.Seconds()},
		}, []string{"function", "event_type"}),
		waf: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_waf_requests_total",
			Help: "Requests a distribution's AWS WAF web ACL inspected, by the rule that decided (\"default\": the default action) and its action: allow, block, or count (a count rule matched; the request went on).",
		}, []string{"distribution", "web_acl", "rule", "action"}),
		shed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "openfront_requests_shed_total",
			Help: "Requests answered 503 CapacityExceeded because the node had as many origin requests in flight as serve --max-origin-requests allows.",
		}),
	}
	for _, code := range signedurl.Codes {
		m.signatureDenials.WithLabelValues(code) // every reason shows, at 0
	}
	for _, t := range []string{"blacklist", "whitelist"} {
		m.geoDenials.WithLabelValues(geoDenialReason(schema.GeoRestriction{RestrictionType: t}))
	}
	return m
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.signatureDenials, m.geoDenials, m.requests, m.cacheable, m.requestBytes, m.responseBytes, m.originDuration, m.originErrors, m.shieldRequests, m.functionRuns, m.functionDuration, m.shed, m.waf}
}

// Register adds the edge's metrics to reg and turns on counting requests
// per distribution; call it before SetTable.
func (h *Handler) Register(reg prometheus.Registerer) error {
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "openfront_origin_requests_in_flight",
		Help: "Origin requests sent and not yet read to their end, node-wide: what serve --max-origin-requests bounds.",
	}, func() float64 { return float64(h.gate.n.Load()) })
	for _, c := range append(h.metrics.collectors(), inFlight) {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	h.counting.Store(true)
	return nil
}

// forget deletes the series of a distribution that left the table.
func (m *metrics) forget(id string) {
	l := prometheus.Labels{"distribution": id}
	m.requests.DeletePartialMatch(l)
	m.cacheable.DeletePartialMatch(l)
	m.requestBytes.DeletePartialMatch(l)
	m.responseBytes.DeletePartialMatch(l)
	m.originDuration.DeletePartialMatch(l)
	m.originErrors.DeletePartialMatch(l)
	m.functionRuns.DeletePartialMatch(l)
	m.waf.DeletePartialMatch(l)
}

// forgetOrigin deletes the series of an origin that left its distribution.
func (m *metrics) forgetOrigin(dist, origin string) {
	l := prometheus.Labels{"distribution": dist, "origin": origin}
	m.originDuration.DeletePartialMatch(l)
	m.originErrors.DeletePartialMatch(l)
}
