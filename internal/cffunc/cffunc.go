// Package cffunc runs CloudFront Functions: JavaScript handlers of the
// viewer-request and viewer-response events, with CloudFront's event
// object (functions-event-structure.md). The code is compiled once, when
// the config is; each run takes a runtime from a per-function pool (a
// goja.Runtime serves one goroutine at a time) and is interrupted once
// it used its budget of CPU time.
package cffunc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/parser"
)

// Budget bounds the CPU time of one run (on Linux; the wall clock
// elsewhere), as CloudFront's compute utilization counts it: time a busy
// node's run queue or a GC pause keeps the run off the CPU is not the
// function's. CloudFront allows about 1 ms of compute; 20 ms leaves room
// for goja being slower than CloudFront's engine.
const Budget = 20 * time.Millisecond

// WallCap is how many times its budget a run may take of wall-clock
// time: a safety net for a run kept off the CPU for good, far above what
// a cheap function on a busy node waits (1 s for Budget).
const WallCap = 50

// OfflineBudget bounds a run of vet's route tests and openfront route
// (Context.Budget): still short enough to report a function that loops,
// but not so short that a slow CI machine fails a config.
const OfflineBudget = time.Second

// Function is a compiled function. It is safe for concurrent use: its
// pool of runtimes is a cache, not state a caller sees.
type Function struct {
	Name    string
	Runtime string // cloudfront-js-1.0 or cloudfront-js-2.0
	program *goja.Program
	pool    sync.Pool // *vm
	budget  time.Duration
	store   *Store // what cf.kvs() reads, or nil
	// namedGroups: the code names a capture group (regexp.go).
	namedGroups bool
	// errorClasses are the classes of njsErrors the code names (errors.go).
	errorClasses []string
	// rawQueryString: the code names the request's rawQueryString
	// (rawquery.go).
	rawQueryString bool
	// byteMethods are the 1.0 byte string methods the code names
	// (bytestring.go).
	byteMethods []string
	// lastWarn is when a failure was last logged (unix nanoseconds).
	lastWarn atomic.Int64
}

// SyntaxError is code that does not compile, at a line and column of
// the code (1-based; the column counts characters).
type SyntaxError struct {
	Line, Col int
	Msg       string
}

func (e *SyntaxError) Error() string {
	return fmt.Sprintf("line %d, column %d: %s", e.Line, e.Col, e.Msg)
}

// ErrNoHandler is code without a top-level function handler.
var ErrNoHandler = errors.New("no top-level function handler(event): CloudFront calls the function named handler")

// Compile compiles a function's code; the error is a *SyntaxError for
// code that does not parse, or ErrNoHandler.
func Compile(name, runtime, code string) (*Function, error) {
	code, err := rewriteImports(code)
	if err != nil {
		return nil, err
	}
	prg, err := parser.ParseFile(nil, name, code, 0, parser.WithDisableSourceMaps)
	if err != nil {
		var list parser.ErrorList
		if errors.As(err, &list) && len(list) > 0 {
			return nil, &SyntaxError{Line: list[0].Position.Line, Col: list[0].Position.Column, Msg: list[0].Message}
		}
		return nil, &SyntaxError{Line: 1, Col: 1, Msg: err.Error()}
	}
	if !declaresHandler(prg) {
		return nil, ErrNoHandler
	}
	if runtime == runtime10 {
		if at, what := runtime10Feature(prg); at > 0 {
			pos := prg.File.Position(int(at) - prg.File.Base())
			return nil, &SyntaxError{Line: pos.Line, Col: pos.Column, Msg: fmt.Sprintf("%s is not supported in cloudfront-js-1.0: use var and plain functions, or runtime cloudfront-js-2.0", what)}
		}
	}
	// Strict: "Functions operate in strict mode by default ... This
	// cannot be changed." (functions-javascript-runtime-20.md): a
	// variable assigned without var throws, with does not compile.
	named := namedGroup.MatchString(code)
	if named {
		unnameLiterals(prg)
	}
	p, err := goja.CompileAST(prg, true)
	if err != nil {
		var ce *goja.CompilerSyntaxError
		if errors.As(err, &ce) && ce.File != nil {
			pos := ce.File.Position(ce.Offset)
			return nil, &SyntaxError{Line: pos.Line, Col: pos.Column, Msg: ce.Message}
		}
		return nil, &SyntaxError{Line: 1, Col: 1, Msg: err.Error()}
	}
	return &Function{Name: name, Runtime: runtime, program: p, budget: Budget, namedGroups: named, errorClasses: namesIn(code, njsErrors), byteMethods: namesIn(code, byteMethods),
		rawQueryString: strings.Contains(code, "rawQueryString")}, nil
}

