package cache

import (
	"errors"
	"io"
	"net/http"
	"sync"
)

// stream is a response body arriving from the origin, read by every viewer
// that asked for it meanwhile. While it is kept for the memory tier
// (retain) all its bytes stay; past the size limit it stops being kept and
// holds only what its slowest reader has not read yet, at most window
// bytes: the filler then waits for the readers (backpressure), so an object
// of any size flows through in bounded memory.
type stream struct {
	mu   sync.Mutex
	cond sync.Cond
	// buf holds bytes [base, base+len(buf)).
	buf     []byte
	base    int64
	done    bool
	err     error
	retain  bool
	limit   int64 // retain stops past this many bytes
	window  int64
	readers map[*cursor]struct{}
	// overflowed is set when retain stopped for size; dropped when bytes
	// went by with no reader to take them.
	overflowed, dropped bool
	// last is the offset of the body's last byte when its length is
	// known, else -1. Readers get it only once the stream is finished,
	// after the filler stored the entry: a viewer that has its whole
	// answer and asks again finds it stored (a Hit), not a stream
	// still being stored (a Miss). The price: a viewer that kept pace
	// with the origin waits for the store, the body's copy into its blob
	// included (about 37 ms for 48 MiB).
	last int64
}

type cursor struct{ pos int64 }

var (
	errNoReaders = errors.New("no reader left")
	errDropped   = errors.New("stream bytes already dropped")
	// errBlobClosed: the entry left the cache between its lookup and
	// its answer.
	errBlobClosed = errors.New("cached body already evicted")
)

// newStream makes a stream for a body of length bytes (-1: unknown),
// retained up to limit bytes.
func newStream(length, limit, window int64) *stream {
	s := &stream{retain: true, limit: limit, window: window, readers: map[*cursor]struct{}{}, last: length - 1}
	s.cond.L = &s.mu
	if length > 0 && length <= limit {
		s.buf = make([]byte, 0, length)
	}
	return s
}

// readable is the end of the bytes readers may have now, under mu.
func (s *stream) readable() int64 {
	end := s.base + int64(len(s.buf))
	if !s.done && s.last >= 0 && end > s.last {
		return s.last // until the filler has stored the entry
	}
	return end
}

// Write appends origin bytes; it waits while readers lag a window behind
// an unretained stream, and fails once none is left.
func (s *stream) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.retain && int64(len(s.buf)+len(p)) > s.limit {
		s.retain = false
		s.overflowed = true
	}
	if !s.retain {
		for {
			if len(s.readers) == 0 {
				s.dropped = true
				return 0, errNoReaders
			}
			if s.trim() < s.window {
				break
			}
			s.cond.Wait()
		}
	}
	s.buf = append(s.buf, p...)
	s.cond.Broadcast()
	return len(p), nil
}

// trim drops the bytes every reader has read, once they are at least half
// the buffer (so the copy is amortized) and the buffer is full, and returns how many bytes the
// slowest reader has still to read.
func (s *stream) trim() int64 {
	end := s.base + int64(len(s.buf))
	low := end
	for c := range s.readers {
		low = max(min(low, c.pos), s.base)
	}
	// Nothing goes before the buffer is a window long, so the viewers
	// coalesced on this fetch can still attach at byte 0 meanwhile.
	if k := low - s.base; k > 0 && k >= int64(len(s.buf))/2 && int64(len(s.buf)) >= s.window {
		// Copy what is left so the old backing array can be freed.
		s.buf = append(make([]byte, 0, end-low+s.window/2), s.buf[k:]...)
		s.base = low
	}
	return end - low
}

func (s *stream) finish(err error) {
	s.mu.Lock()
	s.done, s.err = true, err
	s.cond.Broadcast()
	s.mu.Unlock()
}

// attach adds a reader starting at byte 0; false when those bytes are gone.
func (s *stream) attach() (*cursor, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.base > 0 || s.dropped {
		return nil, false
	}
	c := &cursor{}
	s.readers[c] = struct{}{}
	return c, true
}

func (s *stream) detach(c *cursor) {
	s.mu.Lock()
	delete(s.readers, c)
	s.cond.Broadcast()
	s.mu.Unlock()
}

// body returns the whole body when it was retained; the filler calls it
// once the origin's body has ended.
func (s *stream) body() ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf, s.retain
}

// streamSource reads a stream through one cursor.
type streamSource struct {
	s *stream
	c *cursor
}

func (r streamSource) copyRange(w io.Writer, off, n int64) (int64, error) {
	s := r.s
	end := int64(-1)
	if n >= 0 {
		end = off + n
	}
	var written int64
	pos := off
	for end < 0 || pos < end {
		s.mu.Lock()
		// A reader skipping ahead (a range) lets bytes before it go.
		if r.c.pos < pos {
			r.c.pos = pos
			s.cond.Broadcast()
		}
		if pos >= s.readable() && !s.done {
			// Caught up with the origin: send what the viewer has so far
			// before waiting for more.
			if f, ok := w.(http.Flusher); ok {
				s.mu.Unlock()
				f.Flush()
				s.mu.Lock()
			}
			for pos >= s.readable() && !s.done {
				s.cond.Wait()
			}
		}
		if pos < s.base {
			s.mu.Unlock()
			return written, errDropped
		}
		chunk := s.buf[pos-s.base : s.readable()-s.base]
		if end >= 0 && int64(len(chunk)) > end-pos {
			chunk = chunk[:end-pos]
		}
		done, err := s.done, s.err
		s.mu.Unlock()
		if len(chunk) == 0 {
			switch {
			case !done:
				continue
			case err != nil:
				return written, upstreamError{err}
			case end >= 0:
				return written, upstreamError{io.ErrUnexpectedEOF}
			}
			return written, nil
		}
		// The bytes of chunk never change: the filler only appends past
		// them, and trimming copies.
		k, werr := w.Write(chunk)
		written += int64(k)
		pos += int64(k)
		if werr != nil {
			return written, werr
		}
		s.mu.Lock()
		r.c.pos = pos
		if !s.retain {
			s.cond.Broadcast()
		}
		s.mu.Unlock()
	}
	return written, nil
}

// upstreamError marks a body that broke on the origin's side, not the
// viewer's; nil inside means the body simply ended.
type upstreamError struct{ err error }

func (e upstreamError) Error() string {
	if e.err == nil {
		return "end of body"
	}
	return "origin body: " + e.err.Error()
}

func (e upstreamError) Unwrap() error { return e.err }
