package table

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"reflect"
	"sort"
	"strings"
	"unicode/utf8"

	"openfront.dev/schema"
)

// ArtifactFormat names the table artifact's format; a loader refuses others.
const ArtifactFormat = "openfront-table/v1"

// artifact is the JSON form of a table: the vetted config with every default
// applied, its version and its source. The daemon rebuilds the table from it
// without evaluating CUE.
type artifact struct {
	Format  string         `json:"format"`
	Version string         `json:"version"`
	Source  Source         `json:"source"`
	Config  *schema.Config `json:"config"`
}

// MarshalArtifact encodes the table. The same config and source always give
// the same bytes: struct fields are ordered and map keys sorted.
func (t *Table) MarshalArtifact() ([]byte, error) {
	b, err := json.Marshal(artifact{Format: ArtifactFormat, Version: t.version, Source: t.source, Config: t.config})
	if err != nil {
		return nil, fmt.Errorf("marshal table: %w", err)
	}
	return append(b, '\n'), nil
}

// ArtifactEncoder is MarshalArtifact for one table after another (a
// compile worker's): an entry of the config (a distribution, a policy, a
// function, ...) that is the same value as in the last table encoded is
// not encoded again. The bytes are MarshalArtifact's.
type ArtifactEncoder struct {
	last    map[any]encodedEntry // by entry pointer
	size    int                  // of the last artifact
	version string               // of the last table encoded
}

// encodedEntry is an entry of the config's maps, written out.
type encodedEntry struct {
	key  string
	b    []byte // "key":value
	name int    // len("key":)
}

// Marshal encodes t as MarshalArtifact does.
func (e *ArtifactEncoder) Marshal(t *Table) ([]byte, error) {
	return e.marshal(t, false)
}

// MarshalDelta is Marshal for a reader that holds the last table e
// encoded, when its version is base: an entry that is the same value as
// in that table is written as the number 0, for DecodeDelta to take it
// from the reader's table, so that a one-file change costs its entries on
// both sides rather than the whole table. When base is not that version
// the artifact is whole, and delta is false.
func (e *ArtifactEncoder) MarshalDelta(t *Table, base string) (b []byte, delta bool, err error) {
	delta = base != "" && base == e.version
	b, err = e.marshal(t, delta)
	return b, delta, err
}

// kept stands for an entry the reader's table holds, in a delta.
const kept = "0"

func (e *ArtifactEncoder) marshal(t *Table, delta bool) ([]byte, error) {
	head, err := json.Marshal(struct {
		Format  string `json:"format"`
		Version string `json:"version"`
		Source  Source `json:"source"`
	}{ArtifactFormat, t.version, t.source})
	if err != nil {
		return nil, fmt.Errorf("marshal table: %w", err)
	}
	cache := make(map[any]encodedEntry, len(e.last))
	size := e.size + e.size/8
	if delta {
		size = 0 // a few entries, not the table
	}
	b := append(make([]byte, 0, size+len(head)), head[:len(head)-1]...)
	b = append(b, `,"config":`...)
	if t.config == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '{')
		cfg, first := reflect.ValueOf(t.config).Elem(), true
		for i := range cfg.NumField() {
			tag := reflect.TypeFor[schema.Config]().Field(i).Tag.Get("json")
			name, opts, _ := strings.Cut(tag, ",")
			f := cfg.Field(i)
			if opts == "omitempty" && f.Len() == 0 {
				continue
			}
			if !first {
				b = append(b, ',')
			}
			first = false
			b = append(append(append(b, '"'), name...), `":`...)
			var err error
			if configFields[name].entries && !f.IsNil() {
				b, err = e.entries(b, f, cache, delta)
			} else {
				var j []byte
				j, err = json.Marshal(f.Interface())
				b = append(b, j...)
			}
			if err != nil {
				return nil, fmt.Errorf("marshal table: %w", err)
			}
		}
		b = append(b, '}')
	}
	if !delta {
		e.size = len(b)
	}
	e.last, e.version = cache, t.version
	return append(b, "}\n"...), nil
}

