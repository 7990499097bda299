package cffunc

import "testing"

// TestQuerystring: the examples of Node's and CloudFront's documentation
// of the querystring module, and Node's edge cases.
func TestQuerystring(t *testing.T) {
	const q = "var qs = require('querystring'); "
	runCases(t, []string{rt10, rt20}, []jsCase{
		{"parse, Node's example", q + "return JSON.stringify(qs.parse('foo=bar&abc=xyz&abc=123'))", `{"foo":"bar","abc":["xyz","123"]}`},
		{"parse, CloudFront's example", q + "return JSON.stringify(qs.parse('name=value&abc=xyz&abc=123'))", `{"name":"value","abc":["xyz","123"]}`},
		{"a key thrice", q + "return JSON.stringify(qs.decode('a=1&a=2&a=3'))", `{"a":["1","2","3"]}`},
		{"plus is a space, escapes decode", q + "return JSON.stringify(qs.parse('a+b=c+d%20e&x=%E4%B8%AD'))", `{"a b":"c d e","x":"中"}`},
		{"bad escapes stay, bad UTF-8 is U+FFFD", q + "return JSON.stringify(qs.parse('b=%ZZ&c=%FF&d=100%'))", "{\"b\":\"%ZZ\",\"c\":\"\ufffd\",\"d\":\"100%\"}"},
		{"no value, empty pairs", q + "return JSON.stringify(qs.parse('a&&b=&=c'))", `{"a":"","b":"","":"c"}`},
		{"separator and equal", q + "return JSON.stringify(qs.parse('a:1;b:2', ';', ':'))", `{"a":"1","b":"2"}`},
		{"maxKeys", q + "return JSON.stringify(qs.parse('a=1&b=2&c=3', null, null, {maxKeys: 2}))", `{"a":"1","b":"2"}`},
		{"maxKeys 0 is no limit", q + "return Object.keys(qs.parse('a=1&'.repeat(1200), null, null, {maxKeys: 0})).length + ' ' + Object.keys(qs.parse(Array.from({length: 1200}, (_, i) => 'k' + i).join('&'))).length", "1 1000"},
		{"decodeURIComponent option", q + "return JSON.stringify(qs.parse('w=%D6%D0&foo=bar', null, null, {decodeURIComponent: s => s.toLowerCase()}))", `{"w":"%d6%d0","foo":"bar"}`},
		{"a throwing decoder falls back", q + "return JSON.stringify(qs.parse('a=%41', null, null, {decodeURIComponent: s => { throw new Error('x'); }}))", `{"a":"A"}`},
		{"__proto__ is a key", q + "var o = qs.parse('__proto__=x&b=1'); return o['__proto__'] + Object.keys(o).join()", "x__proto__,b"},
		{"not a string", q + "return JSON.stringify(qs.parse(undefined)) + JSON.stringify(qs.parse(''))", "{}{}"},
		{"stringify, Node's example", q + "return qs.stringify({ foo: 'bar', baz: ['qux', 'quux'], corge: '' })", "foo=bar&baz=qux&baz=quux&corge="},
		{"stringify, CloudFront's example", q + "return qs.encode({ name: 'value', abc: ['xyz', '123'], anotherName: '' })", "name=value&abc=xyz&abc=123&anotherName="},
		{"stringify, separator and equal", q + "return qs.stringify({ foo: 'bar', baz: 'qux' }, ';', ':')", "foo:bar;baz:qux"},
		{"stringify primitives", q + "return qs.stringify({a: 1, b: true, c: null, d: NaN, e: {}, f: [], g: 'x y/é'})", "a=1&b=true&c=&d=&e=&g=x%20y%2F%C3%A9"},
		{"stringify not an object", q + "return '[' + qs.stringify('a') + ']'", "[]"},
		{"encodeURIComponent option", q + "return qs.stringify({w: 'ab'}, null, null, {encodeURIComponent: s => s.toUpperCase()})", "W=AB"},
		{"escape", q + "return qs.escape(\"a b&c/é~*'()!\")", "a%20b%26c%2F%C3%A9~*'()!"},
		{"unescape keeps plus", q + "return qs.unescape('%7e%41+%2')", "~A+%2"},
		{"round trip", q + "var o = {k: ['a&b', 'c=d'], 'é': ' '}; return JSON.stringify(qs.parse(qs.stringify(o))) === JSON.stringify(o)", "true"},
	})
}
