// Package access is the edge's side of deciding who may see content: the
// client's address behind trusted proxies, whether the viewer came over
// HTTPS, and geo restriction and location by a MaxMind-format database
// (read and reloaded off the request path). Signed URLs and cookies are
// internal/signedurl's, which the compiler shares for route tests.
//
// On the request path, after the viewer protocol policy: the client is
// ClientIP(r.RemoteAddr, r.Header["X-Forwarded-For"], trustedProxies); a
// geo-restricted distribution asks GeoDB.Lookup and table.GeoAllowed.
package access

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"

	"openfront.dev/internal/signedurl"
)

// ClientIP is the viewer's address: the connection's peer, unless the peer
// is a trusted proxy, in which case X-Forwarded-For is walked from the right
// (the entry the nearest proxy added) past every trusted proxy; the first
// untrusted address is the client. An unparsable entry ends the walk at the
// last trusted hop, since nothing left of it can be believed. With no trusted
// proxies the header is never read. The same address feeds IpAddress
// policies and geo restriction; access logs keep CloudFront's c-ip (the
// peer) and x-forwarded-for. It does not allocate.
func ClientIP(remoteAddr string, xff []string, trusted []netip.Prefix) netip.Addr {
	peer := parseHostAddr(remoteAddr)
	if !peer.IsValid() || !isTrusted(peer, trusted) {
		return peer
	}
	client := peer
	for i := len(xff) - 1; i >= 0; i-- {
		line := xff[i]
		for line != "" {
			var entry string
			if j := strings.LastIndexByte(line, ','); j >= 0 {
				entry, line = line[j+1:], line[:j]
			} else {
				entry, line = line, ""
			}
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			a := parseHostAddr(entry)
			if !a.IsValid() {
				return client
			}
			client = a
			if !isTrusted(a, trusted) {
				return a
			}
		}
	}
	return client
}

// ViewerHTTPS says whether the viewer asked over HTTPS: the connection's
// TLS, unless the peer is a trusted proxy that says in X-Forwarded-Proto
// how the viewer reached it (a proxy that ends TLS in front of the node).
// The last value is the nearest proxy's: one in front of it may have
// passed on a viewer's claim. With no trusted proxies the header is never
// read.
func ViewerHTTPS(r *http.Request, trusted []netip.Prefix) bool {
	overTLS := r.TLS != nil
	if len(trusted) == 0 {
		return overTLS
	}
	lines := r.Header["X-Forwarded-Proto"]
	if len(lines) == 0 || !isTrusted(parseHostAddr(r.RemoteAddr), trusted) {
		return overTLS
	}
	last := lines[len(lines)-1]
	if i := strings.LastIndexByte(last, ','); i >= 0 {
		last = last[i+1:]
	}
	return strings.EqualFold(strings.TrimSpace(last), "https")
}

// PeerIP is the address of the connection's peer (remoteAddr as in
// http.Request.RemoteAddr): the viewer, or the nearest proxy. A proxy
// appends it to X-Forwarded-For.
func PeerIP(remoteAddr string) netip.Addr { return parseHostAddr(remoteAddr) }

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHostAddr parses "addr", "addr:port", "[v6]" or "[v6]:port",
// unmapping IPv4-mapped IPv6 and dropping a zone.
func parseHostAddr(s string) netip.Addr {
	// Pick the parser first: a failed parse allocates its error.
	if strings.HasPrefix(s, "[") || strings.Count(s, ":") == 1 {
		if ap, err := netip.ParseAddrPort(s); err == nil {
			return ap.Addr().Unmap().WithZone("")
		}
		if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
			s = s[1 : len(s)-1]
		}
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// ParseTrustedProxies parses --trusted-proxies: comma-separated CIDRs or
// addresses (one host each).
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := signedurl.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("trusted proxies: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}
