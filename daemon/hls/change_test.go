package hls

import (
	"bytes"
	"cmp"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"openfront.dev/daemon/hls/hlstest"
)

// feedWatched feeds tags to tr and records every version of the playlist
// a client reloading it could have seen.
func feedWatched(r *Registry, tr LiveTrack, tags []hlstest.Tag, rel *hlstest.Reloads) {
	hlstest.Feed(reloader{tr, r, rel}, tags, false)
}

// reloader is a publish that records every playlist version a player
// reloading it would see.
type reloader struct {
	LiveTrack
	r   *Registry
	rel *hlstest.Reloads
}

func (p reloader) Media(typeID uint8, ts uint32, body []byte) {
	p.LiveTrack.Media(typeID, ts, body)
	b, _ := p.r.Playlist("tv", "event")
	p.rel.Add(b)
}

// withHeadersAtKeyframes sends the sequence headers again, the same bytes,
// before every video keyframe, as some encoders and relays do.
func withHeadersAtKeyframes(tags []hlstest.Tag) []hlstest.Tag {
	var headers, out []hlstest.Tag
	for _, tg := range tags {
		switch {
		case len(tg.Body) > 1 && tg.Body[1] == packetConfig:
			headers = append(headers, tg)
		case tg.TypeID == typeVideo && tg.Body[0]>>4 == frameKey:
			for _, h := range headers {
				h.TimestampMS = tg.TimestampMS
				out = append(out, h)
			}
		}
		out = append(out, tg)
	}
	return out
}

// audioHeaderLate moves the AAC sequence header of tags to just before
// the first AAC frame, after the first video frames: where ffmpeg's FLV
// muxer sends a new one (with the first packet that carries it).
func audioHeaderLate(tags []hlstest.Tag) []hlstest.Tag {
	h := slices.IndexFunc(tags, func(tg hlstest.Tag) bool { return tg.TypeID == typeAudio && tg.Body[1] == packetConfig })
	header := tags[h]
	tags = slices.Delete(slices.Clone(tags), h, h+1)
	f := slices.IndexFunc(tags, func(tg hlstest.Tag) bool { return tg.TypeID == typeAudio })
	header.TimestampMS = tags[f].TimestampMS
	return slices.Insert(tags, f, header)
}

// An encoder that restarts with other settings without reconnecting (a
// phone rotated, an audio input switched) sends new sequence headers: the
// segment ends there and the next starts after #EXT-X-DISCONTINUITY with
// the new parameters (RFC 8216 4.3.2.3). The same headers sent again
// change nothing. Either way the target duration holds (6.2.1) and ffmpeg
// reads the whole playlist without an error.
func TestCodecChange(t *testing.T) {
	stereo48k := []string{"-ar", "48000", "-ac", "2"}
	tests := []struct {
		name    string
		parts   []hlstest.Media
		edit    func([]hlstest.Tag) []hlstest.Tag // of the last part
		changes int
	}{
		{"resolution", []hlstest.Media{{Seconds: 3, GOP: 60}, {Seconds: 3, GOP: 60, Size: "640x360"}}, nil, 1},
		{"audio sample rate and channels", []hlstest.Media{{Seconds: 3, GOP: 60}, {Seconds: 3, GOP: 60, Extra: stereo48k}}, nil, 1},
		// The keyframe after the change comes 0.4 s into a segment: too
		// early to end it there, but the first frame of the new encode,
		// before its audio and the audio's new header.
		{"audio config after the keyframe", []hlstest.Media{{Seconds: 3, GOP: 60, Extra: []string{"-t", "2.3"}}, {Seconds: 3, GOP: 60, Extra: stereo48k}}, audioHeaderLate, 1},
		{"audio only", []hlstest.Media{{Seconds: 3, Extra: []string{"-vn"}}, {Seconds: 3, Extra: append([]string{"-vn"}, stereo48k...)}}, nil, 1},
		{"the same encode again", []hlstest.Media{{Seconds: 3, GOP: 60}, {Seconds: 3, GOP: 60}}, nil, 0},
		{"headers again at every keyframe", []hlstest.Media{{Seconds: 6, GOP: 60}}, withHeadersAtKeyframes, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var parts [][]hlstest.Tag
			var wantVideo, wantAudio int
			for _, m := range tc.parts {
				src := hlstest.FLV(t, m)
				parts = append(parts, hlstest.Tags(t, src))
				v, a := hlstest.FramesOf(t, src)
				wantVideo, wantAudio = wantVideo+v, wantAudio+a
			}
			if tc.edit != nil {
				parts[len(parts)-1] = tc.edit(parts[len(parts)-1])
			}
			tags := hlstest.Concat(parts...)
			r := quietRegistry(Options{Window: 10})
			tr := r.Publish("tv", "event")
			var rel hlstest.Reloads
			feedWatched(r, tr, tags, &rel)
			tr.End()
			rel.Add([]byte(mustPlaylist(r)))

			if target := rel.Check(t); target != 2 {
				t.Errorf("target duration %d, want 2 (the 2 s minimum segment)", target)
			}
			path, p := hlstest.Dump(t, r, "tv", "event")
			params := hlstest.Segments(t, path, p)
			var changes int
			for _, s := range hlstest.Listed(p) {
				if s.Discontinuity {
					changes++
				}
			}
			if changes != tc.changes {
				t.Errorf("%d discontinuities, want %d; segments %v:\n%s", changes, tc.changes, params, mustPlaylist(r))
			}
			hlstest.Decode(t, path)
			all := hlstest.FFprobe(t, path)
			if v, a := all.Frames("video"), all.Frames("audio"); v < wantVideo*95/100 || a < wantAudio*95/100 {
				t.Errorf("the playlist decodes to %d video and %d audio frames, the sources have %d and %d", v, a, wantVideo, wantAudio)
			}
		})
	}
}

