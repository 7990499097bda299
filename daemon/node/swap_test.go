package node

// The acceptance tests of live config (issue 4): config swaps under load on
// HTTP/1.1 and HTTP/3, a broken config written in the middle of the load,
// goroutines across the swaps, and the time from a file write to serving.

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"text/template"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"openfront.dev/compiler"
	"openfront.dev/daemon/admin"
	"openfront.dev/internal/genconfig"
)

const (
	// swapPhase is how long the steady load runs before the swaps, and
	// about how long the swaps take (they are paced over it); -short cuts it.
	swapPhase      = 20 * time.Second
	swapPhaseShort = 3 * time.Second
	swapCount      = 100
	swapClients    = 8 // half on HTTP/1.1, half on HTTP/3
	// The targets, and the bounds asserted: a shared two-core
	// machine and the race detector get slack.
	swapP99Target, swapP99Bound = 1.5, 5.0
	statusTarget, slack         = 2 * time.Second, 3
	// How long an applied swap may take to show in /status.
	applyBound = 10 * time.Second
)

// swapPaths are what the clients ask for, in turn: a retargeted behavior
// and a redefined origin, each uncached and cached (the cache must not
// answer from the other version's entries).
var swapPaths = []string{"/swap/live", "/swap/cached", "/moved/live", "/moved/cached"}

func swapDuration() time.Duration {
	if testing.Short() {
		return swapPhaseShort
	}
	return swapPhase
}

// letterOrigin answers its letter, and echoes the X-Config header the
// node's config stamped on the request.
func letterOrigin(letter string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/live") {
			w.Header().Set("Cache-Control", "no-store")
		} else {
			w.Header().Set("Cache-Control", "max-age=300")
		}
		w.Header().Set("X-Config-Seen", r.Header.Get("X-Config"))
		io.WriteString(w, letter)
	})
}

// swapEnv is a config dir that flips between versions A and B, its two
// origins, and the node serving it.
type swapEnv struct {
	t        *testing.T
	dir      string
	a, b     string // the origins' addresses
	node     *Node
	stopOnce sync.Once
	admin    *http.Transport
	cert     []byte            // the node's certificate, pinned by HTTP/3 clients
	versions map[string]string // table version of "A" and "B", once applied
}

// newSwapEnv starts the origins and writes version A; start starts the node.
func newSwapEnv(t *testing.T) *swapEnv {
	t.Helper()
	e := &swapEnv{t: t, dir: filepath.Join(t.TempDir(), "config"), versions: map[string]string{}, admin: &http.Transport{}}
	for letter, addr := range map[string]*string{"A": &e.a, "B": &e.b} {
		srv := httptest.NewServer(letterOrigin(letter))
		t.Cleanup(srv.Close)
		*addr = srv.Listener.Addr().String()
	}
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e.write("A", false, false)
	return e
}

var swapTemplate = template.Must(template.ParseFiles(filepath.Join("testdata", "swap", "config.cue.tmpl")))

// render is version ("A" or "B") of the config; broken puts an invalid
// viewerProtocolPolicy in it.
func (e *swapEnv) render(version string, broken bool) []byte {
	target, moved, policy := "a", e.a, "allow-all"
	if version == "B" {
		target, moved = "b", e.b
	}
	if broken {
		policy = "sometimes"
	}
	var buf bytes.Buffer
	if err := swapTemplate.Execute(&buf, map[string]string{"Version": version, "Target": target, "A": e.a, "B": e.b, "Moved": moved, "Policy": policy}); err != nil {
		e.t.Fatal(err)
	}
	return buf.Bytes()
}

