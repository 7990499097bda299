package cli

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"openfront.dev/daemon/node"
)

// TestInvalidate runs a node with a cached origin and the command
// against its admin listener: what a viewer gets before and after, and
// what the command says when it cannot.
func TestInvalidate(t *testing.T) {
	dir, version := versionedSite(t, "")
	token := filepath.Join(t.TempDir(), "token")
	wrong := filepath.Join(t.TempDir(), "wrong")
	os.WriteFile(token, []byte("s3cret\n"), 0o600)
	os.WriteFile(wrong, []byte("guess\n"), 0o600)
	empty := filepath.Join(t.TempDir(), "empty")
	os.WriteFile(empty, []byte("\n"), 0o600)
	wrapped := filepath.Join(t.TempDir(), "wrapped") // openssl rand -base64 64
	os.WriteFile(wrapped, []byte(strings.Repeat("A", 64)+"\n"+strings.Repeat("B", 24)+"\n"), 0o600)
	n, err := node.Start(node.Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", AdminTokenFile: token,
		NodeName: "here", CacheMemory: 8 << 20, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	adminAddr := n.Addr("admin").String()
	// A listener that stops answering, as a node behind a firewall that
	// drops packets would: at once for distribution "hangs", after the
	// POST for the others.
	hang := make(chan struct{})
	silent := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !strings.Contains(r.URL.Path, "/hangs/") {
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id": "IWAITING", "distributionId": "site", "status": "InProgress"}`)
			return
		}
		<-hang
	}))
	t.Cleanup(silent.Close)
	t.Cleanup(func() { close(hang) })
	get := func(path string) string { return viewerGet(t, n, path) }
	for _, p := range []string{"/a.html", "/img/1.png", "/keep.css"} {
		get(p)
		if got := get(p); !strings.HasPrefix(got, "Hit v1") {
			t.Fatalf("%s: %q, want a v1 hit", p, got)
		}
	}
	version.Store(2)

	id := regexp.MustCompile(`^I[A-Z2-7]{13}\n$`)
	tests := []struct {
		name           string
		args           []string
		code           int
		stdout, stderr string // regexp, substring
	}{
		{"no paths", []string{"--token-file", token, "--distribution", "site"}, exitUsage, "", "usage: openfront invalidate"},
		{"no token file", []string{"--distribution", "site", "/a.html"}, exitUsage, "", "usage"},
		{"unreadable token file", []string{"--token-file", token + ".nope", "--distribution", "site", "/a.html"}, exitFail, "", "token:"},
		{"empty token file", []string{"--token-file", empty, "--distribution", "site", "/a.html"}, exitFail, "", "token: " + empty + " is empty"},
		{"token file of two lines", []string{"--token-file", wrapped, "--distribution", "site", "/a.html"}, exitFail, "", "token: " + wrapped + " holds a line break"},
		{"wrong token", []string{"--token-file", wrong, "--distribution", "site", "/a.html"}, exitFail, "", "401 Unauthorized: AccessDenied"},
		{"unknown distribution", []string{"--token-file", token, "--distribution", "nope", "/a.html"}, exitFail, "", `NoSuchDistribution: no web distribution "nope"`},
		{"bad path", []string{"--token-file", token, "--distribution", "site", "a.html"}, exitFail, "", `path "a.html" does not start with /`},
		{"no node there", []string{"--admin", "127.0.0.1:1", "--token-file", token, "--distribution", "site", "/a.html"}, exitFail, "", "connection refused"},
		{"no answer", []string{"--admin", silent.URL, "--timeout", "50ms", "--caller-reference", "slow", "--token-file", token, "--distribution", "hangs", "/a.html"}, exitFail, "",
			"no answer from " + silent.URL + " within --timeout 50ms; the invalidation may have been made: retrying with --caller-reference slow is safe"},
		{"no answer while waiting", []string{"--admin", silent.URL, "--timeout", "200ms", "--token-file", token, "--distribution", "site", "/a.html"}, exitFail, "^IWAITING\n$",
			"IWAITING still InProgress after 200ms"},
		{"invalidates and waits", []string{"--admin", adminAddr, "--token-file", token, "--distribution", "site", "--caller-reference", "deploy-2", "/a.html", "/img/*"}, exitOK, id.String(), "completed: 2 cached objects removed"},
		{"flags after paths, no wait", []string{"/keep.css", "--admin", "http://" + adminAddr + "/", "--token-file", token, "--distribution", "site", "--wait=false", "--caller-reference", "other"}, exitOK, id.String(), ""},
	}
	ids := map[string]string{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if !strings.Contains(strings.Join(args, " "), "--admin") {
				args = append([]string{"--admin", adminAddr}, args...)
			}
			var stdout, stderr bytes.Buffer
			code := Main(append([]string{"invalidate"}, args...), &stdout, &stderr)
			if code != tt.code || !regexp.MustCompile(tt.stdout).MatchString(stdout.String()) || !strings.Contains(stderr.String(), tt.stderr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %s, %q", code, stdout.String(), stderr.String(), tt.code, tt.stdout, tt.stderr)
			}
			ids[tt.name] = stdout.String()
		})
	}
	// Waiting meant done: the next requests go to the origin.
	for path, want := range map[string]string{"/a.html": "Miss v2", "/img/1.png": "Miss v2"} {
		if got := get(path); !strings.HasPrefix(got, want) {
			t.Errorf("after: %s is %q, want %q", path, got, want)
		}
	}
	// A retry with the same reference is the same invalidation.
	var stdout, stderr bytes.Buffer
	Main([]string{"invalidate", "--admin", adminAddr, "--token-file", token, "--distribution", "site", "--caller-reference", "deploy-2", "/img/*", "/a.html"}, &stdout, &stderr)
	if stdout.String() != ids["invalidates and waits"] {
		t.Errorf("retry printed %q, want %q (%s)", stdout.String(), ids["invalidates and waits"], stderr.String())
	}
}

