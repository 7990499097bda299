package table

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"
	"time"

	"openfront.dev/schema"
)

// Viewer mutual TLS modes (ViewerMtlsConfig.Mode).
const (
	MtlsRequired    = "required"
	MtlsOptional    = "optional"
	MtlsPassthrough = "passthrough"
)

// ViewerMtls is a distribution's viewer mutual TLS, compiled: what the
// node's handshakes for its aliases ask of a client certificate.
type ViewerMtls struct {
	Mode string
	// Store is the trust store required and optional verify against; nil
	// in passthrough.
	Store *TrustStore
	// AdvertiseCANames: the certificate request lists Store's CA names.
	AdvertiseCANames bool
	// IgnoreExpiry: a certificate outside its validity verifies as if
	// inside it.
	IgnoreExpiry bool
}

// TrustStore is a trust store's CA certificates, parsed once per table.
type TrustStore struct {
	ID   string
	Spec *schema.TrustStore
	// Pool holds every certificate of the bundle as a trust anchor, as a
	// Go server's ClientCAs does: a client certificate verifies when it
	// chains to any of them, root or intermediate.
	Pool  *x509.CertPool
	Certs []*x509.Certificate
}

// Bundle is the trust store's PEM bundle; "" for none.
func (s *TrustStore) Bundle() string {
	if s == nil {
		return ""
	}
	return s.Spec.CACertificatesBundle
}

// ParseTrustStore parses a trust store's CA certificates bundle: one or
// more PEM CERTIFICATE blocks, each a CA certificate.
func ParseTrustStore(bundle string) ([]*x509.Certificate, error) {
	rest := []byte(strings.TrimSpace(bundle))
	var certs []*x509.Certificate
	for n := 1; len(rest) > 0; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if strings.Contains(bundle, "\n ") || strings.Contains(bundle, "\n\t") {
				return nil, errors.New("not PEM-encoded: its lines start with spaces or tabs: indent them as the closing \"\"\" is")
			}
			if n == 1 {
				return nil, errors.New("not PEM-encoded: want -----BEGIN CERTIFICATE----- ... -----END CERTIFICATE----- blocks")
			}
			return nil, fmt.Errorf("trailing data after PEM block %d", n-1)
		}
		rest = []byte(strings.TrimSpace(string(rest)))
		if block.Type != "CERTIFICATE" {
			if strings.Contains(block.Type, "PRIVATE KEY") {
				return nil, fmt.Errorf("PEM block %d is a %s: a trust store holds CA certificates only; keep private keys out of the config", n, block.Type)
			}
			return nil, fmt.Errorf("PEM block %d is a %q, want CERTIFICATE", n, block.Type)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d does not parse (%v)", n, shortASN1Error(err))
		}
		if !c.BasicConstraintsValid || !c.IsCA {
			return nil, fmt.Errorf("certificate %d (%s) is not a CA certificate (it lacks basicConstraints CA:TRUE): a trust store holds the CAs that issue client certificates, not the client certificates", n, c.Subject)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		return nil, errors.New("holds no CA certificate")
	}
	return certs, nil
}

func buildTrustStore(id string, spec *schema.TrustStore) (*TrustStore, error) {
	certs, err := ParseTrustStore(spec.CACertificatesBundle)
	if err != nil {
		return nil, fmt.Errorf("trust store %q: caCertificatesBundle: %w", id, err)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return &TrustStore{ID: id, Spec: spec, Pool: pool, Certs: certs}, nil
}

// buildTrustStores parses cfg's trust stores; one whose spec is prev's
// (an unchanged unit) is prev's.
func buildTrustStores(cfg *schema.Config, prev *Table) (map[string]*TrustStore, error) {
	out := make(map[string]*TrustStore, len(cfg.TrustStores))
	for _, id := range sortedKeys(cfg.TrustStores) {
		spec := cfg.TrustStores[id]
		if prev != nil && prev.trustStores[id] != nil && prev.trustStores[id].Spec == spec {
			out[id] = prev.trustStores[id]
			continue
		}
		ts, err := buildTrustStore(id, spec)
		if err != nil {
			return nil, err
		}
		out[id] = ts
	}
	return out, nil
}

// viewerMtls compiles spec's viewerMtlsConfig; nil without one.
func viewerMtls(id string, spec *schema.Distribution, stores map[string]*TrustStore) (*ViewerMtls, error) {
	c := spec.ViewerMtlsConfig
	if c == nil {
		return nil, nil
	}
	m := &ViewerMtls{Mode: c.Mode}
	if c.Mode == MtlsPassthrough {
		return m, nil
	}
	if c.TrustStoreConfig == nil {
		return nil, fmt.Errorf("distribution %q: viewerMtlsConfig: mode %q needs a trustStoreConfig", id, c.Mode)
	}
	ts := c.TrustStoreConfig
	if m.Store = stores[ts.TrustStoreID]; m.Store == nil {
		return nil, fmt.Errorf("distribution %q: viewerMtlsConfig: unknown trust store %q", id, ts.TrustStoreID)
	}
	m.AdvertiseCANames, m.IgnoreExpiry = ts.AdvertiseTrustStoreCaNames, ts.IgnoreCertificateExpiry
	return m, nil
}

// ErrNoClientCertificate is Verify's answer to a handshake without a
// certificate in required mode.
var ErrNoClientCertificate = errors.New("viewer mTLS: the distribution requires a client certificate and the viewer sent none")

// Verify checks the certificates a viewer sent in the handshake (leaf
// first, then any intermediates) at time now: none is an error in
// required mode only; one must chain to the trust store, for client
// authentication, in required and optional. Passthrough takes any: the
// TLS handshake itself proved the viewer holds the leaf's key.
func (m *ViewerMtls) Verify(certs []*x509.Certificate, now time.Time) error {
	if len(certs) == 0 {
		if m.Mode == MtlsRequired {
			return ErrNoClientCertificate
		}
		return nil
	}
	if m.Mode == MtlsPassthrough {
		return nil
	}
	leaf := certs[0]
	opts := x509.VerifyOptions{Roots: m.Store.Pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if len(certs) > 1 {
		opts.Intermediates = x509.NewCertPool()
		for _, c := range certs[1:] {
			opts.Intermediates.AddCert(c)
		}
	}
	if m.IgnoreExpiry {
		// Verified at a time inside the leaf's validity: its expiry no
		// longer matters, its chain and signatures still do.
		if now.After(leaf.NotAfter) {
			opts.CurrentTime = leaf.NotAfter
		} else if now.Before(leaf.NotBefore) {
			opts.CurrentTime = leaf.NotBefore
		}
	}
	if _, err := leaf.Verify(opts); err != nil {
		return fmt.Errorf("viewer mTLS: client certificate %q (serial %x) does not verify against trust store %q: %w", leaf.Subject.String(), leaf.SerialNumber, m.Store.ID, err)
	}
	return nil
}
