package rtmp

// tag is one media or data message of an on-demand stream.
type tag struct {
	typeID uint8
	ts     uint32
	body   []byte
}

// source reads an on-demand stream's messages in decoding order.
type source interface {
	// next returns the next message; io.EOF at the end.
	next() (tag, error)
	// seek moves to the keyframe at or before ms and returns its time.
	seek(ms uint32) (uint32, error)
	// headers are what a player needs before media after a seek: metadata
	// and the AVC/AAC sequence headers.
	headers() []tag
}
