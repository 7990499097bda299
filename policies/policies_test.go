package policies_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// policies lists every policy; each needs testdata/<policy>/ok and at least
// one testdata/<policy>/bad* fixture.
var policies = []string{
	"RequireHTTPS",
	"NoForwardAllCookies",
	"ForbidAllViewerHeaders",
	"AllowedOriginDomains",
	"MaxTTL",
	"BlockCountries",
	"RequireLogging",
}

// moduleRoot is where cue runs, so that fixtures resolve openfront.dev/schema
// and openfront.dev/policies to the module's own packages.
const moduleRoot = ".."

// cueVet runs `go tool cue vet` with args (module-relative paths) from the
// module root.
func cueVet(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("go", append([]string{"tool", "cue", "vet"}, args...)...)
	cmd.Dir = moduleRoot
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestFixtures vets every fixture testdata/<policy>/<case>. A case named ok*
// must pass; any other must fail with output containing want.txt's first line
// (the message) and its second (the position, config.cue:LINE). Both plain
// `cue vet` and `cue vet -c` are checked: users run the former, openfront's
// compiler validates like the latter.
func TestFixtures(t *testing.T) {
	dirs, err := filepath.Glob("testdata/*/*")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, dir := range dirs {
		policy, name := filepath.Base(filepath.Dir(dir)), filepath.Base(dir)
		ok := strings.HasPrefix(name, "ok")
		seen[policy+"/"+map[bool]string{true: "ok", false: "bad"}[ok]] = true
		t.Run(policy+"/"+name, func(t *testing.T) {
			t.Parallel()
			var msg, pos string
			if !ok {
				b, err := os.ReadFile(filepath.Join(dir, "want.txt"))
				if err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimSpace(string(b)), "\n")
				if len(lines) != 2 {
					t.Fatalf("want.txt: want 2 lines (message, file:line), have %d", len(lines))
				}
				// cue prints positions relative to its directory: ./policies/testdata/...
				msg, pos = lines[0], filepath.ToSlash(filepath.Join("policies", dir, lines[1]))+":"
			}
			for _, flags := range [][]string{nil, {"-c"}} {
				out, err := cueVet(t, append(flags, "./policies/"+filepath.ToSlash(dir))...)
				switch {
				case ok && err != nil:
					t.Errorf("cue vet %v: %v\n%s", flags, err, out)
				case !ok && err == nil:
					t.Errorf("cue vet %v passed, want an error %q", flags, msg)
				case !ok && (!strings.Contains(out, msg) || !strings.Contains(out, pos)):
					t.Errorf("cue vet %v: want %q at %s in:\n%s", flags, msg, strings.TrimSuffix(pos, ":"), out)
				}
			}
		})
	}
	for _, p := range policies {
		for _, kind := range []string{"ok", "bad"} {
			if !seen[p+"/"+kind] {
				t.Errorf("policy %s has no %s fixture in testdata/%s/", p, kind, p)
			}
		}
	}
}

// TestPackageVets checks that the package itself vets, and that cue skips
// testdata: the bad fixtures would fail ./policies/... otherwise.
func TestPackageVets(t *testing.T) {
	for _, pkg := range []string{"./policies/", "./policies/..."} {
		if out, err := cueVet(t, pkg); err != nil {
			t.Errorf("cue vet %s: %v\n%s", pkg, err, out)
		}
	}
}
