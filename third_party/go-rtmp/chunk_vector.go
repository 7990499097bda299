// openfront: this file is openfront's, not upstream's (same licence).

package rtmp

import (
	"io"
	"net"
)

// BuffersWriter is implemented by a connection that writes several buffers
// in one system call (writev), such as a wrapper around *net.TCPConn that
// calls (*net.Buffers).WriteTo on it. WriteRaw then sends message bodies
// straight from where they are instead of copying them into the write
// buffer: in a 200-player fan-out that copy was a fifth of the CPU.
type BuffersWriter interface {
	WriteBuffers(b *net.Buffers) (int64, error)
}

// smallBody is copied next to its chunk header rather than given its own
// buffer: a separate iovec costs more than copying a short body.
const smallBody = 1024

// chunkSink receives a message's chunks from writeMessage: headers through
// Write, then each chunk's body.
type chunkSink interface {
	io.Writer
	body(p []byte) error
}

// bufferedSink copies everything into the write buffer (upstream's way).
type bufferedSink struct{ w *ChunkStreamerWriter }

func (s bufferedSink) Write(p []byte) (int, error) { return s.w.Write(p) }
func (s bufferedSink) body(p []byte) error {
	_, err := s.w.Write(p)
	return err
}

// vectorSink gathers a batch as buffers for one writev: headers and small
// bodies in an arena, large bodies by reference. Guarded by the write lock.
type vectorSink struct {
	arena []byte
	runAt int // start of the arena bytes not yet in a segment
	segs  []segment
	bufs  [][]byte
	nb    net.Buffers // what WriteBuffers consumes (a field: no allocation)
}

// segment is arena[start:end] followed by ext (nil: none).
type segment struct {
	start, end int
	ext        []byte
}

func (s *vectorSink) Write(p []byte) (int, error) {
	s.arena = append(s.arena, p...)
	return len(p), nil
}

func (s *vectorSink) body(p []byte) error {
	if len(p) < smallBody {
		s.arena = append(s.arena, p...)
		return nil
	}
	s.segs = append(s.segs, segment{s.runAt, len(s.arena), p})
	s.runAt = len(s.arena)
	return nil
}

// flush writes what was gathered with w and empties the sink.
func (s *vectorSink) flush(w BuffersWriter) error {
	s.segs = append(s.segs, segment{s.runAt, len(s.arena), nil})
	for _, g := range s.segs {
		if g.end > g.start {
			s.bufs = append(s.bufs, s.arena[g.start:g.end])
		}
		if g.ext != nil {
			s.bufs = append(s.bufs, g.ext)
		}
	}
	s.nb = s.bufs
	_, err := w.WriteBuffers(&s.nb)
	s.nb = nil
	for i := range s.bufs { // drop the references to shared bodies
		s.bufs[i] = nil
	}
	s.arena, s.runAt, s.segs, s.bufs = s.arena[:0], 0, s.segs[:0], s.bufs[:0]
	return err
}
