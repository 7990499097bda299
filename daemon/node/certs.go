package node

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go/http3"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/filestamp"
	"openfront.dev/internal/tlsfp"
)

// certStore picks a certificate per TLS handshake: the certificateName of
// the distribution whose alias matches SNI, else the node's default. The
// TLS settings of each security policy are built once, in newCertStore,
// and each distribution's when a table is first seen (tlsView): a
// handshake looks its distribution up once and only picks one.
type certStore struct {
	dir         string
	defaultCert *certFile // --tls-cert, or the self-signed one
	table       func() *table.Table
	log         *slog.Logger

	// tcp holds, per security policy, the configs offering h2 and
	// http/1.1 or http/1.1 only; quic is the HTTP/3 listener's, noH3
	// its refusal (refuseH3). All present the default certificate.
	tcp        map[string]alpnConfigs
	quic, noH3 *tls.Config

	// tickets seals the sessions of viewer mTLS handshakes (withMtls),
	// with keys Go rotates as it does the listener's.
	tickets *tls.Config

	view  atomic.Pointer[tlsView]
	mu    sync.Mutex           // serialises building views
	files map[string]*certFile // by certificateName, kept from view to view
}

type alpnConfigs struct{ h2, h1 *tls.Config }

// tlsView is the TLS settings of each distribution of one table.
type tlsView struct {
	table *table.Table
	dists map[*table.Distribution]distTLS
}

// distTLS is a distribution's configs: its security policy's, on its
// certificate.
type distTLS struct {
	tcp        alpnConfigs
	quic, noH3 *tls.Config
}

func newCertStore(dir string, defaultCert *certFile, t func() *table.Table, log *slog.Logger) *certStore {
	s := &certStore{dir: dir, defaultCert: defaultCert, table: t, log: log, files: map[string]*certFile{}, tcp: map[string]alpnConfigs{}, tickets: &tls.Config{}}
	for i, name := range securityPolicies {
		cfg := func(protos ...string) *tls.Config {
			return &tls.Config{MinVersion: policyMinVersion(i), CipherSuites: policyCipherSuites(i),
				CurvePreferences: viewerKeyExchanges, NextProtos: protos, GetCertificate: defaultCert.get}
		}
		s.tcp[name] = alpnConfigs{h2: cfg("h2", "http/1.1"), h1: cfg("http/1.1")}
	}
	// QUIC is TLS 1.3 only, whose cipher suites Go does not let us choose.
	// The listener's config is used as is (not http3.ConfigureTLSConfig,
	// which would offer h3 in noH3 too).
	s.quic = &tls.Config{MinVersion: tls.VersionTLS13, CurvePreferences: viewerKeyExchanges, NextProtos: []string{http3.NextProtoH3}, GetCertificate: defaultCert.get}
	s.noH3 = refuseH3(s.quic)
	return s
}

