package origin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"openfront.dev/compiler/table"
)

// LiveSource is the HLS packager as a live origin reads it (*hls.Registry):
// the current playlist and the segments of a streaming distribution's live
// stream, as immutable bytes.
type LiveSource interface {
	Playlist(distribution, name string) ([]byte, bool)
	Segment(distribution, name string, seq uint64) ([]byte, bool)
}

// Cache lifetimes: a playlist changes with every segment, a segment never
// (its sequence number is never reused).
const (
	livePlaylistCacheControl = "max-age=1"
	liveSegmentCacheControl  = "max-age=86400, immutable"
	livePlaylistName         = "index.m3u8"
)

// errNoPackager is a live origin on a node that packages no live streams.
var errNoPackager = errors.New("live origin: this node runs no live packager")

// live serves a streaming distribution's live streams as HLS. The stream
// is named by the path's last two elements, NAME/index.m3u8 and NAME/SEQ.ts,
// whatever prefix the behavior routes; with an originPath the viewer's
// path is appended to it first, so originPath "/stage" serves the stream
// "stage" at "/index.m3u8".
type live struct {
	pool   *Pool
	origin *table.Origin
}

func newLive(p *Pool, o *table.Origin) *live { return &live{pool: p, origin: o} }

func (l *live) Fetch(ctx context.Context, req *Request) (*http.Response, error) {
	src := l.pool.liveSource()
	if src == nil {
		return nil, &Error{Origin: l.origin.ID, Reason: "This edge node does not package live streams.", Err: errNoPackager}
	}
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return otherMethod(req.Method, "a live origin serves GET and HEAD only\n"), nil
	}
	name, file, ok := streamFile(l.origin.Spec.OriginPath + req.Path)
	if !ok {
		return liveNotFound(), nil
	}
	sd := l.origin.Spec.LiveOriginConfig.StreamingDistribution
	var body []byte
	hdr := http.Header{}
	if file == livePlaylistName {
		if body, ok = src.Playlist(sd, name); !ok {
			return notYetLive(), nil
		}
		hdr.Set("Content-Type", "application/vnd.apple.mpegurl")
		hdr.Set("Cache-Control", livePlaylistCacheControl)
		h := fnv.New64a()
		h.Write(body)
		hdr.Set("ETag", fmt.Sprintf(`"%x"`, h.Sum64()))
	} else {
		seq, err := strconv.ParseUint(strings.TrimSuffix(file, ".ts"), 10, 64)
		if err != nil || !strings.HasSuffix(file, ".ts") {
			return liveNotFound(), nil
		}
		if body, ok = src.Segment(sd, name, seq); !ok {
			return liveNotFound(), nil
		}
		hdr.Set("Content-Type", "video/mp2t")
		hdr.Set("Cache-Control", liveSegmentCacheControl)
		hdr.Set("ETag", fmt.Sprintf(`"%d-%x"`, seq, len(body)))
	}
	return serveBytes(ctx, req, hdr, body), nil
}

func (p *Pool) liveSource() LiveSource {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.live
}

// streamFile splits a raw path into its last two elements, unescaped.
func streamFile(raw string) (name, file string, ok bool) {
	elems := strings.Split(raw, "/")
	if len(elems) < 3 { // "", NAME, FILE at least
		return "", "", false
	}
	name, err1 := url.PathUnescape(elems[len(elems)-2])
	file, err2 := url.PathUnescape(elems[len(elems)-1])
	return name, file, err1 == nil && err2 == nil && name != "" && file != ""
}

// serveBytes answers with body through http.ServeContent: HEAD, Range and
// If-None-Match (against the ETag in hdr) come with it.
func serveBytes(ctx context.Context, req *Request, hdr http.Header, body []byte) *http.Response {
	hr, _ := http.NewRequestWithContext(ctx, req.Method, "/", nil)
	for _, h := range ConditionalHeaders {
		if v := req.Header.Get(h); v != "" {
			hr.Header.Set(h, v)
		}
	}
	w := newPipeWriter()
	for k, v := range hdr {
		w.Header()[k] = v
	}
	go func() {
		http.ServeContent(w, hr, "", time.Time{}, bytes.NewReader(body))
		w.finish()
	}()
	return w.response()
}

// liveNotFound answers for a segment that is not (or no longer) there, or
// a path that names no stream file: short-lived, though the edge keeps it
// for errorCachingMinTTL (a segment number is never reused).
func liveNotFound() *http.Response {
	resp := textResponse(http.StatusNotFound, "no such live stream or segment\n")
	resp.Header.Set("Cache-Control", livePlaylistCacheControl)
	return resp
}

// notYetLive answers for the playlist of a stream that is not live, or has
// no complete segment yet. It is not cached at all: "If the origin adds a
// Cache-Control: no-store, Cache-Control: no-cache, or
// Cache-Control: private directive for error codes 404, 410, 414, or 501,
// CloudFront doesn't cache the error response"
// (custom-error-pages-expiration.html); a max-age=1 is kept for the
// errorCachingMinTTL (10 s by default), and the node's viewers would get
// the 404 for that long after the stream started.
func notYetLive() *http.Response {
	resp := textResponse(http.StatusNotFound, "no such live stream, or no segment yet\n")
	resp.Header.Set("Cache-Control", "no-store")
	return resp
}
