package cli

import (
	"testing"

	"openfront.dev/daemon/compileworker"
)

func TestMain(m *testing.M) { compileworker.RunTests(m) } // serve compiles in a child of this binary
