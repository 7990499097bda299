package cli

import (
	"bytes"
	"errors"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"cuelang.org/go/mod/modfile"
	"go.yaml.in/yaml/v3"

	"openfront.dev/daemon/node"
	"openfront.dev/policies"
	"openfront.dev/schema"
)

// runCLI runs an openfront command and returns its exit code and output.
func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = Main(args, &out, &errb)
	return code, out.String(), errb.String()
}

// cueVet runs the real cue CLI (`go tool cue`, tracked in openfront's
// go.mod) in dir. `go tool` only finds the tool inside openfront's module,
// and -modfile cannot move the module root, so a go.work naming openfront's
// module lets it run with dir as the working directory.
func cueVet(t *testing.T, dir string) (string, error) {
	t.Helper()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("go not in PATH: cannot run go tool cue")
	}
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	wi := exec.Command("go", "work", "init", root)
	wi.Dir = work
	wi.Env = append(os.Environ(), "GOWORK=")
	if out, err := wi.CombinedOutput(); err != nil {
		t.Fatalf("go work init: %v\n%s", err, out)
	}
	cmd := exec.Command("go", "tool", "cue", "vet", "-c", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK="+filepath.Join(work, "go.work"), "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestInit(t *testing.T) {
	repoMod, err := os.ReadFile("../cue.mod/module.cue")
	if err != nil {
		t.Fatal(err)
	}
	own, err := modfile.Parse(repoMod, "cue.mod/module.cue")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string // "DIR" stands for the new repo; nil means just DIR
		module string
		// prepare lays out DIR before init; nil leaves it absent.
		prepare func(t *testing.T, dir string)
	}{
		{name: "new dir", module: "example.com/cdn@v0"},
		{name: "module flag", args: []string{"--module", "acme.example/edge/cdn@v0", "DIR"}, module: "acme.example/edge/cdn@v0"},
		{name: "module flag after DIR", args: []string{"DIR", "-module=acme.example/cdn"}, module: "acme.example/cdn"},
		{name: "empty dir", module: "example.com/cdn@v0", prepare: func(t *testing.T, dir string) {
			mkdir(t, dir)
		}},
		{name: "fresh clone", module: "example.com/cdn@v0", prepare: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, ".git", "HEAD"), "ref: refs/heads/main\n")
			writeFile(t, filepath.Join(dir, ".editorconfig"), "root = true\n")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "cdn")
			if tt.prepare != nil {
				tt.prepare(t, dir)
			}
			before := listFiles(t, dir)
			code, stdout, stderr := runCLI(initArgs(tt.args, dir)...)
			if code != exitOK {
				t.Fatalf("openfront init: exit %d\n%s", code, stderr)
			}

			// The output names what was created and how to go on.
			for _, want := range []string{"created " + dir, tt.module, "distributions.cue", ".github/workflows/openfront.yml", "cue.mod/pkg/openfront.dev/schema/", "next steps:", "openfront vet ."} {
				if !strings.Contains(stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, stdout)
				}
			}

			// Files that were there are kept; nothing is left in the parent.
			for _, f := range before {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("%s was there before init and is gone: %v", f, err)
				}
			}
			if got := listDir(t, parent); !slices.Equal(got, []string{"cdn"}) {
				t.Errorf("parent dir holds %q, want only cdn", got)
			}
			if got := listDir(t, dir); slices.ContainsFunc(got, func(n string) bool { return strings.HasPrefix(n, ".openfront-init") }) {
				t.Errorf("staging dir left behind: %q", got)
			}
			if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm()&0o055 == 0 {
				t.Errorf("repo dir is private: %v %v", fi.Mode(), err)
			}

			// cue.mod/module.cue: the module asked for, openfront's language version.
			b, err := os.ReadFile(filepath.Join(dir, "cue.mod", "module.cue"))
			if err != nil {
				t.Fatal(err)
			}
			mf, err := modfile.Parse(b, "module.cue")
			if err != nil {
				t.Fatalf("cue.mod/module.cue: %v\n%s", err, b)
			}
			if mf.Module != tt.module {
				t.Errorf("module = %q, want %q", mf.Module, tt.module)
			}
			if mf.Language == nil || own.Language == nil || mf.Language.Version != own.Language.Version {
				t.Errorf("language version = %v, want openfront's %v", mf.Language, own.Language)
			}

			checkVendored(t, dir, schema.ImportPath, schema.Files)
			checkVendored(t, dir, policies.ImportPath, policies.Files)
			for _, f := range []string{"README.md", ".gitignore", "distributions.cue", "site/index.html", ".github/workflows/openfront.yml"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Errorf("missing %s: %v", f, err)
				}
			}

			// As created, the repo passes both vets and compiles.
			if out, err := cueVet(t, dir); err != nil {
				t.Fatalf("cue vet -c ./... in the new repo: %v\n%s", err, out)
			}
			if code, _, stderr := runCLI("vet", dir); code != exitOK || stderr != "" {
				t.Errorf("openfront vet: exit %d\n%s", code, stderr)
			}
			out := filepath.Join(t.TempDir(), "table.json")
			if code, _, stderr := runCLI("compile", dir, "-o", out); code != exitOK {
				t.Errorf("openfront compile: exit %d\n%s", code, stderr)
			}

			// Both refuse a misspelt top-level field in a file of its own.
			writeFile(t, filepath.Join(dir, "typo.cue"), "package cdn\n\ndistribution: x: comment: \"misspelt\"\n")
			if out, err := cueVet(t, dir); err == nil || !strings.Contains(out, "typo.cue:3:1") {
				t.Errorf("cue vet -c ./... with a misspelt field: %v\n%s", err, out)
			}
			// openfront vet also names the field meant.
			if code, _, stderr := runCLI("vet", dir); code != exitFail || !strings.Contains(stderr, "typo.cue:3:1: distribution: field not allowed; did you mean distributions?\n") {
				t.Errorf("openfront vet with a misspelt field: exit %d\n%s", code, stderr)
			}
		})
	}
}

