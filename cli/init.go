package cli

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/mod/module"

	"openfront.dev/policies"
	"openfront.dev/schema"
)

func init() {
	register("init", command{
		summary: "create a config repo: cue.mod with the schema vendored, an example distribution, a CI workflow",
		usage:   "init [--module PATH] DIR",
		examples: []string{
			"init cdn-config",
			"init --module example.com/cdn cdn-config",
		},
		run: runInit,
	})
}

// initData holds the files of a new config repo other than cue.mod. go:embed
// skips dot files, so they are stored under names without the dot.
//
//go:embed initdata
var initData embed.FS

// dotNames maps initdata's top-level names to the names they get in the repo.
var dotNames = map[string]string{"github": ".github", "gitignore": ".gitignore"}

const (
	defaultModule = "example.com/cdn@v0"
	// cueLanguageVersion matches openfront's own cue.mod/module.cue
	// (init_test checks), so the new repo needs no newer cue than openfront.
	cueLanguageVersion = "v0.17.0"
	// vendorDir is where legacy CUE vendoring finds imported packages: with
	// no deps in module.cue, cue resolves "openfront.dev/schema" from
	// cue.mod/pkg/openfront.dev/schema without a registry.
	vendorDir = "cue.mod/pkg"
)

// initFile is one file of a new config repo.
type initFile struct {
	rel  string // slash-separated, relative to the repo
	data []byte
}

func runInit(args []string, stdout, stderr io.Writer) int {
	fl := newFlags("init", "init [--module PATH] DIR", stderr)
	mod := fl.String("module", defaultModule, "the CUE module `PATH` of the new repo")
	pos, err := parseFlags(fl, args)
	if p := positional(pos, "DIR"); err != nil || p != "" {
		return badUsage(fl, err, p)
	}
	if err := module.CheckPath(*mod); err != nil {
		fmt.Fprintf(stderr, "openfront init: --module: %v\n", err)
		return exitUsage
	}
	dir := pos[0]
	files, err := scaffold(*mod)
	if err == nil {
		err = createRepo(dir, files)
	}
	if err != nil {
		fmt.Fprintf(stderr, "openfront init: %v\n", err)
		return exitFail
	}
	printCreated(stdout, dir, *mod, files)
	return exitOK
}

// scaffold returns the files of a new config repo, in path order.
func scaffold(mod string) ([]initFile, error) {
	files := []initFile{{
		rel: "cue.mod/module.cue",
		data: fmt.Appendf(nil, `// The CUE module of this config repo. openfront.dev/schema and
// openfront.dev/policies are vendored under cue.mod/pkg/, so plain cue finds
// them without a registry; openfront itself uses the copies in its binary.
module: %s
language: version: %s
`, strconv.Quote(mod), strconv.Quote(cueLanguageVersion)),
	}}
	for _, v := range []struct {
		importPath string
		fsys       fs.FS
	}{{schema.ImportPath, schema.Files}, {policies.ImportPath, policies.Files}} {
		names, err := fs.Glob(v.fsys, "*.cue")
		if err != nil {
			return nil, fmt.Errorf("vendor %s: %w", v.importPath, err)
		}
		for _, name := range names {
			b, err := fs.ReadFile(v.fsys, name)
			if err != nil {
				return nil, fmt.Errorf("vendor %s: %w", v.importPath, err)
			}
			files = append(files, initFile{rel: path.Join(vendorDir, v.importPath, name), data: b})
		}
	}
	err := fs.WalkDir(initData, "initdata", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := initData.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, "initdata/")
		top, rest, _ := strings.Cut(rel, "/")
		if n, ok := dotNames[top]; ok {
			rel = path.Join(n, rest)
		}
		files = append(files, initFile{rel: rel, data: b})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read templates: %w", err)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	return files, nil
}

