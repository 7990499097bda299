package http1

import (
	"io"
	"net"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// A sender sends files on one connection with sendfile(2). It is made
// once per connection and reused by each answer: its callbacks are bound
// once, the socket's RawConn is got once and the file's is kept while
// answers send the same file, so that an answer allocates nothing (a new
// RawConn and the closures' captured state were ten allocations an
// answer, a few percent of a 100 KiB hit's CPU).
type sender struct {
	sock     syscall.RawConn
	file     *os.File // the last file sent, whose RawConn fileConn is
	fileConn syscall.RawConn
	progress func()
	control  func(uintptr)
	write    func(uintptr) bool

	// One send's arguments and results.
	src     uintptr
	head    []byte
	off, n  int64
	written int64
	moved   bool // bytes went since the last wait
	err     error
}

// newSender: c is a TCP connection, or one wrapping it, such as the
// node's connection limit does. progress is called before a wait for the
// socket that follows bytes sent: the write deadline bounds each wait,
// not the whole file.
func newSender(c syscall.Conn, progress func()) (*sender, error) {
	sc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	s := &sender{sock: sc, progress: progress}
	s.control, s.write = s.controlFile, s.writeSocket
	return s, nil
}

// send sends head, then n bytes of f from off, with explicit offsets: f's
// own offset is left alone, so a descriptor shared by concurrent answers
// is safe. head goes with MSG_MORE, so that it leaves in the body's first
// packet. It returns the bytes of f sent.
func (s *sender) send(head []byte, f *os.File, off, n int64) (int64, error) {
	if f != s.file {
		fc, err := f.SyscallConn()
		if err != nil {
			return 0, err
		}
		s.file, s.fileConn = f, fc
	}
	s.head, s.off, s.n, s.written, s.moved, s.err = head, off, n, 0, false, nil
	cerr := s.fileConn.Control(s.control) // holds f open while it sends
	written, err := s.written, s.err
	s.head, s.err = nil, nil
	if err == nil {
		err = cerr
	}
	return written, err
}

func (s *sender) controlFile(src uintptr) {
	s.src = src
	if werr := s.sock.Write(s.write); s.err == nil {
		s.err = werr
	}
}

// writeSocket is the socket's write callback: true when done or failed,
// false to wait until the socket takes more.
func (s *sender) writeSocket(dst uintptr) bool {
	for len(s.head) > 0 || s.written < s.n {
		var k int
		var err error
		if len(s.head) > 0 {
			k, err = unix.SendmsgN(int(dst), s.head, nil, nil, unix.MSG_MORE)
			s.head = s.head[max(k, 0):]
		} else {
			o := s.off + s.written
			k, err = unix.Sendfile(int(dst), int(s.src), &o, int(min(s.n-s.written, 1<<30)))
			s.written += int64(max(k, 0))
			if k == 0 && err == nil {
				err = io.ErrUnexpectedEOF // the file is shorter than said
			}
		}
		if k > 0 {
			s.moved = true
		}
		switch {
		case err == unix.EAGAIN:
			return s.wait()
		case err == unix.EINTR:
		case err != nil:
			s.err = err
			return true
		}
	}
	return true
}

// wait is the write callback's answer when the socket is full.
func (s *sender) wait() bool {
	if s.moved {
		// Bytes went since the last wait: the next one is timed anew.
		s.progress()
		s.moved = false
	}
	return false
}

// pendingInput says the client has sent bytes the kernel holds unread:
// closing the socket now would reset the connection (RFC 9112 9.6). It
// peeks without waiting; a connection that is not a socket (nor a TLS
// one over a socket) says false.
func pendingInput(nc net.Conn) bool {
	for {
		u, ok := nc.(interface{ NetConn() net.Conn })
		if !ok {
			break
		}
		nc = u.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	var pending bool
	var b [1]byte
	// Control, not Read: Read gives up without peeking when the read
	// deadline has passed, which a watcher leaves behind (watchEnd).
	raw.Control(func(fd uintptr) {
		n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
		pending = err == nil && n > 0
	})
	return pending
}
