package cache

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Partial content (RFC 9111 3.3, 3.4). The cache asks the origin for whole
// objects, but an origin may still answer 206: such a piece is stored, with
// the offset and complete length its Content-Range gives, when the whole
// object would fit in memory. A piece answers the range requests that fall
// wholly inside the bytes that arrived; any other request for the object
// is a miss, and a GET for the whole object then asks only for the rest
// (Range: bytes=N-) and combines it with the piece when both carry the
// same strong validator.

// ContentRangeSpan reads the range of a Content-Range "bytes
// first-last/total", whatever the total ("*" when unknown, RFC 9110
// 14.4), which it returns as written.
func ContentRangeSpan(v string) (first, last int64, total string, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes ")
	if !found {
		return 0, 0, "", false
	}
	rng, total, found := strings.Cut(strings.TrimSpace(spec), "/")
	if !found {
		return 0, 0, "", false
	}
	a, b, found := strings.Cut(rng, "-")
	if !found {
		return 0, 0, "", false
	}
	first, err1 := strconv.ParseInt(a, 10, 64)
	last, err2 := strconv.ParseInt(b, 10, 64)
	if err1 != nil || err2 != nil || first < 0 || last < first {
		return 0, 0, "", false
	}
	return first, last, total, true
}

// parseContentRange reads "bytes first-last/complete" with a known
// complete length.
func parseContentRange(v string) (first, last, complete int64, ok bool) {
	first, last, total, ok := ContentRangeSpan(v)
	if !ok {
		return 0, 0, 0, false
	}
	complete, err := strconv.ParseInt(total, 10, 64)
	if err != nil || complete <= last {
		return 0, 0, 0, false
	}
	return first, last, complete, true
}

// storablePiece says a 206 describes one range of an object of known length.
func storablePiece(h http.Header) bool {
	if strings.HasPrefix(strings.ToLower(h.Get("Content-Type")), "multipart/byteranges") {
		return false
	}
	_, _, _, ok := parseContentRange(h.Get("Content-Range"))
	return ok
}

// piece says a stored entry is a piece of its object, not all of it.
func (e *entry) piece() bool { return e.kind == kindObject && e.rep.complete > 0 }

// pieceRange is the one range r asks for when rp, a piece, can answer it:
// a plain GET (If-Range aside) whose range lies inside the bytes held.
func (rp *rep) pieceRange(r *http.Request) (byteRange, bool) {
	rs, ok := r.Header["Range"]
	if !ok || r.Method != http.MethodGet || hasConditionals(r.Header) || !ifRange(r, rp) {
		return byteRange{}, false
	}
	ranges, err := parseRange(rs[0], rp.complete)
	if err != nil || len(ranges) != 1 {
		return byteRange{}, false
	}
	br := ranges[0]
	return br, br.start >= rp.start && br.start+br.length <= rp.start+rp.size
}

// servePiece answers from a piece: the range asked for when it holds it,
// else the piece as it came (the answer to a miss).
func servePiece(w http.ResponseWriter, r *http.Request, rp *rep, res Result) Result {
	hdr := w.Header()
	off, n := int64(0), rp.size
	if br, ok := rp.pieceRange(r); ok {
		hdr["Content-Range"] = []string{br.contentRange(rp.complete)}
		hdr["Content-Length"] = []string{strconv.FormatInt(br.length, 10)}
		off, n = br.start-rp.start, br.length
	}
	res.Status = http.StatusPartialContent
	w.WriteHeader(http.StatusPartialContent)
	if r.Method == http.MethodHead {
		return res
	}
	res.BytesOut, res.Err = rp.src.copyRange(w, off, n)
	return res
}