// createRepo writes files into dir all at once or not at all: they are
// written to a staging directory first and then renamed into place. dir may
// exist if it holds only dot files (a fresh clone's .git), none of which the
// new repo would overwrite.
func createRepo(dir string, files []initFile) (err error) {
	tops := map[string]bool{}
	for _, f := range files {
		top, _, _ := strings.Cut(f.rel, "/")
		tops[top] = true
	}
	exists := false
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		// A symlink to nowhere is there all the same: the rename onto it
		// would fail naming the staging directory.
		if target, lerr := os.Readlink(dir); lerr == nil {
			return fmt.Errorf("%s is a symlink to %s, which does not exist: remove it, or give another DIR", dir, target)
		}
	case err != nil:
		return err
	case !fi.IsDir():
		return fmt.Errorf("%s exists and is not a directory", dir)
	default:
		exists = true
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if !strings.HasPrefix(e.Name(), ".") {
				return fmt.Errorf("%s is not empty (it has %s): init needs a new or empty directory", dir, e.Name())
			}
		}
		for _, e := range entries {
			if tops[e.Name()] {
				return fmt.Errorf("%s already has %s", dir, e.Name())
			}
		}
	}

	// Stage inside an existing dir (on the same file system, and writable if
	// anything is), else beside the new one.
	stageIn := dir
	if !exists {
		stageIn = filepath.Dir(filepath.Clean(dir))
		// Parents made for a nested DIR go again on failure, if still empty.
		var made []string
		for p := stageIn; ; p = filepath.Dir(p) {
			if _, err := os.Lstat(p); err == nil || p == filepath.Dir(p) {
				break
			}
			made = append(made, p)
		}
		defer func() {
			if err != nil {
				for _, p := range made {
					os.Remove(p)
				}
			}
		}()
		if err := os.MkdirAll(stageIn, 0o777); err != nil {
			return err
		}
	}
	stage, err := os.MkdirTemp(stageIn, ".openfront-init-*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(stage)
	for _, f := range files {
		name := filepath.Join(stage, filepath.FromSlash(f.rel))
		if err := os.MkdirAll(filepath.Dir(name), 0o777); err != nil {
			return err
		}
		if err := os.WriteFile(name, f.data, 0o666); err != nil {
			return err
		}
	}

	if !exists {
		// MkdirTemp makes the directory private; the repo is not.
		if err := os.Chmod(stage, 0o755); err != nil {
			return err
		}
		return os.Rename(stage, dir)
	}
	names := make([]string, 0, len(tops))
	for n := range tops {
		names = append(names, n)
	}
	sort.Strings(names)
	for i, n := range names {
		if err := os.Rename(filepath.Join(stage, n), filepath.Join(dir, n)); err != nil {
			// Put back what was moved, so dir is as it was.
			for _, m := range names[:i] {
				os.Rename(filepath.Join(dir, m), filepath.Join(stage, m))
			}
			return err
		}
	}
	return nil
}

// printCreated lists the new repo, vendored packages as one line each, and
// what to do next.
func printCreated(w io.Writer, dir, mod string, files []initFile) {
	fmt.Fprintf(w, "created %s (CUE module %s):\n", dir, mod)
	count := map[string]int{}
	for _, f := range files {
		if d, ok := strings.CutPrefix(path.Dir(f.rel), vendorDir+"/"); ok {
			count[d]++
		}
	}
	for _, f := range files {
		d, ok := strings.CutPrefix(path.Dir(f.rel), vendorDir+"/")
		switch {
		case !ok:
			fmt.Fprintf(w, "  %s\n", f.rel)
		case count[d] > 0:
			fmt.Fprintf(w, "  %s/%s/ (%d files, vendored from openfront)\n", vendorDir, d, count[d])
			count[d] = 0 // once per package
		}
	}
	fmt.Fprintf(w, `
next steps:
  cd %s
  openfront vet .            # schema, policies, semantic checks, route tests
  cue vet -c ./...           # the same checks with plain cue
  openfront route . https://www.example.com/assets/style.css
  openfront serve --config . # then open http://localhost:8080/
  edit distributions.cue, and set OPENFRONT_REPOSITORY and OPENFRONT_VERSION
  for .github/workflows/openfront.yml (see README.md)
`, dir)
}
