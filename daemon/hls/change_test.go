package hls

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"openfront.dev/daemon/hls/hlstest"
)

// feedWatched feeds tags to tr and records every version of the playlist
// a client reloading it could have seen.
func feedWatched(r *Registry, tr LiveTrack, tags []hlstest.Tag, rel *hlstest.Reloads) {
	for _, tg := range tags {
		tr.Media(tg.TypeID, tg.TimestampMS, tg.Body)
		b, _ := r.Playlist("tv", "event")
		rel.Add(b)
	}
}

// When segments with discontinuities leave the window, the discontinuity
// sequence counts them (RFC 8216 6.2.2), and a listed segment keeps its
// own tag, also when it comes first: a client sees the same discontinuity
// number for a segment on every reload.
func TestDiscontinuitySequence(t *testing.T) {
	r := quietRegistry(Options{Window: 2})
	tr := r.Publish("tv", "event").(*Track)
	var rel hlstest.Reloads
	for i := range 12 {
		if i == 3 || i == 4 || i == 7 {
			tr.s.discontinue(tr)
		}
		tr.s.add(tr, []byte{0x47}, 2*time.Second)
		rel.Add([]byte(mustPlaylist(r)))
	}
	rel.Check(t)
	p := hlstest.Parse(t, []byte(mustPlaylist(r)))
	if p.DiscontinuitySeq != 3 || strings.Contains(mustPlaylist(r), "#EXT-X-DISCONTINUITY\n") {
		t.Errorf("after the three discontinuities left the window: discontinuity sequence %d, want 3, and no tag:\n%s", p.DiscontinuitySeq, mustPlaylist(r))
	}
}

// Keyframes that come off the GOP's rhythm (scene cuts, forced ones) do
// not make a segment longer than the target: the segment ends at the
// keyframe before, when the next is due too late.
func TestIrregularKeyframes(t *testing.T) {
	// Keyframes at 0, 2, 3.4, 5.4 and 7.4 s.
	src := hlstest.FLV(t, hlstest.Media{Seconds: 8, GOP: 60, Extra: []string{"-force_key_frames", "3.4"}})
	r := quietRegistry(Options{})
	tr := r.Publish("tv", "event")
	var rel hlstest.Reloads
	feedWatched(r, tr, hlstest.Tags(t, src), &rel)
	tr.End()
	rel.Add([]byte(mustPlaylist(r)))
	if target := rel.Check(t); target != 2 {
		t.Errorf("target duration %d, want 2", target)
	}
	path, _ := hlstest.Dump(t, r, "tv", "event")
	wantVideo, _ := hlstest.FramesOf(t, src)
	if v := hlstest.FFprobe(t, path).Frames("video"); v < wantVideo*95/100 {
		t.Errorf("%d video frames decoded, the source has %d", v, wantVideo)
	}
}

// A GOP longer than the target leaves no keyframe to end a segment in
// time: the target is raised (as MediaMTX does), with a warning naming the
// cause, and the window does not list again segments it had dropped.
func TestGOPAboveTarget(t *testing.T) {
	short := hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 12, GOP: 60}))
	long := hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 16, GOP: 240}))
	var logs bytes.Buffer
	r := NewRegistry(Options{Window: 3, Log: slog.New(slog.NewTextHandler(&logs, nil))})
	var rel hlstest.Reloads
	for _, tags := range [][]hlstest.Tag{short, long} {
		tr := r.Publish("tv", "event")
		feedWatched(r, tr, tags, &rel)
		tr.End()
	}
	var targets []int
	var seq uint64
	for i, b := range rel.Versions() {
		p := hlstest.Parse(t, b)
		if p.SeqNo < seq {
			t.Errorf("reload %d: media sequence %d went back from %d:\n%s", i, p.SeqNo, seq, b)
		}
		seq = p.SeqNo
		if n := hlstest.Target(t, b); len(targets) == 0 || targets[len(targets)-1] != n {
			targets = append(targets, n)
		}
	}
	if len(targets) != 2 || targets[0] != 2 || targets[1] != 8 {
		t.Errorf("targets %v, want 2 then 8", targets)
	}
	if n := strings.Count(logs.String(), "EXT-X-TARGETDURATION raised"); n != 1 {
		t.Errorf("%d warnings of the raise, want 1:\n%s", n, logs.String())
	}
}
