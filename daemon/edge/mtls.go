package edge

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"time"

	"openfront.dev/compiler/table"
)

// certPEMHeader is the client certificate's PEM, which functions do not
// see (viewerRequest).
const certPEMHeader = "Cloudfront-Viewer-Cert-Pem"

// mtlsHeader is the node's value of a viewer mTLS header
// (viewer-mtls-headers.md) for the client certificate of the request's
// connection; ok is false for a name that is none of them. A
// distribution without viewer mTLS asks for no certificate and gets
// none of them; one with it gets CloudFront-Viewer-Cert-Present, and the
// rest when the viewer sent a certificate.
func (v *viewer) mtlsHeader(name string) (value []string, ok bool) {
	if !strings.HasPrefix(name, "Cloudfront-Viewer-Cert-") && !table.IsClientCertHeader(name) {
		return nil, false
	}
	if v.mtls == nil || v.r.TLS == nil {
		return nil, true
	}
	certs := v.r.TLS.PeerCertificates
	passthrough := v.mtls.Mode == table.MtlsPassthrough
	if table.IsClientCertHeader(name) {
		// Passthrough's only, as RFC 9440 has them: the leaf, and the
		// rest of what the viewer sent, each DER as a byte sequence
		// (":base64:", RFC 8941), the chain's comma-separated.
		if !passthrough || len(certs) == 0 || name == "Client-Cert-Chain" && len(certs) == 1 {
			return nil, true
		}
		if name == "Client-Cert" {
			return []string{sfBinary(certs[0].Raw)}, true
		}
		chain := make([]string, len(certs)-1)
		for i, c := range certs[1:] {
			chain[i] = sfBinary(c.Raw)
		}
		return []string{strings.Join(chain, ", ")}, true
	}
	if name == "Cloudfront-Viewer-Cert-Present" {
		if len(certs) == 0 {
			return []string{"0"}, true
		}
		return []string{"1"}, true
	}
	if len(certs) == 0 {
		return nil, true
	}
	c := certs[0]
	switch name {
	case "Cloudfront-Viewer-Cert-Serial-Number":
		return []string{colonHex(c.SerialNumber.Bytes())}, true
	case "Cloudfront-Viewer-Cert-Issuer":
		return []string{c.Issuer.String()}, true // RFC 2253
	case "Cloudfront-Viewer-Cert-Subject":
		return []string{c.Subject.String()}, true
	case "Cloudfront-Viewer-Cert-Sha256":
		sum := sha256.Sum256(c.Raw)
		return []string{hex.EncodeToString(sum[:])}, true
	case "Cloudfront-Viewer-Cert-Validity":
		return []string{"NotBefore=" + c.NotBefore.UTC().Format(time.RFC3339) + ";NotAfter=" + c.NotAfter.UTC().Format(time.RFC3339)}, true
	case certPEMHeader:
		// "Required, Optional": passthrough's is Client-Cert.
		if passthrough {
			return nil, true
		}
		return []string{certPEMEscaped(c)}, true
	}
	return nil, true
}

// sfBinary is b as a Structured Field byte sequence (RFC 8941 3.3.5).
func sfBinary(b []byte) string {
	return ":" + base64.StdEncoding.EncodeToString(b) + ":"
}

// colonHex is b in lower-case hex, a colon between bytes: 4a:3f:5c.
func colonHex(b []byte) string {
	if len(b) == 0 {
		return "00"
	}
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 3*len(b)-1)
	for i, x := range b {
		if i > 0 {
			out = append(out, ':')
		}
		out = append(out, digits[x>>4], digits[x&15])
	}
	return string(out)
}

// certPEMEscaped is c in PEM, percent-encoded as CloudFront's example
// shows it ("-----BEGIN%20CERTIFICATE-----%0AMIIG..."): every byte but
// RFC 3986's unreserved ones, so base64's "+", "/" and "=" too, which
// url.PathUnescape (and any URL decoder) turns back into the PEM.
func certPEMEscaped(c *x509.Certificate) string {
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	const hexUpper = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(p) + len(p)/8)
	for _, x := range p {
		if 'A' <= x && x <= 'Z' || 'a' <= x && x <= 'z' || '0' <= x && x <= '9' || x == '-' || x == '_' || x == '.' || x == '~' {
			b.WriteByte(x)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexUpper[x>>4])
		b.WriteByte(hexUpper[x&15])
	}
	return b.String()
}
