package node

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestViewerMtlsHeaders: the origin gets the viewer-mtls-headers.md
// headers its origin request policy names, of the certificate the viewer
// presented: CloudFront-Viewer-Cert-Present 0 and nothing else without one.
func TestViewerMtlsHeaders(t *testing.T) {
	ca := newTestCA(t, "Device CA")
	n := startMtlsNode(t, ca)
	nb, na := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Now().Add(24*time.Hour).UTC().Truncate(time.Second)
	cert := ca.client(t, "device-1", 0x4a3f5c92, nb, na)
	sum := sha256.Sum256(cert.Certificate[0])
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}))
	full := strings.Join([]string{
		"CloudFront-Viewer-Cert-Serial-Number: 4a:3f:5c:92",
		"CloudFront-Viewer-Cert-Issuer: CN=Device CA,O=Example",
		"CloudFront-Viewer-Cert-Subject: CN=device-1,OU=devices",
		"CloudFront-Viewer-Cert-Present: 1",
		"CloudFront-Viewer-Cert-Sha256: " + hex.EncodeToString(sum[:]),
		"CloudFront-Viewer-Cert-Validity: NotBefore=2026-01-02T03:04:05Z;NotAfter=" + na.Format(time.RFC3339),
		"CloudFront-Viewer-Cert-Pem: " + strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D", " ", "%20", "\n", "%0A").Replace(pemText),
	}, "\n") + "\n"
	for _, tt := range []struct {
		dist string
		cert *tls.Certificate
		want string
	}{
		{"req", &cert, full},
		{"opt", &cert, full},
		{"pass", &cert, full},
		{"opt", nil, "CloudFront-Viewer-Cert-Present: 0\n"},
		{"pass", nil, "CloudFront-Viewer-Cert-Present: 0\n"},
		{"plain", &cert, ""}, // no mTLS: no certificate asked for, no headers
		// A viewer-request function sees them all but the PEM, which
		// still reaches the origin.
		{"fn", &cert, full + "X-Function-Saw: cloudfront-viewer-cert-issuer cloudfront-viewer-cert-present cloudfront-viewer-cert-serial-number cloudfront-viewer-cert-sha256 cloudfront-viewer-cert-subject cloudfront-viewer-cert-validity\n"},
	} {
		status, body, err := mtlsGet(t, n, h2, tt.dist+".test", tt.dist+".test", tt.cert)
		if err != nil || status != 200 || body != tt.want {
			t.Errorf("%s (certificate %v): %d %v, the origin got\n%s\nwant\n%s", tt.dist, tt.cert != nil, status, err, body, tt.want)
		}
	}
	// The PEM header decodes back to the certificate.
	_, body, _ := mtlsGet(t, n, h1tls, "req.test", "req.test", &cert)
	for _, line := range strings.Split(body, "\n") {
		if v, ok := strings.CutPrefix(line, "CloudFront-Viewer-Cert-Pem: "); ok {
			if dec, err := url.PathUnescape(v); err != nil || dec != pemText {
				t.Errorf("CloudFront-Viewer-Cert-Pem decodes to %q, %v", dec, err)
			}
		}
	}
}
