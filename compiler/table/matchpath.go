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
// and "." and ".." segments are removed (5.2.4); other escapes stay,
// their hex digits in upper case (6.2.2.1; "%2F" is not a "/"). It
// returns path itself, without allocating, when there is nothing to
// normalize.
func MatchPath(path string) string {
	if !needsNormalizing(path) {
		return path
	}
	var b strings.Builder
	b.Grow(len(path))
	for i := 0; i < len(path); i++ {
		if c := path[i]; c == '%' && i+2 < len(path) {
			if d, err := strconv.ParseUint(path[i+1:i+3], 16, 8); err == nil {
				if unreserved(byte(d)) {
					b.WriteByte(byte(d))
				} else {
					// Hex digits in upper case (6.2.2.1): "%e6" is "%E6"
					// to an origin, so it must not miss "/%E6%97%A5/*".
					b.WriteByte('%')
					b.WriteByte(upperHex(path[i+1]))
					b.WriteByte(upperHex(path[i+2]))
				}
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

// upperHex is hex digit c in upper case.
func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - ('a' - 'A')
	}
	return c
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

// HiddenBehavior is the edge's reason for its 400 to a path that
// HidesBehavior: a dot segment behind an encoded slash, or an encoded
// slash that decoded would match another behavior.
const HiddenBehavior = "The request's path has an encoded slash (%2F or %5C) that would take it out of its behavior."

// HidesBehavior reports whether path, which matched d's behavior b, says
// another behavior's path to an origin that decodes encoded slashes: a
// dot segment behind one (hidesDotSegment), or a path that, once "%2F"
// and "%5C" are taken for "/", matches another of d's behaviors
// ("/private%2Fa.txt" and "/%2Fprivate/a.txt" are /private/a.txt to
// nginx, and S3's key "private/a.txt"). The edge refuses such a path
// rather than skip the other behavior's access rules. A path without
// "%" costs one scan.
func (d *Distribution) HidesBehavior(path string, b *Behavior) bool {
	if strings.IndexByte(path, '%') < 0 {
		return false
	}
	if hidesDotSegment(path) {
		return true
	}
	decoded, ok := decodeSlashes(path)
	return ok && d.Behavior(decoded) != b
}

// decodeSlashes is path with its encoded slashes ("%2F", and "%5C",
// which some origins take for "/") decoded to "/"; ok is false when it
// has none.
func decodeSlashes(path string) (decoded string, ok bool) {
	var sb strings.Builder
	last := 0
	for i := 0; i+2 < len(path); i++ {
		if path[i] == '%' && encodedSlash(path[i+1:i+3]) {
			sb.WriteString(path[last:i])
			sb.WriteByte('/')
			last, ok = i+3, true
			i += 2
		}
	}
	if !ok {
		return path, false
	}
	sb.WriteString(path[last:])
	return sb.String(), true
}

// hidesDotSegment reports whether path has a "." or ".." segment that
// MatchPath did not remove because an encoded slash ("%2F", or "%5C",
// which some origins take for "/") bounds it. An origin that decodes
// them before it resolves dot segments (nginx does) takes
// /x%2F..%2Fprivate/a for /private/a, which the behavior of /private/*
// never saw: the edge refuses such a path. Encoded slashes without a dot
// segment (S3 keys) are left to HidesBehavior's other check. A path
// without "%" costs one scan.
func hidesDotSegment(path string) bool {
	if strings.IndexByte(path, '%') < 0 {
		return false
	}
	m := MatchPath(path) // unreserved escapes decoded: "%2E" is "."
	seg := 0             // where the current segment starts
	for i := 0; i <= len(m); i++ {
		sep := 0
		switch {
		case i == len(m) || m[i] == '/':
			sep = 1
		case m[i] == '%' && i+2 < len(m) && encodedSlash(m[i+1:i+3]):
			sep = 3
		default:
			continue
		}
		if s := m[seg:i]; s == "." || s == ".." {
			return true
		}
		i += sep - 1
		seg = i + 1
	}
	return false
}

// encodedSlash: hex is the escape of "/" or "\".
func encodedSlash(hex string) bool {
	switch hex {
	case "2F", "2f", "5C", "5c":
		return true
	}
	return false
}

// HasDotSegment reports whether path has a "." or ".." segment, its dots
// escaped (%2E) or not: a path that resolves elsewhere than it reads.
func HasDotSegment(path string) bool {
	for seg := range strings.SplitSeq(path, "/") {
		if len(seg) > 6 || !strings.HasPrefix(seg, ".") && !strings.HasPrefix(seg, "%") {
			continue
		}
		seg = strings.ReplaceAll(strings.ReplaceAll(seg, "%2E", "."), "%2e", ".")
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}