// entries appends the map m, sorted by key as json.Marshal sorts it, each
// entry's bytes the last table's when it is the same value (in a delta,
// kept instead).
func (e *ArtifactEncoder) entries(b []byte, m reflect.Value, cache map[any]encodedEntry, delta bool) ([]byte, error) {
	keys := make([]string, 0, m.Len())
	for _, k := range m.MapKeys() {
		keys = append(keys, k.String())
	}
	sort.Strings(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		rv := m.MapIndex(reflect.ValueOf(k))
		v := rv.Interface()
		en, ok := e.last[v]
		if ok && en.key == k && delta {
			cache[v] = en
			b = append(append(b, en.b[:en.name]...), kept...)
			continue
		}
		if !ok || en.key != k {
			kj, err := json.Marshal(k)
			if err != nil {
				return nil, err
			}
			vj, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			en = encodedEntry{key: k, b: append(append(kj, ':'), vj...), name: len(kj) + 1}
		}
		if !rv.IsNil() {
			cache[v] = en
		}
		b = append(b, en.b...)
	}
	return append(b, '}'), nil
}

// LoadArtifact decodes and rebuilds a table, refusing a truncated or
// corrupted artifact and one whose content does not match its version.
func LoadArtifact(b []byte) (*Table, error) { return DecodeArtifact(b, "", nil) }

// DecodeArtifact is LoadArtifact for a table compiled from the config
// directory dir (its Source.Dir, which the artifact does not hold) that
// replaces prev (nil: none). An entry of the config (a distribution, a
// policy, a function, ...) whose bytes are those prev was decoded from is
// prev's value, not decoded again, so that Build reuses what it built from
// it: a one-file change costs its entries, not the whole table.
func DecodeArtifact(b []byte, dir string, prev *Table) (*Table, error) {
	return DecodeVetted(b, dir, prev, nil)
}

// DecodeVetted is DecodeArtifact whose config vet (when not nil) checks
// before the table is built: the content hash is no signature, so an
// artifact's config may never have been vetted, and Build trusts its
// config. vet's error refuses the artifact.
func DecodeVetted(b []byte, dir string, prev *Table, vet func(*schema.Config) error) (*Table, error) {
	return decode(b, dir, prev, vet, false)
}

// DecodeDelta is DecodeArtifact for an ArtifactEncoder's MarshalDelta over
// base, the table of the version it was given: an entry written 0 is
// base's. The content hash is checked as for a whole artifact.
func DecodeDelta(b []byte, dir string, base *Table) (*Table, error) {
	if base == nil {
		return nil, errors.New("table artifact: a delta, and no table to apply it to")
	}
	return decode(b, dir, base, nil, true)
}

func decode(b []byte, dir string, prev *Table, vet func(*schema.Config) error, delta bool) (*Table, error) {
	// The artifact is split by hand, and only the entries that changed
	// are decoded: encoding/json would scan all of it twice, most of the
	// parent's share of a reload (daemon/compileworker's benchmarks).
	var a struct {
		Format, Version string
		Source          Source
	}
	old, oldSums := &schema.Config{}, map[string]uint64(nil)
	if prev != nil {
		old, oldSums = prev.config, prev.entrySums
	}
	d := entryDecoder{old: oldSums, sums: map[string]uint64{}, delta: delta}
	var cfg *schema.Config
	end, err := object(b, artifactFields, func(key string, rest []byte) (int, error) {
		switch key {
		case "format":
			return value(rest, &a.Format)
		case "version":
			return value(rest, &a.Version)
		case "source":
			return value(rest, &a.Source)
		case "config":
			if rest[0] == 'n' {
				return value(rest, new(*schema.Config)) // null: no config
			}
			cfg = &schema.Config{}
			return d.config(rest, old, cfg)
		}
		return 0, nil // not one of artifactFields: object refused it
	})
	if err == nil {
		err = trailing(b, end)
	}
	if err != nil {
		return nil, fmt.Errorf("table artifact: %w", err)
	}
	if a.Format != ArtifactFormat {
		return nil, fmt.Errorf("table artifact: format %q, want %q", a.Format, ArtifactFormat)
	}
	if cfg == nil {
		return nil, fmt.Errorf("table artifact: no config")
	}
	if vet != nil {
		if err := vet(cfg); err != nil {
			return nil, fmt.Errorf("table artifact: %w", err)
		}
	}
	a.Source.Dir = dir
	t, err := Build(cfg, a.Source, prev)
	if err != nil {
		return nil, fmt.Errorf("table artifact: %w", err)
	}
	if t.version != a.Version {
		return nil, fmt.Errorf("table artifact: content hash %s does not match its version %s", t.version, a.Version)
	}
	t.entrySums = d.sums
	return t, nil
}

