package hlstest

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/grafov/m3u8"
)

// FLV tag types.
const (
	Audio uint8 = 8
	Video uint8 = 9
)

// Without drops the tags of a type from ms on and before to ms, as a
// publisher that stops sending them; a sequence header among them goes
// with the next frame of its type kept, so that a track that joins late
// gets it there.
func Without(tags []Tag, typeID uint8, from, to uint32) []Tag {
	var out, header []Tag
	for _, tg := range tags {
		switch {
		case tg.TypeID != typeID || tg.TimestampMS < from:
		case tg.Body[1] == 0 && tg.TimestampMS < to: // AVC or AAC sequence header
			header = append(header, tg)
			continue
		case tg.TimestampMS < to:
			continue
		default:
			for _, h := range header {
				h.TimestampMS = tg.TimestampMS
				out = append(out, h)
			}
			header = nil
		}
		out = append(out, tg)
	}
	return out
}

// SegmentProbe is what ffprobe finds in one listed segment on its own.
type SegmentProbe struct {
	Start, Dur    float64 // s: the EXTINFs before it, its own
	Discontinuity bool
	// The tracks its PMT declares and those with frames: "video audio",
	// "video", "audio".
	Declared, Carried string
	Video, Audio      int // frames
}

// ProbeSegments probes each listed segment on its own: ffprobe lists the
// streams of the segment's PMT and counts the frames of each. (ffmpeg 5.1
// reading the playlist keeps the streams of its first segments, and its
// ffprobe crashes counting frames of one that joins.)
func ProbeSegments(t testing.TB, path string, p *m3u8.MediaPlaylist) []SegmentProbe {
	t.Helper()
	var out []SegmentProbe
	var start float64
	for _, s := range Listed(p) {
		probe := FFprobe(t, filepath.Join(filepath.Dir(path), s.URI))
		sp := SegmentProbe{Start: start, Dur: s.Duration, Discontinuity: s.Discontinuity, Video: probe.Frames("video"), Audio: probe.Frames("audio")}
		var declared, carried []string
		for _, kind := range []string{"video", "audio"} {
			if probe.Codec(kind) != "" {
				declared = append(declared, kind)
			}
			if probe.Frames(kind) > 0 {
				carried = append(carried, kind)
			}
		}
		sp.Declared, sp.Carried = strings.Join(declared, " "), strings.Join(carried, " ")
		out = append(out, sp)
		start += s.Duration
	}
	return out
}

// Outline is what a player meets in segs: the track sets their PMTs
// declare, in order with repeats dropped, and where the discontinuities
// are, s into the playlist. It fails t if a segment carries frames of a
// track it does not declare.
func Outline(t testing.TB, segs []SegmentProbe) (declared []string, changes []float64) {
	t.Helper()
	for i, s := range segs {
		if !strings.Contains(s.Declared, s.Carried) {
			t.Errorf("segment %d declares %q, carries %q", i, s.Declared, s.Carried)
		}
		if s.Discontinuity {
			changes = append(changes, s.Start)
		}
		declared = AppendNew(declared, s.Declared)
	}
	return declared, changes
}

// Near reports whether got and want are as many times, each within
// tolerance, in s.
func Near(got, want []float64, tolerance float64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > tolerance {
			return false
		}
	}
	return true
}
