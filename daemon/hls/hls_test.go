package hls

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/grafov/m3u8"
	"go.uber.org/goleak"

	"openfront.dev/daemon/hls/hlstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// quietRegistry logs nothing and, unless o says otherwise, ends a
// playlist as soon as its publisher stops (TestReconnectWait tests the
// wait).
func quietRegistry(o Options) *Registry {
	o.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	if o.ReconnectWait == 0 {
		o.ReconnectWait = -1
	}
	return NewRegistry(o)
}

func near(got, want, tolerance float64) bool { return math.Abs(got-want) <= tolerance }

func TestPackage(t *testing.T) {
	tests := []struct {
		name         string
		media        hlstest.Media
		opts         Options
		durations    []float64
		video, audio bool
	}{
		{"2 s GOP gives 2 s segments", hlstest.Media{Seconds: 6, GOP: 60}, Options{}, []float64{2, 2, 2}, true, true},
		{"1 s GOP is cut at the 2 s minimum", hlstest.Media{Seconds: 6, GOP: 30}, Options{}, []float64{2, 2, 2}, true, true},
		{"1 s GOP with a 1 s minimum", hlstest.Media{Seconds: 4, GOP: 30}, Options{MinSegment: time.Second}, []float64{1, 1, 1, 1}, true, true},
		{"4 s GOP gives 4 s segments", hlstest.Media{Seconds: 8, GOP: 120}, Options{}, []float64{4, 4}, true, true},
		{"video only", hlstest.Media{Seconds: 6, GOP: 60, Extra: []string{"-an"}}, Options{}, []float64{2, 2, 2}, true, false},
		{"audio only is cut by time", hlstest.Media{Seconds: 6, GOP: 60, Extra: []string{"-vn"}}, Options{}, []float64{2, 2, 2}, false, true},
		// x264's open GOPs: the keyframes after the first are I frames
		// with a recovery point, not IDR, and need the parameter sets too.
		{"open GOP", hlstest.Media{Seconds: 6, GOP: 60, Extra: []string{"-x264-params", "open-gop=1"}}, Options{}, []float64{2, 2, 2}, true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := hlstest.FLV(t, tc.media)
			r := quietRegistry(tc.opts)
			tr := r.Publish("tv", "event")
			hlstest.Feed(tr, hlstest.Tags(t, src), false)
			tr.End()

			path, p := hlstest.Dump(t, r, "tv", "event")
			if !p.Closed {
				t.Error("the ended stream's playlist has no #EXT-X-ENDLIST")
			}
			segs := hlstest.Listed(p)
			if len(segs) != len(tc.durations) {
				t.Fatalf("%d segments, want %d:\n%s", len(segs), len(tc.durations), mustPlaylist(r))
			}
			for i, s := range segs {
				// The last audio-only segment ends a frame (21 ms) early or late.
				if !near(s.Duration, tc.durations[i], 0.1) {
					t.Errorf("segment %d lasts %.3f s, want %.0f s", i, s.Duration, tc.durations[i])
				}
				if math.Round(s.Duration) > p.TargetDuration {
					t.Errorf("segment %d (%.3f s) exceeds the target duration %.0f", i, s.Duration, p.TargetDuration)
				}
				probe := hlstest.FFprobe(t, filepath.Join(filepath.Dir(path), s.URI))
				// A viewer may join at any segment: each decodes alone.
				if want := int(s.Duration * 30); tc.video && probe.Frames("video") < want*9/10 {
					t.Errorf("segment %d decodes alone to %d video frames, want about %d", i, probe.Frames("video"), want)
				}
				if (probe.Codec("video") == "h264") != tc.video || (probe.Codec("audio") == "aac") != tc.audio {
					t.Errorf("segment %d has video %q and audio %q", i, probe.Codec("video"), probe.Codec("audio"))
				}
				if !near(probe.Duration(), tc.durations[i], 0.15) {
					t.Errorf("segment %d decodes for %.3f s, want %.0f s", i, probe.Duration(), tc.durations[i])
				}
			}
			wantVideo, wantAudio := hlstest.FramesOf(t, src)
			all := hlstest.FFprobe(t, path)
			if v := all.Frames("video"); v < wantVideo*95/100 || v > wantVideo {
				t.Errorf("the playlist decodes to %d video frames, the source has %d", v, wantVideo)
			}
			if a := all.Frames("audio"); a < wantAudio*95/100 || a > wantAudio+1 {
				t.Errorf("the playlist decodes to %d audio frames, the source has %d", a, wantAudio)
			}
		})
	}
}

