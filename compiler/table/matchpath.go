package table

import (
	"strconv"
	"strings"
)

// MatchPath is path as behaviors' path patterns see it. CloudFront
// "normalizes URI paths consistent with RFC 3986" before it matches a
// pattern ("Some characters are normalized and removed from the path,
// such as multiple slashes (//) or periods (..)", DownloadDistValuesCacheBehavior.html,
// Path pattern), and sends the raw path to the origin. An origin resolves
// "/x/../private/a" to "/private/a": matched raw, it would skip the
// behavior of "/private/*" and its signed URLs. So escapes of unreserved
// characters are decoded (RFC 3986 6.2.2.2), runs of "/" count as one,
// and "." and ".." segments are removed (5.2.4); other escapes stay as
// sent ("%2F" is not a "/"). It returns path itself, without allocating,
// when there is nothing to normalize.
func MatchPath(path string) string {
	if !needsNormalizing(path) {
		return path
	}
	var b strings.Builder
	b.Grow(len(path))
	for i := 0; i < len(path); i++ {
		if c := path[i]; c == '%' && i+2 < len(path) {
			if d, err := strconv.ParseUint(path[i+1:i+3], 16, 8); err == nil && unreserved(byte(d)) {
				b.WriteByte(byte(d))
				i += 2
				continue
			}
		}
		b.WriteByte(path[i])
	}
	segs := strings.Split(strings.TrimPrefix(b.String(), "/"), "/")
	kept := segs[:0]
	trailing := false // the path ends in "/" once normalized
	for _, s := range segs {
		switch s {
		case "", ".":
			trailing = true
			continue
		case "..":
			if len(kept) > 0 {
				kept = kept[:len(kept)-1]
			}
			trailing = true
			continue
		}
		kept = append(kept, s)
		trailing = false
	}
	out := "/" + strings.Join(kept, "/")
	if trailing && len(kept) > 0 {
		out += "/"
	}
	return out
}

// needsNormalizing reports whether MatchPath could change path: an
// escape, a "//", or a "." or ".." segment.
func needsNormalizing(path string) bool {
	if strings.IndexByte(path, '%') >= 0 || strings.Contains(path, "//") {
		return true
	}
	for i := 0; i < len(path); i++ {
		if path[i] != '.' || i > 0 && path[i-1] != '/' {
			continue
		}
		j := i + 1
		if j < len(path) && path[j] == '.' {
			j++
		}
		if j == len(path) || path[j] == '/' {
			return true
		}
	}
	return false
}

// unreserved: RFC 3986 2.3's ALPHA / DIGIT / "-" / "." / "_" / "~".
func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}
