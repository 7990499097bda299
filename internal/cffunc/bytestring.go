package cffunc

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// cloudfront-js-1.0's nonstandard string methods, njs's byte strings
// ("The following nonstandard methods on strings are supported",
// functions-javascript-runtime-10.md): String.bytesFrom, and
// String.prototype's fromBytes, fromUTF8, toBytes and toUTF8. 1.0 has no
// Buffer or atob: these are how its functions decode base64url (a JWT's
// parts, AWS's samples) or take an HMAC key in hex. 2.0 has none of them.
//
// njs tells a byte string from a text string by its type; goja has one
// string type. A byte string is held here as the text string of its
// bytes, one character of 0-255 each, and remembered (byteStrings) so
// that fromUTF8 decodes it and crypto takes it as its bytes, as njs does.

// byteMethods are the methods a 1.0 function may name.
var byteMethods = []string{"bytesFrom", "fromBytes", "fromUTF8", "toBytes", "toUTF8"}

// maxByteStrings bounds what a runtime remembers, its top-level code's
// and a run's each: a run is bounded by its budget, not its memory.
const maxByteStrings = 4096

// byteStrings are the byte strings a runtime made: those of its
// top-level code for all its runs (a key decoded once), those of a run
// until it ends. An ASCII string is the same either way, and not kept.
type byteStrings struct {
	kept, run map[string]struct{}
	// running: the top-level code has run; what is made now is a run's.
	running bool
}

func (b *byteStrings) add(s string) {
	if !hasHighByte(s) {
		return
	}
	m := &b.kept
	if b.running {
		m = &b.run
	}
	if *m == nil {
		*m = map[string]struct{}{}
	}
	if len(*m) >= maxByteStrings {
		// The newest are the ones a function is about to use: the set
		// starts again rather than refuse them.
		clear(*m)
	}
	(*m)[s] = struct{}{}
}

func (b *byteStrings) has(s string) bool {
	if _, ok := b.kept[s]; ok {
		return true
	}
	_, ok := b.run[s]
	return ok
}

// endRun forgets the byte strings of the run that ended.
func (b *byteStrings) endRun() {
	if len(b.run) > 0 {
		clear(b.run)
	}
}

func hasHighByte(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return true
		}
	}
	return false
}

