package node

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"slices"
	"time"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/tlsfp"
)

// Misdirected requests. Browsers coalesce HTTP/2 and HTTP/3 connections
// (RFC 9113 9.1.1, RFC 9114 3.3): holding one to a.example whose
// certificate also covers b.example, they send b.example's requests on it.
// The node chose that connection's certificate, security policy and ALPN
// for a.example's distribution (configForClient), not b.example's. When a
// connection of b.example's own would differ in a way that matters, its
// request is answered 421 Misdirected Request (RFC 9110 15.5.20) and the
// client sends it again on a new connection, set up for its host.
//
// CloudFront answers 421 to a request whose distribution is not of the
// AWS account owning the certificate the connection was set up with
// (domain fronting between accounts), on any protocol, and logs it as
// InvalidRequestCertificate ("the distribution doesn't match the SSL/TLS
// certificate for which the HTTPS connection was established"). A node is
// one operator's, so that rule alone would refuse nothing; the node
// refuses what the connection lacks for the request's distribution:
//
//   - the protocol: HTTP/2 or HTTP/3 for httpVersion http1.1, HTTP/2 for
//     http3, HTTP/3 for http2;
//   - the certificate, when it does not cover the request's host and is
//     not the distribution's own (a new connection would get that same
//     one: refusing would only cost a round trip). A client that checks
//     certificates never sends such a request; one that does is fronting,
//     refused as CloudFront refuses it;
//   - the security policy (minimumProtocolVersion), when the connection's
//     TLS version or cipher suite is below it: the distribution's own
//     handshake would not have accepted them.
//
//   - the client certificate, for a distribution with viewer mTLS: the
//     connection's handshake must have been of a distribution that checks
//     it the same way (mtlsMisdirected). Without this, a viewer without a
//     certificate would reach it through a connection to another alias on
//     a shared (wildcard) certificate, or one without SNI.
//
// The certificate and policy rules hold on HTTP/1.1 too: there is no
// coalescing there, but they are about the connection's TLS, which
// HTTP/1.1 has as well, and CloudFront refuses fronting whatever the
// protocol. A viewer without SNI (an old client, or a tool addressing the
// node by IP) chose no certificate: it gets the default one whatever host
// it wants, and is served as before; a policy still holds for it.
//
// The edge asks only when the request's host is not the SNI name and the
// two name different distributions, or when the distribution's httpVersion
// no longer has the connection's protocol (changed since the handshake),
// so the common request pays one string comparison and that check. The distributions are those of the request's table; the
// handshake may have used an older one, and a 421 then costs the client a
// new connection, no more.

// misdirected is the edge's MisdirectCheck: why a request r for
// distribution d, on a TLS connection whose SNI named distribution sni
// (nil: no SNI, or a name no distribution has), cannot be served on that
// connection; "" when it can.
func (s *certStore) misdirected(r *http.Request, sni, d *table.Distribution) string {
	if !d.ServesHTTP(r.ProtoMajor) {
		return "The distribution for this host does not serve " + r.Proto + ": send the request on a new connection."
	}
	if d.Mtls != nil {
		if why := mtlsMisdirected(r, sni, d); why != "" {
			return why
		}
	}
	if r.TLS.ServerName != "" && !s.certificateServes(sni, d, r.Host) {
		return "The certificate of this connection, set up for another host, does not cover this one: send the request on a new connection."
	}
	if !policyAllows(s.policy(d).h1, r.TLS) {
		return "This connection's TLS version or cipher is below the security policy of the distribution for this host: send the request on a new connection."
	}
	return ""
}

// mtlsMisdirected says why a request for d, a distribution with viewer
// mTLS, cannot be served on its connection: that connection's handshake
// did not check the client certificate as d's does now. The handshake
// recorded what it checked (configForClient): one for another host (no
// SNI, another alias on a shared certificate, HTTP/2 coalescing) checked
// nothing or something else, and one for d before a config change checked
// what d no longer accepts (passthrough turned required, a CA taken out of
// the trust store). Only a connection with no record (none of the node's
// listeners) falls back to its SNI's distribution.
func mtlsMisdirected(r *http.Request, sni, d *table.Distribution) string {
	h := tlsfp.FromContext(r.Context())
	var checked mtlsCheck
	var ok bool
	if h != nil {
		checked, ok = h.Checked().(mtlsCheck)
	} else {
		checked, ok = mtlsCheckOf(sni)
	}
	want, _ := mtlsCheckOf(d)
	if ok && checked == want {
		return ""
	}
	if !ok {
		return "The distribution for this host requires its own TLS handshake, which checks the client certificate (viewer mTLS); this connection was set up for another host: send the request on a new connection."
	}
	// Checked otherwise (another distribution's settings, or d's before
	// a change): what the viewer presented is checked again as d checks
	// it now, once a connection and change. A trust store that only
	// gained a CA, or changed its comment, keeps its connections.
	if d.Mtls.Verify(r.TLS.PeerCertificates, time.Now()) == nil {
		if h != nil {
			h.SetChecked(want)
		}
		return ""
	}
	return "The client certificate of this connection does not pass this host's viewer mTLS check as it is now: send the request on a new connection."
}

// certificateServes reports whether the certificate a handshake for sni
// presented also serves d's request for host: it is d's own, or it covers
// host.
func (s *certStore) certificateServes(sni, d *table.Distribution, host string) bool {
	if certificateName(sni) == certificateName(d) {
		return true
	}
	c, err := s.certificateOf(sni)
	if err != nil {
		return false // the handshake could not have used it either
	}
	leaf := c.Leaf
	if leaf == nil {
		if leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return false
		}
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return leaf.VerifyHostname(host) == nil
}

// policyAllows reports whether the connection cs was negotiated within
// the security policy whose TLS settings are cfg.
func policyAllows(cfg *tls.Config, cs *tls.ConnectionState) bool {
	if cs.Version < cfg.MinVersion {
		return false
	}
	if cs.Version >= tls.VersionTLS13 {
		// TLS 1.3's suites are Go's own; every policy allows them but
		// TLSv1.3_2025, the one starting at TLS 1.3, which leaves
		// ChaCha20 out (see tls13OnlyPolicy).
		return cfg.MinVersion < tls.VersionTLS13 || cs.CipherSuite != tls.TLS_CHACHA20_POLY1305_SHA256
	}
	return slices.Contains(cfg.CipherSuites, cs.CipherSuite)
}

// certificateName is d's certificateName; "" (the default certificate)
// for a nil d.
func certificateName(d *table.Distribution) string {
	if d == nil {
		return ""
	}
	return d.Spec.ViewerCertificate.CertificateName
}
