package watch

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"openfront.dev/compiler"
	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// dist is a one-distribution config file; comment tells versions apart.
func dist(id, comment string) string {
	return fmt.Sprintf(`package cdn

distributions: %q: {
	comment: %q
	aliases: [%q]
	origins: [{id: "web", domainName: "web.example.org", customOriginConfig: {originProtocolPolicy: "https-only"}}]
	defaultCacheBehavior: {targetOriginId: "web", viewerProtocolPolicy: "redirect-to-https"}
}
`, id, comment, id+".example.com")
}

// badDist has an invalid value on line 7.
func badDist(id string) string {
	return strings.Replace(dist(id, "bad"), `"redirect-to-https"`, `"sometimes"`, 1)
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// applied records what the reloader applies.
type applied struct {
	mu     sync.Mutex
	tables []*table.Table
}

func (a *applied) apply(t *table.Table) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.tables = append(a.tables, t)
}

func (a *applied) count() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.tables)
}

func (a *applied) last() *table.Table {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.tables) == 0 {
		return nil
	}
	return a.tables[len(a.tables)-1]
}

// comment is the comment of distribution id in the last applied table,
// "<none>" when it has no such distribution.
func (a *applied) comment(id string) string {
	t := a.last()
	if t == nil {
		return "<no table>"
	}
	d, ok := t.Config().Distributions[id]
	if !ok {
		return "<none>"
	}
	return d.Comment
}

// start runs a reloader on dir after a first Reload, and stops it at the
// end of the test.
func start(t *testing.T, opts Options) (*Reloader, *applied) {
	t.Helper()
	a := &applied{}
	opts.Apply = a.apply
	opts.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opts.Rehash == 0 {
		opts.Rehash = -1 // tests of the watcher must not pass thanks to the rehash
	}
	r, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(); err != nil {
		t.Fatalf("first reload: %v", err)
	}
	errc := make(chan error, 1)
	go func() { errc <- r.Run(context.Background()) }()
	t.Cleanup(func() {
		r.Close()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	select {
	case <-r.ready:
	case <-time.After(5 * time.Second):
		t.Fatal("reloader did not start watching")
	}
	return r, a
}

// slack stretches every bound: on a loaded, shared machine a compile that
// takes 10 ms can take a second. The bounds assert that a change is applied
// at all and promptly; BenchmarkWriteToApply measures how fast.
const slack = 5

// eventually waits up to d (times slack) for cond.
func eventually(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d * slack)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// compiles is how many compiles a reloader ran.
func compiles(r *Reloader) int { s := r.Status(); return s.Reloads + s.Failures }

// An edit, whatever way a tool makes it, is applied within a second, once.
func TestEditsAreApplied(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(t *testing.T, dir string)
		want    map[string]string // distribution -> comment
		applies int
	}{
		{"write in place", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "site.cue"), dist("site", "v2"))
		}, map[string]string{"site": "v2", "other": "v1"}, 1},
		{"write a temporary file and rename it", func(t *testing.T, dir string) {
			tmp := filepath.Join(dir, ".site.cue.tmp1234")
			write(t, tmp, dist("site", "v2"))
			if err := os.Rename(tmp, filepath.Join(dir, "site.cue")); err != nil {
				t.Fatal(err)
			}
		}, map[string]string{"site": "v2", "other": "v1"}, 1},
		{"vim: rename to a backup, write anew, delete the backup", func(t *testing.T, dir string) {
			site := filepath.Join(dir, "site.cue")
			if err := os.Rename(site, site+"~"); err != nil {
				t.Fatal(err)
			}
			write(t, site, dist("site", "v2"))
			os.Remove(site + "~")
		}, map[string]string{"site": "v2", "other": "v1"}, 1},
		{"delete", func(t *testing.T, dir string) {
			os.Remove(filepath.Join(dir, "site.cue"))
		}, map[string]string{"site": "<none>", "other": "v1"}, 1},
		{"new subdirectory with a new file", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "teams", "api", "api.cue"), dist("api", "v1"))
		}, map[string]string{"site": "v1", "other": "v1", "api": "v1"}, 1},
		{"new file in an ignored directory is not read", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "_drafts", "broken.cue"), "package cdn\ndistributions: {")
			write(t, filepath.Join(dir, "cue.mod", "module.cue"), `module: "example.com/x"`)
		}, map[string]string{"site": "v1", "other": "v1"}, 0},
		{"a file that is not .cue is not read", func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "notes.txt"), "hello")
		}, map[string]string{"site": "v1", "other": "v1"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			write(t, filepath.Join(dir, "site.cue"), dist("site", "v1"))
			write(t, filepath.Join(dir, "other.cue"), dist("other", "v1"))
			r, a := start(t, Options{Dir: dir})
			before := a.count()
			tt.edit(t, dir)
			if tt.applies == 0 {
				// Nothing to apply: give the watcher time to get it wrong.
				time.Sleep(3 * r.opts.Debounce)
				if n := compiles(r); n != 1 {
					t.Errorf("%d compiles, want only the first", n)
				}
			}
			eventually(t, time.Second, "edit applied", func() bool {
				for id, c := range tt.want {
					if a.comment(id) != c {
						return false
					}
				}
				return true
			})
			time.Sleep(2 * r.opts.Debounce) // nothing else follows
			if n := a.count() - before; n != tt.applies {
				t.Errorf("applied %d times, want %d", n, tt.applies)
			}
		})
	}
}