// entryDecoder holds the hashes of the entries of the table replaced, and
// gathers those of the new one. A hash that matches by chance, and reuses
// an entry that changed, fails the version check.
type entryDecoder struct {
	old, sums map[string]uint64
	delta     bool // an entry written kept is old's
}

// sumSeed seeds the entries' hashes, which never leave the process.
var sumSeed = maphash.MakeSeed()

// config decodes the config at the start of rest into cfg, over old, and
// returns where it ends.
func (d *entryDecoder) config(rest []byte, old, cfg *schema.Config) (int, error) {
	oldv, cfgv := reflect.ValueOf(old).Elem(), reflect.ValueOf(cfg).Elem()
	n, err := object(rest, configNames, func(key string, rest []byte) (int, error) {
		f := configFields[key]
		if f.entries && rest[0] == '{' {
			return d.entries(key, rest, oldv.Field(f.index), cfgv.Field(f.index))
		}
		return value(rest, cfgv.Field(f.index).Addr().Interface())
	})
	if err != nil && err != io.ErrUnexpectedEOF { // cut short: wherever it is
		return 0, fmt.Errorf("config: %w", err)
	}
	return n, err
}

// artifactFields are the artifact's members, and configNames
// schema.Config's, by JSON name.
var (
	artifactFields = []string{"format", "version", "source", "config"}
	configNames    = func() []string {
		names := make([]string, 0, len(configFields))
		for name := range configFields {
			names = append(names, name)
		}
		return names
	}()
)

// configField is a field of schema.Config: its index, and whether it is
// a map of pointers, whose entries are decoded one by one.
type configField struct {
	index   int
	entries bool
}

// configFields are schema.Config's fields by JSON name.
var configFields = func() map[string]configField {
	out := map[string]configField{}
	t := reflect.TypeFor[schema.Config]()
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		out[name] = configField{index: i, entries: f.Type.Kind() == reflect.Map && f.Type.Elem().Kind() == reflect.Pointer}
	}
	return out
}()

// entries decodes the object at the start of rest, one of the config's
// maps, into out and returns where it ends: an entry whose bytes hash as
// the table replaced's did is old's value.
func (d *entryDecoder) entries(field string, rest []byte, old, out reflect.Value) (int, error) {
	m := reflect.MakeMap(out.Type())
	out.Set(m)
	return object(rest, nil, func(id string, rest []byte) (int, error) {
		n, err := skipValue(rest, 0)
		if err != nil {
			return 0, err
		}
		b := rest[:n]
		if string(b) == "null" {
			// Build takes a config entry for a value.
			return 0, fmt.Errorf("%s %q: null", field, id)
		}
		key, idv := field+"\x00"+id, reflect.ValueOf(id)
		if d.delta && string(b) == kept {
			o := old.MapIndex(idv)
			if !o.IsValid() {
				return 0, fmt.Errorf("%s %q: kept, but the table the delta is over has none", field, id)
			}
			if sum, ok := d.old[key]; ok {
				d.sums[key] = sum
			}
			m.SetMapIndex(idv, o)
			return n, nil
		}
		sum := maphash.Bytes(sumSeed, b)
		d.sums[key] = sum
		if o := old.MapIndex(idv); o.IsValid() && d.old != nil && d.old[key] == sum {
			m.SetMapIndex(idv, o)
			return n, nil
		}
		e := reflect.New(out.Type().Elem())
		if err := strictUnmarshal(b, e.Interface()); err != nil {
			return 0, fmt.Errorf("%s %q: %w", field, id, err)
		}
		m.SetMapIndex(idv, e.Elem())
		return n, nil
	})
}

// value decodes the JSON value at the start of rest into v and returns
// where it ends.
func value(rest []byte, v any) (int, error) {
	n, err := skipValue(rest, 0)
	if err != nil {
		return 0, err
	}
	return n, strictUnmarshal(rest[:n], v)
}