// enableByteStrings gives a 1.0 runtime the methods of byteMethods that
// its code names (namesIn): a function reaches them by name only, and a
// runtime is made on every miss of the pool.
func enableByteStrings(m *vm, names []string) {
	if len(names) == 0 {
		return
	}
	rt := m.rt
	str := rt.Get("String").ToObject(rt)
	proto := str.Get("prototype").ToObject(rt)
	for _, name := range names {
		fn := rt.ToValue(byteMethod(m, name))
		proto.DefineDataProperty(name, fn, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
		if name == "bytesFrom" {
			// njs's is String.bytesFrom; CloudFront's page lists it
			// with the prototype's.
			str.DefineDataProperty(name, fn, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
		}
	}
}

func byteMethod(m *vm, name string) func(goja.FunctionCall) goja.Value {
	rt := m.rt
	bytes := func(b []byte) goja.Value {
		s := latin1Codec.encode(b)
		m.bytes.add(s)
		return rt.ToValue(s)
	}
	switch name {
	case "bytesFrom":
		return func(call goja.FunctionCall) goja.Value {
			v := call.Argument(0)
			if isString(v) {
				return bytes(bytesFromString(rt, v.String(), call.Argument(1)))
			}
			o, ok := v.(*goja.Object)
			if !ok {
				panic(rt.NewTypeError("value must be a string or array-like object"))
			}
			if b, ok := bytesOf(o); ok {
				return bytes(b)
			}
			n := o.Get("length").ToInteger()
			if n > maxAlloc {
				// The loop below runs in Go, past the time budget's reach,
				// and CloudFront gives a function 2 MB of memory.
				panic(newError(rt, "RangeError", fmt.Sprintf("an array-like of %d bytes is over the function's %d bytes of memory", n, maxAlloc)))
			}
			b := make([]byte, max(n, 0))
			for i := range b {
				if x := o.Get(strconv.Itoa(i)); x != nil {
					b[i] = byte(x.ToInteger())
				}
			}
			return bytes(b)
		}
	case "fromBytes":
		// A byte string's characters are its bytes already.
		return func(call goja.FunctionCall) goja.Value {
			return rt.ToValue(sliceArgs(thisString(rt, call, name), call))
		}
	case "toBytes":
		return func(call goja.FunctionCall) goja.Value {
			s := thisString(rt, call, name)
			sl := sliceArgs(s, call)
			if !m.bytes.has(s) && strings.ContainsFunc(sl, func(r rune) bool { return r > 0xff }) {
				return goja.Null()
			}
			m.bytes.add(sl)
			return rt.ToValue(sl)
		}
	case "toUTF8":
		return func(call goja.FunctionCall) goja.Value {
			s := thisString(rt, call, name)
			sl := sliceArgs(s, call)
			if m.bytes.has(s) {
				m.bytes.add(sl)
				return rt.ToValue(sl)
			}
			return bytes([]byte(sl))
		}
	case "fromUTF8":
		return func(call goja.FunctionCall) goja.Value {
			s := thisString(rt, call, name)
			sl := sliceArgs(s, call)
			if !m.bytes.has(s) {
				return rt.ToValue(sl) // a text string already
			}
			b := latin1Decode(sl)
			if !utf8.Valid(b) {
				return goja.Null()
			}
			return rt.ToValue(string(b))
		}
	}
	panic("no byte string method " + name)
}

// bytesFromString decodes s as enc, hex, base64 or base64url, up to its
// first character that is not of the encoding, as njs does.
func bytesFromString(rt *goja.Runtime, s string, enc goja.Value) []byte {
	if !goja.IsString(enc) {
		panic(rt.NewTypeError(`"encoding" must be a string`))
	}
	switch enc.String() {
	case "hex":
		n := 0
		for n+1 < len(s) && isHex(s[n]) && isHex(s[n+1]) {
			n += 2
		}
		b, _ := hex.DecodeString(s[:n])
		return b
	case "base64":
		return base64Prefix(base64.RawStdEncoding, "+/", s)
	case "base64url":
		return base64Prefix(base64.RawURLEncoding, "-_", s)
	}
	panic(rt.NewTypeError(`Unknown encoding: "%s"`, enc.String()))
}

// base64Prefix decodes the part of s before its first character not of
// the alphabet (padding included) that is whole characters.
func base64Prefix(enc *base64.Encoding, extra, s string) []byte {
	n := strings.IndexFunc(s, func(r rune) bool {
		return !('A' <= r && r <= 'Z' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || strings.ContainsRune(extra, r))
	})
	if n < 0 {
		n = len(s)
	}
	if n%4 == 1 {
		n--
	}
	b, _ := enc.DecodeString(s[:n])
	return b
}

// thisString is the string a method was called on; undefined and null
// are a TypeError, as njs's.
func thisString(rt *goja.Runtime, call goja.FunctionCall, name string) string {
	if !defined(call.This) {
		panic(rt.NewTypeError("String.prototype.%s called on null or undefined", name))
	}
	return call.This.String()
}

// sliceArgs is s cut by the method's start and end arguments, in
// UTF-16 units, as String.prototype.slice cuts.
func sliceArgs(s string, call goja.FunctionCall) string {
	if len(call.Arguments) == 0 {
		return s
	}
	u := utf16.Encode([]rune(s))
	n := int64(len(u))
	at := func(v goja.Value, def int64) int64 {
		if goja.IsUndefined(v) {
			return def
		}
		i := v.ToInteger()
		if i < 0 {
			i += n
		}
		return min(max(i, 0), n)
	}
	start, end := at(call.Argument(0), 0), at(call.Argument(1), n)
	if start >= end {
		return ""
	}
	return string(utf16.Decode(u[start:end]))
}
