package rtmp

import (
	"bytes"
	"errors"
	"io"
	"math"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	rtmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/message"

	"openfront.dev/compiler"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/hls"
	"openfront.dev/daemon/hls/hlstest"
	"openfront.dev/daemon/rtmp/rtmptest"
)

// The HLS packager is a live sink as it is (LiveTrack is an alias).
var _ LiveSink = (*hls.Registry)(nil)

// TestLivePublishPlay: ffmpeg publishes while 20 ffmpeg players, which
// connected before the publisher, decode the stream; they end when it does.
func TestLivePublishPlay(t *testing.T) {
	m := genMedia(t)
	e := startEnv(t, "", "", nil)
	e.s3.PutObject(t, "media", "test.flv", m.flv)
	src := e.s3.Root + "/media/test.flv"

	const players = 20
	type result struct {
		frames int
		stderr string
		err    error
	}
	results := make([]result, players)
	var wg sync.WaitGroup
	for i := range players {
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append(tcurl("tv.test", "live"), "-i", e.url("live/show"))
			n, _, stderr, err := decode(t, 40*time.Second, args...)
			results[i] = result{n, stderr, err}
		}()
	}
	waitFor(t, func() bool { return e.srv.hub.players("tv", "show") == players })
	_, stderr, err := run(t, 40*time.Second, "ffmpeg", append(append([]string{"-v", "error", "-re", "-i", src, "-c", "copy", "-f", "flv"},
		tcurl("tv.test", "live")...), e.url("live/show?key="+testStreamKey))...)
	if err != nil {
		t.Fatalf("publish: %v\n%s", err, stderr)
	}
	wg.Wait()
	for i, r := range results {
		t.Logf("player %d: %d frames", i, r.frames)
		if r.err != nil || r.frames < m.frames*9/10 {
			t.Errorf("player %d: %d of %d frames, %v\n%s", i, r.frames, m.frames, r.err, r.stderr)
		}
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestLiveRules: publish credentials, one publisher per stream, extended
// timestamps (past 4 h 39 min), and streams ending when their distribution goes.
func TestLiveRules(t *testing.T) {
	m := genMedia(t)
	e := startEnv(t, "", "", nil)
	e.s3.PutObject(t, "media", "test.flv", m.flv)
	src := e.s3.Root + "/media/test.flv"
	publish := func(name string, extra ...string) (string, error) {
		args := append([]string{"-v", "error", "-nostdin", "-re", "-i", src, "-c", "copy"}, extra...)
		args = append(append(args, "-f", "flv"), append(tcurl("tv.test", "live"), e.url("live/"+name))...)
		_, stderr, err := run(t, 30*time.Second, "ffmpeg", args...)
		return stderr, err
	}
	for _, tc := range []struct{ name, stream string }{
		{"missing key", "show"},
		{"wrong key", "show?key=nope"},
		{"bad name", "a/b?key=" + testStreamKey},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if stderr, err := publish(tc.stream); err == nil {
				t.Errorf("publish to %q succeeded:\n%s", tc.stream, stderr)
			}
		})
	}

	t.Run("second publisher", func(t *testing.T) {
		first := make(chan error, 1)
		go func() { _, err := publish("dup?key=" + testStreamKey); first <- err }()
		waitFor(t, func() bool { return published(e.events(), "dup") })
		if stderr, err := publish("dup?key=" + testStreamKey); err == nil {
			t.Errorf("a second publisher was accepted:\n%s", stderr)
		}
		if !hasStatus(e.events(), codePublishBadName) {
			t.Errorf("no BadName event")
		}
		if err := <-first; err != nil {
			t.Errorf("first publisher: %v", err)
		}
	})

	t.Run("extended timestamps", func(t *testing.T) {
		done := make(chan struct{})
		var frames int
		var last float64
		go func() {
			defer close(done)
			frames, last, _, _ = decode(t, 30*time.Second, append(tcurl("tv.test", "live"), "-copyts", "-i", e.url("live/late"))...)
		}()
		waitFor(t, func() bool { return e.srv.hub.players("tv", "late") == 1 })
		// 16778 s is past 0xFFFFFF ms: every chunk header carries a 32-bit timestamp.
		if stderr, err := publish("late?key="+testStreamKey, "-output_ts_offset", "16778"); err != nil {
			t.Fatalf("publish: %v\n%s", err, stderr)
		}
		<-done
		if frames < m.frames*9/10 || last < 16778 {
			t.Errorf("player decoded %d of %d frames, last at %.1fs (want > 16778s)", frames, m.frames, last)
		}
	})

	t.Run("removed distribution", func(t *testing.T) {
		pubDone := make(chan error, 1)
		go func() { _, err := publish("gone?key=" + testStreamKey); pubDone <- err }()
		waitFor(t, func() bool { return published(e.events(), "gone") })
		e.writeConfig(t, "package cdn\n")
		res, err := compiler.New(e.dir).Compile()
		if err != nil {
			t.Fatal(err)
		}
		e.srv.SetTable(res.Table)
		select {
		case err := <-pubDone:
			if err == nil {
				t.Error("the publisher of a removed distribution finished normally")
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the publisher of a removed distribution is still connected")
		}
		// Its series leave /metrics: a node does not keep every
		// distribution it ever served.
		m := e.srv.metrics
		for name, c := range map[string]prometheus.Collector{"players": m.players, "sent": m.bytesOut, "received": m.bytesIn, "skipped": m.skipped} {
			if n := testutil.CollectAndCount(c); n != 0 {
				t.Errorf("%s: %d series left after the distribution was removed", name, n)
			}
		}
	})
}

