package rtmp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

var (
	// errNotFound: the origin has no such object (or refuses to say).
	errNotFound = errors.New("no such object")
	// errChanged: the object changed while it was being played.
	errChanged = errors.New("object changed during playback")
)

// windowSize is how much of an object one range request fetches. Windows
// start at multiples of it, so every player of an object asks for (and the
// cache keeps) the same ranges.
const windowSize = 256 << 10

// objectReader reads an S3 object in windows, keeping two (video and audio
// samples of an MP4 may lie far apart), so a 2 GB file never sits in memory.
type objectReader struct {
	ctx  context.Context
	src  *windowSource
	path string // escaped, with a leading "/"
	size int64
	// etag is the first window's: later windows must be of the same object.
	etag string
	pos  int64
	win  [2]window
	last int // the window used most recently
}

type window struct {
	off int64 // -1: empty
	buf []byte
}

func openObject(ctx context.Context, src *windowSource, key string) (*objectReader, error) {
	r := &objectReader{ctx: ctx, src: src, path: (&url.URL{Path: "/" + key}).EscapedPath(), size: -1}
	for i := range r.win {
		r.win[i].off = -1
	}
	if _, err := r.window(0); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	return r, nil
}

func (r *objectReader) Read(p []byte) (int, error) {
	if r.pos >= r.size {
		return 0, io.EOF
	}
	w, err := r.window(r.pos)
	if err != nil {
		return 0, err
	}
	n := copy(p, w.buf[r.pos-w.off:])
	r.pos += int64(n)
	return n, nil
}

func (r *objectReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.size
	}
	if offset < 0 {
		return 0, errors.New("seek before the start of the object")
	}
	r.pos = offset
	return offset, nil
}

// window returns a window holding pos, fetching it if needed.
func (r *objectReader) window(pos int64) (*window, error) {
	for i := range r.win {
		if w := &r.win[i]; w.off >= 0 && pos >= w.off && pos < w.off+int64(len(w.buf)) {
			r.last = i
			return w, nil
		}
	}
	i := 1 - r.last
	w := &r.win[i]
	if err := r.fetch(w, pos-pos%windowSize); err != nil {
		return nil, err
	}
	r.last = i
	return w, nil
}

// fetch fills w with the window at off.
func (r *objectReader) fetch(w *window, off int64) error {
	if cap(w.buf) < windowSize {
		w.buf = make([]byte, 0, windowSize)
	}
	w.off = -1
	ww := &windowWriter{header: http.Header{}, buf: w.buf[:0]}
	err := r.src.get(r.ctx, r.path, r.etag, off, ww)
	w.buf = ww.buf
	if err != nil {
		return fmt.Errorf("fetch %s: %w", r.path, err)
	}
	switch ww.status {
	case http.StatusOK:
	case http.StatusRequestedRangeNotSatisfiable: // past the end
		if r.size < 0 {
			r.size = max(totalSize(ww.header.Get("Content-Range")), 0)
		}
		return io.EOF
	case http.StatusNotFound, http.StatusForbidden:
		return errNotFound
	case http.StatusPreconditionFailed:
		r.src.forget(r.path)
		return fmt.Errorf("fetch %s: %w", r.path, errChanged)
	default:
		return fmt.Errorf("fetch %s: origin answered %d", r.path, ww.status)
	}
	size, err := strconv.ParseInt(ww.header.Get(objectSizeHeader), 10, 64)
	if err != nil {
		return fmt.Errorf("fetch %s: no object size in the response", r.path)
	}
	// A short window would be asked for again and again: refuse it.
	if want := min(windowSize, max(size-off, 0)); ww.over || int64(len(ww.buf)) != want {
		return fmt.Errorf("fetch %s: range at %d has %d bytes, want %d", r.path, off, len(ww.buf), want)
	}
	switch etag := ww.header.Get("ETag"); {
	case off == 0:
		r.etag = etag
	case etag != r.etag: // an origin that ignores If-Match
		r.src.forget(r.path)
		return fmt.Errorf("fetch %s: %w", r.path, errChanged)
	}
	r.size = size
	w.off = off
	if len(w.buf) == 0 {
		return io.EOF
	}
	return nil
}

// totalSize is the complete length in a Content-Range "bytes a-b/size", or -1.
func totalSize(cr string) int64 {
	_, size, ok := strings.Cut(cr, "/")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil {
		return -1
	}
	return n
}
