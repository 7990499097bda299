package edge

import (
	"net/http"
	"time"

	"openfront.dev/daemon/accesslog"
)

// ServeRefused answers a request the HTTP/1 server refuses itself, before
// any behavior's work: a request line or header field it cannot read, no
// Host or two, framing it will not read, a version but 1.x, an Expect but
// 100-continue. status and reason are the server's; header says a header
// field is at fault. r is what the server could read of the request.
//
// CloudFront logs such a request (a request over its size limits aside,
// which it "can't log", and neither does the server pass it here) with
// x-edge-result-type Error and, in x-edge-detailed-result-type,
// InvalidRequestHeader, "The request contained an invalid header", or
// InvalidRequest, "The edge server received an invalid request from the
// viewer" (Developer Guide, log fields). It is logged and counted for the
// distribution its Host names or, without a usable Host, the one the TLS
// connection's SNI named. A request that names no distribution has no log
// to go to, as ServeHTTP's 403 for an unknown host: it is answered, and
// noted at debug level in the node's log.
func (h *Handler) ServeRefused(w http.ResponseWriter, r *http.Request, status int, reason string, header bool) {
	start := time.Now()
	id := requestID()
	hdr := w.Header()
	hdr["X-Openfront-Id"] = id
	hdr["Via"] = h.viaValue
	var st *distState
	if t := h.table.Load(); t != nil {
		name := r.Host
		if name == "" && r.TLS != nil {
			name = r.TLS.ServerName
		}
		d := t.DistributionForHost(name)
		if d == nil {
			h.log.Debug("refused a request of no distribution", "remote", r.RemoteAddr, "host", r.Host, "status", status, "reason", reason)
		} else {
			st = h.state(d.ID)
		}
	}
	if st == nil {
		h.refuse(w, r, status, reason)
		return
	}
	o := observe(w, r, start)
	o.detail = accesslog.InvalidRequest
	if header {
		o.detail = accesslog.InvalidRequestHeader
	}
	h.refuse(o, r, status, reason)
	st.finish(o, r, id[0])
}
