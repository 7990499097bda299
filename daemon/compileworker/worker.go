// Package compileworker compiles a config directory in a child process of
// the node's own binary (the hidden command openfront compile-worker),
// bounded in time and memory. CUE evaluation can be neither cancelled nor
// bounded in memory in-process, and CUE has exponential cases: in the
// node, one such config would pin a core for ever (every later reload
// waiting on it) or grow the heap until the kernel killed the node. In a
// child, past a bound the child is killed and the change is rejected like
// a compile error; the next change gets a fresh child.
//
// The child lives between compiles, so that the compiler's per-file state
// keeps a one-file change's recompile incremental. Requests and answers go
// over its stdin and stdout: a JSON line each way, the answer followed by
// the table as the table artifact (openfront compile -o), which the parent
// decodes and hash-checks as serve --table does. The request names the
// version of the table the parent holds; when the child sent that table
// last, the artifact is a delta over it (table.ArtifactEncoder.MarshalDelta):
// the entries a change left alone are not written, so that a one-file
// change at 10,000 distributions moves kilobytes, not 36 MB, and the parent
// neither splits nor hashes them. The content hash is checked all the same.
//
// The memory bound is watched by the child itself, on the Go runtime's
// own count of the memory it holds (runtime/metrics), and it exits with a
// distinct status past it: RLIMIT_AS would count the address space Go
// reserves but never touches and fail allocations at random places, and a
// parent polling the child's RSS would be later and Linux-only. A single
// huge allocation is still seen right after it is made.
package compileworker

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"openfront.dev/compiler"
	"openfront.dev/compiler/table"
)

// Command is the hidden command that runs a worker: openfront Command.
const Command = "compile-worker"

const (
	// envChild marks a worker's process: a test binary started as one
	// without the TestMain hook would run its tests again, and start
	// workers of its own.
	envChild = "OPENFRONT_COMPILE_WORKER"
	// hello is the child's first line: what it is, and the protocol.
	hello = "openfront-compile-worker/v2"
	// exitMemory is the child's status when it went past its bound.
	exitMemory = 3
)

// Defaults of Options.
const (
	DefaultTimeout = 2 * time.Minute
	// DefaultMemory is the most the default bound is (see
	// DefaultMemoryOf): far above what a config of thousands of
	// distributions takes (a few hundred MiB for 10,000).
	DefaultMemory = 2 << 30
)

// Options bound a Worker.
type Options struct {
	Timeout time.Duration // one compile, a fresh worker's start included; default DefaultTimeout
	Memory  int64         // bytes the worker may hold; default NodeMemory()
	// Argv starts a worker. Default: this executable with Command; a test
	// binary's TestMain calls RunIfChild.
	Argv   []string
	Logger *slog.Logger
}

// Worker compiles one config directory in a child process. Compiles are
// serialized.
type Worker struct {
	dir  string
	opts Options
	log  *slog.Logger

	mu     sync.Mutex
	closed bool
	child  *child
	prev   *table.Table // the last table decoded, reused by the next
	// live is child, for kill: the timer and Close run beside Compile.
	live     atomic.Pointer[child]
	stopping atomic.Bool // Close was called
}

// Result is what a compile gives besides its table.
type Result struct {
	Table    *table.Table
	Warnings compiler.Errors
}