func declaresHandler(prg *ast.Program) bool {
	for _, s := range prg.Body {
		if d, ok := s.(*ast.FunctionDeclaration); ok && d.Function.Name != nil && d.Function.Name.Name == "handler" {
			return true
		}
	}
	return false
}

// SetBudget changes the bound of each run (tests).
func (f *Function) SetBudget(d time.Duration) { f.budget = d }

// vm is a runtime that ran the function's program, with the timer that
// interrupts its runs (made once: a run allocates no timer). A run that
// takes longer than a twentieth of its budget (probe) is a rare one: the
// timer then reads the CPU clock of the run's thread, charges the run
// all of that twentieth, and sets itself again for what is left of the
// budget, reading the clock each time it fires, until none is left or
// the run reached the wall-clock cap. A run reads no clock itself:
// reading a thread's CPU clock is a system call, which costs a short
// run more than the rest of its bounding.
type vm struct {
	rt      *goja.Runtime
	handler goja.Callable
	// read reads the run's result back as the runtime's code: reading
	// the returned object runs the function's getters and toString, which
	// may loop or throw like the handler.
	read    goja.Callable
	ev      event      // the run under way
	result  goja.Value // what its handler returned
	readErr error
	timer   *time.Timer
	// mu orders a run's start and end with its timer, whose callback
	// may still be waiting for mu when the run has ended.
	mu      sync.Mutex
	running bool
	budget  time.Duration
	// armed is the wall-clock time the run's timer was set for: at
	// least the time the run has taken when the timer fires.
	armed   time.Duration
	clock   int32 // the CPU clock of the run's thread
	clocked bool  // clock is known
	sampled bool  // cpuStart is known
	// cpuStart is what clock read when the timer first fired, less the
	// time the run is charged for until then.
	cpuStart    time.Duration
	started     time.Time // when the run began, without a thread clock
	interrupted bool      // the timer interrupted rt in this run
	overCap     bool      // it did so at the wall-clock cap
	// log gets the console.log lines of the run under way: its
	// Context.Log, nil on the edge and between runs.
	log *Log
	// date is what the run's Date tells of the current time: the time
	// the run started (its Context.Now), or, zero, the clock's when the
	// run first asks.
	date time.Time
	// edge is what cf.edgeLocation tells in a viewer-request run.
	edge EdgeLocation
	// requestProto is the prototype of the event's request, with 2.0's
	// rawQueryString, when the code names it; else nil.
	requestProto *goja.Object
	// bytes are the byte strings of 1.0's methods and crypto's digest().
	bytes byteStrings
	// run is the state of the run under way that the cloudfront module's
	// methods act on; nil between runs and in a viewer-response run.
	run *runState
}

func (f *Function) get(budget time.Duration) (*vm, error) {
	if v, ok := f.pool.Get().(*vm); ok {
		return v, nil
	}
	rt := goja.New()
	m := &vm{rt: rt}
	if err := refuseDynamicCode(rt); err != nil {
		return nil, fmt.Errorf("function %q: %w", f.Name, err)
	}
	rt.SetTimeSource(m.now)
	console := rt.NewObject()
	// console.log goes to CloudWatch in CloudFront; here to the run's
	// Context.Log (openfront route) and the debug log.
	console.Set("log", func(call goja.FunctionCall) goja.Value {
		debug := slog.Default().Enabled(context.Background(), slog.LevelDebug)
		if m.log == nil && !debug {
			return goja.Undefined()
		}
		var b strings.Builder
		for i, a := range call.Arguments {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(a.String())
		}
		if m.log != nil {
			m.log.add(b.String())
		}
		if debug {
			slog.Debug("function console.log", "function", f.Name, "line", b.String())
		}
		return goja.Undefined()
	})
	rt.Set("console", console)
	f.enableRequire(m)
	enableErrors(rt, f.errorClasses)
	if f.namedGroups {
		enableNamedGroups(rt)
	}
	if f.Runtime != runtime10 {
		enableBuffer(rt)
		enableTextCodec(rt)
		if f.rawQueryString {
			m.requestProto = requestPrototype(m)
		}
	} else {
		enableByteStrings(m, f.byteMethods)
	}
	m.timer = time.AfterFunc(time.Hour, m.expire)
	m.timer.Stop()
	if _, err := f.runBounded(m, budget, func() (goja.Value, error) { return rt.RunProgram(f.program) }); err != nil {
		return nil, err
	}
	m.bytes.running = true
	h, ok := goja.AssertFunction(rt.Get("handler"))
	if !ok {
		return nil, &ExecutionError{Err: errors.New("handler is not a function")}
	}
	m.handler = h
	m.read, _ = goja.AssertFunction(rt.ToValue(func(goja.FunctionCall) goja.Value {
		m.readErr = nil
		if v, err := settled(f.Name, m.result); err != nil {
			m.readErr = err
		} else {
			m.readErr = m.ev.use(rt, v)
		}
		return goja.Undefined()
	}))
	return m, nil
}

