package table

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"

	"openfront.dev/schema"
)

// issue makes a certificate for cn signed by parent (self-signed when
// nil), valid from nb to na; it returns the certificate and its key.
func issue(t *testing.T, cn string, ca bool, nb, na time.Time, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, NotBefore: nb, NotAfter: na,
		IsCA: ca, BasicConstraintsValid: true, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	if ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, key.Public(), parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}

func pemOf(cs ...*x509.Certificate) string {
	var out []byte
	for _, c := range cs {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	return string(out)
}

// TestViewerMtlsVerify: what each mode takes (mtls-validation-modes.md),
// a chain through an intermediate the viewer sends, and
// ignoreCertificateExpiry taking a certificate outside its validity but
// not one of another CA.
func TestViewerMtlsVerify(t *testing.T) {
	now := time.Now()
	year := 365 * 24 * time.Hour
	root, rootKey := issue(t, "Root", true, now.Add(-year), now.Add(year), nil, nil)
	inter, interKey := issue(t, "Intermediate", true, now.Add(-year), now.Add(year), root, rootKey)
	other, otherKey := issue(t, "Other", true, now.Add(-year), now.Add(year), nil, nil)
	leaf, _ := issue(t, "leaf", false, now.Add(-time.Hour), now.Add(time.Hour), inter, interKey)
	expired, _ := issue(t, "expired", false, now.Add(-48*time.Hour), now.Add(-24*time.Hour), root, rootKey)
	foreign, _ := issue(t, "foreign", false, now.Add(-time.Hour), now.Add(time.Hour), other, otherKey)
	store, err := buildTrustStore("devices", &schema.TrustStore{CACertificatesBundle: pemOf(root)})
	if err != nil {
		t.Fatal(err)
	}
	chain := []*x509.Certificate{leaf, inter}
	for _, tt := range []struct {
		name  string
		m     ViewerMtls
		certs []*x509.Certificate
		ok    bool
	}{
		{"required, none", ViewerMtls{Mode: MtlsRequired, Store: store}, nil, false},
		{"required, chain", ViewerMtls{Mode: MtlsRequired, Store: store}, chain, true},
		{"required, leaf without its intermediate", ViewerMtls{Mode: MtlsRequired, Store: store}, chain[:1], false},
		{"required, other CA", ViewerMtls{Mode: MtlsRequired, Store: store}, []*x509.Certificate{foreign}, false},
		{"required, expired", ViewerMtls{Mode: MtlsRequired, Store: store}, []*x509.Certificate{expired}, false},
		{"required, expired, ignoreCertificateExpiry", ViewerMtls{Mode: MtlsRequired, Store: store, IgnoreExpiry: true}, []*x509.Certificate{expired}, true},
		{"required, other CA, ignoreCertificateExpiry", ViewerMtls{Mode: MtlsRequired, Store: store, IgnoreExpiry: true}, []*x509.Certificate{foreign}, false},
		{"optional, none", ViewerMtls{Mode: MtlsOptional, Store: store}, nil, true},
		{"optional, other CA", ViewerMtls{Mode: MtlsOptional, Store: store}, []*x509.Certificate{foreign}, false},
		{"passthrough, other CA", ViewerMtls{Mode: MtlsPassthrough}, []*x509.Certificate{foreign}, true},
		{"passthrough, none", ViewerMtls{Mode: MtlsPassthrough}, nil, true},
	} {
		err := tt.m.Verify(tt.certs, now)
		if (err == nil) != tt.ok {
			t.Errorf("%s: %v, want ok %v", tt.name, err, tt.ok)
		}
		if tt.name == "required, none" && !errors.Is(err, ErrNoClientCertificate) {
			t.Errorf("%s: %v, want ErrNoClientCertificate", tt.name, err)
		}
	}
}

// TestViewerMtlsRebuild: a distribution whose trust store changes is
// rebuilt with the new one, though its own spec is the same; one whose
// store is the same keeps the parsed store.
func TestViewerMtlsRebuild(t *testing.T) {
	now := time.Now()
	a, _ := issue(t, "A", true, now.Add(-time.Hour), now.Add(time.Hour), nil, nil)
	b, _ := issue(t, "B", true, now.Add(-time.Hour), now.Add(time.Hour), nil, nil)
	d := dist([]string{"api.example.com"})
	d.DefaultCacheBehavior.ViewerProtocolPolicy = "https-only"
	d.ViewerMtlsConfig = &schema.ViewerMtlsConfig{Mode: MtlsRequired, TrustStoreConfig: &schema.TrustStoreConfig{TrustStoreID: "devices"}}
	cfg := func(bundle string) *schema.Config {
		return &schema.Config{Distributions: map[string]*schema.Distribution{"api": d},
			TrustStores: map[string]*schema.TrustStore{"devices": {CACertificatesBundle: bundle}}}
	}
	t1, err := Build(cfg(pemOf(a)), Source{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	c2 := cfg(pemOf(b))
	t2, err := Build(c2, Source{}, t1)
	if err != nil {
		t.Fatal(err)
	}
	if got := t2.dists["api"].Mtls.Store.Certs; len(got) != 1 || got[0].Subject.CommonName != "B" {
		t.Fatalf("after the trust store changed, the distribution verifies against %v, want B", got)
	}
	if t1.Version() == t2.Version() {
		t.Error("the table version did not change with the trust store")
	}
	t3, err := Build(&schema.Config{Distributions: c2.Distributions, TrustStores: c2.TrustStores}, Source{}, t2)
	if err != nil {
		t.Fatal(err)
	}
	if t3.dists["api"] != t2.dists["api"] {
		t.Error("an unchanged distribution and trust store were rebuilt")
	}
}
