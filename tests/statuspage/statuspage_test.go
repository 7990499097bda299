// Package statuspage tests the admin status page end to end: a real node
// with traffic, its page in headless Chromium driven by playwright-core
// (check.mjs), and a config error injected while the page is open.
package statuspage

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"openfront.dev/daemon/node"
	"openfront.dev/internal/testenv"
)

// browser is node and chromium, and skips the test (fails it in CI)
// without playwright-core.
func browser(t *testing.T) (nodejs, chromium string) {
	nodejs, chromium = testenv.Tool(t, "node"), testenv.Tool(t, "chromium")
	if _, err := os.Stat(filepath.Join("node_modules", "playwright-core")); err != nil {
		msg := "playwright-core is not installed: run npm ci --prefix tests/statuspage"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg + " (CI=true makes this a failure)")
	}
	return nodejs, chromium
}

func TestStatusPageInChromium(t *testing.T) {
	nodejs, chromium := browser(t)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		io.WriteString(w, strings.Repeat("x", 2048))
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["www.site.test", "site.test"]
	origins: [{id: "app", domainName: %[1]q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: queryString: true}
	logging: enabled: true
}
distributions: other: {
	aliases: ["other.test"]
	origins: [{id: "app", domainName: %[1]q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
	logging: {enabled: true, prefix: "blocked/other/"}
}
`, strings.TrimPrefix(app.URL, "http://"))
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	// other's log cannot start: a file is where its prefix's directory goes.
	logDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(logDir, "blocked"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := node.Start(node.Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", NodeName: "browser-test",
		CacheMemory: 8 << 20, LogDir: logDir, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })

	// Viewers, a few a second, some misses (new query values) among hits,
	// until the browser is done; bounded in count too.
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; i < 3000 && ctx.Err() == nil; i++ {
			req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("http://%s/page?v=%d", n.Addr("http"), i%7), nil)
			req.Host = "www.site.test"
			if resp, err := http.DefaultClient.Do(req); err == nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	})
	t.Cleanup(func() { stop(); wg.Wait() })

	run, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(run, nodejs, "check.mjs", "http://"+n.Addr("admin").String(), dir)
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	if shot := os.Getenv("STATUSPAGE_SCREENSHOT"); shot != "" {
		cmd.Env = append(cmd.Env, "SCREENSHOT="+shot)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the status page check failed: %v\n%s", err, out)
	}
	t.Logf("the page showed: %s", out)
}

// TestStatusPageGitRejectionShownOnce: serving a git branch, a rejected
// commit is shown on the page once, at its path in the repository.
func TestStatusPageGitRejectionShownOnce(t *testing.T) {
	nodejs, chromium := browser(t)
	gitBin := testenv.Tool(t, "git")
	base := t.TempDir()
	bare, work := filepath.Join(base, "remote.git"), filepath.Join(base, "work")
	git := func(dir string, args ...string) {
		t.Helper()
		cmd := exec.Command(gitBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_GLOBAL=/dev/null", "GIT_CONFIG_NOSYSTEM=1",
			"GIT_AUTHOR_NAME=Dev", "GIT_AUTHOR_EMAIL=dev@example.com", "GIT_COMMITTER_NAME=Dev", "GIT_COMMITTER_EMAIL=dev@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	push := func(policy string) {
		t.Helper()
		cfg := `package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "o", domainName: "o.example", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "o", viewerProtocolPolicy: "` + policy + `"}
}
`
		if err := os.WriteFile(filepath.Join(work, "cdn.cue"), []byte(cfg), 0o644); err != nil {
			t.Fatal(err)
		}
		git(work, "add", "-A")
		git(work, "commit", "--quiet", "-m", policy)
		git(work, "push", "--quiet", "origin", "HEAD:main")
	}
	git(base, "init", "--quiet", "--bare", "-b", "main", bare)
	git(base, "init", "--quiet", "-b", "main", work)
	git(work, "remote", "add", "origin", bare)
	push("allow-all")
	n, err := node.Start(node.Options{Git: node.GitOptions{URL: bare, Dir: filepath.Join(base, "clone"), Poll: -1},
		HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", CacheMemory: 8 << 20, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	push("sometimes")
	n.Reload() // fetches
	deadline := time.Now().Add(10 * time.Second)
	for st := n.GitStatus(); st.LastRejected == nil; st = n.GitStatus() {
		if time.Now().After(deadline) {
			t.Fatalf("the bad commit is not rejected: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}

	run, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(run, nodejs, "checkgit.mjs", "http://"+n.Addr("admin").String())
	cmd.Env = append(os.Environ(), "CHROMIUM="+chromium)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the status page check failed: %v\n%s", err, out)
	}
	t.Logf("the page showed: %s", out)
}
