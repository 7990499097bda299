package rtmp

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"openfront.dev/compiler"
	"openfront.dev/daemon/origin"
	"openfront.dev/daemon/rtmp/rtmptest"
	"openfront.dev/internal/testenv"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testStreamKey is the live publish credential the test configs accept.
const testStreamKey = "s3cr3t-key"

func streamKeySHA() string {
	sum := sha256.Sum256([]byte(testStreamKey))
	return hex.EncodeToString(sum[:])
}

// testMedia is generated once: 4 s of 320x180 30 fps H.264 (2 s GOP) + AAC.
type testMedia struct {
	flv, mp4 []byte
	frames   int // video frames
	duration float64
}

// mediaGen makes a testMedia once.
type mediaGen struct {
	once  sync.Once
	codec string // x264 settings
	m     testMedia
	err   error
}

var (
	media4s = &mediaGen{codec: "-preset veryfast"}
	// mediaLarge spans several windows (about 700 KB).
	mediaLarge = &mediaGen{codec: "-preset ultrafast -crf 12"}
)

func genMedia(t *testing.T) testMedia { return media4s.get(t) }

func (g *mediaGen) get(t *testing.T) testMedia {
	t.Helper()
	ffmpeg := testenv.Tool(t, "ffmpeg")
	g.once.Do(func() {
		dir, err := os.MkdirTemp("", "rtmp-media")
		if err != nil {
			g.err = err
			return
		}
		defer os.RemoveAll(dir)
		for _, f := range []struct{ name, extra string }{{"test.flv", ""}, {"test.mp4", "-movflags +faststart"}} {
			args := strings.Fields("-v error -f lavfi -i testsrc2=size=320x180:rate=30 -f lavfi -i sine=frequency=440 -t 4 -c:v libx264 " + g.codec + " -g 60 -pix_fmt yuv420p -c:a aac -b:a 64k " + f.extra)
			args = append(args, filepath.Join(dir, f.name))
			if out, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
				g.err = fmt.Errorf("ffmpeg: %v\n%s", err, out)
				return
			}
		}
		g.m.flv, _ = os.ReadFile(filepath.Join(dir, "test.flv"))
		g.m.mp4, _ = os.ReadFile(filepath.Join(dir, "test.mp4"))
		g.m.frames, g.m.duration = 120, 4
	})
	if g.err != nil {
		t.Fatal(g.err)
	}
	return g.m
}

// env is a running server with an S3 origin and a config.
type env struct {
	srv  *Server
	addr string // 127.0.0.1:PORT
	s3   *testenv.S3
	gets *getCounter // the distributions' s3Origin: a counting proxy in front of s3
	dir  string
	pool *origin.Pool
	mu   sync.Mutex
	evs  []Event
}

// baseConfig is a streaming distribution "tv" on tv.test with live enabled.
const baseConfig = `package cdn

streamingDistributions: tv: {
	aliases: ["tv.test"]
	s3Origin: {domainName: "127.0.0.1", endpoint: %[1]q, bucket: "media", region: "us-east-1"}
	live: {enabled: true, streamKeySHA256: [%[2]q]}
	%[3]s
}
streamingDistributions: vodonly: {
	aliases: ["vod.test"]
	s3Origin: {domainName: "127.0.0.1", endpoint: %[1]q, bucket: "media", region: "us-east-1"}
}
%[4]s
`

// startEnv starts versitygw and a server; extra is added to distribution
// tv, top to the top level.
func startEnv(t *testing.T, extra, top string, mod func(*Config)) *env {
	t.Helper()
	s3 := testenv.StartS3(t)
	e := &env{s3: s3, dir: t.TempDir()}
	t.Setenv("AWS_ACCESS_KEY_ID", s3.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", s3.SecretKey)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(e.dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(e.dir, "none"))
	if err := os.MkdirAll(filepath.Join(s3.Root, "media"), 0o755); err != nil {
		t.Fatal(err)
	}
	e.gets = startGetCounter(t, s3.Endpoint)
	e.writeConfig(t, fmt.Sprintf(baseConfig, e.gets.url, streamKeySHA(), extra, top))
	res, err := compiler.New(e.dir).Compile()
	if err != nil {
		t.Fatal(err)
	}
	e.pool = origin.NewPool(e.dir)
	cfg := Config{Origins: e.pool, Log: testLogger(t), Events: e.event}
	if mod != nil {
		mod(&cfg)
	}
	e.srv = NewServer(cfg)
	e.srv.SetTable(res.Table)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.addr = ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- e.srv.Serve(ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := e.srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		if err := <-served; err != nil {
			t.Errorf("serve: %v", err)
		}
		e.pool.Close()
	})
	return e
}

