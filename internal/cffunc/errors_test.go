package cffunc

import (
	"strings"
	"testing"
)

// TestErrorTypes: CloudFront lists InternalError among the error objects
// a function has ("Error types": Error, EvalError, InternalError,
// RangeError, ReferenceError, SyntaxError, TypeError, URIError,
// functions-javascript-runtime-20.md; 1.0's list adds MemoryError), which
// njs, CloudFront's engine, throws when it runs out of memory or
// recursion. A function that throws one or tests for one with instanceof
// runs as on CloudFront.
func TestErrorTypes(t *testing.T) {
	for _, runtime := range []string{rt10, rt20} {
		for _, class := range []string{"InternalError", "MemoryError"} {
			for _, c := range []struct {
				name, body, want string
			}{
				{"thrown and caught", `try { throw new C('boom'); } catch (e) { return '/' + (e instanceof C) + (e instanceof Error) + '-' + e.name + '-' + e.message + '-' + String(e) + '-' + Object.prototype.toString.call(e); }`,
					"/truetrue-C-boom-C: boom-[object Error]"},
				{"called without new", `var e = C('x'); return '/' + (e instanceof C) + e.message;`, "/truex"},
				{"no message", `return '/' + new C().message + '-' + String(new C());`, "/-C"},
				{"a global like the others", `return '/' + typeof C + C.name + C.length + Object.keys(globalThis).indexOf('C') + (Object.getPrototypeOf(C.prototype) === Error.prototype) + (C.prototype.constructor === C);`, "/functionC1-1truetrue"},
				{"subclassed", `function S(m) { return Reflect.construct(C, [m], S); } S.prototype = Object.create(C.prototype); var e = new S('y'); return '/' + (e instanceof S) + (e instanceof C) + e.message;`, "/truetruey"},
			} {
				t.Run(runtime+"/"+class+"/"+c.name, func(t *testing.T) {
					body := "var C = " + class + ";\n" + c.body
					want := strings.ReplaceAll(c.want, "C", class)
					checkURI(t, runtime, body, want, "")
				})
			}
		}
		t.Run(runtime+"/thrown uncaught", func(t *testing.T) {
			checkURI(t, runtime, `throw new InternalError('too much recursion');`, "", "InternalError: too much recursion")
		})
	}
}
