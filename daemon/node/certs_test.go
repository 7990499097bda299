package node

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
}
