package node

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestViewerMtlsHeaders: the origin gets the viewer-mtls-headers.md
// headers its origin request policy names, of the certificate the viewer
// presented: CloudFront-Viewer-Cert-Present 0 and nothing else without one.
// Passthrough sends the certificate as RFC 9440's Client-Cert (and the
// rest of what the viewer sent as Client-Cert-Chain) where the others
// send CloudFront-Viewer-Cert-Pem; a viewer's own Client-Cert never
// passes.
func TestViewerMtlsHeaders(t *testing.T) {
	ca := newTestCA(t, "Device CA")
	n := startMtlsNode(t, ca)
	nb, na := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), time.Now().Add(24*time.Hour).UTC().Truncate(time.Second)
	cert := ca.client(t, "device-1", 0x4a3f5c92, nb, na)
	withChain := cert
	withChain.Certificate = [][]byte{cert.Certificate[0], ca.cert.Raw}
	sum := sha256.Sum256(cert.Certificate[0])
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}))
	fields := strings.Join([]string{
		"CloudFront-Viewer-Cert-Serial-Number: 4a:3f:5c:92",
		"CloudFront-Viewer-Cert-Issuer: CN=Device CA,O=Example",
		"CloudFront-Viewer-Cert-Subject: CN=device-1,OU=devices",
		"CloudFront-Viewer-Cert-Present: 1",
		"CloudFront-Viewer-Cert-Sha256: " + hex.EncodeToString(sum[:]),
		"CloudFront-Viewer-Cert-Validity: NotBefore=2026-01-02T03:04:05Z;NotAfter=" + na.Format(time.RFC3339),
	}, "\n") + "\n"
	full := fields + "CloudFront-Viewer-Cert-Pem: " + strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D", " ", "%20", "\n", "%0A").Replace(pemText) + "\n"
	clientCert := "Client-Cert: :" + base64.StdEncoding.EncodeToString(cert.Certificate[0]) + ":\n"
	for _, tt := range []struct {
		dist   string
		cert   *tls.Certificate
		forged bool // the viewer sends Client-Cert and Client-Cert-Chain of its own
		want   string
	}{
		{"req", &cert, true, full},
		{"opt", &cert, false, full},
		{"pass", &cert, true, fields + clientCert},
		{"pass", &withChain, false, fields + clientCert + "Client-Cert-Chain: :" + base64.StdEncoding.EncodeToString(ca.cert.Raw) + ":\n"},
		{"opt", nil, false, "CloudFront-Viewer-Cert-Present: 0\n"},
		{"pass", nil, true, "CloudFront-Viewer-Cert-Present: 0\n"},
		{"plain", &cert, true, ""}, // no mTLS: no certificate asked for, no headers
		// A viewer-request function sees them all but the PEM, which
		// still reaches the origin.
		{"fn", &cert, false, full + "X-Function-Saw: cloudfront-viewer-cert-issuer cloudfront-viewer-cert-present cloudfront-viewer-cert-serial-number cloudfront-viewer-cert-sha256 cloudfront-viewer-cert-subject cloudfront-viewer-cert-validity\n"},
	} {
		cfg := &tls.Config{ServerName: tt.dist + ".test", InsecureSkipVerify: true}
		if tt.cert != nil {
			cfg.Certificates = []tls.Certificate{*tt.cert}
		}
		req, _ := http.NewRequest("GET", "https://"+tt.dist+".test/", nil)
		if tt.forged {
			req.Header.Set("Client-Cert", ":Zm9yZ2Vk:")
			req.Header.Set("Client-Cert-Chain", ":Zm9yZ2Vk:")
			req.Header.Set("CloudFront-Viewer-Cert-Subject", "CN=forged")
		}
		resp, err := connClientTLS(t, n, h2, cfg).Do(req)
		if err != nil {
			t.Errorf("%s: %v", tt.dist, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != tt.want {
			t.Errorf("%s (certificate %v, forged %v): %d, the origin got\n%s\nwant\n%s", tt.dist, tt.cert != nil, tt.forged, resp.StatusCode, body, tt.want)
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
