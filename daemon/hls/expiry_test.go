package hls

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"openfront.dev/daemon/hls/hlstest"
)

// A segment that leaves the live playlist stays servable, as RFC 8216
// 6.2.2 asks, "for a period of time equal to the duration of the segment
// plus the duration of the longest Playlist file distributed by the server
// containing that segment": a viewer that read a playlist a moment before
// the segment left, and fetches from its front (a slow viewer, one that
// buffers a whole playlist), must not get a 404. Time is the stream's: the
// durations of the segments added since, which come in real time. The
// test tracks, as a client would, each version's duration and when each
// segment left, and asks the registry for every segment still due.
func TestRemovedSegmentsStayAvailable(t *testing.T) {
	secs := func(n int, d time.Duration) []time.Duration { return slices.Repeat([]time.Duration{d}, n) }
	tests := []struct {
		name      string
		window    int
		durations []time.Duration
	}{
		{"default window of 2 s segments", 6, secs(30, 2*time.Second)},
		{"window of 3 one-second segments", 3, secs(20, time.Second)},
		{"a long segment raised the target", 3, append(secs(1, 8*time.Second), secs(20, 2*time.Second)...)},
		{"irregular segments", 4, slices.Concat(secs(5, 2*time.Second), secs(6, 1500*time.Millisecond), secs(3, 2*time.Second), secs(8, 900*time.Millisecond), secs(6, 2*time.Second))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := quietRegistry(Options{Window: tc.window})
			tr := r.Publish("tv", "event").(*Track)
			var clock time.Duration
			dur := map[uint64]time.Duration{}     // every segment listed so far
			longest := map[uint64]time.Duration{} // the longest playlist that listed it
			left := map[uint64]time.Duration{}    // when it left the playlist
			var listedBefore []uint64
			for i, d := range tc.durations {
				tr.s.add(tr, fmt.Appendf(nil, "segment %d", i), d)
				clock += d
				p := hlstest.Parse(t, []byte(mustPlaylist(r)))
				var listed []uint64
				var total time.Duration
				for j, s := range hlstest.Listed(p) {
					seq := p.SeqNo + uint64(j)
					listed = append(listed, seq)
					dur[seq] = time.Duration(s.Duration * float64(time.Second))
					total += dur[seq]
				}
				for _, seq := range listed {
					longest[seq] = max(longest[seq], total)
				}
				for _, seq := range listedBefore {
					if !slices.Contains(listed, seq) {
						left[seq] = clock
					}
				}
				listedBefore = listed
				due := 0
				for seq, at := range left {
					if clock-at >= dur[seq]+longest[seq] {
						continue
					}
					due++
					if _, ok := r.Segment("tv", "event", seq); !ok {
						t.Errorf("after %d segments (%s): segment %d, gone from the playlist %s ago, is not served; due for %s (%s + the longest playlist listing it, %s)",
							i+1, clock, seq, clock-at, dur[seq]+longest[seq], dur[seq], longest[seq])
						break
					}
				}
				// Segments are dropped, not held for the stream's life:
				// at most one past its due time (they go from the front).
				if held := len(r.stream("tv", "event").view.Load().segs); held > len(listed)+due+1 {
					t.Errorf("after %d segments: %d held, %d listed and %d due after leaving", i+1, held, len(listed), due)
				}
			}
		})
	}
}
