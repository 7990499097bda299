package gitsync

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// Every kind of remote a node uses: the first commit is deployed by Init,
// the next by a sync, and current holds each commit's tree.
func TestRemotes(t *testing.T) {
	execPath := run(t, ".", "--exec-path")
	cases := []struct {
		name string
		url  func(t *testing.T, r *remote) string
		// shown is the URL in Status ("" = the URL as given).
		shown func(url string) string
	}{
		{name: "local path", url: func(t *testing.T, r *remote) string { return r.bare }},
		{name: "file URL", url: func(t *testing.T, r *remote) string { return "file://" + r.bare }},
		{name: "relative path", url: func(t *testing.T, r *remote) string {
			wd, _ := os.Getwd()
			rel, err := filepath.Rel(wd, r.bare)
			if err != nil {
				t.Skip(err)
			}
			return rel
		}},
		{
			// git http-backend behind basic auth over TLS: the token in the
			// URL is how git authenticates, and it never shows in Status.
			name: "https with a token",
			url: func(t *testing.T, r *remote) string {
				backend := &cgi.Handler{Path: filepath.Join(execPath, "git-http-backend"),
					Env: []string{"GIT_PROJECT_ROOT=" + filepath.Dir(r.bare), "GIT_HTTP_EXPORT_ALL=1"}}
				srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
					if u, p, ok := req.BasicAuth(); !ok || u != "deploy" || p != "s3cret-token" {
						w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
						http.Error(w, "unauthorized", http.StatusUnauthorized)
						return
					}
					backend.ServeHTTP(w, req)
				}))
				t.Cleanup(srv.Close)
				ca := filepath.Join(t.TempDir(), "ca.pem")
				os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644)
				t.Setenv("GIT_SSL_CAINFO", ca)
				return strings.Replace(srv.URL, "https://", "https://deploy:s3cret-token@", 1) + "/remote.git"
			},
			shown: func(url string) string { return strings.Replace(url, "s3cret-token", "xxxxx", 1) },
		},
		{
			// A repository served as plain files (dumb HTTP), which has no
			// shallow fetch: the whole branch is fetched.
			name: "dumb http",
			url: func(t *testing.T, r *remote) string {
				hook := filepath.Join(r.bare, "hooks", "post-update")
				os.WriteFile(hook, []byte("#!/bin/sh\nexec git update-server-info\n"), 0o755)
				run(t, r.bare, "update-server-info")
				srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Dir(r.bare))))
				t.Cleanup(srv.Close)
				return srv.URL + "/remote.git"
			},
		},
		{
			// ssh goes through whatever the environment names: here a
			// GIT_SSH_COMMAND that runs the remote command locally.
			name: "ssh from the environment",
			url: func(t *testing.T, r *remote) string {
				script := filepath.Join(t.TempDir(), "fake-ssh")
				os.WriteFile(script, []byte("#!/bin/sh\n# host, then the command git wants run there\nshift\nexec sh -c \"$*\"\n"), 0o755)
				t.Setenv("GIT_SSH_COMMAND", script)
				t.Setenv("GIT_SSH_VARIANT", "simple")
				return "ssh://git@git.example.com" + r.bare
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRemote(t)
			c1 := r.push("first", map[string]string{"state.txt": "v1"})
			url := tc.url(t, r)
			s, d := newSyncer(t, Options{URL: url})
			if err := s.Init(context.Background()); err != nil {
				t.Fatalf("Init: %v", err)
			}
			if got, _ := d.state(); got != "v1" {
				t.Fatalf("served %q after Init, want v1", got)
			}
			c2 := r.push("second", map[string]string{"state.txt": "v2"})
			if err := syncNow(s); err != nil {
				t.Fatalf("sync: %v", err)
			}
			if got, _ := d.state(); got != "v2" {
				t.Errorf("served %q, want v2", got)
			}
			st := s.Status()
			if st.Head != c2 || st.CheckedOut == nil || st.CheckedOut.SHA != c2 || st.CheckedOut.Subject != "second" {
				t.Errorf("status head %s checked out %+v, want %s (first was %s)", st.Head, st.CheckedOut, c2, c1)
			}
			want := url
			if tc.shown != nil {
				want = tc.shown(url)
			}
			if st.URL != want {
				t.Errorf("status URL %q, want %q", st.URL, want)
			}
		})
	}
}