func mustPlaylist(r *Registry) string {
	b, _ := r.Playlist("tv", "event")
	return string(b)
}

// A publish within ReconnectWait of the last one's end, or taking over
// from it, continues its playlist after #EXT-X-DISCONTINUITY.
func TestRepublish(t *testing.T) {
	tags := hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 4, GOP: 60}))
	r := quietRegistry(Options{ReconnectWait: 200 * time.Millisecond})
	first := r.Publish("tv", "event")
	hlstest.Feed(first, tags, false)
	first.End()
	_, before := hlstest.Dump(t, r, "tv", "event")

	second := r.Publish("tv", "event")
	hlstest.Feed(second, tags, false)
	live := hlstest.Parse(t, []byte(mustPlaylist(r)))
	if live.Closed {
		t.Error("a republished stream still has #EXT-X-ENDLIST")
	}
	// A third publisher takes over: what the second still sends is dropped.
	third := r.Publish("tv", "event")
	hlstest.Feed(second, tags, false)
	second.End()
	hlstest.Feed(third, tags, false)
	third.End()
	waitEnded(t, r)

	path, p := hlstest.Dump(t, r, "tv", "event")
	segs := hlstest.Listed(p)
	// The second publish lost its open segment to the takeover.
	if p.SeqNo != before.SeqNo || len(segs) != 5 {
		t.Fatalf("after three 4 s publishes: media sequence %d (was %d), %d segments, want the same sequence and 5:\n%s", p.SeqNo, before.SeqNo, len(segs), mustPlaylist(r))
	}
	for i, s := range segs {
		if want := i == 2 || i == 3; s.Discontinuity != want {
			t.Errorf("segment %d: discontinuity %v, want %v", i, s.Discontinuity, want)
		}
	}
	if !p.Closed {
		t.Error("no #EXT-X-ENDLIST after the last publish ended")
	}
	// A publish's muxer starts its continuity counters again: the first
	// packet of each stream says so, or ffmpeg, reading on from the last
	// publish, marks that one's last frame corrupt.
	for i := range segs {
		ts, _ := r.Segment("tv", "event", p.SeqNo+uint64(i))
		got := hlstest.Resynced(t, ts)
		if want := i == 2 || i == 3; got[pidVideo] != want || got[pidAudio] != want {
			t.Errorf("segment %d: discontinuity_indicator on video %v, audio %v; want %v", i, got[pidVideo], got[pidAudio], want)
		}
	}
	hlstest.DecodeRestarts(t, path)
	wantVideo, _ := hlstest.FramesOf(t, hlstest.FLV(t, hlstest.Media{Seconds: 4, GOP: 60}))
	if v := hlstest.FFprobe(t, path).Frames("video"); v < 5*wantVideo/2*95/100 {
		t.Errorf("the publishes decode to %d video frames, want about %d", v, 5*wantVideo/2)
	}
}

// waitEnded waits for the stream's playlist to get #EXT-X-ENDLIST.
func waitEnded(t *testing.T, r *Registry) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !hlstest.Parse(t, []byte(mustPlaylist(r))).Closed; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no #EXT-X-ENDLIST 5 s after the publisher stopped:\n%s", mustPlaylist(r))
		}
	}
}

