package rtmp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/yutopp/go-rtmp/handshake"
)

// TestBadInput: each kind of bad client is timed out or closed cleanly, and
// the server goes on serving: a normal play works after each.
func TestBadInput(t *testing.T) {
	m := genMedia(t)
	e := startEnv(t, "", "", func(c *Config) { c.HandshakeTimeout = time.Second; c.IdleTimeout = 2 * time.Second })
	e.s3.PutObject(t, "media", "test.flv", m.flv)
	e.s3.PutObject(t, "media", "broken.mp4", bytes.Repeat([]byte("not an mp4 "), 1000))
	e.s3.PutObject(t, "media", "broken.mp3", bytes.Repeat([]byte("not an mp3 "), 1000))

	handshaken := func(t *testing.T) net.Conn {
		c := dial(t, e.addr)
		if err := handshake.HandshakeWithServer(c, c, &handshake.Config{}); err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		name string
		// client misbehaves on a connection, then the server must close it.
		client func(t *testing.T) net.Conn
	}{
		{"garbage bytes", func(t *testing.T) net.Conn {
			c := dial(t, e.addr)
			c.Write(bytes.Repeat([]byte{0xde, 0xad, 0xbe, 0xef}, 2000))
			return c
		}},
		{"truncated handshake", func(t *testing.T) net.Conn {
			c := dial(t, e.addr)
			c.Write(append([]byte{3}, make([]byte, 700)...)) // C0 and part of C1
			return c
		}},
		{"stalled before the handshake", func(t *testing.T) net.Conn { return dial(t, e.addr) }},
		{"never sends a command", handshaken},
		{"oversized chunk size", func(t *testing.T) net.Conn {
			c := handshaken(t)
			c.Write(controlMessage(1, 0x7fffffff)) // SetChunkSize
			return c
		}},
		{"zero chunk size", func(t *testing.T) net.Conn {
			c := handshaken(t)
			c.Write(controlMessage(1, 0))
			return c
		}},
		{"oversized message length", func(t *testing.T) net.Conn {
			c := handshaken(t)
			c.Write(chunkHeader(3, 0xffffff, typeCommandAMF0))
			c.Write(make([]byte, 128))
			return c
		}},
		// go-amf0 would make([]interface{}, 2^31-1): the runtime's "out of
		// memory" is fatal, beyond any recover.
		{"AMF0 strict array of 2^31-1 elements", func(t *testing.T) net.Conn {
			c := handshaken(t)
			// connect's object {a: [...]}
			body := append(amf0Command("connect", 1), 0x03, 0, 1, 'a', 0x0a, 0x7f, 0xff, 0xff, 0xff)
			c.Write(rawMessage(3, typeCommandAMF0, 128, body))
			return c
		}},
		// Each level is a recursion of go-amf0: a million overflow the
		// goroutine's stack ("fatal error: stack overflow").
		{"AMF0 objects nested a million deep", func(t *testing.T) net.Conn {
			c := handshaken(t)
			body := append(amf0Command("connect", 1), bytes.Repeat([]byte{0x03, 0, 1, 'a'}, 1<<20-16)...)
			c.Write(controlMessage(1, 1<<20))
			c.Write(rawMessage(3, typeCommandAMF0, 1<<20, body))
			return c
		}},
		{"too many chunk streams", func(t *testing.T) net.Conn {
			c := handshaken(t)
			for cs := 3; cs < 63; cs++ {
				c.Write(chunkHeader(cs, 1000, typeCommandAMF0))
				c.Write(make([]byte, 128))
			}
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.client(t)
			start := time.Now()
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, err := io.Copy(io.Discard, c)
			if errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("the server kept the connection open for %v", time.Since(start))
			}
			normalPlay(t, e)
		})
	}

	for _, tc := range []struct{ name, host, app, stream, want, desc string }{
		{"unknown app", "tv.test", "other", "test", "NetConnection.Connect.Rejected", ""},
		{"unknown host", "nobody.test", "cfx/st", "test", "NetConnection.Connect.Rejected", ""},
		{"live on a distribution without live", "vod.test", "live", "show", "NetConnection.Connect.Rejected", ""},
		{"unknown stream", "tv.test", "cfx/st", "missing", "NetStream.Play.StreamNotFound", ""},
		{"unsupported prefix", "tv.test", "cfx/st", "id3:song", "NetStream.Play.StreamNotFound", `Unsupported stream type "id3:"`},
		{"path escape", "tv.test", "cfx/st", "../media/test", "NetStream.Play.StreamNotFound", ""},
		{"broken mp4", "tv.test", "cfx/st", "mp4:broken.mp4", "NetStream.Play.Failed", ""},
		{"not an mp3", "tv.test", "cfx/st", "mp3:broken", "NetStream.Play.Failed", "no MPEG audio Layer III frame"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(tcurl(tc.host, tc.app), "-rtmp_app", tc.app, "-rtmp_playpath", tc.stream, "-i", e.url("x/y"))
			_, _, stderr, err := decode(t, 20*time.Second, args...)
			// ffmpeg 5.1 prints the description of a play's error, not of a connect's.
			if err == nil || strings.HasPrefix(tc.want, "NetStream") && !strings.Contains(stderr, "Server error") {
				t.Errorf("ffmpeg: %v, want a server error in:\n%s", err, stderr)
			}
			if !strings.Contains(stderr, tc.desc) {
				t.Errorf("ffmpeg's error does not say %q:\n%s", tc.desc, stderr)
			}
			if !hasStatus(e.events(), tc.want) {
				t.Errorf("no event with status %s in %+v", tc.want, e.events())
			}
			normalPlay(t, e)
		})
	}
}

