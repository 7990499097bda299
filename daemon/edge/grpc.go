package edge

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"sync"

	"google.golang.org/grpc/codes"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/access"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/signedurl"
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
// as the caller's grpc-timeout allows. Functions run on calls as on any
// request ("CloudFront gRPC supports CloudFront Functions"): they see the
// headers (the call's metadata), never a message; one that answers a
// call itself answers in HTTP, as it wrote it.
//
// The edge's own failures of a call (refusals, an origin it cannot reach,
// a call it sheds) are gRPC answers, as Envoy makes its local replies to
// gRPC requests: a client then has a code and the reason, where an HTTP
// status with a text body left it only "unexpected HTTP status code"
// (refuseGRPC). A custom error page would be no gRPC answer: none is sent.
// Only once serve has the behavior does the edge know a call is one it
// proxies: a request refused before (no table, an unknown host, a URL
// over the limit) is answered in HTTP, as a behavior without grpcConfig
// answers a gRPC request.

// isGRPC reports whether r is a gRPC call: an HTTP/2 POST whose media
// type is application/grpc or application/grpc+FORMAT (not gRPC-Web,
// application/grpc-web, which is plain HTTP and served as such).
func isGRPC(r *http.Request) bool {
	if r.ProtoMajor != 2 || r.Method != http.MethodPost {
		return false
	}
	return table.GRPCContentType(r.Header.Get("Content-Type"))
}

// grpcCallKey marks the context of a request that serve found to be a gRPC
// call on a behavior with grpcConfig (asGRPCCall): the edge's own answers
// to it are then gRPC answers, wherever they are made (refuse, errorPage).
type grpcCallKey struct{}

func asGRPCCall(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), grpcCallKey{}, true))
}

// grpcCall reports whether r was marked by asGRPCCall.
func grpcCall(r *http.Request) bool { return r.Context().Value(grpcCallKey{}) != nil }

// grpcCode is the status of a gRPC call the edge fails with HTTP status
// status. It is the table clients read an HTTP status by
// (http-grpc-status-mapping.md), so a call fails with the code it failed
// with when it was answered in HTTP: 502, 503 and 504 (the origin
// unreachable or too slow to connect, the node at capacity) are
// UNAVAILABLE, the code statuscodes.md gives to "could not connect to a
// server" and a client may retry on; 403 (a geo restriction, a method,
// the viewer protocol policy, a disabled distribution) PERMISSION_DENIED.
// Not DEADLINE_EXCEEDED for 504: the only timeout that applies to a call
// is the origin's connection timeout (no response timeout does), and
// that is no deadline of the caller's. Where the table says UNKNOWN,
// 421 and 425 are UNAVAILABLE: the call may be sent again, on another
// connection or once the handshake is done. A refused signature has its
// own codes (signatureCode).
func grpcCode(status int) codes.Code {
	switch status {
	case http.StatusBadRequest:
		return codes.Internal
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.Unimplemented
	case http.StatusMisdirectedRequest, http.StatusTooEarly, http.StatusTooManyRequests,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return codes.Unavailable
	}
	return codes.Unknown
}

// signatureCode is the status of a gRPC call a signed behavior refuses
// (signedurl.Decision's code). statuscodes.md: PERMISSION_DENIED "must not
// be used if the caller can not be identified (use UNAUTHENTICATED
// instead)". A call with no signature, or one that does not verify, is
// malformed, names an unknown key or is out of its dates has no valid
// credentials: UNAUTHENTICATED. A valid signature for another resource or
// another address identifies a grant that does not cover the call:
// PERMISSION_DENIED.
func signatureCode(code string) codes.Code {
	if code == signedurl.CodeResourceMismatch || code == signedurl.CodeIPMismatch {
		return codes.PermissionDenied
	}
	return codes.Unauthenticated
}

// grpcContentType is the Content-Type of the edge's gRPC answers.
var grpcContentType = []string{"application/grpc"}

