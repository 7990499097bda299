package hls

import (
	"strings"
	"testing"
	"time"

	"openfront.dev/daemon/hls/hlstest"
)

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
