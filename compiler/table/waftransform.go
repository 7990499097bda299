package table

import (
	"encoding/base64"
	"slices"
	"strings"
	"unicode/utf8"
)

// Text transformations (API_TextTransformation; the developer guide's
// waf-rule-statement-transformation describes each), applied "from the
// lowest priority to highest, before inspecting the transformed content".
// Each is a function chosen when the table is built. Those WAF leaves
// vague are left out, and vet says so: UTF8_TO_UNICODE (to what
// notation?), MD5 (a digest nothing inspects), BASE64_DECODE_EXT,
// ESCAPE_SEQ_DECODE, SQL_HEX_DECODE, REPLACE_COMMENTS.
var textTransformations = map[string]func(string) string{
	"NONE":                 nil,
	"LOWERCASE":            lowercase,
	"URL_DECODE":           urlDecode,
	"URL_DECODE_UNI":       urlDecodeUni,
	"COMPRESS_WHITE_SPACE": compressWhiteSpace,
	"HTML_ENTITY_DECODE":   htmlEntityDecode,
	"REMOVE_NULLS":         func(v string) string { return strings.ReplaceAll(v, "\x00", "") },
	"REPLACE_NULLS":        func(v string) string { return strings.ReplaceAll(v, "\x00", " ") },
	"CMD_LINE":             cmdLine,
	"NORMALIZE_PATH":       normalizePath,
	"NORMALIZE_PATH_WIN":   func(v string) string { return normalizePath(strings.ReplaceAll(v, `\`, "/")) },
	"BASE64_DECODE":        base64Decode,
	"HEX_DECODE":           hexDecode,
	"JS_DECODE":            jsDecode,
	"CSS_DECODE":           cssDecode,
}

// TextTransformations are the types openfront applies, sorted, for
// messages.
var TextTransformations = func() []string {
	var out []string
	for t := range textTransformations {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}()

// SupportedTextTransformation reports whether openfront applies the text
// transformation type t: vet and import read this one list.
func SupportedTextTransformation(t string) bool {
	_, ok := textTransformations[t]
	return ok
}

// lowercase is LOWERCASE: "Convert uppercase letters (A-Z) to lowercase
// (a-z)", and nothing else. strings.ToLower also folds other scripts (the
// Kelvin sign to k) and turns each byte that is not UTF-8, which
// URL_DECODE makes of %C0, into three (U+FFFD): a rule would see what
// WAF's does not, and a size constraint count more.
func lowercase(v string) string {
	i := 0
	for i < len(v) && (v[i] < 'A' || v[i] > 'Z') {
		i++
	}
	if i == len(v) {
		return v // no allocation on the request path
	}
	b := []byte(v)
	for ; i < len(b); i++ {
		if 'A' <= b[i] && b[i] <= 'Z' {
			b[i] += 'a' - 'A'
		}
	}
	return string(b)
}

// isSpace is COMPRESS_WHITE_SPACE's and CMD_LINE's white space: space,
// formfeed, tab, newline, carriage return, vertical tab.
func isSpace(c byte) bool {
	return c == ' ' || c == '\f' || c == '\t' || c == '\n' || c == '\r' || c == '\v'
}

// compressWhiteSpace is COMPRESS_WHITE_SPACE: formfeed, tab, newline,
// carriage return, vertical tab and non-breaking space (decimal 160, a
// byte or U+00A0) become a space, and runs of spaces one.
func compressWhiteSpace(v string) string {
	if !needsCompressing(v) {
		return v // most values: no allocation on the request path
	}
	return compressAll(v)
}

func compressAll(v string) string {
	b := make([]byte, 0, len(v))
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		nbsp := c == 0xA0
		if c == 0xC2 && i+1 < len(v) && v[i+1] == 0xA0 {
			nbsp = true
			i++
		}
		if isSpace(c) || nbsp {
			if !space {
				b = append(b, ' ')
			}
			space = true
			continue
		}
		space = false
		b = append(b, c)
	}
	return string(b)
}

// needsCompressing reports whether compressWhiteSpace changes v: it
// holds white space other than single spaces, or a non-breaking space.
func needsCompressing(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == 0xA0 || c != ' ' && isSpace(c) || c == ' ' && i > 0 && v[i-1] == ' ' {
			return true
		}
	}
	return false
}

// htmlEntityDecode is HTML_ENTITY_DECODE: &quot; &amp; &lt; &gt; &nbsp;
// and numeric &#nnnn; and &#xhhhh; (the semicolon optional for these, as
// browsers take them) become their characters; anything else stays.
func htmlEntityDecode(v string) string {
	i := strings.IndexByte(v, '&')
	if i < 0 {
		return v
	}
	var b strings.Builder
	b.WriteString(v[:i])
	for i < len(v) {
		if v[i] != '&' {
			b.WriteByte(v[i])
			i++
			continue
		}
		rest := v[i+1:]
		if r, n, ok := numericEntity(rest); ok {
			b.WriteRune(r)
			i += 1 + n
			continue
		}
		decoded := false
		for _, e := range [...]struct{ name, char string }{{"quot;", `"`}, {"amp;", "&"}, {"lt;", "<"}, {"gt;", ">"}, {"nbsp;", "\u00a0"}} {
			if len(rest) >= len(e.name) && strings.EqualFold(rest[:len(e.name)], e.name) {
				b.WriteString(e.char)
				i += 1 + len(e.name)
				decoded = true
				break
			}
		}
		if !decoded {
			b.WriteByte('&')
			i++
		}
	}
	return b.String()
}

// numericEntity reads "#nnnn;" or "#xhhhh;" at the start of s: the
// character and the bytes it took.
func numericEntity(s string) (rune, int, bool) {
	if len(s) < 2 || s[0] != '#' {
		return 0, 0, false
	}
	i, base := 1, 10
	if s[1] == 'x' || s[1] == 'X' {
		i, base = 2, 16
	}
	start := i
	var n rune
	for i < len(s) && i-start < 8 {
		d := hexDigit(s[i])
		if d < 0 || d >= base {
			break
		}
		n = n*rune(base) + rune(d)
		i++
	}
	if i == start {
		return 0, 0, false
	}
	if i < len(s) && s[i] == ';' {
		i++
	}
	if !utf8.ValidRune(n) {
		n = utf8.RuneError
	}
	return n, i, true
}

// hexDigit is c's value as a hexadecimal digit, -1 for none.
func hexDigit(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// hexValue is the value of s's hexadecimal digits, ok false when one is
// not.
func hexValue(s string) (n int, ok bool) {
	for i := 0; i < len(s); i++ {
		d := hexDigit(s[i])
		if d < 0 {
			return 0, false
		}
		n = n<<4 | d
	}
	return n, true
}

// wideByte is the byte URL_DECODE_UNI, JS_DECODE and CSS_DECODE make of a
// code point: "If the code is in the full-width ASCII code range of
// FF01-FF5E, the higher byte is used to detect and adjust the lower
// byte. Otherwise, only the lower byte is used and the higher byte is
// zeroed" (API_TextTransformation).
func wideByte(code int) byte {
	if code >= 0xFF01 && code <= 0xFF5E {
		return byte(code&0xFF) + 0x20
	}
	return byte(code)
}

// urlDecodeUni is URL_DECODE_UNI: URL_DECODE with Microsoft's %uHHHH.
func urlDecodeUni(v string) string {
	if strings.IndexByte(v, '%') < 0 {
		return v
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] == '%' {
			if i+5 < len(v) && (v[i+1] == 'u' || v[i+1] == 'U') {
				if code, ok := hexValue(v[i+2 : i+6]); ok {
					b = append(b, wideByte(code))
					i += 5
					continue
				}
			}
			if i+2 < len(v) {
				if d, ok := hexValue(v[i+1 : i+3]); ok {
					b = append(b, byte(d))
					i += 2
					continue
				}
			}
		}
		b = append(b, v[i])
	}
	return string(b)
}

// cmdLine is CMD_LINE: delete \ " ' ^, delete spaces before / and (,
// make , and ; a space, runs of spaces one, and A-Z lowercase.
func cmdLine(v string) string {
	if !cmdLineChanges(v) {
		return v // most values: no allocation on the request path
	}
	return cmdLineAll(v)
}

func cmdLineAll(v string) string {
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '\\' || c == '"' || c == '\'' || c == '^':
		case isSpace(c) || c == ',' || c == ';':
			if len(b) == 0 || b[len(b)-1] != ' ' {
				b = append(b, ' ')
			}
		case c == '/' || c == '(':
			for len(b) > 0 && b[len(b)-1] == ' ' {
				b = b[:len(b)-1]
			}
			b = append(b, c)
		default:
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b = append(b, c)
		}
	}
	return string(b)
}

