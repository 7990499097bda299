package node

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/json"
	"slices"
	"time"

	"openfront.dev/compiler/table"
)

// Viewer mutual TLS (mtls-authentication.md). A distribution with a
// viewerMtlsConfig gets configs of its own (withMtls), which ask the
// viewer for a certificate and check it themselves rather than through
// Go's ClientCAs verification, so that:
//
//   - advertiseTrustStoreCaNames alone decides whether the certificate
//     request lists the trust store's CA names (ClientCAs does only that
//     here: Go verifies against it only from VerifyClientCertIfGiven on);
//   - ignoreCertificateExpiry can verify at a time inside the
//     certificate's validity (table.ViewerMtls.Verify);
//   - passthrough takes any certificate: Go still checks the handshake's
//     CertificateVerify, the proof that the viewer holds its key.
//
// Nothing changes for distributions without it: their configs are the
// shared ones, and a request pays a nil check (edge misdirected).

// withMtls is cfg asking for and checking a client certificate as m says.
// tag marks the sessions its handshakes issue: one is resumed only by
// the configs of the same distribution and mTLS settings (see
// mtlsSessions).
func (s *certStore) withMtls(cfg *tls.Config, m *table.ViewerMtls, tag []byte) *tls.Config {
	cfg = cfg.Clone()
	cfg.ClientAuth = tls.RequestClientCert
	if m.Mode == table.MtlsRequired {
		// Go refuses a handshake without a certificate itself, with the
		// certificate_required alert (TLS 1.3).
		cfg.ClientAuth = tls.RequireAnyClientCert
	}
	if m.AdvertiseCANames && m.Store != nil {
		cfg.ClientCAs = m.Store.Pool
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		if cs.DidResume {
			// The session was verified by a handshake on these same
			// settings (UnwrapSession checks its tag); Go refused it
			// already if its certificate has expired since.
			return nil
		}
		err := m.Verify(cs.PeerCertificates, time.Now())
		if err != nil {
			s.log.Debug("viewer mTLS handshake refused", "sni", cs.ServerName, "err", err)
		}
		return err
	}
	cfg.WrapSession = func(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
		ss.Extra = append(ss.Extra, tag)
		return s.tickets.EncryptTicket(cs, ss)
	}
	cfg.UnwrapSession = func(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
		ss, err := s.tickets.DecryptTicket(identity, cs)
		if err != nil || ss == nil || !slices.ContainsFunc(ss.Extra, func(e []byte) bool { return bytes.Equal(e, tag) }) {
			return nil, nil // a full handshake, never a failed one
		}
		return ss, nil
	}
	return cfg
}

// mtlsTag names a distribution's mTLS settings in its sessions: a session
// of another distribution's handshake (a passthrough one's unverified
// certificate, an optional one's none) or of settings since changed (a
// trust store without the CA that issued its certificate) is not resumed
// here; its viewer makes a full handshake, verified anew.
func mtlsTag(d *table.Distribution) []byte {
	b, _ := json.Marshal([]any{d.ID, d.Spec.ViewerMtlsConfig, d.Mtls.Store.Bundle()})
	sum := sha256.Sum256(b)
	return append([]byte("openfront-mtls:"), sum[:]...)
}

// mtlsCheck is what a handshake checks of the client certificate: the
// mode, trust store (one pointer while its spec is unchanged from table
// to table) and expiry rule of a distribution's viewer mTLS. A connection
// records its handshake's (tlsfp.Hello.SetChecked); a request is served
// on it when its distribution's is the same now, or when the viewer's
// certificate passes the distribution's check as it is now.
type mtlsCheck struct {
	mode         string
	store        *table.TrustStore
	ignoreExpiry bool
}

// mtlsCheckOf is d's mtlsCheck; false for a nil d or one without viewer
// mTLS.
func mtlsCheckOf(d *table.Distribution) (mtlsCheck, bool) {
	if d == nil || d.Mtls == nil {
		return mtlsCheck{}, false
	}
	return mtlsCheck{d.Mtls.Mode, d.Mtls.Store, d.Mtls.IgnoreExpiry}, true
}
