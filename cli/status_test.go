package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"openfront.dev/compiler"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/admin"
	"openfront.dev/daemon/gitsync"
	"openfront.dev/daemon/node"
	"openfront.dev/daemon/watch"
)

// statusAt is the clock of the golden files.
var statusAt = time.Date(2026, 3, 4, 15, 30, 0, 0, time.UTC)

func statusFixtures() map[string]admin.Status {
	ago := func(d time.Duration) time.Time { return statusAt.Add(-d) }
	const (
		good = "3f2a9c1e4b5d6a7f8091a2b3c4d5e6f708192a3b"
		bad  = "9ab12cd34ef5a6b7c8d9e0f1a2b3c4d5e6f7a8b9"
	)
	gitNode := admin.Status{
		Node: "edge-1", Ready: true,
		Version:   "sha256:b9bfec27fd3241e70d5121a0d49bb193007756e746f8e8cb5c0565a1d181108d",
		SourceDir: "/var/cache/openfront/git/current/config", SourceCommit: good,
		AppliedAt: ago(3 * time.Minute), Distributions: 3,
		Listeners: []string{"http [::]:80", "https [::]:443", "http3 [::]:443"},
		Config: watch.Status{Path: "/var/cache/openfront/git/current/config", Version: "sha256:b9bf", Commit: good,
			AppliedAt: ago(3 * time.Minute), Reloads: 7, Failures: 1,
			Warnings: []watch.Problem{{File: "/var/cache/openfront/git/current/config/cdn.cue", Line: 31, Col: 11,
				Msg: `warning: distribution "site-staging": no continuous deployment policy names this staging distribution: it serves nothing`}},
			LastError: &watch.ReloadError{At: ago(10 * time.Minute), Reason: "reload",
				Message: "/var/cache/openfront/git/current/config/cdn.cue:8:25: bad",
				Errors:  []compiler.Error{{File: "/var/cache/openfront/git/current/config/cdn.cue", Line: 8, Col: 25, Msg: "bad"}}}},
		Git: &gitsync.Status{URL: "ssh://git@git.example.com/cdn/config.git", Branch: "main", Subdir: "config",
			Dir: "/var/cache/openfront/git", Head: good,
			CheckedOut: &gitsync.Commit{SHA: good, Subject: "fix the policy", At: ago(3 * time.Minute)},
			Applied:    good, LastFetch: ago(4 * time.Second), Fetches: 41, Deploys: 3,
			LastRejected: &gitsync.Rejected{Commit: gitsync.Commit{SHA: bad, Subject: "route /api to the new origin", At: ago(10 * time.Minute)},
				Message: "config/cdn.cue:8:25: distributions.site.defaultCacheBehavior.viewerProtocolPolicy: \"sometimes\" is not one of \"allow-all\", \"https-only\", \"redirect-to-https\"",
				Errors: []gitsync.Problem{{File: "config/cdn.cue", Line: 8, Col: 25,
					Msg: "distributions.site.defaultCacheBehavior.viewerProtocolPolicy: \"sometimes\" is not one of \"allow-all\", \"https-only\", \"redirect-to-https\""}}},
			Checkouts: []string{good}},
		AccessLogs: []accesslog.Health{
			{Distribution: "site", Dir: "/var/log/openfront/site", Bucket: "logs.s3.eu-west-1.amazonaws.com", PendingFiles: 3, PendingBytes: 81234,
				UploadError: &accesslog.Problem{At: ago(20 * time.Second), Message: "upload site.2026-03-04-15.ABC.gz: PUT: 403 Forbidden: SignatureDoesNotMatch"},
				SpoolFull:   &accesslog.Problem{At: ago(5 * time.Minute), Message: "the spool (1073741824 bytes) is full: site.2026-03-04-09.XYZ.gz (20480 bytes) was deleted before its upload"}},
			{Distribution: "shop", Dir: "/var/log/openfront"},
			{Distribution: "shop", Dir: "/var/log/openfront", Bucket: "oldlogs.s3.amazonaws.com", Retired: true, PendingFiles: 2, PendingBytes: 4096},
			{Distribution: "tv", Streaming: true, Dir: "/var/log/openfront/tv"},
			{Distribution: "wiki", Dir: "/var/log/openfront/wiki", StrandedFiles: 4, Stranded: &accesslog.Problem{At: ago(time.Hour),
				Message: "4 files (9000 bytes) of distribution wiki, which no longer logs, were written without a bucket: they stay in /var/log/openfront/wiki"}},
		},
	}
	fetchFailing := gitNode
	g := *gitNode.Git
	g.FetchError = "git fetch: fatal: Could not read from remote repository.\nPlease make sure you have the correct access rights: exit status 128"
	g.FetchFailures, g.LastFetch, g.LastRejected = 2, ago(2*time.Hour), nil
	fetchFailing.Git = &g

	configFailing := admin.Status{
		Node: "laptop", Ready: true, Version: "sha256:ca5eb1b59d30a7cacd761acdbcafb4bf49979d163c3c5a875f4122feb5bf60a4",
		SourceDir: "examples/quickstart", AppliedAt: ago(26 * time.Hour), Distributions: 1,
		Listeners: []string{"http [::]:8080"},
		Config: watch.Status{Path: "examples/quickstart", Reloads: 1, Failures: 2, Failing: true,
			LastError: &watch.ReloadError{At: ago(30 * time.Second), Reason: "watch",
				Message: "examples/quickstart/cdn.cue:12:3: field not allowed: defaultTLL\nexamples/quickstart/cdn.cue:20:9: origin \"site\" is not declared"}},
		AccessLogs: []accesslog.Health{{Distribution: "site",
			SetupError: &accesslog.Problem{At: ago(26 * time.Hour), Message: "distribution site: access log directory: mkdir /var/log/openfront/site: permission denied"},
			WriteError: &accesslog.Problem{At: ago(time.Minute), Message: "write /var/log/openfront/x.gz.tmp: no space left on device"}}},
	}
	notReady := admin.Status{Node: "edge-2", Config: watch.Status{Path: "/srv/table.json"}}
	return map[string]admin.Status{"git": gitNode, "git-fetch-failing": fetchFailing, "config-failing": configFailing, "not-ready": notReady}
}

