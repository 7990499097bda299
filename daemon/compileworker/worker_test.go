package compileworker

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"openfront.dev/compiler"
	"openfront.dev/internal/testenv"
)

func TestMain(m *testing.M) { RunTests(m) }

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mustCompile(t *testing.T, w *Worker, comment string) {
	t.Helper()
	res, err := w.Compile()
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	if got := res.Table.Config().Distributions["site"].Comment; got != comment {
		t.Fatalf("compiled comment %q, want %q", got, comment)
	}
	if res.Table.Source().Dir != w.dir {
		t.Fatalf("table's source dir %q, want %q", res.Table.Source().Dir, w.dir)
	}
}

// A compile past a bound is an error naming the bound and the tree, and
// the next change compiles in a fresh worker.
func TestBoundsStopTheCompile(t *testing.T) {
	for _, tc := range []struct {
		name string
		bomb string
		opts Options
		want string
	}{
		{"time", testenv.CPUBomb, Options{Timeout: 2e9}, "compiling took longer than 2s (directory "},
		{"memory", testenv.MemoryBomb, Options{Timeout: 60e9, Memory: 200 << 20}, "compiling used more than 200 MiB (directory "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			w := New(dir, tc.opts)
			defer w.Close()
			write(t, filepath.Join(dir, "main.cue"), testenv.SiteConfig("one"))
			mustCompile(t, w, "one")
			write(t, filepath.Join(dir, "bomb.cue"), tc.bomb)
			_, err := w.Compile()
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("compile of the bomb: %v, want %q naming %s", err, tc.want, dir)
			}
			if err := os.Remove(filepath.Join(dir, "bomb.cue")); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(dir, "main.cue"), testenv.SiteConfig("two"))
			mustCompile(t, w, "two")
		})
	}
}

// A config error crosses as the compiler's positioned errors; the worker
// stays.
func TestConfigErrorsKeepTheirPlace(t *testing.T) {
	dir := t.TempDir()
	w := New(dir, Options{})
	defer w.Close()
	write(t, filepath.Join(dir, "main.cue"), testenv.SiteConfig("one"))
	mustCompile(t, w, "one")
	pid := w.child.cmd.Process.Pid
	write(t, filepath.Join(dir, "main.cue"), strings.Replace(testenv.SiteConfig("bad"), `"redirect-to-https"`, `"sometimes"`, 1))
	_, err := w.Compile()
	errs, ok := errors.AsType[compiler.Errors](err)
	if !ok || len(errs) == 0 || errs[0].File != filepath.Join(dir, "main.cue") || errs[0].Line != 7 {
		t.Fatalf("compile of a bad config: %#v, want compiler errors at main.cue:7", err)
	}
	write(t, filepath.Join(dir, "main.cue"), testenv.SiteConfig("two"))
	mustCompile(t, w, "two")
	if w.child.cmd.Process.Pid != pid {
		t.Errorf("a config error restarted the worker")
	}
}

// A binary that is not a worker (a test binary without RunIfChild in its
// TestMain) is said so, rather than taken for one.
func TestNotAWorker(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "main.cue"), testenv.SiteConfig("one"))
	w := New(dir, Options{Argv: []string{"/bin/echo", "=== RUN"}})
	defer w.Close()
	_, err := w.Compile()
	if err == nil || !strings.Contains(err.Error(), "is not an openfront compile worker") {
		t.Fatalf("compile: %v", err)
	}
}

// Close ends a compile in flight at once (a node shutting down does not
// wait for the compile's timeout), and no compile runs after it.
func TestCloseEndsACompile(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "main.cue"), testenv.SiteConfig("one"))
	write(t, filepath.Join(dir, "bomb.cue"), testenv.CPUBomb)
	w := New(dir, Options{Timeout: time.Hour})
	done := make(chan error, 1)
	go func() {
		_, err := w.Compile()
		done <- err
	}()
	time.Sleep(500 * time.Millisecond) // the compile runs
	w.Close()
	select {
	case err := <-done:
		if !errors.Is(err, errStopping) {
			t.Errorf("the compile in flight: %v, want %v", err, errStopping)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the compile did not end within 30s of Close")
	}
	if _, err := w.Compile(); !errors.Is(err, errStopping) {
		t.Errorf("a compile after Close: %v", err)
	}
}

// After the first compile, a change crosses as a delta over the table the
// node holds: the entries it left alone are not sent again, and the table
// is the one the change makes.
func TestAChangeCrossesAsADelta(t *testing.T) {
	dir := t.TempDir()
	for i := range 20 {
		changeOne(t, dir, i, "")
	}
	var log bytes.Buffer
	w := New(dir, Options{Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	defer w.Close()
	if _, err := w.Compile(); err != nil {
		t.Fatal(err)
	}
	changeOne(t, dir, 3, "changed")
	res, err := w.Compile()
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Table.Config().Distributions["d3"].Comment; got != "changed" || len(res.Table.Config().Distributions) != 20 {
		t.Fatalf("compiled %d distributions, d3's comment %q", len(res.Table.Config().Distributions), got)
	}
	var sizes []int
	for _, m := range regexp.MustCompile(`artifact_bytes=(\d+) delta=(\w+)`).FindAllStringSubmatch(log.String(), -1) {
		n, _ := strconv.Atoi(m[1])
		sizes = append(sizes, n)
		if want := strconv.FormatBool(len(sizes) > 1); m[2] != want {
			t.Errorf("compile %d: delta=%s, want %s", len(sizes), m[2], want)
		}
	}
	if len(sizes) != 2 || sizes[1] > sizes[0]/5 {
		t.Errorf("artifact sizes %v, want the second a fifth of the first at most\n%s", sizes, log.String())
	}
}
