package cache

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"openfront.dev/internal/codings"
)

// Keys. The edge's key names a resource; inside the cache:
//   - the primary key is the edge's key, with the method appended for
//     cached methods other than GET and HEAD (HEAD is served from GET);
//   - a variant key is primary + NUL + the Vary mark's generation + NUL +
//     the request's normalized values of the Vary fields.
//
// A new Vary mark gets a new generation, so dropping the mark (an
// invalidation, an unsafe method) makes every old variant unreachable.
const sep = "\x00"

func primaryKey(method, key string) string {
	if method == http.MethodGet || method == http.MethodHead {
		return key
	}
	return key + sep + method
}

// edgeKey is the edge's key an internal key belongs to.
func edgeKey(k string) string {
	if i := strings.IndexByte(k, 0); i >= 0 {
		return k[:i]
	}
	return k
}

// varyNames are a response's Vary fields, canonical, sorted, deduplicated,
// but for those the origin never gets from the viewer (p.OriginFields):
// the origin answered every viewer alike whatever their value, as
// CloudFront, which caches by what it forwards, takes it ("If you
// configure your origin to include any other values in the Vary header,
// CloudFront removes the values", RequestAndResponseBehaviorCustomOrigin).
// Accept-Encoding, which the cache negotiates itself, and Host, always
// count.
func varyNames(h http.Header, p Policy) []string {
	var names []string
	for _, v := range h["Vary"] {
		for f := range strings.SplitSeq(v, ",") {
			// "*" is stored only under a minTTL, which drops it.
			if f = strings.TrimSpace(f); f == "" || f == "*" {
				continue
			}
			name := http.CanonicalHeaderKey(f)
			if p.OriginFields != nil && name != "Accept-Encoding" && name != "Host" && !p.OriginFields.Gets(name) {
				continue
			}
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func variantKey(primary string, gen uint64, names []string, r *http.Request, p Policy) string {
	var b strings.Builder
	b.WriteString(primary)
	b.WriteString(sep)
	b.WriteString(strconv.FormatUint(gen, 36))
	for _, n := range names {
		b.WriteString(sep)
		b.WriteString(n)
		if n == "Host" {
			// Go's servers keep it in Request.Host, never in the header
			// (HTTP/2's and HTTP/3's :authority too).
			b.WriteByte('=')
			b.WriteString(strings.ToLower(r.Host))
			continue
		}
		// An absent field matches only an absent one (RFC 9111 4.1).
		if _, ok := r.Header[n]; !ok && !(p.Compress && n == "Accept-Encoding") {
			b.WriteByte('!')
			continue
		}
		b.WriteByte('=')
		b.WriteString(normalizedValue(r.Header, n, p))
	}
	return b.String()
}

// normalizedValue is the request's value of a Vary field with the
// differences that cannot matter removed (RFC 9111 4.1): lines combined,
// whitespace around commas dropped. Accept-Encoding is reduced to the
// coding the cache would pick, so "gzip, br" and "br,gzip" share a variant.
func normalizedValue(h http.Header, name string, p Policy) string {
	vs := h[name]
	if name == "Accept-Encoding" {
		if p.Compress {
			return p.negotiate(vs)
		}
		return acceptedCodings(vs)
	}
	if len(vs) == 0 {
		return ""
	}
	if name == "Accept-Language" || name == "Accept-Charset" {
		return unorderedList(vs)
	}
	if len(vs) == 1 && !strings.ContainsAny(vs[0], " \t") {
		return vs[0]
	}
	var b strings.Builder
	for i, v := range vs {
		for j, part := range strings.Split(v, ",") {
			if i > 0 || j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strings.TrimSpace(part))
		}
	}
	return b.String()
}

// unorderedList normalizes a field whose members are case-insensitive and
// whose order means nothing (preference is in the q parameter): language
// tags and charsets. "en, de" and "De,EN" select the same variant.
func unorderedList(vs []string) string {
	var members []string
	for _, v := range vs {
		for m := range strings.SplitSeq(v, ",") {
			params := strings.Split(m, ";")
			for i := range params {
				params[i] = strings.ToLower(strings.TrimSpace(params[i]))
			}
			if m = strings.Join(params, ";"); m != "" {
				members = append(members, m)
			}
		}
	}
	slices.Sort(members)
	return strings.Join(members, ",")
}

// knownCodings are the content codings told apart when an origin varies on
// Accept-Encoding.
var knownCodings = []string{"br", "deflate", "gzip", "zstd"}

// acceptedCodings is the sorted set of known codings the request accepts.
func acceptedCodings(vs []string) string {
	var out []string
	for _, c := range knownCodings {
		if codings.Accepts(vs, c) {
			out = append(out, c)
		}
	}
	return strings.Join(out, ",")
}

// negotiate is the coding the cache serves a compressible response in:
// brotli, else gzip, else identity; p may leave either coding out.
func (p Policy) negotiate(vs []string) string {
	switch {
	case len(vs) == 0:
		return "identity"
	case !p.NoBrotli && codings.Accepts(vs, "br"):
		return "br"
	case !p.NoGzip && codings.Accepts(vs, "gzip"):
		return "gzip"
	}
	return "identity"
}

// Language selection. When Vary names Accept-Language and a request has no
// variant of its own, the variant whose Content-Language is the request's
// one most preferred language answers it: the origin chose that language
// for another request, and it is the one this request asks for first
// ("fr;q=0.5, de" is answered by the variant in "de"). Each stored variant
// with a single Content-Language leaves an alias under languageKey.

// languageKey is the variant key of r without its Accept-Language, and
// with a language tag instead (after a NUL, which no variant key ends with).
func languageKey(primary string, gen uint64, names []string, r *http.Request, p Policy, lang string) string {
	h := r.Header.Clone()
	delete(h, "Accept-Language")
	return variantKey(primary, gen, names, &http.Request{Header: h, Host: r.Host}, p) + sep + "lang=" + strings.ToLower(lang)
}

// topLanguage is the language range an Accept-Language prefers over all
// others, if one does: the unique highest q, not "*".
func topLanguage(vs []string) (string, bool) {
	best, bestQ, tie := "", 0.0, false
	for _, v := range vs {
		for m := range strings.SplitSeq(v, ",") {
			tag, params, _ := strings.Cut(m, ";")
			tag = strings.ToLower(strings.TrimSpace(tag))
			if tag == "" {
				continue
			}
			q := 1.0
			for p := range strings.SplitSeq(params, ";") {
				if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
					if err != nil {
						return "", false
					}
					q = f
				}
			}
			switch {
			case q > bestQ:
				best, bestQ, tie = tag, q, false
			case q == bestQ && tag != best:
				tie = true
			}
		}
	}
	if best == "" || best == "*" || tie {
		return "", false
	}
	return best, true
}

// aliasFor is the alias key a variant stored for r leaves, "" for none.
func aliasFor(primary string, gen uint64, names []string, r *http.Request, p Policy, h http.Header) string {
	lang := h.Get("Content-Language")
	if !slices.Contains(names, "Accept-Language") || lang == "" || strings.ContainsAny(lang, ", ") || len(h["Content-Language"]) != 1 {
		return ""
	}
	return languageKey(primary, gen, names, r, p, lang)
}

// putAlias points alias at the variant stored under key.
func (c *Cache) putAlias(alias, key string, retain time.Duration) {
	a := &entry{kind: kindAlias, target: key, retain: retain}
	a.weigh(alias)
	a.weight += uint32(len(key))
	c.mem.put(alias, a)
}

// byLanguage finds the variant that answers r by its preferred language.
func (c *Cache) byLanguage(primary string, mark *entry, r *http.Request, p Policy) (*entry, string) {
	lang, ok := topLanguage(r.Header["Accept-Language"])
	if !ok {
		return nil, ""
	}
	a := c.mem.get(languageKey(primary, mark.gen, mark.varyNames, r, p, lang))
	if a == nil || a.kind != kindAlias {
		return nil, ""
	}
	e := c.get(a.target)
	if e == nil || e.kind != kindObject || !strings.EqualFold(e.header.Get("Content-Language"), lang) {
		return nil, ""
	}
	return e, a.target
}
