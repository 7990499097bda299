package compiler

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"openfront.dev/schema"
)

// TestDecodeValueMatchesJSON checks that decodeValue fills the Go types
// exactly as MarshalJSON and json.Unmarshal do, for every example config and
// a generated one.
func TestDecodeValueMatchesJSON(t *testing.T) {
	var dirs []string
	entries, err := os.ReadDir("../examples")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			dirs = append(dirs, filepath.Join("../examples", e.Name()))
		}
	}
	gen := t.TempDir()
	genConfig(t, gen, 3)
	dirs = append(dirs, gen)
	// Every field of a response headers policy, a float among them.
	a, err := txtar.ParseFile(filepath.Join("testdata", "valid", "response-headers-policies.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	rhp := filepath.Join(t.TempDir(), "response-headers-policies")
	writeArchive(t, rhp, a, false)
	dirs = append(dirs, rhp)
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c := New(dir)
			if _, err := c.scan(); err != nil {
				t.Fatal(err)
			}
			e := c.newEvaluator()
			for _, u := range planUnits(c.sortedFiles(), c.schemaHash) {
				v, errs := e.build(u)
				if errs != nil {
					t.Fatalf("%s: %v", u.name(), errs)
				}
				var got, want schema.Config
				if err := decodeValue(v, &got); err != nil {
					t.Fatalf("%s: decodeValue: %v", u.name(), err)
				}
				b, err := v.MarshalJSON()
				if err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(b, &want); err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, want) {
					g, _ := json.Marshal(got)
					t.Errorf("%s: decodeValue differs from JSON:\n got %s\nwant %s", u.name(), g, b)
				}
			}
		})
	}
}
