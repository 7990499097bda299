package cffunc

import (
	"encoding/base64"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// cloudfront-js-2.0's TextEncoder, TextDecoder, atob() and btoa()
// (functions-javascript-runtime-20.md, "Text Decoder", "Text Encoder",
// "Globals": "atob() and btoa() are new in JavaScript runtime 2.0"), as
// the WHATWG Encoding and HTML standards define them. UTF-8 is the only
// encoding, as in njs, CloudFront's engine.

// symCodecState holds a TextDecoder's state where the function cannot
// reach it.
var symCodecState = goja.NewSymbol("openfront.TextDecoder")

// decoderState is a TextDecoder's: its options, and the bytes a streamed
// decode() left of an incomplete character.
type decoderState struct {
	fatal, ignoreBOM bool
	pending          []byte
	bomSeen          bool
}

// enableTextCodec gives a 2.0 runtime TextEncoder, TextDecoder, atob and
// btoa.
func enableTextCodec(rt *goja.Runtime) {
	g := rt.GlobalObject()
	lazyGlobal(rt, "TextEncoder", textEncoderClass)
	lazyGlobal(rt, "TextDecoder", textDecoderClass)
	g.Set("btoa", func(call goja.FunctionCall) goja.Value {
		s := call.Argument(0).String()
		b := make([]byte, 0, len(s))
		for _, r := range s {
			if r > 0xff {
				panic(invalidCharacter(rt, "btoa(): the string has a character outside Latin-1"))
			}
			b = append(b, byte(r))
		}
		return rt.ToValue(base64.StdEncoding.EncodeToString(b))
	})
	g.Set("atob", func(call goja.FunctionCall) goja.Value {
		// Forgiving-base64 decode: ASCII whitespace is dropped, padding
		// may be left out, and anything else is an error.
		s := strings.Map(func(r rune) rune {
			if r == ' ' || r == '\t' || r == '\n' || r == '\f' || r == '\r' {
				return -1
			}
			return r
		}, call.Argument(0).String())
		if len(s)%4 == 0 && strings.HasSuffix(s, "=") {
			s = strings.TrimSuffix(strings.TrimSuffix(s, "="), "=")
		}
		b, err := base64.RawStdEncoding.DecodeString(s)
		if err != nil || len(s)%4 == 1 {
			panic(invalidCharacter(rt, "atob(): the string is not correctly encoded"))
		}
		return rt.ToValue(latin1Codec.encode(b))
	})
}

// lazyGlobal defines the global name as what make makes when the
// function first reads it: a runtime is made on every miss of the pool,
// and most functions never touch these. Assigning it replaces it, as any
// global.
func lazyGlobal(rt *goja.Runtime, name string, make func(rt *goja.Runtime) goja.Value) {
	g := rt.GlobalObject()
	set := func(v goja.Value) {
		g.DefineDataProperty(name, v, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	}
	g.DefineAccessorProperty(name,
		rt.ToValue(func(goja.FunctionCall) goja.Value {
			v := make(rt)
			set(v)
			return v
		}),
		rt.ToValue(func(call goja.FunctionCall) goja.Value {
			set(call.Argument(0))
			return goja.Undefined()
		}),
		goja.FLAG_TRUE, goja.FLAG_FALSE)
}

// invalidCharacter is the DOMException the standards throw, as an Error
// named InvalidCharacterError (goja has no DOMException).
func invalidCharacter(rt *goja.Runtime, msg string) *goja.Object {
	e := newError(rt, "Error", msg)
	e.Set("name", "InvalidCharacterError")
	return e
}

// newError is a new error of the runtime's class (Error, RangeError).
func newError(rt *goja.Runtime, class, msg string) *goja.Object {
	e, err := rt.New(rt.Get(class), rt.ToValue(msg))
	if err != nil {
		panic(err)
	}
	return e
}

// nativeClass is a class named name whose constructor runs init on the
// new object and its arguments. It is a JavaScript class, not a Go
// constructor, so that calling it without new (TextEncoder(),
// TextDecoder.call(o)) throws a TypeError, as Web IDL constructors and
// njs's do ("Constructor of TextEncoder requires 'new'"): goja runs a Go
// constructor called as a function on a new object, and cannot tell it
// was not called with new.
func nativeClass(rt *goja.Runtime, name string, init func(this *goja.Object, args []goja.Value)) *goja.Object {
	v, err := rt.RunProgram(classProgram)
	if err != nil {
		panic(err)
	}
	makeClass, _ := goja.AssertFunction(v)
	c, err := makeClass(goja.Undefined(), rt.ToValue(func(call goja.FunctionCall) goja.Value {
		this, _ := call.Argument(0).(*goja.Object)
		list := call.Argument(1).ToObject(rt)
		args := make([]goja.Value, list.Get("length").ToInteger())
		for i := range args {
			args[i] = list.Get(strconv.Itoa(i))
		}
		init(this, args)
		return goja.Undefined()
	}))
	if err != nil {
		panic(err)
	}
	class := c.ToObject(rt)
	class.DefineDataProperty("name", rt.ToValue(name), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	return class
}

// classProgram makes a class whose constructor calls init: it reads no
// global, which the function may have changed by the time it is run.
var classProgram = goja.MustCompile("class.js", "(function (init) { return class { constructor(...args) { init(this, args); } }; })", true)

func textEncoderClass(rt *goja.Runtime) goja.Value {
	class := nativeClass(rt, "TextEncoder", func(this *goja.Object, _ []goja.Value) {
		this.Set("encoding", "utf-8")
	})
	proto := class.Get("prototype").ToObject(rt)
	proto.Set("encode", func(call goja.FunctionCall) goja.Value {
		s := ""
		if v := call.Argument(0); !goja.IsUndefined(v) {
			s = v.String()
		}
		return uint8Array(rt, []byte(s))
	})
	proto.Set("encodeInto", func(call goja.FunctionCall) goja.Value {
		dst, ok := bytesOf(call.Argument(1))
		if !ok {
			panic(rt.NewTypeError("TextEncoder.encodeInto(): the destination must be a Uint8Array"))
		}
		read, written := 0, 0
		for _, r := range call.Argument(0).String() {
			n := utf8.RuneLen(r)
			if written+n > len(dst) {
				break
			}
			utf8.EncodeRune(dst[written:], r)
			written += n
			read++
			if r > 0xffff {
				read++ // a surrogate pair in the JavaScript string
			}
		}
		o := rt.NewObject()
		o.Set("read", read)
		o.Set("written", written)
		return o
	})
	return class
}

func textDecoderClass(rt *goja.Runtime) goja.Value {
	class := nativeClass(rt, "TextDecoder", func(this *goja.Object, args []goja.Value) {
		arg := func(i int) goja.Value {
			if i < len(args) {
				return args[i]
			}
			return goja.Undefined()
		}
		if label := arg(0); !goja.IsUndefined(label) {
			switch strings.ToLower(strings.TrimSpace(label.String())) {
			case "utf-8", "utf8", "unicode-1-1-utf-8":
			default:
				panic(newError(rt, "RangeError", "TextDecoder: the encoding "+label.String()+" is not supported (CloudFront Functions decode utf-8 only)"))
			}
		}
		st := &decoderState{}
		if o, ok := arg(1).(*goja.Object); ok {
			st.fatal = o.Get("fatal") != nil && o.Get("fatal").ToBoolean()
			st.ignoreBOM = o.Get("ignoreBOM") != nil && o.Get("ignoreBOM").ToBoolean()
		}
		this.Set("encoding", "utf-8")
		this.Set("fatal", st.fatal)
		this.Set("ignoreBOM", st.ignoreBOM)
		this.DefineDataPropertySymbol(symCodecState, rt.ToValue(st), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	})
	proto := class.Get("prototype").ToObject(rt)
	proto.Set("decode", func(call goja.FunctionCall) goja.Value {
		var st *decoderState
		ok := false
		if v := call.This.ToObject(rt).GetSymbol(symCodecState); v != nil {
			st, ok = v.Export().(*decoderState)
		}
		if !ok {
			panic(rt.NewTypeError("TextDecoder.decode() called on something else than a TextDecoder"))
		}
		var in []byte
		if v := call.Argument(0); !goja.IsUndefined(v) {
			b, ok := viewBytes(rt, v)
			if !ok {
				panic(rt.NewTypeError("TextDecoder.decode(): the input must be an ArrayBuffer, a typed array or a DataView"))
			}
			in = b
		}
		stream := false
		if o, ok := call.Argument(1).(*goja.Object); ok {
			stream = o.Get("stream") != nil && o.Get("stream").ToBoolean()
		}
		b := append(st.pending, in...)
		st.pending = nil
		if stream {
			// Keep an incomplete character at the end for the next call.
			cut := len(b)
			for i := len(b) - 1; i >= 0 && i >= len(b)-3; i-- {
				if utf8.RuneStart(b[i]) {
					if !utf8.FullRune(b[i:]) {
						cut = i
					}
					break
				}
			}
			st.pending = append([]byte(nil), b[cut:]...)
			b = b[:cut]
		}
		if !st.bomSeen && !st.ignoreBOM {
			b = trimBOM(b)
		}
		st.bomSeen = stream && (st.bomSeen || len(b) > 0)
		if !utf8.Valid(b) && st.fatal {
			panic(rt.NewTypeError("TextDecoder.decode(): the data is not valid UTF-8"))
		}
		return rt.ToValue(validUTF8(b))
	})
	return class
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xef && b[1] == 0xbb && b[2] == 0xbf {
		return b[3:]
	}
	return b
}

// uint8Array is a new Uint8Array of b.
func uint8Array(rt *goja.Runtime, b []byte) goja.Value {
	v, err := rt.New(rt.Get("Uint8Array"), rt.ToValue(rt.NewArrayBuffer(b)))
	if err != nil {
		panic(err)
	}
	return v
}

// viewBytes is the bytes an ArrayBuffer, a typed array or a DataView
// views, or false.
func viewBytes(rt *goja.Runtime, v goja.Value) ([]byte, bool) {
	if b, ok := bytesOf(v); ok {
		return b, true
	}
	o, ok := v.(*goja.Object)
	if !ok {
		return nil, false
	}
	buf, ok := o.Get("buffer").(*goja.Object)
	if !ok {
		return nil, false
	}
	ab, ok := buf.Export().(goja.ArrayBuffer)
	if !ok {
		return nil, false
	}
	off, n := int(o.Get("byteOffset").ToInteger()), int(o.Get("byteLength").ToInteger())
	data := ab.Bytes()
	if off < 0 || n < 0 || off+n > len(data) {
		return nil, false
	}
	return data[off : off+n], true
}