// A commit the deploy rejects is rolled back: current points at the last
// good checkout again, the status names the commit and its errors relative
// to the repository, polls do not retry it, and the fix deploys.
func TestRejectedCommitRollsBack(t *testing.T) {
	r := newRemote(t)
	good := r.push("good", map[string]string{"config/state.txt": "v1", "README.md": "hi"})
	s, d := newSyncer(t, Options{URL: r.bare, Subdir: "config"})
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	goodTarget := currentTarget(t, s)
	since := s.Status().CheckedOut.At

	bad := r.push("break it", map[string]string{"config/state.txt": "bad"})
	if err := syncNow(s); err == nil {
		t.Fatal("sync of a bad commit returned no error")
	}
	if got := currentTarget(t, s); got != goodTarget {
		t.Errorf("current points at %s, want the good checkout %s", got, goodTarget)
	}
	if served, _ := d.state(); served != "v1" {
		t.Errorf("served %q, want v1", served)
	}
	st := s.Status()
	rj := st.LastRejected
	if rj == nil || rj.SHA != bad || rj.Subject != "break it" {
		t.Fatalf("last rejected %+v, want commit %s", rj, bad)
	}
	if len(rj.Errors) != 1 || rj.Errors[0].String() != "config/state.txt:1:1: state is bad" {
		t.Errorf("rejected errors %v", rj.Errors)
	}
	if rj.Message != "config/state.txt:1:1: state is bad" {
		t.Errorf("rejected message %q", rj.Message)
	}
	if st.CheckedOut.SHA != good || st.Head != bad || !st.CheckedOut.At.Equal(since) {
		t.Errorf("checked out %s since %v, head %s; want %s since %v, and %s", st.CheckedOut.SHA, st.CheckedOut.At, st.Head, good, since, bad)
	}
	if names := checkoutNames(t, s); len(names) != 1 || !strings.HasPrefix(names[0], good) {
		t.Errorf("checkouts %v: the rejected one should be gone", names)
	}

	// A poll finds the same head: no second attempt.
	_, calls := d.state()
	if err := syncNow(s); err != nil {
		t.Fatal(err)
	}
	if _, again := d.state(); again != calls {
		t.Errorf("the rejected commit was deployed again on a poll (%d deploys, then %d)", calls, again)
	}
	// Retry (SIGHUP) tries it again.
	s.retry.Store(true)
	syncNow(s)
	if _, again := d.state(); again == calls {
		t.Error("Retry did not deploy the rejected commit again")
	}

	fix := r.push("fix it", map[string]string{"config/state.txt": "v3"})
	if err := syncNow(s); err != nil {
		t.Fatal(err)
	}
	if served, _ := d.state(); served != "v3" {
		t.Errorf("served %q after the fix, want v3", served)
	}
	st = s.Status()
	if st.CheckedOut.SHA != fix || st.LastRejected == nil || st.LastRejected.SHA != bad {
		t.Errorf("after the fix: checked out %s, last rejected %+v", st.CheckedOut.SHA, st.LastRejected)
	}
}

// Keep checkouts stay, current first; older ones and their worktree records go.
func TestOldCheckoutsAreDeleted(t *testing.T) {
	r := newRemote(t)
	r.push("c0", map[string]string{"state.txt": "v0"})
	s, _ := newSyncer(t, Options{URL: r.bare, Keep: 3})
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	var commits []string
	for i := 1; i <= 5; i++ {
		commits = append(commits, r.push(fmt.Sprint("c", i), map[string]string{"state.txt": fmt.Sprint("v", i)}))
		if err := syncNow(s); err != nil {
			t.Fatal(err)
		}
	}
	slices.Reverse(commits)
	if got := s.Status().Checkouts; !slices.Equal(got, commits[:3]) {
		t.Errorf("kept %v, want the last three %v", got, commits[:3])
	}
	names := checkoutNames(t, s)
	if len(names) != 3 {
		t.Errorf("checkouts on disk: %v", names)
	}
	if !slices.Contains(names, filepath.Base(currentTarget(t, s))) {
		t.Errorf("current %s is not among %v", currentTarget(t, s), names)
	}
	list := run(t, ".", "--git-dir", s.repo, "worktree", "list", "--porcelain")
	if n := strings.Count(list, "worktree "); n != 4 { // the bare clone and three checkouts
		t.Errorf("git worktree list has %d entries:\n%s", n, list)
	}
}

