package table

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxPatternLen is CloudFront's limit (#Quotas.pathPatternLength), counted in
// characters as the schema's MaxRunes does.
const maxPatternLen = 255

// patKind selects Match's fast path for the pattern's shape.
type patKind uint8

const (
	patNone         patKind = iota // zero Pattern: matches nothing
	patAny                         // "/*"
	patExact                       // "/lit"
	patPrefix                      // "/lit*"
	patSuffix                      // "/*lit"
	patPrefixSuffix                // "/lit*lit"
	patGeneral                     // "/lit*seg*...*lit"
)

// Pattern is a compiled CloudFront path pattern; the zero value matches nothing.
//
// "*" matches any run of bytes (including "/"), "?" exactly one byte, the rest
// is literal and case-sensitive. Paths are compared percent-encoded, as
// MatchPath leaves them, so a byte is a character; CompilePattern
// normalizes the pattern the same way. The leading "/" is optional on both
// sides: a path without one, such as "" from an absolute URL with no path,
// is matched as if it had one.
//
// Pattern holds only strings and scalars, so it is comparable.
type Pattern struct {
	body string // normalised pattern, without its leading "/"
	kind patKind
	// pre and suf are the literals before the first and after the last '*'
	// of the body (norm without its "/"); mid is the non-empty segments in
	// between, joined by '*'. The Q flags record a '?' in them.
	pre, suf, mid    string
	preQ, sufQ, midQ bool
	min              int // shortest body that can match
}

// CompilePattern compiles a CloudFront path pattern. It fails for an empty
// pattern or one longer than 255 characters.
func CompilePattern(s string) (Pattern, error) {
	if s == "" {
		return Pattern{}, errors.New("path pattern is empty")
	}
	if n := utf8.RuneCountInString(s); n > maxPatternLen {
		return Pattern{}, fmt.Errorf("path pattern is %d characters, more than %d", n, maxPatternLen)
	}
	// Normalized as the paths it is matched against (MatchPath): written
	// with "%7E", "//" or a dot segment, it would match no request.
	return compilePattern(strings.TrimPrefix(MatchPath("/"+strings.TrimPrefix(s, "/")), "/")), nil
}

// CompileNamePattern compiles CloudFront's wildcards (* and ?) for names
// compared as they are, such as cookie names: nothing in them is a path
// to normalize ("sess%41*" matches "sess%41abc", not "sessAabc"). The
// edge compiles these per request: only a pattern with several '*'
// allocates.
func CompileNamePattern(s string) Pattern {
	return compilePattern(s)
}

// compilePattern compiles body, a normalized pattern without its leading "/".
func compilePattern(body string) Pattern {
	p := Pattern{body: body}
	first := strings.IndexByte(body, '*')
	if first < 0 {
		p.kind, p.pre, p.preQ, p.min = patExact, body, hasQ(body), len(body)
		return p
	}
	last := strings.LastIndexByte(body, '*')
	p.pre, p.suf = body[:first], body[last+1:]
	if first < last {
		// "**" is "*": drop the empty segments so Match never sees them.
		segs := strings.FieldsFunc(body[first+1:last], func(r rune) bool { return r == '*' })
		p.mid = strings.Join(segs, "*")
	}
	p.preQ, p.sufQ, p.midQ = hasQ(p.pre), hasQ(p.suf), hasQ(p.mid)
	p.min = len(p.pre) + len(p.suf) + len(p.mid) - strings.Count(p.mid, "*")
	switch {
	case p.mid != "":
		p.kind = patGeneral
	case p.pre == "" && p.suf == "":
		p.kind = patAny
	case p.suf == "":
		p.kind = patPrefix
	case p.pre == "":
		p.kind = patSuffix
	default:
		p.kind = patPrefixSuffix
	}
	return p
}

// String returns the normalised pattern, with its leading "/".
// The zero Pattern's is "".
func (p Pattern) String() string {
	if p.kind == patNone {
		return ""
	}
	return "/" + p.body
}

// Match reports whether path matches the whole pattern. It does not allocate.
func (p Pattern) Match(path string) bool {
	body := path
	if body != "" && body[0] == '/' {
		body = body[1:]
	}
	switch p.kind {
	case patAny:
		return true
	case patExact:
		if !p.preQ {
			return body == p.pre
		}
		return len(body) == len(p.pre) && patEq(p.pre, body, true)
	case patPrefix:
		return len(body) >= len(p.pre) && patEq(p.pre, body[:len(p.pre)], p.preQ)
	case patSuffix:
		return len(body) >= len(p.suf) && patEq(p.suf, body[len(body)-len(p.suf):], p.sufQ)
	case patPrefixSuffix:
		return len(body) >= p.min &&
			patEq(p.pre, body[:len(p.pre)], p.preQ) &&
			patEq(p.suf, body[len(body)-len(p.suf):], p.sufQ)
	case patGeneral:
		if len(body) < p.min ||
			!patEq(p.pre, body[:len(p.pre)], p.preQ) ||
			!patEq(p.suf, body[len(body)-len(p.suf):], p.sufQ) {
			return false
		}
		_, _, ok := p.matchMid(body[len(p.pre) : len(body)-len(p.suf)])
		return ok
	}
	return false
}

