package edge

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/origin"
)

// originStats are one origin's series of a distribution.
type originStats struct {
	duration prometheus.Observer
	errors   *prometheus.CounterVec
	dist, id string
}

// originStats resolves the origin series of d, and deletes those of
// origins d no longer has.
func (h *Handler) originStats(d *table.Distribution, m *distMetrics) map[string]*originStats {
	out := make(map[string]*originStats, len(d.Origins))
	for id := range d.Origins {
		out[id] = &originStats{duration: h.metrics.originDuration.WithLabelValues(d.ID, id), errors: h.metrics.originErrors, dist: d.ID, id: id}
		// Every kind shows at 0 from the start: an alert on
		// increase() sees an origin's first error, which a series
		// born at 1 would not show.
		for _, kind := range originErrorKinds {
			h.metrics.originErrors.WithLabelValues(d.ID, id, kind)
		}
	}
	for id := range m.originIDs {
		if out[id] == nil {
			h.metrics.forgetOrigin(d.ID, id)
			delete(m.originIDs, id)
		}
	}
	for id := range out {
		m.originIDs[id] = true
	}
	return out
}

// Origin error kinds, the kind label of openfront_origin_errors_total.
const (
	kindDNS         = "dns"
	kindConnect     = "connect"
	kindTimeout     = "timeout"
	kindComm        = "comm"
	kindUnsupported = "unsupported"
	kindHTTP5xx     = "http_5xx"
)

var originErrorKinds = [...]string{kindDNS, kindConnect, kindTimeout, kindComm, kindUnsupported, kindHTTP5xx}

// originErrorKind classifies a failed origin request; "" for a request
// given up by its caller (the viewer left) or failed by the viewer (its
// body stalled), which says nothing about the origin.
func originErrorKind(err error) string {
	var dnsErr *net.DNSError
	var oe *origin.Error
	var ne net.Error
	var op *net.OpError
	var sf *shieldFailure
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, errBodyStalled):
		return ""
	case errors.As(err, &sf): // what the shield reported (shieldFailed)
		return sf.kind
	case errors.Is(err, origin.ErrUnsupported):
		return kindUnsupported
	case errors.As(err, &dnsErr):
		return kindDNS
	case errors.As(err, &oe) && oe.Timeout, errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return kindTimeout
	case errors.As(err, &op) && op.Op == "dial":
		return kindConnect
	case errors.As(err, &oe) && oe.Handshake:
		// A failed TLS handshake is a connection CloudFront could not
		// make: 502, "couldn't connect to the origin server"
		// (http-502-bad-gateway.md, "SSL/TLS negotiation failure").
		return kindConnect
	}
	return kindComm
}

// originDetail is the access log's x-edge-detailed-result-type for a
// failed origin request.
func originDetail(err error) string {
	if sf := (*shieldFailure)(nil); errors.As(err, &sf) {
		return sf.detail
	}
	switch originErrorKind(err) {
	case kindDNS:
		return accesslog.OriginDNSError
	case kindConnect:
		return accesslog.OriginConnectError
	case kindTimeout: // "timed out while connecting to the origin, or reading data from" it
		return accesslog.OriginCommError
	case kindComm:
		return commDetail(err)
	case kindUnsupported:
		return accesslog.OriginError
	}
	return ""
}

// commDetail is the detailed result type of an origin request that
// failed neither by a timeout nor at connect, by what failed: reading
// (a reset, a body short of its length), writing, an answer that is no
// HTTP response (OriginInvalidResponseError: "The origin returned an
// invalid response"), or else the origin (AbortedOrigin: "an issue with
// the origin").
func commDetail(err error) string {
	var op *net.OpError
	switch {
	case errors.As(err, &op) && op.Op == "write":
		return accesslog.OriginWriteError
	case errors.As(err, &op) && op.Op == "read", errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return accesslog.OriginReadError
	case errors.Is(err, errContentRangeLength):
		return accesslog.OriginContentRangeLengthError
	case invalidResponse(err):
		return accesslog.OriginInvalidResponseError
	}
	return accesslog.AbortedOrigin
}

// invalidResponse reports whether err is Go's HTTP/1 transport refusing
// what the origin answered: a status line, header or Content-Length it
// cannot parse. The transport has no error type for it, only its
// message; a read that failed (a reset, an EOF) is matched before.
func invalidResponse(err error) bool {
	var pe textproto.ProtocolError
	if errors.As(err, &pe) {
		return true
	}
	// The transport says "connection broken" of any failure once it
	// reads; one of the connection itself (a TLS alert) is no answer's.
	var oe *net.OpError
	return !errors.As(err, &oe) && strings.Contains(err.Error(), "HTTP/1.x transport connection broken: ")
}

// observeOrigin counts one origin request of d to o, answered or failed after took.
func (h *Handler) observeOrigin(d *table.Distribution, o *table.Origin, took time.Duration, resp *http.Response, err error) {
	st := h.state(d.ID)
	if st == nil || st.m == nil {
		return
	}
	s := st.origins[o.ID]
	if s == nil { // an origin of a newer table than the request's
		return
	}
	kind := ""
	if err != nil {
		if kind = originErrorKind(err); kind == "" {
			return
		}
	} else if resp.StatusCode >= 500 {
		kind = kindHTTP5xx
	}
	s.duration.Observe(took.Seconds())
	if kind != "" {
		s.errors.WithLabelValues(s.dist, s.id, kind).Inc()
	}
}
