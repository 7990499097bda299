package hls

import (
	"testing"
	"time"
)

// TestFreshPlaylistTarget: a publish after the playlist ended begins
// with the stream's own target again, not one an old publish's long GOP
// raised, since its playlist lists none of the old segments.
func TestFreshPlaylistTarget(t *testing.T) {
	s := newStream(3, 1, 2)
	first, second := &Track{}, &Track{}
	s.claim(first)
	if target, _ := s.add(first, []byte("ts"), 5*time.Second); target != 5 {
		t.Fatalf("a 5 s segment: target %d, want 5", target)
	}
	gen, _ := s.end(first)
	s.close(gen)
	if target, _ := s.claim(second); target != 2 {
		t.Errorf("the fresh playlist's target is %d, want the stream's 2", target)
	}
}
