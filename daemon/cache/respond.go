package cache

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// rep is what a viewer is answered from: a stored entry or a stream still
// being filled from the origin.
type rep struct {
	status       int
	header       http.Header
	size         int64 // -1 while unknown
	etag         string
	lastModified string
	src          source
	// complete > 0 makes the body a piece of an object of complete
	// bytes, starting at byte start (a stored 206).
	start, complete int64
}

// source writes bytes [off, off+n) of a body; n < 0 means to the end. A
// stream's source waits for bytes still arriving.
type source interface {
	copyRange(w io.Writer, off, n int64) (int64, error)
}

type bytesSource []byte

func (b bytesSource) copyRange(w io.Writer, off, n int64) (int64, error) {
	end := int64(len(b))
	if n >= 0 {
		end = min(off+n, end)
	}
	if off >= end {
		return 0, nil
	}
	k, err := w.Write(b[off:end])
	return int64(k), err
}

// Shared X-Cache values: served headers point at these, full slices, so
// nothing appends into them.
var (
	xHit        = []string{XCacheHit}
	xMiss       = []string{XCacheMiss}
	xRefreshHit = []string{XCacheRefreshHit}
	xError      = []string{XCacheError}
)

func xcacheValue(x []string, status int) []string {
	if status >= 400 {
		return xError
	}
	return x
}

// ErrorAnswerField marks a response the edge made of a custom error page:
// X-Cache says Error whatever its status (a responseCode of 200), as
// CloudFront's log does: x-edge-result-type "will still contain the result
// type of the response from the origin" (custom-error-pages-response-code).
// The cache keeps it with the response and never sends it on; the edge
// removes any an origin sends.
const ErrorAnswerField = "Openfront-Error-Answer"

// errorAnswer is x, or Error for a response whose header hdr, going to
// the viewer, has ErrorAnswerField, which it removes.
func errorAnswer(hdr http.Header, x []string) []string {
	if _, ok := hdr[ErrorAnswerField]; ok {
		delete(hdr, ErrorAnswerField)
		return xError
	}
	return x
}

// ageValues are the Age values of the first ten minutes, made once, so
// most hits allocate nothing for their Age.
var ageValues = func() [][]string {
	v := make([][]string, 600)
	for i := range v {
		v[i] = []string{strconv.Itoa(i)}
	}
	return v
}()

func ageValue(secs int64) []string {
	if secs >= 0 && secs < int64(len(ageValues)) {
		return ageValues[secs]
	}
	return []string{strconv.FormatInt(secs, 10)}
}

// maxRanges bounds a multi-range request; past it the whole object is sent
// (RFC 9110 14.2 lets a server ignore such a Range).
const maxRanges = 32

// serve answers r from rep: preconditions, 304, HEAD, ranges, or the whole.
// age < 0 sends no Age header.
func serve(w http.ResponseWriter, r *http.Request, rp *rep, xcache []string, age time.Duration) Result {
	hdr := w.Header()
	for k, vs := range rp.header {
		hdr[k] = vs
	}
	x := errorAnswer(hdr, xcacheValue(xcache, rp.status))
	hdr["X-Cache"] = x
	if age >= 0 {
		hdr["Age"] = ageValue(int64(min(age, maxDelta) / time.Second))
	}
	res := Result{Status: rp.status, XCache: x[0]}
	if rp.status >= 200 && rp.status < 300 {
		switch status := preconditions(r, rp); status {
		case http.StatusNotModified:
			for _, k := range representationFields {
				delete(hdr, k)
			}
			w.WriteHeader(status)
			res.Status = status
			return res
		case http.StatusPreconditionFailed:
			for _, k := range representationFields {
				delete(hdr, k)
			}
			hdr["Content-Length"] = []string{"0"}
			w.WriteHeader(status)
			res.Status = status
			return res
		}
	}
	if rp.complete > 0 {
		return servePiece(w, r, rp, res)
	}
	if rs, ok := r.Header["Range"]; ok && rp.status == http.StatusOK && rp.size >= 0 && r.Method == http.MethodGet && ifRange(r, rp) {
		if ranges, err := parseRange(rs[0], rp.size); err == nil && len(ranges) > 0 {
			return serveRanges(w, rp, ranges, res)
		} else if err == errUnsatisfiable {
			for _, k := range representationFields {
				delete(hdr, k)
			}
			hdr["Content-Range"] = []string{"bytes */" + strconv.FormatInt(rp.size, 10)}
			hdr["Content-Length"] = []string{"0"}
			// Before the status: the header goes out with it.
			hdr["X-Cache"] = xError
			w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
			res.Status = http.StatusRequestedRangeNotSatisfiable
			res.XCache = XCacheError
			return res
		}
	}
	w.WriteHeader(rp.status)
	if r.Method == http.MethodHead || rp.status == http.StatusNoContent || rp.status == http.StatusNotModified {
		return res
	}
	n, err := rp.src.copyRange(w, 0, -1)
	res.BytesOut, res.Err = n, err
	return res
}

