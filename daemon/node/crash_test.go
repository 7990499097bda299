package node_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"openfront.dev/cli"
	"openfront.dev/internal/testenv"
)

// serveHelperEnv holds the arguments of `openfront` when the test binary
// runs as the daemon.
const serveHelperEnv = "OPENFRONT_TEST_SERVE_ARGS"

// TestServeHelper is the daemon of TestAccessLogsSurviveKill, in its own
// process: cli.Main, as the openfront binary runs it.
func TestServeHelper(t *testing.T) {
	args := os.Getenv(serveHelperEnv)
	if args == "" {
		t.Skip("runs only as TestAccessLogsSurviveKill's daemon")
	}
	var a []string
	if err := json.Unmarshal([]byte(args), &a); err != nil {
		t.Fatal(err)
	}
	os.Exit(cli.Main(a, os.Stdout, os.Stderr))
}

const crashConfig = `package cdn

distributions: crash: {
	aliases: ["crash.test"]
	logging: enabled: true
	origins: [{id: "files", localOriginConfig: path: "site"}]
	defaultCacheBehavior: {targetOriginId: "files", viewerProtocolPolicy: "allow-all", defaultTTL: 3600}
}
`

// daemon is one run of `openfront serve` on the test's directories.
type daemon struct {
	cmd         *exec.Cmd
	http, admin string
	stderr      bytes.Buffer
}

func startDaemon(t *testing.T, configDir, logDir string) *daemon {
	t.Helper()
	ports := testenv.FreePorts(t, 2)
	d := &daemon{http: fmt.Sprintf("127.0.0.1:%d", ports[0]), admin: fmt.Sprintf("127.0.0.1:%d", ports[1])}
	args, _ := json.Marshal([]string{"serve", "--config", configDir, "--http", d.http, "--https=", "--rtmp=", "--admin", d.admin,
		"--log-dir", logDir, "--node-name", "CRASH1", "--drain-timeout", "10s"})
	d.cmd = exec.Command(os.Args[0], "-test.run=^TestServeHelper$", "-test.count=1")
	d.cmd.Env = append(os.Environ(), serveHelperEnv+"="+string(args))
	d.cmd.Stderr = &d.stderr
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if d.cmd.ProcessState == nil {
			d.cmd.Process.Kill()
			d.cmd.Wait()
		}
	})
	for range 200 {
		if resp, err := http.Get("http://" + d.admin + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return d
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the daemon did not get ready:\n%s", d.stderr.String())
	return nil
}

// metric sums the daemon's series of name for the crash distribution.
func (d *daemon) metric(t *testing.T, name string) int {
	t.Helper()
	resp, err := http.Get("http://" + d.admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	n := 0.0
	for l := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(l, name+"{") && strings.Contains(l, `distribution="crash"`) {
			v, _ := strconv.ParseFloat(l[strings.LastIndexByte(l, ' ')+1:], 64)
			n += v
		}
	}
	return int(n)
}

// load sends requests from workers until stop is closed; done holds the
// request ids of responses received, in order.
type load struct {
	mu       sync.Mutex
	done     []string
	answered int // responses of any status
	stop     chan struct{}
	wg       sync.WaitGroup
	// gate is held for reading through each request: Lock pauses the
	// load once the requests in flight are answered.
	gate sync.RWMutex
}

const loadWorkers = 4

func startLoad(t *testing.T, addr string) *load {
	l := &load{stop: make(chan struct{})}
	for w := range loadWorkers {
		l.wg.Go(func() {
			c := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				req, _ := http.NewRequest("GET", fmt.Sprintf("http://%s/page-%d.html?w=%d&i=%d", addr, i%4, w, i), nil)
				req.Host = "crash.test"
				l.gate.RLock()
				resp, err := c.Do(req)
				if err != nil {
					l.gate.RUnlock()
					return // the daemon was killed
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				l.mu.Lock()
				l.answered++
				if id := resp.Header.Get("X-Openfront-Id"); resp.StatusCode == 200 && id != "" {
					l.done = append(l.done, id)
				}
				l.mu.Unlock()
				l.gate.RUnlock()
				time.Sleep(time.Millisecond) // a bounded load on a shared machine
			}
		})
	}
	return l
}

func (l *load) received() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.done...)
}

