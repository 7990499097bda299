package table

import (
	"net/textproto"
	"slices"
	"strings"

	"openfront.dev/schema"
)

// CloudFrontHeaders are the CloudFront-* request headers an openfront
// node sets for the origin (canonical names), as CloudFront does when a
// behavior names them or uses AllViewerAndCloudFrontHeaders-2022-06
// (adding-cloudfront-headers.md). The location headers beyond the
// country need a City or ASN database: without one they are left out,
// as CloudFront leaves out what it cannot determine. The JA3 and JA4
// fingerprints are not among them, though the node sets them when a
// behavior names them: CloudFront added them after June 2022, and its
// dated policy keeps the list it had.
var CloudFrontHeaders = []string{
	"Cloudfront-Forwarded-Proto",
	"Cloudfront-Viewer-Country",
	"Cloudfront-Viewer-Country-Name",
	"Cloudfront-Viewer-Country-Region",
	"Cloudfront-Viewer-Country-Region-Name",
	"Cloudfront-Viewer-City",
	"Cloudfront-Viewer-Postal-Code",
	"Cloudfront-Viewer-Time-Zone",
	"Cloudfront-Viewer-Latitude",
	"Cloudfront-Viewer-Longitude",
	"Cloudfront-Viewer-Metro-Code",
	"Cloudfront-Viewer-Asn",
	"Cloudfront-Viewer-Address",
	"Cloudfront-Viewer-Http-Version",
	"Cloudfront-Viewer-Tls",
	"Cloudfront-Is-Desktop-Viewer",
	"Cloudfront-Is-Mobile-Viewer",
	"Cloudfront-Is-Smarttv-Viewer",
	"Cloudfront-Is-Tablet-Viewer",
	"Cloudfront-Is-Android-Viewer",
	"Cloudfront-Is-Ios-Viewer",
}

// CloudFrontHeadersFor are the CloudFront-* headers behavior b has the node
// set: the ones its cache key or its origin request policy orp (nil: none)
// names, or all under AllViewerAndCloudFrontHeaders-2022-06 and
// AllViewerExceptHostHeader. A named one the node does not set is in the
// list too: its viewer's value must not pass either.
func CloudFrontHeadersFor(b *schema.CacheBehavior, orp *schema.OriginRequestPolicy) []string {
	var out []string
	add := func(names []string) {
		for _, h := range names {
			if k := textproto.CanonicalMIMEHeaderKey(h); (strings.HasPrefix(k, "Cloudfront-") || IsClientCertHeader(k)) && !slices.Contains(out, k) {
				out = append(out, k)
			}
		}
	}
	add(b.ForwardedValues.Headers)
	// allExcept names headers held back, allViewer none.
	if orp != nil && (orp.HeadersConfig.HeaderBehavior == "whitelist" || orp.HeadersConfig.HeaderBehavior == "allViewerAndWhitelistCloudFront") {
		add(orp.HeadersConfig.Headers)
	}
	if orp != nil && orp == ManagedOriginRequestPolicies[b.OriginRequestPolicy] {
		add(managedCloudFrontHeaders[b.OriginRequestPolicy])
	}
	return out
}

// keyedHeaders are the header names behavior b's cache key holds
// (forwardedValues.headers), canonical and sorted: worked out once here,
// not per request.
func keyedHeaders(b *schema.CacheBehavior) []string {
	names := make([]string, len(b.ForwardedValues.Headers))
	for i, h := range b.ForwardedValues.Headers {
		names[i] = textproto.CanonicalMIMEHeaderKey(h)
	}
	slices.Sort(names)
	return names
}

// ViewerMtlsHeaders are the client certificate headers of viewer mutual
// TLS (viewer-mtls-headers.md; canonical names): the node sets them for
// a distribution with a viewerMtlsConfig when a behavior names them, as
// the June 2022 headers. CloudFront added them later:
// AllViewerAndCloudFrontHeaders-2022-06 does not hold them.
var ViewerMtlsHeaders = []string{
	"Cloudfront-Viewer-Cert-Serial-Number",
	"Cloudfront-Viewer-Cert-Issuer",
	"Cloudfront-Viewer-Cert-Subject",
	"Cloudfront-Viewer-Cert-Present",
	"Cloudfront-Viewer-Cert-Sha256",
	// For origin requests only ("For origin requests, two additional
	// headers are supplied").
	"Cloudfront-Viewer-Cert-Validity",
	"Cloudfront-Viewer-Cert-Pem",
}

// ClientCertHeaders are passthrough mode's certificate headers
// (mtls-helper-methods.md: "In passthrough mode: Client-Cert,
// Client-Cert-Chain"), in RFC 9440's form: the node sets them when a
// behavior names them, and a viewer's own never reach the origin (RFC
// 9440, section 6: a proxy "must unconditionally remove" them).
var ClientCertHeaders = []string{"Client-Cert", "Client-Cert-Chain"}

// IsClientCertHeader reports whether the canonical name k is one of
// ClientCertHeaders.
func IsClientCertHeader(k string) bool {
	return k == "Client-Cert" || k == "Client-Cert-Chain"
}