// TestStatus prints fixed /status documents against testdata/status/NAME.golden.
func TestStatus(t *testing.T) {
	statusNow, statusZone = func() time.Time { return statusAt }, time.UTC
	t.Cleanup(func() { statusNow, statusZone = time.Now, time.Local })
	for name, st := range statusFixtures() {
		t.Run(name, func(t *testing.T) {
			body, _ := json.Marshal(st)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/status" {
					http.NotFound(w, r)
					return
				}
				w.Write(body)
			}))
			defer srv.Close()
			var stdout, stderr bytes.Buffer
			code := Main([]string{"status", "--admin", srv.Listener.Addr().String()}, &stdout, &stderr)
			want := exitOK
			if !st.Ready {
				want = exitFail
			}
			if code != want || stderr.Len() != 0 {
				t.Errorf("exit %d (want %d), stderr %q", code, want, stderr.String())
			}
			checkStatusGolden(t, filepath.Join("testdata", "status", name+".golden"), stdout.String())

			// The listener's URL with a slash, or /status's own as a browser shows it.
			for _, admin := range []string{srv.URL + "/", srv.URL + "/status"} {
				stdout.Reset()
				Main([]string{"status", "--json", "--admin", admin}, &stdout, &stderr)
				if !bytes.Equal(stdout.Bytes(), body) {
					t.Errorf("--admin %s --json printed %s, want the node's document", admin, stdout.String())
				}
			}
		})
	}
}

func checkStatusGolden(t *testing.T, name, got string) {
	t.Helper()
	if updating() {
		os.MkdirAll(filepath.Dir(name), 0o755)
		if err := os.WriteFile(name, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if err != nil {
		t.Fatalf("%v (go test ./cli -run TestStatus -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test ./cli -run TestStatus -update rewrites it)\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

func TestStatusErrors(t *testing.T) {
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/status" && r.URL.Query().Get("x") == "" {
			w.Write([]byte("<html>not a node</html>"))
		}
	}))
	defer broken.Close()
	notFound := httptest.NewServer(http.NotFoundHandler())
	defer notFound.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close()
	for _, tc := range []struct {
		name string
		args []string
		code int
		err  string
	}{
		{"not a node", []string{"--admin", broken.URL}, exitFail, "is not a node's status"},
		{"no /status", []string{"--admin", notFound.URL}, exitFail, "404"},
		{"down", []string{"--admin", down.URL}, exitFail, "no node answers at " + down.URL + " (is openfront serve running with --admin " + strings.TrimPrefix(down.URL, "http://") + "?): "},
		{"positional", []string{"http://x"}, exitUsage, "usage:"},
		// A wrong --admin is a usage error saying how to write it.
		{"bare IPv6", []string{"--admin", "::1"}, exitUsage, `openfront status: --admin "::1": an IPv6 address goes in brackets, the port after them: [ADDRESS]:PORT, such as [::1]:9090` + "\n"},
		{"bare IPv6 with port", []string{"--admin", "fd00::5:9090"}, exitUsage, `openfront status: --admin "fd00::5:9090": an IPv6 address goes in brackets, the port after them: [ADDRESS]:PORT, such as [::1]:9090` + "\n"},
		{"scheme", []string{"--admin", "ftp://127.0.0.1:9090"}, exitUsage, `openfront status: --admin "ftp://127.0.0.1:9090": want an http:// or https:// URL, or HOST:PORT` + "\n"},
		{"empty", []string{"--admin", ""}, exitUsage, `openfront status: --admin "": want an http:// or https:// URL, or HOST:PORT` + "\n"},
		{"no host", []string{"--admin", "http:///x"}, exitUsage, `openfront status: --admin "http:///x": want an http:// or https:// URL, or HOST:PORT` + "\n"},
		{"bad port", []string{"--admin", "127.0.0.1:90x"}, exitUsage, `openfront status: --admin "127.0.0.1:90x": `},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := Main(append([]string{"status"}, tc.args...), &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.err) {
				t.Errorf("exit %d (want %d), stderr %q (want %q)", code, tc.code, stderr.String(), tc.err)
			}
		})
	}
}

// Against a real node: the document a node sends is the one status reads.
func TestStatusOfARunningNode(t *testing.T) {
	n, err := node.Start(node.Options{ConfigDir: "../examples/quickstart", AdminAddr: "127.0.0.1:0", NodeName: "here"})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Shutdown(context.Background())
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"status", "--admin", n.Addr("admin").String()}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"here, ready", n.Table().Version(), "1 distribution,", "examples/quickstart"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, stdout.String())
		}
	}
}
