package cache

import (
	"strconv"
	"strings"
)

// Invalidation by CloudFront path. The edge's keys start with WriteKey's
// object part: the distribution ID, NUL, the behavior's cache scope, NUL,
// the request path as the viewer sent it (percent-encoded), then "?" and
// the keyed query. The edge appends NUL-separated header and cookie
// values; the cache's internal keys (vary.go) add their own fields after
// another NUL.

// WriteKey writes the object part of a cache key to k: what names one
// query variant of a path in a distribution's behavior scope. keyedQuery
// is the part of the query the behavior keys on ("" for none). Callers
// append further fields, each after a NUL; room is how many bytes of them
// the builder makes room for now.
func WriteKey(k *strings.Builder, distribution, scope, path, keyedQuery string, room int) {
	k.Grow(len(distribution) + len(sep) + len(scope) + len(sep) + len(path) + 1 + len(keyedQuery) + room)
	k.WriteString(distribution)
	k.WriteString(sep)
	writeObject(k, scope, path, keyedQuery)
}

// writeObject writes WriteKey's part after the distribution.
func writeObject(k *strings.Builder, scope, path, keyedQuery string) {
	k.WriteString(scope)
	k.WriteString(sep)
	k.WriteString(path)
	if keyedQuery != "" {
		k.WriteByte('?')
		k.WriteString(keyedQuery)
	}
}

// Paths is a set of CloudFront invalidation paths: "/index.html" names
// one request path, "/images/*" every path that starts with "/images/",
// and an object added with AddObject one query variant of a path.
type Paths struct {
	exact    map[string]bool
	prefixes map[string]bool
	lens     []int           // the prefixes' distinct lengths
	objects  map[string]bool // cache scope NUL path ["?" keyed query]
	// objectPaths are the objects' paths, and live the cache scopes the
	// distribution's behaviors have now (SetLiveScopes): an entry in
	// another scope is unreachable until a rollback revives its config,
	// and goes whatever its query when its path is an object's.
	objectPaths map[string]bool
	live        map[string]bool
}

// NewPaths compiles invalidation paths; a trailing "*" makes a prefix.
// They are matched in CanonicalPath's spelling, as request paths are.
func NewPaths(paths []string) Paths {
	p := Paths{exact: map[string]bool{}, prefixes: map[string]bool{}}
	for _, s := range paths {
		s = CanonicalPath(s)
		prefix, ok := strings.CutSuffix(s, "*")
		if !ok {
			p.exact[s] = true
			continue
		}
		if !p.prefixes[prefix] {
			p.prefixes[prefix] = true
			p.lens = append(p.lens, len(prefix))
		}
	}
	return p
}

// AddObject adds one query variant of a path: the object that behavior
// scope caches for path with keyedQuery as its keyed query ("" when the
// behavior keys none, so that every query of the path names it).
func (p *Paths) AddObject(scope, path, keyedQuery string) {
	if p.objects == nil {
		p.objects, p.objectPaths = map[string]bool{}, map[string]bool{}
	}
	var k strings.Builder
	writeObject(&k, scope, CanonicalPath(path), CanonicalQuery(keyedQuery))
	p.objects[k.String()] = true
	p.objectPaths[CanonicalPath(path)] = true
}

// SetLiveScopes names the cache scopes of the distribution's behaviors
// now. An object added with AddObject then also removes, whatever their
// query, its path's entries in every other scope: those of a config
// since changed, which a rollback would serve again.
func (p *Paths) SetLiveScopes(scopes []string) {
	p.live = map[string]bool{}
	for _, s := range scopes {
		p.live[s] = true
	}
}

// Match says whether a request path is invalidated. A lookup per
// distinct prefix length keeps 3,000 wildcard paths cheap per key.
func (p Paths) Match(path string) bool {
	if p.exact[path] {
		return true
	}
	for _, n := range p.lens {
		if n <= len(path) && p.prefixes[path[:n]] {
			return true
		}
	}
	return false
}