// A publish after the playlist ended starts an empty one (numbers going
// on), which lists only its own segments: a viewer joining does not start
// in the old publish's last seconds. The ended playlist stays until the
// new publish's first segment is complete, and the old segments stay
// servable a while, as any that leaves (RFC 8216 6.2.2).
func TestRepublishAfterEnd(t *testing.T) {
	src := hlstest.FLV(t, hlstest.Media{Seconds: 4, GOP: 60})
	tags := hlstest.Tags(t, src)
	r := quietRegistry(Options{})
	var rel hlstest.Reloads
	first := r.Publish("tv", "event")
	feedWatched(r, first, tags, &rel)
	first.End()
	rel.Add([]byte(mustPlaylist(r)))
	_, ended := hlstest.Dump(t, r, "tv", "event")

	second := r.Publish("tv", "event")
	if p := hlstest.Parse(t, []byte(mustPlaylist(r))); !p.Closed || p.SeqNo != ended.SeqNo {
		t.Errorf("before the new publish's first segment, want the ended playlist:\n%s", mustPlaylist(r))
	}
	feedWatched(r, second, tags, &rel)
	second.End()
	rel.Add([]byte(mustPlaylist(r)))
	rel.Check(t)
	path, p := hlstest.Dump(t, r, "tv", "event")
	segs := hlstest.Listed(p)
	if p.SeqNo != ended.SeqNo+2 || len(segs) != 2 || !segs[0].Discontinuity || !p.Closed {
		t.Errorf("want the second publish's 2 segments alone, numbered on from the first's %d, the first after #EXT-X-DISCONTINUITY, then #EXT-X-ENDLIST:\n%s", ended.SeqNo, mustPlaylist(r))
	}
	for seq := ended.SeqNo; seq < ended.SeqNo+2; seq++ {
		if _, ok := r.Segment("tv", "event", seq); !ok {
			t.Errorf("the first publish's segment %d, listed by the ended playlist, is gone at once", seq)
		}
	}
	wantVideo, _ := hlstest.FramesOf(t, src)
	if v := hlstest.FFprobe(t, path).Frames("video"); v < wantVideo*95/100 || v > wantVideo {
		t.Errorf("the playlist decodes to %d video frames, the second publish has %d", v, wantVideo)
	}
	hlstest.Decode(t, path)
}

func TestRollingWindow(t *testing.T) {
	tags := hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 10, GOP: 30}))
	r := quietRegistry(Options{Window: 3, MinSegment: time.Second})
	tr := r.Publish("tv", "event")
	hlstest.Feed(tr, tags, false)
	tr.End()
	_, p := hlstest.Dump(t, r, "tv", "event")
	if n := len(hlstest.Listed(p)); n != 3 {
		t.Fatalf("%d segments listed, want the window of 3", n)
	}
	first := p.SeqNo - 7 // 10 one-second segments
	for seq := first; seq < p.SeqNo+3; seq++ {
		_, ok := r.Segment("tv", "event", seq)
		// A segment stays servable for its 1 s and the 3 s playlist
		// after it leaves (TestRemovedSegmentsStayAvailable).
		if want := seq >= p.SeqNo-4; ok != want {
			t.Errorf("segment %d (window starts at %d) served %v, want %v", seq, p.SeqNo, ok, want)
		}
	}
	if n := len(r.stream("tv", "event").view.Load().segs); n > 3+4 {
		t.Errorf("%d segments held in memory, want at most %d", n, 3+4)
	}
}

