package cffunc

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

// runURI runs a viewer-request function whose handler sets the uri to
// what body returns, and gives the uri, or the run's error.
func runURI(t *testing.T, runtime, body string, c Context) (string, error) {
	t.Helper()
	f, err := Compile("f", runtime, "function value() {\n"+body+"\n}\nfunction handler(event) { event.request.uri = value(); return event.request; }")
	if err != nil {
		t.Fatal(err)
	}
	req := &Request{Method: "GET", URI: "/", Host: "h"}
	_, err = f.ViewerRequest(c, req)
	return req.URI, err
}

// checkURI runs body as runURI does and checks that the uri is want, or,
// want "", that the run failed with an execution error naming what.
func checkURI(t *testing.T, runtime, body string, want, what string) {
	t.Helper()
	uri, err := runURI(t, runtime, body, Context{Budget: OfflineBudget})
	if want != "" {
		if err != nil || uri != want {
			t.Fatalf("uri %q, error %v; want %q", uri, err, want)
		}
		return
	}
	var ee *ExecutionError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), what) {
		t.Fatalf("uri %q, error %v; want an execution error naming %s", uri, err, what)
	}
}

// TestDynamicCodeRefused: "Dynamic code evaluation is not supported.
// Both eval() and Function constructors throw an error if attempted"
// (functions-javascript-runtime-20.md, Restricted features), in either
// runtime and by whatever path a function reaches a constructor; the
// Function object itself still works for instanceof and its prototype.
func TestDynamicCodeRefused(t *testing.T) {
	for _, runtime := range []string{"cloudfront-js-1.0", "cloudfront-js-2.0"} {
		for _, c := range []struct {
			name, body string
			want       string // "": the run fails with an error naming dynamic code evaluation
		}{
			{"eval", `return '/' + eval('1 + 1');`, ""},
			{"indirect eval", `var e = eval; return '/' + e('1 + 1');`, ""},
			{"globalThis.eval", `return '/' + globalThis.eval('1 + 1');`, ""},
			{"new Function", `var sum = new Function('a', 'b', 'return a + b'); return '/' + sum(1, 2);`, ""},
			{"Function called", `return '/' + Function('return 7')();`, ""},
			{"a function's constructor", `return '/' + (function () {}).constructor('return 7')();`, ""},
			{"an arrow's constructor", `return '/' + (() => 1).constructor('return 7')();`, ""},
			{"Function.prototype.constructor", `return '/' + Function.prototype.constructor('return 7')();`, ""},
			{"async function constructor", `return '/' + typeof Object.getPrototypeOf(async function () {}).constructor('return 7');`, ""},
			{"generator function constructor", `return '/' + typeof Object.getPrototypeOf(function* () {}).constructor('yield 7');`, ""},
			{"caught", `try { eval('1'); } catch (e) { return '/caught'; }`, "/caught"},
			{"Function still is Function", `var f = function () {}; return '/' + (f instanceof Function) + typeof Function + (f.constructor === Function) + Function.prototype.call.call(function () { return 'x'; });`, "/truefunctiontruex"},
		} {
			t.Run(runtime+"/"+c.name, func(t *testing.T) {
				if runtime == runtime10 && strings.Contains(c.body, "async") {
					t.Skip("1.0 has no async functions (TestRuntime10Refuses)")
				}
				checkURI(t, runtime, c.body, c.want, "dynamic code evaluation")
			})
		}
	}
}

// TestDateFrozenInARun: "All Date methods to query the current time
// always return the same value during the lifetime of a single function
// run. The returned timestamp is the time when the function started
// running." (Restricted features, "Date and timestamps"). Context.Now
// sets it (openfront route --now); unset, it is the clock's at the start.
func TestDateFrozenInARun(t *testing.T) {
	// A busy loop of some milliseconds: the clock moves, the run's Date not.
	const spin = `var t0 = Date.now(), d0 = new Date().getTime(), s0 = Date(); var x = 0; for (var i = 0; i < 100000; i++) { x += i; }`
	at := time.Date(2031, 5, 6, 7, 8, 9, 123e6, time.UTC)
	for _, runtime := range []string{"cloudfront-js-1.0", "cloudfront-js-2.0"} {
		t.Run(runtime+"/Context.Now", func(t *testing.T) {
			uri, err := runURI(t, runtime, spin+` return '/' + t0 + '/' + (Date.now() - t0) + '/' + (new Date().getTime() - d0) + '/' + (Date() === s0) + '/' + new Date().toISOString();`, Context{Now: at, Budget: OfflineBudget})
			want := fmt.Sprintf("/%d/0/0/true/2031-05-06T07:08:09.123Z", at.UnixMilli())
			if err != nil || uri != want {
				t.Fatalf("uri %q, error %v; want %q", uri, err, want)
			}
		})
		t.Run(runtime+"/clock", func(t *testing.T) {
			before := time.Now().UnixMilli()
			uri, err := runURI(t, runtime, spin+` return '/' + t0 + '/' + (Date.now() - t0) + '/' + (new Date().getTime() - d0);`, Context{Budget: OfflineBudget})
			after := time.Now().UnixMilli()
			var t0 int64
			var rest string
			if err == nil {
				p := strings.SplitN(strings.TrimPrefix(uri, "/"), "/", 2)
				t0, _ = strconv.ParseInt(p[0], 10, 64)
				rest = p[1]
			}
			if err != nil || rest != "0/0" || t0 < before || t0 > after {
				t.Fatalf("uri %q, error %v; want the run's start, within [%d, %d], and no time passing", uri, err, before, after)
			}
		})
	}
}