// TestInvalidateFleet: with Origin Shield, a node refills a path it
// invalidated from its shield's copy, so one invalidation of the node
// alone still serves the old content once Completed. --admin names the
// nodes in order, each completed before the next is asked: the shield
// first, then the node, and the node serves the new content.
func TestInvalidateFleet(t *testing.T) {
	dir, version := versionedSite(t, `originShield: {enabled: true, originShieldRegion: "eu-west-1"}`)
	token, secret := filepath.Join(t.TempDir(), "token"), filepath.Join(t.TempDir(), "secret")
	os.WriteFile(token, []byte("s3cret\n"), 0o600)
	os.WriteFile(secret, []byte("a fleet's shared secret, 32 bytes\n"), 0o600)
	start := func(name, region, shields string) *node.Node {
		n, err := node.Start(node.Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", AdminTokenFile: token,
			NodeName: name, CacheMemory: 8 << 20, Region: region, ShieldURLs: shields, ShieldSecretFile: secret,
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Shutdown(context.Background()) })
		return n
	}
	shield := start("shield", "eu-west-1", "")
	edge := start("edge", "us-east-1", "eu-west-1=http://"+shield.Addr("http").String())
	get := func(path string) string { return viewerGet(t, edge, path) }
	invalidate := func(args ...string) (int, string, string) {
		var stdout, stderr bytes.Buffer
		code := Main(append([]string{"invalidate", "--token-file", token, "--distribution", "site"}, args...), &stdout, &stderr)
		return code, stdout.String(), stderr.String()
	}
	for _, p := range []string{"/a.html", "/b.html"} {
		get(p)
		if got := get(p); !strings.HasPrefix(got, "Hit v1") {
			t.Fatalf("%s: %q, want a v1 hit", p, got)
		}
	}
	version.Store(2)

	// The node alone: Completed, and the old content again, from the shield.
	if code, _, stderr := invalidate("--admin", edge.Addr("admin").String(), "/a.html"); code != exitOK {
		t.Fatalf("node alone: exit %d: %s", code, stderr)
	}
	if got := get("/a.html"); !strings.HasPrefix(got, "Miss v1") {
		t.Fatalf("after invalidating the node alone: %q, want the shield's v1 (the hazard the order avoids)", got)
	}

	shieldAdmin, edgeAdmin := "http://"+shield.Addr("admin").String(), edge.Addr("admin").String()
	code, stdout, stderr := invalidate("--admin", shieldAdmin+","+edgeAdmin, "/a.html", "/b.html")
	if lines := strings.Split(strings.TrimSpace(stdout), "\n"); code != exitOK || len(lines) != 2 || !strings.Contains(stderr, "completed on "+shieldAdmin) {
		t.Fatalf("shield, then node: exit %d, stdout %q, stderr %q; want 0, an id for each node, and which node completed", code, stdout, stderr)
	}
	for _, p := range []string{"/a.html", "/b.html"} {
		if got := get(p); !strings.HasPrefix(got, "Miss v2") {
			t.Errorf("after invalidating the shield, then the node: %s is %q, want v2", p, got)
		}
	}

	code, _, stderr = invalidate("--admin", shieldAdmin+",127.0.0.1:1", "--caller-reference", "deploy-9", "/a.html")
	if want := "127.0.0.1:1: "; code != exitFail || !strings.Contains(stderr, "openfront invalidate: "+want) || !strings.Contains(stderr, "(completed on "+shieldAdmin+": a retry with --caller-reference deploy-9 does not run it there again)") {
		t.Errorf("the second node down: exit %d, %q; want the node, and what was done", code, stderr)
	}
	code, _, stderr = invalidate("--admin", "127.0.0.1:1,"+shieldAdmin, "/a.html")
	if want := "openfront invalidate: 127.0.0.1:1: "; code != exitFail || !strings.Contains(stderr, want) || !strings.Contains(stderr, "not asked of the nodes after it") {
		t.Errorf("the first node down: exit %d, %q; want the node named", code, stderr)
	}
	if code, _, stderr := invalidate("--admin", shieldAdmin+",", "/a.html"); code != exitUsage || !strings.Contains(stderr, "a node's URL is empty") {
		t.Errorf("a trailing comma: exit %d, %q; want a usage error", code, stderr)
	}
	// Each node must complete before the next is asked.
	if code, _, stderr := invalidate("--admin", shieldAdmin+","+edgeAdmin, "--wait=false", "/a.html"); code != exitUsage || !strings.Contains(stderr, "--wait=false") {
		t.Errorf("--wait=false with two nodes: exit %d, %q; want a usage error naming --wait=false", code, stderr)
	}
}

