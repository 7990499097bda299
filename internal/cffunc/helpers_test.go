package cffunc

import "time"

// compile is Compile with a budget no loaded test machine reaches: the
// tests that use it check what a run does, not how long it may take, and
// a busy CI machine can stall a run past the 20 ms wall-clock Budget. The
// budget's own tests (TestContextBudget) use Compile.
func compile(name, runtime, code string) (*Function, error) {
	f, err := Compile(name, runtime, code)
	if err == nil {
		f.SetBudget(time.Minute)
	}
	return f, err
}
