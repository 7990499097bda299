package hls

import (
	"errors"
	"fmt"

	"github.com/asticode/go-astits"
)

// aacConfig is what an ADTS header needs of an AudioSpecificConfig, or,
// for MP3, what tells one stream's frames from another's.
type aacConfig struct {
	raw       []byte // the AudioSpecificConfig as sent, to tell a change from a resend
	profile   byte   // ADTS profile: audio object type - 1
	freqIndex byte
	channels  byte
	// streamType is the PMT's: AAC in ADTS, or MPEG-1 or MPEG-2 audio
	// for MP3, whose frames go into the PES as they come.
	streamType astits.StreamType
}

// bitReader reads big-endian bit fields; reading past the end yields zeros,
// which the callers' range checks reject.
type bitReader struct {
	b   []byte
	pos int
}

func (r *bitReader) read(n int) int {
	v := 0
	for range n {
		bit := 0
		if i := r.pos / 8; i < len(r.b) {
			bit = int(r.b[i]>>(7-r.pos%8)) & 1
		}
		v = v<<1 | bit
		r.pos++
	}
	return v
}

// parseAACConfig reads an AudioSpecificConfig (ISO 14496-3 1.6.2.1). For
// HE-AAC (SBR, PS) signalled explicitly, ADTS carries the AAC-LC core,
// which every HE-AAC decoder upgrades implicitly.
func parseAACConfig(b []byte) (*aacConfig, error) {
	if len(b) < 2 {
		return nil, errors.New("aac config: truncated AudioSpecificConfig")
	}
	r := &bitReader{b: b}
	objectType := audioObjectType(r)
	freq := r.read(4)
	if freq == 15 {
		return nil, errors.New("aac config: an explicit sampling frequency cannot be carried in ADTS")
	}
	channels := r.read(4)
	if objectType == 5 || objectType == 29 {
		if r.read(4) == 15 { // extension sampling frequency
			r.read(24)
		}
		objectType = audioObjectType(r)
	}
	if objectType < 1 || objectType > 4 {
		return nil, fmt.Errorf("aac config: audio object type %d cannot be carried in ADTS", objectType)
	}
	if freq > 12 || channels > 7 {
		return nil, fmt.Errorf("aac config: sampling frequency index %d or channel configuration %d out of range", freq, channels)
	}
	return &aacConfig{raw: b, profile: byte(objectType - 1), freqIndex: byte(freq), channels: byte(channels), streamType: astits.StreamTypeAACAudio}, nil
}

// parseMP3Config reads the MPEG audio frame header (ISO 11172-3 2.4.1.3)
// at the start of an MP3 message: its version, layer, sampling rate and
// whether it is mono make the config (raw). MPEG-2 and 2.5 (the lower
// rates) are MPEG-2 audio in the transport stream.
func parseMP3Config(b []byte) (*aacConfig, error) {
	if len(b) < 4 || b[0] != 0xff || b[1]&0xe0 != 0xe0 {
		return nil, errors.New("mp3: no frame header")
	}
	version, layer, rate := b[1]>>3&3, b[1]>>1&3, b[2]>>2&3
	if version == 1 || layer == 0 || rate == 3 {
		return nil, fmt.Errorf("mp3: reserved version, layer or sampling rate in header % x", b[:4])
	}
	c := &aacConfig{raw: []byte{version, layer, rate, b[3] >> 6 / 3}, streamType: astits.StreamTypeMPEG2Audio}
	if version == 3 {
		c.streamType = astits.StreamTypeMPEG1Audio
	}
	return c, nil
}

// frame appends one audio frame to dst as the transport stream carries
// it: AAC behind an ADTS header, MP3 as it is.
func (c *aacConfig) frame(dst, data []byte) ([]byte, error) {
	if c.streamType != astits.StreamTypeAACAudio {
		return append(dst, data...), nil
	}
	return c.adts(dst, data)
}

func audioObjectType(r *bitReader) int {
	t := r.read(5)
	if t == 31 {
		t = 32 + r.read(6)
	}
	return t
}

// maxADTSFrame is the largest frame an ADTS header can describe (13 bits).
const maxADTSFrame = 1<<13 - 1

// adts appends the raw AAC frame to dst behind its ADTS header
// (ISO 14496-3 1.A.2.2), without CRC.
func (c *aacConfig) adts(dst, frame []byte) ([]byte, error) {
	n := len(frame) + 7
	if n > maxADTSFrame {
		return dst, fmt.Errorf("aac frame: %d bytes do not fit an ADTS frame", len(frame))
	}
	dst = append(dst,
		0xff,
		0xf1, // MPEG-4, layer 0, no CRC
		c.profile<<6|c.freqIndex<<2|c.channels>>2,
		(c.channels&3)<<6|byte(n>>11),
		byte(n>>3),
		byte(n&7)<<5|0x1f, // buffer fullness 0x7ff: variable bit rate
		0xfc,              // one raw data block
	)
	return append(dst, frame...), nil
}