// checkVendored asserts that dir vendors exactly the .cue files of fsys,
// byte for byte.
func checkVendored(t *testing.T, dir, importPath string, fsys fs.FS) {
	t.Helper()
	want, err := fs.Glob(fsys, "*.cue")
	if err != nil || len(want) == 0 {
		t.Fatalf("%s embeds no .cue files: %v", importPath, err)
	}
	vdir := filepath.Join(dir, "cue.mod", "pkg", filepath.FromSlash(importPath))
	if got := listDir(t, vdir); !slices.Equal(got, want) {
		t.Errorf("%s vendors %q, want %q", importPath, got, want)
	}
	for _, name := range want {
		w, _ := fs.ReadFile(fsys, name)
		g, err := os.ReadFile(filepath.Join(vdir, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if !bytes.Equal(g, w) {
			t.Errorf("vendored %s/%s differs from the embedded one", importPath, name)
		}
	}
}

func TestInitRefuses(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		prepare func(t *testing.T, dir string)
		code    int
		stderr  string
	}{
		{name: "non-empty dir", code: exitFail, stderr: "is not empty (it has notes.txt)", prepare: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, ".git", "HEAD"), "ref: refs/heads/main\n")
			writeFile(t, filepath.Join(dir, "notes.txt"), "mine\n")
		}},
		{name: "would overwrite a dot file", code: exitFail, stderr: "already has .gitignore", prepare: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, ".gitignore"), "*.log\n")
		}},
		{name: "would overwrite .github", code: exitFail, stderr: "already has .github", prepare: func(t *testing.T, dir string) {
			writeFile(t, filepath.Join(dir, ".github", "CODEOWNERS"), "* @me\n")
		}},
		{name: "a file", code: exitFail, stderr: "is not a directory", prepare: func(t *testing.T, dir string) {
			writeFile(t, dir, "x\n")
		}},
		// A symlink to nowhere: the rename onto it said "not a directory"
		// about a staging directory the user never named.
		{name: "a dangling symlink", code: exitFail, stderr: "openfront init: " + "DIR is a symlink to missing, which does not exist: remove it, or give another DIR\n", prepare: func(t *testing.T, dir string) {
			if err := os.Symlink("missing", dir); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "bad module path", args: []string{"--module", "Not A Path", "DIR"}, code: exitUsage, stderr: "--module"},
		{name: "no DIR", args: []string{}, code: exitUsage, stderr: "usage: openfront init"},
		{name: "two DIRs", args: []string{"DIR", "DIR"}, code: exitUsage, stderr: "usage: openfront init"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, "cdn")
			if tt.prepare != nil {
				tt.prepare(t, dir)
			}
			before := snapshot(t, parent)
			code, stdout, stderr := runCLI(initArgs(tt.args, dir)...)
			if code != tt.code || !strings.Contains(stderr, strings.ReplaceAll(tt.stderr, "DIR ", dir+" ")) {
				t.Errorf("exit %d, stderr %q; want exit %d, stderr containing %q", code, stderr, tt.code, tt.stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
			// Nothing written: no partial repo, no staging dir.
			if after := snapshot(t, parent); !slices.Equal(after, before) {
				t.Errorf("init changed the file system:\nbefore %q\nafter  %q", before, after)
			}
		})
	}
}

