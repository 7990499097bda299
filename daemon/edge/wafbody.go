package edge

import (
	"bytes"
	"io"
	"net/http"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/accesslog"
)

// wafBodyLimit is the bytes of r's body the web ACLs of first and second
// (either nil) inspect, 0 when neither inspects a body, r forwards none
// (a GET) or r is a gRPC call: then nothing is read before the decision.
// A call's body rules are not evaluated (table.WAFRequest.GRPC): its body
// is its messages, sent as the call goes, and a bidirectional call would
// wait for ever for its answer while the edge waited for 16 KB of them.
func wafBodyLimit(r *http.Request, first, second *table.Distribution) int {
	limit := 0
	for _, d := range []*table.Distribution{first, second} {
		if d != nil && d.WebACL.BodyLimit > limit {
			limit = d.WebACL.BodyLimit
		}
	}
	if limit == 0 || !forwardsBody(r) || grpcCall(r) {
		return 0
	}
	return limit
}

// readWAFBody reads the first limit bytes of r's body, and one more to
// know whether there are more, for the web ACLs to inspect, and puts them
// back in front of the rest: the origin gets the body as sent, and the
// rest streams, never held here. A viewer that stops sending is bounded
// as a forwarded body is (viewerBody) and answered 408, as it is today;
// a body that breaks off is answered 502, as the origin request it
// would break is. false: it answered.
func (h *Handler) readWAFBody(w http.ResponseWriter, r *http.Request, limit int) (*table.WAFBody, bool) {
	vb := h.forwardedBody(r)
	size := limit + 1
	if r.ContentLength >= 0 && r.ContentLength < int64(limit) {
		size = int(r.ContentLength) + 1 // room to see the end
	}
	buf := make([]byte, size)
	n := 0
	for n < len(buf) {
		m, err := vb.Read(buf[n:])
		n += m
		if err == io.EOF {
			break
		}
		if err != nil {
			if !h.answerStalled(w, r, vb, false) {
				h.log.Debug("the request body broke off before the web ACL inspected it", "host", r.Host, "path", r.URL.Path, "err", err)
				setDetail(w, accesslog.ClientHungUpRequest)
				h.refuse(w, r, http.StatusBadGateway, "The request's body broke off before it was whole.")
			}
			return nil, false
		}
	}
	rest := r.Body
	r.Body = replayBody{io.MultiReader(bytes.NewReader(buf[:n]), rest), rest}
	b := &table.WAFBody{Data: buf[:min(n, limit)], Oversize: n > limit, Size: r.ContentLength}
	return b, true
}

// replayBody is a body's first bytes, read for the web ACL, then the
// rest, closed as the viewer's.
type replayBody struct {
	io.Reader
	io.Closer
}