// current only ever points at a whole checkout: a watcher sampling it
// while commits of many files are deployed always finds every file, and a
// checkout that fails half-way never gets linked and is removed.
func TestCurrentIsNeverHalfWritten(t *testing.T) {
	const files = 300
	r := newRemote(t)
	tree := func(v int) map[string]string {
		m := map[string]string{"state.txt": fmt.Sprint("v", v)}
		for i := range files {
			m[fmt.Sprintf("d%d/f%03d.txt", i%10, i)] = fmt.Sprintf("v%d %d\n", v, i)
		}
		return m
	}
	r.push("v0", tree(0))
	// A git that breaks worktree add half-way when told to: it checks the
	// commit out, then deletes half of it and fails, as a full disk would.
	fail := filepath.Join(t.TempDir(), "fail")
	wrapper := filepath.Join(t.TempDir(), "git")
	os.WriteFile(wrapper, []byte(`#!/bin/sh
git "$@" || exit $?
case " $* " in *" worktree add "*)
	if [ -e '`+fail+`' ]; then
		eval "dir=\${$(($#-1))}" # the commit is last, the directory before it
		rm -rf "$dir/d0" "$dir/d1" "$dir/d2" "$dir/d3" "$dir/d4"
		echo "fatal: disk full" >&2
		exit 1
	fi
esac
`), 0o755)
	s, d := newSyncer(t, Options{URL: r.bare, Git: wrapper})
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}

	stop := make(chan struct{})
	done := make(chan string)
	go func() {
		var problem string
		seen := ""
		for {
			select {
			case <-stop:
				done <- problem
				return
			default:
			}
			target, err := os.Readlink(s.current)
			if err != nil || target == seen {
				continue
			}
			seen = target
			n := 0
			filepath.WalkDir(filepath.Join(s.dir, target), func(p string, e os.DirEntry, err error) error {
				if err == nil && !e.IsDir() && strings.HasSuffix(p, ".txt") {
					n++
				}
				return nil
			})
			if n != files+1 && problem == "" {
				problem = fmt.Sprintf("current pointed at %s with %d of %d files", target, n, files+1)
			}
		}
	}()
	for v := 1; v <= 4; v++ {
		r.push(fmt.Sprint("v", v), tree(v))
		if err := syncNow(s); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(fail, nil, 0o644)
	before := currentTarget(t, s)
	r.push("v5", tree(5))
	err := syncNow(s)
	close(stop)
	if problem := <-done; problem != "" {
		t.Error(problem)
	}
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("sync with a failing checkout: %v", err)
	}
	if got := currentTarget(t, s); got != before {
		t.Errorf("current moved to %s after a failed checkout", got)
	}
	if served, _ := d.state(); served != "v4" {
		t.Errorf("served %q, want v4", served)
	}
	for _, name := range checkoutNames(t, s) {
		if strings.HasPrefix(name, s.Status().Head) {
			t.Errorf("the failed checkout %s is still on disk", name)
		}
	}
	if st := s.Status(); !strings.Contains(st.FetchError, "disk full") {
		t.Errorf("status fetch error %q", st.FetchError)
	}
	os.Remove(fail)
	if err := syncNow(s); err != nil {
		t.Fatal(err)
	}
	if served, _ := d.state(); served != "v5" {
		t.Errorf("served %q after the disk recovered, want v5", served)
	}
	if st := s.Status(); st.FetchError != "" {
		t.Errorf("fetch error %q stayed after a good sync", st.FetchError)
	}
}

// An unreachable remote keeps the last good commit serving and says why.
func TestFetchErrorKeepsServing(t *testing.T) {
	r := newRemote(t)
	r.push("v1", map[string]string{"state.txt": "v1"})
	s, d := newSyncer(t, Options{URL: r.bare})
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	moved := r.bare + ".away"
	os.Rename(r.bare, moved)
	if err := syncNow(s); err == nil {
		t.Fatal("sync from a missing remote worked")
	}
	st := s.Status()
	if !strings.HasPrefix(st.FetchError, "git fetch: ") || st.FetchFailures != 1 || st.LastFetch.IsZero() || !st.LastFetchOK.Before(st.LastFetch) {
		t.Errorf("status %+v", st)
	}
	if served, _ := d.state(); served != "v1" {
		t.Errorf("served %q", served)
	}
	// An alert sees it on /metrics.
	reg := prometheus.NewRegistry()
	reg.MustRegister(s.Collectors()...)
	metrics := func(failing int) string {
		return fmt.Sprintf(`
# HELP openfront_git_fetch_failing 1 while the last fetch of the config's git branch, or the checkout of its head, failed: new commits are not deployed.
# TYPE openfront_git_fetch_failing gauge
openfront_git_fetch_failing %d
# HELP openfront_git_fetches_total Fetches of the config's git branch (polls, webhooks, retries), by result.
# TYPE openfront_git_fetches_total counter
openfront_git_fetches_total{result="failure"} 1
openfront_git_fetches_total{result="success"} %d
`, failing, 2-failing)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(metrics(1)), "openfront_git_fetch_failing", "openfront_git_fetches_total"); err != nil {
		t.Error(err)
	}
	okAt := testutil.ToFloat64(s.Collectors()[3])
	if want := float64(st.LastFetchOK.UnixNano()) / 1e9; okAt != want {
		t.Errorf("last fetch success at %v, want %v", okAt, want)
	}
	os.Rename(moved, r.bare)
	r.push("v2", map[string]string{"state.txt": "v2"})
	if err := syncNow(s); err != nil {
		t.Fatal(err)
	}
	if st := s.Status(); st.FetchError != "" || st.Fetches != 3 || st.LastFetchOK != st.LastFetch {
		t.Errorf("status after recovery %+v", st)
	}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(metrics(0)), "openfront_git_fetch_failing", "openfront_git_fetches_total"); err != nil {
		t.Error(err)
	}
}

