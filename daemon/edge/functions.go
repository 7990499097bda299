package edge

import (
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"time"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/access"
	"openfront.dev/internal/cffunc"
)

// CloudFront Functions (cloudfront-functions.md). A behavior's
// viewer-request function runs once the request is routed and admitted:
// after the viewer protocol policy (CloudFront runs no viewer-request
// function on its redirect to HTTPS), the allowed methods, the geo
// restriction and the signed URL or cookies, and after the CloudFront-*
// headers are set (a function reads CloudFront-Viewer-Country), but
// before the cache key is made: the key and the origin request see what
// it changed. Its viewer-response function runs on every answer of the
// behavior below 400, a hit's too, before it goes out (headersPolicy).

// cacheFunction is X-Cache of a response a function generated, as
// CloudFront's "FunctionGeneratedResponse from cloudfront".
const cacheFunction = "FunctionGeneratedResponse from openfront"

// viewerRequest runs b's viewer-request function on r; false when the
// function answered (its response, or the error it made). path and
// rawQuery become the function's, and the behavior its origin helpers
// made: b with another target (the cache key stays b's, as in CloudFront).
func (h *Handler) viewerRequest(w http.ResponseWriter, r *http.Request, d *table.Distribution, b *table.Behavior, client netip.Addr, id string, path, rawQuery *string) (*table.Behavior, bool) {
	f := b.ViewerRequest
	// viewer-mtls-headers.md: "Due to potential header size, the
	// CloudFront-Viewer-Cert-Pem header is not exposed to edge functions
	// (Lambda@Edge or CloudFront Functions) and is only forwarded to the
	// origin." The other certificate headers are.
	// The node's headers it does not set for b are not the viewer's to
	// say to the function either: one that authorizes on
	// CloudFront-Viewer-Cert-Subject must not read a forged one.
	for k := range r.Header {
		if nodeHeader(k) && !slices.Contains(b.CloudFrontHeaders, k) {
			delete(r.Header, k)
		}
	}
	certPEM := r.Header[certPEMHeader]
	if certPEM != nil {
		delete(r.Header, certPEMHeader)
	}
	req := &cffunc.Request{Method: r.Method, URI: *path, RawQuery: *rawQuery, QueryMark: r.URL.ForceQuery, Host: r.Host, Header: r.Header}
	run := h.startFunction(d, f, eventViewerRequest)
	b, resp, err := d.ViewerRequest(b, h.functionContext(r, d, client, id), req)
	run.done(resp != nil, err)
	if err != nil {
		h.functionFailed(w, r, f, err)
		return nil, false
	}
	if resp != nil {
		generated(w, r, resp)
		return nil, false
	}
	*path, *rawQuery, r.Header = req.URI, req.RawQuery, req.Header
	if certPEM != nil && r.Header != nil {
		r.Header[certPEMHeader] = certPEM
	}
	return b, true
}

func (h *Handler) functionContext(r *http.Request, d *table.Distribution, client netip.Addr, id string) cffunc.Context {
	return cffunc.Context{DistributionDomainName: r.Host, DistributionID: d.ID, RequestID: id, ViewerIP: client.String(), Origins: d,
		Edge: h.edgeLocation(r)}
}

// edgeLocation is what cf.edgeLocation tells of the node: its name, the
// address r reached (made a string only when a function reads it), and
// its Origin Shield region.
func (h *Handler) edgeLocation(r *http.Request) cffunc.EdgeLocation {
	e := cffunc.EdgeLocation{Name: h.nodeName}
	e.Server, _ = r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if h.shield != nil {
		e.Region = h.shield.Region
	}
	return e
}

