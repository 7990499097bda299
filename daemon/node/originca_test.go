package node

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// serve --origin-ca: the file's CAs verify origins beside the system's;
// a file that is missing or holds no certificate stops the start, named.
func TestOriginRoots(t *testing.T) {
	dir := t.TempDir()
	writeCert(t, dir, "private-ca", "origin.internal")
	os.WriteFile(filepath.Join(dir, "empty.pem"), []byte("not a certificate\n"), 0o644)

	roots, err := originRoots(filepath.Join(dir, "private-ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "private-ca.crt"))
	block, _ := pem.Decode(raw)
	cert, _ := x509.ParseCertificate(block.Bytes)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, DNSName: "origin.internal"}); err != nil {
		t.Errorf("the file's certificate does not verify: %v", err)
	}

	for _, tt := range []struct{ file, want string }{
		{"missing.pem", "no such file"},
		{"empty.pem", "no PEM certificate"},
	} {
		_, err := originRoots(filepath.Join(dir, tt.file))
		if err == nil || !strings.Contains(err.Error(), "--origin-ca") || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v; want an error naming --origin-ca and %q", tt.file, err, tt.want)
		}
	}
}