// matchMid places each middle segment at its leftmost fit in t. Leftmost is
// always safe because the star after a segment absorbs whatever follows it, so
// this is the greedy wildcard algorithm without any backtracking: O(len(t)) per
// '?'-free segment (strings.Index), O(len(t)*len(seg)) at worst otherwise. On
// failure it returns the segment that did not fit and its offset in t.
func (p Pattern) matchMid(t string) (seg string, off int, ok bool) {
	mid := p.mid
	for mid != "" {
		seg = mid
		if i := strings.IndexByte(mid, '*'); i >= 0 {
			seg, mid = mid[:i], mid[i+1:]
		} else {
			mid = ""
		}
		j := patIndex(t[off:], seg, p.midQ && hasQ(seg))
		if j < 0 {
			return seg, off, false
		}
		off += j + len(seg)
	}
	return "", off, true
}

func hasQ(s string) bool { return strings.IndexByte(s, '?') >= 0 }

// patEq reports whether s (of len(seg)) matches seg; q says seg holds a '?'.
func patEq(seg, s string, q bool) bool {
	if !q {
		return seg == s
	}
	return patDiff(seg, s) < 0
}

// patDiff returns the first index where s does not match seg, or -1 if none
// does within the shorter of the two.
func patDiff(seg, s string) int {
	n := min(len(seg), len(s))
	for i := 0; i < n; i++ {
		if seg[i] != '?' && seg[i] != s[i] {
			return i
		}
	}
	return -1
}

// patIndex returns the leftmost i where s[i:] starts with a match of seg, or -1.
func patIndex(s, seg string, q bool) int {
	if !q {
		return strings.Index(s, seg)
	}
	last := len(s) - len(seg) // last possible start
	if last < 0 {
		return -1
	}
	// Skip to candidates with IndexByte on the first literal byte of seg.
	k := strings.IndexFunc(seg, func(r rune) bool { return r != '?' })
	if k < 0 {
		return 0
	}
	c := seg[k]
	for i := 0; i <= last; i++ {
		j := strings.IndexByte(s[i+k:last+k+1], c)
		if j < 0 {
			return -1
		}
		i += j
		if patDiff(seg, s[i:i+len(seg)]) < 0 {
			return i
		}
	}
	return -1
}

// Explain says why path does not match ("matches" if it does), for
// `openfront route`. Byte offsets count in the path with its leading "/".
func (p Pattern) Explain(path string) string {
	if p.kind == patNone {
		return "zero Pattern matches nothing"
	}
	body, note := path, ""
	if body != "" && body[0] == '/' {
		body = body[1:]
	} else {
		note = fmt.Sprintf("path %q is read as %q: ", path, "/"+path)
	}
	why := p.explain(body)
	if why == "" {
		return "matches"
	}
	return note + why
}

// explain returns "" if body matches; offsets it reports are body index + 1.
func (p Pattern) explain(body string) string {
	need := p.min + 1 // in bytes of the path, with its "/"
	if p.kind == patExact {
		if i := patDiff(p.pre, body); i >= 0 {
			return fmt.Sprintf("literal %q differs at byte %d", "/"+p.pre, i+1)
		}
		switch {
		case len(body) < len(p.pre):
			return fmt.Sprintf("path too short: literal %q is %d bytes, path is %d", "/"+p.pre, need, len(body)+1)
		case len(body) > len(p.pre):
			return fmt.Sprintf("path continues past literal %q at byte %d", "/"+p.pre, need)
		}
		return ""
	}
	if i := patDiff(p.pre, body); i >= 0 {
		return fmt.Sprintf("literal prefix %q differs at byte %d", "/"+p.pre, i+1)
	}
	if len(body) < p.min {
		return fmt.Sprintf("path too short: pattern needs at least %d bytes, path is %d", need, len(body)+1)
	}
	tail := len(body) - len(p.suf)
	if i := patDiff(p.suf, body[tail:]); i >= 0 {
		return fmt.Sprintf("literal suffix %q differs at byte %d", p.suf, tail+i+1)
	}
	if p.kind != patGeneral {
		return ""
	}
	start := len(p.pre)
	if seg, off, ok := p.matchMid(body[start:tail]); !ok {
		return fmt.Sprintf("segment %q not found between byte %d and byte %d", seg, start+off+1, tail+1)
	}
	return ""
}