// A file in a new subdirectory is watched: editing it later is seen too.
func TestNewSubdirectoryIsWatched(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "site.cue"), dist("site", "v1"))
	_, a := start(t, Options{Dir: dir})
	api := filepath.Join(dir, "teams", "api", "api.cue")
	write(t, api, dist("api", "v1"))
	eventually(t, time.Second, "new file applied", func() bool { return a.comment("api") == "v1" })
	write(t, api, dist("api", "v2"))
	eventually(t, time.Second, "edit in the new subdirectory applied", func() bool { return a.comment("api") == "v2" })
	// A subdirectory moved away takes its files with it.
	if err := os.Rename(filepath.Join(dir, "teams"), filepath.Join(dir, "_teams")); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "moved-away directory dropped", func() bool { return a.comment("api") == "<none>" })
}

// A bad change keeps the last good table, shows in Status and metrics
// within 2 s with file and line, and the next good change is applied.
func TestBadChangeKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site.cue")
	write(t, site, dist("site", "v1"))
	reg := prometheus.NewRegistry()
	r, a := start(t, Options{Dir: dir, Registry: reg})
	good := a.last()

	write(t, site, badDist("site"))
	eventually(t, 2*time.Second, "error in Status", func() bool { return r.Status().Failing })
	st := r.Status()
	if a.last() != good || st.Version != good.Version() {
		t.Errorf("a bad change replaced the table")
	}
	if st.LastError == nil || len(st.LastError.Errors) == 0 {
		t.Fatalf("no positioned error in status: %+v", st.LastError)
	}
	e := st.LastError.Errors[0]
	if e.File != site || e.Line != 7 || e.Col == 0 {
		t.Errorf("error at %s:%d:%d, want %s:7:col", e.File, e.Line, e.Col, site)
	}
	if st.LastError.Reason != "watch" {
		t.Errorf("reason %q, want watch", st.LastError.Reason)
	}
	golden(t, "bad-change.json", statusJSON(t, st, dir))
	if got := testutil.ToFloat64(r.m.reloads.WithLabelValues("failure")); got != 1 {
		t.Errorf("failure reloads = %v, want 1", got)
	}
	if got := testutil.ToFloat64(r.m.succeeded); got != 0 {
		t.Errorf("last reload successful = %v while refused, want 0", got)
	}

	write(t, site, dist("site", "v2"))
	eventually(t, time.Second, "good change applied", func() bool { return a.comment("site") == "v2" })
	eventually(t, time.Second, "status cleared", func() bool { return !r.Status().Failing })
	st = r.Status()
	if st.Version != a.last().Version() || st.AppliedAt.Before(st.LastError.At) {
		t.Errorf("status after the fix: %+v", st)
	}
	want := fmt.Sprintf(`
# HELP openfront_config_reload_total Config reloads (compiles), by result.
# TYPE openfront_config_reload_total counter
openfront_config_reload_total{result="failure"} 1
openfront_config_reload_total{result="success"} 2
# HELP openfront_config_last_reload_successful 1 if the last config reload compiled and was applied (or was the same table), 0 while a change is refused and the last good table serves.
# TYPE openfront_config_last_reload_successful gauge
openfront_config_last_reload_successful 1
# HELP openfront_config_version_info The version of the routing table being served (always 1).
# TYPE openfront_config_version_info gauge
openfront_config_version_info{version=%q} 1
`, st.Version)
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "openfront_config_reload_total", "openfront_config_last_reload_successful", "openfront_config_version_info"); err != nil {
		t.Error(err)
	}
	ts := testutil.ToFloat64(r.m.lastSuccess)
	if d := time.Since(time.Unix(0, int64(ts*1e9))); d < 0 || d > 5*time.Second {
		t.Errorf("last success timestamp %v is %v away", ts, d)
	}
}

// A file the node cannot read is a rejected change; the chmod (or chown)
// that fixes it is applied at once, not at the next rehash. Root reads
// anything: run as another user.
func TestPermissionFixIsApplied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	dir := t.TempDir()
	site := filepath.Join(dir, "site.cue")
	write(t, site, dist("site", "v1"))
	r, a := start(t, Options{Dir: dir})

	// cp under umask 077 by another user, as it looks to this one.
	tmp := filepath.Join(dir, ".site.cue.tmp")
	if err := os.WriteFile(tmp, []byte(dist("site", "v2")), 0o200); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, site); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "unreadable file rejected", func() bool { return r.Status().Failing })
	if e := r.Status().LastError; e == nil || !strings.Contains(e.Message, "permission denied") {
		t.Errorf("last error %+v, want permission denied", e)
	}
	if err := os.Chmod(site, 0o644); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "file made readable applied", func() bool { return a.comment("site") == "v2" })
	eventually(t, time.Second, "status cleared", func() bool { return !r.Status().Failing })

	// A subdirectory the node cannot list, then can.
	teams := filepath.Join(dir, "teams")
	write(t, filepath.Join(teams, "api.cue"), dist("api", "v1"))
	eventually(t, time.Second, "new subdirectory applied", func() bool { return a.comment("api") == "v1" })
	if err := os.Chmod(teams, 0o300); err != nil {
		t.Fatal(err)
	}
	write(t, site, dist("site", "v3"))
	eventually(t, 2*time.Second, "unlistable directory rejected", func() bool { return r.Status().Failing })
	if err := os.Chmod(teams, 0o755); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "directory made listable applied", func() bool { return a.comment("site") == "v3" })
	write(t, filepath.Join(teams, "api.cue"), dist("api", "v2"))
	eventually(t, time.Second, "edit in it applied", func() bool { return a.comment("api") == "v2" })
}

