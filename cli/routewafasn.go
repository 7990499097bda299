package cli

import (
	"net/netip"

	"openfront.dev/compiler/table"
)

// What route gives a web ACL of the viewer beyond the request: the ASN
// (--viewer-asn; unset: 0, WAF's unknown) and, for an HTTPS URL, a TLS
// handshake it does not make: a rule on its JA3 or JA4 fingerprint is not
// evaluated. Plain HTTP has no fingerprint, at the edge too: such a rule's
// fallbackBehavior decides, and route says so.

// routeHandshake stands for an HTTPS request's handshake, whose
// fingerprints route cannot know.
type routeHandshake struct{}

func (routeHandshake) JA3() string { return "" }
func (routeHandshake) JA4() string { return "" }

// routeViewer fills in what req's web ACL reads of the viewer.
func routeViewer(req *table.WAFRequest, r RouteRequest) {
	req.ASN = r.ViewerASN
	// route has no databases: a forwarded address is taken as the
	// viewer's country and ASN.
	req.Locate = routeLocator{r.ViewerCountry, r.ViewerASN}
	if r.URL.Scheme == "https" {
		req.TLS = routeHandshake{}
	}
}

// noHandshake reports whether rule inspects the fingerprints of req's TLS
// handshake, which route has not made.
func noHandshake(rule *table.WAFRule, req *table.WAFRequest) bool {
	_, ok := req.TLS.(routeHandshake)
	return ok && rule != nil && rule.InspectsTLS
}

// notEvaluatedTLS is route's line for such a rule.
const notEvaluatedTLS = "not evaluated: it inspects the viewer's TLS fingerprint, and route has no TLS handshake"

// routeLocator answers the viewer's country and ASN for any address.
type routeLocator struct {
	country string
	asn     uint32
}

func (l routeLocator) Country(netip.Addr) string { return l.country }
func (l routeLocator) ASN(netip.Addr) uint32     { return l.asn }
