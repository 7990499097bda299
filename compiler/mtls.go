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
// request policy names a CloudFront-Viewer-Cert-* header on a
// distribution without viewer mTLS: no client certificate is asked for,
// so the origin gets none of them (and never the viewer's own).
func (k *checker) certHeadersWithoutMtls(key string, at func(...any) []cue.Selector, where string, d *schema.Distribution, cfg *schema.Config) {
	if d.ViewerMtlsConfig != nil {
		return
	}
	certHeader := func(names []string) string {
		for _, h := range names {
			if slices.Contains(table.ViewerMtlsHeaders, textproto.CanonicalMIMEHeaderKey(h)) {
				return h
			}
		}
		return ""
	}
	check := func(b *schema.CacheBehavior, field func(...any) []cue.Selector, bw string) {
		var h string
		var place []cue.Selector
		if h = certHeader(b.ForwardedValues.Headers); h != "" {
			place = field("forwardedValues", "headers")
		} else if p := table.CachePolicy(cfg, b.CachePolicy); p != nil {
			if h = certHeader(p.ParametersInCacheKeyAndForwardedToOrigin.HeadersConfig.Headers); h != "" {
				place = field("cachePolicy")
			}
		}
		if p := table.OriginRequestPolicy(cfg, b.OriginRequestPolicy); h == "" && p != nil {
			if h = certHeader(p.HeadersConfig.Headers); h != "" {
				place = field("originRequestPolicy")
			}
		}
		if h != "" {
			k.warn(key, place, "%s: %s comes from a client certificate, which a distribution without viewerMtlsConfig never asks for: the origin gets none", bw, h)
		}
	}
	for i := range d.CacheBehaviors {
		b := &d.CacheBehaviors[i]
		check(b, func(p ...any) []cue.Selector { return at(append([]any{"cacheBehaviors", i}, p...)...) }, fmt.Sprintf("%s: cacheBehaviors[%d] (%q)", where, i, b.PathPattern))
	}
	check(&d.DefaultCacheBehavior, func(p ...any) []cue.Selector { return at(append([]any{"defaultCacheBehavior"}, p...)...) }, where+": defaultCacheBehavior")
}
