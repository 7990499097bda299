package rtmp

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/yutopp/go-rtmp/message"

	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/rtmp/rtmptest"
)

// TestVOD plays FLV and MP4 objects from versitygw with ffmpeg, by the names
// Flash Media Server clients use: every frame arrives, with its time.
func TestVOD(t *testing.T) {
	m := genMedia(t)
	e := startEnv(t, "", "", nil)
	e.s3.PutObject(t, "media", "test.flv", m.flv)
	e.s3.PutObject(t, "media", "videos/test.mp4", m.mp4)
	for _, tc := range []struct {
		name, app, stream string
		seek              float64
	}{
		{"flv by name", "cfx/st", "test", 0},
		{"flv with extension", "cfx/st", "test.flv", 0},
		{"mp4 with prefix", "cfx/st", "mp4:videos/test.mp4", 0},
		{"mp4 by extension, ffmpeg's app split", "cfx", "st/videos/test.mp4", 0},
		{"flv seek", "cfx/st", "test", 2},
		{"mp4 seek", "cfx/st", "mp4:videos/test.mp4", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tcurl("tv.test", "cfx/st"), "-rtmp_app", tc.app, "-rtmp_playpath", tc.stream)
			if tc.seek > 0 {
				args = append(args, "-ss", "2")
			}
			args = append(args, "-i", e.url("cfx/st/x"))
			start := time.Now()
			frames, last, stderr, err := decode(t, 30*time.Second, args...)
			if err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, stderr)
			}
			want := float64(m.frames) * (m.duration - tc.seek) / m.duration
			if float64(frames) < want*0.95 {
				t.Errorf("decoded %d frames, want >= 95%% of %.0f", frames, want)
			}
			// Output times start at 0 after -ss.
			if d := last + 1/30.0; math.Abs(d-(m.duration-tc.seek)) > 0.5 {
				t.Errorf("stream lasted %.2fs, want %.2fs", d, m.duration-tc.seek)
			}
			// Paced in real time after a burst.
			if el := time.Since(start).Seconds(); el < m.duration-tc.seek-vodBurst.Seconds()-0.5 {
				t.Errorf("played %.1fs of media in %.1fs: not paced", m.duration-tc.seek, el)
			}
			t.Logf("%d frames, last at %.2fs, %.1fs", frames, last, time.Since(start).Seconds())
		})
	}
}

// TestVODThroughCache: two ffmpeg players of the same objects at once, and
// a third after them, read through the node's cache: each range of each
// object is fetched from the S3 origin once, and every player decodes it.
func TestVODThroughCache(t *testing.T) {
	m := mediaLarge.get(t)
	c, err := cache.New(cache.Config{MemoryBytes: 32 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e := startEnv(t, "", "", func(cfg *Config) { cfg.Cache = c })
	e.s3.PutObject(t, "media", "cached/test.flv", m.flv)
	e.s3.PutObject(t, "media", "cached/test.mp4", m.mp4)
	for _, tc := range []struct {
		name, stream, object string
		size                 int
	}{
		{"flv", "cached/test", "/media/cached/test.flv", len(m.flv)},
		{"mp4", "mp4:cached/test.mp4", "/media/cached/test.mp4", len(m.mp4)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			play := func() {
				args := append(tcurl("tv.test", "cfx/st"), "-rtmp_playpath", tc.stream, "-i", e.url("cfx/st/x"))
				frames, _, stderr, err := decode(t, 30*time.Second, args...)
				if err != nil {
					t.Errorf("ffmpeg: %v\n%s", err, stderr)
				}
				if float64(frames) < float64(m.frames)*0.95 {
					t.Errorf("decoded %d frames, want >= 95%% of %d", frames, m.frames)
				}
			}
			var wg sync.WaitGroup
			wg.Go(play)
			wg.Go(play)
			wg.Wait()
			play()
			gets := e.gets.counts(tc.object)
			if want := (tc.size + windowSize - 1) / windowSize; len(gets) != want {
				t.Errorf("origin asked for %d ranges of a %d-byte object, want %d: %v", len(gets), tc.size, want, gets)
			}
			for rng, n := range gets {
				if n != 1 {
					t.Errorf("origin asked %d times for %s, want once", n, rng)
				}
			}
			t.Logf("origin requests: %v; cache: %+v", gets, c.Stats())
		})
	}
}

// TestShutdownWhileOriginHangs: a play waiting for an origin that does not
// answer does not hold Shutdown (SIGTERM) until the origin times out.
func TestShutdownWhileOriginHangs(t *testing.T) {
	asked := make(chan struct{}, 1)
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case asked <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer hang.Close()
	defer close(release)
	e := startEnv(t, "", fmt.Sprintf(`streamingDistributions: hang: {
	aliases: ["hang.test"]
	s3Origin: {domainName: "127.0.0.1", endpoint: %q, bucket: "media", region: "us-east-1"}
}`, hang.URL), nil)
	playVOD(t, e, "hang.test", "test", 0)
	select {
	case <-asked:
	case <-time.After(20 * time.Second):
		t.Fatal("the origin was not asked")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

// TestVODPlayComplete: at the end of an on-demand stream the player gets
// onPlayStatus NetStream.Play.Complete after the last media, as Flash Media
// Server sent it; OSMF-based players take it, not NetStream.Play.Stop, as the
// end of a streamed (RTMP) item ("For streaming, NetStream.Play.Complete
// means the duration was reached"), so without it they never complete.
func TestVODPlayComplete(t *testing.T) {
	m := genMedia(t)
	e := startEnv(t, "", "", nil)
	e.s3.PutObject(t, "media", "test.flv", m.flv)
	e.s3.PutObject(t, "media", "test.mp4", m.mp4)
	for _, stream := range []string{"test", "mp4:test.mp4"} {
		t.Run(stream, func(t *testing.T) {
			p := playVOD(t, e, "tv.test", stream, 0)
			var lastMedia uint32
			var complete map[string]any
			for {
				msg, ts, err := p.Next()
				if err != nil {
					t.Fatalf("before NetStream.Play.Stop: %v", err)
				}
				switch msg.(type) {
				case *message.AudioMessage, *message.VideoMessage:
					if complete != nil {
						t.Fatalf("media at %d ms after onPlayStatus", ts)
					}
					lastMedia = max(lastMedia, ts)
				}
				if info := rtmptest.PlayStatus(msg); info != nil {
					complete = info
					if ts < lastMedia {
						t.Errorf("onPlayStatus at %d ms, before the last media at %d ms", ts, lastMedia)
					}
				}
				if rtmptest.Status(msg) == "NetStream.Play.Stop" {
					break
				}
			}
			if complete == nil || complete["code"] != "NetStream.Play.Complete" || complete["level"] != "status" {
				t.Fatalf("onPlayStatus %v, want NetStream.Play.Complete", complete)
			}
			if d, _ := complete["duration"].(float64); math.Abs(d-m.duration) > 0.2 {
				t.Errorf("onPlayStatus duration %v, want %v", complete["duration"], m.duration)
			}
		})
	}
}
