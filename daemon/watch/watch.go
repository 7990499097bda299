// Package watch reloads a config directory when it changes: it watches the
// directory tree with fsnotify, debounces bursts of events, recompiles, and
// hands each new table to Apply, keeping the last good one when a compile
// fails. A periodic content hash catches what the watcher missed.
//
// It copes with what real tools do to a directory: editors that write a
// temporary file and rename it over the original, deletes and re-creates,
// a git checkout of hundreds of files, a Kubernetes ConfigMap's ..data
// symlink swap, a git-sync "current" link re-pointed at a new checkout, and
// a config file that is a link to a file edited elsewhere.
package watch

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"

	"openfront.dev/compiler"
	"openfront.dev/compiler/table"
)

// Options configure a Reloader.
type Options struct {
	// Dir is the config directory, as the user named it. It may be a
	// symlink, or hold symlinks, that get re-pointed.
	Dir string
	// File is a compiled table artifact to watch instead of Dir (serve
	// --table). It may be a symlink too.
	File string
	// Debounce is how long the tree must stay quiet after an event before
	// a compile starts (trailing edge): one compile for a whole checkout.
	// Events that never pause still compile every 50×Debounce (10 s by
	// default): long enough for a checkout of thousands of files to end
	// before its tree is compiled. Default 200ms.
	Debounce time.Duration
	// Rehash is how often the tree's content hash is checked for changes
	// the watcher missed. Default 30s; negative disables the check.
	Rehash time.Duration
	// Logger gets one line per reload and one per config error.
	Logger *slog.Logger
	// Registry, if set, gets the openfront_config_* metrics.
	Registry prometheus.Registerer
	// Compile builds a table, and gives the config's warnings (what vet
	// prints but a node serves). Default: for Dir, a compiler.Compiler kept
	// across reloads so that recompiles are incremental; for File,
	// compiler.LoadArtifact, which rejects a truncated, corrupt or
	// hash-mismatched artifact and one whose config vet would refuse.
	Compile func() (*table.Table, compiler.Errors, error)
	// Check, if set, vets a compiled table against what this node has
	// (a geo database for geo-restricted distributions, say); an error
	// rejects the table like a compile error.
	Check func(*table.Table) error
	// CheckDirs hold files Check reads (the node's --certs): while Check
	// refuses the config, a file landing in one retries it at once
	// rather than at the next rehash.
	CheckDirs []string
	// Apply serves a new table. It is called once per successful reload
	// whose table differs from the one applied (version or source), and on
	// every successful Reload; never concurrently.
	Apply func(*table.Table)
}

// Status is what the reloader has done, for /status.
type Status struct {
	Path      string    `json:"path"`              // Dir or File
	Version   string    `json:"version,omitempty"` // of the applied table
	Commit    string    `json:"commit,omitempty"`  // the applied table's source commit
	AppliedAt time.Time `json:"appliedAt,omitzero"`
	// LastError is the last rejected change; it stays after a later good
	// change (compare At with AppliedAt, or read Failing).
	LastError *ReloadError `json:"lastError,omitempty"`
	// Failing is true while the config on disk does not compile: what is
	// served is older than the files.
	Failing  bool `json:"failing"`
	Reloads  int  `json:"reloads"`  // successful compiles
	Failures int  `json:"failures"` // failed compiles
	// Warnings are the last successful compile's: what the config should
	// change though it is served, as openfront vet prints them.
	Warnings []Problem `json:"warnings,omitempty"`
}

// Problem is a compiler's error or warning, in /status's camelCase.
type Problem struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
	Msg  string `json:"msg"`
}

// String is the problem as vet prints it: file:line:col: message.
func (p Problem) String() string { return compiler.Error(p).Error() }

func problems(errs compiler.Errors) []Problem {
	var ps []Problem
	for _, e := range errs {
		ps = append(ps, Problem(e))
	}
	return ps
}

// ReloadError is a rejected change. Do not modify it: Status shares it.
type ReloadError struct {
	At      time.Time `json:"at"`
	Reason  string    `json:"reason"`  // what triggered the reload: start, watch, rehash, reload
	Message string    `json:"message"` // the whole error, one problem per line
	// Errors are the compiler's positioned errors (file:line:col), when
	// the error came from the compiler.
	Errors []compiler.Error `json:"errors,omitempty"`
}