// now is the runtime's clock: the same time all through a run, as
// CloudFront's ("All Date methods to query the current time always
// return the same value during the lifetime of a single function run",
// functions-javascript-runtime-20.md, Restricted features). It reads the
// clock at the first Date of a run only: a run that asks for no date
// reads none.
func (m *vm) now() time.Time {
	if m.date.IsZero() {
		m.date = time.Now()
	}
	return m.date
}

// ExecutionError is a run that threw, returned no valid object or ran out
// of its budget (Throttled): CloudFront answers 503
// (FunctionExecutionError, FunctionThrottledError).
type ExecutionError struct {
	Throttled bool
	Err       error
}

func (e *ExecutionError) Error() string { return e.Err.Error() }
func (e *ExecutionError) Unwrap() error { return e.Err }

// ValidationError is a returned object CloudFront refuses (a header a
// function may not set, a uri without its leading slash): 502
// (FunctionValidationError).
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

// Failure is how CloudFront answers a run that failed with err: its
// status and the result its logs name (FunctionValidationError,
// FunctionExecutionError or FunctionThrottledError).
func Failure(err error) (status int, result string) {
	var ee *ExecutionError
	var ve *ValidationError
	switch {
	case errors.As(err, &ve):
		return http.StatusBadGateway, "FunctionValidationError"
	case errors.As(err, &ee) && ee.Throttled:
		return http.StatusServiceUnavailable, "FunctionThrottledError"
	}
	return http.StatusServiceUnavailable, "FunctionExecutionError"
}

// ShouldWarn reports whether a failure of f is to be logged now: once a
// minute, so a function that fails every request does not flood the log.
func (f *Function) ShouldWarn(now time.Time) bool {
	last := f.lastWarn.Load()
	return now.UnixNano()-last >= int64(time.Minute) && f.lastWarn.CompareAndSwap(last, now.UnixNano())
}

type interrupted struct{}

// runBounded runs fn on m's runtime, interrupted once it used budget of
// CPU time, or WallCap times budget of wall-clock time.
func (f *Function) runBounded(m *vm, budget time.Duration, fn func() (goja.Value, error)) (goja.Value, error) {
	// The run stays on one thread, whose CPU clock is then the run's:
	// goja computes on the calling goroutine and blocks on nothing.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	m.begin(budget)
	v, err := recovered(fn)
	overCap := m.end()
	if err != nil {
		var ie *goja.InterruptedError
		if errors.As(err, &ie) {
			if overCap {
				return nil, &ExecutionError{Throttled: true, Err: fmt.Errorf("function %q did not finish within %v of wall-clock time", f.Name, WallCap*budget)}
			}
			return nil, &ExecutionError{Throttled: true, Err: fmt.Errorf("function %q ran over its %v budget of %s", f.Name, budget, budgetClock)}
		}
		return nil, &ExecutionError{Err: fmt.Errorf("function %q: %w", f.Name, err)}
	}
	return v, nil
}

// recovered is fn's result, or its Go panic as an error: a builtin that
// fails (a bug of openfront's, not the function's) fails the run, which
// the caller answers as any execution error, rather than the node's
// request or a vet.
func recovered(fn func() (goja.Value, error)) (v goja.Value, err error) {
	defer func() {
		if p := recover(); p != nil {
			v, err = nil, fmt.Errorf("the runtime failed: %v", p)
		}
	}()
	return fn()
}

// probe is the part of its budget after which a run's CPU clock is
// first read, and which the run is charged for in full: a run that used
// less is stopped that much early, one whose timer fired late (a busy
// node) that much late at most.
const probe = 20

// begin starts the run's timer, on the run's thread.
func (m *vm) begin(budget time.Duration) {
	clock, clocked := threadClock()
	m.start(budget, clock, clocked)
}

// start starts the run's timer, with the CPU clock of its thread if
// clocked.
func (m *vm) start(budget time.Duration, clock int32, clocked bool) {
	first := budget
	if clocked {
		first = budget / probe
	}
	m.mu.Lock()
	m.running, m.budget, m.armed = true, budget, first
	m.clock, m.clocked, m.sampled = clock, clocked, false
	if !clocked {
		m.started = time.Now()
	}
	m.timer.Reset(first)
	m.mu.Unlock()
}