// generated sends a viewer-request function's response, with the node's
// headers, which the viewer-response function does not see (as the
// origin never did).
func generated(w http.ResponseWriter, r *http.Request, resp *cffunc.Response) {
	if p, ok := w.(*headersPolicy); ok {
		p.noFn = true
	}
	hdr := w.Header()
	for k, vs := range resp.Header {
		hdr[k] = vs
	}
	hdr.Set("X-Cache", cacheFunction)
	hdr["Content-Length"] = []string{strconv.Itoa(len(resp.Body))}
	w.WriteHeader(resp.Status)
	if r.Method != http.MethodHead {
		w.Write(resp.Body)
	}
}

// functionFailed answers as CloudFront does for a function that failed:
// 503 for one that threw or ran over its budget, 502 for one that
// returned what CloudFront refuses. The error is logged once a minute per
// function: one that fails every request would flood the log.
func (h *Handler) functionFailed(w http.ResponseWriter, r *http.Request, f *cffunc.Function, err error) {
	status, detail := cffunc.Failure(err)
	if f.ShouldWarn(time.Now()) {
		h.log.Warn("function failed", "function", f.Name, "result", detail, "err", err)
	}
	setDetail(w, detail)
	h.refuse(w, r, status, "The function "+f.Name+" failed ("+detail+").")
}

// viewerResponse runs the viewer-response function on the answer whose
// header is in p and status is code, which it may change, and whose body
// it may replace; failed: the function failed and the edge's error went
// out instead. CloudFront runs
// none on an answer of 400 and above (edge-functions-restrictions.md).
func (p *headersPolicy) viewerResponse(code int) (status int, failed bool) {
	if code >= 400 {
		return code, false
	}
	r := p.r
	hdr := p.ResponseWriter.Header()
	client := access.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), p.h.trusted)
	req := &cffunc.Request{Method: r.Method, URI: requestPath(r), RawQuery: r.URL.RawQuery, QueryMark: r.URL.ForceQuery, Host: r.Host, Header: r.Header}
	resp := &cffunc.Response{Status: code, Description: http.StatusText(code), Header: hdr}
	run := p.h.startFunction(p.d, p.fn, eventViewerResponse)
	err := p.fn.ViewerResponse(p.h.functionContext(r, p.d, client, p.id), req, resp)
	run.done(false, err)
	if err != nil {
		// None of the answer's header goes with the error but the node's.
		clear(hdr)
		hdr["X-Openfront-Id"], hdr["Via"] = []string{p.id}, p.h.viaValue
		p.h.functionFailed(p.ResponseWriter, r, p.fn, err)
		return code, true
	}
	// The body is the node's to frame: a function's Content-Length (or its
	// dropping one) would cut the body short or leave the viewer waiting.
	framing := [...][]string{hdr["Content-Length"], hdr["Transfer-Encoding"]}
	described := [...][]string{hdr["Content-Encoding"], hdr["Content-Range"]}
	clear(hdr)
	for k, vs := range resp.Header {
		hdr[k] = vs
	}
	for i, name := range [...]string{"Content-Length", "Transfer-Encoding"} {
		if delete(hdr, name); framing[i] != nil {
			hdr[name] = framing[i]
		}
	}
	// A body the function returned replaces the answer's (none for a
	// 204 or 304, which carry none). It goes out whole and as given: the
	// answer's coding and range described the body it replaces, so they
	// go too unless the function set its own (a viewer would otherwise
	// fail to decode it, or take it for a piece of the object).
	if resp.BodySet && resp.Status != http.StatusNoContent && resp.Status != http.StatusNotModified {
		p.replaced, p.body = true, resp.Body
		delete(hdr, "Transfer-Encoding")
		hdr["Content-Length"] = []string{strconv.Itoa(len(resp.Body))}
		for i, name := range [...]string{"Content-Encoding", "Content-Range"} {
			if slices.Equal(hdr[name], described[i]) {
				delete(hdr, name)
			}
		}
		if resp.Status == http.StatusPartialContent && hdr["Content-Range"] == nil {
			resp.Status = http.StatusOK
		}
	}
	return resp.Status, false
}