// MarshalJSON spells the compiler's errors in /status's camelCase.
func (e *ReloadError) MarshalJSON() ([]byte, error) {
	type reloadError ReloadError // without this method
	return json.Marshal(struct {
		*reloadError
		Errors []Problem `json:"errors,omitempty"`
	}{(*reloadError)(e), problems(e.Errors)})
}

// Reloader watches a config directory and applies what it compiles to.
type Reloader struct {
	opts    Options
	log     *slog.Logger
	compile func() (*table.Table, compiler.Errors, error)
	m       *metrics
	path    string // Dir or File
	file    bool   // watching a table artifact

	mu      sync.Mutex // serializes reloads and guards what follows
	sum     [32]byte   // fingerprint of the tree at the last compile
	hashed  bool
	current *table.Table
	// warned are the warnings logged, as file: message: a warning is
	// logged when it appears, not again at each reload that still has it.
	warned  map[string]bool
	settled [32]byte // the tree of a dropped compile: see unsettled
	// refused: Check rejected the tree at sum, for a reason of the node's
	// (a certificate missing from --certs): the rehash tries it again.
	refused atomic.Bool

	statusMu sync.Mutex
	status   Status

	poke      chan struct{} // Reload asks the loop to re-sync its watches
	closed    chan struct{}
	closeOnce sync.Once
	started   atomic.Bool
	done      chan struct{}

	// dropEvents makes the loop ignore fsnotify, as if it lost every event
	// (tests of the rehash).
	dropEvents atomic.Bool
	ready      chan struct{} // closed once Run watches (tests)
}

// New returns a Reloader. It compiles nothing: call Reload for the first
// table (and to fail start-up on a bad config), then Run.
func New(opts Options) (*Reloader, error) {
	if (opts.Dir == "") == (opts.File == "") {
		return nil, errors.New("watch: one of a config directory or a table file is required")
	}
	if opts.Apply == nil {
		return nil, errors.New("watch: an Apply function is required")
	}
	if opts.Debounce <= 0 {
		opts.Debounce = 200 * time.Millisecond
	}
	if opts.Rehash == 0 {
		opts.Rehash = 30 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, err
	}
	r := &Reloader{
		opts:    opts,
		path:    opts.Dir,
		compile: opts.Compile,
		m:       m,
		status:  Status{Path: opts.Dir + opts.File},
		poke:    make(chan struct{}, 1),
		closed:  make(chan struct{}),
		done:    make(chan struct{}),
		ready:   make(chan struct{}),
	}
	if opts.File != "" {
		r.path, r.file = opts.File, true
		if r.compile == nil {
			r.compile = loadArtifact(opts.File)
		}
	}
	if r.compile == nil {
		r.compile = (&dirCompiler{dir: opts.Dir}).compile
	}
	r.log = opts.Logger.With("config", r.path)
	return r, nil
}

// Status reports the reloader's state. It does not wait for a compile.
func (r *Reloader) Status() Status {
	r.statusMu.Lock()
	defer r.statusMu.Unlock()
	return r.status
}

// Reload compiles now, whatever changed or not (SIGHUP), and applies the
// table on success. On failure the last good table keeps serving and the
// error is returned (a compiler.Errors when the config is at fault).
func (r *Reloader) Reload() error {
	return r.forced(true, true)
}

// Deploy is Reload for a caller that reports a failure itself (a node's
// start, a git commit's deploy): the error is returned and in Status, but
// not logged, so that each problem is shown once, by whoever can name
// its file as the user knows it. A table the same as the one served (the
// rollback after a rejected commit) is not applied again: nothing changed.
func (r *Reloader) Deploy() error {
	return r.forced(false, false)
}

func (r *Reloader) forced(logFailure, reapply bool) error {
	err := r.reload("reload", true, logFailure, reapply)
	select { // and have Run re-check its watches
	case r.poke <- struct{}{}:
	default:
	}
	return err
}

