package cffunc

import "testing"

// TestLateTimerSparesNextRun: a run's timer that fired as the run ended
// may call expire once the pool's next run on that runtime has begun; it
// must not interrupt that run, which has used nothing yet, whether the
// budget counts the thread's CPU time (Linux) or the wall clock
// (elsewhere, no thread clock).
func TestLateTimerSparesNextRun(t *testing.T) {
	f, err := Compile("f", "cloudfront-js-2.0", "function handler(e) { return e.request; }")
	if err != nil {
		t.Fatal(err)
	}
	m, err := f.get(Budget)
	if err != nil {
		t.Fatal(err)
	}
	clock, clocked := threadClock()
	for _, c := range []struct {
		name    string
		clock   int32
		clocked bool
	}{{"thread clock", clock, clocked}, {"wall clock", 0, false}} {
		t.Run(c.name, func(t *testing.T) {
			m.start(Budget, c.clock, c.clocked)
			m.expire() // the previous run's, late
			m.mu.Lock()
			interrupted := m.interrupted
			m.mu.Unlock()
			m.end()
			if interrupted {
				t.Error("a run just begun was interrupted by the timer of the run before it")
			}
		})
	}
}