// refuseH3 is cfg offering no application protocol: a QUIC handshake on
// it fails with the no_application_protocol alert (CRYPTO_ERROR 0x178,
// RFC 9001 8.1), which tells a client "no h3 for this name" where an
// error from GetConfigForClient would be internal_error (0x150). Its
// only protocol is the empty one, which no ClientHello can offer.
func refuseH3(cfg *tls.Config) *tls.Config {
	cfg = cfg.Clone()
	cfg.NextProtos = []string{""}
	return cfg
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
// (versions and cipher suites), ALPN and certificate follow the
// distribution SNI names. quic selects the HTTP/3 listener.
func (s *certStore) configForClient(quic bool) func(*tls.ClientHelloInfo) (*tls.Config, error) {
	return func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		tlsfp.Capture(hello, quic)
		d, c := s.distribution(hello.ServerName)
		if !quic {
			if h := tlsfp.HelloOf(hello); h != nil {
				// What this handshake checks of the client certificate:
				// the requests on it are refused for a host that needs
				// more (mtlsMisdirected). None: no record.
				if c, ok := mtlsCheckOf(d); ok {
					h.SetChecked(c)
				}
			}
		}
		if d != nil && d.Spec.ViewerCertificate.MinimumProtocolVersion == tls13OnlyPolicy && slices.Contains(hello.SupportedVersions, tls.VersionTLS13) && !offersTLS13AESGCM(hello.CipherSuites) {
			s.log.Debug("TLS handshake refused", "sni", hello.ServerName, "err", errNoPolicyCipher)
			return nil, errNoPolicyCipher
		}
		if quic {
			var why error
			switch {
			case hello.ServerName == "":
				why = errNoSNI
			case d != nil && !d.ServesHTTP3():
				why = errNoHTTP3
			default:
				return c.quic, nil
			}
			s.log.Debug("HTTP/3 handshake refused", "sni", hello.ServerName, "err", why)
			return c.noH3, nil
		}
		// HTTP/2 needs SNI and TLS 1.2: offer it to others and net/http
		// would refuse the connection (INADEQUATE_SECURITY) rather than
		// fall back to HTTP/1.1.
		if hello.ServerName != "" && offersTLS12(hello.SupportedVersions) && (d == nil || d.ServesHTTP2()) {
			return c.tcp.h2, nil
		}
		return c.tcp.h1, nil
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

// distribution is the distribution whose alias sni names, if any, and
// its configs (the default policy's for none).
func (s *certStore) distribution(sni string) (*table.Distribution, distTLS) {
	if sni != "" {
		if v := s.current(); v != nil {
			if d := v.table.DistributionForHost(sni); d != nil {
				return d, v.dists[d]
			}
		}
	}
	return nil, distTLS{tcp: s.tcp[defaultCertPolicy], quic: s.quic, noH3: s.noH3}
}

// current is the view of the table being served, built on the first
// handshake that sees a new table; nil without a table.
func (s *certStore) current() *tlsView {
	t := s.table()
	if v := s.view.Load(); v == nil || v.table != t {
		s.prepare(t)
	}
	return s.view.Load()
}

// prepare builds the view of t unless it is the current one. A
// certificate that fails to load fails its distribution's handshakes (a
// table is applied after checkCertificates, so only if it went since).
func (s *certStore) prepare(t *table.Table) {
	if t == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v := s.view.Load(); v != nil && v.table == t {
		return
	}
	v := &tlsView{table: t, dists: map[*table.Distribution]distTLS{}}
	type key struct{ policy, cert string }
	shared := map[key]distTLS{}
	files := map[string]*certFile{}
	for d := range t.Distributions() {
		name := certificateName(d)
		c, ok := distTLS{tcp: s.policy(d), quic: s.quic, noH3: s.noH3}, true
		if name != "" {
			c, ok = shared[key{d.Spec.ViewerCertificate.MinimumProtocolVersion, name}]
		}
		if !ok {
			f := s.files[name]
			if f == nil {
				f = newCertFile(s.dir, name, s.log)
			}
			files[name] = f
			on := func(cfg *tls.Config) *tls.Config {
				cfg = cfg.Clone()
				cfg.Certificates, cfg.GetCertificate = nil, f.get
				return cfg
			}
			p := s.policy(d)
			c = distTLS{tcp: alpnConfigs{h2: on(p.h2), h1: on(p.h1)}, quic: on(s.quic), noH3: on(s.noH3)}
			shared[key{d.Spec.ViewerCertificate.MinimumProtocolVersion, name}] = c
		}
		if d.Mtls != nil {
			// Its own TCP configs; HTTP/3 it never serves (vet refuses
			// viewer mTLS with http3, as CloudFront does).
			tag := mtlsTag(d)
			c.tcp = alpnConfigs{h2: s.withMtls(c.tcp.h2, d.Mtls, tag), h1: s.withMtls(c.tcp.h1, d.Mtls, tag)}
		}
		v.dists[d] = c
	}
	// Certificates no distribution names any more are forgotten.
	s.files = files
	s.view.Store(v)
}

// certificateOf is the certificate a handshake for d presents: its
// certificateName, else (also for a nil d) the default.
func (s *certStore) certificateOf(d *table.Distribution) (*tls.Certificate, error) {
	name := certificateName(d)
	if name == "" {
		return s.defaultCert.get(nil)
	}
	s.mu.Lock()
	f := s.files[name]
	s.mu.Unlock()
	if f == nil { // d is of a table the node has not served
		f = newCertFile(s.dir, name, s.log)
	}
	return f.get(nil)
}

// tls13OnlyPolicy is the security policy whose TLS 1.3 suites are the
// AES-GCM ones only: CloudFront's table ("Supported protocols and ciphers
// between viewers and CloudFront") leaves TLS_CHACHA20_POLY1305_SHA256 out
// of TLSv1.3_2025 alone. Go does not let a tls.Config choose TLS 1.3
// suites, so a TLS 1.3 ClientHello offering neither AES-GCM suite is
// refused here (one without TLS 1.3 gets Go's protocol_version alert).
const tls13OnlyPolicy = "TLSv1.3_2025"

var errNoPolicyCipher = errors.New("the client offers no TLS 1.3 cipher suite of security policy " + tls13OnlyPolicy + " (TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384)")

func offersTLS13AESGCM(suites []uint16) bool {
	for _, id := range suites {
		if id == tls.TLS_AES_128_GCM_SHA256 || id == tls.TLS_AES_256_GCM_SHA384 {
			return true
		}
	}
	return false
}

func offersTLS12(versions []uint16) bool {
	for _, v := range versions {
		if v >= tls.VersionTLS12 {
			return true
		}
	}
	return false
}

// certCheckInterval is how often a certificate's files are looked at for a
// new version: a certificate replaced on disk is served to new
// connections within it, and a handshake makes no syscall of its own.
const certCheckInterval = time.Second

// certFile is NAME.crt and NAME.key of the certs dir, read again when
// their stamps change. A new version that fails to load (a half-written
// pair, a missing file) leaves the last good one in use.
type certFile struct {
	name, crt, key string
	log            *slog.Logger
	start          time.Time    // checked counts from it: a monotonic clock
	checked        atomic.Int64 // ns since start of the last look

	loaded  atomic.Pointer[certVersion]
	mu      sync.Mutex // one reload at a time; guards failing and failed
	failing bool
	failed  [2]filestamp.Stamp // of the last version that failed to load
}

// certVersion is what a handshake presents: cert, else err when no
// version ever loaded.
type certVersion struct {
	cert  *tls.Certificate
	err   error
	stamp [2]filestamp.Stamp
}

func newCertFile(dir, name string, log *slog.Logger) *certFile {
	return newCertFiles(name, filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key"), log)
}

// newCertFiles is the certificate in the files crt and key, loaded now
// and again when they change; name is what logs call it.
func newCertFiles(name, crt, key string, log *slog.Logger) *certFile {
	f := &certFile{name: name, crt: crt, key: key, log: log, start: time.Now()}
	f.loaded.Store(&certVersion{err: fmt.Errorf("certificate %q: not loaded", name)})
	f.mu.Lock()
	f.reload()
	f.mu.Unlock()
	return f
}

// fixedCert is a certificate no file holds (the self-signed default): it
// never changes.
func fixedCert(c *tls.Certificate) *certFile {
	f := &certFile{}
	f.loaded.Store(&certVersion{cert: c})
	return f
}

// get is tls.Config.GetCertificate; it looks at the files once per
// certCheckInterval at most, the first handshake after it doing so.
func (f *certFile) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	if f.crt == "" {
		return f.loaded.Load().cert, nil // fixedCert
	}
	now := int64(time.Since(f.start))
	if last := f.checked.Load(); now-last >= int64(certCheckInterval) && f.checked.CompareAndSwap(last, now) {
		f.mu.Lock()
		f.reload()
		f.mu.Unlock()
	}
	v := f.loaded.Load()
	return v.cert, v.err
}

// reload reads the files if their stamps changed since the version in
// use and since the last version that failed. f.mu is held.
func (f *certFile) reload() {
	st, err := f.stamps()
	if err == nil && st == f.loaded.Load().stamp {
		return
	}
	if f.failing && st == f.failed {
		return // the same broken version: its writer may not be done
	}
	if err == nil {
		var c tls.Certificate
		if c, err = loadViewerCert(f.crt, f.key); err == nil {
			if f.loaded.Swap(&certVersion{cert: &c, stamp: st}).cert != nil {
				f.log.Info("certificate reloaded", "certificate", f.name)
			}
			f.failing = false
			return
		}
	}
	f.failing, f.failed = true, st
	err = fmt.Errorf("certificate %q: %w", f.name, err)
	if f.loaded.Load().cert != nil {
		f.log.Warn("certificate not reloaded: the last version loaded is still served", "err", err)
		return
	}
	f.loaded.Store(&certVersion{err: err})
	f.log.Error("certificate not loaded: its distributions' handshakes fail", "err", err)
}

// stamps are the stamps of the .crt and .key files; a file that cannot
// be looked at has size -1, so that its failure is not logged again.
func (f *certFile) stamps() ([2]filestamp.Stamp, error) {
	var st [2]filestamp.Stamp
	for i, path := range []string{f.crt, f.key} {
		fi, err := os.Stat(path)
		if err != nil {
			st[i].Size = -1
			return st, err
		}
		st[i] = filestamp.Of(fi)
	}
	return st, nil
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
			errs = append(errs, fmt.Errorf("distribution %q: viewerCertificate.certificateName %q: this node has no --certs directory: start it with --certs DIR holding %s.crt and %s.key, or with --https '' to serve no TLS", d.ID, name, name, name))
			continue
		}
		if _, err := loadViewerCert(filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")); err != nil {
			errs = append(errs, fmt.Errorf("distribution %q: viewerCertificate.certificateName %q: %w", d.ID, name, err))
		}
	}
	return errors.Join(errs...)
}

