package testenv

import (
	"os"
	"path/filepath"
	"testing"

	"openfront.dev/compiler"
	"openfront.dev/compiler/table"
)

// Compile writes src as main.cue into dir (a new temp dir when "") and
// compiles it; a config error fails the test. Files the config names, such
// as local origins' directories, go into dir beforehand.
func Compile(t testing.TB, dir, src string) *table.Table {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := compiler.New(dir).Compile()
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return res.Table
}