// New returns a Worker for dir; the child starts on the first Compile.
func New(dir string, opts Options) *Worker {
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Memory <= 0 {
		opts.Memory = NodeMemory()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Worker{dir: dir, opts: opts, log: opts.Logger}
}

// request is a line the parent writes.
type request struct {
	Dir  string `json:"dir"`
	Base string `json:"base,omitempty"` // the version of the table the parent holds
}

// answer is a line the child writes, followed by Artifact bytes of table
// artifact when the compile worked.
type answer struct {
	Errors   compiler.Errors `json:"errors,omitempty"`  // the config's problems
	Message  string          `json:"message,omitempty"` // another failure
	Warnings compiler.Errors `json:"warnings,omitempty"`
	Artifact int             `json:"artifact,omitempty"`
	Delta    bool            `json:"delta,omitempty"` // the artifact is a delta over the request's base
}

// Compile compiles the directory in the worker. A config at fault is a
// compiler.Errors, as in-process; a compile past a bound is an error
// saying which, and the worker is stopped (the next Compile starts one).
func (w *Worker) Compile() (*Result, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil, errStopping
	}
	var timedOut atomic.Bool
	start := time.Now()
	// Set before the child starts: a child that never says hello is
	// bounded too.
	timer := time.AfterFunc(w.opts.Timeout, func() {
		timedOut.Store(true)
		w.kill()
	})
	defer timer.Stop()
	if w.child == nil {
		c, err := w.start()
		if err != nil {
			if w.stopping.Load() {
				return nil, errStopping
			}
			if timedOut.Load() {
				return nil, w.tooLong()
			}
			return nil, err
		}
		w.child = c
	}
	c := w.child
	base := ""
	if w.prev != nil {
		base = w.prev.Version()
	}
	res, err := c.compile(w.dir, base)
	if !timer.Stop() || (err != nil && !res.failed) {
		// The child is gone or unusable (or killed as it answered): a
		// fresh one next time.
		c.stop()
		w.child = nil
		w.live.Store(nil)
	}
	switch {
	case err == nil:
		answered := time.Now()
		decode := table.DecodeArtifact
		if res.delta {
			decode = table.DecodeDelta
		}
		t, err := decode(res.artifact, w.dir, w.prev)
		if err != nil {
			return nil, fmt.Errorf("compile worker: %w", err)
		}
		w.prev = t
		w.log.Debug("compiled in the worker", "compile", answered.Sub(start).Round(time.Millisecond), "decode", time.Since(answered).Round(time.Millisecond), "artifact_bytes", len(res.artifact), "delta", res.delta)
		return &Result{Table: t, Warnings: res.Warnings}, nil
	case res.failed:
		return nil, err // the config's fault; the worker is fine
	case w.stopping.Load():
		return nil, errStopping
	case timedOut.Load():
		return nil, w.tooLong()
	case c.exitCode() == exitMemory:
		return nil, fmt.Errorf("compiling used more than %s (%s); the compile was stopped", bytesString(w.opts.Memory), w.what())
	}
	// Killed by the kernel (out of memory), a crash: what it said.
	w.log.Error("compile worker failed", "took", time.Since(start).Round(time.Millisecond), "error", err, "exit", c.cmd.ProcessState.String(), "stderr", c.stderr.String())
	return nil, fmt.Errorf("compile worker: %w (%v)", err, c.cmd.ProcessState)
}

// errStopping fails a compile that Close ended.
var errStopping = errors.New("compile worker: stopped: the node is shutting down")

func (w *Worker) tooLong() error {
	return fmt.Errorf("compiling took longer than %v (%s); the compile was stopped", w.opts.Timeout, w.what())
}

// what names the tree compiled, and its commit when it is a checkout.
func (w *Worker) what() string {
	if commit := compiler.GitCommit(w.dir); commit != "" {
		return "commit " + commit + ", directory " + w.dir
	}
	return "directory " + w.dir
}

// kill ends the child, if any, without waiting; a compile in flight fails.
func (w *Worker) kill() {
	if c := w.live.Load(); c != nil {
		c.cmd.Process.Kill()
	}
}

// Close stops the worker: a compile in flight fails at once.
func (w *Worker) Close() error {
	w.stopping.Store(true)
	w.kill() // without w.mu: a compile holds it
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	if w.child != nil {
		w.child.stop()
		w.child = nil
		w.live.Store(nil)
	}
	return nil
}

// child is a running worker process.
type child struct {
	cmd     *exec.Cmd
	in      io.WriteCloser
	out     *bufio.Reader
	outFile *os.File
	stderr  *tail
	done    chan struct{} // closed once Wait returned
}