// leadPiece stores a 206 from the origin (read whole: it is at most
// MaxObjectBytes) and answers r from it.
func (c *Cache) leadPiece(w http.ResponseWriter, r *http.Request, primary string, p Policy, resp *http.Response, cancel context.CancelFunc, cc directives, d decision, requestTime time.Time, t ticket, settle func(outcome, bool)) Result {
	defer cancel()
	first, _, complete, _ := parseContentRange(resp.Header.Get("Content-Range"))
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxObject+1))
	resp.Body.Close()
	if err != nil {
		settle(outcome{err: err}, false)
		return Result{Err: err}
	}
	now := c.now()
	header := storedHeader(resp.Header, cc)
	n := int64(len(body))
	if n == 0 || first+n > complete {
		// Not a piece of the object it claims to be: pass it on as it is.
		settle(outcome{pass: true}, false)
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return relay(w, r, p, resp, false)
	}
	// The piece is what arrived: a body shorter than its Content-Range
	// is an incomplete response (RFC 9111 3.3), whose bytes still answer
	// the ranges inside them. The viewer who asked gets the origin's
	// answer unchanged; later ones get their range, from the piece.
	if p.Compress && header.Get("Content-Encoding") != "" {
		AddVary(header, "Accept-Encoding") // as lead does for whole objects
	}
	o := outcome{key: primary, x: xMiss}
	if names := varyNames(header, p); len(names) > 0 {
		o.names, o.gen = names, c.varyMark(primary, names)
		o.key = variantKey(primary, o.gen, names, r, p)
	}
	key := o.key
	e := newObject(key, http.StatusPartialContent, header, body, cc, d, initialAge(resp.Header, requestTime, now), now, c.cfg.KeepStale)
	e.rep.start, e.rep.complete = first, complete
	c.storeUnlessInvalidated(t, func() bool { return c.putMemory(key, e) })
	o.entry = e
	settle(o, false)
	c.stats.misses.Add(1)
	res, _ := c.serveEntry(w, r, e, xMiss, missAge(resp.Header, requestTime, now))
	return res
}

// completion is the request for the rest of a stored piece that starts at
// byte 0, for a viewer who wants the whole object; nil when there is
// nothing to complete.
func (c *Cache) completion(lk string, r *http.Request) *entry {
	if r.Method != http.MethodGet {
		return nil
	}
	if _, ok := r.Header["Range"]; ok {
		return nil
	}
	e := c.mem.get(lk)
	if e == nil || !e.piece() || e.rep.start != 0 || e.rep.size >= e.rep.complete || e.rep.complete > c.maxObject {
		return nil
	}
	return e
}

// fetchRest asks for the rest of piece and returns the whole object as a
// 200, or, when the answer cannot be combined with the piece, asks again
// for the whole object.
func (c *Cache) fetchRest(ctx context.Context, fetch FetchFunc, fr FetchRequest, piece *entry) (*http.Response, error) {
	fr.Header["Range"] = []string{"bytes=" + strconv.FormatInt(piece.rep.size, 10) + "-"}
	if strongETag(piece.etag) {
		fr.Header["If-Range"] = []string{piece.etag}
	}
	resp, err := fetch(ctx, fr)
	delete(fr.Header, "Range")
	delete(fr.Header, "If-Range")
	if err != nil || resp.StatusCode != http.StatusPartialContent {
		return resp, err
	}
	if whole, ok := c.combine(piece, resp); ok {
		return whole, nil
	}
	return fetch(ctx, fr)
}

// combine joins a stored piece and the 206 for the rest of its object
// when they are the same representation: the same strong ETag (RFC 9111
// 3.4). The header is the new response's.
func (c *Cache) combine(piece *entry, resp *http.Response) (*http.Response, bool) {
	defer resp.Body.Close()
	first, last, complete, ok := parseContentRange(resp.Header.Get("Content-Range"))
	if !ok || first != piece.rep.size || last != complete-1 || complete != piece.rep.complete ||
		!strongETag(piece.etag) || resp.Header.Get("Etag") != piece.etag {
		return nil, false
	}
	rest, err := io.ReadAll(io.LimitReader(resp.Body, complete-first+1))
	if err != nil || int64(len(rest)) != complete-first {
		return nil, false
	}
	body := append(append(make([]byte, 0, complete), piece.body...), rest...)
	h := resp.Header.Clone()
	delete(h, "Content-Range")
	h["Content-Length"] = []string{strconv.FormatInt(complete, 10)}
	return &http.Response{
		Status: "200 OK", StatusCode: http.StatusOK, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: complete, Request: resp.Request,
	}, true
}

func strongETag(etag string) bool {
	return strings.HasPrefix(etag, `"`)
}
