package cffunc

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/dop251/goja"
	"github.com/dop251/goja_nodejs/buffer"
)

// cloudfront-js-2.0 has Node's Buffer as a global (functions-javascript-
// runtime-20.md); 1.0 has none. goja_nodejs makes the class; openfront
// adds the encodings and methods CloudFront lists that it lacks.

const runtime10 = "cloudfront-js-1.0"

// maxAlloc bounds Buffer.alloc: CloudFront gives a function 2 MB of memory.
const maxAlloc = 2 << 20

// symBuffer holds a runtime's Buffer class where a function cannot
// replace it, for crypto's digest().
var symBuffer = goja.NewSymbol("openfront.Buffer")

func init() {
	modules["buffer"] = func(f *Function, v *vm) (goja.Value, error) {
		rt := v.rt
		b := bufferClass(rt)
		if b == nil {
			return nil, errors.New("the buffer module is not in cloudfront-js-1.0")
		}
		m := rt.NewObject()
		m.Set("Buffer", b)
		return m, nil
	}
}

// symMakeBuffer holds, in a 2.0 runtime, the function that makes its
// Buffer class at first use.
var symMakeBuffer = goja.NewSymbol("openfront.makeBuffer")

// bufferClass is the runtime's Buffer class, made now if it was not yet;
// nil in 1.0.
func bufferClass(rt *goja.Runtime) *goja.Object {
	g := rt.GlobalObject()
	if o, ok := g.GetSymbol(symBuffer).(*goja.Object); ok {
		return o
	}
	make, ok := goja.AssertFunction(g.GetSymbol(symMakeBuffer))
	if !ok {
		return nil
	}
	v, err := make(goja.Undefined())
	if err != nil {
		panic(err)
	}
	return v.ToObject(rt)
}

// enableBuffer gives a 2.0 runtime its Buffer global, made when first
// used: making it costs several times the rest of a runtime (about
// 150 µs), and most functions never touch it. Assigning the global
// replaces it, as with any global.
func enableBuffer(rt *goja.Runtime) {
	g := rt.GlobalObject()
	g.DefineDataPropertySymbol(symMakeBuffer, rt.ToValue(func(goja.FunctionCall) goja.Value { return makeBuffer(rt) }), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	g.DefineAccessorProperty("Buffer",
		rt.ToValue(func(goja.FunctionCall) goja.Value { return bufferClass(rt) }),
		rt.ToValue(func(call goja.FunctionCall) goja.Value {
			g.DefineDataProperty("Buffer", call.Argument(0), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_TRUE)
			return goja.Undefined()
		}),
		goja.FLAG_TRUE, goja.FLAG_TRUE)
}

// A codec turns a JavaScript string into bytes and back, as Node's
// encoding of that name.
type codec struct {
	decode func(s string) []byte
	encode func(b []byte) string
}

var (
	utf8Codec = codec{func(s string) []byte { return []byte(s) }, validUTF8}
	// base64 and base64url decode alike: Node accepts either alphabet,
	// with or without padding.
	base64Codec = codec{decodeWith("base64"), buffer.StringCodecByName("base64").Encode}
	latin1Codec = codec{latin1Decode, func(b []byte) string {
		r := make([]rune, len(b))
		for i, c := range b {
			r[i] = rune(c)
		}
		return string(r)
	}}
	codecs = map[string]codec{
		"utf8": utf8Codec, "utf-8": utf8Codec,
		"hex":       {decodeWith("hex"), buffer.StringCodecByName("hex").Encode},
		"base64":    base64Codec,
		"base64url": {base64Codec.decode, buffer.StringCodecByName("base64Url").Encode},
		"latin1":    latin1Codec, "binary": latin1Codec,
		"ascii": {latin1Decode, func(b []byte) string {
			c := make([]byte, len(b))
			for i := range b {
				c[i] = b[i] & 0x7f
			}
			return string(c)
		}},
	}
)

// decodeWith is goja_nodejs's lenient decoder: hex up to the first bad
// pair, base64 in either alphabet, padded or not, as Node.
func decodeWith(name string) func(string) []byte {
	c := buffer.StringCodecByName(name)
	return func(s string) []byte { return c.DecodeAppend(s, nil) }
}

// latin1Decode keeps the low byte of each character, as Node does.
func latin1Decode(s string) []byte {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		b = append(b, byte(r))
	}
	return b
}

// codecOf is the codec an encoding argument names (utf8 when undefined);
// an unknown one is Node's TypeError.
func codecOf(rt *goja.Runtime, enc goja.Value) codec {
	if enc == nil || goja.IsUndefined(enc) || goja.IsNull(enc) {
		return utf8Codec
	}
	c, ok := codecs[strings.ToLower(enc.String())]
	if !ok {
		panic(rt.NewTypeError("Unknown encoding: %s", enc.String()))
	}
	return c
}

