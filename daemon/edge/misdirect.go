package edge

import (
	"net/http"
	"strings"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/access"
	"openfront.dev/daemon/accesslog"
)

// MisdirectCheck says why request r for distribution d cannot be served
// on its TLS connection, whose SNI named distribution sni (nil: no SNI,
// or a name no distribution has); "" when it can. The node sets it: it
// knows what the connection's handshake chose (daemon/node misdirect.go).
type MisdirectCheck func(r *http.Request, sni, d *table.Distribution) string

// SetMisdirectCheck sets the check of requests for another distribution
// than their connection's SNI; call it before serving.
func (h *Handler) SetMisdirectCheck(f MisdirectCheck) { h.misdirect = f }

// misdirected answers 421 Misdirected Request, and reports whether it did,
// to a request that came on a TLS connection set up for another
// distribution (coalesced or fronted) which cannot serve it, or for its
// own before a config change took the connection's protocol out of its
// httpVersion (the connection would serve it for as long as it lasts). A
// request for its SNI's own host, nearly all of them, pays one string
// comparison and the protocol's check (one of a distribution with viewer
// mTLS, a host lookup and the node's check).
func (h *Handler) misdirected(w http.ResponseWriter, r *http.Request, t *table.Table, d *table.Distribution) bool {
	if r.TLS == nil {
		// Behind a trusted proxy that terminated TLS (X-Forwarded-Proto:
		// https), no client certificate reached the node: a distribution
		// that requires one is not served as if it had been checked.
		if d.Mtls != nil && d.Mtls.Mode == table.MtlsRequired && access.ViewerHTTPS(r, h.trusted) {
			h.refuse(w, r, http.StatusForbidden, "The distribution for this host requires a client certificate (viewer mTLS), which only a TLS connection to the edge node itself can present, not one a proxy in front of it terminated.")
			return true
		}
		return false
	}
	if h.misdirect == nil {
		return false
	}
	// A distribution with viewer mTLS is always asked: the connection
	// must have checked the client certificate as its own handshake does.
	protocolServed := d.ServesHTTP(r.ProtoMajor) && d.Mtls == nil
	if protocolServed && sniIsHost(r.TLS.ServerName, r.Host) {
		return false
	}
	sni := t.DistributionForHost(r.TLS.ServerName)
	if sni == d && protocolServed {
		return false
	}
	reason := h.misdirect(r, sni, d)
	if reason == "" {
		return false
	}
	// CloudFront's type for its own 421, to a distribution that does
	// not match the connection's certificate.
	setDetail(w, accesslog.InvalidRequestCertificate)
	if sni == d && d.Mtls != nil {
		// The connection's own host no longer takes its certificate:
		// every request on it would get this answer, so it ends (HTTP/2:
		// GOAWAY) and the client's next request makes a new handshake.
		w.Header().Set("Connection", "close")
	}
	h.refuse(w, r, http.StatusMisdirectedRequest, reason)
	return true
}

// sniIsHost reports whether the Host value host (with or without a port)
// is the SNI name sni, whatever the case.
func sniIsHost(sni, host string) bool {
	if len(host) > len(sni) && host[len(sni)] == ':' {
		host = host[:len(sni)]
	}
	return sni != "" && strings.EqualFold(sni, host)
}