// getCounter is a reverse proxy to versitygw that counts GETs per object
// and Range. It keeps the Host the client signed (SigV4 covers it).
type getCounter struct {
	url  string
	mu   sync.Mutex
	gets map[string]int // "PATH RANGE"
}

func startGetCounter(t *testing.T, target string) *getCounter {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	g := &getCounter{gets: map[string]int{}}
	tr := &http.Transport{}
	proxy := &httputil.ReverseProxy{Transport: tr, Rewrite: func(pr *httputil.ProxyRequest) {
		pr.Out.URL.Scheme, pr.Out.URL.Host = u.Scheme, u.Host
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			g.mu.Lock()
			g.gets[r.URL.Path+" "+r.Header.Get("Range")]++
			g.mu.Unlock()
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		srv.Close()
		tr.CloseIdleConnections()
	})
	g.url = srv.URL
	return g
}

// counts are the GETs so far of objects under path (bucket included).
func (g *getCounter) counts(path string) map[string]int {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := map[string]int{}
	for k, n := range g.gets {
		if strings.HasPrefix(k, path) {
			out[k] = n
		}
	}
	return out
}

func (e *env) writeConfig(t *testing.T, cfg string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(e.dir, "main.cue"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (e *env) event(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.evs = append(e.evs, ev)
}

func (e *env) events() []Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]Event(nil), e.evs...)
}

// url is an RTMP URL on the server for path (APP/STREAM).
func (e *env) url(path string) string { return "rtmp://" + e.addr + "/" + path }

// tcurl is the -rtmp_tcurl argument naming host's distribution.
func tcurl(host, app string) []string { return []string{"-rtmp_tcurl", "rtmp://" + host + "/" + app} }

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: testLogLevel()}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// run runs a tool with a deadline and returns its stdout and stderr.
func run(t *testing.T, timeout time.Duration, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Tool(t, name), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

// decode plays url with ffmpeg and returns the video frames it decoded and
// the last frame's time.
func decode(t *testing.T, timeout time.Duration, args ...string) (frames int, last float64, stderr string, err error) {
	t.Helper()
	args = append(append([]string{"-v", "error", "-nostdin"}, args...), "-map", "0:v:0", "-f", "framecrc", "-")
	out, stderr, err := run(t, timeout, "ffmpeg", args...)
	frames, last = countFrames(out)
	return frames, last, stderr, err
}

// countFrames reads framecrc output: "stream, dts, pts, duration, size, crc"
// per frame; times are in the stream's timebase, given in the header.
func countFrames(out string) (int, float64) {
	n, num, den := 0, 1.0, 1.0
	var last float64
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#tb 0:") {
			fmt.Sscanf(strings.TrimPrefix(line, "#tb 0:"), " %g/%g", &num, &den)
		}
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		var stream int
		var dts, pts float64
		if _, err := fmt.Sscanf(line, "%d, %g, %g", &stream, &dts, &pts); err == nil && stream == 0 {
			n++
			last = pts * num / den
		}
	}
	return n, last
}

// testLogLevel is debug with RTMP_TEST_DEBUG=1 (go-rtmp's own log included).
func testLogLevel() slog.Level {
	if os.Getenv("RTMP_TEST_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelInfo
}

// playVOD plays stream (start in ms) from distribution host's cfx/st with
// rtmptest; the player is closed when the test ends.
func playVOD(t *testing.T, e *env, host, stream string, start float64) *rtmptest.Player {
	t.Helper()
	p, err := rtmptest.Dial(e.addr, "cfx/st", "rtmp://"+host+"/cfx/st", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.Play(stream, start); err != nil {
		t.Fatal(err)
	}
	return p
}
