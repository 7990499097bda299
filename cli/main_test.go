package cli

import (
	"os"
	"path/filepath"
	"testing"

	"openfront.dev/daemon/compileworker"
)

// serve compiles in a child of this binary (compileworker.RunTests).
func TestMain(m *testing.M) { compileworker.RunTests(cleanAfter{m}) }

// cleanAfter runs the tests, then removes what they shared across tests.
type cleanAfter struct{ m *testing.M }

func (c cleanAfter) Run() int {
	code := c.m.Run()
	if signKeyFile != "" { // testSignKey's, kept for every test
		os.RemoveAll(filepath.Dir(signKeyFile))
	}
	return code
}
