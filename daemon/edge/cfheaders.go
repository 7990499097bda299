package edge

import (
	"net/http"
	"slices"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/access"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/internal/cfheaders"
	"openfront.dev/internal/tlsfp"
)

// The CloudFront-* request headers the node sets for the origin
// (table.CloudFrontHeaders), from the viewer's request: what CloudFront
// documents in adding-cloudfront-headers.md. A viewer's own never reach
// the origin, which trusts them as the CDN's word. What the request
// alone tells is cfheaders' (shared with openfront route and vet); the
// TLS and the places are the node's.
const (
	viewerCountryHeader = cfheaders.ViewerCountry
	ja3Header           = "Cloudfront-Viewer-Ja3-Fingerprint"
	ja4Header           = "Cloudfront-Viewer-Ja4-Fingerprint"
)

// viewer is what the CloudFront headers say about a request's viewer.
type viewer struct {
	cfheaders.Viewer
	r   *http.Request
	loc access.Location // the rest of what the databases say (location.go)
	// tlsReused: an earlier request used r's TLS connection.
	tlsReused bool
	// mtls is the viewer mTLS of the distribution of the request's host
	// (whose handshake the connection made; a staging distribution serves
	// its primary's), which asks for the client certificate the
	// Cloudfront-Viewer-Cert-* headers tell; nil for none.
	mtls *table.ViewerMtls
}

// setCloudFrontHeaders puts the node's value of each CloudFront header
// behavior b forwards into r.Header in place of the viewer's (none when
// the node has no value): the cache key and the origin request read them
// from there.
func setCloudFrontHeaders(r *http.Request, b *table.Behavior, v *viewer) {
	for _, name := range b.CloudFrontHeaders {
		replaceNodeHeader(r.Header, name, v.header(name))
	}
}

// header is the node's value of the CloudFront header name, nil for none.
func (v *viewer) header(name string) []string {
	if vs, ok := v.Value(name); ok {
		return vs
	}
	switch name {
	case "Cloudfront-Viewer-Tls":
		// "version:cipher:handshake", OpenSSL's names as in the access log;
		// the handshake is the request's: a later request on the
		// connection made none (connectionReused).
		s := v.r.TLS
		if s == nil {
			return nil
		}
		handshake := "fullHandshake"
		switch {
		case v.tlsReused:
			handshake = "connectionReused"
		case s.DidResume:
			handshake = "sessionResumed"
		}
		return []string{accesslog.TLSVersionName(s.Version) + ":" + accesslog.CipherName(s.CipherSuite) + ":" + handshake}
	case ja3Header, ja4Header:
		// From the viewer's ClientHello: HTTPS only, and only when the
		// node terminated the TLS (not behind a proxy that did).
		if v.r.TLS == nil {
			return nil
		}
		h := tlsfp.FromContext(v.r.Context())
		if h == nil {
			return nil
		}
		fp := h.JA4()
		if name == ja3Header {
			fp = h.JA3()
		}
		if fp == "" {
			return nil
		}
		return []string{fp}
	}
	if vs, ok := v.mtlsHeader(name); ok {
		return vs
	}
	vs, _ := v.locationHeader(name)
	return vs // nil: a CloudFront header the node does not set
}

// forwardsCloudFrontHeader reports whether behavior b has the node set
// the CloudFront header name.
func forwardsCloudFrontHeader(b *table.Behavior, name string) bool {
	return slices.Contains(b.CloudFrontHeaders, name)
}

// connectionReused reports whether r came on a TLS connection an earlier
// request used: the first request to ask claims its handshake.
func connectionReused(r *http.Request) bool {
	h := tlsfp.FromContext(r.Context())
	return h != nil && !h.FirstRequest()
}
