package table

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"

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
	// The artifact is split by hand, and only the entries that changed
	// are decoded: encoding/json would scan all of it twice, most of the
	// parent's share of a reload (daemon/compileworker's benchmarks).
	var a struct {
		Format, Version string
		Source          Source
	}
	var config []byte
	err := members(b, func(key string, v []byte) error {
		switch key {
		case "format":
			return strictUnmarshal(v, &a.Format)
		case "version":
			return strictUnmarshal(v, &a.Version)
		case "source":
			return strictUnmarshal(v, &a.Source)
		case "config":
			config = v
			return nil
		}
		return fmt.Errorf("unknown field %q", key)
	})
	if err != nil {
		return nil, fmt.Errorf("table artifact: %w", err)
	}
	if a.Format != ArtifactFormat {
		return nil, fmt.Errorf("table artifact: format %q, want %q", a.Format, ArtifactFormat)
	}
	if config == nil || string(config) == "null" {
		return nil, fmt.Errorf("table artifact: no config")
	}
	old, oldSums := &schema.Config{}, map[string][32]byte(nil)
	if prev != nil {
		old, oldSums = prev.config, prev.entrySums
	}
	d := entryDecoder{old: oldSums, sums: map[string][32]byte{}}
	cfg := &schema.Config{}
	oldv, cfgv := reflect.ValueOf(old).Elem(), reflect.ValueOf(cfg).Elem()
	err = members(config, func(key string, v []byte) error {
		f, ok := configFields[key]
		switch {
		case !ok:
			return fmt.Errorf("config: unknown field %q", key)
		case f.entries:
			return d.decode(key, v, oldv.Field(f.index), cfgv.Field(f.index))
		}
		return strictUnmarshal(v, cfgv.Field(f.index).Addr().Interface())
	})
	if err != nil {
		return nil, fmt.Errorf("table artifact: %w", err)
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
// gathers those of the new one.
type entryDecoder struct {
	old, sums map[string][32]byte
}

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

// decode decodes v, one of the config's maps, into out: an entry whose
// bytes hash as the table replaced's did is old's value.
func (d *entryDecoder) decode(field string, v []byte, old, out reflect.Value) error {
	if string(v) == "null" {
		return nil // as json.Unmarshal leaves it
	}
	m := reflect.MakeMap(out.Type())
	out.Set(m)
	return members(v, func(id string, b []byte) error {
		key, idv := field+"\x00"+id, reflect.ValueOf(id)
		sum := sha256.Sum256(b)
		d.sums[key] = sum
		if o := old.MapIndex(idv); o.IsValid() && d.old != nil && d.old[key] == sum {
			m.SetMapIndex(idv, o)
			return nil
		}
		e := reflect.New(out.Type().Elem())
		if err := strictUnmarshal(b, e.Interface()); err != nil {
			return fmt.Errorf("%s %q: %w", field, id, err)
		}
		m.SetMapIndex(idv, e.Elem())
		return nil
	})
}

// members calls f with each member of the JSON object b, its value's
// bytes unparsed (f parses them, or compares them with ones it parsed).
// A duplicate key is refused.
func members(b []byte, f func(key string, v []byte) error) error {
	i := skipSpace(b, 0)
	if i == len(b) || b[i] != '{' {
		return errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	if i = skipSpace(b, i+1); i < len(b) && b[i] == '}' {
		return trailing(b, i+1)
	}
	for {
		end, err := skipValue(b, i)
		if err != nil {
			return err
		}
		var key string
		if b[i] != '"' || json.Unmarshal(b[i:end], &key) != nil {
			return fmt.Errorf("offset %d: want a member name", i)
		}
		if seen[key] {
			return fmt.Errorf("member %q twice", key)
		}
		seen[key] = true
		if i = skipSpace(b, end); i == len(b) {
			return io.ErrUnexpectedEOF
		} else if b[i] != ':' {
			return fmt.Errorf("offset %d: want ':'", i)
		}
		i = skipSpace(b, i+1)
		if end, err = skipValue(b, i); err != nil {
			return err
		}
		if err := f(key, b[i:end]); err != nil {
			return err
		}
		switch i = skipSpace(b, end); {
		case i < len(b) && b[i] == ',':
			i = skipSpace(b, i+1)
		case i < len(b) && b[i] == '}':
			return trailing(b, i+1)
		case i == len(b):
			return io.ErrUnexpectedEOF
		default:
			return fmt.Errorf("offset %d: want ',' or '}'", i)
		}
	}
}

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
			for j++; j < len(b) && b[j] != '"'; j++ {
				if b[j] == '\\' {
					j++
				}
			}
			if j >= len(b) {
				return 0, io.ErrUnexpectedEOF
			}
			if depth == 0 {
				return j + 1, nil
			}
		case '{', '[':
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
	return dec.Decode(v)
}
