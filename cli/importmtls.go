package cli

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// viewerMtls converts a distribution's ViewerMtlsConfig into o. Its trust
// store's CA certificates are in S3, which `aws cloudfront get-trust-store`
// only names: import takes them from TRUSTSTOREID.pem. Without that file
// the config still names the trust store, so vet refuses it rather than
// serve without the certificate check CloudFront made.
func (imp *importer) viewerMtls(o *cueStruct, s *src) {
	// A connection function "make[s] allow/deny decisions for TLS
	// connections" (write-connection-function-code.md), by the client
	// certificate, say: openfront runs none, so what it refused goes in.
	if id := s.obj("ConnectionFunctionAssociation").str("Id"); id != "" {
		imp.weaker(o, s, fmt.Sprintf("%s: connection function %s, which could refuse TLS connections (by their client certificate, say)", s.path, id),
			"ConnectionFunctionAssociation %s not imported: openfront runs no connection functions", id)
	}
	if !s.has("ViewerMtlsConfig") {
		return
	}
	ms := s.obj("ViewerMtlsConfig").at("viewerMtlsConfig")
	if isZero(ms.m) {
		return
	}
	m := &cueStruct{}
	m.setStr("mode", ms.str("Mode"), "required")
	if ms.has("TrustStoreConfig") {
		ts := ms.obj("TrustStoreConfig").at("trustStoreConfig")
		id := ts.str("TrustStoreId")
		t := &cueStruct{}
		t.set("trustStoreId", imp.trustStoreName(id))
		t.setBool("advertiseTrustStoreCaNames", ts.boolean("AdvertiseTrustStoreCaNames"), false)
		t.setBool("ignoreCertificateExpiry", ts.boolean("IgnoreCertificateExpiry"), false)
		imp.rest(t, ts)
		m.set("trustStoreConfig", t)
		if _, ok := imp.trustStorePEMs[id]; !ok {
			imp.note(m, ts, "trust store %s not imported: its CA certificates are in no file given: add %s.pem, the bundle whose S3 location `aws cloudfront get-trust-store` prints for it in CaCertificatesBundleSource (aws s3 cp s3://BUCKET/KEY %s.pem); until then vet refuses this distribution", id, id, id)
		}
	}
	imp.rest(m, ms)
	o.set("viewerMtlsConfig", m)
}

// trustStoreName is the trust store AWS ID's key in the config, made when
// first met.
func (imp *importer) trustStoreName(id string) string {
	if imp.trustStoreNames == nil {
		imp.trustStoreNames = map[string]string{}
	}
	if n, ok := imp.trustStoreNames[id]; ok {
		return n
	}
	taken := map[string]bool{}
	for _, n := range imp.trustStoreNames {
		taken[n] = true
	}
	n := uniqueName(sanitizeID(id), taken, nil)
	imp.trustStoreNames[id] = n
	return n
}

// trustStoresSection declares the trust stores distributions name whose
// CA certificates were given (ID.pem).
func (imp *importer) trustStoresSection() *cueStruct {
	out := &cueStruct{}
	for _, id := range slices.Sorted(maps.Keys(imp.trustStoreNames)) {
		bundle, ok := imp.trustStorePEMs[id]
		if !ok {
			continue
		}
		o := &cueStruct{}
		o.setStr("comment", "CloudFront trust store "+id, "")
		o.set("caCertificatesBundle", strings.TrimRight(bundle, "\n"))
		out.set(imp.trustStoreNames[id], o)
	}
	return out
}
