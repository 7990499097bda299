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
	"openfront.dev/internal/tlsfp"
)

// certStore picks a certificate per TLS handshake: the certificateName of
// the distribution whose alias matches SNI, else the node's default. The
// TLS settings of each security policy are built once, in newCertStore:
// a handshake only picks one.
type certStore struct {
	dir         string
	defaultCert *tls.Certificate
	table       func() *table.Table

	// tcp holds, per security policy, the configs offering h2 and
	// http/1.1 or http/1.1 only; quic is the HTTP/3 listener's.
	tcp  map[string]alpnConfigs
	quic *tls.Config

	mu     sync.Mutex
	byName map[string]loadedCert
}

type alpnConfigs struct{ h2, h1 *tls.Config }

type loadedCert struct {
	cert    *tls.Certificate
	modTime time.Time
}

func newCertStore(dir string, defaultCert *tls.Certificate, t func() *table.Table) *certStore {
	s := &certStore{dir: dir, defaultCert: defaultCert, table: t, byName: map[string]loadedCert{}, tcp: map[string]alpnConfigs{}}
	for i, name := range securityPolicies {
		cfg := func(protos ...string) *tls.Config {
			return &tls.Config{MinVersion: policyMinVersion(i), CipherSuites: policyCipherSuites(i),
				NextProtos: protos, GetCertificate: s.certificate}
		}
		s.tcp[name] = alpnConfigs{h2: cfg("h2", "http/1.1"), h1: cfg("http/1.1")}
	}
	// QUIC is TLS 1.3 only, whose cipher suites Go does not let us choose.
	s.quic = &tls.Config{MinVersion: tls.VersionTLS13, GetCertificate: s.certificate}
	return s
}

// errNoHTTP3 refuses a QUIC handshake for a distribution without HTTP/3, so
// the client falls back to TCP.
var errNoHTTP3 = errors.New("this distribution does not serve HTTP/3")

// errNoSNI refuses a QUIC handshake without SNI: CloudFront's HTTP/3
// needs it, as its HTTP/2 does.
var errNoSNI = errors.New("HTTP/3 needs SNI")

// defaultCertPolicy is the security policy for viewers without SNI or with
// a name no distribution has. CloudFront uses TLSv1 with its shared
// *.cloudfront.net certificate, also for a distribution on that
// certificate whatever its minimumProtocolVersion; here the default
// certificate is the operator's own, so a distribution's
// minimumProtocolVersion holds on it too, and viewers of no distribution
// get the schema's default policy rather than TLS 1.0.
const defaultCertPolicy = "TLSv1.2_2021"

// configForClient is tls.Config.GetConfigForClient: the security policy
// (versions and cipher suites) and ALPN follow the distribution SNI names,
// and s.certificate its certificate. quic selects the HTTP/3 listener.
func (s *certStore) configForClient(quic bool) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		tlsfp.Capture(hello, quic)
		d := s.distribution(hello)
		if quic {
			if hello.ServerName == "" {
				return nil, errNoSNI
			}
			if d != nil && !d.ServesHTTP3() {
				return nil, errNoHTTP3
			}
			return s.quic, nil
		}
		// HTTP/2 needs SNI and TLS 1.2: offer it to others and net/http
		// would refuse the connection (INADEQUATE_SECURITY) rather than
		// fall back to HTTP/1.1.
		h2 := hello.ServerName != "" && offersTLS12(hello.SupportedVersions) && (d == nil || d.ServesHTTP2())
		c := s.policy(d)
		if h2 {
			return c.h2, nil
		}
		return c.h1, nil
	}
}

// policy is the TLS settings of d's security policy; of the default
// policy for a nil d (no SNI, or a name no distribution has).
func (s *certStore) policy(d *table.Distribution) alpnConfigs {
	if d != nil {
		if c, ok := s.tcp[d.Spec.ViewerCertificate.MinimumProtocolVersion]; ok {
			return c
		}
	}
	return s.tcp[defaultCertPolicy]
}

// distribution is the distribution whose alias SNI names, if any.
func (s *certStore) distribution(hello *tls.ClientHelloInfo) *table.Distribution {
	if hello.ServerName == "" {
		return nil
	}
	t := s.table()
	if t == nil {
		return nil
	}
	return t.DistributionForHost(hello.ServerName)
}

// certificate is tls.Config.GetCertificate: the certificateName of the
// distribution SNI names, else the default certificate.
func (s *certStore) certificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	return s.certificateOf(s.distribution(hello))
}

// certificateOf is the certificate a handshake for d presents: its
// certificateName, else (also for a nil d) the default.
func (s *certStore) certificateOf(d *table.Distribution) (*tls.Certificate, error) {
	if name := certificateName(d); name != "" {
		return s.load(name)
	}
	return s.defaultCert, nil
}

func offersTLS12(versions []uint16) bool {
	for _, v := range versions {
		if v >= tls.VersionTLS12 {
			return true
		}
	}
	return false
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

// securityPolicies are CloudFront's viewer security policies, oldest first:
// each allows the TLS versions and cipher suites of the next and more.
var securityPolicies = [...]string{"SSLv3", "TLSv1", "TLSv1_2016", "TLSv1.1_2016",
	"TLSv1.2_2018", "TLSv1.2_2019", "TLSv1.2_2021", "TLSv1.2_2025", "TLSv1.3_2025"}

// policyMinVersion is the lowest TLS version of securityPolicies[i]. Go
// has no SSLv3: the SSLv3 policy starts at TLS 1.0.
func policyMinVersion(i int) uint16 {
	switch {
	case i <= 2:
		return tls.VersionTLS10
	case i == 3:
		return tls.VersionTLS11
	case i == 8:
		return tls.VersionTLS13
	}
	return tls.VersionTLS12
}

// policySuites is CloudFront's table of TLS 1.0-1.2 cipher suites (see
// "Supported protocols and ciphers between viewers and CloudFront"): each
// is allowed by securityPolicies[0] up to securityPolicies[upTo]. Go lacks
// ECDHE-*-AES256-SHA384 and RC4-MD5 (SSLv3 policy).
var policySuites = []struct {
	id   uint16
	upTo int
}{
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, 7},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, 5},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, 3},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, 7},
	{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, 6},
	{tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, 3},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, 7},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, 5},
	{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, 3},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, 7},
	{tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, 6},
	{tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, 3},
	{tls.TLS_RSA_WITH_AES_128_GCM_SHA256, 4},
	{tls.TLS_RSA_WITH_AES_256_GCM_SHA384, 4},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA256, 4},
	{tls.TLS_RSA_WITH_AES_256_CBC_SHA, 3},
	{tls.TLS_RSA_WITH_AES_128_CBC_SHA, 3},
	{tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, 1},
}

// policyCipherSuites lists the TLS 1.0-1.2 suites of securityPolicies[i];
// TLS 1.3's are Go's own.
func policyCipherSuites(i int) []uint16 {
	var ids []uint16
	for _, s := range policySuites {
		if i <= s.upTo {
			ids = append(ids, s.id)
		}
	}
	return ids
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
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(der)
	// Leaf, as tls.LoadX509KeyPair fills it: misdirected checks the names.
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, hex.EncodeToString(sum[:]), nil
}
