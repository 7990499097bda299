package hls

import (
	"path/filepath"
	"testing"

	"openfront.dev/daemon/hls/hlstest"
)

// MP3 audio, which RTMP carries as FLV sound format 2 with no sequence
// header (old encoders, IP cameras), is packaged as MPEG audio in the
// transport stream (stream type 0x03, or 0x04 at MPEG-2's lower rates),
// as nginx-rtmp does: hls.js, Safari and ffmpeg play it. Before, such a
// publish gave a playlist with no sound.
func TestMP3Audio(t *testing.T) {
	tests := []struct {
		name  string
		extra []string
		video bool
	}{
		{"with video, 44.1 kHz", []string{"-c:a", "libmp3lame", "-ar", "44100"}, true},
		{"with video, 22.05 kHz mono (MPEG-2)", []string{"-c:a", "libmp3lame", "-ar", "22050", "-ac", "1"}, true},
		{"audio only", []string{"-vn", "-c:a", "libmp3lame", "-ar", "44100"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := hlstest.FLV(t, hlstest.Media{Seconds: 6, GOP: 60, Extra: tc.extra})
			r := quietRegistry(Options{})
			tr := r.Publish("tv", "event")
			hlstest.Feed(tr, hlstest.Tags(t, src), false)
			tr.End()
			path, p := hlstest.Dump(t, r, "tv", "event")
			segs := hlstest.Listed(p)
			if len(segs) != 3 {
				t.Fatalf("%d segments, want 3:\n%s", len(segs), mustPlaylist(r))
			}
			for i, s := range segs {
				if s.Discontinuity || !near(s.Duration, 2, 0.1) {
					t.Errorf("segment %d: %.3f s, discontinuity %v", i, s.Duration, s.Discontinuity)
				}
				probe := hlstest.FFprobe(t, filepath.Join(filepath.Dir(path), s.URI))
				if probe.Codec("audio") != "mp3" || (probe.Codec("video") == "h264") != tc.video {
					t.Errorf("segment %d has audio %q and video %q", i, probe.Codec("audio"), probe.Codec("video"))
				}
			}
			// Not hlstest.Decode: ffmpeg's null muxer finds the source's
			// own millisecond video timestamps non-monotonic at 30 fps
			// in some of these (the FLV file alone, too).
			wantVideo, wantAudio := hlstest.FramesOf(t, src)
			all := hlstest.FFprobe(t, path)
			if a := all.Frames("audio"); a < wantAudio*95/100 || a > wantAudio+1 {
				t.Errorf("the playlist decodes to %d audio frames, the source has %d", a, wantAudio)
			}
			if v := all.Frames("video"); v < wantVideo*95/100 || v > wantVideo {
				t.Errorf("the playlist decodes to %d video frames, the source has %d", v, wantVideo)
			}
		})
	}
}
