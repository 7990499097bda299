package rtmp

import (
	"bytes"
	"encoding/binary"

	"github.com/yutopp/go-amf0"
	rtmp "github.com/yutopp/go-rtmp"
)

// RTMP message type ids (RTMP spec 5.4, 7.1).
const (
	typeUserControl = 4
	typeAudio       = 8
	typeVideo       = 9
	typeDataAMF0    = 18
	typeCommandAMF0 = 20
)

// Chunk streams for what the server sends; the library uses 2 (protocol
// control) and 3 (command replies).
const (
	csControl = 2
	csCommand = 3
	csData    = 5
	csAudio   = 6
	csVideo   = 7
)

// User control events (RTMP spec 7.1.7).
const (
	ucStreamBegin = 0
	ucStreamEOF   = 1
	ucPingRequest = 6
)

func userControl(event uint16, value uint32) rtmp.RawMessage {
	b := make([]byte, 6)
	binary.BigEndian.PutUint16(b, event)
	binary.BigEndian.PutUint32(b[2:], value)
	return rtmp.RawMessage{ChunkStreamID: csControl, TypeID: typeUserControl, Body: b}
}

// amf0Body encodes values one after another, as commands and data messages carry them.
func amf0Body(values ...any) []byte {
	var buf bytes.Buffer
	enc := amf0.NewEncoder(&buf)
	for _, v := range values {
		if err := enc.Encode(v); err != nil {
			panic("amf0: " + err.Error()) // only fixed, encodable values are passed
		}
	}
	return buf.Bytes()
}

// onStatus is a NetStream status event for message stream sid.
func onStatus(sid uint32, level, code, desc string) rtmp.RawMessage {
	info := map[string]any{"level": level, "code": code, "description": desc}
	return rtmp.RawMessage{ChunkStreamID: csCommand, StreamID: sid, TypeID: typeCommandAMF0,
		Body: amf0Body("onStatus", 0.0, nil, info)}
}

// playComplete is the onPlayStatus data message that ends an on-demand
// stream whose last message was at ms.
func playComplete(sid, ms uint32) rtmp.RawMessage {
	info := map[string]any{"level": "status", "code": "NetStream.Play.Complete", "duration": float64(ms) / 1000}
	return rtmp.RawMessage{ChunkStreamID: csData, StreamID: sid, TypeID: typeDataAMF0, Timestamp: ms,
		Body: amf0Body("onPlayStatus", info)}
}

// sampleAccess lets Flash players read the stream's bitmap and audio data.
func sampleAccess(sid uint32) rtmp.RawMessage {
	return rtmp.RawMessage{ChunkStreamID: csData, StreamID: sid, TypeID: typeDataAMF0,
		Body: amf0Body("|RtmpSampleAccess", true, true)}
}

// mediaMessage is an audio, video or data message for message stream sid.
func mediaMessage(sid uint32, typeID uint8, ts uint32, body []byte) rtmp.RawMessage {
	cs := csData
	switch typeID {
	case typeAudio:
		cs = csAudio
	case typeVideo:
		cs = csVideo
	}
	return rtmp.RawMessage{ChunkStreamID: cs, StreamID: sid, TypeID: typeID, Timestamp: ts, Body: body}
}

// Tag body inspection (FLV spec E.4.2, E.4.3).

func isVideoKeyframe(body []byte) bool {
	return len(body) > 0 && body[0]>>4 == 1 && !isSequenceHeader(typeVideo, body)
}

// isSequenceHeader says whether body is an AVC or AAC configuration record.
func isSequenceHeader(typeID uint8, body []byte) bool {
	if len(body) < 2 {
		return false
	}
	switch typeID {
	case typeVideo:
		return body[0]&0x0f == 7 && body[1] == 0
	case typeAudio:
		return body[0]>>4 == 10 && body[1] == 0
	}
	return false
}
