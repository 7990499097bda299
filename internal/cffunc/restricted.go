package cffunc

import (
	"reflect"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/file"
)

// CloudFront's restricted features (functions-javascript-runtime-20.md,
// "Restricted features"): "Dynamic code evaluation is not supported.
// Both eval() and Function constructors throw an error if attempted",
// and "All Date methods to query the current time always return the
// same value during the lifetime of a single function run" (vm.now).

// refuseDynamicCode replaces eval and each Function constructor (plain,
// async and generator, each reachable as its prototype's constructor;
// goja has no async generators) with one that throws an EvalError. The
// prototypes stay: instanceof Function and Function.prototype.call work.
var refuseDynamicCode = goja.MustCompile("restricted.js", `(function () {
	function refused(name) {
		return function () {
			throw new EvalError(name + ': dynamic code evaluation is not supported in CloudFront Functions');
		};
	}
	[Function.prototype,
	 Object.getPrototypeOf(async function () {}),
	 Object.getPrototypeOf(function* () {})].forEach(function (proto) {
		var f = refused(proto.constructor.name);
		f.prototype = proto;
		Object.defineProperty(f, 'name', {value: proto.constructor.name});
		Object.defineProperty(proto, 'constructor', {value: f, writable: true, configurable: true});
	});
	globalThis.Function = Function.prototype.constructor;
	globalThis.eval = refused('eval');
})();`, false)

// runtime10Feature is the first place code uses what cloudfront-js-1.0
// does not have: const and let ("The const and let statements are not
// supported", functions-javascript-runtime-10.md), async and await
// ("async, await, const, and let are supported in JavaScript runtime
// 2.0", functions-javascript-runtime-20.md). The AST is walked by
// reflection: goja's ast package has no visitor, and vet compiles a
// function once.
func runtime10Feature(prg *ast.Program) (at file.Idx, what string) {
	found := func(idx file.Idx, w string) {
		if at == 0 || idx < at {
			at, what = idx, w
		}
	}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.Pointer, reflect.Interface:
			if !v.IsNil() && v.Type() != fileType {
				walk(v.Elem())
			}
			return
		case reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i))
			}
			return
		case reflect.Struct:
		default:
			return
		}
		if v.CanAddr() {
			switch n := v.Addr().Interface().(type) {
			case *ast.LexicalDeclaration:
				found(n.Idx, n.Token.String())
			case *ast.ForDeclaration:
				found(n.Idx, map[bool]string{true: "const", false: "let"}[n.IsConst])
			case *ast.FunctionLiteral:
				if n.Async {
					found(n.Function, "async")
				}
			case *ast.ArrowFunctionLiteral:
				if n.Async {
					found(n.Start, "async")
				}
			case *ast.AwaitExpression:
				found(n.Await, "await")
			}
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				walk(v.Field(i))
			}
		}
	}
	walk(reflect.ValueOf(prg))
	return at, what
}

var fileType = reflect.TypeFor[*file.File]()
