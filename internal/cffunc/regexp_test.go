package cffunc

import "testing"

// TestNamedCaptureGroups: "ES 9 named capture groups are supported"
// (functions-javascript-runtime-20.md and -10.md, Regular expressions):
// a match has its groups object, and its captures are numbered in the
// order their groups open, named or not. goja leaves groups out and
// numbers named groups after the others.
func TestNamedCaptureGroups(t *testing.T) {
	for _, runtime := range []string{"cloudfront-js-1.0", "cloudfront-js-2.0"} {
		for _, c := range []struct{ name, body, want string }{
			{"groups of a match", `var m = '/en/docs'.match(/^\/(?<lang>[a-z]{2})\/(?<page>.*)$/); return '/' + m.groups.lang + '-' + m.groups.page;`, "/en-docs"},
			{"named and unnamed in order", `var m = /(?<a>x)(y)(?:z)(?<b>w)/.exec('xyzw'); return '/' + [m[1], m[2], m[3], m.groups.a, m.groups.b, m.length].join();`, "/x,y,w,x,w,4"},
			{"brackets and escapes are not groups", `var m = /\((?<a>x)\((b)(?<c>[)])/.exec('(x(b)'); return '/' + [m[1], m[2], m[3], m.groups.c].join();`, "/x,b,),)"},
			{"two of each kind", `var m = /(?<a>x)(b)(?<c>y)(d)/.exec('xbyd'); return '/' + [m[1], m[2], m[3], m[4], m.groups.a, m.groups.c].join();`, "/x,b,y,d,x,y"},
			{"a named back reference", `var m = /(?<q>['"])(\w+)\k<q>/.exec('say "hi"'); return '/' + m[2] + m.groups.q.length + /(?<q>a)\k<q>/.test('ab');`, "/hi1false"},
			{"RegExp stays RegExp", `var r = new RegExp('(?<a>x)'); return '/' + (r instanceof RegExp) + (/x/ instanceof RegExp) + (r.constructor === RegExp.prototype.constructor) + RegExp('(?<b>y)', 'g').global;`, "/truetruetruetrue"},
			{"lookbehind is not a group", `var m = /(?<=a)(?<n>b)(c)/.exec('abc'); return '/' + [m[1], m[2], m.groups.n].join();`, "/b,c,b"},
			{"an unmatched group", `var m = /(?<a>x)?(y)/.exec('y'); return '/' + [m[1], m[2], 'a' in m.groups, m.groups.a].join();`, "/,y,true,"},
			{"no named group: no groups", `return '/' + typeof /(x)/.exec('x').groups;`, "/undefined"},
			{"replace numbers captures in order", `return '/' + 'xy'.replace(/(?<a>x)(y)/, '$2$1') + 'xy'.replace(/(?<a>x)(y)/, function (m, p1, p2) { return p2 + p1; });`, "/yxyx"},
			{"a global match", `return '/' + 'a1b2'.match(/(?<l>[a-z])(\d)/g).join();`, "/a1,b2"},
			{"RegExp of a string", `var m = new RegExp('(?<a>x)(y)').exec('xy'); return '/' + m[1] + m.groups.a;`, "/xx"},
			{"$<name> in a replacement", `return '/' + 'en-docs'.replace(/(?<lang>[a-z]+)-(?<page>\w+)/, '$<page>.$<lang>') + 'x'.replace(/(?<a>x)/, '$<a>0') + 'ab'.replace(/(?<x>a)/g, '[$<x>$$<x>$<none>]');`, "/docs.enx0[a$<x>]b"},
			{"replaceAll with $<name>", `return '/' + 'a1b2'.replaceAll(/(?<l>[a-z])(?<d>\d)/g, '$<d>$<l>');`, "/1a2b"},
			{"a replacer gets the groups", `return '/' + 'x-y'.replace(/(?<a>\w)-(?<b>\w)/, function (m, p1, p2, offset, str, groups) { return groups.b + groups.a + offset + str; });`, "/yx0x-y"},
			{"$<name> without named groups is literal", `return '/' + 'ab'.replace(/(a)/, '$<a>');`, "/$<a>b"},
			{"matchAll", `var out = []; for (var m of 'a1b2'.matchAll(/(?<l>[a-z])(\d)/g)) { out.push(m[1] + m.groups.l); } return '/' + out.join();`, "/aa,bb"},
		} {
			t.Run(runtime+"/"+c.name, func(t *testing.T) {
				checkURI(t, runtime, c.body, c.want, "")
			})
		}
	}
}
