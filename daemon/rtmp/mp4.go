package rtmp

import (
	"errors"
	"fmt"
	"io"
	"sort"

	gflv "github.com/yapingcat/gomedia/go-flv"
	mp4 "github.com/yapingcat/gomedia/go-mp4"
)

// mp4Source demuxes an MP4 (H.264/AAC) with gomedia and turns its samples
// into FLV tag bodies with gomedia's FLV muxers.
type mp4Source struct {
	d        *mp4.MovDemuxer
	video    *mp4.TrackInfo
	syncs    []mp4.SyncSample
	avcMux   *gflv.AVCMuxer
	aacMux   *gflv.AACMuxer
	pending  []tag
	meta     tag
	avc, aac *tag
}

func openMP4(r io.ReadSeeker) (s *mp4Source, err error) {
	defer recoverParser(&err)
	s = &mp4Source{d: mp4.CreateMp4Demuxer(r), avcMux: gflv.NewAVCMuxer(), aacMux: gflv.NewAACMuxer()}
	tracks, err := s.d.ReadHead()
	if err != nil {
		return nil, fmt.Errorf("mp4: %w", err)
	}
	meta := map[string]any{}
	for i := range tracks {
		t := &tracks[i]
		switch t.Cid {
		case mp4.MP4_CODEC_H264:
			s.video = t
			meta["width"], meta["height"], meta["videocodecid"] = float64(t.Width), float64(t.Height), 7.0
		case mp4.MP4_CODEC_AAC:
			meta["audiocodecid"], meta["audiosamplerate"], meta["stereo"] = 10.0, float64(t.SampleRate), t.ChannelCount > 1
		}
	}
	if s.video == nil && meta["audiocodecid"] == nil {
		return nil, errors.New("mp4: no H.264 or AAC track")
	}
	if info := s.d.GetMp4Info(); info.Timescale > 0 {
		meta["duration"] = float64(info.Duration) / float64(info.Timescale)
	}
	if s.video != nil {
		s.syncs, _ = s.d.GetSyncTable(uint32(s.video.TrackId))
	}
	s.meta = tag{typeID: typeDataAMF0, body: amf0Body("onMetaData", meta)}
	s.pending = []tag{s.meta}
	return s, nil
}

// recoverParser turns a panic of the demuxer on a malformed file into an error.
func recoverParser(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("mp4: malformed file: %v", r)
	}
}

func (s *mp4Source) next() (t tag, err error) {
	defer recoverParser(&err)
	for len(s.pending) == 0 {
		pkt, err := s.d.ReadPacket()
		if err != nil {
			return tag{}, err
		}
		var bodies [][]byte
		typeID := uint8(typeVideo)
		switch pkt.Cid {
		case mp4.MP4_CODEC_H264:
			bodies = s.avcMux.Write(pkt.Data, uint32(pkt.Pts), uint32(pkt.Dts))
		case mp4.MP4_CODEC_AAC:
			typeID = typeAudio
			bodies = s.aacMux.Write(pkt.Data, uint32(pkt.Pts), uint32(pkt.Dts))
		}
		for _, b := range bodies {
			t := tag{typeID: typeID, ts: uint32(pkt.Dts), body: b}
			if isSequenceHeader(typeID, b) {
				if typeID == typeVideo {
					s.avc = &t
				} else {
					s.aac = &t
				}
			}
			s.pending = append(s.pending, t)
		}
	}
	t = s.pending[0]
	s.pending = s.pending[1:]
	return t, nil
}

func (s *mp4Source) seek(ms uint32) (uint32, error) {
	at := uint64(ms)
	if len(s.syncs) > 0 {
		i := sort.Search(len(s.syncs), func(i int) bool { return s.syncs[i].Dts > at })
		if i > 0 {
			at = s.syncs[i-1].Dts
		} else {
			at = s.syncs[0].Dts
		}
	}
	if err := s.d.SeekTime(at); err != nil {
		return 0, fmt.Errorf("mp4 seek: %w", err)
	}
	s.pending = s.pending[:0]
	return uint32(at), nil
}

func (s *mp4Source) headers() []tag {
	out := []tag{s.meta}
	for _, t := range []*tag{s.avc, s.aac} {
		if t != nil {
			out = append(out, *t)
		}
	}
	return out
}