// refuseGRPC fails a gRPC call with code and reason as a "Trailers-Only"
// answer (PROTOCOL-HTTP2.md): HTTP 200 and application/grpc, grpc-status
// and grpc-message in the one HEADERS frame, which ends the stream. The
// node's fields (X-Openfront-Id, X-Cache: Error) go with it, and reach
// the client as trailing metadata.
//
// The access log says what was sent: sc-status 200, which CloudFront's
// sc-status is (the HTTP status of the response), as for a call whose
// origin answers an error grpc-status; CloudFront's logging documentation
// (standard-logs-reference.md, distribution-using-grpc.md) says nothing
// more for gRPC. That the edge failed the call is in
// x-edge-result-type (Error, or CapacityExceeded when shed) and
// x-edge-detailed-result-type (OriginConnectError, ClientGeoBlocked,
// ...), and the requests metric, whose result label is the log's, counts
// it as status_class 2xx with that result.
func refuseGRPC(w http.ResponseWriter, code codes.Code, reason string) {
	hdr := w.Header()
	hdr["Content-Type"] = grpcContentType
	hdr["Grpc-Status"] = []string{strconv.Itoa(int(code))}
	hdr["Grpc-Message"] = []string{grpcMessage(reason)}
	hdr.Set("X-Cache", cacheError)
	w.WriteHeader(http.StatusOK)
}

// grpcMessage is s as grpc-message carries it (PROTOCOL-HTTP2.md): bytes
// outside printable ASCII, and %, percent-encoded.
func grpcMessage(s string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= ' ' && c <= '~' && c != '%' {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(s)+16), s[:i]...)
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	if b == nil {
		return s
	}
	return string(b)
}

// proxyGRPC sends the gRPC call r to behavior b's origin and streams the
// answer back, trailers included. path and rawQuery are the viewer's, or
// a viewer-request function's; signed says b checked a signature;
// inserted are the headers the web ACLs insert, as forward's.
func (h *Handler) proxyGRPC(w http.ResponseWriter, r *http.Request, d *table.Distribution, b *table.Behavior, path, rawQuery, id string, signed bool, inserted []table.WAFHeader) {
	// The compiler admits only a custom origin here, but a function may
	// send the call elsewhere: to a group, whose primary alone takes a
	// POST ("CloudFront fails over to the secondary origin only when the
	// HTTP method of the viewer request is GET, HEAD, or OPTIONS",
	// distribution-using-grpc.md), or to an origin that speaks no gRPC.
	o := b.Origin
	if o == nil {
		o = b.Group.Primary
	}
	if o.Kind != table.OriginCustom {
		h.refuse(w, r, http.StatusBadGateway, "The origin "+strconv.Quote(o.ID)+" is not a custom origin: it cannot take a gRPC call.")
		return
	}
	header := r.Header
	if signed { // as forward: the signature stays at the edge
		header, rawQuery = withoutSignatureCookies(header), signedurl.StripSignature(rawQuery)
	}
	md := grpcMetadata(b, header)
	setWAFInserts(md, inserted)
	req := &origin.Request{
		Method:        r.Method,
		Path:          path,
		RawQuery:      rawQuery,
		Header:        h.withNodeHeaders(md, r, id),
		Body:          r.Body,
		ContentLength: r.ContentLength,
		ViewerHTTPS:   true,
		PeerIP:        access.PeerIP(r.RemoteAddr).String(),
		ViewerHost:    originHost(r, b),
		ForwardHost:   b.ForwardsHost(),
		GRPC:          true,
	}
	resp, err := h.fetchFrom(r.Context(), d, nil, o, req)
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
	if p, ok := w.(*headersPolicy); ok && p.failed {
		// The edge's own answer went out instead (a failed
		// viewer-response function): a Trailers-Only one, which the
		// call's messages, a flush or its trailers would spoil.
		return
	}
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
	in = withoutConnectionNamed(in, true)
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
