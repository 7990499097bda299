package cli

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/compileworker"
	"openfront.dev/daemon/node"
	"openfront.dev/internal/testenv"
	"openfront.dev/schema"
)

const serveChildEnv = "OPENFRONT_TEST_SERVE_CHILD"

// A SIGHUP that comes while the node starts (systemctl reload right after
// systemctl start, while the config compiles or the branch is cloned) does
// not kill it: the reload happens once the node runs. The node runs in a
// child process, which the signal's default action would end.
func TestServeSurvivesHUPDuringStart(t *testing.T) {
	if dir := os.Getenv(serveChildEnv); dir != "" {
		serveChild(dir)
		return
	}
	dir := t.TempDir()
	cfg := `package cdn

distributions: site: {
	aliases: ["site.example.com"]
	origins: [{id: "web", domainName: "web.example.org", customOriginConfig: {originProtocolPolicy: "https-only"}}]
	defaultCacheBehavior: {targetOriginId: "web", viewerProtocolPolicy: "redirect-to-https"}
}
`
	if err := os.WriteFile(filepath.Join(dir, "site.cue"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestServeSurvivesHUPDuringStart$", "-test.count=1")
	cmd.Env = append(os.Environ(), serveChildEnv+"="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve died: %v\n%s", err, out.String())
		}
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("serve did not stop\n%s", out.String())
	}
	if strings.Count(out.String(), "config reloaded") < 2 {
		t.Errorf("the SIGHUP sent during start did not reload once started:\n%s", out.String())
	}
}

// serveChild runs serve on dir, sending itself SIGHUP while the node
// starts, then SIGINT once it reloaded; it exits with serve's code.
func serveChild(dir string) {
	startNode = func(o node.Options) (*node.Node, error) {
		syscall.Kill(os.Getpid(), syscall.SIGHUP)
		time.Sleep(50 * time.Millisecond) // the signal is delivered
		return node.Start(o)
	}
	// SIGINT must not end the process before serve takes it.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGINT)
	var log testenv.Buffer
	code := make(chan int, 1)
	go func() {
		code <- runServe([]string{"--config", dir, "--http", "127.0.0.1:0", "--https", "", "--admin", "", "--rtmp", ""},
			io.Discard, io.MultiWriter(os.Stderr, &log))
	}()
	for {
		select {
		case c := <-code:
			os.Exit(c)
		case <-time.After(20 * time.Millisecond):
			// The first compile, then the SIGHUP's.
			if strings.Count(log.String(), "config reloaded") >= 2 {
				syscall.Kill(os.Getpid(), syscall.SIGINT)
			}
		}
	}
}

// --admin-host may be repeated and may list names with commas.
func TestServeAdminHosts(t *testing.T) {
	defer func(f func(node.Options) (*node.Node, error)) { startNode = f }(startNode)
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{nil, nil},
		{[]string{"--admin-host", "admin.internal"}, []string{"admin.internal"}},
		{[]string{"--admin-host", "a.internal, b.internal,", "--admin-host", "c.internal"}, []string{"a.internal", "b.internal", "c.internal"}},
	} {
		var got []string
		startNode = func(o node.Options) (*node.Node, error) {
			got = o.AdminHosts
			return nil, errors.New("not started")
		}
		runCLI(append([]string{"serve", "--config", t.TempDir()}, tt.args...)...)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q: AdminHosts %q, want %q", tt.args, got, tt.want)
		}
	}
}