// A change the node refuses for a reason of its own (Check: a certificate
// missing from --certs, no geo database) is tried again by the rehash:
// once the operator fixes the node, the change is applied without a
// SIGHUP or an edit.
func TestCheckFailureIsRetried(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site.cue")
	write(t, site, dist("site", "v1"))
	var mu sync.Mutex
	missing := false // the certificate v2 names
	check := func(tb *table.Table) error {
		mu.Lock()
		defer mu.Unlock()
		if missing && tb.Config().Distributions["site"].Comment == "v2" {
			return errors.New(`distribution "site": viewerCertificate.certificateName "shop": no such file`)
		}
		return nil
	}
	mu.Lock()
	missing = true
	mu.Unlock()
	r, a := start(t, Options{Dir: dir, Check: check, Rehash: 100 * time.Millisecond})
	write(t, site, dist("site", "v2"))
	eventually(t, 2*time.Second, "change refused by Check", func() bool { return r.Status().Failing })
	if a.comment("site") != "v1" {
		t.Fatal("a refused change was applied")
	}
	time.Sleep(300 * time.Millisecond) // rehashes that find it refused still
	if st := r.Status(); st.Failures != 1 || !st.Failing {
		t.Errorf("status %+v: want the refusal counted once", st)
	}
	mu.Lock()
	missing = false
	mu.Unlock()
	eventually(t, 2*time.Second, "change applied once the node can serve it", func() bool { return a.comment("site") == "v2" })
	eventually(t, time.Second, "status cleared", func() bool { return !r.Status().Failing })
}

// statusJSON is st as /status would show it, with what varies run to run
// taken out.
func statusJSON(t *testing.T, st Status, dir string) []byte {
	st.Path, st.Version, st.AppliedAt = "DIR", "VERSION", time.Time{}
	le := *st.LastError
	le.At = time.Time{}
	le.Message = strings.ReplaceAll(le.Message, dir, "DIR")
	le.Errors = append([]compiler.Error(nil), le.Errors...)
	for i := range le.Errors {
		le.Errors[i].File = strings.ReplaceAll(le.Errors[i].File, dir, "DIR")
	}
	st.LastError = &le
	st.Warnings = append([]Problem(nil), st.Warnings...)
	for i := range st.Warnings {
		st.Warnings[i].File = strings.ReplaceAll(st.Warnings[i].File, dir, "DIR")
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update)", err)
	}
	if string(got) != string(want) {
		t.Errorf("%s differs (run with -update):\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// A git checkout of 500 files is one compile, or very few.
func TestBurstIsDebounced(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "site.cue"), dist("site", "v1"))
	r, a := start(t, Options{Dir: dir})
	for i := range 500 {
		write(t, filepath.Join(dir, "teams", fmt.Sprintf("t%d", i%10), fmt.Sprintf("d%03d.cue", i)), dist(fmt.Sprintf("d%03d", i), "v1"))
	}
	eventually(t, 10*time.Second, "all 500 applied", func() bool {
		t := a.last()
		return t != nil && t.Counts().Distributions == 501
	})
	time.Sleep(2 * r.opts.Debounce)
	if n := compiles(r) - 1; n > 3 {
		t.Errorf("%d compiles for a burst of 500 files, want at most 3", n)
	}
	t.Logf("%d compile(s) for 500 files", compiles(r)-1)
}

// A second save shortly after the first is not lost, whether it falls in
// the same debounce window or in the next.
func TestSecondSaveIsNotLost(t *testing.T) {
	for _, debounce := range []time.Duration{50 * time.Millisecond, 200 * time.Millisecond} {
		t.Run(debounce.String(), func(t *testing.T) {
			dir := t.TempDir()
			site := filepath.Join(dir, "site.cue")
			write(t, site, dist("site", "v1"))
			r, a := start(t, Options{Dir: dir, Debounce: debounce})
			write(t, site, dist("site", "v2"))
			time.Sleep(100 * time.Millisecond)
			write(t, site, dist("site", "v3"))
			eventually(t, time.Second, "second save applied", func() bool { return a.comment("site") == "v3" })
			time.Sleep(2 * r.opts.Debounce)
			if c := a.comment("site"); c != "v3" {
				t.Errorf("final table has %q, want v3", c)
			}
		})
	}
}

