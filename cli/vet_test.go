package cli

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"openfront.dev/daemon/node"
)

// compile -o writes the artifact whole or not at all, with the mode any
// file a command creates gets (0666 less the umask): a table only its
// writer could read would stop a node that runs as another user.
func TestCompileWritesArtifact(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	if code, _, stderr := runCLI("init", repo); code != exitOK {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	broken := t.TempDir()
	writeFile(t, filepath.Join(broken, "a.cue"), "package cdn\n\ndistributions: x: 1\n")
	for _, tc := range []struct {
		name    string
		dir     string
		old     bool // a previous artifact is there
		wantOut bool
	}{
		{"new", repo, false, true},
		{"replaced", repo, true, true},
		{"invalid config", broken, false, false},
		{"invalid config keeps the old", broken, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := t.TempDir()
			ref := filepath.Join(out, "ref")
			if err := os.WriteFile(ref, nil, 0o666); err != nil {
				t.Fatal(err)
			}
			refInfo, err := os.Stat(ref)
			if err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(out, "table.json")
			if tc.old {
				writeFile(t, name, "old")
			}
			code, _, stderr := runCLI("compile", tc.dir, "-o", name)
			if want := map[bool]int{true: exitOK, false: exitFail}[tc.dir == repo]; code != want {
				t.Fatalf("exit %d, want %d: %s", code, want, stderr)
			}
			fi, err := os.Stat(name)
			switch {
			case !tc.wantOut:
				if err == nil {
					t.Errorf("%s written by a failed compile", name)
				}
			case err != nil:
				t.Fatal(err)
			case code != exitOK:
				if b, _ := os.ReadFile(name); string(b) != "old" {
					t.Errorf("a failed compile changed %s: %.40q", name, b)
				}
			case fi.Mode() != refInfo.Mode():
				t.Errorf("artifact mode %v, want %v as os.WriteFile gives", fi.Mode(), refInfo.Mode())
			}
			if got := listDir(t, out); len(got) != map[bool]int{true: 2, false: 1}[tc.wantOut] {
				t.Errorf("files left: %v", got)
			}
		})
	}
}

// vet and compile warn, without failing, about a schema.#Config embedding
// that leaves plain cue vet blind to misspelt fields, and about a config
// with no embedding at all: configs written before init added
// @experiment(explicitopen) still deploy.
func TestVetWarnsWithoutExplicitOpen(t *testing.T) {
	const dist = `
schema.#Config

distributions: site: {
	origins: [{id: "web", domainName: "web.example.com", customOriginConfig: originProtocolPolicy: "https-only"}]
	defaultCacheBehavior: {targetOriginId: "web", viewerProtocolPolicy: "https-only"}
}
`
	for _, tc := range []struct {
		name, src string
		warnAt    string // "" for no warning
	}{
		{"before the package clause", "@experiment(explicitopen)\n\npackage cdn\n\nimport \"openfront.dev/schema\"\n" + dist, ""},
		{"among others", "@experiment(structcmp, explicitopen)\npackage cdn\n\nimport \"openfront.dev/schema\"\n" + dist, ""},
		{"missing", "package cdn\n\nimport \"openfront.dev/schema\"\n" + dist, "a.cue:5:1: "},
		// CUE ignores it there: a field attribute, not the file's.
		{"after the package clause", "package cdn\n\n@experiment(explicitopen)\n\nimport \"openfront.dev/schema\"\n" + dist, "a.cue:7:1: "},
		// Plain cue vet then checks no field at all.
		{"no schema embedded", "package cdn\n" + strings.Replace(dist, "schema.#Config", "", 1), "a.cue:1:1: "},
		{"embedded with a policy", "@experiment(explicitopen)\n\npackage cdn\n\nimport (\n\t\"openfront.dev/schema\"\n\t\"openfront.dev/policies\"\n)\n" +
			strings.Replace(dist, "schema.#Config", "schema.#Config & policies.#RequireHTTPS", 1), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			writeFile(t, filepath.Join(dir, "a.cue"), tc.src)
			for _, cmd := range []string{"vet", "compile"} {
				code, _, stderr := runCLI(cmd, dir)
				if code != exitOK {
					t.Fatalf("%s: exit %d: %s", cmd, code, stderr)
				}
				if got := strings.Contains(stderr, "warning: "); got != (tc.warnAt != "") || !strings.Contains(stderr, tc.warnAt) {
					t.Errorf("%s: stderr %q, want a warning at %q", cmd, stderr, tc.warnAt)
				}
			}
		})
	}
}