// An audio config that changes while the video goes on between keyframes
// (an audio input switched, the video left alone) ends the segment at the
// next keyframe; the audio until then is dropped, not mixed into a
// segment of the old config.
func TestAudioChangeMidGOP(t *testing.T) {
	video := hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 6, GOP: 60, Extra: []string{"-an"}}))
	first, second := hlstest.FLV(t, hlstest.Media{Seconds: 3, Extra: []string{"-vn"}}), hlstest.FLV(t, hlstest.Media{Seconds: 3, Extra: []string{"-vn", "-ar", "48000", "-ac", "2"}})
	// The second audio starts 3 s in, a second before the keyframe at 4 s.
	tags := append(video, hlstest.Concat(hlstest.Tags(t, first), hlstest.Tags(t, second))...)
	// In time order, sequence headers first, as publishers send them.
	slices.SortStableFunc(tags, func(a, b hlstest.Tag) int {
		return cmp.Or(cmp.Compare(a.TimestampMS, b.TimestampMS), cmp.Compare(a.Body[1], b.Body[1]))
	})
	r := quietRegistry(Options{})
	tr := r.Publish("tv", "event")
	var rel hlstest.Reloads
	feedWatched(r, tr, tags, &rel)
	tr.End()
	rel.Add([]byte(mustPlaylist(r)))
	rel.Check(t)
	path, p := hlstest.Dump(t, r, "tv", "event")
	params := hlstest.Segments(t, path, p)
	if segs := hlstest.Listed(p); len(segs) != 3 || !segs[2].Discontinuity {
		t.Errorf("segments %v, want 3, the last after a discontinuity:\n%s", params, mustPlaylist(r))
	}
	hlstest.Decode(t, path)
	_, firstAudio := hlstest.FramesOf(t, first)
	_, secondAudio := hlstest.FramesOf(t, second)
	if a, want := hlstest.FFprobe(t, path).Frames("audio"), firstAudio+secondAudio*2/3; a < want*95/100 || a > want*105/100 {
		t.Errorf("%d audio frames decoded, want about %d: all but the second audio's first second", a, want)
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
	r := NewRegistry(Options{Window: 3, ReconnectWait: -1, Log: slog.New(slog.NewTextHandler(&logs, nil))})
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

// A track that joins a publish (an encoder that starts audio-only and
// gets a camera, or the other way round) changes the number of tracks: the segment ends
// there and the next, whose PMT lists the new set, follows an
// #EXT-X-DISCONTINUITY (RFC 8216 4.3.2.3). Each segment's PMT lists the
// tracks it carries. A joining video starts at its first keyframe; a
// joining audio at once, unless the segment has had no keyframe since its
// first, where it waits for the next.
func TestTrackChange(t *testing.T) {
	gop1 := hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 6, GOP: 30}))
	gop2 := hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 6, GOP: 60}))
	tests := []struct {
		name string
		tags []hlstest.Tag
		// each segment's tracks, in order, with repeats dropped
		want []string
		// where the audio packaged starts, ms
		audioFrom uint32
	}{
		{"video joins audio-only", hlstest.Without(gop1, typeVideo, 0, 3000), []string{"audio", "video audio"}, 0},
		// Keyframes each second, segments of two: the audio joins after
		// the keyframe in the middle of one, which becomes the split.
		{"audio joins video-only", hlstest.Without(gop1, typeAudio, 0, 3000), []string{"video", "video audio"}, 3000},
		// The audio joins in the first GOP of a segment: it has no
		// keyframe to be split at, and the audio waits for the next.
		{"audio joins in a segment's first GOP", hlstest.Without(gop2, typeAudio, 0, 3000), []string{"video", "video audio"}, 4000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var wantVideo, wantAudio int
			for _, tg := range tc.tags {
				if tg.Body[1] == packetData && (tg.TypeID == typeVideo || tg.TimestampMS >= tc.audioFrom) {
					*map[uint8]*int{typeVideo: &wantVideo, typeAudio: &wantAudio}[tg.TypeID]++
				}
			}
			r := quietRegistry(Options{Window: 10})
			tr := r.Publish("tv", "event")
			var rel hlstest.Reloads
			feedWatched(r, tr, tc.tags, &rel)
			tr.End()
			rel.Add([]byte(mustPlaylist(r)))
			if target := rel.Check(t); target != 2 {
				t.Errorf("target duration %d, want 2", target)
			}
			path, p := hlstest.Dump(t, r, "tv", "event")
			params := hlstest.Segments(t, path, p)
			var tracks []string
			var changes, video, audio int
			for i, s := range hlstest.ProbeSegments(t, path, p) {
				if s.Discontinuity {
					changes++
				}
				if s.Declared != s.Carried {
					t.Errorf("segment %d declares %q, carries %q", i, s.Declared, s.Carried)
				}
				video, audio = video+s.Video, audio+s.Audio
				tracks = hlstest.AppendNew(tracks, s.Carried)
			}
			if !slices.Equal(tracks, tc.want) || changes != 1 {
				t.Errorf("segments carry %q with %d discontinuities, want %q and 1; segments %v:\n%s", tracks, changes, tc.want, params, mustPlaylist(r))
			}
			if video < wantVideo*95/100 || video > wantVideo || audio < wantAudio*95/100 || audio > wantAudio*105/100 {
				t.Errorf("the segments decode to %d video and %d audio frames, want %d and %d", video, audio, wantVideo, wantAudio)
			}
			hlstest.Decode(t, path)
		})
	}
}

