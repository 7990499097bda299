package rtmp

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// netConn is the library's view of a TCP connection. It adds what go-rtmp
// lacks: a deadline for the handshake and the connect command, an idle
// timeout once connected (traffic either way counts), a write timeout, and
// byte counts for logs and metrics.
type netConn struct {
	net.Conn
	// tcp is the TCP connection under Conn, which a listener's wrapper
	// (the node's connection limit) may hide: writev and the lingering
	// close need it. nil: none.
	tcp                *net.TCPConn
	idle, writeTimeout time.Duration
	handshakeDeadline  time.Time

	connected atomic.Bool
	lastWrite atomic.Int64 // unix nanoseconds
	in, out   atomic.Int64
	// deadlineSet is when the write deadline last moved; writes are
	// serialized by go-rtmp's write lock.
	deadlineSet time.Time

	closeOnce sync.Once
	onClose   func()
}

func (c *netConn) Read(p []byte) (int, error) {
	for {
		deadline := c.handshakeDeadline
		if c.connected.Load() {
			deadline = time.Now().Add(c.idle)
		}
		if err := c.Conn.SetReadDeadline(deadline); err != nil {
			return 0, err
		}
		n, err := c.Conn.Read(p)
		c.in.Add(int64(n))
		// A player only reads now and then: data going out keeps it alive.
		if n == 0 && errors.Is(err, os.ErrDeadlineExceeded) && c.connected.Load() &&
			time.Since(time.Unix(0, c.lastWrite.Load())) < c.idle {
			continue
		}
		return n, err
	}
}

func (c *netConn) Write(p []byte) (int, error) {
	now, err := c.beforeWrite()
	if err != nil {
		return 0, err
	}
	n, err := c.Conn.Write(p)
	c.afterWrite(now, int64(n))
	return n, err
}

// WriteBuffers writes b in one writev (go-rtmp's BuffersWriter): live and
// on-demand media go out from the shared bodies, uncopied.
func (c *netConn) WriteBuffers(b *net.Buffers) (int64, error) {
	now, err := c.beforeWrite()
	if err != nil {
		return 0, err
	}
	var w io.Writer = c.Conn
	if c.tcp != nil {
		w = c.tcp // net.Buffers uses writev only on the connection itself
	}
	n, err := b.WriteTo(w)
	c.afterWrite(now, n)
	return n, err
}

// beforeWrite moves the write deadline. That costs about as much as a small
// write: move it only when a quarter of the timeout has gone (a write then
// gets 3/4 to all of WriteTimeout).
func (c *netConn) beforeWrite() (time.Time, error) {
	now := time.Now()
	if now.Sub(c.deadlineSet) > c.writeTimeout/4 {
		if err := c.Conn.SetWriteDeadline(now.Add(c.writeTimeout)); err != nil {
			return now, err
		}
		c.deadlineSet = now
	}
	return now, nil
}

func (c *netConn) afterWrite(now time.Time, n int64) {
	c.out.Add(n)
	c.lastWrite.Store(now.UnixNano())
}

// Close closes the connection once and tells the server it is gone.
func (c *netConn) Close() error {
	err := net.ErrClosed
	c.closeOnce.Do(func() {
		// Linger briefly: closing with unread input resets the connection,
		// and the client loses the rejection it was just sent.
		if tc := c.tcp; tc != nil && tc.CloseWrite() == nil {
			tc.SetReadDeadline(time.Now().Add(time.Second))
			io.Copy(io.Discard, io.LimitReader(tc, 64<<10))
		}
		err = c.Conn.Close() // the wrapper's, if any: it counts the close
		if c.onClose != nil {
			c.onClose()
		}
	})
	return err
}

// tcpConn is the TCP connection c is or wraps (as tls.Conn does, with a
// NetConn method), or nil.
func tcpConn(c net.Conn) *net.TCPConn {
	for {
		switch t := c.(type) {
		case *net.TCPConn:
			return t
		case interface{ NetConn() net.Conn }:
			c = t.NetConn()
		default:
			return nil
		}
	}
}
