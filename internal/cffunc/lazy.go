package cffunc

import (
	"cmp"
	"slices"
	"unicode/utf8"

	"github.com/dop251/goja"
	"github.com/dop251/goja/unistring"
)

// lazyFields is a fields object of the event (headers, query string,
// cookies) whose entries are made when the function first reads them:
// most functions read a few of many, and an entry never read nor set is
// known unchanged on return. Its keys are ordered as an ordinary
// object's: index-like names first, ascending, then the rest as added.
type lazyFields struct {
	rt    *goja.Runtime
	obj   *goja.Object
	orig  fields // by name, each once
	at    index  // of orig
	entry func(rt *goja.Runtime, values []string) goja.Value
	keys  []string
	in    map[string]bool // keys, once they are many
	made  entries         // made or set
	// alias maps the name a function sees of each name that is not
	// UTF-8 (a raw byte of a query or cookie) to the name: a property
	// name is text, U+FFFD for each such byte, and the function asks for
	// the entry by it.
	alias map[string]string
}

func newLazyFields(rt *goja.Runtime, fs fields, entry func(*goja.Runtime, []string) goja.Value) *lazyFields {
	return new(lazyFields).init(rt, fs, entry)
}

// init makes l, a zero lazyFields, the object of fs; it returns l.
func (l *lazyFields) init(rt *goja.Runtime, fs fields, entry func(*goja.Runtime, []string) goja.Value) *lazyFields {
	return l.initOrder(rt, fs, nil, entry)
}

// initHeaders is init of header fields whose fs[from:] come in a map's
// random order: the object takes them in name order, stable as the
// event is. Sorting their positions rather than the fields saves moving
// the fields about (a run is on every request).
func (l *lazyFields) initHeaders(rt *goja.Runtime, fs fields, from int) *lazyFields {
	var room [32]uint8
	if len(fs) > len(room) {
		sortFields(fs[from:])
		return l.init(rt, fs, fieldEntry)
	}
	order := room[:len(fs)]
	for i := range order {
		order[i] = uint8(i)
	}
	for i := from + 1; i < len(order); i++ {
		for j := i; j > from && fs[order[j]].name < fs[order[j-1]].name; j-- {
			order[j], order[j-1] = order[j-1], order[j]
		}
	}
	return l.initOrder(rt, fs, order, fieldEntry)
}

// initOrder is init of fs taken in order, the positions in fs; nil: as
// they come.
func (l *lazyFields) initOrder(rt *goja.Runtime, fs fields, order []uint8, entry func(*goja.Runtime, []string) goja.Value) *lazyFields {
	*l = lazyFields{rt: rt, entry: entry}
	if len(fs) > 0 {
		// keys has room for names the function adds: most add one or two.
		l.orig, l.keys = make(fields, 0, len(fs)), make([]string, 0, len(fs)+2)
	}
	indexLike := false
	for i, f := range fs {
		if order != nil {
			f = fs[order[i]]
		}
		// A name twice is set twice: the last value, in the first place.
		if i := l.at.find(l.orig, f.name); i >= 0 {
			l.orig[i].values = f.values
			continue
		}
		l.at.append(&l.orig, f)
		l.keys = append(l.keys, f.name)
		if _, ok := arrayIndex(f.name); ok {
			indexLike = true
		}
		if !utf8.ValidString(f.name) {
			if l.alias == nil {
				l.alias = make(map[string]string)
			}
			l.alias[unistring.NewFromString(f.name).String()] = f.name
		}
	}
	if indexLike {
		// Ordered once, not as each is added: a query string may hold
		// thousands of numbers.
		slices.SortStableFunc(l.keys, func(a, b string) int {
			m, aok := arrayIndex(a)
			n, bok := arrayIndex(b)
			switch {
			case aok && bok:
				return cmp.Compare(m, n)
			case aok:
				return -1
			case bok:
				return 1
			}
			return 0
		})
	}
	return l
}

// has reports key among l's keys.
func (l *lazyFields) has(key string) bool {
	if l.in == nil {
		if len(l.keys) <= smallFields {
			return slices.Contains(l.keys, key)
		}
		l.in = make(map[string]bool, 2*len(l.keys))
		for _, k := range l.keys {
			l.in[k] = true
		}
	}
	return l.in[key]
}

// own is the name of l that key, a name as the function sees it, stands
// for; key when l is nil.
func (l *lazyFields) own(key string) string {
	if l == nil {
		return key
	}
	if name, ok := l.alias[key]; ok && !l.has(key) {
		return name
	}
	return key
}

// object is l's object, made when the event's is read: most functions
// read few of the event's fields objects.
func (l *lazyFields) object() *goja.Object {
	if l.obj == nil {
		l.obj = l.rt.NewDynamicObject(l)
	}
	return l.obj
}