// maxRSABits is the largest RSA key CloudFront takes in a viewer
// certificate (cnames-and-https-size-of-public-key: "the maximum size of
// the public key in an SSL/TLS RSA certificate is 4096 bits").
const maxRSABits = 4096

// loadViewerCert is tls.LoadX509KeyPair, refusing a key CloudFront does
// not take in a viewer certificate (cnames-and-https-requirements: RSA or
// ECDSA, the ECDSA ones on P-256 or P-384): browsers take no Ed25519
// certificate, and few a P-521 one, so a node serving it would fail their
// handshakes where CloudFront refuses it at import.
func loadViewerCert(crt, key string) (tls.Certificate, error) {
	crtPEM, err := os.ReadFile(crt) // its errors name the file
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := os.ReadFile(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	c, err := tls.X509KeyPair(crtPEM, keyPEM)
	if err != nil {
		// Go says "certificate input" or "key input", or nothing of which
		// (a key that does not match): name the file, as nginx does.
		switch msg := err.Error(); {
		case strings.Contains(msg, "certificate input"):
			return c, fmt.Errorf("%s: %w", crt, err)
		case strings.Contains(msg, "key input"):
			return c, fmt.Errorf("%s: %w", key, err)
		}
		return c, fmt.Errorf("%s and %s: %w", crt, key, err)
	}
	if c.Leaf == nil { // GODEBUG=x509keypairleaf=0
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return tls.Certificate{}, fmt.Errorf("%s: %w", crt, err)
		}
	}
	switch pub := c.Leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		if n := pub.N.BitLen(); n > maxRSABits {
			return tls.Certificate{}, fmt.Errorf("%s: an RSA key of %d bits; CloudFront takes RSA keys of at most %d bits", crt, n, maxRSABits)
		}
	case *ecdsa.PublicKey:
		if pub.Curve != elliptic.P256() && pub.Curve != elliptic.P384() {
			return tls.Certificate{}, fmt.Errorf("%s: an ECDSA %s key; CloudFront takes ECDSA keys on P-256 or P-384 (openssl ecparam -name prime256v1), or RSA", crt, pub.Curve.Params().Name)
		}
	case ed25519.PublicKey:
		return tls.Certificate{}, fmt.Errorf("%s: an Ed25519 key, which browsers do not take; CloudFront takes RSA or ECDSA P-256 or P-384 keys", crt)
	default:
		return tls.Certificate{}, fmt.Errorf("%s: a %T key; CloudFront takes RSA or ECDSA P-256 or P-384 keys", crt, pub)
	}
	return c, nil
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

// viewerKeyExchanges are the key exchanges CloudFront offers viewers
// ("Supported protocols and ciphers between viewers and CloudFront":
// prime256v1, X25519 and secp384r1, and hybrid post-quantum ones): Go's
// defaults but P-521, which a viewer offering nothing else is refused.
var viewerKeyExchanges = []tls.CurveID{tls.X25519MLKEM768, tls.SecP256r1MLKEM768, tls.SecP384r1MLKEM1024,
	tls.X25519, tls.CurveP256, tls.CurveP384}

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
