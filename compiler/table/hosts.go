package table

import (
	"fmt"
	"maps"
	"strings"
)

// hostIndex maps host names to distributions: exact aliases first, then the
// most specific wildcard. "*.example.com" covers any host ending in
// ".example.com", one or more labels deep, as CloudFront's wildcards do.
type hostIndex[D any] struct {
	exact    map[string]D
	wildcard map[string]D // keyed by the suffix after "*."
}

// newHostIndex indexes byID, whose keys ids are, in that order.
func newHostIndex[D comparable](ids []string, byID map[string]D, aliases func(D) []string) (hostIndex[D], error) {
	return updateHostIndex(hostIndex[D]{}, nil, ids, byID, aliases)
}

// updateHostIndex is newHostIndex derived from prev, the index of
// prevByID: only the aliases of the entries that are not prevByID's value
// move, so that a rebuild after a one-file change at 10,000 distributions
// does not index every alias again.
func updateHostIndex[D comparable](prev hostIndex[D], prevByID map[string]D, ids []string, byID map[string]D, aliases func(D) []string) (hostIndex[D], error) {
	x := hostIndex[D]{exact: maps.Clone(prev.exact), wildcard: maps.Clone(prev.wildcard)}
	if x.exact == nil {
		x.exact, x.wildcard = map[string]D{}, map[string]D{}
	}
	for id, old := range prevByID {
		if byID[id] != old { // changed or gone
			for _, a := range aliases(old) {
				if m, key := x.slot(a); m[key] == old {
					delete(m, key)
				}
			}
		}
	}
	var zero D
	for _, id := range ids {
		d := byID[id]
		if prevByID[id] == d {
			continue // indexed already
		}
		for _, a := range aliases(d) {
			m, key := x.slot(a)
			if other := m[key]; other != zero {
				return x, fmt.Errorf("alias %q is claimed twice", a)
			}
			m[key] = d
		}
	}
	return x, nil
}

// slot is the map alias goes in, and its key there.
func (x hostIndex[D]) slot(alias string) (map[string]D, string) {
	if suffix, ok := strings.CutPrefix(alias, "*."); ok {
		return x.wildcard, suffix
	}
	return x.exact, alias
}

// maxHostLen is DNS's limit; longer hosts match nothing.
const maxHostLen = 253

// hostKey writes the key a Host header value is looked up by into buf:
// without the port and a trailing dot, in ASCII lower case. ok is false
// for a host that can match nothing.
func hostKey(host string, buf *[maxHostLen]byte) (h []byte, ok bool) {
	host = stripPort(host)
	host = strings.TrimSuffix(host, ".")
	if len(host) == 0 || len(host) > maxHostLen {
		return nil, false
	}
	h = buf[:len(host)]
	for i := 0; i < len(host); i++ {
		c := host[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		h[i] = c
	}
	return h, true
}

// lookup finds the entry for a Host header value: the port and a trailing dot
// are ignored and case does not matter. It does not allocate.
func (x *hostIndex[D]) lookup(host string) (d D, ok bool) {
	var buf [maxHostLen]byte
	h, ok := hostKey(host, &buf)
	if !ok {
		return d, false
	}
	if d, ok = x.exact[string(h)]; ok {
		return d, true
	}
	for i := 0; i < len(h)-1; i++ {
		if h[i] == '.' {
			if d, ok = x.wildcard[string(h[i+1:])]; ok {
				return d, true
			}
		}
	}
	return d, false
}

// stripPort drops ":port" from "host:port" and "[v6]:port", and the brackets.
func stripPort(h string) string {
	if strings.HasPrefix(h, "[") {
		if i := strings.IndexByte(h, ']'); i > 0 {
			return h[1:i]
		}
		return h
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 && strings.IndexByte(h, ':') == i {
		return h[:i]
	}
	return h
}

// HostMatch says how a host was matched, for route explanations.
type HostMatch struct {
	Alias    string // the alias that matched: exact or "*.suffix"
	Wildcard bool
}

// explain is lookup that also says which alias matched; it normalizes
// the host as lookup does, so that route never finds what the edge does not.
func (x *hostIndex[D]) explain(host string) (d D, m HostMatch, ok bool) {
	var buf [maxHostLen]byte
	h, ok := hostKey(host, &buf)
	if !ok {
		return d, m, false
	}
	host = string(h)
	if d, ok = x.exact[host]; ok {
		return d, HostMatch{Alias: host}, true
	}
	for i := 0; i < len(host)-1; i++ {
		if host[i] == '.' {
			if d, ok = x.wildcard[host[i+1:]]; ok {
				return d, HostMatch{Alias: "*." + host[i+1:], Wildcard: true}, true
			}
		}
	}
	return d, m, false
}
