package schema_test

import (
	"os/exec"
	"testing"
)

// TestCueVet runs the real cue CLI (a tool in go.mod) over the schema, the
// policies and every example, as a config repo's CI would.
func TestCueVet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the cue CLI")
	}
	cmd := exec.Command("go", "tool", "cue", "vet", "-c", "./schema/", "./policies/", "./examples/...")
	cmd.Dir = ".."
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go tool cue vet: %v\n%s", err, out)
	}
}