// bytesOf is the bytes of a Buffer, typed array or ArrayBuffer, or nil.
func bytesOf(v goja.Value) ([]byte, bool) {
	if o, ok := v.(*goja.Object); ok {
		switch b := o.Export().(type) {
		case []byte:
			return b, true
		case goja.ArrayBuffer:
			return b.Bytes(), true
		}
	}
	return nil, false
}

// makeBuffer makes the runtime's Buffer class.
func makeBuffer(rt *goja.Runtime) *goja.Object {
	m := rt.NewObject()
	m.Set("exports", rt.NewObject())
	buffer.Require(rt, m)
	b := m.Get("exports").ToObject(rt).Get("Buffer").ToObject(rt)
	// goja names the class by its Go constructor; Node's is Buffer.
	b.DefineDataProperty("name", rt.ToValue("Buffer"), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	proto := b.Get("prototype").ToObject(rt)
	u8 := rt.Get("Uint8Array").ToObject(rt).Get("prototype").ToObject(rt)
	from, _ := goja.AssertFunction(b.Get("from"))
	wrap := func(data []byte) goja.Value {
		v, err := from(b, rt.ToValue(rt.NewArrayBuffer(data)))
		if err != nil {
			panic(err)
		}
		return v
	}
	this := func(call goja.FunctionCall) []byte {
		bb, ok := bytesOf(call.This)
		if !ok {
			panic(rt.NewTypeError("not a Buffer"))
		}
		return bb
	}
	// valueBytes is a string (in enc), Buffer or byte as bytes to look for
	// or fill with; ok is false for a number.
	valueBytes := func(v, enc goja.Value) ([]byte, bool) {
		if goja.IsString(v) {
			return codecOf(rt, enc).decode(v.String()), true
		}
		return bytesOf(v)
	}
	inherit := func(name string) goja.Callable {
		fn, _ := goja.AssertFunction(u8.Get(name))
		return fn
	}

	b.Set("from", func(call goja.FunctionCall) goja.Value {
		if goja.IsString(call.Argument(0)) {
			return wrap(codecOf(rt, call.Argument(1)).decode(call.Argument(0).String()))
		}
		v, err := from(b, call.Arguments...)
		if err != nil {
			panic(err)
		}
		return v
	})
	alloc := func(call goja.FunctionCall) goja.Value {
		n := call.Argument(0).ToInteger()
		if !goja.IsNumber(call.Argument(0)) || n < 0 || n > maxAlloc {
			panic(rt.NewTypeError("The \"size\" argument must be a number from 0 to %d", maxAlloc))
		}
		data := make([]byte, n)
		if fill := call.Argument(1); goja.IsString(fill) || !goja.IsUndefined(fill) {
			fillBytes(rt, data, fill, call.Argument(2), valueBytes)
		}
		return wrap(data)
	}
	b.Set("alloc", alloc)
	b.Set("allocUnsafe", alloc)
	b.Set("isBuffer", func(v goja.Value) bool { return rt.InstanceOf(v, b) })
	b.Set("isEncoding", func(v goja.Value) bool {
		_, ok := codecs[strings.ToLower(v.String())]
		return goja.IsString(v) && ok
	})
	b.Set("byteLength", func(call goja.FunctionCall) goja.Value {
		data, ok := valueBytes(call.Argument(0), call.Argument(1))
		if !ok {
			panic(rt.NewTypeError("The \"string\" argument must be a string, Buffer or ArrayBuffer"))
		}
		return rt.ToValue(len(data))
	})
	b.Set("compare", func(x, y goja.Value) int {
		bx, ok1 := bytesOf(x)
		by, ok2 := bytesOf(y)
		if !ok1 || !ok2 {
			panic(rt.NewTypeError("The arguments must be Buffers"))
		}
		return bytes.Compare(bx, by)
	})

	proto.Set("toString", func(call goja.FunctionCall) goja.Value {
		data := this(call)
		start, end := span(call.Argument(1), call.Argument(2), len(data))
		return rt.ToValue(codecOf(rt, call.Argument(0)).encode(data[start:end]))
	})
	proto.Set("write", func(call goja.FunctionCall) goja.Value {
		// write(string[, offset[, length]][, encoding])
		data, args := this(call), call.Arguments[min(1, len(call.Arguments)):]
		var enc goja.Value = goja.Undefined()
		if n := len(args); n > 0 && goja.IsString(args[n-1]) {
			enc, args = args[n-1], args[:n-1]
		}
		off := 0
		if len(args) > 0 {
			off = int(min(max(args[0].ToInteger(), 0), int64(len(data))))
		}
		room := data[off:]
		if len(args) > 1 {
			room = room[:min(max(args[1].ToInteger(), 0), int64(len(room)))]
		}
		src := codecOf(rt, enc).decode(call.Argument(0).String())
		return rt.ToValue(copy(room, src))
	})
	// swap16, swap32, swap64: the byte order of each 16, 32 or 64-bit
	// number, in place, as Node's.
	for _, size := range []int{2, 4, 8} {
		proto.Set(fmt.Sprintf("swap%d", size*8), func(call goja.FunctionCall) goja.Value {
			data := this(call)
			if len(data)%size != 0 {
				panic(newError(rt, "RangeError", fmt.Sprintf("Buffer size must be a multiple of %d-bits", size*8)))
			}
			for i := 0; i < len(data); i += size {
				slices.Reverse(data[i : i+size])
			}
			return call.This
		})
	}
	proto.Set("toJSON", func(call goja.FunctionCall) goja.Value {
		data := this(call)
		ints := make([]any, len(data))
		for i, c := range data {
			ints[i] = int(c)
		}
		// An object, not a Go map: its keys in Node's order, not a map's
		// random one.
		o := rt.NewObject()
		o.Set("type", "Buffer")
		o.Set("data", rt.NewArray(ints...))
		return o
	})
	proto.Set("compare", func(call goja.FunctionCall) goja.Value {
		other, ok := bytesOf(call.Argument(0))
		if !ok {
			panic(rt.NewTypeError("The \"target\" argument must be a Buffer"))
		}
		return rt.ToValue(bytes.Compare(this(call), other))
	})
	proto.Set("copy", func(call goja.FunctionCall) goja.Value {
		src := this(call)
		dst, ok := bytesOf(call.Argument(0))
		if !ok {
			panic(rt.NewTypeError("The \"target\" argument must be a Buffer"))
		}
		ts, _ := span(call.Argument(1), goja.Undefined(), len(dst))
		ss, se := span(call.Argument(2), call.Argument(3), len(src))
		return rt.ToValue(copy(dst[ts:], src[ss:se]))
	})
	// slice is a view on the same bytes in Node, as subarray.
	proto.Set("slice", proto.Get("subarray"))
	proto.Set("fill", func(call goja.FunctionCall) goja.Value {
		data := this(call)
		args := call.Arguments[min(1, len(call.Arguments)):]
		var enc goja.Value = goja.Undefined()
		if n := len(args); n > 0 && goja.IsString(args[n-1]) {
			enc, args = args[n-1], args[:n-1]
		}
		var s, e goja.Value = goja.Undefined(), goja.Undefined()
		if len(args) > 0 {
			s = args[0]
		}
		if len(args) > 1 {
			e = args[1]
		}
		start, end := span(s, e, len(data))
		fillBytes(rt, data[start:end], call.Argument(0), enc, valueBytes)
		return call.This
	})
	index := func(name string, last bool) {
		fallback := inherit(name)
		proto.Set(name, func(call goja.FunctionCall) goja.Value {
			data := this(call)
			enc := call.Argument(2)
			if goja.IsString(call.Argument(1)) {
				enc = call.Argument(1)
			}
			needle, ok := valueBytes(call.Argument(0), enc)
			if !ok {
				v, err := fallback(call.This, call.Arguments...)
				if err != nil {
					panic(err)
				}
				return v
			}
			from := 0
			if o := call.Argument(1); goja.IsNumber(o) {
				from = int(o.ToInteger())
				if from < 0 {
					from = max(len(data)+from, 0)
				}
				from = min(from, len(data))
			}
			var i int
			if last {
				i = bytes.LastIndex(data, needle)
			} else if i = bytes.Index(data[from:], needle); i >= 0 {
				i += from
			}
			return rt.ToValue(i)
		})
	}
	index("indexOf", false)
	index("lastIndexOf", true)
	proto.Set("includes", func(call goja.FunctionCall) goja.Value {
		f, _ := goja.AssertFunction(proto.Get("indexOf"))
		v, err := f(call.This, call.Arguments...)
		if err != nil {
			panic(err)
		}
		return rt.ToValue(v.ToInteger() >= 0)
	})

	rt.GlobalObject().DefineDataPropertySymbol(symBuffer, b, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	return b
}

// fillBytes fills data with a byte, a string in enc or a Buffer, repeated.
func fillBytes(rt *goja.Runtime, data []byte, fill, enc goja.Value, valueBytes func(v, enc goja.Value) ([]byte, bool)) {
	pattern, ok := valueBytes(fill, enc)
	if !ok {
		pattern = []byte{byte(fill.ToInteger())}
	}
	if len(pattern) == 0 {
		pattern = []byte{0}
	}
	for i := 0; i < len(data); i += len(pattern) {
		copy(data[i:], pattern)
	}
}

// span is Node's start and end arguments of a range of n bytes.
func span(start, end goja.Value, n int) (int, int) {
	s, e := 0, n
	if start != nil && !goja.IsUndefined(start) {
		s = int(min(max(start.ToInteger(), 0), int64(n)))
	}
	if end != nil && !goja.IsUndefined(end) {
		e = int(min(max(end.ToInteger(), 0), int64(n)))
	}
	return s, max(s, e)
}
