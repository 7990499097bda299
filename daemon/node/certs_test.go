package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCertificatesCheckedBeforeApply: a config naming a certificate the
// node cannot load is refused, at start and on reload, and the running
// config keeps serving.
func TestCertificatesCheckedBeforeApply(t *testing.T) {
	dir, certs := t.TempDir(), t.TempDir()
	conf := func(name string) []byte {
		return []byte(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "o", domainName: "o.example", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "o", viewerProtocolPolicy: "allow-all"}
	viewerCertificate: certificateName: "` + name + `"
}
`)
	}
	write := func(name string) {
		if err := os.WriteFile(filepath.Join(dir, "main.cue"), conf(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	opts := Options{ConfigDir: dir, HTTPSAddr: "127.0.0.1:0", CertsDir: certs, Logger: testLogger(t)}

	write("missing")
	if _, err := Start(opts); err == nil || !strings.Contains(err.Error(), `certificateName "missing"`) {
		t.Fatalf("Start with a missing certificate: %v, want an error naming it", err)
	}
	// Without --certs the error says what to give: the directory and its
	// files, or no TLS listener.
	noCerts := opts
	noCerts.CertsDir = ""
	if _, err := Start(noCerts); err == nil || !strings.Contains(err.Error(), "--certs DIR holding missing.crt and missing.key") || !strings.Contains(err.Error(), "--https ''") {
		t.Fatalf("Start without --certs: %v, want an error naming --certs DIR, the files and --https ''", err)
	}

	writeCert(t, certs, "site", "site.test")
	write("site")
	n, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown(context.Background())
	version := n.Table().Version()

	write("missing")
	err = n.Reload()
	if err == nil || !strings.Contains(err.Error(), `certificateName "missing"`) {
		t.Fatalf("reload with a missing certificate: %v, want an error naming it", err)
	}
	if n.Table().Version() != version {
		t.Error("the config naming a missing certificate replaced the running one")
	}
	if st := n.ConfigStatus(); !st.Failing || st.LastError == nil {
		t.Errorf("status does not show the rejected config: %+v", st)
	}

	// The certificate copied into --certs: the refused config is applied
	// at once, with no reload and before any rehash.
	time.Sleep(500 * time.Millisecond) // past the watcher's debounce of the config's write
	writeCert(t, certs, "missing", "site.test")
	deadline := time.Now().Add(5 * time.Second)
	for n.ConfigStatus().Failing {
		if time.Now().After(deadline) {
			t.Fatal("the config is still refused 5s after its certificate was copied into --certs")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if n.Table().Version() == version {
		t.Error("the config naming the certificate copied in is not served")
	}
}

// TestCertificateReplacedOnDisk: a certificate whose files are replaced
// is served to new connections within certCheckInterval, with no config
// reload; a broken replacement leaves the last good one served.
func TestCertificateReplacedOnDisk(t *testing.T) {
	dir, certs := t.TempDir(), t.TempDir()
	writeCert(t, certs, "site", "site.test")
	conf := `package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "o", domainName: "o.example", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "o", viewerProtocolPolicy: "allow-all"}
	viewerCertificate: certificateName: "site"
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n := startWith(t, Options{ConfigDir: dir, HTTPSAddr: "127.0.0.1:0", CertsDir: certs, Logger: testLogger(t), CacheBodyDir: t.TempDir()})
	served := func() []byte {
		t.Helper()
		c, err := tls.Dial("tcp", n.Addr("https").String(), &tls.Config{ServerName: "site.test", InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Raw
	}
	old := served()

	writeCert(t, certs, "site", "site.test")
	replaced := time.Now()
	deadline := replaced.Add(certCheckInterval + 2*time.Second)
	for bytes.Equal(served(), old) {
		if time.Now().After(deadline) {
			t.Fatalf("the replaced certificate is still served %v after", time.Since(replaced))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("new certificate served %v after it was written", time.Since(replaced))
	current := served()

	if err := os.WriteFile(filepath.Join(certs, "site.crt"), []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(certCheckInterval + 100*time.Millisecond)
	for range 2 { // the first handshake after the interval reads the file
		if !bytes.Equal(served(), current) {
			t.Fatal("a broken certificate file replaced the one served")
		}
	}
}

// TestDefaultCertificateReplacedOnDisk: --tls-cert is checked on disk as
// --certs' are: a renewed default certificate is served to viewers without
// SNI (and of hosts with no certificate of their own) within a second,
// without a restart; a broken one leaves the last good one served.
func TestDefaultCertificateReplacedOnDisk(t *testing.T) {
	dir, certs := t.TempDir(), t.TempDir()
	writeCert(t, certs, "default", "edge.example")
	crt, key := filepath.Join(certs, "default.crt"), filepath.Join(certs, "default.key")
	conf := `package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "o", domainName: "o.example", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "o", viewerProtocolPolicy: "allow-all"}
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	n := startWith(t, Options{ConfigDir: dir, HTTPSAddr: "127.0.0.1:0", TLSCertFile: crt, TLSKeyFile: key,
		Logger: testLogger(t), CacheBodyDir: t.TempDir()})
	served := func() []byte {
		t.Helper()
		c, err := tls.Dial("tcp", n.Addr("https").String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Raw
	}
	old := served()
	writeCert(t, certs, "default", "edge.example")
	replaced := time.Now()
	for bytes.Equal(served(), old) {
		if time.Since(replaced) > certCheckInterval+2*time.Second {
			t.Fatalf("the replaced default certificate is still served %v after", time.Since(replaced))
		}
		time.Sleep(50 * time.Millisecond)
	}
	current := served()
	if err := os.WriteFile(crt, []byte("not a certificate"), 0o644); err != nil {
		t.Fatal(err)
	}
	time.Sleep(certCheckInterval + 100*time.Millisecond)
	for range 2 {
		if !bytes.Equal(served(), current) {
			t.Fatal("a broken default certificate file replaced the one served")
		}
	}
}

// TestCertificateErrorNamesTheFile: a certificate that does not load is
// refused naming the file at fault, as nginx does (cannot load
// certificate "/etc/ssl/x.crt"): Go's own messages say only "certificate
// input" or "key input", and "does not match" names neither.
func TestCertificateErrorNamesTheFile(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir, "good", "good.test")
	writeCert(t, dir, "other", "other.test")
	crt, key := filepath.Join(dir, "x.crt"), filepath.Join(dir, "x.key")
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, c := range []struct {
		name     string
		crt, key []byte
		want     []string // in the error
	}{
		{"certificate not PEM", []byte("not a certificate"), read("good.key"), []string{crt}},
		{"key not PEM", read("good.crt"), []byte("not a key"), []string{key}},
		{"files swapped", read("good.key"), read("good.crt"), []string{crt}},
		{"key of another certificate", read("good.crt"), read("other.key"), []string{crt, key}},
		{"empty certificate", nil, read("good.key"), []string{crt}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := os.WriteFile(crt, c.crt, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(key, c.key, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := loadViewerCert(crt, key)
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%v: does not name %s", err, w)
				}
			}
		})
	}
}
