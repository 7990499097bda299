package cli

import (
	"strings"

	"openfront.dev/compiler/table"
)

// RouteMtls is a distribution's viewer mutual TLS: what the TLS handshake
// asks of the viewer's client certificate, before any request.
type RouteMtls struct {
	Mode       string `json:"mode"`
	TrustStore string `json:"trustStore,omitempty"`
	// CACertificates are the trust store's CAs, by subject.
	CACertificates   []string `json:"caCertificates,omitempty"`
	AdvertiseCANames bool     `json:"advertiseTrustStoreCaNames,omitempty"`
	IgnoreExpiry     bool     `json:"ignoreCertificateExpiry,omitempty"`
}

// routeMtls explains d's viewer mTLS; nil without it.
func routeMtls(d *table.Distribution) *RouteMtls {
	m := d.Mtls
	if m == nil {
		return nil
	}
	out := &RouteMtls{Mode: m.Mode, AdvertiseCANames: m.AdvertiseCANames, IgnoreExpiry: m.IgnoreExpiry}
	if m.Store != nil {
		out.TrustStore = m.Store.ID
		for _, c := range m.Store.Certs {
			out.CACertificates = append(out.CACertificates, c.Subject.String())
		}
	}
	return out
}

// text is the explanation's line for m.
func (m *RouteMtls) text() string {
	var b strings.Builder
	switch m.Mode {
	case table.MtlsRequired:
		b.WriteString("required: the TLS handshake refuses a viewer without a client certificate that chains to trust store ")
	case table.MtlsOptional:
		b.WriteString("optional: a client certificate, when the viewer sends one, must chain to trust store ")
	default:
		b.WriteString("passthrough: any client certificate or none (the viewer proves it holds its key); the origin decides from Client-Cert and the CloudFront-Viewer-Cert-* headers")
		return b.String()
	}
	b.WriteString(m.TrustStore + " (" + strings.Join(m.CACertificates, "; ") + ")")
	if m.IgnoreExpiry {
		b.WriteString(", expired or not")
	}
	if m.AdvertiseCANames {
		b.WriteString("; the certificate request names its CAs")
	}
	return b.String()
}
