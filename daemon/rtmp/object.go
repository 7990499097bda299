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

	"openfront.dev/daemon/origin"
)

// errNotFound: the origin has no such object (or refuses to say).
var errNotFound = errors.New("no such object")

// windowSize is how much of an object one range request fetches.
const windowSize = 256 << 10

// objectReader reads an S3 object through its origin fetcher in ranges,
// keeping two windows (video and audio samples of an MP4 may lie far apart),
// so a 2 GB file never sits in memory.
type objectReader struct {
	ctx  context.Context
	f    origin.Fetcher
	path string // escaped, with a leading "/"
	size int64
	pos  int64
	win  [2]window
	last int // the window used most recently
}

type window struct {
	off int64
	buf []byte
}

func openObject(ctx context.Context, f origin.Fetcher, key string) (*objectReader, error) {
	r := &objectReader{ctx: ctx, f: f, path: (&url.URL{Path: "/" + key}).EscapedPath(), size: -1}
	for i := range r.win {
		r.win[i].off = -1
	}
	if _, err := r.window(0); err != nil {
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
	if err := r.fetch(w, pos); err != nil {
		return nil, err
	}
	r.last = i
	return w, nil
}

func (r *objectReader) fetch(w *window, pos int64) error {
	h := http.Header{}
	h.Set("Range", fmt.Sprintf("bytes=%d-%d", pos, pos+windowSize-1))
	resp, err := r.f.Fetch(r.ctx, &origin.Request{Method: http.MethodGet, Path: r.path, Header: h, ContentLength: -1})
	if err != nil {
		return fmt.Errorf("fetch %s: %w", r.path, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if size := totalSize(resp.Header.Get("Content-Range")); size >= 0 {
			r.size = size
		}
	case http.StatusOK: // the whole object: keep only the window
		r.size = resp.ContentLength
		if pos > 0 {
			if _, err := io.CopyN(io.Discard, resp.Body, pos); err != nil {
				return fmt.Errorf("fetch %s: %w", r.path, err)
			}
		}
	case http.StatusRequestedRangeNotSatisfiable:
		if r.size < 0 {
			r.size = 0
		}
		w.off, w.buf = pos, w.buf[:0]
		return io.EOF
	case http.StatusNotFound, http.StatusForbidden:
		return errNotFound
	default:
		return fmt.Errorf("fetch %s: origin answered %s", r.path, resp.Status)
	}
	if r.size < 0 {
		return fmt.Errorf("fetch %s: no object size in the response", r.path)
	}
	if cap(w.buf) < windowSize {
		w.buf = make([]byte, windowSize)
	}
	n, err := io.ReadFull(resp.Body, w.buf[:min(int64(windowSize), max(r.size-pos, 0))])
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("fetch %s: %w", r.path, err)
	}
	w.off, w.buf = pos, w.buf[:n]
	if n == 0 {
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
