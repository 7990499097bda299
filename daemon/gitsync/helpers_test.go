package gitsync

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"openfront.dev/compiler"
)

// gitEnvTest is the environment of the tests' own git commands (the ones
// playing the developer who pushes): no user or system config, a fixed author.
var gitEnvTest = []string{
	"GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
	"GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com",
	"GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com",
}

// requireGit skips a test on a machine without git, except in CI (.ci/run
// sets CI), where a missing tool is a failure.
func requireGit(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("git is needed: %v", err)
		}
		t.Skipf("git is not installed: %v", err)
	}
}

func run(t testing.TB, dir string, args ...string) string {
	t.Helper()
	requireGit(t)
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), gitEnvTest...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// remote is a bare repository in a temp dir and a clone that pushes to it.
type remote struct {
	t          testing.TB
	bare, work string
}

func newRemote(t testing.TB) *remote {
	t.Helper()
	base := t.TempDir()
	r := &remote{t: t, bare: filepath.Join(base, "remote.git"), work: filepath.Join(base, "work")}
	run(t, base, "init", "--quiet", "--bare", "-b", "main", r.bare)
	run(t, base, "init", "--quiet", "-b", "main", r.work)
	run(t, r.work, "remote", "add", "origin", r.bare)
	return r
}

// push commits files (path → content; "" deletes) and pushes to main; it
// returns the commit.
func (r *remote) push(msg string, files map[string]string) string {
	r.t.Helper()
	for name, content := range files {
		p := filepath.Join(r.work, filepath.FromSlash(name))
		if content == "" {
			os.Remove(p)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	run(r.t, r.work, "add", "-A")
	run(r.t, r.work, "commit", "--quiet", "--allow-empty", "-m", msg)
	run(r.t, r.work, "push", "--quiet", "origin", "HEAD:main")
	return run(r.t, r.work, "rev-parse", "HEAD")
}

// deployer stands in for the node: it "compiles" ConfigDir/state.txt, and
// rejects a state that says bad with a positioned error, as the compiler does.
type deployer struct {
	mu     sync.Mutex
	dir    string
	calls  int
	served string // state.txt at the last successful deploy
}

func (d *deployer) deploy() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls++
	file := filepath.Join(d.dir, "state.txt")
	b, err := os.ReadFile(file)
	if err != nil {
		return err
	}
	if strings.Contains(string(b), "bad") {
		return compiler.Errors{{File: file, Line: 1, Col: 1, Msg: "state is bad"}}
	}
	d.served = strings.TrimSpace(string(b))
	return nil
}

func (d *deployer) state() (string, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.served, d.calls
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newSyncer makes a syncer on url whose Deploy is a deployer, Inits it and
// closes it at the end of the test.
func newSyncer(t testing.TB, opts Options) (*Syncer, *deployer) {
	t.Helper()
	d := &deployer{}
	opts.Deploy = d.deploy
	opts.Logger = testLogger(t)
	if opts.Dir == "" {
		opts.Dir = filepath.Join(t.TempDir(), "git")
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	d.dir = s.ConfigDir()
	t.Cleanup(func() { s.Close() })
	return s, d
}

// syncNow runs one sync as Run does.
func syncNow(s *Syncer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sync(context.Background(), s.retry.Swap(false))
}

// currentTarget is the checkout directory current points at.
func currentTarget(t testing.TB, s *Syncer) string {
	t.Helper()
	target, err := os.Readlink(s.current)
	if err != nil {
		t.Fatal(err)
	}
	return target
}

func checkoutNames(t testing.TB, s *Syncer) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.dir, "checkouts"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func eventually(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