// workflow is the part of a GitHub Actions workflow the tests look at.
type workflow struct {
	Name string         `yaml:"name"`
	On   map[string]any `yaml:"on"`
	Jobs map[string]struct {
		RunsOn string `yaml:"runs-on"`
		Steps  []step `yaml:"steps"`
	} `yaml:"jobs"`
}

type step struct {
	Name string            `yaml:"name"`
	Uses string            `yaml:"uses"`
	Run  string            `yaml:"run"`
	If   string            `yaml:"if"`
	With map[string]string `yaml:"with"`
}

func TestWorkflows(t *testing.T) {
	initWorkflow, err := initData.ReadFile("initdata/github/workflows/openfront.yml")
	if err != nil {
		t.Fatal(err)
	}
	ownWorkflow, err := os.ReadFile("../.github/workflows/ci.yml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		src  []byte
		// runs maps each job to commands its steps must run, and uses to
		// actions its steps must use.
		runs map[string][]string
		uses map[string][]string
		// prOnly are commands that run on pull requests only.
		prOnly []string
	}{{
		name: "config repo (openfront init)",
		src:  initWorkflow,
		runs: map[string][]string{"openfront": {
			"go build -o", // openfront from source: not a published module
			"go install \"cuelang.org/go/cmd/cue@$CUE_VERSION\"",
			"cue vet -c ./...",
			"openfront vet .",
			"openfront compile . -o table.json",
			"git worktree add",
			"openfront diff",
		}},
		uses:   map[string][]string{"openfront": {"actions/checkout@", "actions/setup-go@"}},
		prOnly: []string{"git worktree add", "openfront diff"},
	}, {
		name: "openfront ci.yml",
		src:  ownWorkflow,
		runs: map[string][]string{
			"test":  {".ci/run"},
			"check": {"go vet ./...", "go tool cue vet -c ./schema/ ./policies/ ./examples/...", "go build"},
		},
		uses: map[string][]string{
			"test":  {"actions/checkout@", "actions/setup-go@"},
			"check": {"actions/checkout@", "actions/setup-go@"},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w workflow
			if err := yaml.Unmarshal(tt.src, &w); err != nil {
				t.Fatalf("not valid YAML: %v", err)
			}
			for _, ev := range []string{"push", "pull_request"} {
				if _, ok := w.On[ev]; !ok {
					t.Errorf("not run on %s", ev)
				}
			}
			var names []string
			for n := range w.Jobs {
				names = append(names, n)
			}
			slices.Sort(names)
			var want []string
			for n := range tt.runs {
				want = append(want, n)
			}
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Errorf("jobs %q, want %q", names, want)
			}
			for job, cmds := range tt.runs {
				j := w.Jobs[job]
				if j.RunsOn == "" {
					t.Errorf("job %s has no runs-on", job)
				}
				for _, c := range cmds {
					i := slices.IndexFunc(j.Steps, func(s step) bool {
						return strings.Contains(s.Run, c)
					})
					if i < 0 {
						t.Errorf("job %s runs no %q", job, c)
						continue
					}
					if pr := strings.Contains(j.Steps[i].If, "pull_request"); pr != slices.Contains(tt.prOnly, c) {
						t.Errorf("job %s: %q has if %q", job, c, j.Steps[i].If)
					}
				}
				for _, u := range tt.uses[job] {
					if !slices.ContainsFunc(j.Steps, func(s step) bool {
						return strings.HasPrefix(s.Uses, u)
					}) {
						t.Errorf("job %s uses no %s", job, u)
					}
				}
			}
		})
	}
	// openfront's own CI takes its Go version from go.mod.
	var w workflow
	if err := yaml.Unmarshal(ownWorkflow, &w); err != nil {
		t.Fatal(err)
	}
	for name, j := range w.Jobs {
		for _, s := range j.Steps {
			if strings.HasPrefix(s.Uses, "actions/setup-go@") && s.With["go-version-file"] != "go.mod" {
				t.Errorf("ci.yml job %s: setup-go without go-version-file: go.mod", name)
			}
		}
	}
}