func published(evs []Event, name string) bool {
	for _, ev := range evs {
		if ev.Kind == accesslog.EventPublish && ev.StreamName == name && ev.Status == "" {
			return true
		}
	}
	return false
}

// netConn sends media with writev.
var _ rtmp.BuffersWriter = (*netConn)(nil)

// TestLiveCacheBound: a publisher whose video has no keyframe after the
// first (intra refresh, or a broken encoder) does not grow the stream's
// cache without end, and a player that joins then still gets its video.
func TestLiveCacheBound(t *testing.T) {
	e := startEnv(t, "", "", func(c *Config) { c.PlayerQueue = 64 << 10 })
	pub := publishTo(t, e, "nokey")
	const frameSize, frames = 8 << 10, 400
	frame := func(ts uint32, kind byte) error {
		body := make([]byte, frameSize)
		body[0], body[1] = kind<<4|7, 1 // AVC NALU: 1 keyframe, 2 inter frame
		return pub.Media(typeVideo, ts, body)
	}
	if err := pub.Media(typeVideo, 0, []byte{0x17, 0, 0, 0, 0}); err != nil { // sequence header
		t.Fatal(err)
	}
	for i := range frames {
		kind := byte(2)
		if i == 0 {
			kind = 1
		}
		if err := frame(uint32(i*33), kind); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { total, _ := liveBytes(e, "nokey"); return total >= frames*frameSize })
	if _, kept := liveBytes(e, "nokey"); kept > 8*64<<10+frameSize {
		t.Errorf("the stream keeps %d bytes of %d published without a keyframe; PlayerQueue is %d", kept, frames*frameSize, 64<<10)
	}

	p, err := rtmptest.Dial(e.addr, "live", "rtmp://tv.test/live", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Play("nokey", -1000); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return e.srv.hub.players("tv", "nokey") == 1 })
	stop := make(chan struct{})
	sent := make(chan error, 1)
	go func() {
		for i := frames; ; i++ {
			select {
			case <-stop:
				sent <- nil
				return
			case <-time.After(20 * time.Millisecond):
			}
			if err := frame(uint32(i*33), 2); err != nil {
				sent <- err
				return
			}
		}
	}()
	for {
		msg, _, err := p.Next()
		if err != nil {
			t.Fatalf("late player: %v", err)
		}
		if v, ok := msg.(*message.VideoMessage); ok {
			if b, _ := io.ReadAll(v.Payload); len(b) == frameSize {
				break
			}
		}
	}
	close(stop)
	if err := <-sent; err != nil {
		t.Fatal(err)
	}
}

