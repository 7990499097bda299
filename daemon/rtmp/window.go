package rtmp

import (
	"context"
	"fmt"
	"hash/fnv"
	"io"
	"net/http"
	"strconv"
	"time"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/origin"
)

// objectSizeHeader carries the object's complete length on a window. Each
// window is cached as an object of its own (a 200 of at most windowSize
// bytes): the cache does not keep an origin's 206 of an object larger than
// its MaxObjectBytes, and fetches a whole object on a miss.
const objectSizeHeader = "X-Openfront-Object-Size"

// vodPolicy is how long windows are kept: CloudFront's streaming
// distributions had no cache behaviors, only these TTLs.
var vodPolicy = cache.Policy{
	DefaultTTL: 24 * time.Hour,
	MaxTTL:     365 * 24 * time.Hour,
	ErrorTTL:   10 * time.Second,
	Cacheable:  true,
	Wait:       30 * time.Second,
}

// windowSource fetches the windows of a streaming distribution's objects
// from its s3Origin, through the node's cache when there is one.
type windowSource struct {
	f     origin.Fetcher
	cache *cache.Cache // nil: straight from the origin
	// scope starts every key: the distribution and its s3Origin, so a
	// changed origin never serves old entries.
	scope string
}

// keySep separates the fields of a window's cache key. Not NUL: the cache
// reads a key up to its first NUL as the edge's (Invalidate matches that).
const keySep = "\x1f"

func newWindowSource(f origin.Fetcher, c *cache.Cache, sd *table.StreamingDistribution) *windowSource {
	spec := fnv.New64a()
	fmt.Fprintf(spec, "%+v", sd.Spec.S3Origin)
	return &windowSource{f: f, cache: c, scope: "rtmp" + keySep + sd.ID + keySep + strconv.FormatUint(spec.Sum64(), 36) + keySep}
}

// get writes the window of path at off into w. etag, when known, is the
// object's: the origin must still have that version (If-Match), and it is
// part of the key, so one playback never mixes two versions.
func (s *windowSource) get(ctx context.Context, path, etag string, off int64, w *windowWriter) error {
	if s.cache == nil {
		resp, err := fetchWindow(ctx, s.f, path, etag, off, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		for k, vs := range resp.Header {
			w.header[k] = vs
		}
		w.WriteHeader(resp.StatusCode)
		_, err = w.ReadFrom(resp.Body)
		return err
	}
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	key := s.scope + path + keySep + etag + keySep + strconv.FormatInt(off, 10)
	res := s.cache.Serve(w, r, key, vodPolicy, func(ctx context.Context, fr cache.FetchRequest) (*http.Response, error) {
		return fetchWindow(ctx, s.f, path, etag, off, fr.Header)
	})
	if res.Status == 0 && res.Err == nil {
		return fmt.Errorf("range at %d: no answer from the cache", off)
	}
	if res.Err != nil {
		return fmt.Errorf("range at %d: %w", off, res.Err)
	}
	return nil
}

// forget drops the cached windows of path (the object changed).
func (s *windowSource) forget(path string) {
	if s.cache != nil {
		s.cache.InvalidatePrefix(s.scope + path + keySep)
	}
}

// fetchWindow asks the origin for the window at off and answers it as a
// 200 of just that window, its object's size in objectSizeHeader; other
// statuses (404, 416, 304, 412, ...) pass as they are. cond holds the
// cache's validators for a revalidation.
func fetchWindow(ctx context.Context, f origin.Fetcher, path, etag string, off int64, cond http.Header) (*http.Response, error) {
	h := http.Header{}
	for _, name := range origin.ConditionalHeaders {
		if vs, ok := cond[name]; ok {
			h[name] = vs
		}
	}
	if etag != "" {
		h.Set("If-Match", etag)
	}
	h.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+windowSize-1))
	resp, err := f.Fetch(ctx, &origin.Request{Method: http.MethodGet, Path: path, Header: h, ContentLength: -1})
	if err != nil {
		return nil, err
	}
	var size int64
	switch resp.StatusCode {
	case http.StatusPartialContent:
		size = totalSize(resp.Header.Get("Content-Range"))
		resp.Header.Del("Content-Range")
	case http.StatusOK: // the whole object: keep only the window
		size = resp.ContentLength
		if size >= 0 && off > 0 {
			if _, err := io.CopyN(io.Discard, resp.Body, min(off, size)); err != nil {
				resp.Body.Close()
				return nil, fmt.Errorf("skip to %d: %w", off, err)
			}
		}
		n := min(windowSize, max(size-off, 0))
		resp.Body = struct {
			io.Reader
			io.Closer
		}{io.LimitReader(resp.Body, n), resp.Body}
		resp.ContentLength = n
	default:
		return resp, nil
	}
	if size < 0 {
		resp.Body.Close()
		return nil, fmt.Errorf("no object size in the origin's %s", resp.Status)
	}
	resp.StatusCode, resp.Status = http.StatusOK, "200 OK"
	resp.Header.Set(objectSizeHeader, strconv.FormatInt(size, 10))
	resp.Header.Set("Content-Length", strconv.FormatInt(resp.ContentLength, 10))
	return resp, nil
}

// windowWriter is the ResponseWriter the cache answers a window into: the
// body lands in the reader's window buffer, never beyond its capacity.
type windowWriter struct {
	header http.Header
	status int
	buf    []byte
	over   bool // more than the buffer holds arrived
}

func (w *windowWriter) Header() http.Header { return w.header }

func (w *windowWriter) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *windowWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	n := min(len(p), cap(w.buf)-len(w.buf))
	w.buf = append(w.buf, p[:n]...)
	if n < len(p) {
		w.over = true
	}
	return len(p), nil
}

// ReadFrom reads straight into the window buffer.
func (w *windowWriter) ReadFrom(r io.Reader) (int64, error) {
	w.WriteHeader(http.StatusOK)
	var n int64
	for len(w.buf) < cap(w.buf) {
		k, err := r.Read(w.buf[len(w.buf):cap(w.buf)])
		w.buf = w.buf[:len(w.buf)+k]
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	extra, err := io.Copy(io.Discard, r)
	w.over = w.over || extra > 0
	return n + extra, err
}
