package compiler

import (
	"fmt"
	"net/textproto"
	"slices"

	"cuelang.org/go/cue"

	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

// trustStore checks that a trust store's bundle holds CA certificates,
// as CloudFront's CreateTrustStore does of the bundle it reads from S3.
func (k *checker) trustStore(id string, ts *schema.TrustStore) {
	if _, err := table.ParseTrustStore(ts.CACertificatesBundle); err != nil {
		k.add("trustStores."+id, sel("trustStores", id, "caCertificatesBundle"), "trust store %q: caCertificatesBundle: %v", id, err)
	}
}

// viewerMtls checks what CloudFront asks of a distribution with viewer
// mutual TLS (enable-mtls-distributions.md, "Prerequisites and
// requirements"), each at its field.
func (k *checker) viewerMtls(key string, at func(...any) []cue.Selector, where string, d *schema.Distribution) {
	m := d.ViewerMtlsConfig
	if m == nil {
		return
	}
	switch {
	case m.Mode == table.MtlsPassthrough && m.TrustStoreConfig != nil:
		// Passthrough "forwards the client certificate" to an origin that
		// validates it (mtls-validation-modes.md): a trust store there
		// would read as a check the node does not make.
		k.add(key, at("viewerMtlsConfig", "trustStoreConfig"), "%s: viewerMtlsConfig: mode \"passthrough\" verifies no client certificate, so a trustStoreConfig would do nothing: drop it, or set mode \"required\" or \"optional\" to verify against the trust store", where)
	case m.Mode != table.MtlsPassthrough && m.TrustStoreConfig == nil:
		k.add(key, at("viewerMtlsConfig"), "%s: viewerMtlsConfig: mode %q needs a trustStoreConfig naming the trust store client certificates must chain to (trustStoreConfig: trustStoreId: NAME, an entry of trustStores)", where, m.Mode)
	}
	// "Ensured your distribution is using HTTP/2 (the default setting,
	// Viewer mTLS is not supported on HTTP/3)".
	if d.HTTPVersion == "http3" || d.HTTPVersion == "http2and3" {
		k.add(key, at("httpVersion"), "%s: viewerMtlsConfig needs httpVersion \"http2\" or \"http1.1\", not %q: CloudFront does not support viewer mTLS on HTTP/3", where, d.HTTPVersion)
	}
	// "You cannot enable mTLS on a distribution with any cache behaviors
	// that support HTTP connections."
	mtlsOverHTTP := func(b *schema.CacheBehavior, field []cue.Selector, bw string) {
		if b.ViewerProtocolPolicy == "allow-all" {
			k.add(key, field, "%s: viewerProtocolPolicy \"allow-all\" serves HTTP, where no client certificate can be asked for; CloudFront refuses viewer mTLS on a distribution with any behavior that supports HTTP: use \"https-only\" or \"redirect-to-https\"", bw)
		}
	}
	for i := range d.CacheBehaviors {
		b := &d.CacheBehaviors[i]
		mtlsOverHTTP(b, at("cacheBehaviors", i, "viewerProtocolPolicy"), fmt.Sprintf("%s: cacheBehaviors[%d] (%q)", where, i, b.PathPattern))
	}
	mtlsOverHTTP(&d.DefaultCacheBehavior, at("defaultCacheBehavior", "viewerProtocolPolicy"), where+": defaultCacheBehavior")
}

// trustStoreRef checks that a distribution's trust store is one of the
// config's.
func (k *checker) trustStoreRef(key string, at func(...any) []cue.Selector, where string, d *schema.Distribution, cfg *schema.Config) {
	m := d.ViewerMtlsConfig
	if m == nil || m.TrustStoreConfig == nil {
		return
	}
	if id := m.TrustStoreConfig.TrustStoreID; cfg.TrustStores[id] == nil {
		k.add(key, at("viewerMtlsConfig", "trustStoreConfig", "trustStoreId"), "%s: viewerMtlsConfig: unknown trust store %q%s", where, id, nameHint(id, sortedKeys(cfg.TrustStores), "a key of trustStores"))
	}
}

// certHeadersWithoutMtls warns of a behavior whose cache key or origin
// request policy names a certificate header the distribution's viewer
// mTLS never sets, so that the origin gets none (and never the viewer's
// own): any of them without viewerMtlsConfig, which asks for no
// certificate; Client-Cert and Client-Cert-Chain but in passthrough, and
// CloudFront-Viewer-Cert-Pem in it (viewer-mtls-headers.md: "Required,
// Optional"; mtls-helper-methods.md: "In passthrough mode: Client-Cert,
// Client-Cert-Chain").
func (k *checker) certHeadersWithoutMtls(key string, at func(...any) []cue.Selector, where string, d *schema.Distribution, cfg *schema.Config) {
	mode := ""
	if d.ViewerMtlsConfig != nil {
		mode = d.ViewerMtlsConfig.Mode
	}
	unset := func(names []string) (string, string) {
		for _, h := range names {
			name := textproto.CanonicalMIMEHeaderKey(h)
			switch {
			case mode == "" && (slices.Contains(table.ViewerMtlsHeaders, name) || table.IsClientCertHeader(name)):
				return h, "comes from a client certificate, which a distribution without viewerMtlsConfig never asks for"
			case mode != "" && mode != table.MtlsPassthrough && table.IsClientCertHeader(name):
				return h, fmt.Sprintf("is passthrough mode's (RFC 9440), not mode %q's, which sends CloudFront-Viewer-Cert-Pem", mode)
			case mode == table.MtlsPassthrough && name == "Cloudfront-Viewer-Cert-Pem":
				return h, "is modes required and optional's; passthrough sends the certificate as Client-Cert (RFC 9440)"
			}
		}
		return "", ""
	}
	check := func(b *schema.CacheBehavior, field func(...any) []cue.Selector, bw string) {
		h, why := unset(b.ForwardedValues.Headers)
		place := field("forwardedValues", "headers")
		if p := table.CachePolicy(cfg, b.CachePolicy); h == "" && p != nil {
			h, why = unset(p.ParametersInCacheKeyAndForwardedToOrigin.HeadersConfig.Headers)
			place = field("cachePolicy")
		}
		if p := table.OriginRequestPolicy(cfg, b.OriginRequestPolicy); h == "" && p != nil {
			h, why = unset(p.HeadersConfig.Headers)
			place = field("originRequestPolicy")
		}
		if h != "" {
			k.warn(key, place, "%s: %s %s: the origin gets none", bw, h, why)
		}
	}
	for i := range d.CacheBehaviors {
		b := &d.CacheBehaviors[i]
		check(b, func(p ...any) []cue.Selector { return at(append([]any{"cacheBehaviors", i}, p...)...) }, fmt.Sprintf("%s: cacheBehaviors[%d] (%q)", where, i, b.PathPattern))
	}
	check(&d.DefaultCacheBehavior, func(p ...any) []cue.Selector { return at(append([]any{"defaultCacheBehavior"}, p...)...) }, where+": defaultCacheBehavior")
}
