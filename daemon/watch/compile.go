package watch

import (
	"fmt"
	"os"
	"path/filepath"

	"openfront.dev/compiler"
	"openfront.dev/compiler/table"
)

// dirCompiler is the default Compile: one compiler.Compiler kept across
// reloads, so that a reload after a one-file change evaluates one unit. The
// compiler follows a Dir that is a symlink (git-sync's current), and after
// the link is re-pointed finds the new checkout's files by their new change
// times, re-evaluating only those whose content differs.
type dirCompiler struct {
	dir string
	c   *compiler.Compiler
}

func (d *dirCompiler) compile() (*table.Table, compiler.Errors, error) {
	if d.c == nil {
		d.c = compiler.New(d.dir)
	}
	res, err := d.c.Compile()
	if err != nil {
		return nil, nil, err
	}
	return res.Table, res.Warnings, nil
}

// loadArtifact is the default Compile of a table file: its config is
// vetted as compile vets one, since anyone can write an artifact; a local
// origin's path is relative to the file's directory, as serve takes it.
func loadArtifact(path string) func() (*table.Table, compiler.Errors, error) {
	return func() (*table.Table, compiler.Errors, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, fmt.Errorf("read table: %w", err)
		}
		t, err := compiler.LoadArtifact(b, filepath.Dir(path))
		if err != nil {
			// The file the operator gave, as a config's errors name theirs.
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		return t, nil, nil
	}
}
