package node

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// tcpPair is a loopback TCP connection's two ends.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// gatedConn counts its writes and holds the first until gate closes.
type gatedConn struct {
	net.Conn
	gate   chan struct{}
	writes atomic.Int32
}

func (g *gatedConn) Write(p []byte) (int, error) {
	if g.writes.Add(1) == 1 {
		<-g.gate
	}
	return g.Conn.Write(p)
}

// TestBatchConnSendsTogether: what is written while a batch is on its way
// goes out in the next one, in order: ten records, two system calls.
func TestBatchConnSendsTogether(t *testing.T) {
	server, client := tcpPair(t)
	g := &gatedConn{Conn: server, gate: make(chan struct{})}
	b := newBatchConn(g, 0)
	b.batch()
	var want strings.Builder
	wrote := make(chan error, 1)
	for i := range 10 {
		want.WriteString(fmt.Sprintf("record %d;", i))
	}
	go func() {
		for i := range 10 {
			if _, err := b.Write(fmt.Appendf(nil, "record %d;", i)); err != nil {
				wrote <- err
				return
			}
		}
		wrote <- nil
	}()
	select { // a write that waits for the held one lets it go at 1 s
	case err := <-wrote:
		close(g.gate)
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Second):
		close(g.gate)
		if err := <-wrote; err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(client)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want.String() {
		t.Errorf("the viewer read %q, want %q", got, want.String())
	}
	if n := g.writes.Load(); n > 2 {
		t.Errorf("%d system calls for 10 records written while the first was held; want 2 at most", n)
	}
}

// TestBatchConnCloseSendsQueued: Close sends what is still queued before
// it closes (an answer's last frames, the GOAWAY), and writes after it fail.
func TestBatchConnCloseSendsQueued(t *testing.T) {
	server, client := tcpPair(t)
	b := newBatchConn(server, time.Minute)
	b.batch()
	want := bytes.Repeat([]byte("0123456789abcdef"), 100<<10/16)
	if _, err := b.Write(want); err != nil {
		t.Fatal(err)
	}
	read := make(chan []byte)
	go func() {
		got, _ := io.ReadAll(client)
		read <- got
	}()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if got := <-read; !bytes.Equal(got, want) {
		t.Errorf("the viewer read %d bytes before the close, want all %d", len(got), len(want))
	}
	if _, err := b.Write([]byte("late")); err == nil {
		t.Error("a write after Close succeeded")
	}
}

// TestBatchConnUnreadViewer: a viewer that reads nothing fills the
// sockets' buffers, then the queue; the writer then waits as on a full
// socket, and is let go with an error when a batch has waited stall (the
// connection is closed), or when Close gives up after closeDrain.
func TestBatchConnUnreadViewer(t *testing.T) {
	for _, c := range []struct {
		name  string
		stall time.Duration
		close bool // Close while the writer waits
	}{
		{"a batch stalls", 300 * time.Millisecond, false},
		{"closed while stalled", 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			server, client := tcpPair(t)
			b := newBatchConn(server, c.stall)
			b.batch()
			wrote := make(chan error, 1)
			var queued atomic.Int64
			go func() {
				chunk := make([]byte, 64<<10)
				for range 1 << 12 { // 256 MiB, far past any socket buffer
					if _, err := b.Write(chunk); err != nil {
						wrote <- err
						return
					}
					queued.Add(int64(len(chunk)))
				}
				wrote <- nil
			}()
			var closed chan error
			if c.close {
				time.Sleep(300 * time.Millisecond)
				closed = make(chan error, 1)
				go func() { closed <- b.Close() }()
			}
			select {
			case err := <-wrote:
				if err == nil {
					t.Fatalf("%d bytes written to a viewer that reads nothing, without an error", queued.Load())
				}
			case <-time.After(closeDrain + 5*time.Second):
				t.Fatalf("the writer still waits after %d bytes", queued.Load())
			}
			if closed != nil {
				if err := <-closed; err != nil {
					t.Errorf("Close: %v", err)
				}
			}
			// The viewer finds the connection closed once it reads.
			client.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := io.Copy(io.Discard, client); err != nil && !strings.Contains(err.Error(), "reset") {
				t.Errorf("the viewer's read ended with %v, want the connection closed", err)
			}
		})
	}
}

// TestBatchConnIdleHoldsNoBuffer: a connection keeps no batch buffer once
// its batches are sent, so a node's idle HTTP/2 connections cost no more
// than before batching, whatever their last answers' size.
func TestBatchConnIdleHoldsNoBuffer(t *testing.T) {
	const conns = 100
	answer := make([]byte, 208<<10) // 13 records of 16 KiB
	var keep []*batchConn
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	for range conns {
		server, client := tcpPair(t)
		go io.Copy(io.Discard, client)
		b := newBatchConn(server, time.Minute)
		b.batch()
		for off := 0; off < len(answer); off += 16 << 10 { // TLS records
			if _, err := b.Write(answer[off : off+16<<10]); err != nil {
				t.Fatal(err)
			}
		}
		keep = append(keep, b)
	}
	for _, b := range keep { // each has sent its batches
		b.mu.Lock()
		for b.sending {
			b.room.Wait()
		}
		b.mu.Unlock()
	}
	runtime.GC()
	runtime.GC() // the pool's buffers go at the second
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if per := (int64(after.HeapInuse) - int64(before.HeapInuse)) / conns; per > 32<<10 {
		t.Errorf("%d KiB of heap a connection once its 208 KiB answer was sent", per>>10)
	}
	runtime.KeepAlive(keep)
}
