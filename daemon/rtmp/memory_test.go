package rtmp

import (
	"context"
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
		waitRead(t, srv, sent+handshakeBytes)
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

// handshakeBytes is what a client sends in the handshake: C0, C1 and C2.
const handshakeBytes = 1 + 1536 + 1536

func heapAlloc() int64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// waitRead waits until the server's connections have read n bytes in all.
func waitRead(t *testing.T, srv *Server, n int64) {
	t.Helper()
	for range 3000 {
		var in int64
		srv.mu.Lock()
		for ss := range srv.sessions {
			in += ss.nc.in.Load()
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

// TestShutdownClosesIdle: Shutdown closes connections that are silent, stalled
// mid-handshake or connected and idle, well before their timeouts.
func TestShutdownClosesIdle(t *testing.T) {
	srv, addr := startBareServer(t, func(c *Config) { c.HandshakeTimeout, c.IdleTimeout = time.Hour, time.Hour })
	silent := dial(t, addr)
	half := dial(t, addr)
	half.Write(append([]byte{3}, make([]byte, 700)...))
	connected := dial(t, addr)
	if err := handshake.HandshakeWithServer(connected, connected, &handshake.Config{}); err != nil {
		t.Fatal(err)
	}
	connected.Write(fuzzSeeds()[0][1:200])
	waitRead(t, srv, 701+handshakeBytes+199)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for _, c := range []net.Conn{silent, half, connected} {
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.Copy(io.Discard, c); errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("%v is still open after Shutdown", c.LocalAddr())
		}
	}
}