// representationFields describe a body that a 304, 412 or 416 does not carry.
var representationFields = []string{"Content-Length", "Content-Type", "Content-Encoding", "Content-Language", "Content-Range", "Content-Md5", "Content-Disposition", "Accept-Ranges"}

// preconditions evaluates the viewer's conditional headers in RFC 9110
// 13.2.2's order against the representation the cache would send. An
// If-Match is ignored for a representation without an ETag, as
// CloudFront: "If you do not specify an ETag value, CloudFront ignores
// subsequent If-Match or If-None-Match headers"
// (RequestAndResponseBehaviorCustomOrigin, Caching); RFC 9110 would fail
// it (an If-None-Match then matches nothing either way).
func preconditions(r *http.Request, rp *rep) int {
	if im, ok := r.Header["If-Match"]; ok && rp.etag != "" {
		if !matchETag(im, rp.etag, true) {
			return http.StatusPreconditionFailed
		}
	} else if ius, ok := r.Header["If-Unmodified-Since"]; ok { // an ignored If-Match is as absent
		lm, lmErr := http.ParseTime(rp.lastModified)
		// "A recipient MUST ignore the If-Unmodified-Since header field if
		// the resource does not have a modification date available" (RFC
		// 9110 13.1.4), as net/http's ServeContent does.
		if t, err := http.ParseTime(ius[0]); err == nil && lmErr == nil && lm.After(t) {
			return http.StatusPreconditionFailed
		}
	}
	if inm, ok := r.Header["If-None-Match"]; ok {
		if matchETag(inm, rp.etag, false) {
			return http.StatusNotModified
		}
		return 0
	}
	if ims, ok := r.Header["If-Modified-Since"]; ok {
		lm, lmErr := http.ParseTime(rp.lastModified)
		if lmErr != nil {
			// RFC 9111 4.3.2: without Last-Modified, the Date (which a
			// stored response always has) tells when it was current.
			lm, lmErr = http.ParseTime(rp.header.Get("Date"))
		}
		if t, err := http.ParseTime(ims[0]); err == nil && lmErr == nil && !lm.After(t) {
			return http.StatusNotModified
		}
	}
	return 0
}

// matchETag compares an If-Match / If-None-Match list with etag, strongly
// or weakly (RFC 9110 8.8.3.2).
func matchETag(list []string, etag string, strong bool) bool {
	for _, line := range list {
		for len(line) > 0 {
			line = strings.TrimLeft(line, " \t,")
			if line == "" {
				break
			}
			if line[0] == '*' {
				// Any current representation, with an entity-tag
				// or without (RFC 9110 13.1.1, 13.1.2).
				return true
			}
			tag, rest := scanETag(line)
			if tag == "" {
				break
			}
			line = rest
			if etag == "" {
				continue
			}
			if strong {
				if !strings.HasPrefix(tag, "W/") && !strings.HasPrefix(etag, "W/") && tag == etag {
					return true
				}
			} else if strings.TrimPrefix(tag, "W/") == strings.TrimPrefix(etag, "W/") {
				return true
			}
		}
	}
	return false
}

// scanETag reads one entity-tag at the start of s.
func scanETag(s string) (tag, rest string) {
	start := 0
	if strings.HasPrefix(s, "W/") {
		start = 2
	}
	if len(s) <= start || s[start] != '"' {
		// Not a valid entity-tag: take up to the next comma.
		if i := strings.IndexByte(s, ','); i >= 0 {
			return strings.TrimSpace(s[:i]), s[i:]
		}
		return strings.TrimSpace(s), ""
	}
	if i := strings.IndexByte(s[start+1:], '"'); i >= 0 {
		end := start + 1 + i + 1
		return s[:end], s[end:]
	}
	return "", ""
}

// ifRange says a Range applies: no If-Range, or one naming this
// representation by strong entity-tag or exact Last-Modified date.
func ifRange(r *http.Request, rp *rep) bool {
	v, ok := r.Header["If-Range"]
	if !ok {
		return true
	}
	ir := strings.TrimSpace(v[0])
	if strings.HasPrefix(ir, `"`) || strings.HasPrefix(ir, "W/") {
		return !strings.HasPrefix(ir, "W/") && !strings.HasPrefix(rp.etag, "W/") && ir == rp.etag
	}
	t, err := http.ParseTime(ir)
	lm, lmErr := http.ParseTime(rp.lastModified)
	return err == nil && lmErr == nil && t.Equal(lm)
}