// versionedSite writes a config directory of distribution site (host
// site.test) whose origin, with the origin fields extra, answers "vN PATH",
// N from version (1 to start), cached for 10 minutes.
func versionedSite(t *testing.T, extra string) (dir string, version *atomic.Int64) {
	version = new(atomic.Int64)
	version.Store(1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		fmt.Fprintf(w, "v%d %s", version.Load(), r.URL.Path)
	}))
	t.Cleanup(app.Close)
	dir = t.TempDir()
	cfg := fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only", %s}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
}
`, strings.TrimPrefix(app.URL, "http://"), extra)
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir, version
}

// viewerGet asks node n for path of site.test: "X-Cache's first word, body".
func viewerGet(t *testing.T, n *node.Node, path string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+n.Addr("http").String()+path, nil)
	req.Host = "site.test"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSuffix(resp.Header.Get("X-Cache"), " from openfront") + " " + string(b)
}

// A wrong --admin node is a usage error saying how to write it, before a
// node is asked: a fleet's first nodes are not invalidated when a later
// one could never be.
func TestInvalidateAdminURL(t *testing.T) {
	asked := false
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { asked = true }))
	defer srv.Close()
	token := filepath.Join(t.TempDir(), "token")
	os.WriteFile(token, []byte("s3cret\n"), 0o600)
	for _, tc := range []struct{ admin, want string }{
		{srv.URL + ",::1", `openfront invalidate: --admin "::1": an IPv6 address goes in brackets, the port after them: [ADDRESS]:PORT, such as [::1]:9090`},
		{srv.URL + ",ftp://node-2:9090", `openfront invalidate: --admin "ftp://node-2:9090": want an http:// or https:// URL, or HOST:PORT`},
	} {
		code, _, stderr := runCLI("invalidate", "--admin", tc.admin, "--token-file", token, "--distribution", "site", "/a")
		if first, _, _ := strings.Cut(stderr, "\n"); code != exitUsage || first != tc.want {
			t.Errorf("--admin %s: exit %d, stderr %q; want exit %d and %q", tc.admin, code, stderr, exitUsage, tc.want)
		}
	}
	if asked {
		t.Error("a node was asked")
	}
}

// A node that does not answer is named with the question status asks: is
// it running with that --admin?
func TestInvalidateNoNode(t *testing.T) {
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	token := filepath.Join(t.TempDir(), "token")
	os.WriteFile(token, []byte("s3cret\n"), 0o600)
	code, _, stderr := runCLI("invalidate", "--admin", down.URL, "--token-file", token, "--distribution", "site", "/a")
	host := strings.TrimPrefix(down.URL, "http://")
	if want := "openfront invalidate: no node answers at " + down.URL + " (is openfront serve running with --admin " + host + "?): "; code != exitFail || !strings.HasPrefix(stderr, want) {
		t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, exitFail, want)
	}
}