// The viewer timeouts reach the node, with nginx's defaults when not given.
func TestServeTimeouts(t *testing.T) {
	defer func(f func(node.Options) (*node.Node, error)) { startNode = f }(startNode)
	for _, tt := range []struct {
		args               []string
		header, idle, body time.Duration
	}{
		{nil, 10 * time.Second, 120 * time.Second, 60 * time.Second},
		{[]string{"--header-timeout", "3s", "--idle-timeout", "75s", "--body-timeout", "2m"}, 3 * time.Second, 75 * time.Second, 2 * time.Minute},
	} {
		var got node.Options
		startNode = func(o node.Options) (*node.Node, error) {
			got = o
			return nil, errors.New("not started")
		}
		runCLI(append([]string{"serve", "--config", t.TempDir()}, tt.args...)...)
		if got.HeaderTimeout != tt.header || got.IdleTimeout != tt.idle || got.BodyTimeout != tt.body {
			t.Errorf("%q: timeouts %v %v %v, want %v %v %v", tt.args, got.HeaderTimeout, got.IdleTimeout, got.BodyTimeout, tt.header, tt.idle, tt.body)
		}
	}
}

// The live HLS segment length reaches the node, 2 s when not given.
func TestServeHLSSegment(t *testing.T) {
	defer func(f func(node.Options) (*node.Node, error)) { startNode = f }(startNode)
	for _, tt := range []struct {
		args []string
		want time.Duration
	}{
		{nil, 2 * time.Second},
		{[]string{"--hls-segment", "6s"}, 6 * time.Second},
	} {
		var got node.Options
		startNode = func(o node.Options) (*node.Node, error) {
			got = o
			return nil, errors.New("not started")
		}
		runCLI(append([]string{"serve", "--config", t.TempDir()}, tt.args...)...)
		if got.HLSSegment != tt.want {
			t.Errorf("%q: HLSSegment %v, want %v", tt.args, got.HLSSegment, tt.want)
		}
	}
}

// The compile bounds reach the node, with their defaults when not given.
func TestServeCompileBounds(t *testing.T) {
	defer func(f func(node.Options) (*node.Node, error)) { startNode = f }(startNode)
	for _, tt := range []struct {
		args    []string
		timeout time.Duration
		memory  int64
	}{
		{nil, 2 * time.Minute, compileworker.NodeMemory()},
		{[]string{"--compile-timeout", "30s", "--compile-memory", "512MiB"}, 30 * time.Second, 512 << 20},
	} {
		var got node.Options
		startNode = func(o node.Options) (*node.Node, error) {
			got = o
			return nil, errors.New("not started")
		}
		runCLI(append([]string{"serve", "--config", t.TempDir()}, tt.args...)...)
		if got.CompileTimeout != tt.timeout || got.CompileMemory != tt.memory {
			t.Errorf("%q: compile bounds %v %d, want %v %d", tt.args, got.CompileTimeout, got.CompileMemory, tt.timeout, tt.memory)
		}
	}
}

// serve on a config whose compile never ends does not hang: it fails,
// saying so, once past --compile-timeout.
func TestServeStartFailsPastTheCompileTimeout(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cue"), []byte("package cdn\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "bomb.cue"), []byte(testenv.CPUBomb), 0o644)
	code, _, stderr := runCLI("serve", "--config", dir, "--compile-timeout", "2s", "--http", "127.0.0.1:0", "--https", "", "--admin", "", "--rtmp", "")
	if want := "compiling took longer than 2s (directory " + dir; code != exitFail || !strings.Contains(stderr, want) {
		t.Fatalf("exit %d, want %d and %q; stderr:\n%s", code, exitFail, want, stderr)
	}
}

