package cffunc

import "github.com/dop251/goja"

// The cloudfront module (`import cf from 'cloudfront'`) is one object
// whose methods each come from cloudfrontMethods: kvs, and the origin
// helpers (origins.go).
func init() { modules["cloudfront"] = cloudfrontModule }

// cloudfrontMethods make the cloudfront module's methods for a function
// on a runtime, by name. A method that acts on the request being run
// finds it in m.run: the module is made once per runtime.
var cloudfrontMethods = map[string]func(f *Function, m *vm) func(goja.FunctionCall) goja.Value{
	"kvs": kvsMethod,
}

func cloudfrontModule(f *Function, m *vm) (goja.Value, error) {
	cf := m.rt.NewObject()
	for name, method := range cloudfrontMethods {
		if err := cf.Set(name, method(f, m)); err != nil {
			return nil, err
		}
	}
	if err := cf.DefineAccessorProperty("edgeLocation", m.rt.ToValue(m.edgeLocation), nil, goja.FLAG_FALSE, goja.FLAG_TRUE); err != nil {
		return nil, err
	}
	return cf, nil
}

// edgeLocation is cf.edgeLocation ("General helper methods",
// general-helper-methods.md): {name, serverIp, region} of the node in a
// viewer-request run; "For viewer-response functions, this method is
// empty", and so it is outside a run. Made when read: few functions do.
func (m *vm) edgeLocation(goja.FunctionCall) goja.Value {
	o := m.rt.NewObject()
	if m.run == nil {
		return o
	}
	for _, p := range [...]struct{ key, val string }{{"name", m.edge.Name}, {"serverIp", m.edge.serverIP()}, {"region", m.edge.Region}} {
		if p.val != "" {
			o.Set(p.key, p.val)
		}
	}
	return o
}