func (w *Worker) start() (*child, error) {
	if os.Getenv(envChild) != "" {
		return nil, errors.New("compile worker: this process is a compile worker that does not run as one: a test binary needs compileworker.RunTests (or RunIfChild) in its TestMain")
	}
	argv, path := w.opts.Argv, ""
	if len(argv) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("compile worker: %w", err)
		}
		argv, path = []string{exe, Command}, selfPath(exe)
	}
	argv = append(slices.Clone(argv), "--memory", strconv.FormatInt(w.opts.Memory, 10))
	cmd := exec.Command(argv[0], argv[1:]...)
	if path != "" {
		cmd.Path = path
	}
	cmd.Env = append(os.Environ(), envChild+"=1")
	cmd.SysProcAttr = sysProcAttr()
	c := &child{cmd: cmd, stderr: &tail{max: 8 << 10}, done: make(chan struct{})}
	cmd.Stderr = c.stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("compile worker: %w", err)
	}
	// Not StdoutPipe: Wait, which runs beside the reads, would close it
	// under them.
	out, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("compile worker: %w", err)
	}
	cmd.Stdout = pw
	err = cmd.Start()
	pw.Close()
	if err != nil {
		out.Close()
		return nil, fmt.Errorf("compile worker: %w", err)
	}
	c.outFile = out
	go func() { cmd.Wait(); close(c.done) }()
	c.in, c.out = in, bufio.NewReaderSize(out, 1<<20)
	w.live.Store(c) // the timer may kill it from now on
	line, err := c.out.ReadString('\n')
	if strings.TrimSpace(line) != hello {
		c.stop()
		w.live.Store(nil)
		if err == nil {
			err = fmt.Errorf("%s is not an openfront compile worker: it said %q", argv[0], strings.TrimSpace(line))
		}
		if s := c.stderr.String(); s != "" {
			err = fmt.Errorf("%w: %s", err, s)
		}
		return nil, fmt.Errorf("compile worker did not start: %w", err)
	}
	return c, nil
}

// compiled is a child's answer.
type compiled struct {
	artifact []byte
	delta    bool // artifact is a delta over the base asked for
	Warnings compiler.Errors
	failed   bool // the compile failed: the error is the config's
}

func (c *child) compile(dir, base string) (compiled, error) {
	b, _ := json.Marshal(request{Dir: dir, Base: base})
	if _, err := c.in.Write(append(b, '\n')); err != nil {
		return compiled{}, err
	}
	line, err := c.out.ReadBytes('\n')
	if err != nil {
		return compiled{}, err
	}
	var a answer
	if err := json.Unmarshal(line, &a); err != nil {
		return compiled{}, fmt.Errorf("bad answer %q: %w", line, err)
	}
	switch {
	case len(a.Errors) > 0:
		return compiled{failed: true}, a.Errors
	case a.Message != "":
		return compiled{failed: true}, errors.New(a.Message)
	}
	art := make([]byte, a.Artifact)
	if _, err := io.ReadFull(c.out, art); err != nil {
		return compiled{}, err
	}
	return compiled{artifact: art, delta: a.Delta, Warnings: a.Warnings}, nil
}

// stop kills the child and waits for it.
func (c *child) stop() {
	c.in.Close()
	c.cmd.Process.Kill()
	<-c.done
	c.outFile.Close()
}

func (c *child) exitCode() int {
	<-c.done
	return c.cmd.ProcessState.ExitCode()
}

// tail keeps the last max bytes written: what a dying child said.
type tail struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > t.max {
		t.b = t.b[len(t.b)-t.max:]
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return strings.TrimSpace(string(t.b))
}

// bytesString writes n in the largest binary unit that divides it, as
// people read sizes: 2 GiB, 200 MiB.
func bytesString(n int64) string {
	for _, u := range []struct {
		name string
		n    int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n%u.n == 0 {
			return strconv.FormatInt(n/u.n, 10) + " " + u.name
		}
	}
	return strconv.FormatInt(n, 10) + " bytes"
}
