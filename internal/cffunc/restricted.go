package cffunc

import (
	"fmt"
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
// async and generator, each also reachable as its prototype's
// constructor; goja has no async generators) with one that throws an
// EvalError. The prototypes stay: instanceof Function and
// Function.prototype.call work. It is done through Go, not a script: a
// runtime is made on every miss of the pool.
func refuseDynamicCode(rt *goja.Runtime) error {
	refused := func(name string) *goja.Object {
		// A constructor, so that new Function(...) throws the EvalError
		// too, not a TypeError.
		return rt.ToValue(func(goja.ConstructorCall) *goja.Object {
			panic(newError(rt, "EvalError", name+": dynamic code evaluation is not supported in CloudFront Functions"))
		}).ToObject(rt)
	}
	g := rt.GlobalObject()
	v, err := rt.RunProgram(functionPrototypes)
	if err != nil {
		return err
	}
	arr := v.ToObject(rt)
	protos := []goja.Value{g.Get("Function").ToObject(rt).Get("prototype"), arr.Get("0"), arr.Get("1")}
	for i, p := range protos {
		proto, ok := p.(*goja.Object)
		if !ok {
			return fmt.Errorf("function prototype %d is %v", i, p)
		}
		name := proto.Get("constructor").ToObject(rt).Get("name")
		f := refused(name.String())
		if err := f.DefineDataProperty("name", name, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE); err != nil {
			return err
		}
		if err := f.DefineDataProperty("prototype", proto, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE); err != nil {
			return err
		}
		if err := proto.DefineDataProperty("constructor", f, goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE); err != nil {
			return err
		}
		if i == 0 {
			g.Set("Function", f)
		}
	}
	return g.Set("eval", refused("eval"))
}

// functionPrototypes are the prototypes of async and generator functions,
// which only such a function reaches.
var functionPrototypes = goja.MustCompile("prototypes.js", "[Object.getPrototypeOf(async function () {}), Object.getPrototypeOf(function* () {})]", true)

// runtime10Feature is the first place code uses what cloudfront-js-1.0
// does not have: const and let ("The const and let statements are not
// supported", functions-javascript-runtime-10.md), async and await
// ("async, await, const, and let are supported in JavaScript runtime
// 2.0", functions-javascript-runtime-20.md).
func runtime10Feature(prg *ast.Program) (at file.Idx, what string) {
	found := func(idx file.Idx, w string) {
		if at == 0 || idx < at {
			at, what = idx, w
		}
	}
	walkNodes(prg, func(node any) {
		switch n := node.(type) {
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
	})
	return at, what
}

// walkNodes calls visit with a pointer to each struct of the program's
// syntax tree. It walks by reflection: goja's ast package has no
// visitor, and a function is compiled once.
func walkNodes(prg *ast.Program, visit func(node any)) {
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
			visit(v.Addr().Interface())
		}
		for i := range v.NumField() {
			// DeclarationList repeats the var bindings the body holds:
			// followed, nested functions would be walked 2^depth times.
			if f := v.Type().Field(i); f.IsExported() && f.Name != "DeclarationList" {
				walk(v.Field(i))
			}
		}
	}
	walk(reflect.ValueOf(prg))
}

var fileType = reflect.TypeFor[*file.File]()