type byteRange struct{ start, length int64 }

func (b byteRange) contentRange(size int64) string {
	return "bytes " + strconv.FormatInt(b.start, 10) + "-" + strconv.FormatInt(b.start+b.length-1, 10) + "/" + strconv.FormatInt(size, 10)
}

var (
	errUnsatisfiable = fmt.Errorf("range not satisfiable")
	errBadRange      = fmt.Errorf("invalid range")
)

// parseRange reads a bytes Range (RFC 9110 14.1.2). An invalid or unknown
// unit, too many ranges, or ranges that overlap or are not in ascending
// order (CloudFront's rules, RangeGETs) are ignored (errBadRange: send the
// whole); when no range overlaps the body, errUnsatisfiable.
func parseRange(s string, size int64) ([]byteRange, error) {
	spec, ok := strings.CutPrefix(strings.TrimSpace(s), "bytes=")
	if !ok {
		return nil, errBadRange
	}
	var out []byteRange
	n := 0
	for part := range strings.SplitSeq(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if n++; n > maxRanges {
			return nil, errBadRange
		}
		first, last, ok := strings.Cut(part, "-")
		if !ok {
			return nil, errBadRange
		}
		first, last = strings.TrimSpace(first), strings.TrimSpace(last)
		var br byteRange
		if first == "" {
			// suffix range: the last n bytes
			k, err := strconv.ParseInt(last, 10, 64)
			if err != nil || k < 0 {
				return nil, errBadRange
			}
			if k == 0 || size == 0 {
				continue
			}
			k = min(k, size)
			br = byteRange{size - k, k}
		} else {
			a, err := strconv.ParseInt(first, 10, 64)
			if err != nil || a < 0 {
				return nil, errBadRange
			}
			end := size - 1
			if last != "" {
				b, err := strconv.ParseInt(last, 10, 64)
				if err != nil || b < a {
					return nil, errBadRange
				}
				end = min(b, size-1)
			}
			if a >= size {
				continue
			}
			br = byteRange{a, end - a + 1}
		}
		if len(out) > 0 {
			if prev := out[len(out)-1]; br.start < prev.start+prev.length {
				// As CloudFront: ranges out of ascending order or
				// overlapping get the whole object (RFC 9110 14.2
				// lets a server ignore such a Range).
				return nil, errBadRange
			}
		}
		out = append(out, br)
	}
	if len(out) == 0 {
		return nil, errUnsatisfiable
	}
	return out, nil
}

func serveRanges(w http.ResponseWriter, rp *rep, ranges []byteRange, res Result) Result {
	hdr := w.Header()
	res.Status = http.StatusPartialContent
	if len(ranges) == 1 {
		br := ranges[0]
		hdr["Content-Range"] = []string{br.contentRange(rp.size)}
		hdr["Content-Length"] = []string{strconv.FormatInt(br.length, 10)}
		w.WriteHeader(http.StatusPartialContent)
		res.BytesOut, res.Err = rp.src.copyRange(w, br.start, br.length)
		return res
	}
	// multipart/byteranges (RFC 9110 14.6), length computed up front.
	var rb [12]byte
	rand.Read(rb[:])
	boundary := hex.EncodeToString(rb[:])
	ctype := rp.header.Get("Content-Type")
	parts := make([]string, len(ranges))
	length := int64(0)
	for i, br := range ranges {
		var b strings.Builder
		b.WriteString("\r\n--" + boundary + "\r\n")
		if ctype != "" {
			b.WriteString("Content-Type: " + ctype + "\r\n")
		}
		b.WriteString("Content-Range: " + br.contentRange(rp.size) + "\r\n\r\n")
		parts[i] = b.String()
		length += int64(len(parts[i])) + br.length
	}
	closing := "\r\n--" + boundary + "--\r\n"
	length += int64(len(closing))
	delete(hdr, "Content-Range")
	hdr["Content-Type"] = []string{"multipart/byteranges; boundary=" + boundary}
	hdr["Content-Length"] = []string{strconv.FormatInt(length, 10)}
	w.WriteHeader(http.StatusPartialContent)
	for i, br := range ranges {
		n, err := io.WriteString(w, parts[i])
		res.BytesOut += int64(n)
		if err != nil {
			res.Err = err
			return res
		}
		m, err := rp.src.copyRange(w, br.start, br.length)
		res.BytesOut += m
		if err != nil {
			res.Err = err
			return res
		}
	}
	n, err := io.WriteString(w, closing)
	res.BytesOut += int64(n)
	res.Err = err
	return res
}
