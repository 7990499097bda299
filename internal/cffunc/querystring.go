package cffunc

import (
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// CloudFront's querystring module (functions-javascript-runtime-10.md,
// "Query string"): Node's parse/decode, stringify/encode, escape and
// unescape, with Node's semantics: a repeated key gives an array, '+'
// is a space when parsing, bad percent-escapes are kept as they are.

func init() { modules["querystring"] = querystringModule }

func querystringModule(f *Function, v *vm) (goja.Value, error) {
	rt := v.rt
	m := rt.NewObject()
	// The module's own escape and unescape, which a function may replace
	// on the module as in Node, are what parse and stringify call.
	call := func(name string, s string) string {
		fn, ok := goja.AssertFunction(m.Get(name))
		if !ok {
			panic(rt.NewTypeError("querystring.%s is not a function", name))
		}
		v, err := fn(m, rt.ToValue(s))
		if err != nil {
			panic(err)
		}
		return v.String()
	}
	m.Set("escape", func(v goja.Value) string { return qsEscape(v.String()) })
	m.Set("unescape", func(v goja.Value) string { return qsUnescape(v.String()) })
	parse := func(c goja.FunctionCall) goja.Value {
		sep, eq := qsArg(c.Argument(1), "&"), qsArg(c.Argument(2), "=")
		maxKeys := 1000
		decode := func(s string) string { return call("unescape", s) }
		if o, ok := c.Argument(3).(*goja.Object); ok {
			if n := o.Get("maxKeys"); n != nil && goja.IsNumber(n) {
				maxKeys = int(n.ToInteger())
			}
			if fn, ok := goja.AssertFunction(o.Get("decodeURIComponent")); ok {
				decode = func(s string) string {
					v, err := fn(goja.Undefined(), rt.ToValue(s))
					if err != nil {
						// Node falls back to its own unescape.
						return qsUnescape(s)
					}
					return v.String()
				}
			}
		}
		if maxKeys <= 0 {
			maxKeys = math.MaxInt
		}
		out := rt.NewObject()
		out.SetPrototype(nil) // as Node's: "__proto__" is a key like any
		str := c.Argument(0)
		if !goja.IsString(str) || str.String() == "" {
			return out
		}
		for i, pair := range strings.Split(str.String(), sep) {
			if i >= maxKeys {
				break
			}
			if pair == "" {
				continue
			}
			k, v, _ := strings.Cut(pair, eq)
			key := decode(strings.ReplaceAll(k, "+", "%20"))
			val := rt.ToValue(decode(strings.ReplaceAll(v, "+", "%20")))
			switch old := out.Get(key); {
			case old == nil:
				out.Set(key, val)
			case isArray(rt, old):
				o := old.ToObject(rt)
				o.Set(strconv.FormatInt(o.Get("length").ToInteger(), 10), val)
			default:
				out.Set(key, rt.NewArray(old, val))
			}
		}
		return out
	}
	stringify := func(c goja.FunctionCall) goja.Value {
		sep, eq := qsArg(c.Argument(1), "&"), qsArg(c.Argument(2), "=")
		encode := func(s string) string { return call("escape", s) }
		if o, ok := c.Argument(3).(*goja.Object); ok {
			if fn, ok := goja.AssertFunction(o.Get("encodeURIComponent")); ok {
				encode = func(s string) string {
					v, err := fn(goja.Undefined(), rt.ToValue(s))
					if err != nil {
						panic(err)
					}
					return v.String()
				}
			}
		}
		obj, ok := c.Argument(0).(*goja.Object)
		if !ok {
			return rt.ToValue("")
		}
		var b strings.Builder
		field := func(ks string, v goja.Value) {
			if b.Len() > 0 {
				b.WriteString(sep)
			}
			b.WriteString(ks)
			b.WriteString(encode(qsPrimitive(v)))
		}
		for _, k := range obj.Keys() {
			ks := encode(k) + eq
			v := obj.Get(k)
			if isArray(rt, v) {
				a := v.ToObject(rt)
				for i := range a.Get("length").ToInteger() {
					field(ks, a.Get(strconv.FormatInt(i, 10)))
				}
				continue
			}
			field(ks, v)
		}
		return rt.ToValue(b.String())
	}
	m.Set("parse", parse)
	m.Set("decode", parse)
	m.Set("stringify", stringify)
	m.Set("encode", stringify)
	return m, nil
}

func isArray(rt *goja.Runtime, v goja.Value) bool {
	o, ok := v.(*goja.Object)
	return ok && o.ClassName() == "Array"
}

// qsArg is a separator argument, or its default when not a non-empty
// string.
func qsArg(v goja.Value, def string) string {
	if goja.IsString(v) && v.String() != "" {
		return v.String()
	}
	return def
}

// qsPrimitive is Node's stringifyPrimitive: strings, finite numbers,
// bigints and booleans as themselves, anything else empty.
func qsPrimitive(v goja.Value) string {
	switch x := v.Export().(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int64:
		return v.String()
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return ""
		}
		return v.String()
	case *big.Int:
		return x.String()
	}
	return ""
}

// qsEscape is encodeURIComponent: all but A-Z a-z 0-9 - _ . ! ~ * ' ( ).
func qsEscape(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// qsUnescape decodes %XX escapes, keeps malformed ones as they are and
// replaces bytes that are not UTF-8 by U+FFFD, as Node's unescape.
func qsUnescape(s string) string {
	if strings.IndexByte(s, '%') < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return validUTF8(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// validUTF8 is b as text, each byte that is not UTF-8 a U+FFFD.
func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		sb.WriteRune(r) // RuneError is U+FFFD
		b = b[n:]
	}
	return sb.String()
}
