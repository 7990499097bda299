package table

import (
	"fmt"
	"net/netip"
	"net/textproto"
	"slices"
	"strings"

	"openfront.dev/schema"
)

// Forwarded addresses: a statement that inspects an address of a header
// (X-Forwarded-For, behind another proxy or CDN) instead of the viewer's.
// The facts (API_ForwardedIPConfig, API_IPSetForwardedIPConfig, developer
// guide waf-rule-statement-forwarded-ip-address):
//
//   - "If the specified header isn't present in the request, AWS WAF
//     doesn't apply the rule to the web request at all": the whole rule,
//     whatever holds the statement (a notStatement, an orStatement, a
//     rate-based rule's scope-down), neither matches nor labels, and a
//     rate-based rule does not count the request (WAFRule.missing).
//   - fallbackBehavior is "the match status to assign to the web request
//     if the request doesn't have a valid IP address in the specified
//     position": MATCH or NO_MATCH.
//   - forwardedIPConfig (rate-based, geo and ASN statements): "AWS WAF
//     only evaluates the first IP address found in the specified HTTP
//     header".
//   - ipSetForwardedIPConfig's position: FIRST the first address (usually
//     the client's), LAST the last, ANY each of them: "If the header
//     contains more than 10 IP addresses, AWS WAF inspects the last 10".
//   - The header is a comma-separated list of addresses
//     ("10.1.1.1, 127.0.0.0, 10.10.10.10"); a header given twice is one
//     list, its values joined. An address is an IPv4 or IPv6 address
//     alone, spaces around it aside: no port, brackets or zone, which the
//     docs do not name, is valid. ANY with no valid address among the
//     last 10 is the fallback.

// maxForwardedAny is how many of a header's last addresses ANY inspects.
const maxForwardedAny = 10

// WAFForwardedIP is a forwardedIPConfig or an ipSetForwardedIPConfig.
type WAFForwardedIP struct {
	// Header is canonical; FallbackMatch is fallbackBehavior MATCH.
	Header        string
	FallbackMatch bool
	// Position is FIRST, LAST or ANY; forwardedIPConfig's is FIRST.
	Position string
}

func compileForwarded(header, fallback, position string) WAFForwardedIP {
	return WAFForwardedIP{Header: textproto.CanonicalMIMEHeaderKey(header), FallbackMatch: fallback == "MATCH", Position: position}
}

// forwardedAddrs are the addresses f inspects in req, in buf; apply is
// false when req lacks the header, and n is 0 when no address at f's
// position is valid (the fallback). Nothing is allocated.
func (f *WAFForwardedIP) addrs(req *WAFRequest, buf *[maxForwardedAny]netip.Addr) (n int, apply bool) {
	vs := req.Header[f.Header]
	if len(vs) == 0 {
		return 0, false
	}
	switch f.Position {
	case "LAST":
		v := vs[len(vs)-1]
		if a, ok := parseForwarded(v[strings.LastIndexByte(v, ',')+1:]); ok {
			buf[0], n = a, 1
		}
		return n, true
	case "ANY":
		total := 0
		for _, v := range vs {
			total += strings.Count(v, ",") + 1
		}
		i := 0
		for _, v := range vs {
			for {
				item, rest, more := strings.Cut(v, ",")
				if i >= total-maxForwardedAny {
					if a, ok := parseForwarded(item); ok {
						buf[n] = a
						n++
					}
				}
				i++
				if !more {
					break
				}
				v = rest
			}
		}
		return n, true
	}
	first, _, _ := strings.Cut(vs[0], ",")
	if a, ok := parseForwarded(first); ok {
		buf[0], n = a, 1
	}
	return n, true
}

// first is the address f inspects for a statement of one address:
// forwardedIPConfig's first, or ipSetForwardedIPConfig's FIRST or LAST.
func (f *WAFForwardedIP) first(req *WAFRequest) (a netip.Addr, apply, fallback bool) {
	var buf [maxForwardedAny]netip.Addr
	n, apply := f.addrs(req, &buf)
	return buf[0], apply, apply && n == 0
}