// write writes main.cue in place (truncate and write) or, with rename, as
// an editor does: a temporary file renamed over it.
func (e *swapEnv) write(version string, broken, rename bool) {
	e.t.Helper()
	name := filepath.Join(e.dir, "main.cue")
	b := e.render(version, broken)
	var err error
	if rename {
		tmp := filepath.Join(e.dir, ".main.cue.swp")
		if err = os.WriteFile(tmp, b, 0o644); err == nil {
			err = os.Rename(tmp, name)
		}
	} else {
		err = os.WriteFile(name, b, 0o644)
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

// start starts the node on loopback and fetches its certificate.
func (e *swapEnv) start() {
	t := e.t
	t.Helper()
	n, err := Start(Options{ConfigDir: e.dir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		NodeName: nodeName, DrainTimeout: 5 * time.Second, Logger: warnLogger(t)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	e.node = n
	t.Cleanup(e.stop)
	e.versions["A"] = n.ConfigStatus().Version
	conn, err := tls.Dial("tcp", n.Addr("https").String(), &tls.Config{InsecureSkipVerify: true, ServerName: "swap.test"})
	if err != nil {
		t.Fatalf("fetch the node's certificate: %v", err)
	}
	e.cert = conn.ConnectionState().PeerCertificates[0].Raw
	conn.Close()
}

func (e *swapEnv) stop() {
	e.stopOnce.Do(func() {
		e.admin.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.node.Shutdown(ctx); err != nil {
			e.t.Errorf("Shutdown: %v", err)
		}
	})
}

// warnLogger is testLogger without the per-reload lines: a hundred swaps
// would bury what matters.
func warnLogger(t *testing.T) *slog.Logger {
	w := &logWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

func (e *swapEnv) status() admin.Status {
	e.t.Helper()
	c := &http.Client{Transport: e.admin, Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + e.node.Addr("admin").String() + "/status")
	if err != nil {
		e.t.Fatalf("/status: %v", err)
	}
	defer resp.Body.Close()
	var st admin.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		e.t.Fatalf("/status: %v", err)
	}
	return st
}

// waitStatus polls /status until ok says yes, and returns how long it took.
func (e *swapEnv) waitStatus(what string, limit time.Duration, ok func(admin.Status) bool) (admin.Status, time.Duration) {
	e.t.Helper()
	start := time.Now()
	for {
		st := e.status()
		if ok(st) {
			return st, time.Since(start)
		}
		if time.Since(start) > limit {
			e.t.Fatalf("%s: not within %v; /status config: %+v", what, limit, st.Config)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// swapTo writes version and has it applied, by the watcher or by Reload;
// it returns how long the watcher took (0 for Reload).
func (e *swapEnv) swapTo(from, version string, viaWatcher, rename bool) time.Duration {
	e.t.Helper()
	start := time.Now()
	e.write(version, false, rename)
	if !viaWatcher {
		if err := e.node.Reload(); err != nil {
			e.t.Fatalf("Reload of version %s: %v", version, err)
		}
		e.versions[version] = e.node.ConfigStatus().Version
		return 0
	}
	old := e.versions[from]
	st, took := e.waitStatus("version "+version+" applied by the watcher", applyBound, func(st admin.Status) bool {
		return st.Config.Version != old && !st.Config.Failing
	})
	// Right is the swap test's one distribution and, after the first
	// time, the version's own table.
	right := func(st admin.Status) bool {
		v, seen := e.versions[version]
		return st.Distributions == 1 && (!seen || st.Config.Version == v)
	}
	if !right(st) {
		// A third table: the watcher applied something else than what was written.
		e.t.Errorf("version %s applied by the watcher as %s (%d distributions) %v after the write started; was %s before",
			version, st.Config.Version, st.Distributions, took.Round(time.Millisecond), e.versions[version])
		st, _ = e.waitStatus("version "+version+" applied after a wrong table", applyBound, right)
	}
	e.versions[version] = st.Config.Version
	return time.Since(start)
}

// h1Client talks plain HTTP/1.1 to the node, whatever the URL's host.
func (e *swapEnv) h1Client() (*http.Client, func()) {
	addr := e.node.Addr("http").String()
	var protos http.Protocols
	protos.SetHTTP1(true)
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: 2 * time.Second}).DialContext(ctx, network, addr)
		},
		Protocols:          &protos,
		DisableCompression: true,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, tr.CloseIdleConnections
}

// h3Client talks HTTP/3 to the node's UDP listener, trusting only the
// certificate the node presented on its TLS listener.
func (e *swapEnv) h3Client() (*http.Client, func()) {
	addr, cert := e.node.Addr("http3").String(), e.cert
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{
			// The node's self-signed certificate names localhost, not
			// swap.test: pin it instead of verifying the name.
			InsecureSkipVerify: true,
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 || !bytes.Equal(cs.PeerCertificates[0].Raw, cert) {
					return errors.New("not the node's certificate")
				}
				return nil
			},
		},
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			return quic.DialAddr(ctx, addr, tlsCfg, cfg)
		},
		DisableCompression: true,
	}
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}, func() { tr.Close() }
}

