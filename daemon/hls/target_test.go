package hls

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"openfront.dev/daemon/hls/hlstest"
)

// The packager's own cuts never raise EXT-X-TARGETDURATION: only a GOP
// longer than the target may (TestGOPAboveTarget). Every EXTINF of every
// playlist version rounds to the target or less (RFC 8216 4.3.3.1), the
// first segments' and those after a discontinuity too.
func TestOwnCutsKeepTarget(t *testing.T) {
	// without drops the video tags of tags from ms on: the publisher's
	// camera stops, its audio goes on.
	without := func(tags []hlstest.Tag, ms uint32) []hlstest.Tag {
		var out []hlstest.Tag
		for _, tg := range tags {
			if tg.TypeID != typeVideo || tg.TimestampMS < ms || tg.Body[1] == packetConfig {
				out = append(out, tg)
			}
		}
		return out
	}
	audio := func() []hlstest.Tag {
		return hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 8, Extra: []string{"-vn"}}))
	}
	// Keyframes every 74 frames (2.467 s, within a 2 s target): the
	// second segment runs from 2.467 s to 4.933 s.
	gop74 := func() []hlstest.Tag { return hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 8, GOP: 74})) }
	tests := []struct {
		name       string
		minSegment time.Duration
		tags       func() []hlstest.Tag
	}{
		// Cut at the minimum, the first AAC frame after 2.49 s would
		// make a 2.5x s segment, which rounds to 3.
		{"audio only, minimum just under target + 0.5 s", 2490 * time.Millisecond, audio},
		{"audio only, after a restart", 2490 * time.Millisecond, func() []hlstest.Tag {
			a := audio()
			return append(a, a...) // the timestamps go back to 0: a discontinuity
		}},
		{"audio leads after the video stops", 2490 * time.Millisecond, func() []hlstest.Tag {
			return without(hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 10, GOP: 60})), 4000)
		}},
		// The video stops 2.3, 2.4 and 2.45 s into a segment: less than
		// the 0.5 s that tells a stall from a slow frame before the
		// segment would outlast the target.
		{"video stalls 2.3 s into a segment", 0, func() []hlstest.Tag { return without(gop74(), 2467+2300) }},
		{"video stalls 2.4 s into a segment", 0, func() []hlstest.Tag { return without(gop74(), 2467+2400) }},
		{"video stalls 2.45 s into a segment", 0, func() []hlstest.Tag { return without(gop74(), 2467+2450) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			r := NewRegistry(Options{Window: 20, MinSegment: tc.minSegment, ReconnectWait: -1, Log: slog.New(slog.NewTextHandler(&logs, nil))})
			tr := r.Publish("tv", "event")
			var rel hlstest.Reloads
			feedWatched(r, tr, tc.tags(), &rel)
			tr.End()
			rel.Add([]byte(mustPlaylist(r)))
			if target := rel.Check(t); target != 2 {
				t.Errorf("target duration %d, want 2:\n%s", target, mustPlaylist(r))
			}
			if strings.Contains(logs.String(), "EXT-X-TARGETDURATION raised") {
				t.Errorf("the target was raised:\n%s", logs.String())
			}
			path, _ := hlstest.Dump(t, r, "tv", "event")
			hlstest.Decode(t, path)
		})
	}
}
