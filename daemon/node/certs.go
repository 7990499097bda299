package node

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"

	"openfront.dev/compiler/table"
)

// certStore picks a certificate per TLS handshake: the certificateName of
// the distribution whose alias matches SNI, else the node's default.
type certStore struct {
	dir         string
	defaultCert *tls.Certificate
	table       func() *table.Table

	mu     sync.Mutex
	byName map[string]loadedCert
}

type loadedCert struct {
	cert    *tls.Certificate
	modTime time.Time
}

func newCertStore(dir string, defaultCert *tls.Certificate, t func() *table.Table) *certStore {
	return &certStore{dir: dir, defaultCert: defaultCert, table: t, byName: map[string]loadedCert{}}
}

// errNoHTTP3 refuses a QUIC handshake for a distribution without HTTP/3, so
// the client falls back to TCP.
var errNoHTTP3 = errors.New("this distribution does not serve HTTP/3")

// allowsHTTP3 reports the httpVersion values that include HTTP/3.
func allowsHTTP3(v string) bool { return v == "http3" || v == "http2and3" }

// configForClient is tls.Config.GetConfigForClient: certificate, ALPN and
// minimum version follow the distribution. quic selects the HTTP/3 listener.
func (s *certStore) configForClient(base *tls.Config, quic bool) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		cfg := base.Clone()
		cfg.Certificates = []tls.Certificate{*s.defaultCert}
		t := s.table()
		if t == nil {
			return cfg, nil
		}
		d := t.DistributionForHost(hello.ServerName)
		if d == nil {
			return cfg, nil
		}
		vc := d.Spec.ViewerCertificate
		if vc.CertificateName != "" {
			c, err := s.load(vc.CertificateName)
			if err != nil {
				return nil, err
			}
			cfg.Certificates = []tls.Certificate{*c}
		}
		cfg.MinVersion = minTLSVersion(vc.MinimumProtocolVersion)
		switch {
		case quic:
			if !allowsHTTP3(d.Spec.HTTPVersion) {
				return nil, errNoHTTP3
			}
			cfg.MinVersion = tls.VersionTLS13 // QUIC requires it
		case d.Spec.HTTPVersion == "http1.1" || d.Spec.HTTPVersion == "http3":
			// CloudFront's "http3" pairs HTTP/3 with HTTP/1.1 on TCP.
			cfg.NextProtos = []string{"http/1.1"}
		}
		return cfg, nil
	}
}

// load reads NAME.crt and NAME.key from the certs dir, again when they change.
func (s *certStore) load(name string) (*tls.Certificate, error) {
	crt := filepath.Join(s.dir, name+".crt")
	key := filepath.Join(s.dir, name+".key")
	fi, err := os.Stat(crt)
	if err != nil {
		return nil, fmt.Errorf("certificate %q: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.byName[name]; ok && c.modTime.Equal(fi.ModTime()) {
		return c.cert, nil
	}
	c, err := tls.LoadX509KeyPair(crt, key)
	if err != nil {
		return nil, fmt.Errorf("certificate %q: %w", name, err)
	}
	s.byName[name] = loadedCert{cert: &c, modTime: fi.ModTime()}
	return &c, nil
}

// checkCertificates loads every certificate the table names from dir.
func checkCertificates(t *table.Table, dir string) error {
	var errs []error
	for d := range t.Distributions() {
		name := d.Spec.ViewerCertificate.CertificateName
		if name == "" {
			continue
		}
		if dir == "" {
			errs = append(errs, fmt.Errorf("distribution %q: viewerCertificate.certificateName %q: this node has no --certs directory", d.ID, name))
			continue
		}
		if _, err := tls.LoadX509KeyPair(filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")); err != nil {
			errs = append(errs, fmt.Errorf("distribution %q: viewerCertificate.certificateName %q: %w", d.ID, name, err))
		}
	}
	return errors.Join(errs...)
}

// minTLSVersion maps CloudFront's security policies to a TLS floor.
func minTLSVersion(policy string) uint16 {
	switch policy {
	case "SSLv3", "TLSv1", "TLSv1_2016":
		return tls.VersionTLS10
	case "TLSv1.1_2016":
		return tls.VersionTLS11
	case "TLSv1.3_2025":
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}

// selfSigned makes the node's default certificate when none is given.
func selfSigned(names []string) (*tls.Certificate, string, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, "", err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "openfront self-signed"},
		DNSNames:     names,
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(der)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, hex.EncodeToString(sum[:]), nil
}
