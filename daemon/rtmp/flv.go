package rtmp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// flvSource reads FLV tags (FLV spec E.2-E.4) as RTMP messages: a tag body is
// a message body. A keyframe index builds up as the file is read, so seeking
// back is direct and seeking forward scans tag headers only.
type flvSource struct {
	r              io.ReadSeeker
	pos            int64    // offset of the next tag header
	keys           []flvKey // keyframes seen, by time
	meta, avc, aac *tag
	// audioOnly: the header says there is no video, so audio tags are
	// where a seek lands (one a second at most, to keep the index small).
	audioOnly bool
}

// audioKeyGap is the least time between two audio tags in the index.
const audioKeyGap = 1000

type flvKey struct {
	ts  uint32
	off int64
}

const flvTagHeader = 11

func openFLV(r io.ReadSeeker) (*flvSource, error) {
	var h [9]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, fmt.Errorf("flv header: %w", err)
	}
	if string(h[:3]) != "FLV" {
		return nil, errors.New("not an FLV file")
	}
	off := int64(binary.BigEndian.Uint32(h[5:]))
	if off < 9 {
		return nil, errors.New("bad FLV header")
	}
	return &flvSource{r: r, pos: off + 4, audioOnly: h[4]&1 == 0}, nil // skip PreviousTagSize0
}

// header reads the tag header at s.pos.
func (s *flvSource) header() (typeID uint8, size int, ts uint32, err error) {
	var h [flvTagHeader]byte
	if _, err := s.r.Seek(s.pos, io.SeekStart); err != nil {
		return 0, 0, 0, err
	}
	if _, err := io.ReadFull(s.r, h[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			err = io.EOF // a truncated last tag ends the stream
		}
		return 0, 0, 0, err
	}
	if h[0]&0x20 != 0 {
		return 0, 0, 0, errors.New("encrypted FLV tags are not supported")
	}
	typeID = h[0] & 0x1f
	size = int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	ts = uint32(h[7])<<24 | uint32(h[4])<<16 | uint32(h[5])<<8 | uint32(h[6])
	return typeID, size, ts, nil
}

func (s *flvSource) next() (tag, error) {
	for {
		typeID, size, ts, err := s.header()
		if err != nil {
			return tag{}, err
		}
		off := s.pos
		s.pos += flvTagHeader + int64(size) + 4
		if typeID != typeAudio && typeID != typeVideo && typeID != typeDataAMF0 {
			continue
		}
		body := make([]byte, size)
		if _, err := io.ReadFull(s.r, body); err != nil {
			return tag{}, io.EOF
		}
		t := tag{typeID: typeID, ts: ts, body: body}
		s.remember(t, off)
		return t, nil
	}
}

// remember keeps headers and indexes keyframes.
func (s *flvSource) remember(t tag, off int64) {
	switch {
	case t.typeID == typeDataAMF0 && s.meta == nil:
		s.meta = &t
	case isSequenceHeader(t.typeID, t.body):
		if t.typeID == typeVideo {
			s.avc = &t
		} else {
			s.aac = &t
		}
	case s.startsAt(t.typeID, t.ts, t.body):
		s.keys = append(s.keys, flvKey{t.ts, off})
	}
}

// startsAt says whether a tag (its body, or the first 2 bytes of it) goes
// into the index: a video keyframe, or audio in a file without video; after
// the last entry.
func (s *flvSource) startsAt(typeID uint8, ts uint32, body []byte) bool {
	if n := len(s.keys); n > 0 {
		last, gap := s.keys[n-1].ts, uint32(1)
		if s.audioOnly {
			gap = audioKeyGap
		}
		if ts <= last || ts-last < gap {
			return false
		}
	}
	if typeID == typeVideo {
		return isVideoKeyframe(body)
	}
	return s.audioOnly && typeID == typeAudio && !isSequenceHeader(typeAudio, body)
}

func (s *flvSource) seek(ms uint32) (uint32, error) {
	// Scan forward past ms unless the index already reaches it.
	if n := len(s.keys); n == 0 || s.keys[n-1].ts <= ms {
		if n > 0 && s.pos < s.keys[n-1].off {
			s.pos = s.keys[n-1].off
		}
		for {
			typeID, size, ts, err := s.header()
			if err != nil {
				break
			}
			if (typeID == typeVideo || s.audioOnly && typeID == typeAudio) && (ts <= ms || len(s.keys) == 0) {
				var b [2]byte
				if _, err := io.ReadFull(s.r, b[:]); err == nil && s.startsAt(typeID, ts, b[:]) {
					s.keys = append(s.keys, flvKey{ts, s.pos})
				}
			}
			if ts > ms {
				break
			}
			s.pos += flvTagHeader + int64(size) + 4
		}
	}
	i := sort.Search(len(s.keys), func(i int) bool { return s.keys[i].ts > ms })
	if i == 0 {
		if len(s.keys) == 0 {
			return 0, errors.New("no keyframe to seek to")
		}
		i = 1
	}
	k := s.keys[i-1]
	s.pos = k.off
	return k.ts, nil
}

func (s *flvSource) headers() []tag {
	var out []tag
	for _, t := range []*tag{s.meta, s.avc, s.aac} {
		if t != nil {
			out = append(out, *t)
		}
	}
	return out
}