// Many readers poll the playlist and fetch what it lists while the track
// writes: every listed segment is served, and -race finds no race.
func TestConcurrentReaders(t *testing.T) {
	tags := hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 6, GOP: 30}))
	r := quietRegistry(Options{Window: 2, MinSegment: time.Second})
	tr := r.Publish("tv", "event")
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				b, ok := r.Playlist("tv", "event")
				if !ok {
					continue
				}
				p, _, err := m3u8.DecodeFrom(bytes.NewReader(b), true)
				if err != nil {
					errs <- err.Error()
					return
				}
				mp := p.(*m3u8.MediaPlaylist)
				for i := range hlstest.Listed(mp) {
					seq := mp.SeqNo + uint64(i)
					ts, ok := r.Segment("tv", "event", seq)
					if ok && (len(ts)%188 != 0 || ts[0] != 0x47) {
						errs <- fmt.Sprintf("segment %d: %d bytes, not MPEG-TS", seq, len(ts))
						return
					}
					// Fed faster than real time, a listed segment may have
					// aged out by the time it is asked for; never is one
					// listed before it is served.
					if held := r.stream("tv", "event").view.Load().segs; !ok && seq >= held[0].seq {
						errs <- fmt.Sprintf("listed segment %d is not served, the oldest held is %d", seq, held[0].seq)
						return
					}
				}
			}
		})
	}
	hlstest.Feed(tr, tags, false)
	tr.End()
	close(done)
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// Bad messages before and among the real ones are dropped; the stream
// still packages and decodes.
func TestBadInput(t *testing.T) {
	src := hlstest.FLV(t, hlstest.Media{Seconds: 4, GOP: 60})
	tags := hlstest.Tags(t, src)
	bad := []struct {
		name   string
		typeID uint8
		body   []byte
	}{
		{"empty video", typeVideo, nil},
		{"empty audio", typeAudio, nil},
		{"truncated AVC header", typeVideo, []byte{0x17, 0, 0, 0, 0, 1, 0x64}},
		{"AVC header without parameter sets", typeVideo, []byte{0x17, 0, 0, 0, 0, 1, 0x64, 0, 0x1f, 0xff, 0xe0, 0}},
		{"NAL length past the frame", typeVideo, []byte{0x17, 1, 0, 0, 0, 0, 0, 0x10, 0, 0x65}},
		{"enhanced RTMP HEVC", typeVideo, []byte{0x90, 'h', 'v', 'c', '1', 0}},
		{"MP3 audio", typeAudio, []byte{0x2f, 0xff, 0xfb}},
		{"AAC with an explicit frequency", typeAudio, []byte{0xaf, 0, 0x17, 0x80, 0, 0, 0}},
		{"unknown message type", 18, []byte("onMetaData")},
	}
	r := quietRegistry(Options{})
	tr := r.Publish("tv", "event")
	for _, b := range bad {
		tr.Media(b.typeID, 0, b.body)
	}
	for i, tg := range tags {
		tr.Media(tg.TypeID, tg.TimestampMS, tg.Body)
		if i == len(tags)/2 { // the same garbage mid-stream
			for _, b := range bad[:7] {
				tr.Media(b.typeID, tg.TimestampMS, b.body)
			}
		}
	}
	tr.End()
	tr.Media(typeVideo, 0, tags[0].Body) // after End: ignored
	path, p := hlstest.Dump(t, r, "tv", "event")
	if len(hlstest.Listed(p)) != 2 {
		t.Errorf("%d segments, want 2:\n%s", len(hlstest.Listed(p)), mustPlaylist(r))
	}
	wantVideo, _ := hlstest.FramesOf(t, src)
	if v := hlstest.FFprobe(t, path).Frames("video"); v < wantVideo*95/100 {
		t.Errorf("%d video frames decoded, the source has %d", v, wantVideo)
	}
}

// Without keyframes for long, segments are cut by size, not held whole.
func TestSegmentBound(t *testing.T) {
	src := hlstest.FLV(t, hlstest.Media{Seconds: 6, GOP: 180})
	r := quietRegistry(Options{MaxSegmentBytes: 64 << 10})
	tr := r.Publish("tv", "event")
	hlstest.Feed(tr, hlstest.Tags(t, src), false)
	tr.End()
	path, p := hlstest.Dump(t, r, "tv", "event")
	segs := hlstest.Listed(p)
	if len(segs) < 3 {
		t.Fatalf("a 6 s GOP was cut in %d segments, want several of 64 KiB", len(segs))
	}
	for i := range segs {
		ts, _ := r.Segment("tv", "event", p.SeqNo+uint64(i))
		if len(ts) > 96<<10 {
			t.Errorf("segment %d holds %d bytes", i, len(ts))
		}
	}
	wantVideo, _ := hlstest.FramesOf(t, src)
	if v := hlstest.FFprobe(t, path).Frames("video"); v < wantVideo*95/100 {
		t.Errorf("%d video frames decoded, the source has %d", v, wantVideo)
	}
}