// A track that stops for good while the other goes on (the publisher
// stops sending audio, a mobile encoder sent to the background stops the
// video, an encoder restarts without its microphone) leaves the PMT once
// whole segments without it last trackGone (4 s): the segment after them
// follows an #EXT-X-DISCONTINUITY and declares the other track alone, so
// players stop waiting for it. Until then the other track cuts the
// segments, so the playlist keeps up; when the track comes back it joins
// again. Shorter gaps (an encoder silent for a second or two, a video
// stall) change nothing.
func TestTrackGone(t *testing.T) {
	av := hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 18, GOP: 30}))
	restart := hlstest.Concat(hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 4, GOP: 30})),
		hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 14, GOP: 30, Extra: []string{"-an"}})))
	const forever = 1 << 31
	tests := []struct {
		name string
		tags []hlstest.Tag
		// the tracks the segments declare, in order, repeats dropped
		want []string
		// where the discontinuities are, s into the stream
		changes []float64
	}{
		{"audio stops", hlstest.Without(av, typeAudio, 4000, forever), []string{"video audio", "video"}, []float64{8}},
		// The segment the video stalls in ends at 4.48 s, as the target
		// allows; audio cuts the next ones a frame past 2 s.
		{"video stops", hlstest.Without(av, typeVideo, 4000, forever), []string{"video audio", "audio"}, []float64{8.5}},
		{"encoder restarts without audio", restart, []string{"video audio", "video"}, []float64{8}},
		{"audio stops and comes back", hlstest.Without(av, typeAudio, 4000, 11000), []string{"video audio", "video", "video audio"}, []float64{8, 11}},
		{"video stops and comes back", hlstest.Without(av, typeVideo, 4000, 14000), []string{"video audio", "audio", "video audio"}, []float64{8.5, 14}},
		// Each gap spans a whole segment: one segment without audio is
		// not enough to leave it out.
		{"audio gaps of 2 s", hlstest.Without(hlstest.Without(av, typeAudio, 4000, 6000), typeAudio, 8000, 10000), []string{"video audio"}, nil},
		// Just short of trackGone: the whole segments within it last 2 s.
		{"audio gap of 3.9 s", hlstest.Without(av, typeAudio, 4000, 7900), []string{"video audio"}, nil},
		{"video stalls for 3 s", hlstest.Without(av, typeVideo, 4000, 7000), []string{"video audio"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var wantVideo, wantAudio int
			for _, tg := range tc.tags {
				if tg.Body[1] == packetData {
					*map[uint8]*int{typeVideo: &wantVideo, typeAudio: &wantAudio}[tg.TypeID]++
				}
			}
			r := quietRegistry(Options{Window: 20})
			tr := r.Publish("tv", "event")
			var rel hlstest.Reloads
			// How far the playlist's end falls behind the media fed: a
			// player at the live edge waits that long.
			var listed, behind float64
			for _, tg := range tc.tags {
				tr.Media(tg.TypeID, tg.TimestampMS, tg.Body)
				b, _ := r.Playlist("tv", "event")
				if vs := rel.Versions(); b != nil && (len(vs) == 0 || !bytes.Equal(b, vs[len(vs)-1])) {
					listed = 0
					for _, s := range hlstest.Listed(hlstest.Parse(t, b)) {
						listed += s.Duration
					}
				}
				rel.Add(b)
				behind = max(behind, float64(tg.TimestampMS)/1000-listed)
			}
			tr.End()
			rel.Add([]byte(mustPlaylist(r)))
			if target := rel.Check(t); target != 2 {
				t.Errorf("target duration %d, want 2", target)
			}
			if behind > 2.6 {
				t.Errorf("the playlist fell %.3f s behind the media, more than a segment", behind)
			}
			path, p := hlstest.Dump(t, r, "tv", "event")
			segs := hlstest.ProbeSegments(t, path, p)
			var report []string
			var video, audio int
			var total float64
			for _, s := range segs {
				report = append(report, fmt.Sprintf("%.3f+%.3f %q carries %q", s.Start, s.Dur, s.Declared, s.Carried))
				video, audio, total = video+s.Video, audio+s.Audio, total+s.Dur
			}
			if tracks, changes := hlstest.Outline(t, segs); !slices.Equal(tracks, tc.want) || !hlstest.Near(changes, tc.changes, 0.1) {
				t.Errorf("segments declare %q, discontinuities at %v s; want %q and %v s; segments:\n%s", tracks, changes, tc.want, tc.changes, strings.Join(report, "\n"))
			}
			if !near(total, 18, 0.1) {
				t.Errorf("the segments last %.3f s, the media 18 s", total)
			}
			if video < wantVideo*95/100 || video > wantVideo || audio < wantAudio*95/100 || audio > wantAudio*105/100 {
				t.Errorf("the segments decode to %d video and %d audio frames, want %d and %d", video, audio, wantVideo, wantAudio)
			}
			hlstest.Decode(t, path)
		})
	}
}