// --log-level sets the lowest level the node logs: info by default,
// debug adds what only someone chasing a problem needs, and a level that
// does not exist is a usage error naming the flag.
func TestServeLogLevel(t *testing.T) {
	defer func(f func(node.Options) (*node.Node, error)) { startNode = f }(startNode)
	for _, tt := range []struct {
		args        []string
		debug, info bool // whether the node's logger takes each level
		usage       bool
	}{
		{nil, false, true, false},
		{[]string{"--log-level", "debug"}, true, true, false},
		{[]string{"--log-level", "WARN"}, false, false, false},
		{[]string{"--log-level", "verbose"}, false, false, true},
	} {
		var got *slog.Logger
		startNode = func(o node.Options) (*node.Node, error) {
			got = o.Logger
			return nil, errors.New("not started")
		}
		code, _, stderr := runCLI(append([]string{"serve", "--config", t.TempDir()}, tt.args...)...)
		if tt.usage {
			if code != exitUsage || got != nil || !strings.Contains(stderr, "-log-level") {
				t.Errorf("%q: exit %d, started %v, %q; want the usage exit naming the flag", tt.args, code, got != nil, strings.SplitN(stderr, "\n", 2)[0])
			}
			continue
		}
		ctx := context.Background()
		if got == nil || got.Enabled(ctx, slog.LevelDebug) != tt.debug || got.Enabled(ctx, slog.LevelInfo) != tt.info || !got.Enabled(ctx, slog.LevelError) {
			t.Errorf("%q: logger takes debug %v, info %v; want %v, %v (and error)", tt.args, got != nil && got.Enabled(ctx, slog.LevelDebug), got != nil && got.Enabled(ctx, slog.LevelInfo), tt.debug, tt.info)
		}
	}
}

// A timeout of 0 (or less) is refused by name: the node would take it as
// its default, not as no timeout.
func TestServeTimeoutNotPositive(t *testing.T) {
	noStart(t)
	for _, flag := range []string{"--body-timeout", "--idle-timeout", "--header-timeout", "--drain-timeout", "--compile-timeout", "--hls-segment"} {
		code, _, stderr := runCLI("serve", "--config", t.TempDir(), flag, "0s")
		if code != exitUsage || !strings.Contains(stderr, flag+" must be more than 0") {
			t.Errorf("%s 0s: exit %d, %q; want the usage exit naming the flag", flag, code, strings.SplitN(stderr, "\n", 2)[0])
		}
	}
}

// Sizes print as a person writes them, so that `openfront help serve`
// shows the defaults the README gives (256MiB, not 268435456), and each
// reads back as the same size.
func TestSizeFlagString(t *testing.T) {
	for _, tt := range []struct {
		size sizeFlag
		want string
	}{
		{256 << 20, "256MiB"},
		{1 << 30, "1GiB"},
		{1536 << 20, "1536MiB"},
		{64 << 10, "64KiB"},
		{500e6, "500000000"}, // decimal units read in, binary ones are written
		{1000, "1000"},
	} {
		got := tt.size.String()
		var back sizeFlag
		if err := back.Set(got); got != tt.want || err != nil || back != tt.size {
			t.Errorf("%d: %q (reads back as %d, %v), want %q", int64(tt.size), got, back, err, tt.want)
		}
	}
	_, help, _ := runCLI("help", "serve")
	for _, want := range []string{"(default 256MiB)", "(default 1GiB)"} {
		if !strings.Contains(help, want) {
			t.Errorf("help serve lacks %q", want)
		}
	}
}

// The address serve prints is one a viewer can open: the listener's own
// address (the default --http :8080 is [::]) is a Host no distribution
// has (403), so the line names localhost when a distribution serves it
// (the quickstart), else the first exact alias of an enabled
// distribution, with the Host to send to this listener.
func TestServingLine(t *testing.T) {
	quickstart := servingTable(t, map[string]servingDist{"site": {true, []string{"localhost", "127.0.0.1"}}})
	site := servingTable(t, map[string]servingDist{
		"a-old":  {false, []string{"old.example.com"}},
		"b-wild": {true, []string{"*.example.org"}},
		"c-site": {true, []string{"*.example.com", "www.example.com", "example.com"}},
	})
	wild := servingTable(t, map[string]servingDist{"site": {true, []string{"*.example.com"}}})
	const wwwHint = " (if that name does not resolve to this node: curl -H 'Host: www.example.com' "
	for _, tt := range []struct {
		addr  net.Addr
		table *table.Table
		want  string
	}{
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, quickstart, "http://localhost:8080/"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, quickstart, "http://localhost:8080/"},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 18080}, quickstart, "http://localhost:18080/"},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 80}, quickstart, "http://localhost:80/"},
		{&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 8080}, quickstart, "http://localhost:8080/ (if that name does not resolve to this node: curl -H 'Host: localhost' http://192.0.2.1:8080/)"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, site, "http://www.example.com:8080/" + wwwHint + "http://127.0.0.1:8080/)"},
		{&net.TCPAddr{IP: net.ParseIP("::1"), Port: 80}, site, "http://www.example.com:80/" + wwwHint + "http://[::1]:80/)"},
		{&net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 8080}, site, "http://www.example.com:8080/" + wwwHint + "http://192.0.2.1:8080/)"},
		// A wildcard names no one host: the listener is all there is to say.
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, wild, "http://localhost:8080/"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, nil, "http://localhost:8080/"},
	} {
		if got := servingLine(tt.addr, tt.table); got != tt.want {
			t.Errorf("%v:\n got %q\nwant %q", tt.addr, got, tt.want)
		}
	}
}

