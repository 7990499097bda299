package node

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"openfront.dev/daemon/admin"
	"openfront.dev/daemon/gitsync"
	"openfront.dev/internal/testenv"
)

// gitCfg is a config/cdn.cue that routes site.test to origin; the bad one
// has an invalid viewerProtocolPolicy on line 8.
func gitCfg(origin string, bad bool) string {
	policy := "allow-all"
	if bad {
		policy = "sometimes"
	}
	return fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {
		targetOriginId:       "app"
		viewerProtocolPolicy: %q
	}
}

tests: [{url: "http://site.test/", expect: distribution: "site"}]
`, origin, policy)
}

// gitRepo is a bare repository in a temp dir, pushed to from a clone.
type gitRepo struct {
	t          *testing.T
	bare, work string
}

func (g *gitRepo) git(dir string, args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
		"GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func newGitRepo(t *testing.T) *gitRepo {
	if _, err := exec.LookPath("git"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("git is needed: %v", err)
		}
		t.Skipf("git is not installed: %v", err)
	}
	base := t.TempDir()
	g := &gitRepo{t: t, bare: filepath.Join(base, "cdn.git"), work: filepath.Join(base, "work")}
	g.git(base, "init", "--quiet", "--bare", "-b", "main", g.bare)
	g.git(base, "init", "--quiet", "-b", "main", g.work)
	g.git(g.work, "remote", "add", "origin", g.bare)
	return g
}

// push commits config/cdn.cue and pushes it to main; it returns the commit.
func (g *gitRepo) push(msg, cdn string) string {
	g.t.Helper()
	os.MkdirAll(filepath.Join(g.work, "config"), 0o755)
	if err := os.WriteFile(filepath.Join(g.work, "config", "cdn.cue"), []byte(cdn), 0o644); err != nil {
		g.t.Fatal(err)
	}
	g.git(g.work, "add", "-A")
	g.git(g.work, "commit", "--quiet", "-m", msg)
	g.git(g.work, "push", "--quiet", "origin", "HEAD:main")
	return g.git(g.work, "rev-parse", "HEAD")
}

// gitNode is a node serving from a gitRepo, with a client for site.test.
type gitNode struct {
	t      *testing.T
	node   *Node
	client *http.Client
	secret []byte
}

func startGitNode(t *testing.T, repo *gitRepo, poll time.Duration) *gitNode {
	t.Helper()
	return startGitNodeLogging(t, repo, poll, testLogger(t))
}

// startGitNodeLogging is startGitNode logging to log.
func startGitNodeLogging(t *testing.T, repo *gitRepo, poll time.Duration, log *slog.Logger) *gitNode {
	t.Helper()
	return startGitNodeWith(t, repo, poll, Options{Logger: log})
}

// startGitNodeWith is startGitNode with o's Logger and compile bounds.
func startGitNodeWith(t *testing.T, repo *gitRepo, poll time.Duration, o Options) *gitNode {
	t.Helper()
	secret := []byte("s3cret")
	secretFile := filepath.Join(t.TempDir(), "webhook-secret")
	os.WriteFile(secretFile, append(secret, '\n'), 0o600)
	n, err := Start(Options{
		Git:      GitOptions{URL: repo.bare, Dir: filepath.Join(t.TempDir(), "git"), Subdir: "config", Poll: poll, WebhookSecretFile: secretFile},
		HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", NodeName: nodeName, DrainTimeout: 5 * time.Second, Logger: o.Logger,
		CompileTimeout: o.CompileTimeout, CompileMemory: o.CompileMemory,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, n.Addr("http").String())
	}}
	g := &gitNode{t: t, node: n, client: &http.Client{Transport: tr, Timeout: 5 * time.Second}, secret: secret}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		n.Shutdown(context.Background())
	})
	// The syncer fetches once more as it starts running, after Start's
	// fetch: a commit pushed before that ran would deploy without a
	// webhook or a poll (seen on a loaded machine).
	for deadline := time.Now().Add(10 * time.Second); g.status().Git.Fetches < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the syncer did not fetch as it started: %+v", g.status().Git)
		}
	}
	return g
}

// served is the body of http://site.test/ through the node.
func (g *gitNode) served() string {
	g.t.Helper()
	resp, err := g.client.Get("http://site.test/")
	if err != nil {
		g.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(string(b))
}

// waitServed polls until the node serves want and returns how long it took.
func (g *gitNode) waitServed(want string, limit time.Duration) time.Duration {
	g.t.Helper()
	start := time.Now()
	for g.served() != want {
		if time.Since(start) > limit {
			g.t.Fatalf("not serving %q within %v (serving %q)", want, limit, g.served())
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func (g *gitNode) hook(signature string) int {
	g.t.Helper()
	body := []byte(`{"ref":"refs/heads/main"}`)
	req, _ := http.NewRequest("POST", "http://"+g.node.Addr("admin").String()+"/hooks/git", bytes.NewReader(body))
	if signature == "" {
		signature = gitsync.Sign(g.secret, body)
	}
	req.Header.Set("X-Hub-Signature-256", signature)
	req.Header.Set("X-GitHub-Event", "push")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		g.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (g *gitNode) status() admin.Status {
	g.t.Helper()
	return adminStatus(g.t, g.node)
}

// adminStatus is n's GET /status.
func adminStatus(t *testing.T, n *Node) admin.Status {
	t.Helper()
	resp, err := http.Get("http://" + n.Addr("admin").String() + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st admin.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// origins are two servers that answer with their color, uncacheable. They
// close each connection: the node keeps idle origin connections past
// Shutdown, which would count as goroutines left behind.
func origins(t *testing.T) (blue, green string) {
	t.Helper()
	addr := func(color string) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Connection", "close")
			io.WriteString(w, color+"\n")
		}))
		t.Cleanup(srv.Close)
		return srv.Listener.Addr().String()
	}
	return addr("blue"), addr("green")
}

// git push deploys: after a webhook, a good commit is served; a bad one is
// not and /status names it with its error; the fix is served; a webhook
// with a bad signature is refused and fetches nothing.
func TestGitPushWebhook(t *testing.T) {
	blue, green := origins(t)
	repo := newGitRepo(t)
	first := repo.push("blue", gitCfg(blue, false))
	g := startGitNode(t, repo, time.Hour) // no poll within the test: only webhooks fetch
	if got := g.served(); got != "blue" {
		t.Fatalf("serving %q at start", got)
	}
	if st := g.status(); st.Git == nil || st.Git.Applied != first || st.SourceCommit != first || st.Git.CheckedOut.SHA != first {
		t.Fatalf("status at start: %+v", st.Git)
	}

	good := repo.push("green", gitCfg(green, false))
	if code := g.hook("sha256=" + strings.Repeat("0", 64)); code != http.StatusUnauthorized {
		t.Errorf("webhook with a bad signature: %d, want 401", code)
	}
	if code := g.hook("sha256=zz"); code != http.StatusUnauthorized {
		t.Errorf("webhook with a malformed signature: %d, want 401", code)
	}
	time.Sleep(300 * time.Millisecond)
	if got := g.served(); got != "blue" {
		t.Fatalf("a refused webhook deployed: serving %q", got)
	}
	if code := g.hook(""); code != http.StatusAccepted {
		t.Fatalf("webhook: %d, want 202", code)
	}
	d := g.waitServed("green", 3*time.Second)
	t.Logf("webhook to serving the new commit: %v", d)
	if st := g.status(); st.Git.Applied != good || st.SourceCommit != good {
		t.Errorf("applied %s, source commit %s, want %s", st.Git.Applied, st.SourceCommit, good)
	}

	appliedAt := g.status().AppliedAt
	bad := repo.push("break the policy", gitCfg(blue, true))
	if code := g.hook(""); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
	var st admin.Status
	deadline := time.Now().Add(3 * time.Second)
	for st = g.status(); st.Git.LastRejected == nil; st = g.status() {
		if time.Now().After(deadline) {
			t.Fatalf("the bad commit is not rejected within 3s: %+v", st.Git)
		}
		time.Sleep(10 * time.Millisecond)
	}
	rj := st.Git.LastRejected
	if rj.SHA != bad || rj.Subject != "break the policy" || len(rj.Errors) == 0 {
		t.Fatalf("last rejected %+v, want %s with errors", rj, bad)
	}
	if e := rj.Errors[0]; e.File != "config/cdn.cue" || e.Line != 8 || !strings.Contains(e.Msg, "sometimes") {
		t.Errorf("rejected error %+v, want config/cdn.cue line 8 naming the value", e)
	}
	if got := g.served(); got != "green" {
		t.Errorf("serving %q after a bad commit, want the last good (green)", got)
	}
	if st.Git.Applied != good || st.Git.CheckedOut.SHA != good || st.Git.Head != bad {
		t.Errorf("applied %s checked out %s head %s; want %s, %s, %s", st.Git.Applied, st.Git.CheckedOut.SHA, st.Git.Head, good, good, bad)
	}
	if !st.AppliedAt.Equal(appliedAt) {
		t.Errorf("appliedAt moved from %v to %v: the table did not change", appliedAt, st.AppliedAt)
	}
	if st.Config.LastError == nil || len(st.Config.LastError.Errors) == 0 {
		t.Errorf("config.lastError %+v", st.Config.LastError)
	}

	fix := repo.push("fix the policy", gitCfg(blue, false))
	if code := g.hook(""); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
	d = g.waitServed("blue", 3*time.Second)
	t.Logf("webhook to serving the fix: %v", d)
	st = g.status()
	if st.Git.Applied != fix || st.Git.LastRejected == nil || st.Git.LastRejected.SHA != bad || st.Config.Failing {
		t.Errorf("after the fix: applied %s, last rejected %+v, failing %v", st.Git.Applied, st.Git.LastRejected, st.Config.Failing)
	}
}

// A rejected commit's error is logged once, at its path in the
// repository: not also at the checkout's absolute path, which names
// another commit's file once current is rolled back.
func TestGitRejectedLoggedOnce(t *testing.T) {
	blue, _ := origins(t)
	repo := newGitRepo(t)
	repo.push("blue", gitCfg(blue, false))
	var logs testenv.Buffer
	g := startGitNodeLogging(t, repo, time.Hour, slog.New(slog.NewTextHandler(io.MultiWriter(&logs, &logWriter{t: t}), nil)))
	repo.push("break the policy", gitCfg(blue, true))
	if code := g.hook(""); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
	// LastRejected is recorded after the rejection is logged and current
	// rolled back.
	deadline := time.Now().Add(3 * time.Second)
	for g.status().Git.LastRejected == nil {
		if time.Now().After(deadline) {
			t.Fatal("the bad commit is not rejected within 3s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	out := logs.String()
	if n := strings.Count(out, "cdn.cue:8:"); n != 1 {
		t.Errorf("the error is logged %d times, want once:\n%s", n, out)
	}
	if !strings.Contains(out, `error="config/cdn.cue:8:`) {
		t.Errorf("the error is not logged at config/cdn.cue, its path in the repository:\n%s", out)
	}
	// The table served never changed: nothing after the rejection says
	// one was applied, which reads as the bad commit's.
	if _, after, _ := strings.Cut(out, "commit rejected"); strings.Contains(after, "table applied") || strings.Contains(after, "applied=true") {
		t.Errorf("a table is logged as applied after the rejection:\n%s", after)
	}
}