// InvalidatePaths removes the distribution's entries whose request path
// matches, whatever their query, headers, cookies or Vary variant, and
// those of its objects, whatever their headers, cookies or Vary variant,
// from both tiers, and returns how many entries went. A fetch in flight
// when it runs is not stored.
func (c *Cache) InvalidatePaths(distribution string, p Paths) int {
	prefix := distribution + sep
	return c.invalidate(func(k string) bool {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			return false
		}
		scope, pathQuery, ok := strings.Cut(rest, sep)
		if !ok {
			return false
		}
		pathQuery, _, _ = strings.Cut(pathQuery, sep)
		path, query, _ := strings.Cut(pathQuery, "?")
		cpath := CanonicalPath(path)
		if p.objects != nil {
			object := rest[:len(scope)+len(sep)+len(pathQuery)]
			if cquery := CanonicalQuery(query); cpath != path || cquery != query {
				var k strings.Builder
				writeObject(&k, scope, cpath, cquery)
				object = k.String()
			}
			if p.objects[object] || p.live != nil && !p.live[scope] && p.objectPaths[cpath] {
				return true
			}
		}
		return p.Match(cpath)
	})
}

// Viewers spell one request target in several ways an origin reads alike:
// "/caf%C3%A9", "/caf%c3%a9" (RFC 3986 6.2.2.1) and, from clients that do
// not encode, the raw UTF-8 "/café". Keys keep the viewer's spelling, so
// invalidation paths and keys are compared in one canonical spelling: what
// a browser percent-encodes (controls, space, non-ASCII and WHATWG's path
// or query percent-encode set, less "?" and "#") encoded, an encoded
// letter, digit, "-", ".", "_" or "~" decoded (RFC 3986 6.2.2.2: "%7E" is
// "~", where "%2F" is no "/"), and every other escape's hex in upper case.
// A "%" is taken as already encoding something.
const (
	pathEncoded  = "\"<>`{}"
	queryEncoded = "\"<>"
)

// CanonicalPath is the canonical spelling of a request path.
func CanonicalPath(p string) string { return canonical(p, pathEncoded) }

// CanonicalQuery is the canonical spelling of a query.
func CanonicalQuery(q string) string { return canonical(q, queryEncoded) }

func canonical(s, set string) string {
	i := 0
	for ; i < len(s) && !recode(s, i, set); i++ {
	}
	if i == len(s) {
		return s // the common case: nothing to respell, nothing allocated
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%' && unreserved(s, i) != 0:
			b.WriteByte(unreserved(s, i))
			i += 2
		case c == '%':
			b.WriteByte(c)
			n := hexRun(s, i)
			for j := i + 1; j <= i+n; j++ {
				b.WriteByte(upper(s[j]))
			}
			i += n
		case c <= ' ' || c >= 0x7f || strings.IndexByte(set, c) >= 0:
			const hex = "0123456789ABCDEF"
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// recode says whether canonical changes s at i.
func recode(s string, i int, set string) bool {
	c := s[i]
	if c == '%' {
		if unreserved(s, i) != 0 {
			return true
		}
		for j := i + 1; j <= i+hexRun(s, i); j++ {
			if s[j] != upper(s[j]) {
				return true
			}
		}
		return false
	}
	return c <= ' ' || c >= 0x7f || strings.IndexByte(set, c) >= 0
}

// hexRun is how many hex digits (up to 2) follow the "%" at s[i]: a
// trailing "%c" of a prefix is respelled as the escapes it begins.
func hexRun(s string, i int) int {
	n := 0
	for j := i + 1; j < len(s) && n < 2 && isHex(s[j]); j++ {
		n++
	}
	return n
}

// unreserved is the unreserved character (RFC 3986 2.3) the escape at
// s[i] encodes, or 0.
func unreserved(s string, i int) byte {
	if hexRun(s, i) < 2 {
		return 0
	}
	n, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
	if c := byte(n); 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-._~", c) >= 0 {
		return c
	}
	return 0
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

func upper(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// invalidate removes every entry whose internal key match accepts.
func (c *Cache) invalidate(match func(key string) bool) int {
	c.storeMu.Lock()
	defer c.storeMu.Unlock()
	c.invalidations.Add(1)
	n := 0
	for k := range c.mem.otter.Keys() {
		if match(k) {
			c.mem.del(k)
			n++
		}
	}
	if c.disk != nil {
		for k := range c.disk.index.Keys() {
			if match(k) {
				c.disk.del(k)
				n++
			}
		}
	}
	return n
}
