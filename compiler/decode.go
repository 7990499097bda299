package compiler

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"cuelang.org/go/cue"
)

// decodeValue fills dst (a pointer) from a validated, concrete value the way
// encoding/json would fill it from v.MarshalJSON(), but several times faster:
// it looks fields up by their JSON names instead of listing them, which makes
// MarshalJSON sort every struct's fields topologically. Only the kinds the
// schema's Go types use are handled; anything else is an error, and the
// caller then falls back to MarshalJSON so that messages stay the same.
func decodeValue(v cue.Value, dst any) error {
	return decodeInto(v, reflect.ValueOf(dst).Elem())
}

func decodeInto(v cue.Value, dst reflect.Value) error {
	v, _ = v.Default()
	switch dst.Kind() {
	case reflect.Struct:
		for _, f := range structFields(dst.Type()) {
			if f.embedded {
				if err := decodeInto(v, dst.Field(f.index)); err != nil {
					return err
				}
				continue
			}
			fv := v.LookupPath(cue.MakePath(f.sel))
			if !fv.Exists() {
				continue
			}
			if err := decodeInto(fv, dst.Field(f.index)); err != nil {
				return err
			}
		}
		return nil
	case reflect.Pointer:
		p := reflect.New(dst.Type().Elem())
		if err := decodeInto(v, p.Elem()); err != nil {
			return err
		}
		dst.Set(p)
		return nil
	case reflect.Slice:
		it, err := v.List()
		if err != nil {
			return err
		}
		// Like encoding/json, [] decodes to an empty, non-nil slice.
		s := reflect.MakeSlice(dst.Type(), 0, 4)
		for it.Next() {
			s = reflect.Append(s, reflect.Zero(dst.Type().Elem()))
			if err := decodeInto(it.Value(), s.Index(s.Len()-1)); err != nil {
				return err
			}
		}
		dst.Set(s)
		return nil
	case reflect.Map:
		if dst.Type().Key().Kind() != reflect.String {
			return fmt.Errorf("decode: unsupported map key %s", dst.Type().Key())
		}
		it, err := v.Fields()
		if err != nil {
			return err
		}
		m := reflect.MakeMap(dst.Type())
		for it.Next() {
			e := reflect.New(dst.Type().Elem()).Elem()
			if err := decodeInto(it.Value(), e); err != nil {
				return err
			}
			m.SetMapIndex(reflect.ValueOf(it.Selector().Unquoted()), e)
		}
		dst.Set(m)
		return nil
	case reflect.String:
		s, err := v.String()
		if err != nil {
			return err
		}
		dst.SetString(s)
		return nil
	case reflect.Bool:
		b, err := v.Bool()
		if err != nil {
			return err
		}
		dst.SetBool(b)
		return nil
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, err := v.Int64()
		if err != nil {
			return err
		}
		if dst.OverflowInt(n) {
			return fmt.Errorf("decode: %d overflows %s", n, dst.Type())
		}
		dst.SetInt(n)
		return nil
	case reflect.Float64:
		f, err := v.Float64()
		if err != nil {
			return err
		}
		dst.SetFloat(f)
		return nil
	}
	return fmt.Errorf("decode: unsupported type %s", dst.Type())
}

type fieldPlan struct {
	index    int
	sel      cue.Selector
	embedded bool
}

var fieldPlans sync.Map // reflect.Type -> []fieldPlan

// structFields lists the fields of t by JSON name, once per type.
func structFields(t reflect.Type) []fieldPlan {
	if p, ok := fieldPlans.Load(t); ok {
		return p.([]fieldPlan)
	}
	var plan []fieldPlan
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			plan = append(plan, fieldPlan{index: i, embedded: true})
			continue
		}
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		plan = append(plan, fieldPlan{index: i, sel: cue.Str(name)})
	}
	fieldPlans.Store(t, plan)
	return plan
}