// Run watches until ctx is done or Close is called. It compiles first if
// the tree changed since the last Reload (or nothing was compiled yet).
func (r *Reloader) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return errors.New("watch: Run called twice")
	}
	defer close(r.done)
	select {
	case <-r.closed:
		return nil
	case <-ctx.Done():
		return nil
	default:
	}
	s := &watchState{r: r, watched: map[string]os.FileInfo{}}
	var events <-chan fsnotify.Event
	var errs <-chan error
	if w, err := fsnotify.NewWatcher(); err != nil {
		// Out of inotify instances, say: keep going on the rehash alone.
		r.log.Error("no file watcher; changes are seen by the periodic rehash only", "error", err)
	} else {
		defer w.Close()
		s.w, events, errs = w, w.Events, w.Errors
	}
	s.sync()
	started := r.reload("start", false, true, false)
	close(r.ready)

	debounce := r.opts.Debounce
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var rehash <-chan time.Time
	if r.opts.Rehash > 0 {
		t := time.NewTicker(r.opts.Rehash)
		defer t.Stop()
		rehash = t.C
	}
	pending, first := false, time.Time{}
	schedule := func() {
		now := time.Now()
		if !pending {
			pending, first = true, now
		}
		deadline := min(now.Add(debounce).UnixNano(), first.Add(50*debounce).UnixNano())
		timer.Reset(time.Until(time.Unix(0, deadline)))
	}
	if errors.Is(started, errUnsettled) {
		schedule()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.closed:
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			if !r.dropEvents.Load() && s.handle(ev) {
				schedule()
			}
		case err, ok := <-errs:
			if !ok {
				return nil
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Events were lost: look at everything again.
				r.log.Warn("file watcher overflowed; rescanning")
				s.sync()
				schedule()
				continue
			}
			r.log.Warn("file watcher", "error", err)
		case <-timer.C:
			pending = false
			s.sync()
			if errors.Is(r.reload("watch", false, true, false), errUnsettled) {
				schedule()
			}
		case <-rehash:
			if pending {
				continue // events are flowing: the debounced reload comes next
			}
			s.sync()
			if errors.Is(r.reload("rehash", false, true, false), errUnsettled) {
				schedule()
			}
		case <-r.poke:
			s.sync()
		}
	}
}

// Close stops Run and waits for it to return.
func (r *Reloader) Close() error {
	r.closeOnce.Do(func() { close(r.closed) })
	if r.started.Load() {
		<-r.done
	}
	return nil
}

// reload compiles if forced or if the tree's fingerprint moved since the
// last compile, then applies (a table that differs from the one served,
// or any if reapply) or records (and, if logFailure, logs) the failure.
func (r *Reloader) reload(reason string, force, logFailure, reapply bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.hashed && reason == "reload" {
		reason = "start" // the node's first compile (Reload), before Run
	}
	sum, _ := fingerprint(r.path, r.file)
	// A refused tree is compiled again when the rehash or a check dir's
	// event comes: what Check missed may be there now.
	retry := (reason == "rehash" || reason == "watch") && r.refused.Load()
	if !force && r.hashed && sum == r.sum && !retry {
		return nil // events that changed nothing the compiler reads
	}
	if reason == "rehash" && sum != r.sum {
		r.log.Warn("config or its commit changed without a file event; reloading")
	}
	changed := !r.hashed || sum != r.sum
	r.sum, r.hashed = sum, true
	start := time.Now()
	t, warnings, err := r.compile()
	r.refused.Store(false)
	if err == nil && r.opts.Check != nil {
		err = r.opts.Check(t)
		r.refused.Store(err != nil)
	}
	if !force && r.unsettled(sum) {
		return errUnsettled
	}
	now := time.Now()
	if err != nil {
		if retry && !changed && message(r.Status().LastError) == err.Error() {
			// Still refused for the same reason, nothing changed: one
			// error per change, not one per rehash or check dir event.
			r.log.Debug("config still refused", "error", err)
			return err
		}
		r.m.failure()
		re := &ReloadError{At: now, Reason: reason, Message: err.Error()}
		if errs, ok := errors.AsType[compiler.Errors](err); ok {
			re.Errors = errs
		}
		r.updateStatus(func(s *Status) {
			s.LastError, s.Failing = re, true
			s.Failures++
		})
		if !logFailure {
			return err
		}
		msg := "config rejected; keeping the last good table"
		if r.current == nil {
			msg = "config rejected; no table to serve" // a node starting on a broken config
		}
		// One line per problem, each starting file:line:col.
		for _, line := range strings.Split(re.Message, "\n") {
			r.log.Error(msg, "reason", reason, "error", line)
		}
		return err
	}
	r.m.success(now)
	apply := reapply || r.current == nil || t.Version() != r.current.Version() || t.Source() != r.current.Source()
	if apply {
		r.opts.Apply(t)
		r.current = t
		r.m.applied(t.Version())
	}
	r.updateStatus(func(s *Status) {
		s.Reloads++
		s.Failing = false
		s.Warnings = problems(warnings)
		if apply {
			s.Version, s.Commit, s.AppliedAt = t.Version(), t.Source().Commit, now
		}
	})
	r.log.Info("config reloaded", "reason", reason, "version", t.Version(), "applied", apply, "warnings", len(warnings), "took", now.Sub(start).Round(time.Millisecond))
	r.logWarnings(warnings, t.Source().Commit)
	return nil
}

