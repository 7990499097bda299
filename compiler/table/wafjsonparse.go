package table

import (
	"encoding/binary"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonParser reads a body as JSON into a jsonDoc's tokens. It takes what
// encoding/json's Decoder.Token takes, up to the same first error, and
// decodes strings as it does (invalid UTF-8 and lone surrogates become
// U+FFFD), so that what a rule sees did not change when it replaced
// Token, which allocated a few hundred bytes per value. As with Token, an
// empty body is an empty, valid document, a value is complete when its
// last byte is read (`[1x` gives 1, then the error), and nesting has no
// limit. FuzzJSONBodyParse holds it to encoding/json.
type jsonParser struct {
	data []byte
	i    int
	out  strings.Builder
	open []byte // jsonObject or jsonArray per open container
}

// parseJSON is data parsed; its tokens stop at the first error.
func parseJSON(data []byte) *jsonDoc {
	p := &jsonParser{data: data}
	// The tokens are rarely longer than the body: a key or a value loses
	// its quotes and separator and gains a tag and a length.
	p.out.Grow(len(data) + 16)
	valid := p.document()
	return &jsonDoc{tokens: p.out.String(), invalid: !valid}
}

// document reads one value and the space after it.
func (p *jsonParser) document() bool {
	if p.space(); p.i == len(p.data) {
		return true
	}
	for {
		// A value.
		if p.space(); p.i == len(p.data) {
			return false
		}
		switch c := p.data[p.i]; c {
		case '{', '[':
			p.i++
			p.out.WriteByte(c)
			p.open = append(p.open, c)
			if p.space(); p.i < len(p.data) && p.data[p.i] == c+2 { // '}' or ']'
				p.i++
				p.close()
				break
			}
			if c == '{' && !p.key() {
				return false
			}
			continue
		default:
			if !p.scalar() {
				return false
			}
		}
		// After a value: a separator then the next, or the container's end.
	after:
		for {
			p.space()
			if len(p.open) == 0 {
				return p.i == len(p.data) // else a second document, or garbage
			}
			if p.i == len(p.data) {
				return false
			}
			c, top := p.data[p.i], p.open[len(p.open)-1]
			switch {
			case c == ',':
				p.i++
				if top == '{' && !p.key() {
					return false
				}
				break after
			case c == top+2:
				p.i++
				p.close()
			default:
				return false
			}
		}
	}
}

func (p *jsonParser) close() {
	p.out.WriteByte(jsonEnd)
	p.open = p.open[:len(p.open)-1]
}

// space skips JSON's white space.
func (p *jsonParser) space() {
	for p.i < len(p.data) && strings.IndexByte(" \t\r\n", p.data[p.i]) >= 0 {
		p.i++
	}
}

// key reads a member's key, which is a token as soon as it is read, and
// its colon.
func (p *jsonParser) key() bool {
	if p.space(); p.i == len(p.data) || p.data[p.i] != '"' || !p.str(jsonKey) {
		return false
	}
	if p.space(); p.i == len(p.data) || p.data[p.i] != ':' {
		return false
	}
	p.i++
	return true
}

func (p *jsonParser) emit(tag byte, text []byte) {
	p.head(tag, len(text))
	p.out.Write(text)
}

// head starts a token of tag whose text has n bytes.
func (p *jsonParser) head(tag byte, n int) {
	var b [binary.MaxVarintLen64]byte
	p.out.WriteByte(tag)
	p.out.Write(binary.AppendUvarint(b[:0], uint64(n)))
}

// scalar reads a string, a number or a literal.
func (p *jsonParser) scalar() bool {
	d, start := p.data, p.i
	switch c := d[p.i]; {
	case c == '"':
		return p.str(jsonValue)
	case c == '-' || '0' <= c && c <= '9':
		if !p.number() {
			return false
		}
	default:
		lit := ""
		switch c {
		case 't':
			lit = "true"
		case 'f':
			lit = "false"
		case 'n':
			lit = "null"
		}
		if lit == "" || len(d)-p.i < len(lit) || string(d[p.i:p.i+len(lit)]) != lit {
			return false
		}
		p.i += len(lit)
	}
	p.emit(jsonValue, d[start:p.i])
	return true
}

// number reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?, which ends
// at the first byte that cannot go on.
func (p *jsonParser) number() bool {
	d := p.data
	if d[p.i] == '-' {
		p.i++
	}
	if p.i == len(d) {
		return false
	}
	if d[p.i] == '0' {
		p.i++
	} else if !p.digits() {
		return false
	}
	if p.i < len(d) && d[p.i] == '.' {
		p.i++
		if !p.digits() {
			return false
		}
	}
	if p.i < len(d) && (d[p.i] == 'e' || d[p.i] == 'E') {
		p.i++
		if p.i < len(d) && (d[p.i] == '+' || d[p.i] == '-') {
			p.i++
		}
		if !p.digits() {
			return false
		}
	}
	return true
}

// digits reads one or more decimal digits.
func (p *jsonParser) digits() bool {
	start := p.i
	for p.i < len(p.data) && '0' <= p.data[p.i] && p.data[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// str reads the string at the quote at p.i as a token of tag. Most
// strings are their text; the others are decoded twice, once for their
// length and once into the tokens, so no copy is kept.
func (p *jsonParser) str(tag byte) bool {
	d, end := p.data, p.i+1
	for end < len(d) && d[end] != '"' && d[end] != '\\' && d[end] >= ' ' {
		end++
	}
	if end < len(d) && d[end] == '"' && utf8.Valid(d[p.i+1:end]) {
		p.emit(tag, d[p.i+1:end])
		p.i = end + 1
		return true
	}
	n, _, ok := p.decode(nil)
	if !ok {
		return false
	}
	p.head(tag, n)
	p.out.Grow(n)
	_, p.i, _ = p.decode(&p.out)
	return true
}

// decode reads the string at the quote at p.i, writing its text to out
// unless nil: its length, and where the string ends.
func (p *jsonParser) decode(out *strings.Builder) (n, end int, ok bool) {
	put := func(r rune) {
		if out != nil {
			out.WriteRune(r)
		}
		n += utf8.RuneLen(r)
	}
	d := p.data
	for i := p.i + 1; i < len(d); {
		switch c := d[i]; {
		case c == '"':
			return n, i + 1, true
		case c < ' ':
			return 0, 0, false
		case c == '\\':
			if i+1 == len(d) {
				return 0, 0, false
			}
			// The escapes of one byte, and what each stands for.
			const escapes, means = "\"\\/bfnrt", "\"\\/\b\f\n\r\t"
			if k := strings.IndexByte(escapes, d[i+1]); k >= 0 {
				put(rune(means[k]))
				i += 2
				break
			}
			r := jsonU4(d[i:])
			if r < 0 {
				return 0, 0, false
			}
			i += 6
			if utf16.IsSurrogate(r) {
				// A pair, else U+FFFD for the first, as encoding/json.
				if r2 := utf16.DecodeRune(r, jsonU4(d[i:])); r2 != utf8.RuneError {
					r, i = r2, i+6
				} else {
					r = utf8.RuneError
				}
			}
			put(r)
		default:
			r, size := utf8.DecodeRune(d[i:])
			put(r)
			i += size
		}
	}
	return 0, 0, false
}

// jsonU4 is the rune of a \uXXXX at the start of s, or -1.
func jsonU4(s []byte) rune {
	if len(s) < 6 || s[0] != '\\' || s[1] != 'u' {
		return -1
	}
	var r rune
	for _, c := range s[2:6] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