// normalPlay checks that the server still serves a VOD stream.
func normalPlay(t *testing.T, e *env) {
	t.Helper()
	out, stderr, err := run(t, 20*time.Second, "ffprobe", append(tcurl("tv.test", "cfx/st"),
		"-v", "error", "-show_entries", "stream=codec_name", "-of", "csv=p=0", e.url("cfx/st/test"))...)
	if err != nil || !strings.Contains(out, "h264") || !strings.Contains(out, "aac") {
		t.Fatalf("normal play after bad input: %v\n%s%s", err, out, stderr)
	}
}

func dial(t *testing.T, addr string) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// chunkHeader is a type 0 chunk header on chunk stream cs (2..63).
func chunkHeader(cs int, length uint32, typeID byte) []byte {
	b := make([]byte, 12)
	b[0] = byte(cs)
	b[4], b[5], b[6] = byte(length>>16), byte(length>>8), byte(length)
	b[7] = typeID
	return b
}

// rawMessage is a message on chunk stream cs (2..63) in chunks of chunkSize.
func rawMessage(cs int, typeID byte, chunkSize int, body []byte) []byte {
	b := chunkHeader(cs, uint32(len(body)), typeID)
	for len(body) > chunkSize {
		b = append(append(b, body[:chunkSize]...), 0xc0|byte(cs)) // type 3 header
		body = body[chunkSize:]
	}
	return append(b, body...)
}

// amf0Command is the start of an AMF0 command: its name and transaction id.
func amf0Command(name string, tid float64) []byte {
	b := binary.BigEndian.AppendUint16([]byte{0x02}, uint16(len(name)))
	b = append(b, name...)
	return binary.BigEndian.AppendUint64(append(b, 0x00), math.Float64bits(tid))
}

// controlMessage is a protocol control message with a 4-byte value.
func controlMessage(typeID byte, value uint32) []byte {
	b := chunkHeader(2, 4, typeID)
	return binary.BigEndian.AppendUint32(b, value)
}

func hasStatus(evs []Event, status string) bool {
	for _, ev := range evs {
		if ev.Status == status {
			return true
		}
	}
	return false
}
