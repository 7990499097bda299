package rtmp

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/yutopp/go-rtmp/handshake"
)

// TestPeerMemory: however many chunk streams a peer uses (32 with the
// control stream, MaxChunkStreams), what its
// messages make the server hold stays near MaxMessageSize per connection.
func TestPeerMemory(t *testing.T) {
	const maxMsg = 4 << 20 // the default MaxMessageSize
	srv, addr := startBareServer(t, func(c *Config) { c.HandshakeTimeout = time.Minute; c.Log = testLogger(t) })
	body := make([]byte, maxMsg)
	start := func(t *testing.T) net.Conn {
		c := dial(t, addr)
		c.SetDeadline(time.Now().Add(time.Minute))
		if err := handshake.HandshakeWithServer(c, c, &handshake.Config{}); err != nil {
			t.Fatal(err)
		}
		c.Write(controlMessage(1, 1<<20)) // SetChunkSize: 1 MiB chunks
		return c
	}

	t.Run("a finished message on every chunk stream", func(t *testing.T) {
		c := start(t)
		before := heapAlloc()
		var sent int64
		for cs := 3; cs < 3+31; cs++ {
			// Audio before connect: passed over, never read.
			n, _ := c.Write(rawMessage(cs, typeAudio, 1<<20, body))
			sent += int64(n)
		}
		waitRead(t, srv, sent)
		grown := heapAlloc() - before
		t.Logf("heap after 31 messages of 4 MiB: %d MiB more", grown>>20)
		if grown > 16<<20 {
			t.Errorf("the server holds %d MiB for one connection's finished messages", grown>>20)
		}
	})

	t.Run("an unfinished message on every chunk stream", func(t *testing.T) {
		c := start(t)
		go func() {
			for cs := 3; cs < 3+31; cs++ {
				// 3 of the 4 chunks: the last one's type 3 header and body are left out.
				m := rawMessage(cs, typeAudio, 1<<20, body)
				if _, err := c.Write(m[:len(m)-1-1<<20]); err != nil {
					return // closed by the server
				}
			}
		}()
		_, err := io.Copy(io.Discard, c)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("the server held 31 unfinished messages of 3 MiB (heap %d MiB) and kept the connection", heapAlloc()>>20)
		}
	})
}

func heapAlloc() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// waitRead waits until the server's connections have read n bytes after the
// handshake (C0, C1 and C2: 3073 bytes).
func waitRead(t *testing.T, srv *Server, n int64) {
	t.Helper()
	for range 3000 {
		var in int64
		srv.mu.Lock()
		for ss := range srv.sessions {
			in += ss.nc.in.Load() - 3073
		}
		srv.mu.Unlock()
		if in >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	srv.mu.Lock()
	open := len(srv.sessions)
	srv.mu.Unlock()
	t.Fatalf("the server did not read the %d bytes sent (%d connections open)", n, open)
}
