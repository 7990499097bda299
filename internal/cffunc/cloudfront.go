package cffunc

import "github.com/dop251/goja"

// The cloudfront module (`import cf from 'cloudfront'`) is one object
// whose methods each come from cloudfrontMethods: kvs here, and the
// origin helpers (updateRequestOrigin, ...) where they are added.
func init() { modules["cloudfront"] = cloudfrontModule }

// cloudfrontMethods make the cloudfront module's methods for a function
// on a runtime, by name.
var cloudfrontMethods = map[string]func(f *Function, rt *goja.Runtime) func(goja.FunctionCall) goja.Value{
	"kvs": kvsMethod,
}

func cloudfrontModule(f *Function, rt *goja.Runtime) (goja.Value, error) {
	cf := rt.NewObject()
	for name, method := range cloudfrontMethods {
		if err := cf.Set(name, method(f, rt)); err != nil {
			return nil, err
		}
	}
	return cf, nil
}
