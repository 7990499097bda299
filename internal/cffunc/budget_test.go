//go:build linux

package cffunc

import (
	"errors"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// TestBudgetIsCPU: a run's budget counts the CPU time it used, as
// CloudFront's compute utilization does, not the time its thread waited
// off the CPU (a busy node's run queue); a wall-clock cap still stops a
// run that never finishes.
func TestBudgetIsCPU(t *testing.T) {
	for _, c := range []struct {
		name   string
		budget time.Duration
		code   string
		// busy holds GOMAXPROCS=1 with a goroutine spinning for the run.
		busy bool
		// throttled is the part of the error's text naming the bound the
		// run ran over, "" for a run that finishes.
		throttled string
	}{
		{"a loop on the CPU", Budget, "for (;;) {}", false, "CPU time"},
		// 100 ms asleep: five times the budget, and no CPU.
		{"a run off the CPU", Budget, "for (var i = 0; i < 10; i++) sleep(10); 1", false, ""},
		// Each yield leaves the only P to the spinning goroutine until
		// the scheduler preempts it, after 10 ms: 50 ms on the run queue.
		{"a run waiting on the run queue", Budget, "for (var i = 0; i < 5; i++) yield(); 1", true, ""},
		{"a run that never finishes", 2 * time.Millisecond, "for (;;) sleep(5)", false, "wall-clock"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, err := Compile("f", "cloudfront-js-2.0", "function handler(e) { return e.request; }")
			if err != nil {
				t.Fatal(err)
			}
			m, err := f.get(c.budget)
			if err != nil {
				t.Fatal(err)
			}
			m.rt.Set("sleep", func(ms int) { time.Sleep(time.Duration(ms) * time.Millisecond) })
			m.rt.Set("yield", runtime.Gosched)
			if c.busy {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
				var stop atomic.Bool
				defer stop.Store(true)
				go func() {
					for !stop.Load() {
					}
				}()
			}
			_, err = f.runBounded(m, c.budget, func() (goja.Value, error) { return m.rt.RunString(c.code) })
			var ee *ExecutionError
			switch {
			case c.throttled == "" && err != nil:
				t.Fatalf("%v, want no error", err)
			case c.throttled != "" && (!errors.As(err, &ee) || !ee.Throttled || !strings.Contains(err.Error(), c.throttled)):
				t.Fatalf("%v, want throttled for its %s", err, c.throttled)
			}
		})
	}
}

// TestGoPanicFailsTheRun: a Go panic inside a run (a builtin's bug) is
// the run's execution error, not a panic of the node's request or of
// openfront vet's route tests.
func TestGoPanicFailsTheRun(t *testing.T) {
	f, err := Compile("f", rt20, `function handler(e) { return e.request; }`)
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.get(time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.runBounded(m, time.Second, func() (goja.Value, error) { panic("makeslice: len out of range") })
	if !isExecution(err) || !strings.Contains(err.Error(), "len out of range") {
		t.Errorf("error %v, want an execution error naming the panic", err)
	}
}

// TestBacktrackingRegexpIsCut: a regular expression goja runs on
// regexp2 (a named group, a lookaround, a backreference), which
// backtracks and which an interrupt cannot stop mid-match, is cut at the
// run's wall-clock cap, and the run fails over its budget as a loop does.
// A viewer's 29-character URI against the named group of
// /^\/(?<word>\w+)+$/ held a CPU for about half a minute.
func TestBacktrackingRegexpIsCut(t *testing.T) {
	f, err := Compile("f", rt20, `function handler(event) {
	var m = event.request.uri.match(/^\/(?<word>\w+)+$/);
	if (m) event.request.uri = "/words/" + m.groups.word;
	return event.request;
}`)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = f.ViewerRequest(Context{}, &Request{Method: "GET", URI: "/" + strings.Repeat("a", 27) + "!", Host: "h", Header: http.Header{}})
	took := time.Since(start)
	var ee *ExecutionError
	if !errors.As(err, &ee) || !ee.Throttled {
		t.Errorf("error %v, want the run throttled", err)
	}
	if limit := WallCap*Budget + 4*time.Second; took > limit {
		t.Errorf("the run took %v, past its wall-clock cap (%v) and then some", took, WallCap*Budget)
	}
}
