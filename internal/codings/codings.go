// Package codings reads Accept-Encoding: which content codings a request
// accepts, and CloudFront's normalized form of the field.
package codings

import (
	"strconv"
	"strings"
)

// Accepts says Accept-Encoding (vs, its lines) lists coding (or *) with a
// non-zero q. coding is in lower case.
func Accepts(vs []string, coding string) bool {
	var a acceptance
	a.scan(vs, coding, "")
	return a.first.accepted(a.star)
}

// acceptance is what Accept-Encoding says of up to two codings: the
// first entry naming each decides it, else the last "*".
type acceptance struct {
	first, second, star verdict
}

// verdict is one entry's: unset, or its q non-zero or not.
type verdict struct{ set, nonZero bool }

func (v verdict) accepted(star verdict) bool {
	if v.set {
		return v.nonZero
	}
	return star.set && star.nonZero
}

// scan reads vs for the codings first and second ("" for none), without
// allocating: this runs on every request of a behavior whose cache
// policy keys the Accept-Encoding.
func (a *acceptance) scan(vs []string, first, second string) {
	for _, v := range vs {
		for v != "" {
			part := v
			if i := strings.IndexByte(v, ','); i >= 0 {
				part, v = v[:i], v[i+1:]
			} else {
				v = ""
			}
			name, params, _ := strings.Cut(part, ";")
			name = strings.TrimSpace(name)
			var d *verdict
			switch {
			case name == "*":
				d = &a.star
				d.set = false // the last one counts
			case strings.EqualFold(name, first):
				d = &a.first
			case second != "" && strings.EqualFold(name, second):
				d = &a.second
			default:
				continue
			}
			if !d.set {
				*d = verdict{set: true, nonZero: qNonZero(params)}
			}
		}
	}
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

// Normalize is the Accept-Encoding CloudFront keys and forwards for a
// viewer's (vs) under a cache policy that enables gzip and/or brotli:
// "br,gzip", "br" or "gzip", the enabled codings the viewer accepts, or
// "identity" when it accepts none of them (controlling-the-cache-key.md,
// "Cache compressed objects"). Every other value the viewer sent is
// dropped.
func Normalize(vs []string, gzip, brotli bool) string {
	if len(vs) == 1 {
		// Already normalized (the edge keys what it forwards).
		switch vs[0] {
		case "br,gzip", "br", "gzip", "identity":
			br := brotli && strings.HasPrefix(vs[0], "br")
			gz := gzip && strings.HasSuffix(vs[0], "gzip")
			return normalized(br, gz)
		}
	}
	var a acceptance
	a.scan(vs, "br", "gzip")
	return normalized(brotli && a.first.accepted(a.star), gzip && a.second.accepted(a.star))
}

func normalized(br, gz bool) string {
	switch {
	case br && gz:
		return "br,gzip"
	case br:
		return "br"
	case gz:
		return "gzip"
	}
	return "identity"
}

// The header values of Normalize's results, one shared slice each: cap
// 1, so a header map holding one cannot be appended to in place.
var (
	brGzipField   = []string{"br,gzip"}
	brField       = []string{"br"}
	gzipField     = []string{"gzip"}
	identityField = []string{"identity"}
)

// Field is normalized (a result of Normalize) as a header value, without
// allocating.
func Field(normalized string) []string {
	switch normalized {
	case "br,gzip":
		return brGzipField
	case "br":
		return brField
	case "gzip":
		return gzipField
	case "identity":
		return identityField
	}
	return []string{normalized}
}