// cmdLineChanges reports whether cmdLine changes v: it holds a character
// cmdLine deletes, replaces or lowercases, white space other than a
// space, or a space before another, a / or a (.
func cmdLineChanges(v string) bool {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case strings.IndexByte(`\"'^,;`, c) >= 0, 'A' <= c && c <= 'Z', c != ' ' && isSpace(c):
			return true
		case c == ' ' && i+1 < len(v) && (v[i+1] == ' ' || v[i+1] == '/' || v[i+1] == '('):
			return true
		}
	}
	return false
}

// normalizePath is NORMALIZE_PATH: "Remove multiple slashes, directory
// self-references, and directory back-references that are not at the
// beginning of the input": /a//b/./c/../d is /a/b/d, ../x stays.
func normalizePath(v string) string {
	if !strings.Contains(v, "//") && !strings.Contains(v, "/.") && !strings.HasPrefix(v, "./") && v != "." {
		return v
	}
	abs := strings.HasPrefix(v, "/")
	segs := strings.Split(v, "/")
	dir := false // ends in a directory: a trailing slash, . or ..
	var out []string
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case "", ".":
			dir = last
			continue
		case "..":
			dir = last
			if n := len(out); n > 0 && out[n-1] != ".." {
				out = out[:n-1]
				continue
			}
			if abs {
				continue // nothing above the root
			}
		default:
			dir = false
		}
		out = append(out, s)
	}
	p := strings.Join(out, "/")
	if abs {
		p = "/" + p
	}
	if dir && len(out) > 0 {
		p += "/"
	}
	return p
}