// A restart serves what current pointed at without waiting for the remote,
// and clears what the last run left in checkouts/.
func TestRestartServesCurrentFirst(t *testing.T) {
	r := newRemote(t)
	c1 := r.push("v1", map[string]string{"state.txt": "v1"})
	dir := filepath.Join(t.TempDir(), "git")
	s1, _ := newSyncer(t, Options{URL: r.bare, Dir: dir})
	if err := s1.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	s1.Close()
	os.MkdirAll(filepath.Join(dir, "checkouts", "deadbeef-interrupted", "d0"), 0o755)
	os.Rename(r.bare, r.bare+".away") // the remote is down

	s2, d := newSyncer(t, Options{URL: r.bare, Dir: dir})
	if err := s2.Init(context.Background()); err != nil {
		t.Fatalf("Init with the remote down and a good current: %v", err)
	}
	if served, _ := d.state(); served != "v1" {
		t.Errorf("served %q, want v1", served)
	}
	if st := s2.Status(); st.CheckedOut == nil || st.CheckedOut.SHA != c1 {
		t.Errorf("checked out %+v, want %s", st.CheckedOut, c1)
	}
	if names := checkoutNames(t, s2); len(names) != 1 || !strings.HasPrefix(names[0], c1) {
		t.Errorf("checkouts %v, want only %s's", names, c1)
	}
}

// The first start of a node whose branch does not deploy fails, as serve
// --config does on a bad config; once fixed, the next start works.
func TestFirstCommitRejected(t *testing.T) {
	r := newRemote(t)
	r.push("bad", map[string]string{"state.txt": "bad"})
	dir := filepath.Join(t.TempDir(), "git")
	s1, _ := newSyncer(t, Options{URL: r.bare, Dir: dir})
	if err := s1.Init(context.Background()); err == nil || !strings.Contains(err.Error(), "state is bad") {
		t.Fatalf("Init: %v", err)
	}
	s1.Close()
	r.push("fixed", map[string]string{"state.txt": "v2"})
	s2, d := newSyncer(t, Options{URL: r.bare, Dir: dir})
	if err := s2.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	if served, _ := d.state(); served != "v2" {
		t.Errorf("served %q", served)
	}
}