// swapGet fetches url and returns the body and the X-Config-Seen header.
func swapGet(c *http.Client, url string) (body, seen string, err error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", "", fmt.Errorf("read body: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("status %d: %.200q", resp.StatusCode, b)
	}
	return string(b), resp.Header.Get("X-Config-Seen"), nil
}

// Phases of a load run; latencies are kept per phase and protocol.
const (
	phaseWarmup int32 = iota // not measured
	phaseSteady
	phaseSwaps
	phaseOther
	phases
)

// want is what a request must get: a new value (a new pointer) is stored
// at every change, so a request that saw the same pointer before and after
// itself ran entirely under it. An empty version means a swap is on its way:
// either version is right.
type want struct{ version string }

// swapLoad is the continuous load: clients requesting in a loop, checking
// every response.
type swapLoad struct {
	want  atomic.Pointer[want]
	phase atomic.Int32
	stop  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup

	mu      sync.Mutex
	lat     [2][phases][]time.Duration // by protocol (0 HTTP/1.1, 1 HTTP/3) and phase
	seen    [2]map[string]int          // bodies by protocol
	failed  int
	errs    []string
	closers []func()
}

var protoNames = [2]string{"HTTP/1.1", "HTTP/3"}

func startLoad(e *swapEnv, version string) *swapLoad {
	l := &swapLoad{stop: make(chan struct{}), seen: [2]map[string]int{{}, {}}}
	l.want.Store(&want{version})
	for i := range swapClients {
		proto := i % 2
		c, closeIdle := e.h1Client()
		if proto == 1 {
			c, closeIdle = e.h3Client()
		}
		l.closers = append(l.closers, closeIdle)
		l.wg.Go(func() { l.client(c, proto, i) })
	}
	return l
}

func (l *swapLoad) fail(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.failed++
	if len(l.errs) < 20 {
		l.errs = append(l.errs, fmt.Sprintf(format, args...))
	}
}

func (l *swapLoad) client(c *http.Client, proto, first int) {
	var lat [phases][]time.Duration
	seen := map[string]int{}
	scheme := [2]string{"http", "https"}[proto]
	for i := first; ; i++ {
		select {
		case <-l.stop:
			l.mu.Lock()
			for p := range phases {
				l.lat[proto][p] = append(l.lat[proto][p], lat[p]...)
			}
			for k, v := range seen {
				l.seen[proto][k] += v
			}
			l.mu.Unlock()
			return
		default:
		}
		path := swapPaths[i%len(swapPaths)]
		phase, before := l.phase.Load(), l.want.Load()
		start := time.Now()
		body, header, err := swapGet(c, scheme+"://swap.test"+path)
		d := time.Since(start)
		after := l.want.Load()
		switch {
		case err != nil:
			l.fail("%s %s: %v", protoNames[proto], path, err)
		case body != "A" && body != "B":
			l.fail("%s %s: body %q, want A or B", protoNames[proto], path, body)
		case header != body:
			l.fail("%s %s: mixed versions: body from %s, origin request stamped by %q", protoNames[proto], path, body, header)
		case before == after && before.version != "" && body != before.version:
			l.fail("%s %s: got version %s after version %s was applied", protoNames[proto], path, body, before.version)
		}
		if err == nil {
			seen[body]++
		}
		lat[phase] = append(lat[phase], d)
	}
}