// liveBytes is what live stream tv/name has had published, and keeps.
func liveBytes(e *env, name string) (total, kept int64) {
	h := e.srv.hub
	h.mu.Lock()
	st := h.streams[streamKey{"tv", name}]
	h.mu.Unlock()
	if st == nil {
		return 0, 0
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	for _, m := range st.msgs {
		kept += int64(len(m.body))
	}
	return st.total, kept
}

// TestLivePublisherBytes: what a publisher sends counts in
// openfront_rtmp_received_bytes_total while it publishes, not only when it
// stops.
func TestLivePublisherBytes(t *testing.T) {
	e := startEnv(t, "", "", nil)
	pub := publishTo(t, e, "counted")
	received := e.srv.metrics.bytesIn.WithLabelValues("tv")
	before := testutil.ToFloat64(received)
	body := make([]byte, 64<<10)
	body[0] = 0x27
	for i := range 16 {
		if err := pub.Media(typeVideo, uint32(i*33), body); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return testutil.ToFloat64(received)-before >= 16*64<<10 })
}

// publishTo starts a publish of live stream tv/name with rtmptest.
func publishTo(t *testing.T, e *env, name string) *rtmptest.Player {
	t.Helper()
	pub, err := rtmptest.Dial(e.addr, "live", "rtmp://tv.test/live", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pub.Close() })
	if err := pub.Publish(name + "?key=" + testStreamKey); err != nil {
		t.Fatal(err)
	}
	return pub
}

// TestLiveHLSParameterChange: ffmpeg publishes a stream whose encoder
// restarts with other settings without reconnecting (an FLV with new
// sequence headers mid-stream, which ffmpeg's FLV muxer passes on): the
// HLS playlist marks the change with #EXT-X-DISCONTINUITY, keeps its
// target duration on every reload, and ffmpeg reads it whole.
func TestLiveHLSParameterChange(t *testing.T) {
	reg := hls.NewRegistry(hls.Options{Window: 10, ReconnectWait: -1, Log: testLogger(t)})
	e := startEnv(t, "", "", func(c *Config) { c.Live = reg })
	for _, tc := range []struct {
		name          string
		first, second hlstest.Media
	}{
		{"resolution", hlstest.Media{Seconds: 3, GOP: 60}, hlstest.Media{Seconds: 3, GOP: 60, Size: "640x360"}},
		// The change comes 0.3 s into a segment, too early to end it at
		// the keyframe it comes with, but audio and video change together.
		{"audio", hlstest.Media{Seconds: 3, GOP: 60, Extra: []string{"-t", "2.3"}}, hlstest.Media{Seconds: 3, GOP: 60, Extra: []string{"-ar", "48000", "-ac", "2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var parts [][]hlstest.Tag
			var wantVideo, wantAudio int
			for _, m := range []hlstest.Media{tc.first, tc.second} {
				src := hlstest.FLV(t, m)
				parts = append(parts, hlstest.Tags(t, src))
				v, a := hlstest.FramesOf(t, src)
				wantVideo, wantAudio = wantVideo+v, wantAudio+a
			}
			src := hlstest.WriteFLV(t, hlstest.Concat(parts...))
			publishHLS(t, e, reg, tc.name, src)
			path, p := hlstest.Dump(t, reg, "tv", tc.name)
			params := hlstest.Segments(t, path, p)
			var changes int
			for _, s := range hlstest.Listed(p) {
				if s.Discontinuity {
					changes++
				}
			}
			if changes != 1 || params[0] == params[len(params)-1] {
				b, _ := reg.Playlist("tv", tc.name)
				t.Errorf("%d discontinuities, want 1; segments %v:\n%s", changes, params, b)
			}
			hlstest.Decode(t, path)
			all := hlstest.FFprobe(t, path)
			if v, a := all.Frames("video"), all.Frames("audio"); v < wantVideo*95/100 || a < wantAudio*95/100 {
				t.Errorf("the playlist decodes to %d video and %d audio frames, the sources have %d and %d", v, a, wantVideo, wantAudio)
			}
		})
	}
}

// publishHLS publishes the FLV file src as tv/name with ffmpeg, faster
// than real time, while a client reloads the playlist; it checks what the
// client saw (RFC 8216 6.2.1, 6.2.2, a target of 2 s) once the playlist
// ends.
func publishHLS(t *testing.T, e *env, reg *hls.Registry, name, src string) {
	t.Helper()
	playlist := func() []byte { b, _ := reg.Playlist("tv", name); return b }
	var rel hlstest.Reloads
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(2 * time.Millisecond):
				rel.Add(playlist())
			}
		}
	})
	// An encoder sends what it has: ffmpeg's muxer would hold the video
	// for up to 10 s, waiting for audio that stopped.
	_, stderr, err := run(t, time.Minute, "ffmpeg", append(append([]string{"-v", "error", "-readrate", "4", "-i", src, "-c", "copy", "-max_interleave_delta", "1000000", "-f", "flv"},
		tcurl("tv.test", "live")...), e.url("live/"+name+"?key="+testStreamKey))...)
	if err != nil || stderr != "" {
		t.Errorf("publish: %v\n%s", err, stderr)
	}
	waitFor(t, func() bool { return bytes.Contains(playlist(), []byte("#EXT-X-ENDLIST")) })
	close(done)
	wg.Wait()
	rel.Add(playlist())
	if len(rel.Versions()) < 3 {
		t.Errorf("%d versions of the playlist seen while live", len(rel.Versions()))
	}
	if target := rel.Check(t); target != 2 {
		t.Errorf("target duration %d, want 2", target)
	}
}