// base64Decode is BASE64_DECODE: the value's leading run of base64
// characters decoded (padding optional), as ModSecurity's base64Decode,
// whose transformations WAF's mirror; a value with none decodes to
// nothing.
func base64Decode(v string) string {
	n := 0
	for n < len(v) && strings.IndexByte(base64Alphabet, v[n]) >= 0 {
		n++
	}
	s := v[:n]
	if len(s)%4 == 1 {
		s = s[:len(s)-1] // one character makes no byte
	}
	b, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return ""
	}
	return string(b)
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// hexDecode is HEX_DECODE: pairs of hexadecimal digits become bytes, up to
// the first pair that is not; the rest stays.
func hexDecode(v string) string {
	b := make([]byte, 0, len(v)/2)
	i := 0
	for ; i+1 < len(v); i += 2 {
		d, ok := hexValue(v[i : i+2])
		if !ok {
			break
		}
		b = append(b, byte(d))
	}
	return string(b) + v[i:]
}

// jsDecode is JS_DECODE: \uHHHH (wideByte), \xHH, \OOO octal, \a \b \f
// \n \r \t \v, and \ before any other character that character.
func jsDecode(v string) string {
	if strings.IndexByte(v, '\\') < 0 {
		return v
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' || i+1 == len(v) {
			b = append(b, v[i])
			continue
		}
		c := v[i+1]
		switch {
		case (c == 'u' || c == 'U') && i+5 < len(v):
			if code, ok := hexValue(v[i+2 : i+6]); ok {
				b = append(b, wideByte(code))
				i += 5
				continue
			}
		case (c == 'x' || c == 'X') && i+3 < len(v):
			if d, ok := hexValue(v[i+2 : i+4]); ok {
				b = append(b, byte(d))
				i += 3
				continue
			}
		case '0' <= c && c <= '7':
			n, j := 0, i+1
			for j < len(v) && j < i+4 && '0' <= v[j] && v[j] <= '7' && n*8+int(v[j]-'0') <= 0377 {
				n = n*8 + int(v[j]-'0')
				j++
			}
			b = append(b, byte(n))
			i = j - 1
			continue
		}
		if e := strings.IndexByte("abfnrtv", c); e >= 0 {
			b = append(b, "\a\b\f\n\r\t\v"[e])
		} else {
			b = append(b, c)
		}
		i++
	}
	return string(b)
}

// cssDecode is CSS_DECODE, CSS 2.x escapes: \ and 1 to 6 hexadecimal
// digits (and one white space after them) a character, "using up to two
// bytes" (wideByte); \ before a newline nothing; \ before any other
// character that character (ja\vascript is javascript).
func cssDecode(v string) string {
	if strings.IndexByte(v, '\\') < 0 {
		return v
	}
	b := make([]byte, 0, len(v))
	for i := 0; i < len(v); i++ {
		if v[i] != '\\' {
			b = append(b, v[i])
			continue
		}
		if i+1 == len(v) {
			break // a lone backslash at the end is dropped
		}
		j := i + 1
		for j < len(v) && j < i+7 && hexDigit(v[j]) >= 0 {
			j++
		}
		if j > i+1 {
			code, _ := hexValue(v[i+1 : j])
			b = append(b, wideByte(code))
			if j < len(v) && isSpace(v[j]) {
				j++
			}
			i = j - 1
			continue
		}
		if v[i+1] != '\n' {
			b = append(b, v[i+1])
		}
		i++
	}
	return string(b)
}