// end stops the run's timer and reports whether it interrupted the run
// at the wall-clock cap. The interrupt flag is cleared, so an interrupt
// that came as the run ended does not stop the next.
func (m *vm) end() (overCap bool) {
	m.mu.Lock()
	m.running = false
	m.timer.Stop()
	interrupted, overCap := m.interrupted, m.overCap
	m.interrupted, m.overCap = false, false
	m.mu.Unlock()
	if interrupted {
		m.rt.ClearInterrupt()
	}
	return overCap
}

// expire is the timer's: it interrupts the run under way if it used its
// budget of CPU time or reached the wall-clock cap, and otherwise sets
// the timer for what is left. A late call, for a run that ended, does
// nothing; one that finds the next run under way checks that run.
func (m *vm) expire() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.running {
		return
	}
	if !m.clocked {
		// The previous run's timer, late, may find this run just begun:
		// its budget is of the wall clock, which tells.
		if left := m.budget - time.Since(m.started); left > 0 {
			m.timer.Reset(left)
			return
		}
	}
	wallCap := WallCap * m.budget
	m.overCap = m.armed >= wallCap
	if m.clocked && !m.overCap {
		if cpu, ok := cpuTime(m.clock); ok {
			if !m.sampled {
				m.cpuStart, m.sampled = cpu-m.armed, true
			}
			if left := m.budget - (cpu - m.cpuStart); left > 0 {
				left = min(left, wallCap-m.armed)
				m.armed += left
				m.timer.Reset(left)
				return
			}
		}
	}
	m.rt.Interrupt(interrupted{})
	m.interrupted = true
}

// event is one run's event: build makes the event object the handler is
// called with, use reads its result back (awaited when a promise). A run
// keeps its state in one value, not in closures: a run is on every
// request, cache hits included.
type event interface {
	build(rt *goja.Runtime, requestProto *goja.Object) goja.Value
	use(rt *goja.Runtime, v goja.Value) error
	// viewerQuery is the viewer's query string and whether its URL has
	// a "?" (rawQueryString).
	viewerQuery() (raw string, mark bool)
}

// call runs the handler on ev. A runtime that failed is dropped: an
// interrupted or throwing run may leave its globals half changed.
func (f *Function) call(c Context, run *runState, ev event) error {
	budget := f.budget
	if c.Budget > 0 {
		budget = c.Budget
	}
	m, err := f.get(budget)
	if err != nil {
		return err
	}
	m.readErr, m.run, m.ev, m.log, m.date, m.edge = nil, run, ev, c.Log, c.Now, c.Edge
	_, err = f.runBounded(m, budget, m.handle)
	// Nothing of the run stays with the runtime it goes back to.
	m.run, m.ev, m.result, m.log, m.date, m.edge = nil, nil, nil, nil, time.Time{}, EdgeLocation{}
	m.bytes.endRun()
	if err == nil {
		err = m.readErr
	}
	if err == nil || !isExecution(err) {
		f.pool.Put(m)
	}
	return err
}

func isExecution(err error) bool {
	var ee *ExecutionError
	return errors.As(err, &ee)
}

// handle calls the handler on m's event and reads its result back. The
// job queue is drained when the call returns: an async handler that
// awaits nothing outside has settled by then.
func (m *vm) handle() (goja.Value, error) {
	v, err := m.handler(goja.Undefined(), m.ev.build(m.rt, m.requestProto))
	if err != nil {
		return nil, err
	}
	m.result = v
	return m.read(goja.Undefined())
}

var promiseType = reflect.TypeFor[*goja.Promise]()

// settled is v, or the value of the promise v (cloudfront-js-2.0's async
// handlers).
func settled(name string, v goja.Value) (goja.Value, error) {
	// Export of a plain object copies all of it into Go maps: only a
	// promise is exported.
	o, ok := v.(*goja.Object)
	if !ok || o.ExportType() != promiseType {
		return v, nil
	}
	p := o.Export().(*goja.Promise)
	switch p.State() {
	case goja.PromiseStateFulfilled:
		return p.Result(), nil
	case goja.PromiseStateRejected:
		return nil, &ExecutionError{Err: fmt.Errorf("function %q: promise rejected: %s", name, p.Result())}
	}
	return nil, &ExecutionError{Err: fmt.Errorf("function %q: the handler's promise never settled", name)}
}
