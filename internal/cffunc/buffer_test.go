package cffunc

import (
	"errors"
	"strings"
	"testing"
)

// TestBuffer: Buffer round trips in each encoding CloudFront lists, and
// the methods goja_nodejs lacks that openfront adds.
func TestBuffer(t *testing.T) {
	runCases(t, []string{rt20}, []jsCase{
		{"utf8", "return Buffer.from('h\\u00e9llo').toString('hex')", "68c3a96c6c6f"},
		{"utf-8 back", "return Buffer.from('68c3a96c6c6f', 'hex').toString('utf-8')", "h\u00e9llo"},
		{"encoding names ignore case", "return Buffer.from('68C3A9', 'HEX').toString('UTF8')", "h\u00e9"},
		{"base64", "return Buffer.from('aGk/Pw==', 'base64').toString() + Buffer.from('hi??').toString('base64')", "hi??aGk/Pw=="},
		{"base64url", "return Buffer.from('+/8=', 'base64').toString('base64url') + ' ' + Buffer.from('-_8', 'base64url').toString('hex')", "-_8 fbff"},
		{"latin1", "return Buffer.from('caf\\u00e9', 'latin1').toString('hex') + ' ' + Buffer.from('636166e9', 'hex').toString('latin1')", "636166e9 caf\u00e9"},
		{"binary", "return Buffer.from('\\u00ff\\u0001', 'binary').toString('hex') + Buffer.from([255]).toString('binary').charCodeAt(0)", "ff01255"},
		{"ascii", "return Buffer.from('e9', 'hex').toString('ascii').charCodeAt(0)", "105"},
		{"unknown encoding", "return Buffer.from('a', 'utf16le')", "throws"},
		{"unknown encoding out", "return Buffer.from('a').toString('ucs2')", "throws"},
		{"toString range", "return Buffer.from('hello').toString('utf8', 1, 3)", "el"},
		{"alloc with a fill", "return Buffer.alloc(5, 'ab').toString() + Buffer.alloc(2, 'ff', 'hex').toString('hex') + Buffer.alloc(2, 7).toString('hex')", "ababaffff0707"},
		{"alloc too big", "return Buffer.alloc(1e10)", "throws"},
		{"statics", "return [Buffer.isBuffer(Buffer.from('a')), Buffer.isBuffer(new Uint8Array(1)), Buffer.isEncoding('base64url'), Buffer.isEncoding('utf16le'), Buffer.byteLength('h\\u00e9'), Buffer.byteLength('ffff', 'hex'), Buffer.compare(Buffer.from('a'), Buffer.from('b'))].join()", "true,false,true,false,3,2,-1"},
		{"concat and equals", "return Buffer.concat([Buffer.from('ab'), Buffer.from('c')]).equals(Buffer.from('abc'))", "true"},
		{"slice is a view", "var b = Buffer.from('abc'); b.slice(1)[0] = 0x78; return b.toString()", "axc"},
		{"copy", "var b = Buffer.alloc(4, '-'); var n = Buffer.from('xyz').copy(b, 1, 1); return n + b.toString()", "2-yz-"},
		{"write", "var b = Buffer.alloc(4); var n = b.write('ffee', 1, 'hex'); return n + b.toString('hex')", "200ffee00"},
		{"fill", "return Buffer.alloc(5).fill('xy', 1).toString('latin1').replace(/\\0/g, '.')", ".xyxy"},
		{"indexOf and includes", "var b = Buffer.from('hello'); return [b.indexOf('l'), b.lastIndexOf('l'), b.indexOf(Buffer.from('lo')), b.indexOf(0x65), b.includes('z'), b.indexOf('l', 3)].join()", "2,3,3,1,false,3"},
		{"toJSON", "return JSON.stringify(Buffer.from([1, 2]))", `{"type":"Buffer","data":[1,2]}`},
		{"numbers", "var b = Buffer.alloc(4); b.writeUInt32BE(0xdeadbeef); return b.readUInt16LE(0) + ' ' + b.toString('hex')", "44510 deadbeef"},
		// Buffer.prototype.swap16/32/64 (functions-javascript-runtime-20.md):
		// in place, returning the buffer; a length not a multiple throws.
		{"swap", "var b = Buffer.from('0102030405060708', 'hex'); var r = [b.swap16().toString('hex'), b.swap16().swap32().toString('hex'), b.swap32().swap64().toString('hex'), b.swap64() === b].join(); return r", "0201040306050807,0403020108070605,0807060504030201,true"},
		{"swap of an odd length", "return Buffer.from('010203', 'hex').swap16()", "throws"},
		{"swap of a view", "var b = Buffer.from('0001020304', 'hex'); b.subarray(1, 5).swap32(); return b.toString('hex')", "0004030201"},
		// Node's class is named Buffer: code that tells a value's kind by
		// constructor.name (a kvs get in format bytes) sees that name.
		{"named Buffer", "return Buffer.name + ' ' + Buffer.from('a').constructor.name + ' ' + Buffer.name.length", "Buffer Buffer 6"},
		{"require('buffer')", "return require('buffer').Buffer === Buffer", "true"},
		{"a global like any other", "var before = typeof Buffer; Buffer = 1; return before + ' ' + Buffer + ' ' + Object.keys(globalThis).includes('Buffer')", "function 1 true"},
		{"digest keeps the runtime's class", "Buffer = undefined; return require('crypto').createHash('md5').update('').digest().toString('hex')", "d41d8cd98f00b204e9800998ecf8427e"},
	})
	// 1.0 has no Buffer.
	runCases(t, []string{rt10}, []jsCase{
		{"no global", "return typeof Buffer", "undefined"},
		{"no module", "return require('buffer')", "throws"},
	})
}

// TestNoOtherModules: goja_nodejs registers Node's core modules for every
// runtime; a function still reaches only CloudFront's.
func TestNoOtherModules(t *testing.T) {
	for _, r := range []string{rt10, rt20} {
		for _, name := range []string{"util", "node:buffer", "url", "console", "process", "node:crypto", "events"} {
			if got, err := run(t, r, "return typeof require("+quoteJS(name)+")"); err == nil {
				t.Errorf("%s: require(%q) gave a %s", r, name, got)
			}
			_, err := Compile("f", r, "import x from "+quoteJS(name)+";\nfunction handler(e) { return e.request; }")
			var se *SyntaxError
			if !errors.As(err, &se) || !strings.Contains(se.Msg, "cannot import") {
				t.Errorf("%s: import of %q: %v, want a SyntaxError", r, name, err)
			}
		}
	}
}

// BenchmarkRuntime is what a new runtime costs a function: one is made
// for each concurrent run after a reload, and whenever the pool was
// emptied by the garbage collector.
func BenchmarkRuntime(b *testing.B) {
	for _, r := range []string{rt10, rt20} {
		f, err := Compile("f", r, "function handler(e) { return e.request; }")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(r, func(b *testing.B) {
			for b.Loop() {
				if _, err := f.WithStore(nil).get(Budget); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
