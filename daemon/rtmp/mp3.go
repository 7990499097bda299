package rtmp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sort"
)

// mp3Source reads an MP3 file as FLV audio tags of codec 2 (FLV spec E.4.2.1),
// one frame a message, as Flash Media Server played mp3: streams. No Go MP3
// package is a dependency, and a demuxer needs only the 4-byte frame header
// (ISO/IEC 11172-3 2.4.1.3, 13818-3 for MPEG-2 and 2.5), so it is parsed here.
type mp3Source struct {
	r       io.ReadSeeker
	first   mp3Header // of the first frame: what later frames must match
	pos     int64     // offset of the next frame
	samples uint64    // samples before the frame at pos
	keys    []mp3Key  // where to seek, audioKeyGap apart
	flags   byte      // the FLV audio tag's first byte
	meta    tag
}

type mp3Key struct {
	ts      uint32
	off     int64
	samples uint64
}

// mp3Header is a Layer III frame header.
type mp3Header struct {
	version   byte // 3: MPEG-1, 2: MPEG-2, 0: MPEG-2.5
	rate      int  // samples a second
	bitrate   int  // bits a second
	size      int  // frame bytes, header included
	samples   int  // a frame's samples
	mono      bool
	sideBytes int // side information after the header
}

var (
	mp3Bitrates = [2][15]int{ // kbit/s by index; 0 is the free format
		{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}, // MPEG-1
		{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},     // MPEG-2, 2.5
	}
	mp3Rates = [4][3]int{0: {11025, 12000, 8000}, 2: {22050, 24000, 16000}, 3: {44100, 48000, 32000}}
)

// parseMP3Header reads a Layer III frame header; free-format frames (no
// bitrate, so no size) and other layers are refused.
func parseMP3Header(b []byte) (mp3Header, bool) {
	var h mp3Header
	if len(b) < 4 || b[0] != 0xff || b[1]&0xe0 != 0xe0 {
		return h, false
	}
	h.version = b[1] >> 3 & 3
	layer, bi, ri := b[1]>>1&3, int(b[2]>>4), int(b[2]>>2&3)
	if h.version == 1 || layer != 1 || bi == 0 || bi == 15 || ri == 3 {
		return h, false
	}
	h.rate = mp3Rates[h.version][ri]
	h.mono = b[3]>>6 == 3
	pad := int(b[2] >> 1 & 1)
	if h.version == 3 {
		h.bitrate = mp3Bitrates[0][bi] * 1000
		h.samples, h.size = 1152, 144*h.bitrate/h.rate+pad
		h.sideBytes = 32
		if h.mono {
			h.sideBytes = 17
		}
	} else {
		h.bitrate = mp3Bitrates[1][bi] * 1000
		h.samples, h.size = 576, 72*h.bitrate/h.rate+pad
		h.sideBytes = 17
		if h.mono {
			h.sideBytes = 9
		}
	}
	return h, true
}

// mp3SyncLimit bounds the junk skipped to find the first frame or to
// resynchronize (APE or ID3v1 tags, damaged bytes).
const mp3SyncLimit = 64 << 10

func openMP3(r io.ReadSeeker) (*mp3Source, error) {
	s := &mp3Source{r: r}
	var id3 [10]byte
	if _, err := io.ReadFull(r, id3[:]); err != nil {
		return nil, fmt.Errorf("mp3: %w", err)
	}
	if string(id3[:3]) == "ID3" { // an ID3v2 tag: its size is syncsafe, 7 bits a byte
		s.pos = 10 + int64(id3[6])<<21 | int64(id3[7])<<14 | int64(id3[8])<<7 | int64(id3[9])
		if id3[5]&0x10 != 0 {
			s.pos += 10 // footer
		}
	}
	off, h, err := s.sync(s.pos, nil)
	if err != nil {
		return nil, errors.New("mp3: no MPEG audio Layer III frame")
	}
	s.first, s.pos = h, off
	frames := uint64(0)
	// A Xing or Info frame (LAME's, VBR or CBR) holds the frame count, not audio.
	frame := make([]byte, h.size)
	if _, err := s.r.Seek(off, io.SeekStart); err == nil {
		if _, err := io.ReadFull(s.r, frame); err == nil {
			if x := frame[4+h.sideBytes:]; len(x) >= 12 && (bytes.HasPrefix(x, []byte("Xing")) || bytes.HasPrefix(x, []byte("Info"))) {
				if binary.BigEndian.Uint32(x[4:])&1 != 0 {
					frames = uint64(binary.BigEndian.Uint32(x[8:]))
				}
				s.pos += int64(h.size)
			}
		}
	}
	s.flags = 2<<4 | 1<<1 // MP3, 16-bit
	switch {
	case h.rate >= 44100:
		s.flags |= 3 << 2
	case h.rate >= 22050:
		s.flags |= 2 << 2
	case h.rate >= 11025:
		s.flags |= 1 << 2
	}
	if !h.mono {
		s.flags |= 1
	}
	meta := map[string]any{"audiocodecid": 2.0, "audiosamplerate": float64(h.rate), "stereo": !h.mono,
		"audiodatarate": float64(h.bitrate) / 1000}
	if frames > 0 {
		meta["duration"] = float64(frames) * float64(h.samples) / float64(h.rate)
	} else if size, err := s.r.Seek(0, io.SeekEnd); err == nil && size > s.pos {
		meta["duration"] = float64(size-s.pos) * 8 / float64(h.bitrate) // exact for CBR, an estimate for VBR
	}
	s.meta = tag{typeID: typeDataAMF0, body: amf0Body("onMetaData", meta)}
	s.keys = []mp3Key{{0, s.pos, 0}}
	return s, nil
}

