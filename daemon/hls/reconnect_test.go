package hls

import (
	"testing"
	"time"

	"openfront.dev/daemon/hls/hlstest"
)

// A publisher that stops and publishes again within ReconnectWait (an
// encoder reconnecting after a network drop) never ends the playlist:
// players stop reloading once they see #EXT-X-ENDLIST, so a viewer who
// reloaded in between would never see the new segments. They follow the
// old ones after #EXT-X-DISCONTINUITY. A publisher that stays away ends
// the playlist once the wait is over.
func TestReconnectWait(t *testing.T) {
	const wait = 300 * time.Millisecond
	tags := hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 4, GOP: 60}))
	r := quietRegistry(Options{ReconnectWait: wait})
	var rel hlstest.Reloads
	first := r.Publish("tv", "event")
	feedWatched(r, first, tags, &rel)
	first.End()
	rel.Add([]byte(mustPlaylist(r)))
	if hlstest.Parse(t, []byte(mustPlaylist(r))).Closed {
		t.Errorf("the playlist ends as soon as the publisher stops, before it could reconnect:\n%s", mustPlaylist(r))
	}
	time.Sleep(wait / 3)
	second := r.Publish("tv", "event")
	feedWatched(r, second, tags, &rel)
	time.Sleep(2 * wait) // the first publish's wait is over
	rel.Add([]byte(mustPlaylist(r)))
	for i, v := range rel.Versions() {
		if p := hlstest.Parse(t, v); p.Closed {
			t.Errorf("version %d of the playlist ends, while the publisher came back:\n%s", i, v)
		}
	}
	rel.Check(t)
	p := hlstest.Parse(t, []byte(mustPlaylist(r)))
	// The second publish's last segment is still open.
	if segs := hlstest.Listed(p); len(segs) != 3 || !segs[2].Discontinuity {
		t.Errorf("want the first publish's 2 segments, then the second's first after #EXT-X-DISCONTINUITY:\n%s", mustPlaylist(r))
	}

	second.End()
	if hlstest.Parse(t, []byte(mustPlaylist(r))).Closed {
		t.Errorf("the playlist ends as soon as the publisher stops:\n%s", mustPlaylist(r))
	}
	deadline := time.Now().Add(5 * time.Second)
	for !hlstest.Parse(t, []byte(mustPlaylist(r))).Closed {
		if time.Now().After(deadline) {
			t.Fatalf("no #EXT-X-ENDLIST %s after the publisher stopped:\n%s", 5*time.Second, mustPlaylist(r))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The wait defaults to 5 s, and a negative one ends the playlist at once.
func TestReconnectWaitDefault(t *testing.T) {
	if got := NewRegistry(Options{}).opts.ReconnectWait; got != 5*time.Second {
		t.Errorf("default ReconnectWait %s, want 5s", got)
	}
	r := quietRegistry(Options{ReconnectWait: -1})
	tr := r.Publish("tv", "event")
	hlstest.Feed(tr, hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 2, GOP: 60})), false)
	tr.End()
	if !hlstest.Parse(t, []byte(mustPlaylist(r))).Closed {
		t.Errorf("ReconnectWait -1: no #EXT-X-ENDLIST once the publisher stopped:\n%s", mustPlaylist(r))
	}
}

// The first listed segment and each publish's first carry the wall-clock
// time of their first frame (EXT-X-PROGRAM-DATE-TIME, RFC 8216 4.3.2.6 and
// 6.2.1), and the dates a player counts on from them with the EXTINFs
// hold across reloads.
func TestProgramDateTime(t *testing.T) {
	tags := hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 4, GOP: 60}))
	// The second publish comes within the wait: the playlist goes on.
	r := quietRegistry(Options{Window: 3, ReconnectWait: time.Minute})
	var rel hlstest.Reloads
	var starts []time.Time
	for range 2 {
		starts = append(starts, time.Now())
		tr := r.Publish("tv", "event")
		hlstest.Feed(reloader{tr, r, &rel}, tags, true)
		tr.End()
	}
	rel.Check(t)
	p := hlstest.Parse(t, []byte(mustPlaylist(r)))
	dates := hlstest.Dates(t, p)
	// Listed: the first publish's second segment, then the second's two.
	if len(dates) != 3 || !hlstest.Listed(p)[1].Discontinuity {
		t.Fatalf("want 3 segments, a republish at the second:\n%s", mustPlaylist(r))
	}
	for i, want := range []time.Time{starts[0].Add(2 * time.Second), starts[1], starts[1].Add(2 * time.Second)} {
		if d := dates[i].Sub(want); d < -300*time.Millisecond || d > 300*time.Millisecond {
			t.Errorf("segment %d is dated %v, %v off its first frame's arrival", i, dates[i], d)
		}
	}
}
