package statuspage

import (
	"testing"

	"openfront.dev/daemon/compileworker"
)

func TestMain(m *testing.M) { compileworker.RunTests(m) } // the node compiles in a child of this binary
