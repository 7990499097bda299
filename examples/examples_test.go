// Package examples_test vets the example config repos: each must compile
// with openfront's compiler and pass the real cue CLI, and its route tests
// must exercise everything it declares, so a user copying an example copies
// a config that works and a test suite that guards it.
package examples_test

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"openfront.dev/compiler"
	"openfront.dev/compiler/table"
)

// examples lists every example with the sizes its README promises. A new
// directory under examples/ must be added here (TestEveryDirectoryListed).
var examples = []struct {
	name                    string
	distributions           int
	streamingDistributions  int
	keyGroups, originGroups int
}{
	{name: "api", distributions: 1, originGroups: 1},
	{name: "edge-functions", distributions: 1},
	{name: "geo-restricted", distributions: 2},
	{name: "gitops", distributions: 3},
	{name: "live-event", distributions: 1, streamingDistributions: 1},
	{name: "private-content", distributions: 1, keyGroups: 1},
	{name: "quickstart", distributions: 1},
	{name: "static-site-s3", distributions: 1},
	{name: "video", distributions: 1, streamingDistributions: 1},
}

func TestEveryDirectoryListed(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	var dirs, listed []string
	for _, e := range entries {
		if e.IsDir() && e.Name() != "testdata" {
			dirs = append(dirs, e.Name())
		}
	}
	for _, ex := range examples {
		listed = append(listed, ex.name)
	}
	if !slices.Equal(dirs, listed) {
		t.Errorf("directories under examples/ are %q, the test lists %q", dirs, listed)
	}
}

func TestCompile(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			res, err := compiler.New(ex.name).Compile()
			if err != nil {
				t.Fatalf("compile failed:\n%v", err)
			}
			// A user copies an example as it is: it must teach no
			// setting that openfront vet warns about.
			if len(res.Warnings) > 0 {
				t.Errorf("warnings:\n%v", res.Warnings)
			}
			got := res.Table.Counts()
			if got.Distributions != ex.distributions || got.StreamingDistributions != ex.streamingDistributions ||
				got.KeyGroups != ex.keyGroups || got.OriginGroups != ex.originGroups {
				t.Errorf("got %d distributions, %d streaming, %d key groups, %d origin groups; want %d, %d, %d, %d",
					got.Distributions, got.StreamingDistributions, got.KeyGroups, got.OriginGroups,
					ex.distributions, ex.streamingDistributions, ex.keyGroups, ex.originGroups)
			}
			checkCoverage(t, res.Table)
		})
	}
}

// checkCoverage asserts the example's route tests reach every behavior,
// wildcard alias and streaming distribution, and only with methods the
// behavior allows: an example teaches by its tests too.
func checkCoverage(t *testing.T, tbl *table.Table) {
	t.Helper()
	tests := tbl.Config().Tests
	if len(tests) < 3 {
		t.Errorf("%d route tests, want at least 3", len(tests))
	}
	hit := map[string]bool{} // "dist behavior", "alias", "rtmp id"
	for _, rt := range tests {
		u, err := url.Parse(rt.URL)
		if err != nil {
			t.Errorf("route test %s: %v", rt.URL, err)
			continue
		}
		if u.Scheme == "rtmp" {
			if sd := tbl.StreamingDistributionForHost(u.Host); sd != nil {
				hit["rtmp "+sd.ID] = true
			}
			continue
		}
		d, m := tbl.ExplainHost(u.Host)
		if d == nil {
			continue // the compiler has reported it
		}
		hit[m.Alias] = true
		if dep := tbl.Deployment(d.ID); dep != nil {
			h := http.Header{}
			for k, v := range rt.Headers {
				h.Set(k, v)
			}
			d = dep.ServedBy(h) // its staging distribution, for the header
		}
		b := d.Behavior(u.EscapedPath())
		hit[d.ID+" "+b.Name()] = true
		if !slices.Contains(b.Spec.AllowedMethods, rt.Method) {
			t.Errorf("route test %s %s: behavior %q of %q does not allow %s", rt.Method, rt.URL, b.Name(), d.ID, rt.Method)
		}
	}
	for d := range tbl.Distributions() {
		for _, b := range d.Behaviors {
			if !hit[d.ID+" "+b.Name()] {
				t.Errorf("distribution %q: no route test reaches behavior %q", d.ID, b.Name())
			}
		}
		for _, a := range d.Spec.Aliases {
			if strings.HasPrefix(a, "*.") && !hit[a] {
				t.Errorf("distribution %q: no route test uses wildcard alias %q", d.ID, a)
			}
		}
	}
	for sd := range tbl.StreamingDistributions() {
		if !hit["rtmp "+sd.ID] {
			t.Errorf("streaming distribution %q: no rtmp:// route test reaches it", sd.ID)
		}
	}
}

// TestCueVet runs the real cue CLI from the module root, as a config repo's
// CI does: `cue vet -c` must agree with openfront that each example is valid
// and complete.
func TestCueVet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go tool cue")
	}
	pkgs := []string{"./examples/..."}
	for _, ex := range examples {
		pkgs = append(pkgs, "./examples/"+ex.name)
	}
	for _, pkg := range pkgs {
		t.Run(strings.TrimPrefix(pkg, "./examples/"), func(t *testing.T) {
			t.Parallel()
			if out, err := cue("vet", "-c", pkg); err != nil {
				t.Errorf("go tool cue vet -c %s: %v\n%s", pkg, err, out)
			}
		})
	}
}

// TestNoUnknownFields exports each example and vets the result as data
// against #Config. A config embeds schema.#Config, and without
// @experiment(explicitopen) CUE lets an embedding struct add fields the
// definition lacks, so a misspelled field such as "defaultTLL" would pass
// `cue vet`. Plain data gets no such leeway, whatever the experiment does.
func TestNoUnknownFields(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go tool cue")
	}
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			t.Parallel()
			out, err := cue("export", "--out", "json", "./examples/"+ex.name)
			if err != nil {
				t.Fatalf("go tool cue export: %v\n%s", err, out)
			}
			data := filepath.Join(t.TempDir(), ex.name+".json")
			if err := os.WriteFile(data, out, 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := cue("vet", "-c", "-d", "#Config", "./schema", data); err != nil {
				t.Errorf("exported config is not a closed #Config: %v\n%s", err, out)
			}
		})
	}
}

// cue runs the module's cue CLI from the module root, as a config repo's CI does.
func cue(args ...string) ([]byte, error) {
	cmd := exec.Command("go", append([]string{"tool", "cue"}, args...)...)
	cmd.Dir = ".."
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return []byte(stderr.String()), err
	}
	return out, nil
}

// TestReadme checks each example says what it shows and how to run it.
func TestReadme(t *testing.T) {
	for _, ex := range examples {
		t.Run(ex.name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(ex.name, "README.md"))
			if err != nil {
				t.Fatal(err)
			}
			if want := "examples/" + ex.name; !strings.Contains(string(b), want) {
				t.Errorf("README.md never names %s: it should show the commands to run", want)
			}
		})
	}
}

// TestNoPrivateKeys guards the rule that secrets never live in a config repo:
// only public keys may be committed.
func TestNoPrivateKeys(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		// Split so this file does not match itself.
		if strings.Contains(string(b), "PRIVATE"+" KEY-----") {
			t.Errorf("%s holds a private key", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