// Kubernetes mounts a ConfigMap as dir/..data -> ..TIMESTAMP, each file a
// link through ..data, and updates it by swapping ..data atomically.
func TestConfigMapSwap(t *testing.T) {
	dir := t.TempDir()
	publish := func(stamp, comment string, first bool) {
		write(t, filepath.Join(dir, stamp, "site.cue"), dist("site", comment))
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(stamp, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
		if first {
			if err := os.Symlink(filepath.Join("..data", "site.cue"), filepath.Join(dir, "site.cue")); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish("..2026_01_01_00_00_00.000000001", "v1", true)
	_, a := start(t, Options{Dir: dir})
	if c := a.comment("site"); c != "v1" {
		t.Fatalf("first table has %q", c)
	}
	publish("..2026_01_02_00_00_00.000000002", "v2", false)
	os.RemoveAll(filepath.Join(dir, "..2026_01_01_00_00_00.000000001"))
	eventually(t, time.Second, "swapped ConfigMap applied", func() bool { return a.comment("site") == "v2" })
	publish("..2026_01_03_00_00_00.000000003", "v3", false)
	eventually(t, time.Second, "second swap applied", func() bool { return a.comment("site") == "v3" })
}

// git-sync checks each commit out into its own directory and re-points a
// "current" link at it: here Dir itself is the link.
func TestGitSyncSwap(t *testing.T) {
	base := t.TempDir()
	current := filepath.Join(base, "current")
	checkout := func(rev, comment string) {
		write(t, filepath.Join(base, rev, "site.cue"), dist("site", comment))
		write(t, filepath.Join(base, rev, "teams", "api.cue"), dist("api", comment))
		tmp := filepath.Join(base, "tmp-link")
		if err := os.Symlink(rev, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, current); err != nil {
			t.Fatal(err)
		}
	}
	checkout("rev1", "v1")
	r, a := start(t, Options{Dir: current})
	if c := a.comment("site"); c != "v1" {
		t.Fatalf("first table has %q", c)
	}
	checkout("rev2", "v2")
	eventually(t, time.Second, "re-pointed link applied", func() bool { return a.comment("api") == "v2" })
	os.RemoveAll(filepath.Join(base, "rev1"))

	// The watches moved to the new checkout: an edit inside it is seen.
	write(t, filepath.Join(current, "teams", "api.cue"), dist("api", "v2.1"))
	eventually(t, time.Second, "edit in the new checkout applied", func() bool { return a.comment("api") == "v2.1" })

	// Errors are shown under Dir, as the user named it.
	write(t, filepath.Join(current, "site.cue"), badDist("site"))
	eventually(t, 2*time.Second, "error in status", func() bool { return r.Status().Failing })
	if errs := r.Status().LastError.Errors; len(errs) == 0 || errs[0].File != filepath.Join(current, "site.cue") {
		t.Errorf("errors %v, want them in %s", errs, filepath.Join(current, "site.cue"))
	}
	checkout("rev3", "v3")
	eventually(t, time.Second, "next checkout applied", func() bool { return a.comment("site") == "v3" })
}

// A link to a link: the outer link is stable, the inner one moves.
func TestLinkToGitSyncLink(t *testing.T) {
	base := t.TempDir()
	write(t, filepath.Join(base, "git", "rev1", "site.cue"), dist("site", "v1"))
	write(t, filepath.Join(base, "git", "rev2", "site.cue"), dist("site", "v2"))
	if err := os.Symlink("rev1", filepath.Join(base, "git", "current")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(base, "git", "current"), filepath.Join(base, "config")); err != nil {
		t.Fatal(err)
	}
	_, a := start(t, Options{Dir: filepath.Join(base, "config")})
	tmp := filepath.Join(base, "git", "tmp")
	if err := os.Symlink("rev2", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(base, "git", "current")); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "inner link re-pointed", func() bool { return a.comment("site") == "v2" })
}

// A link above Dir: releases/ kept side by side, current re-pointed from
// one to the next, Dir a subdirectory of current (a deploy script's
// current/config, git-sync's link with the config in a subdirectory). The
// old release stays on disk: no event inside the watched tree says it moved.
func TestLinkAboveDir(t *testing.T) {
	base := t.TempDir()
	for _, rev := range []string{"r1", "r2"} {
		write(t, filepath.Join(base, "releases", rev, "config", "site.cue"), dist("site", rev))
	}
	if err := os.Symlink(filepath.Join("releases", "r1"), filepath.Join(base, "current")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(base, "current", "config")
	_, a := start(t, Options{Dir: dir})
	tmp := filepath.Join(base, "current.tmp")
	if err := os.Symlink(filepath.Join("releases", "r2"), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(base, "current")); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "re-pointed link above Dir applied", func() bool { return a.comment("site") == "r2" })

	// The watches moved to the new release.
	write(t, filepath.Join(dir, "site.cue"), dist("site", "r2.1"))
	eventually(t, time.Second, "edit in the new release applied", func() bool { return a.comment("site") == "r2.1" })
}

// Dir itself deleted and re-created, or replaced by a rename.
func TestDirReplaced(t *testing.T) {
	base := t.TempDir()
	dir := filepath.Join(base, "config")
	write(t, filepath.Join(dir, "site.cue"), dist("site", "v1"))
	r, a := start(t, Options{Dir: dir})

	os.RemoveAll(dir)
	eventually(t, 2*time.Second, "missing dir reported", func() bool { return r.Status().Failing })
	if a.comment("site") != "v1" {
		t.Fatal("a missing directory replaced the table")
	}
	write(t, filepath.Join(dir, "site.cue"), dist("site", "v2"))
	eventually(t, time.Second, "re-created dir applied", func() bool { return a.comment("site") == "v2" })

	next := filepath.Join(base, "config.new")
	write(t, filepath.Join(next, "site.cue"), dist("site", "v3"))
	if err := os.Rename(dir, filepath.Join(base, "config.old")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, dir); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "renamed-in dir applied", func() bool { return a.comment("site") == "v3" })
	write(t, filepath.Join(dir, "site.cue"), dist("site", "v4"))
	eventually(t, time.Second, "edit in the renamed-in dir applied", func() bool { return a.comment("site") == "v4" })
}

// The directories above Dir removed and made again (rm -rf /srv/cdn, then
// a deploy tool unpacking a release there; a release directory renamed
// away and its successor renamed in a while later): once back, the config
// is applied at once, not at the next rehash.
func TestParentReplaced(t *testing.T) {
	base := t.TempDir()
	release := filepath.Join(base, "srv", "cdn")
	dir := filepath.Join(release, "config")
	write(t, filepath.Join(dir, "site.cue"), dist("site", "v1"))
	r, a := start(t, Options{Dir: dir})

	os.RemoveAll(filepath.Join(base, "srv"))
	eventually(t, 2*time.Second, "missing dir reported", func() bool { return r.Status().Failing })
	time.Sleep(300 * time.Millisecond) // past the debounce: a later step
	write(t, filepath.Join(dir, "site.cue"), dist("site", "v2"))
	eventually(t, time.Second, "re-created tree applied", func() bool { return a.comment("site") == "v2" })

	if err := os.Rename(release, release+".old"); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "moved-away release reported", func() bool { return r.Status().Failing })
	time.Sleep(300 * time.Millisecond)
	next := filepath.Join(base, "srv", "cdn.new")
	write(t, filepath.Join(next, "config", "site.cue"), dist("site", "v3"))
	if err := os.Rename(next, release); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "renamed-in release applied", func() bool { return a.comment("site") == "v3" })
	write(t, filepath.Join(dir, "site.cue"), dist("site", "v4"))
	eventually(t, time.Second, "edit in the renamed-in release applied", func() bool { return a.comment("site") == "v4" })
}