// servingDist is a distribution for servingTable: enabled or not, and its aliases.
type servingDist struct {
	enabled bool
	aliases []string
}

// servingTable builds a table of distributions by id.
func servingTable(t *testing.T, dists map[string]servingDist) *table.Table {
	t.Helper()
	cfg := &schema.Config{Distributions: map[string]*schema.Distribution{}}
	for id, d := range dists {
		cfg.Distributions[id] = &schema.Distribution{
			Enabled: d.enabled,
			Aliases: d.aliases,
			Origins: []schema.Origin{{ID: "web", DomainName: "web.example.net", ConnectionAttempts: 3, ConnectionTimeout: 10,
				CustomOriginConfig: &schema.CustomOriginConfig{HTTPPort: 80, HTTPSPort: 443, OriginProtocolPolicy: "https-only"}}},
			DefaultCacheBehavior: schema.CacheBehavior{
				TargetOriginID:       "web",
				ViewerProtocolPolicy: "allow-all",
				AllowedMethods:       []string{"GET", "HEAD"},
				CachedMethods:        []string{"GET", "HEAD"},
				ForwardedValues:      schema.ForwardedValues{Cookies: schema.Cookies{Forward: "none"}},
			},
		}
	}
	tb, err := table.Build(cfg, table.Source{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

// serve on a broken config reports each problem once, where the user can
// open it, and does not start.
func TestServeBrokenConfigOnce(t *testing.T) {
	dir := filepath.Join("testdata", "serve", "broken")
	code, _, stderr := runCLI("serve", "--config", dir, "--http", "127.0.0.1:0", "--https", "", "--admin", "", "--rtmp", "")
	if code != exitFail {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitFail, stderr)
	}
	at := filepath.Join(dir, "cdn.cue") + ":6:70: "
	if n := strings.Count(stderr, at); n != 1 {
		t.Errorf("%q reported %d times, want once; stderr:\n%s", at, n, stderr)
	}
}

// A limit below -1 is refused by name: -1 is "unbounded", and anything
// lower would be taken as that too, or as the default.
func TestServeLimitBelowMinusOne(t *testing.T) {
	noStart(t)
	for _, flag := range []string{"--max-connections", "--max-connections-per-ip", "--max-rtmp-connections", "--max-origin-requests"} {
		code, _, stderr := runCLI("serve", "--config", t.TempDir(), flag, "-2")
		if first := strings.SplitN(stderr, "\n", 2)[0]; code != exitUsage || !strings.Contains(first, flag+" must be -1 (unbounded) or more (it is -2)") {
			t.Errorf("%s -2: exit %d, %q; want the usage exit naming the flag", flag, code, first)
		}
	}
}

// noStart makes a node's start, for the rest of t, an error of t: the
// arguments should have been refused before it.
func noStart(t *testing.T) {
	f := startNode
	t.Cleanup(func() { startNode = f })
	startNode = func(node.Options) (*node.Node, error) {
		t.Error("the node started")
		return nil, errors.New("not started")
	}
}