// initArgs makes the arguments of openfront init, with dir for "DIR"; nil
// args means just dir.
func initArgs(args []string, dir string) []string {
	if args == nil {
		args = []string{"DIR"}
	}
	out := []string{"init"}
	for _, a := range args {
		if a == "DIR" {
			a = dir
		}
		out = append(out, a)
	}
	return out
}

func mkdir(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, name, data string) {
	t.Helper()
	mkdir(t, filepath.Dir(name))
	if err := os.WriteFile(name, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// listDir returns the names in dir, sorted; none if it does not exist.
func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// listFiles returns the files below dir, slash-separated and sorted.
func listFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if os.IsNotExist(err) {
			return filepath.SkipAll
		}
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// snapshot lists every file and directory below dir with its content.
func snapshot(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = path.Clean(filepath.ToSlash(rel))
		if d.IsDir() {
			out = append(out, rel+"/")
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			target, err := os.Readlink(p)
			out = append(out, rel+"->"+target)
			return err
		}
		b, err := os.ReadFile(p)
		out = append(out, rel+"="+string(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// The local URLs a new repo tells its user to open (init's next steps, its
// README, and the quickstart's) are where `openfront serve --config .`
// listens by default.
func TestInitURLsReachServe(t *testing.T) {
	var httpAddr string
	defer func(f func(node.Options) (*node.Node, error)) { startNode = f }(startNode)
	startNode = func(o node.Options) (*node.Node, error) {
		httpAddr = o.HTTPAddr
		return nil, errors.New("not started")
	}
	runCLI("serve", "--config", t.TempDir())
	_, port, err := net.SplitHostPort(httpAddr)
	if err != nil {
		t.Fatalf("serve's default --http %q: %v", httpAddr, err)
	}

	dir := filepath.Join(t.TempDir(), "cdn")
	code, stdout, stderr := runCLI("init", dir)
	if code != exitOK {
		t.Fatalf("init: exit %d\n%s", code, stderr)
	}
	readme, err := os.ReadFile(filepath.Join(dir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	quickstart, err := os.ReadFile("../examples/quickstart/README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, text string }{
		{"init's output", stdout},
		{"README.md", string(readme)},
		{"examples/quickstart/README.md", string(quickstart)},
	} {
		urls := regexp.MustCompile(`https?://localhost[^\s)]*`).FindAllString(tc.text, -1)
		if len(urls) == 0 {
			t.Errorf("%s names no local URL", tc.name)
		}
		for _, s := range urls {
			u, err := url.Parse(s)
			if err != nil {
				t.Fatal(err)
			}
			if u.Scheme == "http" && u.Port() != port {
				t.Errorf("%s: %s: serve listens on port %s by default", tc.name, s, port)
			}
		}
	}
}
