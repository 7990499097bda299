package signedurl

import (
	"strings"
)

// Signature query parameters, as CloudFront names them (case-sensitive).
const (
	ParamExpires       = "Expires"
	ParamPolicy        = "Policy"
	ParamSignature     = "Signature"
	ParamKeyPairID     = "Key-Pair-Id"
	ParamHashAlgorithm = "Hash-Algorithm"
)

// Signed cookies, as CloudFront names them.
const (
	CookieExpires       = "CloudFront-Expires"
	CookiePolicy        = "CloudFront-Policy"
	CookieSignature     = "CloudFront-Signature"
	CookieKeyPairID     = "CloudFront-Key-Pair-Id"
	CookieHashAlgorithm = "CloudFront-Hash-Algorithm"
)

// SignatureParams and SignatureCookies are removed from the origin request
// and from the cache key of a behavior with trusted key groups.
var (
	SignatureParams  = []string{ParamExpires, ParamPolicy, ParamSignature, ParamKeyPairID, ParamHashAlgorithm}
	SignatureCookies = []string{CookieExpires, CookiePolicy, CookieSignature, CookieKeyPairID, CookieHashAlgorithm}
)

// param indexes into credentials.v.
type param int

const (
	pExpires param = iota
	pPolicy
	pSignature
	pKeyPairID
	pHashAlgorithm
	nParams
)

func queryParam(name string) (param, bool) {
	switch name {
	case ParamExpires:
		return pExpires, true
	case ParamPolicy:
		return pPolicy, true
	case ParamSignature:
		return pSignature, true
	case ParamKeyPairID:
		return pKeyPairID, true
	case ParamHashAlgorithm:
		return pHashAlgorithm, true
	}
	return 0, false
}

func cookieParam(name string) (param, bool) {
	if !strings.HasPrefix(name, "CloudFront-") {
		return 0, false
	}
	switch name {
	case CookieExpires:
		return pExpires, true
	case CookiePolicy:
		return pPolicy, true
	case CookieSignature:
		return pSignature, true
	case CookieKeyPairID:
		return pKeyPairID, true
	case CookieHashAlgorithm:
		return pHashAlgorithm, true
	}
	return 0, false
}

// IsSignatureParam reports a query parameter name Verify consumes.
func IsSignatureParam(name string) bool { _, ok := queryParam(name); return ok }

// IsSignatureCookie reports a cookie name Verify consumes.
func IsSignatureCookie(name string) bool { _, ok := cookieParam(name); return ok }

// credentials are the raw (still percent-encoded) signature values of a request.
type credentials struct {
	v   [nParams]string
	has [nParams]bool
	// dup names a parameter given twice in the query, which is refused: the
	// viewer and the verifier must not disagree on which one counts.
	dup string
}

// fromQuery collects signature parameters from a raw query. It reports
// whether the query carries a signed URL: any of the five, Hash-Algorithm
// too, as CloudFront "assumes that URLs that contain any of those query
// string parameters are signed URLs, and therefore won't look at signed
// cookies" (private-content-choosing-signed-urls-cookies.md).
func (c *credentials) fromQuery(raw string) bool {
	signed := false
	for raw != "" {
		var seg string
		seg, raw, _ = strings.Cut(raw, "&")
		name, value, _ := strings.Cut(seg, "=")
		p, ok := queryParam(name)
		if !ok {
			continue
		}
		if c.has[p] && c.dup == "" {
			c.dup = name
		}
		c.v[p], c.has[p] = value, true
		signed = true
	}
	return signed
}

// fromCookies collects signed cookies from Cookie header lines. A browser
// sends cookies of the same name set for different paths most specific
// first (RFC 6265 5.4), so the first one counts.
func (c *credentials) fromCookies(lines []string) bool {
	found := false
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			part = strings.TrimSpace(part)
			name, value, ok := strings.Cut(part, "=")
			if !ok {
				continue
			}
			p, ok := cookieParam(name)
			if !ok || c.has[p] {
				continue
			}
			if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
				value = value[1 : len(value)-1]
			}
			c.v[p], c.has[p] = value, true
			found = found || p != pHashAlgorithm
		}
	}
	return found
}

// StripSignature removes the signature parameters from a raw query, wherever
// they are, keeping the other parameters in their order and encoding. It is
// the query for the origin request and the cache key. It does not allocate
// when the kept parameters come before the signature ones, as signers append them.
func StripSignature(rawQuery string) string {
	if end, ok := keptPrefix(rawQuery); ok {
		return rawQuery[:end]
	}
	b, _ := appendStripped(nil, rawQuery)
	return string(b)
}

// keptPrefix reports whether the kept parameters are a prefix of raw, and its end.
func keptPrefix(raw string) (end int, ok bool) {
	sawSig := false
	for pos := 0; ; {
		seg, _, more := strings.Cut(raw[pos:], "&")
		name, _, _ := strings.Cut(seg, "=")
		switch {
		case IsSignatureParam(name):
			sawSig = true
		case sawSig:
			return 0, false
		default:
			end = pos + len(seg)
		}
		if !more {
			return end, true
		}
		pos += len(seg) + 1
	}
}

// appendStripped appends the query without signature parameters to buf.
// kept reports whether any parameter, even an empty one, is left, which
// decides whether the signed resource ends in "?": a signer given
// "https://h/x?" appends "&Expires=...".
func appendStripped(buf []byte, raw string) (_ []byte, kept bool) {
	if raw == "" {
		return buf, false
	}
	for rest := raw; ; {
		seg, tail, more := strings.Cut(rest, "&")
		name, _, _ := strings.Cut(seg, "=")
		if !IsSignatureParam(name) {
			if kept {
				buf = append(buf, '&')
			}
			buf = append(buf, seg...)
			kept = true
		}
		if !more {
			return buf, kept
		}
		rest = tail
	}
}

// StripSignatureCookies removes the signed cookies from a Cookie header line,
// keeping the others in order; it returns "" when none is left.
func StripSignatureCookies(line string) string {
	if !strings.Contains(line, "CloudFront-") {
		return line
	}
	var b strings.Builder
	for line != "" {
		var part string
		part, line, _ = strings.Cut(line, ";")
		part = strings.TrimSpace(part)
		name, _, _ := strings.Cut(part, "=")
		if part == "" || IsSignatureCookie(name) {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(part)
	}
	return b.String()
}
