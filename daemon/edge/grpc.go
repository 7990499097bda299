package edge

import (
	"io"
	"net/http"
	"sync"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/access"
	"openfront.dev/daemon/origin"
)

// gRPC, as CloudFront proxies it (distribution-using-grpc.md): on a
// behavior with grpcConfig.enabled, a request whose Content-Type is
// application/grpc goes straight to the origin, never through the cache,
// and both ways are streamed (unary, client-, server- and bidirectional
// streaming calls). gRPC needs HTTP/2 end to end: the viewer's request
// comes over HTTP/2, and the origin is called over HTTP/2 and TLS.
//
// What CloudFront leaves unsaid is done as a gRPC proxy must for calls to
// work: every end-to-end header is call metadata, so all reach the origin
// (hop-by-hop ones and those the node owns aside), the origin's trailers
// (grpc-status, grpc-message, trailing metadata) reach the viewer, and
// no origin response timeout applies, as a stream may be idle for as long
// as the caller's grpc-timeout allows. Functions do not run on gRPC calls:
// a function's request or response would not be a gRPC message. A
// failure before the origin answers is an HTTP status (502, 504, 403),
// which gRPC clients map to UNAVAILABLE or PERMISSION_DENIED; a custom
// error page would not be a gRPC response either, so none is sent.

// isGRPC reports whether r is a gRPC call: an HTTP/2 POST whose media
// type is application/grpc or application/grpc+FORMAT (not gRPC-Web,
// application/grpc-web, which is plain HTTP and served as such).
func isGRPC(r *http.Request) bool {
	if r.ProtoMajor != 2 || r.Method != http.MethodPost {
		return false
	}
	return table.GRPCContentType(r.Header.Get("Content-Type"))
}

// proxyGRPC sends the gRPC call r to behavior b's origin and streams the
// answer back, trailers included. signed says b checked a signature.
func (h *Handler) proxyGRPC(w http.ResponseWriter, r *http.Request, d *table.Distribution, b *table.Behavior, path, id string, signed bool) {
	header, rawQuery := r.Header, r.URL.RawQuery
	if signed { // as forward: the signature stays at the edge
		header, rawQuery = withoutSignatureCookies(header), access.StripSignature(rawQuery)
	}
	req := &origin.Request{
		Method:        r.Method,
		Path:          path,
		RawQuery:      rawQuery,
		Header:        h.withNodeHeaders(grpcMetadata(b, header), r, id),
		Body:          r.Body,
		ContentLength: r.ContentLength,
		ViewerHTTPS:   true,
		PeerIP:        access.PeerIP(r.RemoteAddr).String(),
		ViewerHost:    r.Host,
		ForwardHost:   forwardsHost(b),
		GRPC:          true,
	}
	// The compiler admits only a custom origin here; a group cannot
	// allow POST.
	resp, err := h.fetchFrom(r.Context(), d, b.Origin, req)
	if err != nil {
		if h.shed(w, r, err) {
			return
		}
		setDetail(w, originDetail(err))
		status, reason := originFailure(err)
		h.log.Warn("gRPC call to the origin failed", "host", r.Host, "path", r.URL.Path, "err", err)
		h.refuse(w, r, status, reason)
		return
	}
	defer resp.Body.Close()
	hdr := h.writeOriginHeader(w, resp, id)
	rc := http.NewResponseController(w)
	// A server stream's headers may come long before its first message,
	// so they go at once; but a status in the headers is a
	// "Trailers-Only" answer, which must stay one HEADERS frame that ends
	// the stream, or clients miss the status.
	if _, trailersOnly := resp.Header["Grpc-Status"]; !trailersOnly {
		rc.Flush()
	}
	// A call cut off in the middle must not end as if complete: the
	// viewer's stream is reset, and its client reports the failure.
	if brokeOff(w, r, streamBody(w, rc, resp.Body)) != nil {
		return
	}
	// Known once the body is read: the call's status, sent as trailers.
	for k, vs := range resp.Trailer {
		hdr[http.TrailerPrefix+k] = vs
	}
}

// grpcMetadata is what reaches the origin of a gRPC call: every header
// of in that is forwardable at all.
func grpcMetadata(b *table.Behavior, in http.Header) http.Header {
	// As in forwardedHeaders: the CloudFront-* fields are the node's.
	in = withoutConnectionNamed(in, "Cloudfront-")
	out := make(http.Header, len(in)+3)
	for k, vs := range in {
		if forwardable(b, k) {
			out[k] = vs
		}
	}
	return out
}

// streamBody copies body to w, flushing each piece as it comes: a
// streaming call's messages must not wait in a buffer for the next ones.
func streamBody(w io.Writer, rc *http.ResponseController, body io.Reader) error {
	bp := streamBufs.Get().(*[]byte)
	defer streamBufs.Put(bp)
	buf := *bp
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if ferr := rc.Flush(); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// streamBufs are streamBody's buffers: one a call otherwise.
var streamBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}