// What fsnotify does not see, the rehash does.
func TestRehashCatchesMissedChanges(t *testing.T) {
	tests := []struct {
		name   string
		rehash time.Duration
		drop   bool // the watcher loses every event
		want   string
	}{
		// The watcher sees a link's target edited (TestFileLinkOutsideTree):
		// here it loses the event.
		{"link target edited, event lost, rehash off", -1, true, "v1"},
		{"events lost, rehash on", 300 * time.Millisecond, true, "v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := t.TempDir()
			dir, outside := filepath.Join(base, "config"), filepath.Join(base, "outside", "site.cue")
			write(t, outside, dist("site", "v1"))
			os.MkdirAll(dir, 0o755)
			if err := os.Symlink(outside, filepath.Join(dir, "site.cue")); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "other.cue"), dist("other", "v1"))
			r, a := start(t, Options{Dir: dir, Rehash: tt.rehash})
			r.dropEvents.Store(tt.drop)
			// Written in place through the outside path: no event in dir.
			write(t, outside, dist("site", "v2"))
			if tt.drop && tt.want == "v2" {
				write(t, filepath.Join(dir, "other.cue"), dist("other", "v2"))
			}
			if tt.want == "v1" {
				time.Sleep(time.Second)
				if c := a.comment("site"); c != "v1" {
					t.Fatalf("applied %q without a rehash: the test does not hide the change", c)
				}
				return
			}
			eventually(t, 2*time.Second, "rehash applied the change", func() bool { return a.comment("site") == tt.want })
			if tt.drop && a.comment("other") != "v2" {
				t.Errorf("other = %q, want v2", a.comment("other"))
			}
		})
	}
}

// Reload compiles and applies whether or not anything changed.
func TestReloadForces(t *testing.T) {
	base := t.TempDir()
	dir, outside := filepath.Join(base, "config"), filepath.Join(base, "outside", "site.cue")
	write(t, outside, dist("site", "v1"))
	os.MkdirAll(dir, 0o755)
	if err := os.Symlink(outside, filepath.Join(dir, "site.cue")); err != nil {
		t.Fatal(err)
	}
	r, a := start(t, Options{Dir: dir})

	n, applies := compiles(r), a.count()
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if compiles(r) != n+1 || a.count() != applies+1 {
		t.Errorf("Reload with nothing changed: %d compiles, %d applies; want 1 each", compiles(r)-n, a.count()-applies)
	}

	write(t, outside, dist("site", "v2")) // invisible to the watcher
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if c := a.comment("site"); c != "v2" {
		t.Errorf("after Reload: %q, want v2", c)
	}

	write(t, outside, badDist("site"))
	err := r.Reload()
	if _, ok := errors.AsType[compiler.Errors](err); !ok {
		t.Errorf("Reload of a bad config = %v, want compiler.Errors", err)
	}
	if c := a.comment("site"); c != "v2" {
		t.Errorf("after a failed Reload: %q, want v2 kept", c)
	}
}