// TestLiveHLSTrackGone: ffmpeg publishes a stream whose audio stops 4 s
// in while the video goes on: once two segments went without it, the
// next follows #EXT-X-DISCONTINUITY and declares video alone, and the
// playlist lasts as long as the video.
func TestLiveHLSTrackGone(t *testing.T) {
	reg := hls.NewRegistry(hls.Options{Window: 10, ReconnectWait: -1, Log: testLogger(t)})
	e := startEnv(t, "", "", func(c *Config) { c.Live = reg })
	tags := hlstest.Without(hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 12, GOP: 30})), hlstest.Audio, 4000, 1<<31)
	publishHLS(t, e, reg, "gone", hlstest.WriteFLV(t, tags))
	path, p := hlstest.Dump(t, reg, "tv", "gone")
	segs := hlstest.ProbeSegments(t, path, p)
	var total float64
	for _, s := range segs {
		total += s.Dur
	}
	if tracks, changes := hlstest.Outline(t, segs); !slices.Equal(tracks, []string{"video audio", "video"}) || !hlstest.Near(changes, []float64{8}, 0.1) || math.Abs(total-12) > 0.1 {
		b, _ := reg.Playlist("tv", "gone")
		t.Errorf("segments declare %q, discontinuities at %v s, lasting %.3f s; want video and audio then video, one discontinuity at 8 s, 12 s:\n%s", tracks, changes, total, b)
	}
	hlstest.Decode(t, path)
}

// TestSilentPublisherGivesWay: an encoder whose connection died without
// closing (its network dropped) held its stream until the idle timeout
// (60 s), and its reconnect was refused as a second publisher all that
// time. A publisher that has sent nothing for SilentPublisher now gives
// way to a new publish with the stream key, and is cut off; one that is
// sending keeps its stream.
func TestSilentPublisherGivesWay(t *testing.T) {
	e := startEnv(t, "", "", func(c *Config) { c.SilentPublisher = 500 * time.Millisecond })
	sending := publishTo(t, e, "busy")
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for ts := uint32(0); ; ts += 40 {
			select {
			case <-stop:
				return
			case <-time.After(40 * time.Millisecond):
			}
			if sending.Media(typeAudio, ts, []byte{0xaf, 0x01, 0x21}) != nil {
				return
			}
		}
	}()
	time.Sleep(time.Second)
	second, err := rtmptest.Dial(e.addr, "live", "rtmp://tv.test/live", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	if err := second.Publish("busy?key=" + testStreamKey); err == nil {
		t.Error("a second publisher took the place of one that is sending")
	}

	dead := publishTo(t, e, "dropped") // sends nothing, as if its network went
	time.Sleep(600 * time.Millisecond)
	publishTo(t, e, "dropped") // the encoder, reconnected: it has the stream
	dead.SetDeadline(time.Now().Add(5 * time.Second))
	for {
		if _, _, err := dead.Next(); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Error("the silent publisher is still connected")
			}
			break
		}
	}
}
