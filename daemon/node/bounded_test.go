package node

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"openfront.dev/daemon/admin"
	"openfront.dev/daemon/compileworker"
	"openfront.dev/internal/testenv"
)

func TestMain(m *testing.M) { compileworker.RunTests(m) } // Start compiles in a child of this binary

// startBounded starts a node on dir within a minute, whatever the config
// does (in-process, a bomb never returns).
func startBounded(t *testing.T, o Options) (*Node, error) {
	t.Helper()
	type started struct {
		n   *Node
		err error
	}
	done := make(chan started, 1)
	go func() {
		n, err := Start(o)
		done <- started{n, err}
	}()
	select {
	case s := <-done:
		if s.n != nil {
			t.Cleanup(func() { s.n.Shutdown(context.Background()) })
		}
		return s.n, s.err
	case <-time.After(time.Minute):
		t.Fatal("Start did not return within a minute")
		return nil, nil
	}
}

// A change whose compile goes past a bound is rejected: the node keeps
// serving its table, /status and /metrics say so, and a later change
// applies.
func TestACompilePastItsBoundIsRejected(t *testing.T) {
	for _, tc := range []struct {
		name, bomb string
		timeout    time.Duration
		memory     int64
		want       string
	}{
		{"time", testenv.CPUBomb, 2 * time.Second, 0, "compiling took longer than 2s"},
		{"memory", testenv.MemoryBomb, time.Minute, 200 << 20, "compiling used more than 200 MiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			main := filepath.Join(dir, "main.cue")
			os.WriteFile(main, []byte(testenv.SiteConfig("one")), 0o644)
			n, err := startBounded(t, Options{ConfigDir: dir, AdminAddr: "127.0.0.1:0", CompileTimeout: tc.timeout, CompileMemory: tc.memory, Logger: testLogger(t)})
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dir, "bomb.cue"), []byte(tc.bomb), 0o644)
			st := waitAdminStatus(t, n, "the bomb rejected", func(s admin.Status) bool { return s.Config.Failing })
			if msg := st.Config.LastError.Message; !strings.Contains(msg, tc.want) || !strings.Contains(msg, dir) {
				t.Errorf("/status config.lastError %q, want %q naming %s", msg, tc.want, dir)
			}
			if got := n.Table().Config().Distributions["site"].Comment; got != "one" {
				t.Errorf("serving comment %q, want the last good table's", got)
			}
			if m := scrape(t, "http://"+n.Addr("admin").String()+"/metrics"); m[`openfront_config_reload_total{result="failure"}`] != 1 {
				t.Errorf("/metrics counts %v failed reloads, want 1", m[`openfront_config_reload_total{result="failure"}`])
			}
			os.Remove(filepath.Join(dir, "bomb.cue"))
			os.WriteFile(main, []byte(testenv.SiteConfig("two")), 0o644)
			waitAdminStatus(t, n, "the next change applied", func(s admin.Status) bool {
				return !s.Config.Failing && n.Table().Config().Distributions["site"].Comment == "two"
			})
		})
	}
}

// A node starting on a config past a bound fails, saying so.
func TestStartFailsOnACompilePastItsBound(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cue"), []byte(testenv.SiteConfig("one")), 0o644)
	os.WriteFile(filepath.Join(dir, "bomb.cue"), []byte(testenv.CPUBomb), 0o644)
	n, err := startBounded(t, Options{ConfigDir: dir, CompileTimeout: 2 * time.Second, Logger: testLogger(t)})
	if err == nil || !strings.Contains(err.Error(), "compiling took longer than 2s") {
		t.Fatalf("Start: %v (node %v), want the timeout", err, n)
	}
}

// waitAdminStatus polls /status for a minute until ok.
func waitAdminStatus(t *testing.T, n *Node, what string, ok func(admin.Status) bool) admin.Status {
	t.Helper()
	var st admin.Status
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if st = adminStatus(t, n); ok(st) {
			return st
		}
	}
	t.Fatalf("%s: not within a minute; /status config: %+v", what, st.Config)
	return st
}

// The config's warnings, which the worker compiles as vet does, reach the
// node's log (with their place and the commit) and /status.
func TestWorkerWarningsAreShown(t *testing.T) {
	base := t.TempDir()
	const commit = "0123456789abcdef0123456789abcdef01234567"
	os.Mkdir(filepath.Join(base, ".git"), 0o755)
	os.WriteFile(filepath.Join(base, ".git", "HEAD"), []byte(commit+"\n"), 0o644)
	dir := filepath.Join(base, "config")
	os.Mkdir(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "main.cue"), []byte(testenv.SiteConfig("one")), 0o644)
	stage := filepath.Join(dir, "stage.cue")
	os.WriteFile(stage, []byte(`package cdn

distributions: stage: {
	staging: true
	origins: [{id: "web", domainName: "web.example.org", customOriginConfig: {originProtocolPolicy: "https-only"}}]
	defaultCacheBehavior: {targetOriginId: "web", viewerProtocolPolicy: "redirect-to-https"}
}
`), 0o644)
	logFile := filepath.Join(t.TempDir(), "log")
	f, err := os.Create(logFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n, err := startBounded(t, Options{ConfigDir: dir, AdminAddr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(f, nil))})
	if err != nil {
		t.Fatal(err)
	}
	const msg = `distribution \"stage\": no continuous deployment policy names this staging distribution`
	found := false
	for _, w := range adminStatus(t, n).Config.Warnings {
		found = found || w.File == stage && w.Line == 4 && w.Col == 11 && strings.Contains(w.Msg, strings.ReplaceAll(msg, `\"`, `"`))
	}
	if !found {
		t.Errorf("/status config.warnings %+v lack %s:4:11's", adminStatus(t, n).Config.Warnings, stage)
	}
	log, _ := os.ReadFile(logFile)
	if want := fmt.Sprintf(`level=WARN msg="config warning; served all the same" config=%s warning="%s:4:11: warning: %s`, dir, stage, msg); !strings.Contains(string(log), want) || !strings.Contains(string(log), "commit="+commit) {
		t.Errorf("log lacks %s (and commit=%s):\n%s", want, commit, log)
	}
}
