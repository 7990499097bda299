// Package gitsync deploys a config from a git branch (serve --git). It
// keeps a bare clone of the branch, fetches it on a timer and on demand (a
// webhook), checks each new commit out into a fresh directory and, only
// once that checkout is complete, re-points the symlink DIR/current at it.
// A Deploy hook then compiles and applies what current holds. A commit the
// hook rejects is rolled back: current goes back to the last good checkout,
// so that current always names what is being served, across restarts too,
// and local-directory origins never read the tree of a rejected commit.
//
// Layout of Dir:
//
//	repo.git/          bare clone; the branch is fetched to refs/remotes/origin/BRANCH
//	checkouts/SHA-N/   one git worktree per commit (detached), never half-written when linked
//	current -> checkouts/SHA-N
//	good -> checkouts/SHA-N    the last commit deployed: what a restart falls back on
//	lock               held while a Syncer uses Dir
//
// It drives the git binary rather than go-git: the binary brings every
// transport and credential source a node may be set up with (ssh agent,
// ~/.ssh/config and known_hosts, GIT_SSH_COMMAND, credential helpers,
// proxies, insteadOf rewrites) with nothing to configure here, and git
// worktree gives each commit its own directory with a .git file from which
// the compiler reads the commit it serves.
package gitsync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"openfront.dev/compiler"
)

// Options configure a Syncer.
type Options struct {
	// URL is the repository: a local path, file://, https:// (a token in
	// the URL, or a credential helper), ssh:// or scp-style user@host:path
	// (the ssh agent, ~/.ssh, GIT_SSH_COMMAND). Git finds the credentials
	// in the environment, as it does for a person.
	URL string
	// Branch is the branch deployed. Default "main".
	Branch string
	// Dir holds the clone and the checkouts. Default DefaultDir(URL, Branch).
	Dir string
	// Subdir is the config directory inside the repository; "" is its root.
	Subdir string
	// Poll is how often the branch is fetched. Default 15s; negative: only
	// when triggered (webhooks, Retry). After failed fetches the wait
	// doubles, up to maxPollBackoff (see pollDelay).
	Poll time.Duration
	// Keep is how many checkouts stay on disk, the current one included:
	// what still reads the previous one (a request, a compile) finishes on
	// it. Default 3, at least 2.
	Keep int
	// Timeout bounds each git command. Default 5m.
	Timeout time.Duration
	// Deploy compiles and applies what ConfigDir holds, once current points
	// at a new checkout. An error rejects the commit: current goes back to
	// the last good checkout and Deploy runs again. A compiler.Errors error
	// is shown per file:line:col, relative to the repository.
	Deploy func() error
	Logger *slog.Logger
	// Git is the git binary. Default "git", looked up in PATH.
	Git string
}

// Status is what the syncer has done, for /status.
type Status struct {
	URL    string `json:"url"` // without a password or token
	Branch string `json:"branch"`
	Subdir string `json:"subdir,omitempty"`
	Dir    string `json:"dir"`
	// Head is the branch's commit at the last fetch that worked.
	Head string `json:"head,omitempty"`
	// CheckedOut is the commit DIR/current points at: the one served, or
	// the one being deployed.
	CheckedOut *Commit `json:"checkedOut,omitempty"`
	// Applied is the served table's source commit. The node fills it in;
	// it differs from CheckedOut while a deploy runs.
	Applied string `json:"applied,omitempty"`
	// LastFetch is when the branch was last fetched, whatever the outcome.
	LastFetch time.Time `json:"lastFetch,omitzero"`
	// LastFetchOK is when a fetch last worked.
	LastFetchOK time.Time `json:"lastFetchOK,omitzero"`
	// FetchError is why the last fetch, or the checkout after it, failed;
	// empty once one works again.
	FetchError    string `json:"fetchError,omitempty"`
	Fetches       int    `json:"fetches"`
	FetchFailures int    `json:"fetchFailures"`
	Deploys       int    `json:"deploys"` // commits applied since start
	// LastRejected is the last commit Deploy refused. It stays after a
	// later good commit (compare the times).
	LastRejected *Rejected `json:"lastRejected,omitempty"`
	// Checkouts are the commits kept on disk, current first.
	Checkouts []string `json:"checkouts,omitempty"`
}

// Commit is a commit and when the syncer did something with it.
type Commit struct {
	SHA     string    `json:"sha"`
	Subject string    `json:"subject,omitempty"`
	At      time.Time `json:"at"`
}