// logWarnings logs, one line each, the warnings that the last successful
// compile did not have. A warning is known by its file and message, not
// its line: an edit above it that moves it is not a new warning.
func (r *Reloader) logWarnings(warnings compiler.Errors, commit string) {
	warned := make(map[string]bool, len(warnings))
	for _, w := range warnings {
		key := w.File + ": " + w.Msg
		if !warned[key] && !r.warned[key] {
			args := []any{"warning", w.Error()}
			if commit != "" {
				args = append(args, "commit", commit)
			}
			r.log.Warn("config warning; served all the same", args...)
		}
		warned[key] = true
	}
	r.warned = warned
}

// message is e's message, "" for nil.
func message(e *ReloadError) string {
	if e == nil {
		return ""
	}
	return e.Message
}

// errUnsettled is reload's answer when it dropped a compile: Run compiles
// again after a debounce.
var errUnsettled = errors.New("watch: config changed while compiling")

// unsettled reports whether the tree changed during the compile, or has an
// empty file, unless it was so at the last compile too: a file written in
// place may have been read between its truncation and its write, before
// any event or mtime shows it, and an empty main.cue compiles to a table
// without a single distribution. The compile is dropped, and the next one
// waits for the write to end (a file left empty is compiled then).
func (r *Reloader) unsettled(before [32]byte) bool {
	after, empty := fingerprint(r.path, r.file)
	settled := r.settled
	r.settled = [32]byte{}
	if (after == before && !empty) || after == settled {
		return false
	}
	r.settled, r.hashed = after, false
	r.log.Debug("config changed while compiling, or has an empty file; compiling again")
	return true
}

func (r *Reloader) updateStatus(f func(*Status)) {
	r.statusMu.Lock()
	defer r.statusMu.Unlock()
	f(&r.status)
}

// watchState is the loop's view of what fsnotify watches. Only the Run
// goroutine touches it.
type watchState struct {
	r *Reloader
	w *fsnotify.Watcher
	// watched maps each watched path to what it was when watched, to tell
	// a directory replaced at the same path from the one being watched.
	watched map[string]os.FileInfo
	tree    map[string]bool            // real directories of the config tree
	checks  map[string]bool            // real CheckDirs
	names   map[string]map[string]bool // real parent dir -> names of Dir and its links
}

// sync makes the watches match the tree: every directory the compiler
// scans, plus the parents of Dir and of each symlink it resolves through.
// Watches are set on real paths, so a re-pointed link moves them all.
func (s *watchState) sync() {
	if s.w == nil {
		return
	}
	want := map[string]bool{}
	s.tree, s.names, s.checks = map[string]bool{}, map[string]map[string]bool{}, map[string]bool{}
	for _, d := range s.r.opts.CheckDirs {
		if real, err := filepath.EvalSymlinks(d); err == nil {
			s.checks[real], want[real] = true, true
		}
	}
	for _, l := range links(s.r.path) {
		s.watchName(l, want)
	}
	if s.r.file {
		// The file's directory, for the ..data link of a ConfigMap that
		// holds the artifact.
		if d, err := filepath.EvalSymlinks(filepath.Dir(s.r.path)); err == nil {
			s.tree[d], want[d] = true, true
		}
	} else if root, err := resolveRoot(s.r.path); err == nil {
		dirs, fileLinks, err := treeDirs(root)
		if err != nil {
			s.r.log.Warn("watch config dir", "error", err)
		}
		for _, d := range dirs {
			s.tree[d], want[d] = true, true
		}
		// A config file linked to one outside the tree: an edit there,
		// or a link on the way re-pointed, changes the config too.
		for _, f := range fileLinks {
			for _, l := range links(f)[1:] {
				s.watchName(l, want)
			}
		}
	}
	for p := range s.watched {
		if !want[p] {
			s.unwatch(p)
		}
	}
	for p := range want {
		s.watch(p)
	}
}

