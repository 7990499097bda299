package cache

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
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

// varyNames are a response's Vary fields, canonical, sorted, deduplicated.
func varyNames(h http.Header) []string {
	var names []string
	for _, v := range h["Vary"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				names = append(names, http.CanonicalHeaderKey(f))
			}
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
			return negotiate(vs)
		}
		return acceptedCodings(vs)
	}
	if len(vs) == 0 {
		return ""
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

// knownCodings are the content codings told apart when an origin varies on
// Accept-Encoding.
var knownCodings = []string{"br", "deflate", "gzip", "zstd"}

// acceptedCodings is the sorted set of known codings the request accepts.
func acceptedCodings(vs []string) string {
	var out []string
	for _, c := range knownCodings {
		if accepts(vs, c) {
			out = append(out, c)
		}
	}
	return strings.Join(out, ",")
}

// negotiate is the coding the cache serves a compressible response in:
// brotli, else gzip, else identity.
func negotiate(vs []string) string {
	switch {
	case len(vs) == 0:
		return "identity"
	case accepts(vs, "br"):
		return "br"
	case accepts(vs, "gzip"):
		return "gzip"
	}
	return "identity"
}

// accepts says Accept-Encoding lists coding (or *) with a non-zero q.
func accepts(vs []string, coding string) bool {
	star := false
	for _, v := range vs {
		for part := range strings.SplitSeq(v, ",") {
			name, params, _ := strings.Cut(part, ";")
			name = strings.ToLower(strings.TrimSpace(name))
			if name != coding && name != "*" {
				continue
			}
			ok := qNonZero(params)
			if name == coding {
				return ok
			}
			star = ok
		}
	}
	return star
}

func qNonZero(params string) bool {
	for p := range strings.SplitSeq(params, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(k, "q") {
			q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return err != nil || q > 0
		}
	}
	return true
}
