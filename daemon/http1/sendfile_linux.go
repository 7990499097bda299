package http1

import (
	"io"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// sendFile sends head, then n bytes of f from off with sendfile(2) and
// explicit offsets (c is a TCP connection, or one wrapping it, such as
// the node's connection limit does): f's own offset is left alone, so a descriptor shared
// by concurrent answers is safe. head goes with MSG_MORE, so that it
// leaves in the body's first packet. progress is called before a wait
// for the socket that follows bytes sent: the write deadline bounds each
// wait, not the whole file. It returns the bytes of f sent.
func sendFile(c syscall.Conn, head []byte, f *os.File, off, n int64, progress func()) (int64, error) {
	sc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	fc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var written int64
	var serr error
	cerr := fc.Control(func(src uintptr) {
		moved := false
		// wait is the callback's answer when the socket is full.
		wait := func() bool {
			if moved {
				// Bytes went since the last wait: the next one is timed anew.
				progress()
				moved = false
			}
			return false
		}
		werr := sc.Write(func(dst uintptr) bool {
			for len(head) > 0 {
				k, err := unix.SendmsgN(int(dst), head, nil, nil, unix.MSG_MORE)
				if k > 0 {
					head = head[k:]
					moved = true
				}
				switch {
				case err == unix.EAGAIN:
					return wait()
				case err == unix.EINTR:
				case err != nil:
					serr = err
					return true
				}
			}
			for written < n {
				o := off + written
				k, err := unix.Sendfile(int(dst), int(src), &o, int(min(n-written, 1<<30)))
				if k > 0 {
					written += int64(k)
					moved = true
				}
				switch {
				case err == unix.EAGAIN:
					return wait() // until the socket takes more
				case err == unix.EINTR:
				case err != nil:
					serr = err
					return true
				case k == 0:
					serr = io.ErrUnexpectedEOF // the file is shorter than said
					return true
				}
			}
			return true
		})
		if serr == nil {
			serr = werr
		}
	})
	if serr == nil {
		serr = cerr
	}
	return written, serr
}