func (l *load) answers() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answered
}

func (l *load) finish() []string {
	close(l.stop)
	l.wg.Wait()
	return l.received()
}

// TestAccessLogsSurviveKill kills the daemon with SIGKILL under load,
// restarts it on the same --log-dir, twice, then stops it with SIGTERM.
// A line is known acknowledged when the daemon's
// openfront_log_lines_written_total (lines in fsynced gzip members)
// covers it (see the loop). Every acknowledged
// line must be in the logs exactly once after the restarts, no line twice,
// and after SIGTERM every answered request is logged.
func TestAccessLogsSurviveKill(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon several times")
	}
	dir := t.TempDir()
	configDir, logDir := filepath.Join(dir, "config"), filepath.Join(dir, "logs")
	os.MkdirAll(filepath.Join(configDir, "site"), 0o755)
	os.WriteFile(filepath.Join(configDir, "main.cue"), []byte(crashConfig), 0o644)
	for i := range 4 {
		os.WriteFile(filepath.Join(configDir, "site", fmt.Sprintf("page-%d.html", i)), []byte(strings.Repeat("x", 500+i)), 0o644)
	}

	acked := map[string]bool{}
	var all []string
	const kills = 2
	for cycle := range kills + 1 {
		d := startDaemon(t, configDir, logDir)
		l := startLoad(t, d.http)
		time.Sleep(700 * time.Millisecond)
		// A request is counted (openfront_requests_total) just before its
		// line is queued, a moment after the client may have its response
		// (longer on a loaded machine); lines are acknowledged
		// (written_total) in the order they were queued. With the load
		// paused and nothing in flight, once the count reaches the answers
		// and written reaches the count, every line of got is on disk.
		l.gate.Lock()
		got, answered := l.received(), l.answers()
		deadline := time.Now().Add(10 * time.Second)
		need := d.metric(t, "openfront_requests_total")
		for ; need < answered; need = d.metric(t, "openfront_requests_total") {
			if time.Now().After(deadline) {
				t.Fatalf("cycle %d: %d requests counted, want the %d answered", cycle, need, answered)
			}
			time.Sleep(10 * time.Millisecond)
		}
		for d.metric(t, "openfront_log_lines_written_total") < need {
			if time.Now().After(deadline) {
				t.Fatalf("cycle %d: %d lines acknowledged, want %d", cycle, d.metric(t, "openfront_log_lines_written_total"), need)
			}
			time.Sleep(100 * time.Millisecond)
		}
		l.gate.Unlock()
		for _, id := range got {
			acked[id] = true
		}
		time.Sleep(300 * time.Millisecond) // more lines, some not acknowledged
		sig := syscall.SIGKILL
		if cycle == kills {
			sig = syscall.SIGTERM
		}
		d.cmd.Process.Signal(sig)
		done := l.finish()
		err := d.cmd.Wait()
		if sig == syscall.SIGTERM {
			if err != nil {
				t.Fatalf("SIGTERM: %v\n%s", err, d.stderr.String())
			}
			for _, id := range done {
				acked[id] = true // after a clean stop, every answer is logged
			}
		}
		all = append(all, done...)
		t.Logf("cycle %d: %d requests answered, %d acknowledged so far", cycle, len(done), len(acked))
	}

	count := map[string]int{}
	lines := 0
	err := filepath.WalkDir(logDir, func(path string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		if !strings.HasSuffix(path, ".gz") {
			t.Errorf("%s left after SIGTERM", path)
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		z, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		text, err := io.ReadAll(z)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for l := range strings.SplitSeq(string(text), "\n") {
			if l == "" || l[0] == '#' {
				continue
			}
			f := strings.Split(l, "\t")
			if len(f) != 33 {
				t.Errorf("%s: a line of %d fields: %q", path, len(f), l)
				continue
			}
			count[f[14]]++
			lines++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for id, n := range count {
		if n > 1 {
			t.Errorf("request %s logged %d times", id, n)
		}
	}
	lost := 0
	for id := range acked {
		if count[id] != 1 {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged lines missing", lost, len(acked))
	}
	t.Logf("%d lines in the logs, %d requests answered, %d acknowledged", lines, len(all), len(acked))
}