// object calls f with each member of the JSON object at the start of b
// (after white space), given the bytes from the member's value on: f
// parses the value and returns where it ends. object returns where the
// object ends. A duplicate key is refused. When fields is not nil the
// object is a struct's: a key is one of fields, matched as encoding/json
// matches them (exactly, else folding case), and f gets that field.
func object(b []byte, fields []string, f func(key string, rest []byte) (int, error)) (int, error) {
	i := skipSpace(b, 0)
	if i == len(b) {
		return 0, io.ErrUnexpectedEOF // an empty file, or cut short
	}
	if b[i] != '{' {
		return 0, errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	if i = skipSpace(b, i+1); i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	for {
		end, err := skipValue(b, i)
		if err != nil {
			return 0, err
		}
		key, ok := memberName(b[i:end])
		if !ok {
			return 0, fmt.Errorf("offset %d: want a member name", i)
		}
		if fields != nil {
			if key, ok = field(fields, key); !ok {
				return 0, fmt.Errorf("unknown field %q", key)
			}
		}
		if seen[key] {
			return 0, fmt.Errorf("member %q twice", key)
		}
		seen[key] = true
		if i = skipSpace(b, end); i == len(b) {
			return 0, io.ErrUnexpectedEOF
		} else if b[i] != ':' {
			return 0, fmt.Errorf("offset %d: want ':'", i)
		}
		if i = skipSpace(b, i+1); i == len(b) {
			return 0, io.ErrUnexpectedEOF
		}
		n, err := f(key, b[i:])
		if err != nil {
			return 0, err
		}
		switch i = skipSpace(b, i+n); {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return i + 1, nil
		case i == len(b):
			return 0, io.ErrUnexpectedEOF
		default:
			return 0, fmt.Errorf("offset %d: want ',' or '}'", i)
		}
	}
}

// field is the one of fields that name names, as encoding/json matches
// a member to a struct field.
func field(fields []string, name string) (string, bool) {
	for _, f := range fields {
		if f == name {
			return f, true
		}
	}
	for _, f := range fields {
		if strings.EqualFold(f, name) {
			return f, true
		}
	}
	return name, false
}

// memberName decodes the JSON string b, at once when it needs no
// unescaping.
func memberName(b []byte) (string, bool) {
	if len(b) < 2 || b[0] != '"' {
		return "", false
	}
	if raw := b[1 : len(b)-1]; bytes.IndexByte(raw, '\\') < 0 && utf8.Valid(raw) && !bytes.ContainsFunc(raw, isControl) {
		return string(raw), true
	}
	var s string
	return s, json.Unmarshal(b, &s) == nil
}

// isControl reports whether JSON refuses r unescaped in a string.
func isControl(r rune) bool { return r < 0x20 }

// trailing refuses anything but white space after the value that ends
// at b[i].
func trailing(b []byte, i int) error {
	if i = skipSpace(b, i); i != len(b) {
		return fmt.Errorf("offset %d: data after the end", i)
	}
	return nil
}

// skipValue returns where the JSON value at b[i] ends. It follows brackets
// and strings only: the caller parses what it skipped.
func skipValue(b []byte, i int) (int, error) {
	depth := 0
	for j := i; j < len(b); j++ {
		switch c := b[j]; c {
		case '"':
			if depth == 0 && j > i {
				return j, nil // the end of a number, true, false or null
			}
			// To the next quote no odd run of backslashes escapes
			// (IndexByte: most of a config is in strings).
			open := j
			for {
				k := bytes.IndexByte(b[j+1:], '"')
				if k < 0 {
					return 0, io.ErrUnexpectedEOF
				}
				j += 1 + k
				n := 0
				for p := j - 1; p > open && b[p] == '\\'; p-- {
					n++
				}
				if n%2 == 0 {
					break
				}
			}
			if depth == 0 {
				return j + 1, nil
			}
		case '{', '[':
			if depth == 0 && j > i {
				return j, nil // the end of a number, true, false or null
			}
			depth++
		case '}', ']':
			if depth == 0 {
				if j == i {
					return 0, fmt.Errorf("offset %d: unexpected %q", j, c)
				}
				return j, nil // the end of a number, true, false or null
			}
			if depth--; depth == 0 {
				return j + 1, nil
			}
		case ',', ':', ' ', '\t', '\n', '\r':
			if depth == 0 {
				if j == i {
					return 0, fmt.Errorf("offset %d: want a value", j)
				}
				return j, nil // the end of a number, true, false or null
			}
		}
	}
	if depth == 0 && len(b) > i {
		return len(b), nil
	}
	return 0, io.ErrUnexpectedEOF
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// strictUnmarshal is json.Unmarshal refusing unknown fields.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	// Decode stops after a literal at a character JSON does not allow
	// there (nulltrue, 1-2), which skipValue let through.
	if off := dec.InputOffset(); off != int64(len(b)) {
		return fmt.Errorf("invalid character %q after %s", b[off], b[:off])
	}
	return nil
}
