package compiler

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/filestamp"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/{invalid,valid}/*.txtar")

// A test archive's files form a config directory, except these sections:
// "want" holds what Compile reports, "routes" URLs to route (valid only).
const (
	wantSection   = "want"
	routesSection = "routes"
)

// writeArchive writes a's config files into dir, in the archive's order or
// reversed, so tests can show the result does not depend on creation order.
func writeArchive(tb testing.TB, dir string, a *txtar.Archive, reverse bool) {
	tb.Helper()
	files := slices.Clone(a.Files)
	if reverse {
		slices.Reverse(files)
	}
	for _, f := range files {
		if f.Name == wantSection || f.Name == routesSection {
			continue
		}
		name := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(name, f.Data, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

func section(a *txtar.Archive, name string) *txtar.File {
	for i := range a.Files {
		if a.Files[i].Name == name {
			return &a.Files[i]
		}
	}
	return nil
}

// errorLines renders a failed compile as the user sees it, one error a
// line, with the temp dir replaced by $DIR.
func errorLines(dir string, err error) string {
	var errs Errors
	var lines []string
	if errors.As(err, &errs) {
		for _, e := range errs {
			lines = append(lines, e.Error())
		}
	} else {
		lines = append(lines, "not compiler.Errors: "+err.Error())
	}
	return strings.ReplaceAll(strings.Join(lines, "\n")+"\n", dir, "$DIR")
}

// summary renders a successful compile: counts, its warnings, then where
// each URL of the routes section goes.
func summary(res *Result, routes *txtar.File) string {
	c := res.Table.Counts()
	var b strings.Builder
	fmt.Fprintf(&b, "ok: %d distributions, %d streaming distributions, %d key groups, %d behaviors, %d origins\n",
		c.Distributions, c.StreamingDistributions, c.KeyGroups, c.Behaviors, c.Origins)
	for _, w := range res.Warnings {
		fmt.Fprintln(&b, w.Error())
	}
	if routes == nil {
		return b.String()
	}
	for _, line := range strings.Split(strings.TrimSpace(string(routes.Data)), "\n") {
		u, err := url.Parse(strings.TrimSpace(line))
		if err != nil {
			fmt.Fprintf(&b, "%s -> %v\n", line, err)
			continue
		}
		d, beh := res.Table.Route(u.Host, u.EscapedPath())
		if d == nil {
			fmt.Fprintf(&b, "%s -> no distribution\n", line)
			continue
		}
		fmt.Fprintf(&b, "%s -> %s %s %s\n", line, d.ID, beh.Name(), beh.TargetID())
	}
	return b.String()
}

// compileArchive compiles the archive at path and returns what it reports.
func compileArchive(t *testing.T, path string) (a *txtar.Archive, got string, ok bool) {
	a, err := txtar.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	writeArchive(t, dir, a, false)
	res, err := New(dir).Compile()
	if err != nil {
		return a, errorLines(dir, err), false
	}
	return a, strings.ReplaceAll(summary(res, section(a, routesSection)), dir, "$DIR"), true
}

// checkWant compares got with the archive's want section, or rewrites it.
func checkWant(t *testing.T, path string, a *txtar.Archive, got string) {
	t.Helper()
	want := section(a, wantSection)
	if *update {
		if want == nil {
			a.Files = append(a.Files, txtar.File{Name: wantSection})
			want = &a.Files[len(a.Files)-1]
		}
		want.Data = []byte(got)
		if err := os.WriteFile(path, txtar.Format(a), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want == nil {
		t.Fatalf("%s has no -- want -- section; run go test -update", path)
	}
	if got != string(want.Data) {
		t.Errorf("%s:\ngot:\n%swant:\n%s", path, got, want.Data)
	}
}

func archives(t *testing.T, kind string) []string {
	paths, err := filepath.Glob(filepath.Join("testdata", kind, "*.txtar"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no testdata/%s/*.txtar: %v", kind, err)
	}
	return paths
}

// TestInvalidConfigs compiles each testdata/invalid archive and compares
// every error line with its want section.
func TestInvalidConfigs(t *testing.T) {
	for _, path := range archives(t, "invalid") {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			t.Parallel()
			a, got, ok := compileArchive(t, path)
			// An archive whose comment says KNOWN ISSUE documents a bad
			// config the compiler accepts today: its want is the summary.
			known := bytes.Contains(a.Comment, []byte("KNOWN ISSUE"))
			switch {
			case ok && !known:
				t.Errorf("an invalid config compiled: %s", got)
			case !ok && known && !*update:
				t.Errorf("the known issue is fixed: drop the KNOWN ISSUE note and run go test -update")
			}
			checkWant(t, path, a, got)
		})
	}
}

// TestValidConfigs compiles each testdata/valid archive: it must compile,
// with the counts and routes of its want section.
func TestValidConfigs(t *testing.T) {
	for _, path := range archives(t, "valid") {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			t.Parallel()
			a, got, ok := compileArchive(t, path)
			if !ok {
				t.Errorf("a valid config failed:\n%s", got)
			}
			checkWant(t, path, a, got)
		})
	}
}

// seedConfigs are the .cue files of every test archive.
func seedConfigs(tb testing.TB) [][]byte {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*", "*.txtar"))
	var out [][]byte
	for _, p := range paths {
		a, err := txtar.ParseFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		for _, file := range a.Files {
			if strings.HasSuffix(file.Name, ".cue") {
				out = append(out, file.Data)
			}
		}
	}
	return out
}

// compileNoPanic compiles src as main.cue: Compile must return a result or
// an error, never both or neither, and never panic (a panic in an evaluation
// goroutine ends the test binary).
func compileNoPanic(t *testing.T, src []byte) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := New(dir).Compile()
	if (res == nil) == (err == nil) {
		t.Fatalf("Compile returned result %v and error %v for:\n%s", res, err, src)
	}
	if err != nil && strings.TrimSpace(err.Error()) == "" {
		t.Fatalf("Compile failed with an empty error for:\n%s", src)
	}
}

// FuzzCompile writes arbitrary bytes as main.cue; go test -fuzz=FuzzCompile.
func FuzzCompile(f *testing.F) {
	for _, src := range seedConfigs(f) {
		f.Add(src)
	}
	f.Fuzz(compileNoPanic)
}

// TestNoPanic compiles damaged copies of the test configs, the same every
// run: truncated, a byte dropped, a CUE token inserted, a line repeated.
func TestNoPanic(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	tokens := []string{"{", "}", "[", "]", ":", ",", "\"", "*", "|", "&", "!", "?", "#", "_|_", "...", "\\(", "if ", "for x in ", "\x00", "\xff"}
	for i, src := range seedConfigs(t) {
		if len(src) < 2 {
			continue
		}
		for j := range 4 {
			k := rng.IntN(len(src))
			var mutant []byte
			switch j {
			case 0:
				mutant = src[:k]
			case 1:
				mutant = slices.Concat(src[:k], src[k+1:])
			case 2:
				mutant = slices.Concat(src[:k], []byte(tokens[rng.IntN(len(tokens))]), src[k:])
			case 3:
				lines := bytes.SplitAfter(src, []byte("\n"))
				l := rng.IntN(len(lines))
				mutant = bytes.Join(slices.Insert(lines, l, lines[l]), nil)
			}
			t.Run(fmt.Sprintf("%d-%d", i, j), func(t *testing.T) { compileNoPanic(t, mutant) })
		}
	}
}

// writeExtras adds a key group, a streaming distribution and route tests
// to a generated config, so that every part of the artifact is exercised.
func writeExtras(tb testing.TB, dir string) {
	tb.Helper()
	a, err := txtar.ParseFile(filepath.Join("testdata", "valid", "keys-streaming-live.txtar"))
	if err != nil {
		tb.Fatal(err)
	}
	writeArchive(tb, dir, a, true)
}

func mustCompile(tb testing.TB, c *Compiler) *Result {
	tb.Helper()
	res, err := c.Compile()
	if err != nil {
		tb.Fatalf("compile: %v", err)
	}
	return res
}

func artifact(tb testing.TB, res *Result) []byte {
	tb.Helper()
	b, err := res.Table.MarshalArtifact()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// TestArtifactDeterministic: the same config gives the same bytes and
// version wherever it lives and whatever order its files were written in;
// any change gives a new version; a damaged artifact is refused.
func TestArtifactDeterministic(t *testing.T) {
	const n = 30
	dirA, dirB := t.TempDir(), t.TempDir()
	genConfig(t, dirA, n)
	writeExtras(t, dirA)
	writeExtras(t, dirB)
	for i := n - 1; i >= 0; i-- {
		writeDistribution(t, dirB, i, "")
	}
	resA, resB := mustCompile(t, New(dirA)), mustCompile(t, New(dirB))
	artA, artB := artifact(t, resA), artifact(t, resB)
	if !bytes.Equal(artA, artB) {
		t.Fatalf("artifacts of one config in two dirs differ:\n%s\n%s", artA, artB)
	}
	if resA.Table.Version() != resB.Table.Version() || !strings.HasPrefix(resA.Table.Version(), "sha256:") {
		t.Fatalf("versions %q and %q, want one sha256: version", resA.Table.Version(), resB.Table.Version())
	}
	// The dir is the node's business, not the artifact's.
	if bytes.Contains(artA, []byte(dirA)) {
		t.Errorf("the artifact holds the config dir %s", dirA)
	}
	// Compiling again, with a warm cache, gives the same bytes.
	if again := artifact(t, mustCompile(t, New(dirA))); !bytes.Equal(again, artA) {
		t.Error("a second compile of the same dir gives other bytes")
	}

	// One field changed: a new version.
	writeDistribution(t, dirB, 3, "changed")
	resC := mustCompile(t, New(dirB))
	if resC.Table.Version() == resA.Table.Version() {
		t.Errorf("changing a comment left the version at %s", resA.Table.Version())
	}

	// The artifact loads back to the same version and routes.
	loaded, err := table.LoadArtifact(artA)
	if err != nil {
		t.Fatalf("LoadArtifact: %v", err)
	}
	if loaded.Version() != resA.Table.Version() {
		t.Errorf("loaded version %s, want %s", loaded.Version(), resA.Table.Version())
	}
	if d, b := loaded.Route("a.d5.example.net", "/static/x.js"); d == nil || d.ID != "d5" || b.Name() != "/static/*" {
		t.Errorf("loaded table routes a.d5.example.net/static/x.js to %v", d)
	}
	if re := artifactOf(t, loaded); !bytes.Equal(re, artA) {
		t.Error("a loaded artifact marshals to other bytes")
	}

	// Damaged artifacts are refused, each with an error saying why.
	flipped := bytes.Replace(artA, []byte(`"web5.example.org"`), []byte(`"web5.example.orh"`), 1)
	if bytes.Equal(flipped, artA) {
		t.Fatal("test bug: no web5.example.org in the artifact")
	}
	wrongVersion := bytes.Replace(artA, []byte(resA.Table.Version()), []byte("sha256:"+strings.Repeat("0", 64)), 1)
	for _, tc := range []struct {
		name string
		b    []byte
		want string
	}{
		{"truncated", artA[:len(artA)/2], "table artifact: unexpected EOF"},
		{"empty", nil, "table artifact: unexpected EOF"},
		{"flipped byte in the config", flipped, "does not match its version"},
		{"wrong version", wrongVersion, "does not match its version sha256:000"},
		{"wrong format", bytes.Replace(artA, []byte(table.ArtifactFormat), []byte("openfront-table/v0"), 1), `format "openfront-table/v0"`},
		{"unknown field", bytes.Replace(artA, []byte(`{"format"`), []byte(`{"extra":1,"format"`), 1), `unknown field "extra"`},
	} {
		_, err := table.LoadArtifact(tc.b)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: LoadArtifact error %v, want one containing %q", tc.name, err, tc.want)
		}
	}
}

func artifactOf(tb testing.TB, t *table.Table) []byte {
	tb.Helper()
	b, err := t.MarshalArtifact()
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// age sets a file's mtime a minute back, past the compiler's racy window,
// as a real edit a while ago would be.
func age(tb testing.TB, name string) {
	tb.Helper()
	old := time.Now().Add(-time.Minute)
	if err := os.Chtimes(name, old, old); err != nil {
		tb.Fatal(err)
	}
}

func writeFile(tb testing.TB, name, src string) {
	tb.Helper()
	if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
	age(tb, name)
}

var commentConflict = regexp.MustCompile(`^distributions\.(d\d+)\.comment: conflicting values`)

// TestIncrementalRecompile: a recompile evaluates only what changed, and the
// table always reflects the files as they are now.
func TestIncrementalRecompile(t *testing.T) {
	const n = 200
	dir := t.TempDir()
	genConfig(t, dir, n)
	c := New(dir)
	res := mustCompile(t, c)
	if res.Stats.Files != n || res.Stats.Units != n || res.Stats.Evaluated != n {
		t.Fatalf("first compile: %+v, want %d files, units and evaluated", res.Stats, n)
	}
	first := res.Table

	step := func(name string, wantEvaluated int) *Result {
		t.Helper()
		res := mustCompile(t, c)
		if wantEvaluated >= 0 && res.Stats.Evaluated != wantEvaluated {
			t.Errorf("%s: evaluated %d units, want %d (%+v)", name, res.Stats.Evaluated, wantEvaluated, res.Stats)
		}
		return res
	}

	step("nothing changed", 0)

	// One file changed: one unit evaluated, the table has the change, and
	// the other distributions are reused as they were.
	writeDistribution(t, dir, 7, "changed")
	age(t, filepath.Join(dir, "d00007.cue"))
	res = step("one file changed", 1)
	if got := res.Table.Distribution("d7").Spec.Comment; got != "changed" {
		t.Errorf("d7 comment %q after the change, want %q", got, "changed")
	}
	if res.Table.Distribution("d8") != first.Distribution("d8") {
		t.Error("unchanged d8 was rebuilt")
	}

	// A file deleted: its distribution and its aliases are gone.
	if err := os.Remove(filepath.Join(dir, "d00003.cue")); err != nil {
		t.Fatal(err)
	}
	res = step("file deleted", 0)
	if res.Table.Distribution("d3") != nil || res.Config.Distributions["d3"] != nil {
		t.Error("deleted d3 is still in the table")
	}
	if d, _ := res.Table.Route("d3.example.com", "/"); d != nil {
		t.Errorf("d3.example.com still routes to %s", d.ID)
	}
	if got := res.Table.Counts().Distributions; got != n-1 {
		t.Errorf("%d distributions after a delete, want %d", got, n-1)
	}

	// An error appears and goes away again with one file.
	d9 := filepath.Join(dir, "d00009.cue")
	good, err := os.ReadFile(d9)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, d9, strings.Replace(string(good), `targetOriginId: "web"`, `targetOriginId: "nope"`, 1))
	if _, err := c.Compile(); err == nil || !strings.Contains(err.Error(), `d00009.cue:`) || !strings.Contains(err.Error(), `unknown origin "nope"`) {
		t.Errorf("broken d00009.cue: error %v, want unknown origin \"nope\" in d00009.cue", err)
	}
	writeFile(t, d9, string(good))
	step("error fixed", 1)

	// A new file claiming another distribution's alias is refused: the
	// cross-distribution checks see cached and new units alike.
	thief := filepath.Join(dir, "thief.cue")
	writeFile(t, thief, `package cdn

distributions: thief: {
	aliases: ["d5.example.com"]
	origins: [{id: "web", domainName: "web.example.org", customOriginConfig: originProtocolPolicy: "https-only"}]
	defaultCacheBehavior: {targetOriginId: "web", viewerProtocolPolicy: "https-only"}
}
`)
	if _, err := c.Compile(); err == nil || !strings.Contains(err.Error(), `alias "d5.example.com" is already claimed by distribution "d5"`) {
		t.Errorf("stolen alias: error %v, want alias already claimed", err)
	}
	if err := os.Remove(thief); err != nil {
		t.Fatal(err)
	}
	step("thief removed", 0)

	// A package-wide pattern constraint applies to every distribution, so
	// every unit is evaluated again. genConfig sets comment: "" everywhere,
	// so comment: "x" conflicts in each distribution's own file.
	constraint := filepath.Join(dir, "constraint.cue")
	writeFile(t, constraint, "package cdn\n\ndistributions: [string]: comment: \"x\"\n")
	_, err = c.Compile()
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("compile with comment: \"x\": %v, want Errors", err)
	}
	// Every distribution is named by an error (all positioned at the
	// constraint: CUE reports one side of a conflict).
	named := map[string]bool{}
	for _, e := range errs {
		if m := commentConflict.FindStringSubmatch(e.Msg); m != nil {
			named[m[1]] = true
		}
	}
	for i := range n {
		if id := fmt.Sprintf("d%d", i); i != 3 && !named[id] {
			t.Errorf("comment: \"x\" constraint: no error names %s", id)
		}
	}
	writeFile(t, constraint, "package cdn\n\ndistributions: [string]: logging: prefix: \"x/\"\n")
	res = step("pattern constraint", n) // every data unit, and the unit of shared files
	for id, d := range res.Config.Distributions {
		if d.Logging.Prefix != "x/" {
			t.Errorf("%s: logging.prefix %q, want the constraint's \"x/\"", id, d.Logging.Prefix)
		}
	}
	if err := os.Remove(constraint); err != nil {
		t.Fatal(err)
	}
	res = step("pattern constraint removed", n-1)
	if got := res.Table.Distribution("d0").Spec.Logging.Prefix; got != "" {
		t.Errorf("d0 logging.prefix %q after the constraint is gone, want \"\"", got)
	}

	// A file of definitions only, used by three others: a change to it
	// reaches each of them.
	defaults := filepath.Join(dir, "defaults.cue")
	writeFile(t, defaults, "package cdn\n\n#Defaults: behavior: {viewerProtocolPolicy: \"https-only\", defaultTTL: 60, ...}\n")
	for i := range 3 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("ref%d.cue", i)), fmt.Sprintf(`package cdn

distributions: ref%d: {
	origins: [{id: "web", domainName: "web.example.org", customOriginConfig: originProtocolPolicy: "https-only"}]
	defaultCacheBehavior: #Defaults.behavior & {targetOriginId: "web"}
}
`, i))
	}
	res = step("definitions added", -1)
	writeFile(t, defaults, "package cdn\n\n#Defaults: behavior: {viewerProtocolPolicy: \"https-only\", defaultTTL: 120, ...}\n")
	res = step("definitions changed", -1)
	// The 3 users and the unit of all shared files; no other distribution.
	if res.Stats.Evaluated != 4 {
		t.Errorf("definitions changed: evaluated %d units, want the 3 that use them and the shared-files unit", res.Stats.Evaluated)
	}
	t.Logf("a change to a definitions-only file used by 3 of %d units evaluated %d", res.Stats.Units, res.Stats.Evaluated)
	for i := range 3 {
		id := fmt.Sprintf("ref%d", i)
		if got := res.Table.Distribution(id).Spec.DefaultCacheBehavior.DefaultTTL; got != 120 {
			t.Errorf("%s: defaultTTL %d after #Defaults changed, want 120", id, got)
		}
	}
	if got := res.Table.Distribution("d0").Spec.DefaultCacheBehavior.DefaultTTL; got != 86400 {
		t.Errorf("d0 defaultTTL %d, want the schema default 86400", got)
	}
}

// TestCueVetRefusesToo runs the real cue CLI, as a config repo's CI does,
// on invalid archives whose point is that cue vet refuses them: openfront,
// which evaluates units apart, must not be the one that accepts.
func TestCueVetRefusesToo(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the cue CLI")
	}
	out, err := exec.Command("go", "tool", "-n", "cue").Output()
	if err != nil {
		t.Fatalf("go tool -n cue: %v", err)
	}
	cue := strings.TrimSpace(string(out))
	for _, name := range []string{"package-mismatch", "package-mismatch-two-units", "package-clause-missing-everywhere"} {
		t.Run(name, func(t *testing.T) {
			a, err := txtar.ParseFile(filepath.Join("testdata", "invalid", name+".txtar"))
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			writeArchive(t, dir, a, false)
			cmd := exec.Command(cue, "vet", "-c", "./...")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err == nil {
				t.Errorf("cue vet accepts it, openfront must too: %s", out)
			}
		})
	}
}

// A .cue file that cannot be read fails the compile with an error that
// names it once, as the os error does.
func TestUnreadableFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target string // where a.cue links to
	}{
		{"dangling symlink", "missing.cue"},
		{"symlink loop", "a.cue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Symlink(tc.target, filepath.Join(dir, "a.cue")); err != nil {
				t.Fatal(err)
			}
			_, err := New(dir).Compile()
			if err == nil {
				t.Fatal("compiled")
			}
			name := filepath.Join(dir, "a.cue")
			if n := strings.Count(err.Error(), name); n != 1 {
				t.Errorf("the error names %s %d times: %v", name, n, err)
			}
		})
	}
}

// sameStat gives the files one mtime and, by retrying until the kernel's
// coarse clock puts both chmods in one tick, one ctime: what a tool that
// copies several trees at once (cp -a, rsync -a, tar x) leaves behind.
func sameStat(tb testing.TB, names ...string) {
	tb.Helper()
	old := time.Now().Add(-time.Minute)
	for range 100 {
		var ctimes []int64
		for _, n := range names {
			if err := os.Chtimes(n, old, old); err != nil {
				tb.Fatal(err)
			}
		}
		for _, n := range names {
			fi, err := os.Stat(n)
			if err != nil {
				tb.Fatal(err)
			}
			ctimes = append(ctimes, filestamp.ChangeTime(fi))
		}
		if slices.Min(ctimes) == slices.Max(ctimes) {
			return
		}
	}
	tb.Skip("could not give the files one change time")
}

// A config dir that is a link re-pointed between two trees (blue/green
// releases) compiles the new tree's files, even where they have the size,
// mtime and ctime of the old tree's files under the same names.
func TestRepointedLinkSameStat(t *testing.T) {
	base := t.TempDir()
	blue, green := filepath.Join(base, "blue"), filepath.Join(base, "green")
	for dir, comment := range map[string]string{blue: "blue", green: "gren"} {
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		writeDistribution(t, dir, 1, comment)
	}
	sameStat(t, filepath.Join(blue, "d00001.cue"), filepath.Join(green, "d00001.cue"))
	current := filepath.Join(base, "current")
	c := New(current)
	for _, tc := range []struct{ target, want string }{{"blue", "blue"}, {"green", "gren"}, {"blue", "blue"}} {
		tmp := current + ".tmp"
		if err := os.Symlink(tc.target, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, current); err != nil {
			t.Fatal(err)
		}
		if got := mustCompile(t, c).Table.Distribution("d1").Spec.Comment; got != tc.want {
			t.Errorf("current -> %s: comment %q, want %q", tc.target, got, tc.want)
		}
	}
}

// policyDist is a distribution aliased id.example.com whose default
// behavior has the fields extra (", name: value..."), to name policies.
func policyDist(id, extra string) string {
	return fmt.Sprintf(`package cdn

distributions: %s: {
	aliases: ["%s.example.com"]
	origins: [{id: "web", domainName: "web.example.org", customOriginConfig: originProtocolPolicy: "https-only"}]
	defaultCacheBehavior: {targetOriginId: "web", viewerProtocolPolicy: "https-only"%s}
}
`, id, id, extra)
}

// TestResponseHeadersPolicyRecompile: a response headers policy lives
// outside the distributions that name it, so an edit to it alone, which
// re-evaluates only its own unit and leaves the distribution's decoded
// value as it was, must still reach the table: a new version and the new
// header on the behavior. A distribution that names no policy is reused.
func TestResponseHeadersPolicyRecompile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "site.cue"), policyDist("site", `, responseHeadersPolicy: "hdrs"`))
	writeFile(t, filepath.Join(dir, "plain.cue"), policyDist("plain", ""))
	policy := func(v string) string {
		return fmt.Sprintf("package cdn\n\nresponseHeadersPolicies: hdrs: customHeadersConfig: [{header: \"X-Version\", value: %q}]\n", v)
	}
	policies := filepath.Join(dir, "policies.cue")
	writeFile(t, policies, policy("1"))

	header := func(res *Result) string {
		t.Helper()
		_, b := res.Table.Route("site.example.com", "/")
		if b == nil || b.ResponseHeaders == nil || len(b.ResponseHeaders.Set) != 1 {
			t.Fatalf("site's default behavior: no compiled policy with one header: %+v", b)
		}
		return b.ResponseHeaders.Set[0].Value
	}
	c := New(dir)
	first := mustCompile(t, c)
	if got := header(first); got != "1" {
		t.Fatalf("X-Version %q, want 1", got)
	}

	writeFile(t, policies, policy("2"))
	res := mustCompile(t, c)
	if res.Stats.Evaluated != 1 {
		t.Errorf("evaluated %d units, want the policy's alone", res.Stats.Evaluated)
	}
	if res.Config.Distributions["site"] != first.Config.Distributions["site"] {
		t.Fatal("site's decoded value was not reused: this test no longer covers a policy edit beside an unchanged distribution")
	}
	if got := header(res); got != "2" {
		t.Errorf("X-Version %q after the policy changed, want 2", got)
	}
	if res.Table.Version() == first.Table.Version() {
		t.Error("the table version did not change with the policy")
	}
	if res.Table.Distribution("site") == first.Table.Distribution("site") {
		t.Error("site was reused with its old policy")
	}
	if res.Table.Distribution("plain") != first.Table.Distribution("plain") {
		t.Error("plain, which names no policy, was rebuilt")
	}
}

// TestCachePolicyRecompile: a cache policy lives outside the behaviors
// that name it, as a response headers policy does: an edit to it alone
// must reach the table (a new version, the new key and TTLs on the
// behavior, a new cache scope so old entries are not served) and the
// checks that depend on it (compress without gzip or brotli), while a
// distribution that names no policy is reused.
func TestCachePolicyRecompile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "site.cue"), policyDist("site", `, compress: true, cachePolicy: "keys"`))
	writeFile(t, filepath.Join(dir, "plain.cue"), policyDist("plain", ", compress: true"))
	policy := func(query string, gzip bool) string {
		return fmt.Sprintf("package cdn\n\ncachePolicies: keys: {\n\tdefaultTTL: 60\n\tparametersInCacheKeyAndForwardedToOrigin: {\n\t\tenableAcceptEncodingGzip: %v\n\t\tqueryStringsConfig: {queryStringBehavior: \"whitelist\", queryStrings: [%q]}\n\t}\n}\n", gzip, query)
	}
	policies := filepath.Join(dir, "policies.cue")
	writeFile(t, policies, policy("v", true))

	behavior := func(res *Result) *table.Behavior {
		t.Helper()
		_, b := res.Table.Route("site.example.com", "/")
		if b == nil {
			t.Fatal("site.example.com: no behavior")
		}
		return b
	}
	keyed := func(b *table.Behavior) string { return table.KeyedQuery(b.Spec.ForwardedValues, "v=1&w=2") }
	notCompressed := func(res *Result) (out []string) {
		for _, w := range res.Warnings {
			if strings.Contains(w.Error(), "not compressed") {
				out = append(out, w.Error())
			}
		}
		return out
	}
	c := New(dir)
	first := mustCompile(t, c)
	b1 := behavior(first)
	if got := keyed(b1); got != "v=1" || b1.Spec.DefaultTTL != 60 || !b1.Spec.Compress {
		t.Fatalf("keyed query %q, defaultTTL %d, compress %v; want v=1, 60, true", got, b1.Spec.DefaultTTL, b1.Spec.Compress)
	}
	if w := notCompressed(first); len(w) != 0 {
		t.Errorf("warnings with gzip enabled: %v", w)
	}

	writeFile(t, policies, policy("w", false))
	res := mustCompile(t, c)
	if res.Stats.Evaluated != 1 {
		t.Errorf("evaluated %d units, want the policy's alone", res.Stats.Evaluated)
	}
	if res.Config.Distributions["site"] != first.Config.Distributions["site"] {
		t.Fatal("site's decoded value was not reused: this test no longer covers a policy edit beside an unchanged distribution")
	}
	b2 := behavior(res)
	if got := keyed(b2); got != "w=2" || b2.Spec.Compress {
		t.Errorf("after the edit: keyed query %q, compress %v; want w=2, false", got, b2.Spec.Compress)
	}
	if b2.CacheScope == b1.CacheScope {
		t.Error("the behavior's cache scope did not change with its policy: entries keyed the old way would be served")
	}
	if res.Table.Version() == first.Table.Version() {
		t.Error("the table version did not change with the policy")
	}
	if res.Table.Distribution("plain") != first.Table.Distribution("plain") {
		t.Error("plain, which names no policy, was rebuilt")
	}
	if w := notCompressed(res); len(w) != 1 || !strings.Contains(w[0], "site.cue:6:") {
		t.Errorf("warnings after gzip was disabled: %v, want one not compressed at site.cue:6", w)
	}

	// A comment says nothing of the key: the cache stays.
	writeFile(t, policies, strings.Replace(policy("w", false), "defaultTTL: 60", "defaultTTL: 60\n\tcomment: \"query w only\"", 1))
	b3 := behavior(mustCompile(t, c))
	if b3.CacheScope != b2.CacheScope {
		t.Error("a comment's edit changed the behavior's cache scope: its cache would start afresh")
	}
}

// TestOriginRequestPolicyRecompile: an edit to a config's origin request
// policy alone reaches the table (a new version, the behavior forwarding
// the new values) but keeps the behavior's cache scope: the policy
// forwards outside the cache key, so nothing stored depends on it.
func TestOriginRequestPolicyRecompile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "site.cue"), policyDist("site", `, cachePolicy: "CachingOptimized", originRequestPolicy: "fwd"`))
	policy := func(query string) string {
		return fmt.Sprintf("package cdn\n\noriginRequestPolicies: fwd: queryStringsConfig: {queryStringBehavior: \"whitelist\", queryStrings: [%q]}\n", query)
	}
	policies := filepath.Join(dir, "policies.cue")
	writeFile(t, policies, policy("v"))
	behavior := func(res *Result) *table.Behavior {
		t.Helper()
		_, b := res.Table.Route("site.example.com", "/")
		if b == nil {
			t.Fatal("site.example.com: no behavior")
		}
		return b
	}
	forwarded := func(b *table.Behavior) string {
		return table.QueryOf("v=1&w=2", b.Spec.ForwardedValues, b.OriginRequest.Query)
	}
	c := New(dir)
	first := mustCompile(t, c)
	b1 := behavior(first)
	if got := forwarded(b1); got != "v=1" {
		t.Fatalf("forwarded query %q, want v=1", got)
	}
	writeFile(t, policies, policy("w"))
	res := mustCompile(t, c)
	b2 := behavior(res)
	if got := forwarded(b2); got != "w=2" {
		t.Errorf("after the edit: forwarded query %q, want w=2", got)
	}
	if res.Table.Version() == first.Table.Version() {
		t.Error("the table version did not change with the policy")
	}
	if b2.CacheScope != b1.CacheScope {
		t.Error("an origin request policy's edit changed the behavior's cache scope: its cache would start afresh")
	}
}