// A config directory that is not one says why: a typo in the path, or a
// .cue file given where its directory is meant.
func TestConfigDirNotADirectory(t *testing.T) {
	defer func(f func(node.Options) (*node.Node, error)) { startNode = f }(startNode)
	startNode = func(node.Options) (*node.Node, error) {
		t.Error("the node started")
		return nil, errors.New("not started")
	}
	file := filepath.Join(t.TempDir(), "cdn.cue")
	writeFile(t, file, "package cdn\n")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"vet", "/nonexistent"}, "openfront vet: /nonexistent: no such file or directory\n"},
		{[]string{"compile", "/nonexistent"}, "openfront compile: /nonexistent: no such file or directory\n"},
		{[]string{"route", "/nonexistent", "http://x/"}, "openfront route: /nonexistent: no such file or directory\n"},
		{[]string{"diff", "/nonexistent", "/nonexistent"}, "openfront diff: /nonexistent: no such file or directory\n"},
		{[]string{"vet", file}, file + " is a file: give the config directory that holds it"},
		{[]string{"serve", "--config", "/nonexistent"}, "--config /nonexistent: no such file or directory"},
		{[]string{"serve", "--config", file}, "--config " + file + " is a file: give the config directory that holds it"},
		{[]string{"serve", "--table", "/nonexistent"}, "openfront serve: --table /nonexistent: no such file or directory\n"},
		{[]string{"serve", "--table", filepath.Dir(file)}, "openfront serve: --table " + filepath.Dir(file) + " is a directory: --table takes the file compile -o writes; serve a config directory with --config\n"},
		{[]string{"serve", "--table", file}, "openfront serve: --table " + file + " is a CUE file: serve its config directory with --config\n"},
		{[]string{"diff", file, file}, "openfront diff: " + file + " is a CUE file: give the config directory that holds it\n"},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, exitUsage, tc.want)
		}
	}
}

// vet's summary counts as a person would: "1 distribution", not "1
// distributions" (as openfront status does).
func TestVetSummary(t *testing.T) {
	for _, tc := range []struct{ dir, want string }{
		{"../examples/quickstart", "ok: 1 distribution, 0 streaming distributions\n"},
		{"../examples/live-event", "ok: 1 distribution, 1 streaming distribution\n"},
		{"../examples/geo-restricted", "ok: 2 distributions, 0 streaming distributions\n"},
	} {
		code, stdout, stderr := runCLI("vet", tc.dir)
		if code != exitOK || stdout != tc.want {
			t.Errorf("vet %s: exit %d, %q, want %q (%s)", tc.dir, code, stdout, tc.want, stderr)
		}
	}
}

// -o naming a directory says so, and what to name instead, rather than
// the rename's "file exists" about a temporary file the user never named;
// nothing is left behind.
func TestOutputIsADirectory(t *testing.T) {
	repo := filepath.Join(t.TempDir(), "repo")
	if code, _, stderr := runCLI("init", repo); code != exitOK {
		t.Fatalf("init: exit %d: %s", code, stderr)
	}
	for _, tc := range []struct {
		args func(out string) []string
		want string // stderr's last line, out for the directory
	}{
		{func(out string) []string { return []string{"compile", repo, "-o", out} },
			"openfront compile: write OUT: a directory: -o names the file to write (OUT/table.json, say)"},
		{func(out string) []string {
			return []string{"import", "-o", out, "testdata/import/static-site/distribution-config.json"}
		}, "openfront import: write OUT: a directory: -o names the file to write (OUT/cdn.cue, say)"},
	} {
		parent := t.TempDir()
		out := filepath.Join(parent, "out")
		if err := os.Mkdir(out, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, o := range []string{out, out + "/"} {
			args := tc.args(o)
			code, _, stderr := runCLI(args...)
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			want := strings.ReplaceAll(tc.want, "OUT", strings.TrimSuffix(o, "/"))
			want = strings.Replace(want, "write "+strings.TrimSuffix(o, "/")+":", "write "+o+":", 1)
			if code != exitFail || lines[len(lines)-1] != want {
				t.Errorf("%v: exit %d, stderr ends %q; want exit %d and %q", args, code, lines[len(lines)-1], exitFail, want)
			}
			if got := listDir(t, parent); len(got) != 1 {
				t.Errorf("%v left %v", args, got)
			}
		}
	}
}

// A directory without a config, or none named, says what to give: the
// user is most often in the wrong directory, or starting out.
func TestVetNoConfig(t *testing.T) {
	empty := t.TempDir()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"vet", empty}, exitFail, empty + ": no .cue files: give the directory that holds the config, or make one with openfront init DIR\n"},
		{[]string{"compile", empty}, exitFail, empty + ": no .cue files: give the directory that holds the config, or make one with openfront init DIR\n"},
		{[]string{"vet", ""}, exitUsage, "openfront vet: the config directory is \"\": give one (. for this one)\n"},
		{[]string{"route", "", "http://x/"}, exitUsage, "openfront route: the config directory is \"\": give one (. for this one)\n"},
	} {
		code, _, stderr := runCLI(tc.args...)
		if code != tc.code || !strings.HasPrefix(stderr, tc.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d and %q", tc.args, code, stderr, tc.code, tc.want)
		}
	}
}