// Rejected is a commit that was not deployed, and why.
type Rejected struct {
	Commit
	Message string    `json:"message"` // the whole error, one problem per line
	Errors  []Problem `json:"errors,omitempty"`
}

// Problem is one compiler error, its file relative to the repository root.
type Problem struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
	Msg  string `json:"msg"`
}

func (p Problem) String() string {
	return compiler.Error(p).Error()
}

// checkout is one worktree under checkouts/.
type checkout struct {
	name    string // directory name: SHA-N
	commit  string
	subject string
	at      time.Time // when current was pointed at it
}

// Syncer keeps Dir/current at the last good commit of a branch.
type Syncer struct {
	opts    Options
	log     *slog.Logger
	dir     string // absolute
	repo    string // dir/repo.git
	current string // dir/current
	goodLn  string // dir/good
	url     string // redacted, for status and errors

	lock *os.File

	mu       sync.Mutex // serializes syncs; guards what follows
	good     *checkout  // deployed and served
	kept     []checkout // on disk, newest first; good is kept[0]
	rejected string     // the last rejected commit, not retried until Retry

	statusMu sync.Mutex
	status   Status

	ctx     context.Context // ends on Close
	cancel  context.CancelFunc
	wake    chan struct{}
	retry   atomic.Bool
	started atomic.Bool
	done    chan struct{}
}

// New checks the options and returns a Syncer; it touches nothing on disk
// until Init.
func New(opts Options) (*Syncer, error) {
	if opts.URL == "" {
		return nil, errors.New("gitsync: a repository URL is required")
	}
	if strings.HasPrefix(opts.URL, "-") {
		return nil, fmt.Errorf("gitsync: repository URL %q starts with '-'", opts.URL)
	}
	if opts.Branch == "" {
		opts.Branch = "main"
	}
	if strings.HasPrefix(opts.Branch, "-") || strings.ContainsAny(opts.Branch, " \t\n:^~?*[\\") {
		return nil, fmt.Errorf("gitsync: %q is not a branch name", opts.Branch)
	}
	if opts.Subdir != "" {
		opts.Subdir = filepath.Clean(opts.Subdir)
		if !filepath.IsLocal(opts.Subdir) {
			return nil, fmt.Errorf("gitsync: subdirectory %q is not inside the repository", opts.Subdir)
		}
		if opts.Subdir == "." {
			opts.Subdir = ""
		}
	}
	if opts.Dir == "" {
		opts.Dir = DefaultDir(opts.URL, opts.Branch)
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("gitsync: %w", err)
	}
	if opts.Poll == 0 {
		opts.Poll = 15 * time.Second
	}
	if opts.Keep == 0 {
		opts.Keep = 3
	}
	opts.Keep = max(opts.Keep, 2)
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Minute
	}
	if opts.Git == "" {
		opts.Git = "git"
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Syncer{
		opts:    opts,
		dir:     dir,
		repo:    filepath.Join(dir, "repo.git"),
		current: filepath.Join(dir, "current"),
		goodLn:  filepath.Join(dir, "good"),
		url:     redactURL(opts.URL),
		wake:    make(chan struct{}, 1),
		done:    make(chan struct{}),
	}
	s.log = opts.Logger.With("git", s.url, "branch", opts.Branch)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.status = Status{URL: s.url, Branch: opts.Branch, Subdir: opts.Subdir, Dir: dir}
	return s, nil
}

// ConfigDir is the config directory to compile: Dir/current, plus Subdir.
// It exists once Init has returned.
func (s *Syncer) ConfigDir() string {
	return filepath.Join(s.current, s.opts.Subdir)
}

