// Package rtmptest is a minimal RTMP player for tests and benchmarks: just
// enough of the protocol (handshake, connect, createStream, play or publish,
// media, commands such as pause and seek) to drive a server and see what it
// sends, cheaper than an ffmpeg process per player.
package rtmptest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/yutopp/go-amf0"
	rtmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/handshake"
	"github.com/yutopp/go-rtmp/message"
)

// Player is one RTMP connection with one stream created.
type Player struct {
	conn     net.Conn
	cs       *rtmp.ChunkStreamer
	StreamID uint32
}

// Dial connects to hostport as a player of app (tcURL names the host the
// server routes by) and creates a stream; the whole exchange must fit in
// timeout, which also bounds every later read.
func Dial(hostport, app, tcURL string, timeout time.Duration) (*Player, error) {
	c, err := net.Dial("tcp", hostport)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(timeout))
	if err := handshake.HandshakeWithServer(c, c, &handshake.Config{}); err != nil {
		c.Close()
		return nil, fmt.Errorf("handshake: %w", err)
	}
	p := &Player{conn: c, cs: rtmp.NewChunkStreamer(bufio.NewReaderSize(c, 64<<10), bufio.NewWriter(c), nil)}
	if err := p.Command(0, "connect", 1, map[string]any{"app": app, "tcUrl": tcURL, "flashVer": "LNX 9,0,124,2",
		"capabilities": 15.0, "audioCodecs": 4071.0, "videoCodecs": 252.0, "videoFunction": 1.0}); err != nil {
		c.Close()
		return nil, err
	}
	if err := p.Command(0, "createStream", 2, nil); err != nil {
		c.Close()
		return nil, err
	}
	for {
		m, _, err := p.Next()
		if err != nil {
			c.Close()
			return nil, err
		}
		cmd, ok := m.(*message.CommandMessage)
		if !ok {
			continue
		}
		args := Args(cmd)
		switch {
		case cmd.CommandName == "_error":
			c.Close()
			return nil, fmt.Errorf("server refused: %v", args)
		case cmd.CommandName == "_result" && cmd.TransactionID == 2 && len(args) == 2:
			sid, _ := args[1].(float64)
			p.StreamID = uint32(sid)
			return p, nil
		}
	}
}

// Play asks for stream on the created stream; start is in milliseconds
// (-1000: live, 0: on demand from the start).
func (p *Player) Play(stream string, start float64) error {
	return p.Command(p.StreamID, "play", 0, nil, stream, start)
}

// Publish publishes name (NAME?key=SECRET for a live stream) on the created
// stream and waits for NetStream.Publish.Start.
func (p *Player) Publish(name string) error {
	if err := p.Command(p.StreamID, "publish", 0, nil, name, "live"); err != nil {
		return err
	}
	for {
		m, _, err := p.Next()
		if err != nil {
			return err
		}
		switch code := Status(m); {
		case code == "NetStream.Publish.Start":
			return nil
		case strings.HasPrefix(code, "NetStream.Publish."):
			return fmt.Errorf("server refused: %s", code)
		}
	}
}

// Media sends an audio (typeID 8) or video (9) message, an FLV tag body, at ts ms.
func (p *Player) Media(typeID uint8, ts uint32, body []byte) error {
	var m message.Message = &message.VideoMessage{Payload: bytes.NewReader(body)}
	if typeID == 8 {
		m = &message.AudioMessage{Payload: bytes.NewReader(body)}
	}
	return p.cs.Write(context.Background(), 4+int(typeID)%2, ts, &rtmp.ChunkMessage{StreamID: p.StreamID, Message: m})
}

// Command sends an AMF0 command with its arguments.
func (p *Player) Command(sid uint32, name string, txn int64, args ...any) error {
	var body bytes.Buffer
	enc := amf0.NewEncoder(&body)
	for _, a := range args {
		if err := enc.Encode(a); err != nil {
			return err
		}
	}
	return p.cs.Write(context.Background(), 3, 0, &rtmp.ChunkMessage{StreamID: sid, Message: &message.CommandMessage{
		CommandName: name, TransactionID: txn, Encoding: message.EncodingTypeAMF0, Body: &body}})
}

// Next returns the next message and its timestamp (ms). The server's chunk
// size is applied; a command's body is read into memory, so Args works on it.
func (p *Player) Next() (message.Message, uint32, error) {
	var cm rtmp.ChunkMessage
	_, ts, err := p.cs.Read(&cm)
	if err != nil {
		return nil, 0, err
	}
	switch m := cm.Message.(type) {
	case *message.SetChunkSize:
		p.cs.PeerState().SetChunkSize(m.ChunkSize)
	case *message.CommandMessage:
		b, _ := io.ReadAll(m.Body)
		m.Body = bytes.NewReader(b)
	case *message.DataMessage:
		b, _ := io.ReadAll(m.Body)
		m.Body = bytes.NewReader(b)
	}
	return cm.Message, ts, nil
}

// SetDeadline bounds the reads and writes to come.
func (p *Player) SetDeadline(t time.Time) error { return p.conn.SetDeadline(t) }

// Close ends the connection.
func (p *Player) Close() error { return p.conn.Close() }

// Args decodes a command's AMF0 arguments (after Next, which buffers them).
func Args(m *message.CommandMessage) []any {
	r, ok := m.Body.(*bytes.Reader)
	if !ok {
		return nil
	}
	r.Seek(0, io.SeekStart)
	d := amf0.NewDecoder(r)
	var args []any
	for {
		var v any
		if err := d.Decode(&v); err != nil {
			return args
		}
		args = append(args, v)
	}
}

// PlayStatus is the info object of an onPlayStatus data message
// ({code: "NetStream.Play.Complete", ...}), or nil.
func PlayStatus(m message.Message) map[string]any {
	dm, ok := m.(*message.DataMessage)
	if !ok || dm.Name != "onPlayStatus" {
		return nil
	}
	r, ok := dm.Body.(*bytes.Reader)
	if !ok {
		return nil
	}
	r.Seek(0, io.SeekStart)
	var v any
	if err := amf0.NewDecoder(r).Decode(&v); err != nil {
		return nil
	}
	info, _ := v.(map[string]any)
	return info
}

// Status is the code of an onStatus command ("NetStream.Play.Start"), or "".
func Status(m message.Message) string {
	cmd, ok := m.(*message.CommandMessage)
	if !ok || cmd.CommandName != "onStatus" {
		return ""
	}
	for _, a := range Args(cmd) {
		if obj, ok := a.(map[string]any); ok {
			if code, ok := obj["code"].(string); ok {
				return code
			}
		}
	}
	return ""
}