// watchName has sync watch the directory holding l for changes to l. If
// that directory is gone (a release directory above Dir removed, or
// renamed away), the nearest one still there is watched for the missing
// one: its return is seen, and from it the way down again.
func (s *watchState) watchName(l string, want map[string]bool) {
	parent, err := filepath.EvalSymlinks(filepath.Dir(l))
	for err != nil {
		if up := filepath.Dir(l); up != l {
			l = up
			parent, err = filepath.EvalSymlinks(filepath.Dir(l))
			continue
		}
		return
	}
	if s.names[parent] == nil {
		s.names[parent] = map[string]bool{}
	}
	s.names[parent][filepath.Base(l)] = true
	want[parent] = true
}

// watch adds p unless the directory at p is already watched.
func (s *watchState) watch(p string) {
	fi, err := os.Stat(p)
	if err != nil {
		s.unwatch(p)
		return
	}
	if old, ok := s.watched[p]; ok {
		if os.SameFile(old, fi) {
			return
		}
		s.unwatch(p) // replaced: the old watch sees the old directory
	}
	if err := s.w.Add(p); err != nil {
		// Out of inotify watches, or gone again: the rehash still looks.
		s.r.log.Warn("watch directory", "path", p, "error", err)
		return
	}
	s.watched[p] = fi
}

func (s *watchState) unwatch(p string) {
	if _, ok := s.watched[p]; ok {
		s.w.Remove(p) // fails when the kernel dropped it already: fine
		delete(s.watched, p)
	}
}

// handle looks at one event: it reports whether it may have changed what
// the compiler reads, and adds watches for new directories.
func (s *watchState) handle(ev fsnotify.Event) bool {
	dir, base := filepath.Dir(ev.Name), filepath.Base(ev.Name)
	if !ev.Has(fsnotify.Create | fsnotify.Write | fsnotify.Remove | fsnotify.Rename) {
		// Chmod: noise from indexers and backup tools, unless the config
		// is failing: then it may be the fix, a file or directory made
		// readable (chmod, chown). The fingerprint tells whether it was.
		return ev.Has(fsnotify.Chmod) && s.r.Status().Failing && (s.tree[dir] || s.tree[ev.Name] || s.names[dir][base] || s.checks[dir])
	}
	switch {
	case s.names[dir][base]:
		// Dir or one of its links was replaced or re-pointed.
		s.sync()
		return true
	case ev.Has(fsnotify.Remove|fsnotify.Rename) && s.watched[ev.Name] != nil:
		// A watched directory went away or moved: what it held did too.
		s.sync()
		return true
	case s.checks[dir] && s.r.refused.Load():
		// A file landed where a refused change's check looks (the
		// certificates it lacked): inside the tree too.
		return true
	case s.checks[dir] && !s.tree[dir]:
		return false
	case !s.tree[dir]:
		return false
	case !s.r.file && configFile(base):
		return true
	case ev.Has(fsnotify.Create):
		fi, err := os.Lstat(ev.Name)
		if err != nil {
			return false // already gone: a temporary file
		}
		if fi.IsDir() {
			if s.r.file || ignoredDir(base) {
				return false
			}
			// Files may land in it before the watch does: the compile
			// that follows scans the whole tree anyway.
			dirs, _, _ := treeDirs(ev.Name) // its file links: at the sync before the compile
			for _, d := range dirs {
				s.tree[d] = true
				s.watch(d)
			}
			return true
		}
		// A symlink: ConfigMap's ..data re-pointed, a link to elsewhere.
		return fi.Mode()&fs.ModeSymlink != 0
	}
	return false
}
