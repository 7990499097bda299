package cffunc

import (
	"errors"
	"strings"
	"testing"
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
				uri, err := runURI(t, runtime, c.body, Context{Budget: OfflineBudget})
				if c.want != "" {
					if err != nil || uri != c.want {
						t.Fatalf("uri %q, error %v; want %q", uri, err, c.want)
					}
					return
				}
				var ee *ExecutionError
				if !errors.As(err, &ee) || !strings.Contains(err.Error(), "dynamic code evaluation") {
					t.Fatalf("uri %q, error %v; want an execution error naming dynamic code evaluation", uri, err)
				}
			})
		}
	}
}
