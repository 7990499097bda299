package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The -update flag may be declared by another test file of the package too;
// register it only once and read it by name.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func diffUpdating() bool {
	return flag.Lookup("update").Value.(flag.Getter).Get().(bool)
}

// runDiffMain runs the CLI and returns stdout, stderr and the exit code.
func runDiffMain(args ...string) (string, string, int) {
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	return stdout.String(), stderr.String(), code
}

func TestDiff(t *testing.T) {
	const dir = "testdata/diff"
	tmp := t.TempDir()
	// Artifacts written by compile -o, as a deploy pipeline would keep them.
	for _, a := range []struct{ cfg, file string }{{"base", "base.json"}, {"key-group-rotated", "rotated.json"}} {
		if _, stderr, code := runDiffMain("compile", filepath.Join(dir, a.cfg), "-o", filepath.Join(tmp, a.file)); code != exitOK {
			t.Fatalf("compile %s: exit %d\n%s", a.cfg, code, stderr)
		}
	}
	if err := os.WriteFile(filepath.Join(tmp, "corrupt.json"), []byte(`{"format":"openfront-table/v1","version":"sha256:00"`), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		golden string
		args   []string // $D is testdata/diff, $TMP the artifacts' directory
		code   int
	}{
		// Directory against directory, one kind of change each.
		{"identical", []string{"$D/base", "$D/identical"}, exitOK},
		{"alias-added", []string{"$D/base", "$D/alias-added"}, exitFail},
		{"origin-port-changed", []string{"$D/base", "$D/origin-port-changed"}, exitFail},
		{"origin-group-changed", []string{"$D/base", "$D/origin-group-changed"}, exitFail},
		{"origin-shield-enabled", []string{"$D/base", "$D/origin-shield-enabled"}, exitFail},
		{"behavior-added", []string{"$D/base", "$D/behavior-added"}, exitFail},
		{"behaviors-reordered", []string{"$D/base", "$D/behaviors-reordered"}, exitFail},
		{"distribution-removed", []string{"$D/base", "$D/distribution-removed"}, exitFail},
		{"distribution-replaced", []string{"$D/base", "$D/distribution-replaced"}, exitFail},
		{"distribution-added", []string{"$D/distribution-removed", "$D/base"}, exitFail},
		{"key-group-rotated", []string{"$D/base", "$D/key-group-rotated"}, exitFail},
		{"streaming-added", []string{"$D/base", "$D/streaming-added"}, exitFail},
		{"streaming-removed", []string{"$D/streaming-added", "$D/base"}, exitFail},
		{"http3-cert", []string{"$D/base", "$D/http3-cert"}, exitFail},
		{"traffic-drop", []string{"$D/base", "$D/traffic-drop"}, exitFail},
		{"disabled-removed", []string{"$D/traffic-drop", "$D/distribution-removed"}, exitFail},
		// Response headers policies: added with the behaviors that use
		// them, changed (a policy, a behavior's choice), removed.
		{"rhp-added", []string{"$D/base", "$D/rhp-added"}, exitFail},
		{"rhp-changed", []string{"$D/rhp-added", "$D/rhp-changed"}, exitFail},
		{"rhp-removed", []string{"$D/rhp-added", "$D/base"}, exitFail},
		{"rhp-changed.json", []string{"--json", "$D/rhp-added", "$D/rhp-changed"}, exitFail},
		// Cache policies: added with the behaviors that use them, changed
		// (a policy, a behavior's choice: each changes a cache key), removed.
		{"cp-added", []string{"$D/base", "$D/cp-added"}, exitFail},
		{"cp-changed", []string{"$D/cp-added", "$D/cp-changed"}, exitFail},
		{"cp-removed", []string{"$D/cp-added", "$D/base"}, exitFail},
		{"orp-added", []string{"$D/cp-added", "$D/orp-added"}, exitFail},
		{"orp-changed", []string{"$D/orp-added", "$D/orp-changed"}, exitFail},
		// Key value stores: added with the function that reads them, and
		// their data changed (what each key does).
		{"mtls-added", []string{"$D/base", "$D/mtls-added"}, exitFail},
		{"mtls-store-changed", []string{"$D/mtls-added", "$D/mtls-store-changed"}, exitFail},
		{"mtls-ca-retired", []string{"$D/mtls-store-changed", "$D/mtls-ca-retired"}, exitFail},
		{"kvs-added", []string{"$D/base", "$D/kvs-added"}, exitFail},
		{"kvs-changed", []string{"$D/kvs-added", "$D/kvs-changed"}, exitFail},
		// Continuous deployment: a staging distribution and its policy
		// added; the policy's weight changed; its type changed from a
		// header to a weight (one change, not one per field); the policy
		// disabled.
		{"cd-added", []string{"$D/base", "$D/cd-added"}, exitFail},
		{"cd-changed", []string{"$D/cd-added", "$D/cd-changed"}, exitFail},
		{"cd-header-to-weight", []string{"$D/cd-header", "$D/cd-added"}, exitFail},
		// A web ACL and its IP set added to a distribution; an address
		// added to the IP set.
		{"waf-added", []string{"$D/base", "$D/waf-added"}, exitFail},
		{"waf-changed", []string{"$D/waf-added", "$D/waf-changed"}, exitFail},
		{"cd-disabled", []string{"$D/cd-changed", "$D/cd-disabled"}, exitFail},
		// The staging distribution disabled, then enabled again: its
		// primary keeps every request, then sends staging its share.
		{"cd-staging-disabled", []string{"$D/cd-changed", "$D/cd-staging-disabled"}, exitFail},
		{"cd-staging-enabled", []string{"$D/cd-staging-disabled", "$D/cd-changed"}, exitFail},
		// Artifacts.
		{"artifact-vs-dir", []string{"$TMP/base.json", "$D/origin-port-changed"}, exitFail},
		{"dir-vs-artifact-identical", []string{"$D/identical", "$TMP/base.json"}, exitOK},
		{"artifact-vs-artifact", []string{"$TMP/base.json", "$TMP/rotated.json"}, exitFail},
		// JSON, flag before or after the positionals.
		{"identical.json", []string{"--json", "$D/base", "$D/identical"}, exitOK},
		{"origin-port-changed.json", []string{"$D/base", "$D/origin-port-changed", "--json"}, exitFail},
		{"behavior-added.json", []string{"--json", "$D/base", "$D/behavior-added"}, exitFail},
		{"traffic-drop.json", []string{"--json", "$D/base", "$D/traffic-drop"}, exitFail},
		// Errors.
		{"broken", []string{"$D/base", "$D/broken"}, exitUsage},
		{"corrupt-artifact", []string{"$TMP/corrupt.json", "$D/base"}, exitUsage},
		{"missing", []string{"$D/base", "$D/no-such-config"}, exitUsage},
		{"one-arg", []string{"$D/base"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.golden, func(t *testing.T) {
			t.Parallel()
			args := []string{"diff"}
			for _, a := range tt.args {
				a = strings.ReplaceAll(a, "$D", dir)
				args = append(args, strings.ReplaceAll(a, "$TMP", tmp))
			}
			stdout, stderr, code := runDiffMain(args...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			got := stdout
			if stderr != "" {
				got += "-- stderr --\n" + stderr
			}
			got = strings.ReplaceAll(got, tmp, "$TMP")
			if strings.HasSuffix(tt.golden, ".json") {
				var doc diffReport
				if err := json.Unmarshal([]byte(stdout), &doc); err != nil {
					t.Fatalf("--json output is not a diff document: %v", err)
				}
				if doc.Same != (code == exitOK) {
					t.Errorf("same = %v with exit %d", doc.Same, code)
				}
			}
			// Map order must not leak into the output.
			if again, _, _ := runDiffMain(args...); again != stdout {
				t.Errorf("a second run printed something else:\n%s", again)
			}
			compareGolden(t, filepath.Join(dir, tt.golden+".golden"), got, "Diff")
		})
	}
}

// compareGolden compares got with the golden file name, or rewrites it under
// -update; test is the -run pattern that rewrites it.
func compareGolden(t *testing.T, name, got, test string) {
	t.Helper()
	if diffUpdating() {
		if err := os.WriteFile(name, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (run go test ./cli -run %s -update)", err, test)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test ./cli -run %s -update rewrites it)\ngot:\n%s\nwant:\n%s", name, test, got, want)
	}
}

// TestDiffGeneric feeds the comparison fields and collections the schema does
// not have (yet): they are diffed like any other, by id and field path.
func TestDiffGeneric(t *testing.T) {
	t.Parallel()
	decode := func(s string) map[string]any {
		t.Helper()
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	old := decode(`{
		"distributions": {"site": {"newField": 1, "origins": [{"id": "a", "shield": {"region": "eu"}}],
			"cacheBehaviors": [{"pathPattern": "/a/*"}, {"pathPattern": "/b/*"}]}},
		"accessControls": {"oac": {"signing": "always"}},
		"flag": false
	}`)
	nw := decode(`{
		"distributions": {"site": {"newField": 2, "origins": [{"id": "a", "shield": {"region": "us"}}, {"id": "b"}],
			"cacheBehaviors": [{"pathPattern": "/c/*"}, {"pathPattern": "/a/*"}, {"pathPattern": "/b/*"}]}},
		"accessControls": {"oac": {"signing": "never"}, "oac2": {}},
		"flag": true
	}`)
	var got []string
	for _, c := range diffConfigs(old, nw) {
		line := c.Kind + " " + c.ID + " " + opSign(c.Op)
		if c.Path != "" {
			line += " " + changeText(c)
		}
		got = append(got, line)
	}
	want := []string{
		`distribution site + cacheBehaviors["/c/*"] at index 0`,
		`distribution site ~ newField: 1 → 2`,
		`distribution site ~ origins["a"].shield.region: "eu" → "us"`,
		`distribution site + origins["b"]`,
		`accessControl oac ~ signing: "always" → "never"`,
		`accessControl oac2 +`,
		`config  ~ flag: false → true`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
