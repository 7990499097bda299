package hls

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/asticode/go-astits"

	"openfront.dev/daemon/hls/hlstest"
)

// Audio whose first config comes within the publish's first segment is
// declared in that segment's tables (declareAudio): every PMT of the
// segment lists it, not only the first, or a demuxer that follows the
// latest PMT drops the audio after a stale one.
func TestAudioDeclaredInFirstSegment(t *testing.T) {
	gop := hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 6, GOP: 30}))
	r := quietRegistry(Options{Window: 10})
	tr := r.Publish("tv", "event")
	for _, tg := range hlstest.Without(gop, typeAudio, 0, 1500) {
		tr.Media(tg.TypeID, tg.TimestampMS, tg.Body)
	}
	tr.End()
	b, ok := r.Playlist("tv", "event")
	if !ok {
		t.Fatal("no playlist")
	}
	p := hlstest.Parse(t, b)
	ts, ok := r.Segment("tv", "event", p.SeqNo)
	if !ok {
		t.Fatal("no first segment")
	}
	dmx := astits.NewDemuxer(context.Background(), bytes.NewReader(ts))
	var pmts []int // the streams each PMT lists, in order
	for {
		d, err := dmx.NextData()
		if errors.Is(err, astits.ErrNoMorePackets) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if d.PMT != nil {
			pmts = append(pmts, len(d.PMT.ElementaryStreams))
		}
	}
	if len(pmts) == 0 {
		t.Fatal("the first segment has no PMT")
	}
	for i, n := range pmts {
		if n != 2 {
			t.Errorf("PMT %d of %d in the first segment lists %d streams, want video and audio: %v", i+1, len(pmts), n, pmts)
			break
		}
	}
}
