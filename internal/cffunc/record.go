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
	rt    *goja.Runtime
	obj   *goja.Object
	props []prop
	// proto, when not nil, is the object's prototype instead of
	// Object.prototype (the request's, for rawQueryString).
	proto *goja.Object
}

// prop is a property of a record: val once made or set; else the object
// of sub when not nil; else the string str.
type prop struct {
	key, str string
	sub      lazyObject
	val      goja.Value
}

// init makes r empty, its properties kept in room's spare capacity (the
// run's, shared by its records: one allocation for them all).
func (r *record) init(rt *goja.Runtime, room []prop) {
	r.rt, r.props, r.proto = rt, room, nil
}

// str, sub and val add a property; the record's keys are added in order
// and are no index-like names.
func (r *record) str(key, s string) { r.props = append(r.props, prop{key: key, str: s}) }

func (r *record) sub(key string, s lazyObject) { r.props = append(r.props, prop{key: key, sub: s}) }

func (r *record) val(key string, v goja.Value) { r.props = append(r.props, prop{key: key, val: v}) }

func (r *record) index(key string) int {
	for i := range r.props {
		if r.props[i].key == key {
			return i
		}
	}
	return -1
}

// lazyObject is an object of the event made when first read.
type lazyObject interface{ object() *goja.Object }

func (r *record) object() *goja.Object {
	if r.obj == nil {
		r.obj = r.rt.NewDynamicObject(r)
		if r.proto != nil {
			r.obj.SetPrototype(r.proto)
		}
	}
	return r.obj
}

// unread reports that o is r's object and the function neither read nor
// set its property key: it is as it was made.
func (r *record) unread(o *goja.Object, key string) bool {
	if r == nil || r.obj == nil || o != r.obj {
		return false
	}
	i := r.index(key)
	return i >= 0 && r.props[i].val == nil
}

func (r *record) Get(key string) goja.Value {
	i := r.index(key)
	if i < 0 {
		return nil
	}
	p := &r.props[i]
	if p.val == nil {
		if p.sub != nil {
			p.val = p.sub.object()
		} else {
			p.val = r.rt.ToValue(p.str)
		}
	}
	return p.val
}

func (r *record) Set(key string, v goja.Value) bool {
	if i := r.index(key); i >= 0 {
		r.props[i].val = v
		return true
	}
	keys := r.Keys()
	r.props = slices.Insert(r.props, keyPosition(keys, key), prop{key: key, val: v})
	return true
}

func (r *record) Has(key string) bool { return r.index(key) >= 0 }

func (r *record) Delete(key string) bool {
	if i := r.index(key); i >= 0 {
		r.props = slices.Delete(r.props, i, i+1)
	}
	return true
}

func (r *record) Keys() []string {
	keys := make([]string, len(r.props))
	for i := range r.props {
		keys[i] = r.props[i].key
	}
	return keys
}