// finish stops the clients and closes their connections.
func (l *swapLoad) finish() {
	l.once.Do(func() {
		close(l.stop)
		l.wg.Wait()
		for _, c := range l.closers {
			c()
		}
	})
}

// check reports failed requests, and that both protocols were served.
func (l *swapLoad) check(t *testing.T) {
	t.Helper()
	for proto, seen := range l.seen {
		t.Logf("%s: responses by version %v", protoNames[proto], seen)
		if seen["A"]+seen["B"] == 0 {
			t.Errorf("%s: no successful request", protoNames[proto])
		}
	}
	if l.failed > 0 {
		t.Errorf("%d failed requests; the first ones:\n%s", l.failed, strings.Join(l.errs, "\n"))
	}
}

// latency is the p50 and p99 of the phase, over protocols (-1 both).
func (l *swapLoad) latency(proto int, phase int32) (n int, p50, p99 time.Duration) {
	var all []time.Duration
	for p := range 2 {
		if proto < 0 || p == proto {
			all = append(all, l.lat[p][phase]...)
		}
	}
	if len(all) == 0 {
		return 0, 0, 0
	}
	slices.Sort(all)
	q := func(f float64) time.Duration { return all[int(math.Ceil(f*float64(len(all))))-1] }
	return len(all), q(0.50), q(0.99)
}

// probe checks right after a confirmed swap that both protocols serve it.
func (e *swapEnv) probe(clients [2]*http.Client, version string, i int) {
	e.t.Helper()
	for proto, c := range clients {
		path := swapPaths[(i+proto)%len(swapPaths)]
		body, _, err := swapGet(c, [2]string{"http", "https"}[proto]+"://swap.test"+path)
		if err != nil || body != version {
			e.t.Errorf("swap %d: %s %s right after version %s was applied: %q, %v", i, protoNames[proto], path, version, body, err)
		}
	}
}

// swaps swaps the config n times from version cur, one swap per interval,
// under l: how(i) says whether swap i waits for the watcher (or calls
// Reload) and whether it renames the file into place (or writes it in
// place). It returns the version served last and how long the watcher took.
func (e *swapEnv) swaps(l *swapLoad, probes [2]*http.Client, cur string, n int, interval time.Duration, how func(i int) (viaWatcher, rename bool)) (string, []time.Duration) {
	var watched []time.Duration
	for i := range n {
		next := map[string]string{"A": "B", "B": "A"}[cur]
		began := time.Now()
		l.want.Store(&want{}) // in transition: either version is right
		viaWatcher, rename := how(i)
		if d := e.swapTo(cur, next, viaWatcher, rename); d > 0 {
			watched = append(watched, d)
		}
		l.want.Store(&want{next})
		e.probe(probes, next, i)
		cur = next
		time.Sleep(time.Until(began.Add(interval)))
	}
	slices.Sort(watched)
	return cur, watched
}