// A node with nothing deployed yet does not claim in its log that a last
// good commit keeps serving (it is about to exit), and a commit without
// the config's directory is refused saying so, not with a failed lstat.
func TestFirstCommitFailsWithoutClaimingAGoodOne(t *testing.T) {
	for _, tc := range []struct {
		name    string
		url     func(r *remote) string
		subdir  string
		wantErr string
	}{
		{"the remote is missing", func(r *remote) string { return r.bare + "-missing" }, "", "git fetch"},
		{"the commit does not vet", func(r *remote) string { return r.bare }, "", "state is bad"},
		{"the commit lacks the directory", func(r *remote) string { return r.bare }, "conf",
			`the commit has no directory "conf" (the config's directory in the repository, serve --git-subdir)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRemote(t)
			r.push("first", map[string]string{"state.txt": "bad", "config/state.txt": "bad"})
			var log strings.Builder
			d := &deployer{}
			s, err := New(Options{URL: tc.url(r), Subdir: tc.subdir, Dir: filepath.Join(t.TempDir(), "git"),
				Deploy: d.deploy, Logger: slog.New(slog.NewTextHandler(&log, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			d.dir = s.ConfigDir()
			if err := s.Init(context.Background()); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Init: %v, want %q", err, tc.wantErr)
			}
			if strings.Contains(log.String(), "last good commit") || !strings.Contains(log.String(), "no commit deployed yet") {
				t.Errorf("the log should say no commit is deployed yet, not claim a last good one:\n%s", log.String())
			}
		})
	}
}

func TestDirIsLocked(t *testing.T) {
	r := newRemote(t)
	r.push("v1", map[string]string{"state.txt": "v1"})
	dir := filepath.Join(t.TempDir(), "git")
	s1, _ := newSyncer(t, Options{URL: r.bare, Dir: dir})
	if err := s1.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	s2, _ := newSyncer(t, Options{URL: r.bare, Dir: dir})
	if err := s2.Init(context.Background()); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second Init on one dir: %v", err)
	}
}

// Run polls and wakes on Trigger; Close stops it and leaves no goroutine.
func TestRunPollsAndStops(t *testing.T) {
	before := runtime.NumGoroutine()
	r := newRemote(t)
	r.push("v1", map[string]string{"state.txt": "v1"})
	for _, poll := range []time.Duration{100 * time.Millisecond, -1} {
		s, d := newSyncer(t, Options{URL: r.bare, Poll: poll})
		if err := s.Init(context.Background()); err != nil {
			t.Fatal(err)
		}
		errc := make(chan error, 1)
		go func() { errc <- s.Run(context.Background()) }()
		v := fmt.Sprint("poll ", poll)
		r.push(v, map[string]string{"state.txt": v})
		if poll < 0 {
			time.Sleep(300 * time.Millisecond)
			if served, _ := d.state(); served == v {
				t.Fatal("deployed without polling or a trigger")
			}
			s.Trigger()
		}
		eventually(t, 5*time.Second, "the push deployed", func() bool { served, _ := d.state(); return served == v })
		s.Close()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	}
	eventually(t, 5*time.Second, "goroutines back to their count", func() bool { return runtime.NumGoroutine() <= before })
}

func TestNewValidates(t *testing.T) {
	for _, o := range []Options{
		{},
		{URL: "--upload-pack=evil"},
		{URL: "/r.git", Branch: "a b"},
		{URL: "/r.git", Branch: "-x"},
		{URL: "/r.git", Subdir: "../up"},
		{URL: "/r.git", Subdir: "/etc"},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
	s, err := New(Options{URL: "/r.git", Subdir: "./config/"})
	if err != nil || s.ConfigDir() != filepath.Join(s.current, "config") {
		t.Errorf("subdir ./config/: %v %v", s, err)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/cache")
	a := DefaultDir("git@github.com:org/cdn-config.git", "main")
	if want := "/cache/openfront/git/cdn-config-main-"; !strings.HasPrefix(a, want) {
		t.Errorf("DefaultDir = %q, want under %q", a, want)
	}
	if a != DefaultDir("git@github.com:org/cdn-config.git", "main") {
		t.Error("DefaultDir is not stable")
	}
	if a == DefaultDir("git@github.com:org/cdn-config.git", "prod") || a == DefaultDir("https://x/cdn-config.git", "main") {
		t.Error("DefaultDir is the same for another branch or repository")
	}
	// A rotated token is the same repository: the clone, and the commit a
	// restart serves while the remote is down, stay where they are.
	if DefaultDir("https://x-access-token:tok1@github.com/org/cdn-config.git", "main") != DefaultDir("https://x-access-token:tok2@github.com/org/cdn-config.git", "main") ||
		DefaultDir("https://ghp_0123456789abcdefghijklmnopqrstuvwxyz@github.com/org/cdn-config.git", "main") != DefaultDir("https://ghp_zyxwvutsrqponmlkjihgfedcba9876543210@github.com/org/cdn-config.git", "main") {
		t.Error("DefaultDir moves when the URL's token changes")
	}
	if b := DefaultDir("https://github.com/org/cdn-config.git", "main"); !strings.HasSuffix(b, "-2c71a3b7") {
		t.Errorf("DefaultDir of a URL without credentials moved to %s: a node upgraded would clone again", b)
	}
}

// TestHideURLSecretsShortPassword: a short password is hidden where the
// URL holds it, not in every word of git's message.
func TestHideURLSecretsShortPassword(t *testing.T) {
	const msg = "fatal: unable to access 'https://deploy:a@git.example.com/r.git/': The requested URL returned error: 403"
	want := strings.Replace(msg, ":a@", ":xxxxx@", 1)
	if got := hideURLSecrets(msg, "https://deploy:a@git.example.com/r.git"); got != want {
		t.Errorf("hideURLSecrets = %q, want %q", got, want)
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:tok@git.example.com/r.git":                                            "https://user:xxxxx@git.example.com/r.git",
		"https://git.example.com/r.git":                                                     "https://git.example.com/r.git",
		"https://ghp_0123456789abcdefghijklmnopqrstuvwxyz@github.com/o/r.git":               "https://xxxxx@github.com/o/r.git",
		"http://glpat-0123456789abcdefghij@git.example.com/r.git":                           "http://xxxxx@git.example.com/r.git",
		"https://myorg@dev.azure.com/myorg/p/_git/r":                                        "https://myorg@dev.azure.com/myorg/p/_git/r",
		"https://ghp_0123456789abcdefghijklmnopqrstuvwxyz:x-oauth-basic@github.com/o/r.git": "https://xxxxx:xxxxx@github.com/o/r.git",
		"ssh://user:pw@host/r.git":                                                          "ssh://user:xxxxx@host/r.git",
		"ssh://git@host/r.git":                                                              "ssh://git@host/r.git",
		"git@host:org/r.git":                                                                "git@host:org/r.git",
		"/srv/git/r.git":                                                                    "/srv/git/r.git",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// A git killed while it updated the branch's ref (a shutdown or a timeout
// kills git's process group; a crash, a power cut) leaves the ref's lock
// file behind. Git never removes it: every later fetch would fail, across
// restarts, until someone deleted it by hand.
func TestStaleRefLockIsRemoved(t *testing.T) {
	r := newRemote(t)
	r.push("v1", map[string]string{"state.txt": "v1"})
	s, d := newSyncer(t, Options{URL: r.bare, Branch: "main"})
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	lock := filepath.Join(s.repo, "refs", "remotes", "origin", "main.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	r.push("v2", map[string]string{"state.txt": "v2"})
	if err := syncNow(s); err != nil {
		t.Fatalf("fetch after a git was killed: %v", err)
	}
	if served, _ := d.state(); served != "v2" {
		t.Errorf("served %q, want v2", served)
	}
}

// A node that dies while it deploys a bad commit (OOM-killed during the
// compile, a power cut) leaves current pointing at that commit: the
// rollback never ran. On restart that commit fails again, and so does the
// branch's head, but the last good checkout is still on disk: the node
// serves it rather than refusing to start.
func TestRestartAfterCrashDuringBadDeploy(t *testing.T) {
	r := newRemote(t)
	good := r.push("good", map[string]string{"state.txt": "v1"})
	dir := filepath.Join(t.TempDir(), "git")
	s1, _ := newSyncer(t, Options{URL: r.bare, Dir: dir})
	if err := s1.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	bad := r.push("break it", map[string]string{"state.txt": "bad"})
	// What sync does before it deploys, then the crash.
	head, err := s1.fetch(context.Background())
	if err != nil || head != bad {
		t.Fatalf("fetch: %s, %v", head, err)
	}
	co, err := s1.checkout(context.Background(), head)
	if err != nil {
		t.Fatal(err)
	}
	if err := s1.point(co); err != nil {
		t.Fatal(err)
	}
	s1.Close()

	s2, d := newSyncer(t, Options{URL: r.bare, Dir: dir})
	if err := s2.Init(context.Background()); err != nil {
		t.Fatalf("restart after a crash during a bad deploy: %v", err)
	}
	if served, _ := d.state(); served != "v1" {
		t.Errorf("served %q, want v1", served)
	}
	if st := s2.Status(); st.CheckedOut == nil || st.CheckedOut.SHA != good || st.LastRejected == nil || st.LastRejected.SHA != bad {
		t.Errorf("status %+v: want %s checked out, %s rejected", st, good, bad)
	}
	// The head is not tried again on the next poll.
	_, calls := d.state()
	if err := syncNow(s2); err != nil {
		t.Fatal(err)
	}
	if _, again := d.state(); again != calls {
		t.Errorf("the rejected head was deployed again (%d deploys, then %d)", calls, again)
	}
	fixed := r.push("fix it", map[string]string{"state.txt": "v2"})
	if err := syncNow(s2); err != nil {
		t.Fatal(err)
	}
	if served, _ := d.state(); served != "v2" {
		t.Errorf("served %q after the fix %s, want v2", served, fixed)
	}
}

// git and what it starts (ssh) run in a session of their own, without the
// node's controlling terminal: an ssh host-key or password prompt fails at
// once instead of waiting on the operator's terminal until the timeout.
func TestGitRunsWithoutTheNodesTerminal(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "stat")
	script := filepath.Join(dir, "ssh")
	// $$ is the script's shell, started by git as its ssh.
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncat /proc/$$/stat > "+out+"\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_SSH_COMMAND", script)
	s, _ := newSyncer(t, Options{URL: "ssh://git@example.invalid/r.git"})
	if err := s.Init(context.Background()); err == nil {
		t.Fatal("Init over a failing ssh worked")
	}
	stat, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("git did not run ssh: %v", err)
	}
	ssh := procStat(t, stat)
	self, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		t.Fatal(err)
	}
	if ours := procStat(t, self); ssh.session == ours.session {
		t.Errorf("ssh ran in the node's session %s: it can prompt on the node's terminal", ours.session)
	}
	if ssh.tty != "0" {
		t.Errorf("ssh has a controlling terminal (tty_nr %s)", ssh.tty)
	}
}

// procStat reads the session and controlling terminal of a /proc/PID/stat:
// after the command's ")" come state, ppid, pgrp, session and tty_nr.
func procStat(t *testing.T, stat []byte) (s struct{ session, tty string }) {
	t.Helper()
	_, rest, _ := strings.Cut(string(stat), ") ")
	f := strings.Fields(rest)
	if len(f) < 5 {
		t.Fatalf("unreadable stat %q", stat)
	}
	s.session, s.tty = f[3], f[4]
	return s
}

// TestPollDelay: the wait doubles after each failed fetch, with jitter,
// up to maxPollBackoff (or the poll period, when longer), and is the poll
// period again after a success.
func TestPollDelay(t *testing.T) {
	for _, tc := range []struct {
		poll     time.Duration
		failures int
		lo, hi   time.Duration
	}{
		{15 * time.Second, 0, 15 * time.Second, 15 * time.Second},
		{15 * time.Second, 1, 15 * time.Second, 30 * time.Second},
		{15 * time.Second, 3, 60 * time.Second, 120 * time.Second},
		{15 * time.Second, 10, maxPollBackoff / 2, maxPollBackoff},
		{15 * time.Second, 1000, maxPollBackoff / 2, maxPollBackoff},
		{time.Hour, 5, 30 * time.Minute, time.Hour},
	} {
		for range 50 {
			if d := pollDelay(tc.poll, tc.failures); d < tc.lo || d > tc.hi {
				t.Fatalf("pollDelay(%v, %d) = %v, want within [%v, %v]", tc.poll, tc.failures, d, tc.lo, tc.hi)
			}
		}
	}
}

// TestRunBacksOffWhileTheRemoteFails: with the remote gone, Run fetches
// less and less often; once it is back, a trigger fetches at once and the
// polls are every Poll again.
func TestRunBacksOffWhileTheRemoteFails(t *testing.T) {
	r := newRemote(t)
	r.push("v1", map[string]string{"state.txt": "v1"})
	const poll = 20 * time.Millisecond
	s, d := newSyncer(t, Options{URL: r.bare, Poll: poll})
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	moved := r.bare + ".away"
	os.Rename(r.bare, moved)
	errc := make(chan error, 1)
	go func() { errc <- s.Run(context.Background()) }()
	// Without backoff, 1.2 s of 20 ms polls is some 40 fetches (git takes
	// a few ms); with it, waits of 20–40, 40–80, ... ms: at most 7.
	time.Sleep(1200 * time.Millisecond)
	failed := s.Status().FetchFailures
	if failed < 2 || failed > 8 {
		t.Errorf("%d failed fetches in 1.2 s of 20 ms polls; want backoff: 2 to 8", failed)
	}
	os.Rename(moved, r.bare)
	r.push("v2", map[string]string{"state.txt": "v2"})
	s.Trigger()
	eventually(t, 5*time.Second, "v2 deployed after the trigger", func() bool { served, _ := d.state(); return served == "v2" })
	r.push("v3", map[string]string{"state.txt": "v3"})
	eventually(t, 5*time.Second, "v3 deployed by polling", func() bool { served, _ := d.state(); return served == "v3" })
	s.Close()
	if err := <-errc; err != nil {
		t.Errorf("Run: %v", err)
	}
}

// A token in the URL never reaches the logs or /status, whether the URL
// holds it as a password or as the user alone (https://TOKEN@github.com/),
// also when git's own message quotes the URL: git says "could not read
// Password for 'https://TOKEN@host'" when a server wants one.
func TestURLSecretNeverShown(t *testing.T) {
	requireGit(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="git"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	const secret = "ghp_s3cretT0ken0123456789abcdef"
	for _, url := range []string{
		"http://" + secret + "@" + host + "/o/r.git",
		"http://x-access-token:" + secret + "@" + host + "/o/r.git",
		"http://" + secret + ":x-oauth-basic@" + host + "/o/r.git",
	} {
		var logs bytes.Buffer
		s, err := New(Options{URL: url, Dir: filepath.Join(t.TempDir(), "git"), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		if err != nil {
			t.Fatal(err)
		}
		err = s.Init(context.Background())
		s.Close()
		if err == nil {
			t.Fatalf("%s: Init worked against a server that refuses everyone", url)
		}
		st, _ := json.Marshal(s.Status())
		for what, text := range map[string]string{"error": err.Error(), "log": logs.String(), "status": string(st)} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s shows the token of %s:\n%s", what, url, text)
			}
		}
		if !strings.Contains(err.Error(), host) {
			t.Errorf("the error does not say which server: %v", err)
		}
	}
}

// A submodule inside the config directory is not checked out (a git
// worktree leaves it an empty directory): its files would be missing from
// the config served, while CI, which checks submodules out, vetted them.
// Such a commit is refused, naming the submodule; one outside the config
// directory, or in a directory the compiler skips, is deployed.
func TestSubmoduleInConfigIsRefused(t *testing.T) {
	r := newRemote(t)
	r.push("v1", map[string]string{"config/state.txt": "v1"})
	s, d := newSyncer(t, Options{URL: r.bare, Subdir: "config"})
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	gitlink := func(path, state string) string {
		t.Helper()
		// Any commit will do as the submodule's: git never fetches it.
		sha := run(t, r.work, "rev-parse", "HEAD")
		// Its directory, as a clone without the submodule has: else
		// push's add -A drops it.
		if err := os.MkdirAll(filepath.Join(r.work, path), 0o755); err != nil {
			t.Fatal(err)
		}
		run(t, r.work, "update-index", "--add", "--cacheinfo", "160000,"+sha+","+path)
		return r.push("submodule "+path, map[string]string{"config/state.txt": state})
	}

	gitlink("docs/theme", "v2")
	gitlink("config/testdata/fixtures", "v3")
	if err := syncNow(s); err != nil {
		t.Fatalf("a submodule outside what the compiler reads: %v", err)
	}
	if served, _ := d.state(); served != "v3" {
		t.Errorf("served %q, want v3", served)
	}
	if tree := run(t, r.work, "ls-tree", "-r", "HEAD"); !strings.Contains(tree, "160000 commit") {
		t.Fatalf("the test's commit has no submodule:\n%s", tree)
	}

	bad := gitlink("config/shared", "v4")
	err := syncNow(s)
	if err == nil {
		t.Fatal("a commit with a submodule in the config directory was deployed")
	}
	if served, _ := d.state(); served != "v3" {
		t.Errorf("served %q, want v3 still", served)
	}
	rj := s.Status().LastRejected
	if rj == nil || rj.SHA != bad || !strings.Contains(rj.Message, "config/shared") || !strings.Contains(rj.Message, "submodule") {
		t.Errorf("last rejected %+v, want commit %s naming submodule config/shared", rj, bad)
	}
}

// A repository whose history holds large files (a site's assets, since
// removed): a node fetches the branch's head, not its history, so that
// its first start is not a clone of everything the repository ever held,
// bounded by the git timeout and retried from nothing when it runs out.
func TestHistoryIsNotFetched(t *testing.T) {
	r := newRemote(t)
	big := make([]byte, 8<<20)
	rand.Read(big) // incompressible
	r.push("assets", map[string]string{"state.txt": "v1", "assets.bin": string(big)})
	r.push("assets gone", map[string]string{"state.txt": "v2", "assets.bin": ""})
	s, d := newSyncer(t, Options{URL: r.bare})
	if err := s.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	if served, _ := d.state(); served != "v2" {
		t.Fatalf("served %q", served)
	}
	var size int64
	filepath.WalkDir(s.repo, func(path string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() {
			if fi, err := e.Info(); err == nil {
				size += fi.Size()
			}
		}
		return nil
	})
	if size > 1<<20 {
		t.Errorf("the clone takes %d bytes: it holds the history's %d-byte file", size, len(big))
	}
	// The next commits, a force push among them, deploy as before.
	r.push("v3", map[string]string{"state.txt": "v3"})
	if err := syncNow(s); err != nil {
		t.Fatal(err)
	}
	run(t, r.work, "reset", "--quiet", "--hard", "HEAD~2")
	run(t, r.work, "commit", "--quiet", "--allow-empty", "-m", "rewritten")
	run(t, r.work, "push", "--quiet", "--force", "origin", "HEAD:main")
	if err := syncNow(s); err != nil {
		t.Fatal(err)
	}
	if served, _ := d.state(); served != "v1" {
		t.Errorf("served %q after the force push, want v1", served)
	}
}