// Run and Close leave no goroutine behind, across 100 swaps.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 5 {
		dir := t.TempDir()
		site := filepath.Join(dir, "site.cue")
		write(t, site, dist("site", "v0"))
		a := &applied{}
		r, err := New(Options{Dir: dir, Debounce: 5 * time.Millisecond, Rehash: 50 * time.Millisecond, Apply: a.apply, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- r.Run(ctx) }()
		<-r.ready
		for i := range 20 {
			want := fmt.Sprintf("v%d", i+1)
			write(t, site, dist("site", want))
			eventually(t, 2*time.Second, "swap "+want, func() bool { return a.comment("site") == want })
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
	eventually(t, 2*time.Second, "goroutines back to their count", func() bool { return runtime.NumGoroutine() <= before })
}

func TestNewValidates(t *testing.T) {
	apply := func(*table.Table) {}
	reg := prometheus.NewRegistry()
	tests := []struct {
		name string
		opts Options
	}{
		{"no dir", Options{Apply: apply}},
		{"dir and file", Options{Dir: "x", File: "y", Apply: apply}},
		{"no apply", Options{Dir: "x"}},
		{"metrics registered twice", Options{Dir: "x", Apply: apply, Registry: reg}},
	}
	if _, err := New(Options{Dir: "x", Apply: apply, Registry: reg}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if _, err := New(tt.opts); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

// Close without Run, and Run after Close, return at once.
func TestCloseBeforeRun(t *testing.T) {
	r, err := New(Options{Dir: t.TempDir(), Apply: func(*table.Table) {}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	done := make(chan error)
	go func() { done <- r.Run(context.Background()) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		t.Fatal("Run after Close did not return")
	}
	if err := r.Run(context.Background()); err == nil {
		t.Error("second Run: no error")
	}
}

// artifact compiles a one-distribution config into a table artifact.
func artifact(t *testing.T, comment string) []byte {
	t.Helper()
	dir := t.TempDir()
	write(t, filepath.Join(dir, "site.cue"), dist("site", comment))
	res, err := compiler.New(dir).Compile()
	if err != nil {
		t.Fatal(err)
	}
	b, err := res.Table.MarshalArtifact()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serve --table: the artifact is watched like a directory, and a
// truncated, corrupt or hash-mismatched one is rejected.
func TestTableFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "table.json")
	write(t, file, string(artifact(t, "v1")))
	r, a := start(t, Options{File: file})
	if c := a.comment("site"); c != "v1" {
		t.Fatalf("first table has %q", c)
	}
	v2 := artifact(t, "v2")
	bad := []struct {
		name    string
		content string
		want    string // in the error
	}{
		{"truncated", string(v2[:len(v2)/2]), "unexpected EOF"},
		{"corrupt", "not json", "not a JSON object"},
		{"hash mismatch", strings.Replace(string(v2), `"v2"`, `"v2 tampered"`, 1), "does not match"},
	}
	for i, tt := range bad {
		write(t, file, tt.content)
		eventually(t, 2*time.Second, tt.name+" rejected", func() bool { return r.Status().Failures == i+1 })
		if c := a.comment("site"); c != "v1" {
			t.Errorf("%s: table replaced (%q)", tt.name, c)
		}
		if msg := r.Status().LastError.Message; !strings.Contains(msg, tt.want) || !strings.HasPrefix(msg, file+": ") {
			t.Errorf("%s: error %q, want %q in it, after the file's name", tt.name, msg, tt.want)
		}
	}
	// Written to a temporary file and renamed over, as `openfront compile` does.
	tmp := filepath.Join(dir, ".table.json.tmp")
	write(t, tmp, string(v2))
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "new artifact applied", func() bool { return a.comment("site") == "v2" })
	// A new file beside it changes nothing.
	n := compiles(r)
	write(t, filepath.Join(dir, "other.cue"), dist("other", "v1"))
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	time.Sleep(3 * r.opts.Debounce)
	if compiles(r) != n {
		t.Errorf("a file beside the artifact caused a reload")
	}
}

// An artifact published in a ConfigMap: table.json -> ..data/table.json.
func TestTableFileConfigMap(t *testing.T) {
	dir := t.TempDir()
	publish := func(stamp string, b []byte) {
		write(t, filepath.Join(dir, stamp, "table.json"), string(b))
		tmp := filepath.Join(dir, "..data_tmp")
		if err := os.Symlink(stamp, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	publish("..1", artifact(t, "v1"))
	if err := os.Symlink(filepath.Join("..data", "table.json"), filepath.Join(dir, "table.json")); err != nil {
		t.Fatal(err)
	}
	_, a := start(t, Options{File: filepath.Join(dir, "table.json")})
	publish("..2", artifact(t, "v2"))
	eventually(t, time.Second, "swapped artifact applied", func() bool { return a.comment("site") == "v2" })
}

// TestCommitWithoutFileChanges: the config is a directory of a git work
// tree; a commit that changes none of its files (a README elsewhere, an
// empty commit) is the commit /status shows after the next rehash.
func TestCommitWithoutFileChanges(t *testing.T) {
	base := t.TempDir()
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"}, args...)...)
		cmd.Dir = base
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	dir := filepath.Join(base, "config")
	write(t, filepath.Join(dir, "site.cue"), dist("site", "v1"))
	git("init", "--quiet", "-b", "main")
	git("add", "-A")
	git("commit", "--quiet", "-m", "v1")
	first := git("rev-parse", "HEAD")
	r, _ := start(t, Options{Dir: dir, Rehash: 200 * time.Millisecond})
	if c := r.Status().Commit; c != first {
		t.Fatalf("commit %q at start, want %s", c, first)
	}
	write(t, filepath.Join(base, "README.md"), "docs\n")
	git("add", "README.md")
	git("commit", "--quiet", "-m", "docs only")
	second := git("rev-parse", "HEAD")
	eventually(t, 3*time.Second, "the new commit in the status", func() bool { return r.Status().Commit == second })
}

// A config that fails before any table was applied (a node starting on a
// broken config) is logged as such, not as "keeping the last good table",
// which the operator would look for and not find; once a table is applied,
// a failure keeps it and says so. The first compile's reason is "start".
func TestRejectedLogSaysWhatServes(t *testing.T) {
	dir := t.TempDir()
	site := filepath.Join(dir, "site.cue")
	var logs strings.Builder
	r, err := New(Options{Dir: dir, Apply: func(*table.Table) {}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		content  string
		want     string // in the log
		wantNone string // not in it
		reason   string // in it too
	}{
		// The node's first compile is its start, not a reload.
		{badDist("site"), "config rejected; no table to serve", "last good", "reason=start"},
		{dist("site", "v1"), "config reloaded", "rejected", "reason=reload"},
		{badDist("site"), "config rejected; keeping the last good table", "no table to serve", "reason=reload"},
	}
	for i, s := range steps {
		write(t, site, s.content)
		logs.Reset()
		r.Reload()
		if got := logs.String(); !strings.Contains(got, s.want) || strings.Contains(got, s.wantNone) || !strings.Contains(got, s.reason) {
			t.Errorf("step %d logged %q; want %q and %q, not %q", i, got, s.want, s.reason, s.wantNone)
		}
	}
}

// serve --table vets the artifact's config: its hash is no signature.
func TestTableFileVetted(t *testing.T) {
	file := filepath.Join(t.TempDir(), "table.json")
	vetted, err := table.LoadArtifact(artifact(t, "v1"))
	if err != nil {
		t.Fatal(err)
	}
	// An origin shield without its region, which the table takes (its
	// content hash matches) and serves without the shield.
	cfg := vetted.Config()
	cfg.Distributions["site"].Origins[0].OriginShield = &schema.OriginShield{Enabled: true}
	unvetted, err := table.Build(cfg, table.Source{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := unvetted.MarshalArtifact()
	if err != nil {
		t.Fatal(err)
	}
	write(t, file, string(b))
	_, _, err = loadArtifact(file)()
	if want := `config.distributions.site.origins[0].originShield.enabled: distribution "site": origin "web": an enabled originShield needs`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q in it", err, want)
	}
}

// staging is a staging distribution no continuous deployment policy
// names: a config vet warns about (at its staging field, line 4 under
// above), which a node serves.
func staging(id, above string) string {
	return fmt.Sprintf(`package cdn
%s
distributions: %q: {
	staging: true
	origins: [{id: "web", domainName: "web.example.org", customOriginConfig: {originProtocolPolicy: "https-only"}}]
	defaultCacheBehavior: {targetOriginId: "web", viewerProtocolPolicy: "redirect-to-https"}
}
`, above, id)
}

// A reload logs each warning of the config that the reload before it did
// not have (a warning is its file and message: one an edit moved is the
// same), with its place and the commit; /status lists all of them.
func TestWarningsLoggedWhenNew(t *testing.T) {
	base := t.TempDir()
	const commit = "0123456789abcdef0123456789abcdef01234567"
	write(t, filepath.Join(base, ".git", "HEAD"), commit+"\n")
	dir := filepath.Join(base, "config")
	site, stage := filepath.Join(dir, "site.cue"), filepath.Join(dir, "stage.cue")
	write(t, site, dist("site", "v1"))
	write(t, stage, staging("stage", ""))
	var logs strings.Builder
	r, err := New(Options{Dir: dir, Apply: func(*table.Table) {}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	const msg = `msg="config warning; served all the same"`
	warning := fmt.Sprintf(`warning="%s:4:11: warning: distribution \"stage\": no continuous deployment policy names this staging distribution: it serves nothing" commit=%s`, stage, commit)
	steps := []struct {
		what         string
		file, config string
		logged       int    // warnings logged; at the start, site.cue's too (it embeds no schema.#Config)
		at           string // stage.cue's warning's place in /status, "" for none
	}{
		{"start", stage, staging("stage", ""), 2, stage + ":4:11"},
		{"another file changed", site, dist("site", "v2"), 0, stage + ":4:11"},
		{"the warning moved", stage, staging("stage", "// moved\n"), 0, stage + ":5:11"},
		{"the warning fixed", stage, dist("stage", "v1"), 0, ""},
		{"the warning back", stage, staging("stage", ""), 1, stage + ":4:11"},
	}
	for _, s := range steps {
		write(t, s.file, s.config)
		logs.Reset()
		if err := r.Reload(); err != nil {
			t.Fatalf("%s: %v", s.what, err)
		}
		got := logs.String()
		if n := strings.Count(got, msg); n != s.logged || (n > 0 && !strings.Contains(got, warning)) {
			t.Errorf("%s: logged %d warnings, want %d (%s):\n%s", s.what, n, s.logged, warning, got)
		}
		var at string
		for _, w := range r.Status().Warnings {
			if w.File == stage {
				at += fmt.Sprintf("%s:%d:%d", w.File, w.Line, w.Col)
			}
		}
		if at != s.at {
			t.Errorf("%s: warning at %q in /status, want %q", s.what, at, s.at)
		}
	}
}

// A config file that is a link to a file elsewhere (a policies file shared
// by several configs, a dotfile manager's link, a Nix store path): an
// edit of the file it points at is applied within a second, not at the
// next rehash, whether made in place or by an editor's rename; and so is
// an edit after the link is re-pointed at another file.
func TestFileLinkOutsideTree(t *testing.T) {
	dir, shared := t.TempDir(), t.TempDir()
	write(t, filepath.Join(dir, "site.cue"), dist("site", "v1"))
	target := filepath.Join(shared, "nested", "api.cue")
	write(t, target, dist("api", "v1"))
	if err := os.Symlink(target, filepath.Join(dir, "api.cue")); err != nil {
		t.Fatal(err)
	}
	_, a := start(t, Options{Dir: dir})
	if c := a.comment("api"); c != "v1" {
		t.Fatalf("first table has %q", c)
	}

	write(t, target, dist("api", "v2")) // in place
	eventually(t, time.Second, "edit of the linked file applied", func() bool { return a.comment("api") == "v2" })

	tmp := target + ".tmp"
	write(t, tmp, dist("api", "v3"))
	if err := os.Rename(tmp, target); err != nil { // an editor's save
		t.Fatal(err)
	}
	eventually(t, time.Second, "renamed-over linked file applied", func() bool { return a.comment("api") == "v3" })

	// Re-pointed at a file in yet another directory: that one is watched.
	other := filepath.Join(t.TempDir(), "api.cue")
	write(t, other, dist("api", "v4"))
	link := filepath.Join(dir, "api.cue.new")
	if err := os.Symlink(other, link); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(link, filepath.Join(dir, "api.cue")); err != nil {
		t.Fatal(err)
	}
	eventually(t, time.Second, "re-pointed link applied", func() bool { return a.comment("api") == "v4" })
	write(t, other, dist("api", "v5"))
	eventually(t, time.Second, "edit of the new target applied", func() bool { return a.comment("api") == "v5" })
}

// Deploy (a git commit's, the rollback after a rejected one) applies a
// table that differs from the one served, not the same one again; Reload
// (SIGHUP) applies whatever it compiles.
func TestDeployAppliesOnlyAChange(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "site.cue"), dist("site", "v1"))
	r, a := start(t, Options{Dir: dir})
	if err := r.Deploy(); err != nil {
		t.Fatal(err)
	}
	if n := a.count(); n != 1 {
		t.Errorf("Deploy of the table served applied it again (%d applies)", n)
	}
	write(t, filepath.Join(dir, "site.cue"), dist("site", "v2"))
	if err := r.Deploy(); err != nil {
		t.Fatal(err)
	}
	if a.count() != 2 || a.comment("site") != "v2" {
		t.Errorf("Deploy of a change: %d applies, site %q", a.count(), a.comment("site"))
	}
	if err := r.Reload(); err != nil {
		t.Fatal(err)
	}
	if n := a.count(); n != 3 {
		t.Errorf("Reload applied %d tables in all, want 3", n)
	}
}

// A change Check refused for want of a file of the node's (a certificate
// missing from --certs) is applied as soon as the file lands in one of
// CheckDirs, not at the next rehash; events there while nothing is
// refused compile nothing.
func TestCheckDirEventRetries(t *testing.T) {
	t.Run("beside the config", func(t *testing.T) { testCheckDirEventRetries(t, t.TempDir(), t.TempDir()) })
	t.Run("inside the config's tree", func(t *testing.T) {
		dir := t.TempDir()
		certs := filepath.Join(dir, "certs")
		if err := os.Mkdir(certs, 0o755); err != nil {
			t.Fatal(err)
		}
		testCheckDirEventRetries(t, dir, certs)
	})
}

func testCheckDirEventRetries(t *testing.T, dir, certs string) {
	site := filepath.Join(dir, "site.cue")
	write(t, site, dist("site", "v1"))
	check := func(tb *table.Table) error {
		if tb.Config().Distributions["site"].Comment != "v2" {
			return nil
		}
		_, err := os.Stat(filepath.Join(certs, "shop.crt"))
		return err
	}
	r, a := start(t, Options{Dir: dir, Check: check, CheckDirs: []string{certs}})
	write(t, filepath.Join(certs, "other.crt"), "x")
	time.Sleep(300 * time.Millisecond)
	if n := compiles(r); n != 1 {
		t.Errorf("%d compiles after a file landed in a check dir with nothing refused, want 1", n)
	}
	write(t, site, dist("site", "v2"))
	eventually(t, 2*time.Second, "change refused by Check", func() bool { return r.Status().Failing })
	write(t, filepath.Join(certs, "shop.crt"), "x")
	eventually(t, time.Second, "refused change applied once its file landed", func() bool { return a.comment("site") == "v2" })
}

// TestRefusedAgainIsRecorded: an edit of a config refused for a reason of
// the node's own, still refused for the same reason, is a new failure:
// counted, with its time, though the message is the same (only a rehash
// or an event that changed nothing stays quiet).
func TestRefusedAgainIsRecorded(t *testing.T) {
	dir, certs := t.TempDir(), t.TempDir()
	site := filepath.Join(dir, "site.cue")
	write(t, site, dist("site", "v1"))
	check := func(tb *table.Table) error {
		if !strings.HasPrefix(tb.Config().Distributions["site"].Comment, "v2") {
			return nil
		}
		_, err := os.Stat(filepath.Join(certs, "shop.crt"))
		return err
	}
	r, _ := start(t, Options{Dir: dir, Check: check, CheckDirs: []string{certs}})
	write(t, site, dist("site", "v2a"))
	eventually(t, 2*time.Second, "change refused by Check", func() bool { return r.Status().Failing })
	first := r.Status()
	write(t, site, dist("site", "v2b"))
	eventually(t, 2*time.Second, "the next refused edit recorded", func() bool { return r.Status().Failures > first.Failures })
	if !r.Status().LastError.At.After(first.LastError.At) {
		t.Errorf("lastError.at %v, not after the first refusal's %v", r.Status().LastError.At, first.LastError.At)
	}
}