// TestRuntime10Refuses: cloudfront-js-1.0 has no const, let, async or
// await ("The const and let statements are not supported",
// functions-javascript-runtime-10.md; "async, await, const, and let are
// supported in JavaScript runtime 2.0", functions-javascript-runtime-20.md):
// vet refuses them at their place, as CloudFront refuses such a function,
// instead of running code that CloudFront would not.
func TestRuntime10Refuses(t *testing.T) {
	for _, c := range []struct {
		name, code string
		line, col  int
		what       string
	}{
		{"const", "function handler(e) {\n  const r = e.request;\n  return r;\n}", 2, 3, "const"},
		{"let", "function handler(e) { let r = e.request; return r; }", 1, 23, "let"},
		{"for let", "function handler(e) {\n for (let i = 0; i < 2; i++) {}\n return e.request; }", 2, 7, "let"},
		{"for const of", "function handler(e) {\n for (const k of []) {}\n return e.request; }", 2, 7, "const"},
		{"top-level const", "var a = 1;\nconst b = 2;\nfunction handler(e) { return e.request; }", 2, 1, "const"},
		{"async handler", "async function handler(e) { return e.request; }", 1, 1, "async"},
		{"async arrow", "var f = async () => 1;\nfunction handler(e) { return e.request; }", 1, 9, "async"},
		{"await", "function handler(e) { return e.request; }\nvar g = async function () { await 1; };", 2, 9, "async"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Compile("f", "cloudfront-js-1.0", c.code)
			var se *SyntaxError
			if !errors.As(err, &se) || se.Line != c.line || se.Col != c.col || !strings.Contains(se.Msg, c.what) || !strings.Contains(se.Msg, "cloudfront-js-2.0") {
				t.Fatalf("error %v; want a SyntaxError at %d:%d naming %s and cloudfront-js-2.0", err, c.line, c.col, c.what)
			}
			if _, err := Compile("f", "cloudfront-js-2.0", c.code); err != nil {
				t.Fatalf("cloudfront-js-2.0: %v", err)
			}
		})
	}
	// What 1.0 has of ES 6: template literals, arrow functions, rest
	// parameters.
	if _, err := Compile("f", "cloudfront-js-1.0", "var f = (...a) => `${a.length}`;\nfunction handler(e) { return e.request; }"); err != nil {
		t.Fatal(err)
	}
}

// TestStrictMode: "Functions operate in strict mode by default, so you
// don't need to add a use strict statement in your function code. This
// cannot be changed." (functions-javascript-runtime-20.md and -10.md,
// Core features): a variable assigned without var is a ReferenceError, a
// write to a frozen object a TypeError, this in a plain call undefined;
// with, octal literals and duplicate parameters do not compile.
func TestStrictMode(t *testing.T) {
	for _, runtime := range []string{"cloudfront-js-1.0", "cloudfront-js-2.0"} {
		for _, c := range []struct {
			name, body string
			want       string // "": the run fails with an error naming what
			what       string
		}{
			{"undeclared variable", `uri = '/x'; return uri;`, "", "ReferenceError"},
			{"frozen object", `var o = Object.freeze({a: 1}); o.a = 2; return '/' + o.a;`, "", "TypeError"},
			{"this in a plain call", `return '/' + (function () { return typeof this; })();`, "/undefined", ""},
			{"declared variable", `var uri = '/x'; return uri;`, "/x", ""},
		} {
			t.Run(runtime+"/"+c.name, func(t *testing.T) {
				checkURI(t, runtime, c.body, c.want, c.what)
			})
		}
		for _, c := range []struct {
			name, code string
			line, col  int
		}{
			{"with", "function handler(e) {\n  with (e) { return request; }\n}", 2, 3},
			{"octal literal", "function handler(e) {\n  e.request.uri = '/' + 010;\n  return e.request;\n}", 2, 25},
			{"duplicate parameters", "function f(a, a) { return a; }\nfunction handler(e) { return e.request; }", 1, 15},
		} {
			t.Run(runtime+"/"+c.name, func(t *testing.T) {
				_, err := Compile("f", runtime, c.code)
				var se *SyntaxError
				if !errors.As(err, &se) || se.Line != c.line || se.Col != c.col || !strings.Contains(strings.ToLower(se.Msg), "strict mode") && !strings.Contains(se.Msg, "Duplicate parameter") {
					t.Fatalf("error %v; want a strict mode SyntaxError at %d:%d", err, c.line, c.col)
				}
			})
		}
	}
}

// TestWalkNodesOnce: walkNodes visits each node once. goja's
// DeclarationList repeats a function's var bindings, and a walk that
// followed it visited nested functions 2^depth times: a 600-byte function
// took seconds to compile.
func TestWalkNodesOnce(t *testing.T) {
	const depth = 12
	code := strings.Repeat("var a = function () {\n", depth) + "return 1;\n" + strings.Repeat("};\n", depth) +
		"function handler(event) { return event.request; }"
	prg, err := parser.ParseFile(nil, "", code, 0)
	if err != nil {
		t.Fatal(err)
	}
	funcs := 0
	walkNodes(prg, func(node any) {
		if _, ok := node.(*ast.FunctionLiteral); ok {
			funcs++
		}
	})
	if funcs != depth+1 {
		t.Errorf("%d function literals visited, want %d (each once)", funcs, depth+1)
	}
}