// A pushed commit whose compile never ends is rejected once past
// --compile-timeout, naming the commit; the last good one keeps serving and
// the next push deploys.
func TestGitCommitPastItsBoundIsRejected(t *testing.T) {
	blue, green := origins(t)
	repo := newGitRepo(t)
	repo.push("blue", gitCfg(blue, false))
	g := startGitNodeWith(t, repo, time.Hour, Options{Logger: testLogger(t), CompileTimeout: 2 * time.Second})
	os.WriteFile(filepath.Join(repo.work, "config", "bomb.cue"), []byte(testenv.CPUBomb), 0o644)
	bomb := repo.push("an exponential comprehension", gitCfg(blue, false))
	if code := g.hook(""); code != http.StatusAccepted {
		t.Fatalf("webhook: %d", code)
	}
	deadline := time.Now().Add(time.Minute)
	for g.status().Git.LastRejected == nil {
		if time.Now().After(deadline) {
			t.Fatal("the bomb is not rejected within a minute")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := g.status().Git.LastRejected
	if want := "compiling took longer than 2s (commit " + bomb + ", directory config)"; r.SHA != bomb || !strings.Contains(r.Message, want) {
		t.Errorf("rejected %s: %q, want %s: %q", r.SHA, r.Message, bomb, want)
	}
	if got := g.served(); got != "blue" {
		t.Errorf("serving %q after the rejection, want blue", got)
	}
	os.Remove(filepath.Join(repo.work, "config", "bomb.cue"))
	repo.push("green", gitCfg(green, false))
	g.hook("")
	g.waitServed("green", time.Minute)
}

// Without a webhook, a push is served within one poll interval (plus the
// fetch and the compile); Shutdown leaves no goroutine behind.
func TestGitPushPoll(t *testing.T) {
	const poll = 300 * time.Millisecond
	blue, green := origins(t)
	repo := newGitRepo(t)
	repo.push("blue", gitCfg(blue, false))
	before := runtime.NumGoroutine()
	g := startGitNode(t, repo, poll)
	if got := g.served(); got != "blue" {
		t.Fatalf("serving %q at start", got)
	}
	var worst time.Duration
	for i, color := range []string{"green", "blue", "green"} {
		origin := map[string]string{"blue": blue, "green": green}[color]
		repo.push(fmt.Sprint("push ", i), gitCfg(origin, false))
		d := g.waitServed(color, 5*time.Second)
		t.Logf("push %d to serving: %v (poll %v)", i, d, poll)
		worst = max(worst, d)
	}
	// One interval, and the fetch, checkout and compile after it: a bound
	// with room for a loaded machine and the race detector.
	if limit := poll + 2*time.Second; worst > limit {
		t.Errorf("a push took %v to be served, want within %v", worst, limit)
	}
	m := scrape(t, "http://"+g.node.Addr("admin").String()+"/metrics")
	if m[`openfront_git_fetches_total{result="success"}`] < 4 || m["openfront_git_fetch_failing"] != 0 || m["openfront_git_last_fetch_success_timestamp_seconds"] == 0 || m["openfront_config_last_reload_successful"] != 1 {
		t.Errorf("/metrics: fetches %v, failing %v, last success %v, last reload successful %v", m[`openfront_git_fetches_total{result="success"}`],
			m["openfront_git_fetch_failing"], m["openfront_git_last_fetch_success_timestamp_seconds"], m["openfront_config_last_reload_successful"])
	}
	g.client.Transport.(*http.Transport).CloseIdleConnections()
	shutStart := time.Now()
	if err := g.node.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("shutdown took %v", time.Since(shutStart))

	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after Shutdown, %d before:\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A node not serving from git has no git status and no webhook.
func TestNoGitWebhook(t *testing.T) {
	e := start(t)
	resp, err := http.Post("http://"+e.node.Addr("admin").String()+"/hooks/git", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /hooks/git on a --config node: %d, want 404", resp.StatusCode)
	}
	if e.node.GitStatus() != nil {
		t.Error("git status on a --config node")
	}
}

// A warning of a config served from git names its file in the repository
// (config/cdn.cue), as a rejected commit's errors do, not under the
// node's checkout.
func TestGitWarningsNameTheRepositoryFile(t *testing.T) {
	blue, _ := origins(t)
	repo := newGitRepo(t)
	repo.push("with a staging distribution no policy names", gitCfg(blue, false)+`
distributions: stage: {
	staging: true
	origins: [{id: "app", domainName: "app.example.org", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
}
`)
	g := startGitNode(t, repo, time.Hour)
	ws := g.status().Config.Warnings
	if len(ws) == 0 {
		t.Fatal("/status has no config.warnings")
	}
	for _, w := range ws {
		if w.File != "config/cdn.cue" {
			t.Errorf("warning at %s:%d:%d, want config/cdn.cue: %s", w.File, w.Line, w.Col, w.Msg)
		}
	}
}