// one is first for a statement's match: ok is false when the rule does
// not apply or the fallback decides, and then match is the statement's.
func (f *WAFForwardedIP) one(r *WAFRequest) (a netip.Addr, ok, match bool) {
	a, apply, fallback := f.first(r)
	if !apply || fallback {
		return a, false, apply && f.FallbackMatch
	}
	return a, true, false
}

// missing is the first header r's forwarded-address statements read
// that req lacks, "" when it has them all: then the rule applies.
func (r *WAFRule) missing(req *WAFRequest) string {
	for _, h := range r.Forwarded {
		if len(req.Header[h]) == 0 {
			return h
		}
	}
	return ""
}

// forwardedHeader notes that the rule compiled reads addresses from h.
func (c *wafCompiler) forwardedHeader(f WAFForwardedIP) WAFForwardedIP {
	if !slices.Contains(c.forwarded, f.Header) {
		c.forwarded = append(c.forwarded, f.Header)
	}
	return f
}

// parseForwarded parses one address of a forwarded header.
func parseForwarded(s string) (netip.Addr, bool) {
	a, err := netip.ParseAddr(strings.TrimSpace(s))
	if err != nil || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// describe names where f reads: "the first address of X-Forwarded-For".
func (f *WAFForwardedIP) describe() string {
	switch f.Position {
	case "LAST":
		return "the last address of " + f.Header
	case "ANY":
		return "the last 10 addresses of " + f.Header
	}
	return "the first address of " + f.Header
}

// explainForwarded says why a forwarded statement did not get to its
// match; ok is false when it did.
func (f *WAFForwardedIP) explainForwarded(req *WAFRequest) (matched bool, why string, ok bool) {
	var buf [maxForwardedAny]netip.Addr
	n, apply := f.addrs(req, &buf)
	switch {
	case !apply:
		return false, "does not apply: the request has no " + f.Header + " header", true
	case n > 0:
		return false, "", false
	case f.FallbackMatch:
		return true, "matches: no valid address in " + f.describe() + " (fallbackBehavior MATCH)", true
	}
	return false, "does not match: no valid address in " + f.describe() + " (fallbackBehavior NO_MATCH)", true
}

// WAFLocator looks up the country and ASN of a forwarded address: the
// node's databases; WebACL.NeedsLocate says a statement needs it.
type WAFLocator interface {
	Country(netip.Addr) string
	ASN(netip.Addr) uint32
}

// forwardedIPSet is an ipSetReferenceStatement with ipSetForwardedIPConfig.
type forwardedIPSet struct {
	set *ipSetMatcher
	fwd WAFForwardedIP
}

func (m *forwardedIPSet) Match(r *WAFRequest) bool {
	matched, _ := m.which(r)
	return matched
}

// which reports the match and the address that decided it.
func (m *forwardedIPSet) which(r *WAFRequest) (bool, netip.Addr) {
	var buf [maxForwardedAny]netip.Addr
	n, apply := m.fwd.addrs(r, &buf)
	if !apply {
		return false, netip.Addr{}
	}
	if n == 0 {
		return m.fwd.FallbackMatch, netip.Addr{}
	}
	for _, a := range buf[:n] {
		if _, ok := m.set.lookup(a); ok {
			return true, a
		}
	}
	return false, buf[0]
}

func (m *forwardedIPSet) explain(r *WAFRequest) (bool, string) {
	if matched, why, ok := m.fwd.explainForwarded(r); ok {
		return matched, why
	}
	matched, a := m.which(r)
	if matched {
		p, _ := m.set.lookup(a)
		return true, fmt.Sprintf("matches: %s, %s, is in IP set %s (%s)", m.fwd.describe(), a, m.set.name, p)
	}
	if m.fwd.Position != "ANY" {
		return false, fmt.Sprintf("does not match: %s, %s, is not in IP set %s", m.fwd.describe(), a, m.set.name)
	}
	return false, fmt.Sprintf("does not match: no address in %s is in IP set %s", m.fwd.describe(), m.set.name)
}

// forwardedGeo is a geoMatchStatement with forwardedIPConfig: the
// country of the header's first address.
type forwardedGeo struct {
	codes geoMatcher
	fwd   WAFForwardedIP
}

func (m *forwardedGeo) Match(r *WAFRequest) bool {
	a, ok, match := m.fwd.one(r)
	if !ok {
		return match
	}
	c := locateCountry(r, a)
	return c != "" && slices.Contains(m.codes, c)
}

func locateCountry(r *WAFRequest, a netip.Addr) string {
	if r.Locate == nil {
		return ""
	}
	return r.Locate.Country(a)
}

func (m *forwardedGeo) explain(r *WAFRequest) (bool, string) {
	if matched, why, ok := m.fwd.explainForwarded(r); ok {
		return matched, why
	}
	a, _, _ := m.fwd.first(r)
	c := locateCountry(r, a)
	if c == "" {
		c = "unknown"
	}
	if m.Match(r) {
		return true, fmt.Sprintf("matches: the country of %s, %s, is %s", m.fwd.describe(), a, c)
	}
	return false, fmt.Sprintf("does not match: the country of %s, %s, is %s", m.fwd.describe(), a, c)
}

// forwardedASN is an asnMatchStatement with forwardedIPConfig.
type forwardedASN struct {
	asns asnMatcher
	fwd  WAFForwardedIP
}

func (m *forwardedASN) Match(r *WAFRequest) bool {
	a, ok, match := m.fwd.one(r)
	if !ok {
		return match
	}
	return slices.Contains(m.asns, locateASN(r, a))
}

func locateASN(r *WAFRequest, a netip.Addr) uint32 {
	if r.Locate == nil {
		return 0
	}
	return r.Locate.ASN(a)
}

func (m *forwardedASN) explain(r *WAFRequest) (bool, string) {
	if matched, why, ok := m.fwd.explainForwarded(r); ok {
		return matched, why
	}
	a, _, _ := m.fwd.first(r)
	matched, why := m.asns.explain(&WAFRequest{ASN: locateASN(r, a)})
	return matched, strings.Replace(why, "the viewer's ASN", fmt.Sprintf("the ASN of %s, %s,", m.fwd.describe(), a), 1)
}

// forwardedStatement compiles the statements with a forwarded address;
// ok is false for any other.
func (c *wafCompiler) forwardedStatement(s *schema.WAFStatement) (m WAFMatcher, ok bool, err error) {
	switch {
	case s.IPSetReferenceStatement != nil && s.IPSetReferenceStatement.IPSetForwardedIPConfig != nil:
		f := s.IPSetReferenceStatement.IPSetForwardedIPConfig
		s2 := *s
		ref := *s.IPSetReferenceStatement
		ref.IPSetForwardedIPConfig = nil
		s2.IPSetReferenceStatement = &ref
		set, err := c.statement(&s2)
		if err != nil {
			return nil, true, err
		}
		return &forwardedIPSet{set: set.(*ipSetMatcher), fwd: c.forwardedHeader(compileForwarded(f.HeaderName, f.FallbackBehavior, f.Position))}, true, nil
	case s.GeoMatchStatement != nil && s.GeoMatchStatement.ForwardedIPConfig != nil:
		f := s.GeoMatchStatement.ForwardedIPConfig
		c.locate, c.countryDB = true, true
		fwd := c.forwardedHeader(compileForwarded(f.HeaderName, f.FallbackBehavior, "FIRST"))
		c.geoSource(fwd)
		return &forwardedGeo{codes: geoMatcher(s.GeoMatchStatement.CountryCodes), fwd: fwd}, true, nil
	case s.AsnMatchStatement != nil && s.AsnMatchStatement.ForwardedIPConfig != nil:
		f := s.AsnMatchStatement.ForwardedIPConfig
		a := *s.AsnMatchStatement
		a.ForwardedIPConfig = nil
		asns, err := compileASN(&a)
		if err != nil {
			return nil, true, err
		}
		c.locate, c.asnDB = true, true
		return &forwardedASN{asns: asns, fwd: c.forwardedHeader(compileForwarded(f.HeaderName, f.FallbackBehavior, "FIRST"))}, true, nil
	}
	return nil, false, nil
}
