package rtmp

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/yutopp/go-amf0"
	"github.com/yutopp/go-rtmp/handshake"

	"openfront.dev/compiler"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// FuzzConn feeds a client's bytes to a running server over TCP: after a
// real handshake when the first byte is odd, else as they are. The server
// must close the connection once the client stops sending, and no
// connection may end in a panic, recovered by go-rtmp or not (one that is
// not kills the test binary). The seeds, run by every go test, are real
// sessions (play, publish, controls) and the bad inputs TestBadInput sends.
func FuzzConn(f *testing.F) {
	panics := &panicLog{}
	var events eventKinds
	_, addr := startBareServer(f, func(c *Config) { c.Log, c.Events = slog.New(panics), events.add })
	for _, seed := range fuzzSeeds() {
		f.Add(seed)
	}
	f.Cleanup(func() { f.Logf("events: %v", events.m) })
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if in[0]&1 == 1 {
			if err := handshake.HandshakeWithServer(c, c, &handshake.Config{}); err != nil {
				t.Fatalf("handshake: %v", err)
			}
		}
		wrote := make(chan struct{})
		go func() {
			defer close(wrote)
			c.Write(in[1:]) // fails once the server closes: fine
			c.(*net.TCPConn).CloseWrite()
		}()
		_, err = io.Copy(io.Discard, c)
		<-wrote
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("the server kept the connection open after the client's input ended")
		}
		if p := panics.take(); p != "" {
			t.Fatalf("a connection panicked:\n%s", p)
		}
	})
}

// startBareServer starts a server on loopback with baseConfig and an origin
// that refuses connections (on-demand plays fail at once): no S3 or ffmpeg.
func startBareServer(tb testing.TB, mod func(*Config)) (*Server, string) {
	dir := tb.TempDir()
	// Credentials from nowhere else: the SDK would ask EC2's metadata service.
	tb.Setenv("AWS_ACCESS_KEY_ID", "test")
	tb.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	tb.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	tb.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	cfg := fmt.Sprintf(baseConfig, "http://127.0.0.1:1", streamKeySHA(), "", "")
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(cfg), 0o644); err != nil {
		tb.Fatal(err)
	}
	res, err := compiler.New(dir).Compile()
	if err != nil {
		tb.Fatal(err)
	}
	pool := origin.NewPool(dir)
	c := Config{Origins: pool, HandshakeTimeout: 5 * time.Second}
	if mod != nil {
		mod(&c)
	}
	srv := NewServer(c)
	srv.SetTable(res.Table)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			tb.Errorf("shutdown: %v", err)
		}
		<-served
		pool.Close()
	})
	return srv, ln.Addr().String()
}

// panicLog is a slog handler that keeps the log lines reporting a recovered
// panic: go-rtmp's (its message loop turns one into the connection's error)
// and the server's own.
type panicLog struct {
	mu  sync.Mutex
	msg string
}

func (*panicLog) Enabled(context.Context, slog.Level) bool { return true }
func (h *panicLog) WithAttrs([]slog.Attr) slog.Handler     { return h }
func (h *panicLog) WithGroup(string) slog.Handler          { return h }
func (h *panicLog) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "Panic") || strings.Contains(r.Message, "panic") || strings.Contains(r.Message, "runtime error") {
		line := r.Message
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "panic" {
				line += ": " + a.Value.String()
			}
			return true
		})
		h.mu.Lock()
		h.msg += line + "\n"
		h.mu.Unlock()
	}
	return nil
}

func (h *panicLog) take() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.msg
	h.msg = ""
	return m
}

