package cffunc

import (
	"fmt"
	"time"

	"github.com/dop251/goja"
)

// Store is a CloudFront KeyValueStore as functions read it through
// cf.kvs() (functions-custom-methods.md). It is immutable: a reload with
// other data makes another Store, so a request reads one version.
type Store struct {
	Name string
	// id is CloudFront's Id of the store, or "": code written for
	// CloudFront names the store by it (cf.kvs(kvsId)).
	id   string
	data map[string]string
	// created and updated are what meta() tells: when the store was
	// first seen and when its data last changed.
	created, updated time.Time
}

// NewStore makes a store of data, which the caller no longer changes;
// id is CloudFront's Id of the store, or "".
func NewStore(name, id string, data map[string]string, created, updated time.Time) *Store {
	return &Store{Name: name, id: id, data: data, created: created, updated: updated}
}

// Created is when the store was first seen (meta's creationDateTime).
func (s *Store) Created() time.Time { return s.created }

// Store is the key value store f reads, or nil.
func (f *Function) Store() *Store { return f.store }

// WithStore is f reading s instead: the same compiled code, with runtimes
// of its own (a runtime's cf.kvs() handle is bound to its store).
func (f *Function) WithStore(s *Store) *Function {
	return &Function{Name: f.Name, Runtime: f.Runtime, program: f.program, budget: f.budget, store: s, namedGroups: f.namedGroups, errorClasses: f.errorClasses, byteMethods: f.byteMethods, rawQueryString: f.rawQueryString}
}

// kvsMethod is cf.kvs([id]): a handle on the function's store. CloudFront
// names a store by its Id ("const kvsId = '...'; cf.kvs(kvsId)" in its
// examples); here that is the config's id of the store, or its name. The
// handle is made once per runtime, however often a handler asks for it.
func kvsMethod(f *Function, m *vm) func(goja.FunctionCall) goja.Value {
	rt := m.rt
	// The runtime's Error, taken when the module is imported: before the
	// code can replace the global.
	errorClass := rt.Get("Error")
	var h goja.Value
	return func(call goja.FunctionCall) goja.Value {
		s := f.store
		if s == nil {
			panic(rt.NewTypeError("cf.kvs(): function %q has no key value store (keyValueStoreAssociations)", f.Name))
		}
		if id := call.Argument(0); !goja.IsUndefined(id) && !s.named(id.String()) {
			panic(rt.NewTypeError("cf.kvs(%q): function %q is associated with key value store %q only", id.String(), f.Name, s.Name))
		}
		if h == nil {
			h = s.handle(rt, errorClass)
		}
		return h
	}
}

// named is whether code naming a store id means s: its name in the
// config, or CloudFront's Id of it.
func (s *Store) named(id string) bool {
	return id == s.Name || (s.id != "" && id == s.id)
}

// handle is the object with CloudFront's get, exists and meta, each
// answering a promise as CloudFront's do. Values are read from the
// store's map as they are asked for: nothing is copied per request. A
// failure rejects with an Error of errorClass, as the code's own errors:
// CloudFront's example logs it (`${err}`), which reads "Error: ...".
func (s *Store) handle(rt *goja.Runtime, errorClass goja.Value) goja.Value {
	h := rt.NewObject()
	settle := func(v func() (goja.Value, error)) goja.Value {
		p, resolve, reject := rt.NewPromise()
		val, err := v()
		if ex, ok := err.(*goja.Exception); ok {
			reject(ex.Value())
		} else if err != nil {
			e, nerr := rt.New(errorClass, rt.ToValue(err.Error()))
			if nerr != nil {
				panic(nerr)
			}
			reject(e)
		} else {
			resolve(val)
		}
		return rt.ToValue(p)
	}
	h.Set("get", func(call goja.FunctionCall) goja.Value {
		key := call.Argument(0).String()
		format := "string"
		if o, ok := call.Argument(1).(*goja.Object); ok {
			if v := o.Get("format"); v != nil && !goja.IsUndefined(v) {
				format = v.String()
			}
		}
		return settle(func() (goja.Value, error) {
			v, ok := s.data[key]
			if !ok {
				return nil, fmt.Errorf("key value store %q: key %q not found", s.Name, key)
			}
			return s.decode(rt, v, format)
		})
	})
	h.Set("exists", func(call goja.FunctionCall) goja.Value {
		_, ok := s.data[call.Argument(0).String()]
		return settle(func() (goja.Value, error) { return rt.ToValue(ok), nil })
	})
	h.Set("meta", func(goja.FunctionCall) goja.Value {
		return settle(func() (goja.Value, error) {
			m := rt.NewObject()
			m.Set("creationDateTime", s.created.UTC().Format(isoMillis))
			m.Set("lastUpdatedDateTime", s.updated.UTC().Format(isoMillis))
			m.Set("keyCount", len(s.data))
			return m, nil
		})
	})
	return h
}

// isoMillis is the form of meta()'s times, JavaScript's toISOString, as
// CloudFront's example shows them ("creationDateTime:2023-11-30T23:07:55.765Z",
// functions-custom-methods.md).
const isoMillis = "2006-01-02T15:04:05.000Z"

// decode is a value in get's format: string (the default), json (parsed)
// or bytes: a Buffer in 2.0 (the runtime's own class, whatever the code
// did to the global), else a Uint8Array of the UTF-8 bytes.
func (s *Store) decode(rt *goja.Runtime, v, format string) (goja.Value, error) {
	switch format {
	case "string":
		return rt.ToValue(v), nil
	case "json":
		parse, _ := goja.AssertFunction(rt.Get("JSON").ToObject(rt).Get("parse"))
		return parse(goja.Undefined(), rt.ToValue(v))
	case "bytes":
		if b := bufferClass(rt); b != nil {
			from, _ := goja.AssertFunction(b.Get("from"))
			return from(b, rt.ToValue(rt.NewArrayBuffer([]byte(v))))
		}
		return rt.New(rt.Get("Uint8Array"), rt.ToValue(rt.NewArrayBuffer([]byte(v))))
	}
	return nil, fmt.Errorf("get: format %q: CloudFront's are string, json and bytes", format)
}
