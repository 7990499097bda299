package node

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestAdminOffLoopbackWarns: the admin listener's pages take no token, so
// a node whose admin listener is reachable from elsewhere says so at start.
func TestAdminOffLoopbackWarns(t *testing.T) {
	for _, tt := range []struct {
		addr string
		warn bool
	}{
		{"127.0.0.1:0", false},
		{"localhost:0", false},
		{"0.0.0.0:0", true},
	} {
		t.Run(tt.addr, func(t *testing.T) {
			// A file: the node's goroutines may log while the test reads.
			logFile, err := os.Create(filepath.Join(t.TempDir(), "log"))
			if err != nil {
				t.Fatal(err)
			}
			defer logFile.Close()
			n, err := Start(Options{ConfigDir: "../../examples/quickstart", AdminAddr: tt.addr, NodeName: "warn-test",
				CacheMemory: 8 << 20, Logger: slog.New(slog.NewTextHandler(logFile, nil))})
			if err != nil {
				t.Fatal(err)
			}
			n.Shutdown(context.Background())
			log, err := os.ReadFile(logFile.Name())
			if err != nil {
				t.Fatal(err)
			}
			if warned := strings.Contains(string(log), "not on loopback"); warned != tt.warn {
				t.Errorf("warned %v, want %v:\n%s", warned, tt.warn, log)
			}
		})
	}
}