// fuzzSeeds are client inputs: a mode byte (odd: handshake first), then bytes.
func fuzzSeeds() [][]byte {
	connect := func(app string) []byte {
		return cmdMessage(0, "connect", 1, map[string]interface{}{
			"app": app, "tcUrl": "rtmp://tv.test/" + app, "flashVer": "FMLE/3.0", "objectEncoding": 0.0})
	}
	createStream := cmdMessage(0, "createStream", 2, nil)
	play := func(name string) []byte { return cmdMessage(1, "play", 3, nil, name, -2000.0) }
	videoHeader := []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe1, 0, 4, 0x67, 0x64, 0, 0x1f, 1, 0, 2, 0x68, 0xee}
	keyframe := []byte{0x17, 1, 0, 0, 0, 0, 0, 0, 3, 0x65, 0x88, 0x84}
	audioHeader := []byte{0xaf, 0, 0x12, 0x10}
	var metadata bytes.Buffer
	enc := amf0.NewEncoder(&metadata)
	enc.Encode("@setDataFrame")
	enc.Encode("onMetaData")
	enc.Encode(amf0.ECMAArray{"width": 320.0, "height": 180.0, "videocodecid": 7.0})

	seeds := [][]byte{
		join(connect("cfx/st"), createStream, play("mp4:video.mp4"), play("video"), play("mp3:song"),
			play("../../etc/passwd"), play("a\x00b"), play(strings.Repeat("x", 65000)),
			cmdMessage(1, "seek", 4, nil, 1000.0), cmdMessage(1, "pause", 5, nil, true, 0.0),
			cmdMessage(1, "deleteStream", 6, nil, 1.0)),
		join(connect("live"), createStream,
			cmdMessage(0, "releaseStream", 3, nil, "show"), cmdMessage(0, "FCPublish", 4, nil, "show"),
			cmdMessage(1, "publish", 5, nil, "show?key="+testStreamKey, "live"),
			msg(4, typeDataAMF0, 1, metadata.Bytes()),
			msg(6, typeVideo, 1, videoHeader), msg(6, typeVideo, 1, keyframe), msg(4, typeAudio, 1, audioHeader),
			msg(4, typeAudio, 1, []byte{0xaf, 1, 0x21, 0x10}), msg(6, typeVideo, 1, []byte{0x27, 1, 0, 0, 0}),
			cmdMessage(0, "FCUnpublish", 6, nil, "show"), cmdMessage(0, "deleteStream", 7, nil, 1.0)),
		join(connect("live"), createStream, play("show"), cmdMessage(1, "pause", 4, nil, true, 0.0),
			cmdMessage(1, "pause", 5, nil, false, 0.0), cmdMessage(1, "seek", 6, nil, 5.0),
			cmdMessage(1, "publish", 7, nil, "../x", "live"), cmdMessage(1, "closeStream", 8, nil)),
		join(controlMessage(1, 0), controlMessage(1, 0x7fffffff), controlMessage(5, 0), controlMessage(3, 1),
			controlMessage(2, 3), msg(2, 4, 0, []byte{0, 3, 0, 0, 0, 1, 0, 0, 0, 100}), msg(2, 4, 0, []byte{0}),
			msg(2, 6, 0, []byte{0, 0, 0, 0}), connect("cfx/st")),
		join(chunkHeader(3, 0xffffff, typeCommandAMF0), make([]byte, 200)),
		join(connect("cfx/st"), cmdMessage(0, "connect", 2, 7.0), cmdMessage(0, "play", 3, nil, 1.0),
			cmdMessage(0, "createStream", 4, "x"), cmdMessage(0, "publish", 5, nil)),
		join(connect("cfx/st"), createStream, cmdMessage(1, "play", 3, nil,
			"mp4:video.mp4?Expires=1&Signature=abc&Key-Pair-Id=K")),
		msg(3, typeCommandAMF0, 0, append(amf0Command("connect", 1), 0x03, 0, 1, 'a', 0x0a, 0x7f, 0xff, 0xff, 0xff)),
		[]byte{0xc3, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3, 4, 0x14},
	}
	out := make([][]byte, 0, len(seeds)+2)
	for _, s := range seeds {
		out = append(out, append([]byte{1}, s...))
	}
	garbage := append([]byte{0, 3}, bytes.Repeat([]byte{0xde, 0xad}, 1600)...)
	return append(out, garbage, []byte{0, 6, 1, 2, 3})
}

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// cmdMessage is an AMF0 command on message stream sid (chunk stream 3).
func cmdMessage(sid uint32, name string, tid float64, object interface{}, args ...interface{}) []byte {
	var b bytes.Buffer
	enc := amf0.NewEncoder(&b)
	for _, v := range append([]interface{}{name, tid, object}, args...) {
		if err := enc.Encode(v); err != nil {
			panic(err)
		}
	}
	return msg(3, typeCommandAMF0, sid, b.Bytes())
}

// msg is a message in 128-byte chunks (the default chunk size).
func msg(cs int, typeID byte, sid uint32, body []byte) []byte {
	b := rawMessage(cs, typeID, 128, body)
	binary.LittleEndian.PutUint32(b[8:], sid)
	return b
}

// eventKinds counts events by kind and status: the seeds reach play and publish.
type eventKinds struct {
	mu sync.Mutex
	m  map[string]int
}

func (k *eventKinds) add(e Event) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.m == nil {
		k.m = map[string]int{}
	}
	k.m[e.Kind+" "+e.Status]++
}

// TestPanickingSink: a panic on a connection's goroutines, here in the live
// sink while it takes a publisher's media (go-rtmp's read loop recovers it)
// and again as the publish ends (OnClose, outside go-rtmp's recover), ends
// that connection only: the server serves on and shuts down cleanly.
func TestPanickingSink(t *testing.T) {
	panics := &panicLog{}
	_, addr := startBareServer(t, func(c *Config) { c.Live, c.Log = panickingSink{}, slog.New(panics) })
	for range 2 {
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if err := handshake.HandshakeWithServer(c, c, &handshake.Config{}); err != nil {
			t.Fatal(err)
		}
		c.Write(fuzzSeeds()[1][1:]) // a publish with media
		if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("the connection stayed open after its panic")
		}
	}
	if p := panics.take(); !strings.Contains(p, "sink: Media") || !strings.Contains(p, "sink: End") {
		t.Errorf("the panics are not logged: %q", p)
	}
}

// A panic go-rtmp's read loop recovers (here a live sink's Media, on the
// publisher's bytes) is logged at error level, with the client's address,
// when the log is at info as on a node, and counted; so is one while
// closing (the sink's End).
func TestPanicLoggedAndCounted(t *testing.T) {
	var out testenv.Buffer
	srv, addr := startBareServer(t, func(c *Config) {
		c.Live, c.Log = panickingSink{}, slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	c := dial(t, addr)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := handshake.HandshakeWithServer(c, c, &handshake.Config{}); err != nil {
		t.Fatal(err)
	}
	c.Write(fuzzSeeds()[1][1:]) // a publish with media
	io.Copy(io.Discard, c)
	local := c.LocalAddr().String()
	c.Close()
	log := out.String()
	for _, want := range []string{`level=ERROR msg="rtmp: panic in a connection's handler; the connection is closed"`, "remote=" + local, `panic="sink: Media"`, `panic="sink: End"`} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %s:\n%s", want, log)
		}
	}
	for where, want := range map[string]float64{"handler": 1, "close": 1} {
		if n := testutil.ToFloat64(srv.metrics.panics.WithLabelValues(where)); n != want {
			t.Errorf("openfront_rtmp_panics_total{where=%q} = %v, want %v", where, n, want)
		}
	}
}

type panickingSink struct{}

func (panickingSink) Publish(string, string) LiveTrack { return panickingSink{} }
func (panickingSink) Media(uint8, uint32, []byte)      { panic("sink: Media") }
func (panickingSink) End()                             { panic("sink: End") }
