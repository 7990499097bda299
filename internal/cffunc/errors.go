package cffunc

import (
	"strings"

	"github.com/dop251/goja"
)

// njsErrors are the error classes CloudFront lists ("Error types",
// functions-javascript-runtime-10.md and -20.md) that goja lacks: njs,
// CloudFront's engine, throws an InternalError or a MemoryError when a
// run exhausts it, and a function may test for them with instanceof.
var njsErrors = []string{"InternalError", "MemoryError"}

// namesIn are the names of list that code holds: a function reaches a
// global or a method by its name, and a runtime is made on every miss of
// the pool, so one whose code names none pays for none.
func namesIn(code string, list []string) []string {
	var names []string
	for _, name := range list {
		if strings.Contains(code, name) {
			names = append(names, name)
		}
	}
	return names
}

// enableErrors gives rt the classes names, each made when the function
// first reads it.
func enableErrors(rt *goja.Runtime, names []string) {
	for _, name := range names {
		lazyGlobal(rt, name, func(rt *goja.Runtime) goja.Value { return errorClass(rt, name) })
	}
}

// errorClass is a subclass of Error named name, as the native ones:
// callable with or without new, its instances Error objects (a stack,
// [object Error]) whose prototype is the class's, or a subclass's.
func errorClass(rt *goja.Runtime, name string) goja.Value {
	base := rt.Get("Error")
	class := rt.ToValue(func(call goja.ConstructorCall) *goja.Object {
		e, err := rt.New(base, call.Arguments...)
		if err != nil {
			panic(err)
		}
		e.SetPrototype(call.This.Prototype())
		return e
	}).ToObject(rt)
	class.DefineDataProperty("name", rt.ToValue(name), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	class.DefineDataProperty("length", rt.ToValue(1), goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	class.SetPrototype(base.ToObject(rt))
	proto := class.Get("prototype").ToObject(rt)
	proto.SetPrototype(base.ToObject(rt).Get("prototype").ToObject(rt))
	proto.DefineDataProperty("name", rt.ToValue(name), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	proto.DefineDataProperty("message", rt.ToValue(""), goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	return class
}