// insertKey adds key to keys, ordered as an ordinary object's.
func insertKey(keys []string, key string) []string {
	return slices.Insert(keys, keyPosition(keys, key), key)
}

// keyPosition is where key goes in keys, ordered as an ordinary object's:
// index-like names first, ascending, then the rest as added.
func keyPosition(keys []string, key string) int {
	n, ok := arrayIndex(key)
	if !ok {
		return len(keys)
	}
	i := 0
	for ; i < len(keys); i++ {
		m, ok := arrayIndex(keys[i])
		if !ok || m > n {
			break
		}
	}
	return i
}

// arrayIndex is key as an array index: a canonical number below 2³²-1.
func arrayIndex(key string) (uint32, bool) {
	if key == "" || len(key) > 10 || (key[0] == '0' && len(key) > 1) {
		return 0, false
	}
	var n uint64
	for i := range len(key) {
		// By hand: most names are not numbers, and ParseUint's error allocates.
		if key[i] < '0' || key[i] > '9' {
			return 0, false
		}
		n = n*10 + uint64(key[i]-'0')
	}
	if n >= 1<<32-1 {
		return 0, false
	}
	return uint32(n), true
}

// unchanged is the original values of key when o is l's object and
// the function neither read nor set its entry.
func (l *lazyFields) unchanged(o *goja.Object, key string) ([]string, bool) {
	if l == nil || l.obj == nil || o != l.obj {
		return nil, false
	}
	if _, ok := l.made.get(key); ok {
		return nil, false
	}
	return l.at.get(l.orig, key), true
}

func (l *lazyFields) Get(key string) goja.Value {
	key = l.own(key)
	if v, ok := l.made.get(key); ok {
		return v
	}
	if !l.has(key) {
		return nil
	}
	v := l.entry(l.rt, l.at.get(l.orig, key))
	l.set(key, v)
	return v
}

func (l *lazyFields) set(key string, v goja.Value) { l.made.set(key, v) }

// entries are values by name: in a slice while few (most functions
// touch one or two of a fields object's), in a map past smallFields.
type entries struct {
	few  []entry
	arr  [2]entry // room for few
	many map[string]goja.Value
}

type entry struct {
	key string
	v   goja.Value
}

func (e *entries) get(key string) (goja.Value, bool) {
	if e.many != nil {
		v, ok := e.many[key]
		return v, ok
	}
	for _, x := range e.few {
		if x.key == key {
			return x.v, true
		}
	}
	return nil, false
}

func (e *entries) set(key string, v goja.Value) {
	if e.many != nil {
		e.many[key] = v
		return
	}
	for i := range e.few {
		if e.few[i].key == key {
			e.few[i].v = v
			return
		}
	}
	if len(e.few) < smallFields {
		if e.few == nil {
			e.few = e.arr[:0]
		}
		e.few = append(e.few, entry{key, v})
		return
	}
	e.many = make(map[string]goja.Value, 2*len(e.few))
	for _, x := range e.few {
		e.many[x.key] = x.v
	}
	e.many[key] = v
	e.few = nil
}

func (e *entries) del(key string) {
	if e.many != nil {
		delete(e.many, key)
		return
	}
	for i := range e.few {
		if e.few[i].key == key {
			e.few = slices.Delete(e.few, i, i+1)
			return
		}
	}
}

func (l *lazyFields) Set(key string, v goja.Value) bool {
	key = l.own(key)
	if !l.has(key) {
		l.keys = insertKey(l.keys, key)
		if l.in != nil {
			l.in[key] = true
		}
	}
	l.set(key, v)
	return true
}

func (l *lazyFields) Has(key string) bool { return l.has(l.own(key)) }

func (l *lazyFields) Delete(key string) bool {
	key = l.own(key)
	if !l.has(key) {
		return true
	}
	if i := slices.Index(l.keys, key); i >= 0 {
		l.keys = slices.Delete(l.keys, i, i+1)
	}
	delete(l.in, key)
	l.made.del(key)
	return true
}

func (l *lazyFields) Keys() []string { return slices.Clone(l.keys) }

// keys is o's keys: l's own when o is l's object, without goja's
// iteration.
func (l *lazyFields) keysOf(o *goja.Object) []string {
	if l != nil && l.obj != nil && o == l.obj {
		return l.Keys()
	}
	return o.Keys()
}

// origOf is the original values of key; none when l is nil.
func (l *lazyFields) origOf(key string) []string {
	if l == nil {
		return nil
	}
	return l.at.get(l.orig, key)
}

// all is l's fields as they were, in the order of its object's keys.
func (l *lazyFields) all() fields {
	out := make(fields, len(l.keys))
	for i, k := range l.keys {
		out[i] = field{k, l.at.get(l.orig, k)}
	}
	return out
}
