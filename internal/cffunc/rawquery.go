package cffunc

import "github.com/dop251/goja"

// requestPrototype is the prototype of a 2.0 event's request: Object's,
// with rawQueryString() ("General helper methods",
// general-helper-methods.md), "the unparsed and unaltered query string"
// the viewer sent, without its "?": "" when the URL has a "?" and nothing
// after it, undefined when it has none. On the prototype, the method is
// none of the request's own properties (Object.keys, JSON.stringify).
// Made once per runtime, for a function whose code names it.
func requestPrototype(m *vm) *goja.Object {
	rt := m.rt
	proto := rt.NewObject()
	method := rt.ToValue(func(goja.FunctionCall) goja.Value {
		if m.ev == nil {
			return goja.Undefined() // outside a run
		}
		raw, mark := m.ev.viewerQuery()
		if raw == "" && !mark {
			return goja.Undefined()
		}
		return rt.ToValue(raw)
	})
	proto.DefineDataProperty("rawQueryString", method, goja.FLAG_TRUE, goja.FLAG_TRUE, goja.FLAG_FALSE)
	return proto
}
