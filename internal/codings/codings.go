// Package codings reads Accept-Encoding: which content codings a request
// accepts, and CloudFront's normalized form of the field.
package codings

import (
	"strconv"
	"strings"
)

// Accepts says Accept-Encoding (vs, its lines) lists coding (or *) with a
// non-zero q.
func Accepts(vs []string, coding string) bool {
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

// Normalize is the Accept-Encoding CloudFront keys and forwards for a
// viewer's (vs) under a cache policy that enables gzip and/or brotli:
// "br,gzip", "br" or "gzip", the enabled codings the viewer accepts, or
// "identity" when it accepts none of them (controlling-the-cache-key.md,
// "Cache compressed objects"). Every other value the viewer sent is
// dropped.
func Normalize(vs []string, gzip, brotli bool) string {
	br := brotli && Accepts(vs, "br")
	gz := gzip && Accepts(vs, "gzip")
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