// An ended stream is forgotten after the linger time; published again, it
// never reuses a segment number.
func TestLinger(t *testing.T) {
	tags := hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 2, GOP: 30}))
	r := quietRegistry(Options{Linger: time.Millisecond, MinSegment: time.Second})
	tr := r.Publish("tv", "event")
	hlstest.Feed(tr, tags, false)
	// Taken before End: a millisecond later, under load even before
	// End returns, the registry may have forgotten it.
	st := r.stream("tv", "event")
	tr.End()
	last := st.nextSeq
	for i := 0; r.stream("tv", "event") != nil; i++ {
		if i == 500 {
			t.Fatal("the ended stream was not forgotten")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// This time the stream must stay while it is read back.
	r.opts.Linger = time.Hour
	tr = r.Publish("tv", "event")
	hlstest.Feed(tr, tags, false)
	tr.End()
	if _, p := hlstest.Dump(t, r, "tv", "event"); p.SeqNo < last {
		t.Errorf("the new stream starts at segment %d, the old one reached %d", p.SeqNo, last)
	}
}

func TestUnknownStream(t *testing.T) {
	r := quietRegistry(Options{})
	tr := r.Publish("tv", "starting")
	if _, ok := r.Playlist("tv", "starting"); ok {
		t.Error("a playlist before the first segment is complete")
	}
	for _, tc := range []struct{ dist, name string }{{"tv", "other"}, {"radio", "starting"}} {
		if _, ok := r.Playlist(tc.dist, tc.name); ok {
			t.Errorf("%s/%s has a playlist", tc.dist, tc.name)
		}
		if _, ok := r.Segment(tc.dist, tc.name, 0); ok {
			t.Errorf("%s/%s has a segment", tc.dist, tc.name)
		}
	}
	tr.End()
	if strings.Contains(mustPlaylist(r), "EXTINF") {
		t.Error("an empty publish listed segments")
	}
}

// Timestamps that leave the timeline within one publish (an encoder that
// restarts without reconnecting, a source switched upstream, the 32-bit
// RTMP clock wrapping after 49 days) start a new segment after an
// #EXT-X-DISCONTINUITY; an ordinary continuation does not.
func TestTimestampJump(t *testing.T) {
	const wrap = 1 << 32
	tests := []struct {
		name         string
		extra        []string
		first, again int64 // the two passes' first timestamps, ms
		discontinue  bool
	}{
		{"continuous", nil, 0, 4000, false},
		{"restart at zero", nil, 0, 0, true},
		{"clock wraps", nil, wrap - 4000, 0, true},
		{"a minute's gap", nil, 0, 64000, true},
		{"audio only restart", []string{"-vn"}, 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := hlstest.FLV(t, hlstest.Media{Seconds: 4, GOP: 60, Extra: tc.extra})
			tags := hlstest.Tags(t, src)
			r := quietRegistry(Options{})
			tr := r.Publish("tv", "event")
			for _, base := range []int64{tc.first, tc.again} {
				for _, tg := range tags {
					tr.Media(tg.TypeID, uint32(base+int64(tg.TimestampMS)), tg.Body)
				}
			}
			tr.End()
			path, p := hlstest.Dump(t, r, "tv", "event")
			segs := hlstest.Listed(p)
			// grafov/m3u8 raises TargetDuration to the longest EXTINF: read ours.
			if len(segs) != 4 || !strings.Contains(mustPlaylist(r), "#EXT-X-TARGETDURATION:2\n") {
				t.Fatalf("%d segments; want 4 of 2 s and a target duration of 2:\n%s", len(segs), mustPlaylist(r))
			}
			for i, s := range segs {
				if !near(s.Duration, 2, 0.1) {
					t.Errorf("segment %d lasts %.3f s, want 2 s", i, s.Duration)
				}
				if want := tc.discontinue && i == 2; s.Discontinuity != want {
					t.Errorf("segment %d: discontinuity %v, want %v", i, s.Discontinuity, want)
				}
				// The PCR and timestamps jump: the first packet of each
				// stream after the jump says so (ISO 13818-1 2.4.3.5).
				ts, _ := r.Segment("tv", "event", p.SeqNo+uint64(i))
				if got, want := hlstest.Resynced(t, ts), tc.discontinue && i == 2; got[pidAudio] != want || tc.extra == nil && got[pidVideo] != want {
					t.Errorf("segment %d: discontinuity_indicator on video %v, audio %v; want %v", i, got[pidVideo], got[pidAudio], want)
				}
			}
			wantVideo, wantAudio := hlstest.FramesOf(t, src)
			all := hlstest.FFprobe(t, path)
			if v, a := all.Frames("video"), all.Frames("audio"); v < 2*wantVideo*95/100 || a < 2*wantAudio*95/100 {
				t.Errorf("the playlist decodes to %d video and %d audio frames, want about %d and %d", v, a, 2*wantVideo, 2*wantAudio)
			}
		})
	}
}