// Init prepares Dir and deploys a first commit: the one current pointed at
// when the node last ran, if it still deploys (a restart serves at once,
// without waiting for the remote; Run fetches next), else the branch's
// head. It fails when no commit could be deployed.
func (s *Syncer) Init(ctx context.Context) error {
	if _, err := s.git(ctx, "version"); err != nil {
		return fmt.Errorf("gitsync: serving from git needs the git binary: %w", err)
	}
	if _, err := s.git(ctx, "check-ref-format", "refs/heads/"+s.opts.Branch); err != nil {
		return fmt.Errorf("gitsync: %q is not a branch name", s.opts.Branch)
	}
	if err := os.MkdirAll(filepath.Join(s.dir, "checkouts"), 0o755); err != nil {
		return fmt.Errorf("gitsync: %w", err)
	}
	if err := s.lockDir(); err != nil {
		return err
	}
	// Re-initializing an existing repository is safe: git keeps it as is.
	if _, err := s.git(ctx, "init", "--bare", "--quiet", s.repo); err != nil {
		return fmt.Errorf("gitsync: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if co, ok := s.readLink(ctx, s.current); ok {
		s.setCheckedOut(co)
		err := s.deploy()
		if err == nil {
			s.deployed(co)
			s.gc(ctx) // what a run before left behind
			s.log.Info("serving the commit checked out before", "commit", co.commit)
			return nil
		}
		// The node stopped while it deployed co (killed during the
		// compile, a power cut): the rollback never ran, but the last
		// commit deployed is still on disk.
		if good, ok := s.readLink(ctx, s.goodLn); ok && good.commit != co.commit && s.point(good) == nil {
			s.setCheckedOut(good)
			if gerr := s.deploy(); gerr == nil {
				s.deployed(good)
				r := s.rejection(co, err)
				s.updateStatus(func(st *Status) { st.LastRejected = r })
				s.gc(ctx) // co's checkout included
				s.log.Info("serving the last commit deployed: the one checked out when the node stopped does not deploy", "commit", good.commit, "rejected", co.commit)
				return nil
			}
		}
		s.log.Warn("the commit checked out before does not deploy; fetching", "commit", co.commit, "error", s.inRepo(err))
	}
	if err := s.sync(ctx, true); err != nil {
		return err
	}
	if s.good == nil {
		return fmt.Errorf("gitsync: nothing deployed from %s %s", s.url, s.opts.Branch)
	}
	return nil
}

// Run fetches now and then every Poll, and whenever triggered, until ctx
// is done or Close is called.
func (s *Syncer) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("gitsync: Run called twice")
	}
	defer close(s.done)
	stop := context.AfterFunc(ctx, s.cancel)
	defer stop()
	var timer *time.Timer
	var tick <-chan time.Time
	if s.opts.Poll > 0 {
		timer = time.NewTimer(s.opts.Poll)
		defer timer.Stop()
		tick = timer.C
	}
	failures := 0 // fetches in a row that failed
	for {
		s.mu.Lock()
		s.sync(s.ctx, s.retry.Swap(false)) // errors are logged and in Status
		s.mu.Unlock()
		if s.Status().FetchError != "" {
			failures++
		} else {
			failures = 0
		}
		if timer != nil {
			timer.Reset(pollDelay(s.opts.Poll, failures))
		}
		select {
		case <-s.ctx.Done():
			return nil
		case <-tick:
		case <-s.wake:
		}
	}
}

// maxPollBackoff bounds the wait after fetches that failed.
const maxPollBackoff = 5 * time.Minute

// pollDelay is the wait before the next fetch: poll, doubled after each
// failure in a row up to maxPollBackoff, with jitter then, so that a
// fleet of nodes does not hammer a git server that is down, all at once
// when it comes back. A webhook or a reload still fetches at once.
func pollDelay(poll time.Duration, failures int) time.Duration {
	if failures == 0 {
		return poll
	}
	limit, d := max(poll, maxPollBackoff), poll
	for range failures {
		if d >= limit/2 {
			d = limit
			break
		}
		d *= 2
	}
	return d/2 + rand.N(d/2+1)
}

