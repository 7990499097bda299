package cffunc

import (
	"slices"

	"github.com/dop251/goja"
)

// record is one of the event's own objects (the event, its context,
// viewer, request and response) as a dynamic object: a value becomes a
// JavaScript value when the function first reads it, and an object when
// it is a record, so a run builds little of what it never reads. It
// behaves as an ordinary object whose properties are all writable,
// enumerable and configurable.
type record struct {
	rt  *goja.Runtime
	obj *goja.Object
	// A property is vals[i] once made or set; else the object of subs[i]
	// when not nil; else the string strs[i].
	keys []string
	strs []string
	subs []lazyObject
	vals []goja.Value
	// Inline room for the few properties of an event's object.
	keyArr [5]string
	strArr [5]string
	subArr [5]lazyObject
	valArr [5]goja.Value
}

func (r *record) init(rt *goja.Runtime) {
	r.rt = rt
	r.keys, r.strs, r.subs, r.vals = r.keyArr[:0], r.strArr[:0], r.subArr[:0], r.valArr[:0]
}

// str, sub and val add a property; the record's keys are added in order
// and are no index-like names.
func (r *record) str(key, s string) { r.add(key, s, nil, nil) }

func (r *record) sub(key string, s lazyObject) { r.add(key, "", s, nil) }

func (r *record) val(key string, v goja.Value) { r.add(key, "", nil, v) }

func (r *record) add(key, s string, sub lazyObject, v goja.Value) {
	r.keys, r.strs, r.subs, r.vals = append(r.keys, key), append(r.strs, s), append(r.subs, sub), append(r.vals, v)
}

// lazyObject is an object of the event made when first read.
type lazyObject interface{ object() *goja.Object }

func (r *record) object() *goja.Object {
	if r.obj == nil {
		r.obj = r.rt.NewDynamicObject(r)
	}
	return r.obj
}

// unread reports that o is r's object and the function neither read nor
// set its property key: it is as it was made.
func (r *record) unread(o *goja.Object, key string) bool {
	if r == nil || r.obj == nil || o != r.obj {
		return false
	}
	i := slices.Index(r.keys, key)
	return i >= 0 && r.vals[i] == nil
}

func (r *record) Get(key string) goja.Value {
	i := slices.Index(r.keys, key)
	if i < 0 {
		return nil
	}
	if r.vals[i] == nil {
		if r.subs[i] != nil {
			r.vals[i] = r.subs[i].object()
		} else {
			r.vals[i] = r.rt.ToValue(r.strs[i])
		}
	}
	return r.vals[i]
}

func (r *record) Set(key string, v goja.Value) bool {
	if i := slices.Index(r.keys, key); i >= 0 {
		r.vals[i] = v
		return true
	}
	i := keyPosition(r.keys, key)
	r.keys, r.strs = slices.Insert(r.keys, i, key), slices.Insert(r.strs, i, "")
	r.subs, r.vals = slices.Insert(r.subs, i, nil), slices.Insert(r.vals, i, v)
	return true
}

func (r *record) Has(key string) bool { return slices.Contains(r.keys, key) }

func (r *record) Delete(key string) bool {
	if i := slices.Index(r.keys, key); i >= 0 {
		r.keys, r.strs = slices.Delete(r.keys, i, i+1), slices.Delete(r.strs, i, i+1)
		r.subs, r.vals = slices.Delete(r.subs, i, i+1), slices.Delete(r.vals, i, i+1)
	}
	return true
}

func (r *record) Keys() []string { return slices.Clone(r.keys) }
