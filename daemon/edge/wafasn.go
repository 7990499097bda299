package edge

import (
	"net/http"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/tlsfp"
)

// wafViewer gives req what acl's statements read of the viewer beyond
// the request, and only that: the ASN (the --asn-db, else the --geoip-db
// record's; 0, WAF's unknown, without either or for an address they do
// not hold) and the ClientHello's fingerprints, which tlsfp computes when
// a statement first asks. A web ACL without such statements costs no
// lookup.
func (h *Handler) wafViewer(req *table.WAFRequest, acl *table.WebACL, r *http.Request) {
	if acl.NeedsASN {
		req.ASN = (*wafLocator)(h).ASN(req.Client)
	}
	if acl.NeedsLocate {
		req.Locate = (*wafLocator)(h)
	}
	// As CloudFront-Viewer-JA4-Fingerprint: HTTPS (HTTP/3 included) whose
	// TLS the node terminated; nil otherwise, and fallbackBehavior decides.
	if acl.NeedsTLS && r.TLS != nil {
		if hello := tlsfp.FromContext(r.Context()); hello != nil {
			req.TLS = hello
		}
	}
}