// Trigger has Run fetch now (a webhook). It does not wait; triggers that
// come while a fetch runs make one more fetch after it.
func (s *Syncer) Trigger() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Retry is Trigger that also deploys again a head that was rejected (it
// may have failed for a node-local reason since fixed, a certificate).
func (s *Syncer) Retry() {
	s.retry.Store(true)
	s.Trigger()
}

// Close stops Run, waits for it, and releases Dir.
func (s *Syncer) Close() error {
	s.cancel()
	if s.started.Load() {
		<-s.done
	}
	if s.lock != nil {
		s.lock.Close() // releases the flock
		s.lock = nil
	}
	return nil
}

// Status reports the syncer's state. It does not wait for a fetch.
func (s *Syncer) Status() Status {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	st := s.status
	st.Checkouts = append([]string(nil), st.Checkouts...)
	return st
}

func (s *Syncer) updateStatus(f func(*Status)) {
	s.statusMu.Lock()
	defer s.statusMu.Unlock()
	f(&s.status)
}

// sync fetches the branch and deploys its head if it is new. s.mu is held.
func (s *Syncer) sync(ctx context.Context, retry bool) error {
	head, err := s.fetch(ctx)
	now := time.Now()
	if err != nil {
		// Once per new error: a remote down for hours is not a line per poll.
		if prev := s.Status().FetchError; prev != err.Error() {
			s.log.Error("fetch failed; "+s.serving(), "error", err)
		} else {
			s.log.Debug("fetch failed again", "error", err)
		}
		s.updateStatus(func(st *Status) {
			st.LastFetch, st.FetchError = now, err.Error()
			st.Fetches++
			st.FetchFailures++
		})
		return err
	}
	s.updateStatus(func(st *Status) {
		st.LastFetch, st.LastFetchOK, st.FetchError, st.Head = now, now, "", head
		st.Fetches++
	})
	if s.good != nil && s.good.commit == head {
		return nil
	}
	if head == s.rejected && !retry {
		return nil // a new push, or Retry, deploys again
	}
	if err := s.checkSubmodules(ctx, head); err != nil {
		// Refused before current moves: the watcher never sees the tree.
		co := checkout{commit: head, subject: s.subject(ctx, head), at: time.Now()}
		r := s.rejection(co, err)
		s.updateStatus(func(st *Status) { st.LastRejected = r })
		return err
	}
	co, err := s.checkout(ctx, head)
	if err != nil {
		s.log.Error("checkout failed; "+s.serving(), "commit", head, "error", err)
		s.updateStatus(func(st *Status) { st.FetchError = err.Error() })
		return err
	}
	if err := s.point(co); err != nil {
		s.remove(ctx, co)
		s.updateStatus(func(st *Status) { st.FetchError = err.Error() })
		return err
	}
	co.at, co.subject = time.Now(), s.subject(ctx, co.commit)
	s.setCheckedOut(co)
	start := time.Now()
	if err := s.deploy(); err != nil {
		s.reject(ctx, co, err)
		return err
	}
	s.deployed(co)
	s.log.Info("commit deployed", "commit", head, "took", time.Since(start).Round(time.Millisecond))
	s.gc(ctx)
	return nil
}

// serving says what serves while a change fails. s.mu is held.
func (s *Syncer) serving() string {
	if s.good == nil {
		return "no commit deployed yet" // Init fails: the node does not start
	}
	return "the last good commit keeps serving"
}

func (s *Syncer) deploy() error {
	// A config at the wrong place in the repository, said as such rather
	// than as the compiler's first failed lstat.
	if s.opts.Subdir != "" {
		if fi, err := os.Stat(s.ConfigDir()); err != nil || !fi.IsDir() {
			return fmt.Errorf("the commit has no directory %q (the config's directory in the repository, serve --git-subdir)", filepath.ToSlash(s.opts.Subdir))
		}
	}
	if s.opts.Deploy == nil {
		return nil
	}
	return s.opts.Deploy()
}

// deployed records co as served. s.mu is held.
func (s *Syncer) deployed(co checkout) {
	s.good, s.rejected = &co, ""
	if err := s.link(s.goodLn, co); err != nil {
		s.log.Warn("record the commit deployed", "error", err)
	}
	kept := []checkout{co}
	for _, k := range s.kept {
		if k.name != co.name {
			kept = append(kept, k)
		}
	}
	s.kept = kept
	s.updateStatus(func(st *Status) { st.Deploys++ })
}

// reject moves current back to the last good checkout, deletes co, and
// then records why co failed: whoever sees the rejection in Status sees
// the rollback done. s.mu is held.
func (s *Syncer) reject(ctx context.Context, co checkout, err error) {
	r := s.rejection(co, err)
	defer s.updateStatus(func(st *Status) { st.LastRejected = r })
	if s.good == nil {
		return // nothing to go back to (the first commit of a node): Init fails
	}
	if err := s.point(*s.good); err != nil {
		s.log.Error("could not point current back at the last good commit", "error", err)
		return
	}
	s.setCheckedOut(*s.good)
	// The table in memory never changed; this re-syncs the reloader with
	// the files (and its watches with the directory).
	if err := s.deploy(); err != nil {
		s.log.Error("the last good commit no longer compiles; its table keeps serving", "commit", s.good.commit, "error", s.inRepo(err))
	}
	s.remove(ctx, co)
}

// rejection records co as rejected for err, and logs it. s.mu is held.
func (s *Syncer) rejection(co checkout, err error) *Rejected {
	r := &Rejected{Commit: Commit{SHA: co.commit, Subject: co.subject, At: time.Now()}}
	r.Message = s.inRepo(err)
	if errs, ok := errors.AsType[compiler.Errors](err); ok {
		for _, e := range errs {
			if rel, err := filepath.Rel(s.current, e.File); err == nil && filepath.IsLocal(rel) {
				e.File = filepath.ToSlash(rel)
			}
			r.Errors = append(r.Errors, Problem(e))
		}
	}
	s.rejected = co.commit
	for _, line := range strings.Split(r.Message, "\n") {
		s.log.Error("commit rejected; "+s.serving(), "commit", co.commit, "error", line)
	}
	return r
}

// inRepo is err's message with the checkout's paths made relative to the
// repository: the user's, which outlive the checkout.
func (s *Syncer) inRepo(err error) string {
	return strings.ReplaceAll(err.Error(), s.current+string(filepath.Separator), "")
}

// InRepo is a path under the checkout (a compile warning's file) made
// relative to the repository, as a rejected commit's errors are.
func (s *Syncer) InRepo(path string) string {
	return strings.TrimPrefix(path, s.current+string(filepath.Separator))
}

// fetch brings the branch's head into the clone and returns its commit.
func (s *Syncer) fetch(ctx context.Context) (string, error) {
	ref := "refs/remotes/origin/" + s.opts.Branch
	// A git killed while it updated the ref (a shutdown or a timeout kills
	// its process group; a crash, a power cut) leaves the ref's lock, which
	// git never removes: every fetch would fail on it from then on. No git
	// runs on the clone now (s.mu, and the Dir lock): the lock is stale.
	if err := os.Remove(filepath.Join(s.repo, filepath.FromSlash(ref)+".lock")); err == nil {
		s.log.Warn("removed the lock a killed git left on the branch's ref", "ref", ref)
	}
	// gc.autoDetach=false: a gc that fetch starts runs inside the command,
	// bounded by its timeout, rather than in a process left behind.
	// --depth 1: the head is what is deployed; the history, with every
	// large file it ever held, would make a first start a full clone.
	fetch := []string{"-c", "gc.autoDetach=false", "fetch", "--quiet", "--no-tags", "--no-recurse-submodules", "--depth", "1",
		s.opts.URL, "+refs/heads/" + s.opts.Branch + ":" + ref}
	_, err := s.git(ctx, fetch...)
	if err != nil && strings.Contains(err.Error(), "does not support shallow") {
		// A dumb HTTP remote (a repository served as plain files).
		_, err = s.git(ctx, slices.Delete(fetch, 6, 8)...)
	}
	if err != nil {
		return "", err
	}
	out, err := s.git(ctx, "rev-parse", "--verify", "--quiet", ref+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("branch %s: %w", s.opts.Branch, err)
	}
	return strings.TrimSpace(out), nil
}

// checkSubmodules refuses a commit with a submodule where the compiler
// reads: a worktree leaves a submodule an empty directory, so the config
// served would lack its files, which a CI checkout (submodules included)
// vetted.
func (s *Syncer) checkSubmodules(ctx context.Context, commit string) error {
	args := []string{"ls-tree", "-r", "-z", commit}
	if s.opts.Subdir != "" {
		args = append(args, "--", filepath.ToSlash(s.opts.Subdir))
	}
	out, err := s.git(ctx, args...)
	if err != nil {
		return fmt.Errorf("list %s: %w", commit, err)
	}
	var found []string
	for entry := range strings.SplitSeq(out, "\x00") {
		meta, path, ok := strings.Cut(entry, "\t")
		if !ok || !strings.HasPrefix(meta, "160000 ") { // a gitlink
			continue
		}
		rel := strings.TrimPrefix(path, filepath.ToSlash(s.opts.Subdir)+"/")
		if !slices.ContainsFunc(strings.Split(rel, "/"), compiler.IgnoredDir) {
			found = append(found, path)
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("%s: a git submodule in the config directory, which serve --git does not check out: the config would be served without its files; commit them into the repository", strings.Join(found, ", "))
	}
	return nil
}

// checkout writes commit into a new directory. Nothing points at it yet: a
// failed or interrupted checkout is never served, and gc removes it.
func (s *Syncer) checkout(ctx context.Context, commit string) (checkout, error) {
	co := checkout{name: commit + "-" + strconv.FormatInt(time.Now().UnixNano(), 36), commit: commit}
	path := filepath.Join(s.dir, "checkouts", co.name)
	if _, err := s.git(ctx, "worktree", "add", "--detach", "--quiet", path, commit); err != nil {
		s.remove(ctx, co)
		return checkout{}, fmt.Errorf("check out %s: %w", commit, err)
	}
	return co, nil
}

// point re-points current at co: a new link is made beside it and renamed
// over it, so that current is always a whole checkout, old or new.
func (s *Syncer) point(co checkout) error { return s.link(s.current, co) }

// link points the link at co, atomically.
func (s *Syncer) link(link string, co checkout) error {
	tmp := filepath.Join(s.dir, "."+filepath.Base(link)+".tmp")
	os.Remove(tmp)
	if err := os.Symlink(filepath.Join("checkouts", co.name), tmp); err != nil {
		return fmt.Errorf("gitsync: link %s: %w", filepath.Base(link), err)
	}
	if err := os.Rename(tmp, link); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("gitsync: link %s: %w", filepath.Base(link), err)
	}
	return nil
}

// readLink returns the checkout link (current, good) points at, if it is one.
func (s *Syncer) readLink(ctx context.Context, link string) (checkout, bool) {
	target, err := os.Readlink(link)
	if err != nil {
		return checkout{}, false
	}
	name := filepath.Base(target)
	if filepath.Dir(target) != "checkouts" {
		return checkout{}, false
	}
	commit, _, ok := strings.Cut(name, "-")
	if !ok {
		return checkout{}, false
	}
	fi, err := os.Lstat(link)
	if err != nil {
		return checkout{}, false
	}
	if _, err := os.Stat(filepath.Join(s.dir, "checkouts", name, ".git")); err != nil {
		return checkout{}, false
	}
	return checkout{name: name, commit: commit, subject: s.subject(ctx, commit), at: fi.ModTime()}, true
}

func (s *Syncer) setCheckedOut(co checkout) {
	c := &Commit{SHA: co.commit, Subject: co.subject, At: co.at}
	s.updateStatus(func(st *Status) { st.CheckedOut = c })
}

// subject is the first line of commit's message, for people.
func (s *Syncer) subject(ctx context.Context, commit string) string {
	out, err := s.git(ctx, "show", "--no-patch", "--format=%s", commit)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(out)
}

// gc deletes checkouts beyond Keep and any directory under checkouts/ that
// is not a kept checkout: the leftovers of an interrupted checkout, of a
// run before a restart. s.mu is held.
func (s *Syncer) gc(ctx context.Context) {
	if len(s.kept) > s.opts.Keep {
		s.kept = s.kept[:s.opts.Keep]
	}
	keep := map[string]bool{}
	var commits []string
	for _, k := range s.kept {
		keep[k.name] = true
		commits = append(commits, k.commit)
	}
	s.updateStatus(func(st *Status) { st.Checkouts = commits })
	entries, err := os.ReadDir(filepath.Join(s.dir, "checkouts"))
	if err != nil {
		s.log.Warn("list checkouts", "error", err)
		return
	}
	removed := false
	for _, e := range entries {
		if !keep[e.Name()] {
			os.RemoveAll(filepath.Join(s.dir, "checkouts", e.Name()))
			removed = true
		}
	}
	if removed {
		s.prune(ctx)
	}
}

// remove deletes one checkout and its worktree record.
func (s *Syncer) remove(ctx context.Context, co checkout) {
	if err := os.RemoveAll(filepath.Join(s.dir, "checkouts", co.name)); err != nil {
		s.log.Warn("remove checkout", "error", err)
	}
	s.prune(ctx)
}

// prune drops the clone's records of worktrees whose directory is gone.
func (s *Syncer) prune(ctx context.Context) {
	if _, err := s.git(ctx, "worktree", "prune"); err != nil && ctx.Err() == nil {
		s.log.Warn("git worktree prune", "error", err)
	}
}

// lockDir takes Dir for this process: two nodes sharing a Dir would move
// each other's current link and delete each other's checkouts.
func (s *Syncer) lockDir() error {
	if s.lock != nil {
		return nil
	}
	f, err := os.OpenFile(filepath.Join(s.dir, "lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("gitsync: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return fmt.Errorf("gitsync: %s is in use by another openfront serve: %w", s.dir, err)
	}
	s.lock = f
	return nil
}
