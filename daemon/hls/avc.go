package hls

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// H.264 NAL unit types the packager looks at.
const (
	nalIDR = 5
	nalSPS = 7
	nalPPS = 8
	nalAUD = 9
)

// annexBStart prefixes every NAL unit in the transport stream.
var annexBStart = []byte{0, 0, 0, 1}

// audNAL is an access unit delimiter (primary_pic_type 7: any slice type);
// Apple's HLS spec asks for one at the start of each access unit.
var audNAL = []byte{0, 0, 0, 1, nalAUD, 0xf0}

// avcConfig is what the packager keeps of an AVCDecoderConfigurationRecord:
// the NAL length size and the parameter sets, already in Annex-B form so
// they are copied before each IDR frame as they are.
type avcConfig struct {
	raw        []byte // the record as sent, to tell a change from a resend
	lengthSize int
	paramSets  []byte
}

// parseAVCConfig reads an AVCDecoderConfigurationRecord (ISO 14496-15 5.2.4.1).
func parseAVCConfig(b []byte) (*avcConfig, error) {
	if len(b) < 7 || b[0] != 1 {
		return nil, errors.New("avc config: not an AVCDecoderConfigurationRecord")
	}
	c := &avcConfig{raw: b, lengthSize: int(b[4]&3) + 1}
	if c.lengthSize == 3 {
		return nil, errors.New("avc config: 3-byte NAL lengths are not allowed")
	}
	p := 5
	for _, countMask := range []byte{0x1f, 0xff} { // SPS count, then PPS count
		if p >= len(b) {
			return nil, errors.New("avc config: truncated")
		}
		n := int(b[p] & countMask)
		p++
		for range n {
			if p+2 > len(b) {
				return nil, errors.New("avc config: truncated")
			}
			l := int(binary.BigEndian.Uint16(b[p:]))
			p += 2
			if p+l > len(b) || l == 0 {
				return nil, errors.New("avc config: truncated parameter set")
			}
			c.paramSets = append(c.paramSets, annexBStart...)
			c.paramSets = append(c.paramSets, b[p:p+l]...)
			p += l
		}
	}
	if len(c.paramSets) == 0 {
		return nil, errors.New("avc config: no parameter sets")
	}
	return c, nil
}

// annexB appends the AVCC access unit au to dst in Annex-B form, led by an
// access unit delimiter, with the parameter sets before an IDR slice or a
// frame the publisher marks as a keyframe (key: an open GOP's I frame with
// a recovery point, where a segment may start too) unless the frame
// carries its own. It reports whether the frame has an IDR slice.
func (c *avcConfig) annexB(dst, au []byte, key bool) ([]byte, bool, error) {
	// A first pass finds the NAL types, so that a failure appends nothing.
	var idr, inband bool
	for p := 0; p < len(au); {
		l, err := c.nalLen(au[p:])
		if err != nil {
			return dst, false, err
		}
		p += c.lengthSize
		if l == 0 || p+l > len(au) {
			return dst, false, fmt.Errorf("avc frame: NAL unit of %d bytes overruns the frame", l)
		}
		switch au[p] & 0x1f {
		case nalIDR:
			idr = true
		case nalSPS:
			inband = true
		}
		p += l
	}
	dst = append(dst, audNAL...)
	if (idr || key) && !inband {
		dst = append(dst, c.paramSets...)
	}
	for p := 0; p < len(au); {
		l, _ := c.nalLen(au[p:])
		p += c.lengthSize
		// The publisher's own delimiters would double ours.
		if au[p]&0x1f != nalAUD {
			dst = append(dst, annexBStart...)
			dst = append(dst, au[p:p+l]...)
		}
		p += l
	}
	return dst, idr, nil
}

func (c *avcConfig) nalLen(b []byte) (int, error) {
	if len(b) < c.lengthSize {
		return 0, errors.New("avc frame: truncated NAL length")
	}
	var l int
	for _, x := range b[:c.lengthSize] {
		l = l<<8 | int(x)
	}
	return l, nil
}