// A live playlist never lasts less than three target durations while it
// holds enough segments (RFC 8216 6.2.2): after one long segment raised
// the target, the window lists more of the shorter ones; and a segment
// stays servable after it leaves the list.
func TestWindowCoversTarget(t *testing.T) {
	r := quietRegistry(Options{Window: 3})
	tr := r.Publish("tv", "event").(*Track)
	durations := append([]time.Duration{8 * time.Second}, slices.Repeat([]time.Duration{2 * time.Second}, 14)...)
	var before *m3u8.MediaPlaylist
	for i, d := range durations {
		tr.s.add(tr, []byte{0x47}, d)
		p := hlstest.Parse(t, []byte(mustPlaylist(r)))
		var sum time.Duration
		for _, s := range hlstest.Listed(p) {
			sum += time.Duration(s.Duration * float64(time.Second))
		}
		if held := durations[:i+1]; sum < 24*time.Second && len(hlstest.Listed(p)) < min(len(held), 9) {
			t.Errorf("after %d segments: %d listed, lasting %s, less than three target durations (24 s):\n%s", i+1, len(hlstest.Listed(p)), sum, mustPlaylist(r))
		}
		if before != nil {
			for j := range hlstest.Listed(before) {
				if _, ok := r.Segment("tv", "event", before.SeqNo+uint64(j)); !ok {
					t.Errorf("after %d segments: segment %d, listed a segment ago, is not served", i+1, before.SeqNo+uint64(j))
				}
			}
		}
		before = p
	}
}

// MPEG-TS timestamps are 33 bits of 90 kHz: they wrap after 26.5 hours
// of RTMP time, here in the middle of the stream. Players unwrap them
// (ffmpeg here, hls.js too); no discontinuity is due, nor a longer
// segment.
func TestPTSWrap(t *testing.T) {
	src := hlstest.FLV(t, hlstest.Media{Seconds: 6, GOP: 60})
	tags := hlstest.Tags(t, src)
	shift := uint32((1<<33)/90 - 3000) // PTS wraps 2.3 s in (tsOffset adds 0.7 s)
	for i := range tags {
		tags[i].TimestampMS += shift
	}
	r := quietRegistry(Options{})
	tr := r.Publish("tv", "event")
	hlstest.Feed(tr, tags, false)
	tr.End()
	path, p := hlstest.Dump(t, r, "tv", "event")
	for i, s := range hlstest.Listed(p) {
		if s.Discontinuity || !near(s.Duration, 2, 0.05) {
			t.Errorf("segment %d: %.3f s, discontinuity %v; want 2 s and none", i, s.Duration, s.Discontinuity)
		}
	}
	hlstest.Decode(t, path)
	wantVideo, wantAudio := hlstest.FramesOf(t, src)
	all := hlstest.FFprobe(t, path)
	if v, a := all.Frames("video"), all.Frames("audio"); v < wantVideo*95/100 || a < wantAudio*95/100 {
		t.Errorf("across the wrap: %d video and %d audio frames, the source has %d and %d", v, a, wantVideo, wantAudio)
	}
	if d := all.Duration(); !near(d, 6, 0.2) {
		t.Errorf("across the wrap the playlist plays %.3f s, want 6", d)
	}
}
