package node

import (
	"net"
	"sync"
	"time"
)

// batchConn gathers an HTTP/2 connection's writes and sends them in one
// system call, from a goroutine of its own that runs once the writers
// have had their turn. net/http's HTTP/2 server writes to its connection
// each time its queue of frames runs dry: with ten streams in flight that
// is one TLS record and one write(2) for each answer's headers, for its
// body, and again for its END_STREAM, and write(2) over loopback is a
// third of a 1 KiB hit's CPU. Here the records that the server's
// goroutines write while the batch's goroutine waits for its turn go out
// together, as nginx sends a connection's queued frames in one writev.
//
// It sits under TLS, so a batch holds whole records. Callers' write
// deadlines are not passed on, since a Write here returns before its
// bytes are sent: each system call of a batch has its own bound,
// stall, and a connection whose viewer leaves a batch unread that long
// is closed, as nginx's send_timeout does. Read deadlines pass through.
type batchConn struct {
	net.Conn
	stall time.Duration

	mu      sync.Mutex
	room    sync.Cond // a batch went out (or failed): writers and Close wait on it
	on      bool      // set before the connection is shared, never unset
	pending *[]byte   // what the next batch sends; nil when none, so an idle connection holds no buffer
	sending bool      // a batch goroutine runs
	err     error     // the first failure; every later Write returns it
	closeBy time.Time // set by Close: the bound on sending what is left
	cut     bool      // a failed batch closed the connection
}

// batchLimit bounds what a connection queues: past it, writers wait for
// the batch to go out, as they would wait for a full socket buffer.
const batchLimit = 256 << 10

// closeDrain bounds how long Close waits for queued bytes (the GOAWAY,
// TLS's close_notify) to reach a viewer that does not read them.
const closeDrain = time.Second

// batchBufs holds the buffers of batches: a connection takes one for
// its next batch and gives it back once the batch is sent.
var batchBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, 16<<10)
	return &b
}}

func newBatchConn(c net.Conn, stall time.Duration) *batchConn {
	b := &batchConn{Conn: c, stall: stall}
	b.room.L = &b.mu
	return b
}

// batch makes later writes go out in batches; called once the TLS
// handshake is done and the connection is HTTP/2's, before another
// goroutine has it.
func (b *batchConn) batch() { b.on = true }

func (b *batchConn) Write(p []byte) (int, error) {
	if !b.on {
		return b.Conn.Write(p)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.err == nil && b.pending != nil && len(*b.pending) >= batchLimit {
		b.room.Wait()
	}
	if b.err != nil {
		return 0, b.err
	}
	if b.pending == nil {
		b.pending = batchBufs.Get().(*[]byte)
	}
	*b.pending = append(*b.pending, p...)
	if !b.sending {
		b.sending = true
		go b.send()
	}
	return len(p), nil
}

// send writes batches until none is left.
func (b *batchConn) send() {
	b.mu.Lock()
	for b.pending != nil && b.err == nil {
		out := b.pending
		b.pending = nil
		// Under the lock, so that Close's shorter bound is not undone.
		by := b.closeBy
		if by.IsZero() && b.stall > 0 {
			by = time.Now().Add(b.stall)
		}
		if !by.IsZero() {
			b.Conn.SetWriteDeadline(by)
		}
		b.mu.Unlock()
		_, err := b.Conn.Write(*out)
		if cap(*out) <= 2*batchLimit {
			*out = (*out)[:0]
			batchBufs.Put(out)
		}
		b.mu.Lock()
		if err != nil && b.err == nil {
			b.err = err
			// The server learns of it at its next read, which fails now.
			b.Conn.Close()
			b.cut = true
		}
		b.room.Broadcast()
	}
	b.pending = nil // what a failed connection had queued is dropped
	b.sending = false
	b.room.Broadcast()
	b.mu.Unlock()
}

// SetDeadline sets the read deadline only, once batching: see the type.
func (b *batchConn) SetDeadline(t time.Time) error {
	if !b.on {
		return b.Conn.SetDeadline(t)
	}
	return b.Conn.SetReadDeadline(t)
}

// SetWriteDeadline is ignored once batching: see the type.
func (b *batchConn) SetWriteDeadline(t time.Time) error {
	if !b.on {
		return b.Conn.SetWriteDeadline(t)
	}
	return nil
}

// Close sends what is queued, waiting closeDrain at most, then closes.
func (b *batchConn) Close() error {
	if b.on {
		b.mu.Lock()
		b.closeBy = time.Now().Add(closeDrain)
		if b.sending {
			b.Conn.SetWriteDeadline(b.closeBy)
		}
		for b.sending {
			b.room.Wait()
		}
		if b.err == nil {
			b.err = net.ErrClosed
		}
		cut := b.cut
		b.mu.Unlock()
		if cut {
			return nil
		}
	}
	return b.Conn.Close()
}
