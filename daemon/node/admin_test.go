package node

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"openfront.dev/daemon/admin"
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

// TestAdminTokenFileAtStart: a token file the node cannot use fails the
// start, naming the flag and why; one that others can read is a warning.
func TestAdminTokenFileAtStart(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // past the umask
			t.Fatal(err)
		}
		return p
	}
	for _, tt := range []struct {
		name, file string
		err, warn  string
	}{
		{"missing", filepath.Join(dir, "none"), "--admin-token-file: token: open", ""},
		{"empty", write("empty", "", 0o600), "--admin-token-file: token: " + filepath.Join(dir, "empty") + " is empty", ""},
		{"blank", write("blank", " \n", 0o600), "is empty", ""},
		{"a directory", dir, "is a directory", ""},
		{"two lines", write("wrapped", strings.Repeat("A", 64)+"\n"+strings.Repeat("B", 24)+"\n", 0o600), "holds a line break", ""},
		{"private, with a newline", write("ok", "s3cret\n", 0o600), "", ""},
		{"readable by all", write("shared", "s3cret\n", 0o644), "", "readable by other users"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			logFile, err := os.Create(filepath.Join(t.TempDir(), "log"))
			if err != nil {
				t.Fatal(err)
			}
			defer logFile.Close()
			n, err := Start(Options{ConfigDir: "../../examples/quickstart", AdminAddr: "127.0.0.1:0", AdminTokenFile: tt.file, NodeName: "token-test",
				CacheMemory: 8 << 20, Logger: slog.New(slog.NewTextHandler(logFile, nil))})
			if err == nil {
				n.Shutdown(context.Background())
			}
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("Start: %v, want an error saying %q", err, tt.err)
			}
			log, _ := os.ReadFile(logFile.Name())
			if warned := strings.Contains(string(log), "readable by other users"); warned != (tt.warn != "") {
				t.Errorf("warned %v, want %v:\n%s", warned, tt.warn != "", log)
			}
		})
	}
}

// TestStatusTrafficStreaming: the status page's card of a streaming
// distribution shows the bytes its RTMP viewers were sent, as a web
// distribution's shows its responses' (the issue: "each distribution
// with ... bytes over the last minutes").
func TestStatusTrafficStreaming(t *testing.T) {
	e := startLeakEnv(t)
	e.cycle(1) // an odd table: streaming distribution tv, a live publish and play
	sent := e.metrics()[`openfront_rtmp_sent_bytes_total{distribution="tv"}`]
	if sent == 0 {
		t.Fatal("/metrics counts no byte sent to tv's RTMP clients")
	}
	var tv admin.DistributionTraffic
	deadline := time.Now().Add(10 * time.Second) // the sampler runs every 2 s
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + e.node.Addr("admin").String() + "/status/traffic")
		if err != nil {
			t.Fatal(err)
		}
		var st admin.TrafficStatus
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range st.Distributions {
			if d.ID == "tv" {
				tv = d
			}
		}
		if tv.Bytes >= sent {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Errorf("/status/traffic shows %v bytes sent by streaming distribution tv (%+v); /metrics counts %v", tv.Bytes, tv, sent)
}
