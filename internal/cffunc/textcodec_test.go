package cffunc

import "testing"

// TestTextCodecAndBase64: cloudfront-js-2.0 has TextEncoder, TextDecoder
// ("Text Decoder", "Text Encoder") and the globals atob() and btoa()
// ("atob() and btoa() are new in JavaScript runtime 2.0"),
// functions-javascript-runtime-20.md; 1.0 has none of them.
func TestTextCodecAndBase64(t *testing.T) {
	hex := `function hex(b) { return Array.prototype.map.call(b, function (x) { return (x < 16 ? '0' : '') + x.toString(16); }).join(''); }
`
	for _, c := range []struct {
		name, body string
		want       string // "": the run fails with an error naming what
		what       string
	}{
		{"encode", `var e = new TextEncoder(); var b = e.encode('é€😀'); return '/' + e.encoding + '-' + (b instanceof Uint8Array) + '-' + hex(b);`, "/utf-8-true-c3a9e282acf09f9880", ""},
		{"encode nothing", `return '/' + new TextEncoder().encode().length;`, "/0", ""},
		{"encodeInto", `var d = new Uint8Array(4); var r = new TextEncoder().encodeInto('hé€', d); return '/' + r.read + '-' + r.written + '-' + hex(d);`, "/2-3-68c3a900", ""},
		{"decode", `var d = new TextDecoder(); return '/' + d.encoding + d.fatal + d.ignoreBOM + '-' + d.decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0xc3, 0xa9]));`, "/utf-8falsefalse-hé", ""},
		{"decode keeping the BOM", `return '/' + encodeURIComponent(new TextDecoder('utf-8', {ignoreBOM: true}).decode(new Uint8Array([0xef, 0xbb, 0xbf, 0x68])));`, "/%EF%BB%BFh", ""},
		{"decode an ArrayBuffer and a DataView", `var u = new Uint8Array([0x61, 0xc3, 0xa9, 0x62]); var d = new TextDecoder('UTF8'); return '/' + d.decode(u.buffer) + d.decode(new DataView(u.buffer, 1, 2)) + d.decode(u.subarray(3)) + d.decode();`, "/aébéb", ""},
		{"decode what is not UTF-8", `return '/' + encodeURIComponent(new TextDecoder().decode(new Uint8Array([0x61, 0xff])));`, "/a%EF%BF%BD", ""},
		{"decode fatal", `return '/' + new TextDecoder('utf-8', {fatal: true}).decode(new Uint8Array([0x61, 0xff]));`, "", "TypeError"},
		{"decode a stream", `var d = new TextDecoder(); return '/' + d.decode(new Uint8Array([0x61, 0xe2, 0x82]), {stream: true}) + d.decode(new Uint8Array([0xac]));`, "/a€", ""},
		{"decoder of another encoding", `new TextDecoder('latin1'); return '/';`, "", "RangeError"},
		{"decode called on something else", `TextDecoder.prototype.decode.call({}); return '/';`, "", "TypeError"},
		{"decode on the prototype's child", `Object.create(TextDecoder.prototype).decode(new Uint8Array([0x61])); return '/';`, "", "TypeError"},
		{"replaced like any global", `var before = typeof TextEncoder; TextEncoder = 1; return '/' + before + TextEncoder + typeof TextDecoder + (Object.keys(globalThis).indexOf('TextDecoder') < 0);`, "/function1functiontrue", ""},
		// Web IDL constructors, as njs's: "Constructor of TextEncoder
		// requires 'new'".
		{"TextEncoder without new", `TextEncoder(); return '/';`, "", "TypeError"},
		{"TextDecoder without new", `TextDecoder.call({}); return '/';`, "", "TypeError"},
		{"named classes", `return '/' + TextEncoder.name + TextDecoder.name + (new TextEncoder() instanceof TextEncoder) + typeof TextDecoder.prototype.decode;`, "/TextEncoderTextDecodertruefunction", ""},
		{"subclassed", `class E extends TextEncoder {} return '/' + new E().encode('a').length;`, "/1", ""},
		{"btoa", `return '/' + btoa('hi') + btoa('\u00e9') + btoa('');`, "/aGk=6Q==", ""},
		{"btoa of a character past 255", `return '/' + btoa('€');`, "", "InvalidCharacterError"},
		{"atob", `return '/' + atob('aGk=') + atob(' aG k ') + encodeURIComponent(atob('6Q=='));`, "/hihi%C3%A9", ""},
		{"atob of a bad length", `return '/' + atob('aGkx=');`, "", "InvalidCharacterError"},
		{"atob of a bad character", `return '/' + atob('aG-k');`, "", "InvalidCharacterError"},
	} {
		t.Run(c.name, func(t *testing.T) {
			checkURI(t, "cloudfront-js-2.0", hex+c.body, c.want, c.what)
		})
	}
	t.Run("not in 1.0", func(t *testing.T) {
		uri, err := runURI(t, "cloudfront-js-1.0", `return '/' + typeof TextEncoder + typeof TextDecoder + typeof atob + typeof btoa;`, Context{Budget: OfflineBudget})
		if err != nil || uri != "/undefinedundefinedundefinedundefined" {
			t.Fatalf("uri %q, error %v", uri, err)
		}
	})
}
