package node

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"openfront.dev/daemon/rtmp/rtmptest"
)

// leakReloads is how many reloads TestNoLeaksAcrossReloads measures over:
// even, so that the last table has the baseline's shape.
const leakReloads = 40

var leakTemplate = template.Must(template.ParseFiles(filepath.Join("testdata", "leaks", "config.cue.tmpl")))

// leakEnv is a node whose config changes on every reload, and the
// clients that churn connections to it.
type leakEnv struct {
	t                *testing.T
	node             *Node
	dir              string
	vars             map[string]any
	uploads          atomic.Int64 // access log files PUT to the bucket
	http, https, rtm string
}

// TestNoLeaksAcrossReloads reloads a node's config leakReloads times, each
// table adding and dropping a logging distribution, a function, origins,
// a certificate and a streaming distribution, with a connection of every
// viewer protocol (HTTP/1.1, HTTP/2, HTTP/3, WebSocket, RTMP) opened and
// closed under each table. A node runs for months and reloads on every
// push: its goroutines and file descriptors must come back to where they
// were, and the tables it no longer serves must be freed.
func TestNoLeaksAcrossReloads(t *testing.T) {
	e := startLeakEnv(t)
	// Two warm-up reloads: what a node makes once (a server's watchdog, a
	// pool's first connection) is in the baseline, and the last table has
	// each kind of thing the reloads make.
	e.cycle(0)
	e.cycle(1)
	// Connections that stay open across every reload must not hold the
	// tables they started under.
	long := e.clients()
	defer long.close()
	long.get(1)
	settle(t)
	series := e.metrics()
	goroutines, fds := runtime.NumGoroutine(), openFDs(t)
	creators, targets := goroutineCreators(), fdTargets()
	var freed atomic.Bool
	runtime.AddCleanup(e.node.Table(), func(b *atomic.Bool) { b.Store(true) }, &freed)

	for i := 2; i < 2+leakReloads; i++ {
		e.cycle(i)
		long.get(i)
	}
	if e.uploads.Load() == 0 {
		t.Error("no access log was uploaded: the writers with a bucket were not exercised")
	}
	// Connections close, idle origin connections time out, goroutines
	// exit: poll until the counts are back, within a generous deadline.
	const slack = 2
	var g, f int
	deadline := time.Now().Add(15 * time.Second)
	for {
		runtime.GC()
		g, f = runtime.NumGoroutine(), openFDs(t)
		if (g <= goroutines+slack && f <= fds+slack && freed.Load()) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("after %d reloads: %d goroutines (baseline %d), %d open files (baseline %d), first table freed: %v",
		leakReloads, g, goroutines, f, fds, freed.Load())
	if g > goroutines+slack {
		var extra []string
		for fn, c := range goroutineCreators() {
			if c > creators[fn] {
				extra = append(extra, fmt.Sprintf("%d by %s", c-creators[fn], fn))
			}
		}
		slices.Sort(extra)
		t.Errorf("%d goroutines after %d reloads, %d before: created %v", g, leakReloads, goroutines, extra)
	}
	if f > fds+slack {
		t.Errorf("%d open files after %d reloads, %d before: new ones %v", f, leakReloads, fds, newFDs(targets))
	}
	if !freed.Load() {
		t.Errorf("the table served before %d reloads is still reachable", leakReloads)
	}
	// Series of distributions and functions gone are forgotten: /metrics
	// has what it had for a table of the same shape.
	if after := e.metrics(); len(after) > len(series) {
		var extra []string
		for name := range after {
			if _, ok := series[name]; !ok {
				extra = append(extra, name)
			}
		}
		slices.Sort(extra)
		t.Errorf("%d series on /metrics after %d reloads, %d before; new ones: %v", len(after), leakReloads, len(series), extra)
	}
}

// metrics scrapes the node's /metrics on a connection it then closes.
func (e *leakEnv) metrics() map[string]float64 {
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	return scrapeWith(e.t, &http.Client{Transport: tr}, "http://"+e.node.Addr("admin").String()+"/metrics")
}

func startLeakEnv(t *testing.T) *leakEnv {
	t.Helper()
	e := &leakEnv{t: t}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/ws" {
			echoWebSocket(w, r)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, "%s %s", r.Header.Get("X-Config"), r.Header.Get("X-Fn"))
	}))
	t.Cleanup(app.Close)
	bucket := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPut {
			e.uploads.Add(1)
		}
	}))
	t.Cleanup(bucket.Close)
	t.Setenv("AWS_ACCESS_KEY_ID", "leak")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "leak")

	root := t.TempDir()
	e.dir = filepath.Join(root, "config")
	if err := os.MkdirAll(filepath.Join(e.dir, "site", "files"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "site", "files", "a.txt"), []byte("local file\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	certs := filepath.Join(root, "certs")
	writeCert(t, certs, "churn", "churn.test")
	sum := sha256.Sum256([]byte(testStreamKey))
	e.vars = map[string]any{"App": app.Listener.Addr().String(), "S3": bucket.URL, "KeySum": hex.EncodeToString(sum[:])}
	e.write(1) // the first table has every kind of thing

	n, err := Start(Options{ConfigDir: e.dir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", RTMPAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		CertsDir: certs, LogDir: filepath.Join(root, "logs"), NodeName: nodeName, DrainTimeout: 5 * time.Second, Logger: warnLogger(t)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	e.node = n
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	e.http, e.https, e.rtm = n.Addr("http").String(), n.Addr("https").String(), n.Addr("rtmp").String()
	return e
}

// testStreamKey is the live publish credential of the leak test's config.
const testStreamKey = "leak-key"

// write writes version i of the config.
func (e *leakEnv) write(i int) {
	e.t.Helper()
	vars := map[string]any{"I": i, "Odd": i%2 == 1}
	for k, v := range e.vars {
		vars[k] = v
	}
	var b bytes.Buffer
	if err := leakTemplate.Execute(&b, vars); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "main.cue"), b.Bytes(), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// cycle applies version i and talks to it over every protocol, each on a
// connection of its own that it closes.
func (e *leakEnv) cycle(i int) {
	t := e.t
	t.Helper()
	e.write(i)
	if err := e.node.Reload(); err != nil {
		t.Fatalf("reload %d: %v", i, err)
	}
	c := e.clients()
	c.get(i)
	c.close()

	ws := &http.Client{Transport: &http.Transport{DialContext: dialTo(e.http)}}
	webSocketEcho(t, ws, "ws://churn.test/ws")
	ws.CloseIdleConnections()

	if i%2 == 1 { // the tables with the streaming distribution
		pub, err := rtmptest.Dial(e.rtm, "live", "rtmp://tv.test/live", 10*time.Second)
		if err != nil {
			t.Fatalf("reload %d: rtmp: %v", i, err)
		}
		if err := pub.Publish("event?key=" + testStreamKey); err != nil {
			t.Fatalf("reload %d: rtmp publish: %v", i, err)
		}
		// A live player, until it sees the play start.
		play, err := rtmptest.Dial(e.rtm, "live", "rtmp://tv.test/live", 10*time.Second)
		if err != nil {
			t.Fatalf("reload %d: rtmp: %v", i, err)
		}
		if err := play.Play("event", -1000); err != nil {
			t.Fatalf("reload %d: rtmp play: %v", i, err)
		}
		for code := ""; code != "NetStream.Play.Start"; {
			m, _, err := play.Next()
			if err != nil {
				t.Fatalf("reload %d: rtmp play: %v", i, err)
			}
			code = rtmptest.Status(m)
		}
		play.Close()
		pub.Close()
	}
}

// leakClients are an HTTP/1.1, an HTTP/2 and an HTTP/3 client of the node.
type leakClients struct {
	e      *leakEnv
	h1, h2 *http.Transport
	h3     *http3.Transport
}

func (e *leakEnv) clients() *leakClients {
	var p1, p2 http.Protocols
	p1.SetHTTP1(true)
	p2.SetHTTP2(true)
	tlsCfg := &tls.Config{InsecureSkipVerify: true, ServerName: "churn.test"}
	return &leakClients{e: e,
		h1: &http.Transport{Protocols: &p1, DialContext: dialTo(e.http)},
		h2: &http.Transport{Protocols: &p2, DialContext: dialTo(e.https), TLSClientConfig: tlsCfg},
		h3: &http3.Transport{TLSClientConfig: tlsCfg, Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			return quic.DialAddr(ctx, e.https, tlsCfg, cfg)
		}},
	}
}

// get asks for what version i of the config serves, over every protocol.
func (c *leakClients) get(i int) {
	t := c.e.t
	t.Helper()
	want := fmt.Sprintf("%d %d", i, i) // the origin header, and the function's
	for _, q := range []struct {
		rt          http.RoundTripper
		scheme, url string
		want        string
	}{
		{c.h1, "http", "churn.test/x", want},
		{c.h1, "http", "churn.test/files/a.txt", "local file\n"},
		{c.h1, "http", "extra.test/x", fmt.Sprintf("%d ", i)},
		{c.h2, "https", "churn.test/x", want},
		{c.h3, "https", "churn.test/x", want},
	} {
		if got := get(t, q.rt, q.scheme+"://"+q.url); got != q.want {
			t.Fatalf("reload %d: %s://%s answered %q, want %q", i, q.scheme, q.url, got, q.want)
		}
	}
}

func (c *leakClients) close() {
	c.h1.CloseIdleConnections()
	c.h2.CloseIdleConnections()
	c.h3.Close()
}

func dialTo(addr string) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
}

func get(t *testing.T, rt http.RoundTripper, url string) string {
	t.Helper()
	c := &http.Client{Transport: rt, Timeout: 10 * time.Second}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return string(b)
}

// settle waits for the goroutine and descriptor counts to stop moving
// (connections of the warm-up closing, log files opening).
func settle(t *testing.T) {
	t.Helper()
	counts := func() [2]int { return [2]int{runtime.NumGoroutine(), openFDs(t)} }
	last, still := counts(), 0
	for deadline := time.Now().Add(10 * time.Second); still < 10 && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		if n := counts(); n == last {
			still++
		} else {
			last, still = n, 0
		}
	}
}

func openFDs(t *testing.T) int {
	t.Helper()
	des, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(des)
}

// fdTargets is what each open file descriptor is.
func fdTargets() map[string]string {
	out := map[string]string{}
	des, _ := os.ReadDir("/proc/self/fd")
	for _, de := range des {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", de.Name()))
		out[de.Name()] = target
	}
	return out
}

// newFDs lists the descriptors open now that were not (or were something
// else) in before.
func newFDs(before map[string]string) []string {
	var out []string
	for fd, target := range fdTargets() {
		if before[fd] != target {
			out = append(out, fd+" "+strings.TrimSpace(target))
		}
	}
	slices.Sort(out)
	return out
}
