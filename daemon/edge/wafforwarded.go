package edge

import (
	"net/netip"

	"openfront.dev/compiler/table"
)

// wafLocator looks up the forwarded addresses a web ACL's geo and ASN
// statements name (table.WAFLocator) in the node's databases, as the
// viewer's own: only for a web ACL with such statements (NeedsLocate).
// ASN is the --asn-db's, else the --geoip-db record's; 0, WAF's unknown,
// without either or for an address they do not hold.
type wafLocator Handler

func (l *wafLocator) Country(a netip.Addr) string {
	c, _ := l.geo.Lookup(a)
	return c
}

func (l *wafLocator) ASN(a netip.Addr) uint32 {
	db := l.asn
	if db == nil {
		db = l.geo
	}
	loc, _ := db.Locate(a)
	return uint32(loc.ASN)
}

var _ table.WAFLocator = (*wafLocator)(nil)