// sync finds the first frame header at or after off, within mp3SyncLimit;
// with want, only a header of the same version and rate.
func (s *mp3Source) sync(off int64, want *mp3Header) (int64, mp3Header, error) {
	buf := make([]byte, 4096)
	for end := off + mp3SyncLimit; off < end; {
		if _, err := s.r.Seek(off, io.SeekStart); err != nil {
			return 0, mp3Header{}, err
		}
		n, err := io.ReadFull(s.r, buf)
		if n < 4 {
			if err == nil || errors.Is(err, io.ErrUnexpectedEOF) {
				err = io.EOF
			}
			return 0, mp3Header{}, err
		}
		for i := 0; i+4 <= n; i++ {
			if h, ok := parseMP3Header(buf[i:]); ok && (want == nil || h.version == want.version && h.rate == want.rate) {
				return off + int64(i), h, nil
			}
		}
		off += int64(n - 3)
	}
	return 0, mp3Header{}, io.EOF // junk: taken as the end
}

// header returns the frame at s.pos, resynchronizing past junk.
func (s *mp3Source) header() (mp3Header, error) {
	var b [4]byte
	if _, err := s.r.Seek(s.pos, io.SeekStart); err != nil {
		return mp3Header{}, err
	}
	if _, err := io.ReadFull(s.r, b[:]); err != nil {
		return mp3Header{}, io.EOF
	}
	if h, ok := parseMP3Header(b[:]); ok && h.version == s.first.version && h.rate == s.first.rate {
		return h, nil
	}
	off, h, err := s.sync(s.pos+1, &s.first)
	if err != nil {
		return mp3Header{}, err
	}
	s.pos = off
	return h, nil
}

func (s *mp3Source) ms() uint32 { return uint32(s.samples * 1000 / uint64(s.first.rate)) }

// advance moves past the frame at s.pos (header h), indexing it.
func (s *mp3Source) advance(h mp3Header) {
	if ts, last := s.ms(), s.keys[len(s.keys)-1]; s.pos > last.off && ts-last.ts >= audioKeyGap {
		s.keys = append(s.keys, mp3Key{ts, s.pos, s.samples})
	}
	s.pos += int64(h.size)
	s.samples += uint64(h.samples)
}

func (s *mp3Source) next() (tag, error) {
	h, err := s.header()
	if err != nil {
		return tag{}, err
	}
	body := make([]byte, 1+h.size)
	body[0] = s.flags
	if _, err := s.r.Seek(s.pos, io.SeekStart); err != nil {
		return tag{}, err
	}
	if _, err := io.ReadFull(s.r, body[1:]); err != nil {
		return tag{}, io.EOF // a truncated last frame ends the stream
	}
	t := tag{typeID: typeAudio, ts: s.ms(), body: body}
	s.advance(h)
	return t, nil
}

// seek scans frame headers forward past ms unless the index reaches it;
// any frame is a place to start.
func (s *mp3Source) seek(ms uint32) (uint32, error) {
	if last := s.keys[len(s.keys)-1]; last.ts <= ms {
		if s.pos < last.off {
			s.pos, s.samples = last.off, last.samples
		}
		for s.ms() <= ms {
			h, err := s.header()
			if err != nil {
				break
			}
			s.advance(h)
		}
	}
	i := sort.Search(len(s.keys), func(i int) bool { return s.keys[i].ts > ms })
	k := s.keys[max(i-1, 0)]
	s.pos, s.samples = k.off, k.samples
	return k.ts, nil
}

func (s *mp3Source) headers() []tag { return []tag{s.meta} }