// TestSwapUnderLoad swaps the config a hundred times between two versions
// under load on HTTP/1.1 and HTTP/3: no request fails, none mixes the
// versions, none sees the old version once the new one is applied, p99
// latency stays near the steady state's, and no goroutine outlives the node.
func TestSwapUnderLoad(t *testing.T) {
	dur := swapDuration()
	e := newSwapEnv(t)
	lifecycle := lifecycleLeak(t, e)
	before := runtime.NumGoroutine()
	e.start()
	h1, closeH1 := e.h1Client()
	h3, closeH3 := e.h3Client()
	probes := [2]*http.Client{h1, h3}
	e.probe(probes, "A", 0)

	l := startLoad(e, "A")
	time.Sleep(300 * time.Millisecond) // connections and cache warm up
	l.phase.Store(phaseSteady)
	time.Sleep(dur)

	// Every other swap waits for the watcher (200 ms debounce, the node's
	// default); the rest call Reload right after the write, as SIGHUP
	// does, so that a hundred swaps fit in the phase. -short has the
	// watcher apply one swap in ten. Writes alternate, two by two, between
	// in place and renamed into place: each way meets both.
	watchEvery := 2
	if testing.Short() {
		watchEvery = 10
	}
	l.phase.Store(phaseSwaps)
	swapsStart := time.Now()
	cur, watched := e.swaps(l, probes, "A", swapCount, dur/swapCount, func(i int) (bool, bool) {
		return i%watchEvery == 0, (i/2)%2 == 1
	})
	swapsTook := time.Since(swapsStart)
	l.phase.Store(phaseOther)
	l.finish()
	closeH1()
	closeH3()

	st := e.status()
	if st.Config.Failing || st.Config.Version != e.versions[cur] || st.Config.Reloads < swapCount {
		t.Errorf("after the swaps: /status config %+v, want version %s and %d reloads", st.Config, e.versions[cur], swapCount)
	}
	l.check(t)

	t.Logf("%d swaps in %v (%d by the watcher: write to applied p50 %v, max %v)", swapCount, swapsTook.Round(time.Millisecond),
		len(watched), watched[len(watched)/2].Round(time.Millisecond), watched[len(watched)-1].Round(time.Millisecond))
	for _, proto := range []int{0, 1, -1} {
		name := "all"
		if proto >= 0 {
			name = protoNames[proto]
		}
		n1, s50, s99 := l.latency(proto, phaseSteady)
		n2, w50, w99 := l.latency(proto, phaseSwaps)
		ratio := float64(w99) / float64(s99)
		t.Logf("%-8s steady: %6d requests, p50 %v, p99 %v; swapping: %6d requests, p50 %v, p99 %v; p99 ratio %.2f (target %.1f)",
			name, n1, s50, s99, n2, w50, w99, ratio, swapP99Target)
		if n1 == 0 || n2 == 0 {
			t.Errorf("%s: no requests in a phase", name)
		} else if proto < 0 && ratio > swapP99Bound {
			t.Errorf("p99 during swaps is %.2f× the steady state's, want at most %.1f× (target %.1f×)", ratio, swapP99Bound, swapP99Target)
		}
	}

	// Goroutines: what the node leaves after Shutdown must be what a bare
	// Start and Shutdown leaves. Its connections to the origins close at
	// their keep-alive timeout (originKeepaliveTimeout, 5 s).
	e.stop()
	settle := time.Now()
	for runtime.NumGoroutine() > before+lifecycle {
		if time.Since(settle) > 10*time.Second {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after 100 swaps and Shutdown, %d before Start (a bare Start and Shutdown leaves %d):\n%s",
				runtime.NumGoroutine(), before, lifecycle, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Logf("goroutines: %d before Start, %d after Shutdown, settled in %v", before, runtime.NumGoroutine(), time.Since(settle).Round(time.Millisecond))
}

// lifecycleLeak starts and shuts down a node on e's config, and returns
// how many goroutines that leaves behind.
func lifecycleLeak(t *testing.T, e *swapEnv) int {
	t.Helper()
	base, baseCreators := runtime.NumGoroutine(), goroutineCreators()
	n, err := Start(Options{ConfigDir: e.dir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		NodeName: nodeName, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if err := n.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for start := time.Now(); runtime.NumGoroutine() > base && time.Since(start) < 2*time.Second; {
		time.Sleep(10 * time.Millisecond)
	}
	leaked := max(0, runtime.NumGoroutine()-base)
	if leaked > 0 {
		var extra []string
		for f, c := range goroutineCreators() {
			if c > baseCreators[f] {
				extra = append(extra, fmt.Sprintf("%d by %s", c-baseCreators[f], f))
			}
		}
		t.Logf("a bare Start and Shutdown leaves %d goroutine(s), a node bug and not the swaps': created %v", leaked, extra)
	}
	return leaked
}

// goroutineCreators counts the live goroutines by the function that created them.
func goroutineCreators() map[string]int {
	buf := make([]byte, 1<<20)
	out := map[string]int{}
	for _, l := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n") {
		if f := strings.Fields(l); len(f) > 2 && f[0] == "created" && f[1] == "by" {
			out[f[2]]++
		}
	}
	return out
}

// TestSwapBadConfigUnderLoad writes a config with an error in the middle of
// the load: the last good config keeps serving, /status names the file and
// line within 2 s, and the next good write is applied.
func TestSwapBadConfigUnderLoad(t *testing.T) {
	e := newSwapEnv(t)
	e.start()
	l := startLoad(e, "A")
	defer l.finish()
	time.Sleep(500 * time.Millisecond)
	l.want.Store(&want{})
	e.swapTo("A", "B", true, true)
	l.want.Store(&want{"B"})
	time.Sleep(500 * time.Millisecond)

	// The broken write: B stays, strictly, for every request from now on.
	l.phase.Store(phaseOther)
	before := e.status()
	bad := e.render("A", true)
	line := 1 + bytes.Count(bad[:bytes.Index(bad, []byte(`"sometimes"`))], []byte("\n"))
	file := filepath.Join(e.dir, "main.cue")
	e.write("A", true, true)
	st, took := e.waitStatus("the error in /status", statusTarget*slack, func(st admin.Status) bool {
		return st.Config.Failing && st.Config.LastError != nil && len(st.Config.LastError.Errors) > 0
	})
	t.Logf("broken write to /status showing the error: %v (target %v)", took.Round(time.Millisecond), statusTarget)
	if !slices.ContainsFunc(st.Config.LastError.Errors, func(p compiler.Error) bool { return p.File == file && p.Line == line }) {
		t.Errorf("/status config.lastError.errors %+v, want one at %s:%d", st.Config.LastError.Errors, file, line)
	}
	if st.Config.Version != before.Config.Version || st.Version != before.Version || !st.AppliedAt.Equal(before.AppliedAt) {
		t.Errorf("the broken config moved the table: %s (applied %v), was %s (applied %v)", st.Version, st.AppliedAt, before.Version, before.AppliedAt)
	}
	time.Sleep(time.Second) // load on the last good config while the files are broken

	// The next good write.
	l.want.Store(&want{})
	took = e.swapTo("B", "A", true, true)
	l.want.Store(&want{"A"})
	t.Logf("good write after the broken one to applied: %v", took.Round(time.Millisecond))
	st = e.status()
	if st.Config.Failing || st.Config.LastError == nil || st.Config.Failures != before.Config.Failures+1 {
		t.Errorf("after the fix: failing %v, lastError %v, failures %d (was %d)", st.Config.Failing, st.Config.LastError, st.Config.Failures, before.Config.Failures)
	}
	time.Sleep(500 * time.Millisecond)
	l.finish()
	l.check(t)
	if n, _, _ := l.latency(-1, phaseOther); n == 0 {
		t.Error("no request while the config was broken")
	}
}

// TestSwapInPlaceWriteUnderLoad swaps with the file written in place
// (truncated, then written: cp, shell redirection, some editors), each
// write a debounce after the previous one so that the watcher's timer
// fires as the next write starts. Under load the watcher then reads the
// file in the kernel's truncate window (empty, with its old mtime, no
// event yet), and an empty main.cue compiles to a valid table without a
// distribution: unless the watcher drops that compile, every host answers
// 403 until the next one.
func TestSwapInPlaceWriteUnderLoad(t *testing.T) {
	n := 50
	if testing.Short() {
		n = 16
	}
	e := newSwapEnv(t)
	e.start()
	h1, closeH1 := e.h1Client()
	defer closeH1()
	h3, closeH3 := e.h3Client()
	defer closeH3()
	l := startLoad(e, "A")
	defer l.finish()
	time.Sleep(300 * time.Millisecond)
	_, watched := e.swaps(l, [2]*http.Client{h1, h3}, "A", n, 200*time.Millisecond, func(i int) (bool, bool) { return i%2 == 1, false })
	l.finish()
	l.check(t)
	t.Logf("%d in-place swaps, %d by the watcher: write to applied p50 %v, max %v", n, len(watched),
		watched[len(watched)/2].Round(time.Millisecond), watched[len(watched)-1].Round(time.Millisecond))
}

// probeConfig is an extra file for the generated configs: distribution
// "probe" whose origin echoes the X-Config value the file sets.
func probeConfig(origin, version string) []byte {
	return fmt.Appendf(nil, `package cdn

distributions: probe: {
	aliases: ["probe.test"]
	origins: [{id: "echo", domainName: %q, customHeaders: [{headerName: "X-Config", headerValue: %q}]
		customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "echo", viewerProtocolPolicy: "allow-all"}
}
`, origin, version)
}

// BenchmarkWriteToServing is the time from a file write to the new table
// answering requests on the node's HTTP listener, with one file changed in
// a generated config (internal/genconfig) plus the probed distribution's
// file, at the node's default 200 ms debounce. Targets: 500 ms at 100
// distributions, 1 s at 10,000. The 10,000 case starts with a cold
// compile (about 10 s on two cores).
func BenchmarkWriteToServing(b *testing.B) {
	for _, n := range []int{100, 10000} {
		b.Run(fmt.Sprintf("distributions=%d", n), func(b *testing.B) {
			origin := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "no-store")
				io.WriteString(w, r.Header.Get("X-Config"))
			}))
			defer origin.Close()
			dir := b.TempDir()
			if err := genconfig.Write(dir, n); err != nil {
				b.Fatal(err)
			}
			probe := filepath.Join(dir, "probe.cue")
			if err := os.WriteFile(probe, probeConfig(origin.Listener.Addr().String(), "v0"), 0o644); err != nil {
				b.Fatal(err)
			}
			// Aged past the compiler's two-second racy window, as a config
			// in place for a while is: only the changed file is read again.
			old := time.Now().Add(-time.Hour)
			entries, _ := os.ReadDir(dir)
			for _, de := range entries {
				os.Chtimes(filepath.Join(dir, de.Name()), old, old)
			}
			coldStart := time.Now()
			node, err := Start(Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", NodeName: nodeName, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				b.Fatal(err)
			}
			b.Logf("%d distributions: cold start %v", n, time.Since(coldStart).Round(time.Millisecond))
			defer node.Shutdown(context.Background())
			e := &swapEnv{node: node}
			c, closeIdle := e.h1Client()
			defer closeIdle()
			get := func() string {
				resp, err := c.Get("http://probe.test/x")
				if err != nil {
					b.Fatal(err)
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return string(body)
			}
			if got := get(); got != "v0" {
				b.Fatalf("serving %q at start, want v0", got)
			}
			var lat []time.Duration
			for i := 1; b.Loop(); i++ {
				version := fmt.Sprintf("v%d", i)
				start := time.Now()
				if err := os.WriteFile(probe, probeConfig(origin.Listener.Addr().String(), version), 0o644); err != nil {
					b.Fatal(err)
				}
				for get() != version {
					if time.Since(start) > 30*time.Second {
						b.Fatalf("%s not served after 30s", version)
					}
					time.Sleep(time.Millisecond)
				}
				lat = append(lat, time.Since(start))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "ms-p50")
			b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "ms-max")
		})
	}
}
