package message

import (
	"bytes"
	"strings"
	"testing"
)

// openfront
func TestCheckAMF0(t *testing.T) {
	nested := func(n int) []byte { return bytes.Repeat([]byte{0x0a, 0, 0, 0, 1}, n) }
	for _, tc := range []struct {
		name, err string
		body      []byte
	}{
		{"connect", "", []byte("\x02\x00\x07connect\x00\x3f\xf0\x00\x00\x00\x00\x00\x00\x03\x00\x03app\x02\x00\x06cfx/st\x00\x00\x09")},
		{"metadata with arrays", "", []byte("\x02\x00\x0aonMetaData\x08\x00\x00\x00\x01\x00\x01k\x0a\x00\x00\x00\x02\x05\x01\x01\x00\x00\x09")},
		{"truncated: left to go-amf0", "", []byte("\x02\x00\x10abc")},
		{"unknown marker: left to go-amf0", "", []byte("\x11\x0a\x7f\xff\xff\xff")},
		{"nesting at the limit", "", append(nested(MaxAMF0Depth-1), 0x05)},
		{"nesting past the limit", "nest deeper than 32", append(nested(MaxAMF0Depth), 0x05)},
		{"huge strict array", "announces 2147483647 elements in 0 bytes", []byte("\x0a\x7f\xff\xff\xff")},
		{"strict array one element short", "announces 3 elements in 2 bytes", []byte("\x0a\x00\x00\x00\x03\x05\x05")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckAMF0(tc.body)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Errorf("CheckAMF0: %v, want %q", err, tc.err)
			}
		})
	}
}
