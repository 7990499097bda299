package cache

import (
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// object is a deterministic body of n bytes.
func object(n int) string {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(strconv.Itoa(i))
		b.WriteByte(' ')
	}
	return b.String()[:n]
}

func TestRanges(t *testing.T) {
	body := object(1000)
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	hs := newHarness(t, Config{}, defaultPolicy, text(body, "Cache-Control", "max-age=600", "ETag", `"v1"`, "Last-Modified", lm, "Content-Type", "text/plain"))
	hs.get("/r")
	tests := []struct {
		name         string
		header       []string
		status       int
		contentRange string
		body         string // for 206 single / 200; "" for 416
		parts        []string
	}{
		{"first 100 bytes", []string{"Range", "bytes=0-99"}, 206, "bytes 0-99/1000", body[:100], nil},
		{"suffix", []string{"Range", "bytes=-10"}, 206, "bytes 990-999/1000", body[990:], nil},
		{"open end", []string{"Range", "bytes=995-"}, 206, "bytes 995-999/1000", body[995:], nil},
		{"end past the body", []string{"Range", "bytes=998-5000"}, 206, "bytes 998-999/1000", body[998:], nil},
		{"multiple ranges", []string{"Range", "bytes=0-9, 500-509"}, 206, "", "", []string{body[:10], body[500:510]}},
		{"unsatisfiable", []string{"Range", "bytes=2000-3000"}, 416, "bytes */1000", "", nil},
		// CloudFront (RangeGETs): overlapping or descending ranges get the whole object.
		{"overlapping ranges: whole", []string{"Range", "bytes=0-9, 5-14"}, 200, "", body, nil},
		{"descending ranges: whole", []string{"Range", "bytes=500-509, 0-9"}, 200, "", body, nil},
		{"invalid range ignored", []string{"Range", "bytes=abc"}, 200, "", body, nil},
		{"other unit ignored", []string{"Range", "items=0-5"}, 200, "", body, nil},
		{"If-Range etag matches", []string{"Range", "bytes=0-4", "If-Range", `"v1"`}, 206, "bytes 0-4/1000", body[:5], nil},
		{"If-Range etag differs", []string{"Range", "bytes=0-4", "If-Range", `"v0"`}, 200, "", body, nil},
		{"If-Range weak never matches", []string{"Range", "bytes=0-4", "If-Range", `W/"v1"`}, 200, "", body, nil},
		{"If-Range date matches", []string{"Range", "bytes=0-4", "If-Range", lm}, 206, "bytes 0-4/1000", body[:5], nil},
		{"If-Range date differs", []string{"Range", "bytes=0-4", "If-Range", time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)}, 200, "", body, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := hs.get("/r", tt.header...)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			// As sent: the header when the status went out.
			sent := w.Result().Header
			want := XCacheHit
			if tt.status >= 400 {
				want = XCacheError
			}
			if got := sent.Get("X-Cache"); got != want {
				t.Errorf("X-Cache %q sent with a %d, want %q", got, tt.status, want)
			}
			if got := sent.Get("Content-Range"); got != tt.contentRange {
				t.Errorf("Content-Range %q, want %q", got, tt.contentRange)
			}
			if cl := w.Header().Get("Content-Length"); cl != "" && cl != strconv.Itoa(w.Body.Len()) {
				t.Errorf("Content-Length %s for a %d-byte body", cl, w.Body.Len())
			}
			if tt.parts != nil {
				checkMultipart(t, w.Header().Get("Content-Type"), w.Body.Bytes(), tt.parts, "text/plain")
				return
			}
			if w.Body.String() != tt.body {
				t.Errorf("body %q, want %q", trunc(w.Body.String()), trunc(tt.body))
			}
		})
	}
	if n := hs.requests.Load(); n != 1 {
		t.Errorf("origin requests %d, want 1: ranges answered from the stored object", n)
	}
}

func checkMultipart(t *testing.T, ctype string, body []byte, want []string, partType string) {
	t.Helper()
	mt, params, err := mime.ParseMediaType(ctype)
	if err != nil || mt != "multipart/byteranges" {
		t.Fatalf("Content-Type %q", ctype)
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	for i, w := range want {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatalf("part %d: %v", i, err)
		}
		if p.Header.Get("Content-Type") != partType || p.Header.Get("Content-Range") == "" {
			t.Errorf("part %d header %v", i, p.Header)
		}
		b, _ := io.ReadAll(p)
		if string(b) != w {
			t.Errorf("part %d = %q, want %q", i, b, w)
		}
	}
	if _, err := mr.NextPart(); err != io.EOF {
		t.Errorf("more parts than %d: %v", len(want), err)
	}
}

// A range request for an object not yet stored: the cache fetches the
// whole object, answers the range from it as it arrives, and stores it.
func TestRangeOnMiss(t *testing.T) {
	body := object(5000)
	hs := newHarness(t, Config{}, defaultPolicy, text(body, "Cache-Control", "max-age=600"))
	w := hs.get("/r", "Range", "bytes=100-199")
	expect(t, w, 206, XCacheMiss, body[100:200])
	if r := hs.lastSeen().Header.Get("Range"); r != "" {
		t.Errorf("origin saw Range %q, want the whole object fetched", r)
	}
	hs.waitBackground()
	expect(t, hs.get("/r"), 200, XCacheHit, body)
	expect(t, hs.get("/r", "Range", "bytes=0-1,4998-"), 206, XCacheHit, "-")
}

// A range request on a miss for a body whose length the origin does not
// give (Transfer-Encoding: chunked) gets the whole object at once, as
// CloudFront answers it (RangeGETs), rather than waiting for the whole
// body to arrive; once stored, the same range is answered from it.
func TestRangeOnMissLength(t *testing.T) {
	body := object(5000)
	tests := []struct {
		name     string
		chunked  bool
		missCode int
		missBody string
	}{
		{"known length: the range", false, 206, body[100:200]},
		{"chunked: the whole object", true, 200, body},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=600")
				if !tt.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				}
				for i := 0; i < len(body); i += 1000 {
					io.WriteString(w, body[i:i+1000])
					w.(http.Flusher).Flush()
				}
			})
			w := hs.get("/r", "Range", "bytes=100-199")
			expect(t, w, tt.missCode, XCacheMiss, tt.missBody)
			if tt.missCode == 200 && w.Header().Get("Content-Range") != "" {
				t.Errorf("Content-Range %q on the whole object", w.Header().Get("Content-Range"))
			}
			hs.waitBackground()
			expect(t, hs.get("/r", "Range", "bytes=100-199"), 206, XCacheHit, body[100:200])
		})
	}
}

// Objects over the memory tier's size limit stream through in bounded
// memory and are not stored; their ranges are fetched as ranges.
func TestLargeObjects(t *testing.T) {
	body := object(1 << 20)
	cfg := Config{MemoryBytes: 4 << 20, MaxObjectBytes: 64 << 10, StreamWindow: 64 << 10}
	t.Run("known length", func(t *testing.T) {
		hs := newHarness(t, cfg, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=600")
			w.Header().Set("ETag", `"big"`)
			http.ServeContent(w, r, "big.bin", time.Time{}, strings.NewReader(body))
		})
		expect(t, hs.get("/big"), 200, XCacheMiss, body)
		expect(t, hs.get("/big"), 200, XCacheMiss, body)
		w := hs.get("/big", "Range", "bytes=1000-1999")
		expect(t, w, 206, XCacheMiss, body[1000:2000])
		if r := hs.lastSeen().Header.Get("Range"); r != "bytes=1000-1999" {
			t.Errorf("origin saw Range %q, want the viewer's range", r)
		}
		expect(t, hs.do("HEAD", "/big"), 200, XCacheMiss, "")
		if m := hs.lastSeen().Method; m != "HEAD" {
			t.Errorf("HEAD of a large object sent %s to the origin", m)
		}
		if s := hs.c.Stats(); s.Bytes > 64<<10 {
			t.Errorf("memory tier holds %d bytes after large objects", s.Bytes)
		}
	})
	t.Run("unknown length overflows while streaming", func(t *testing.T) {
		hs := newHarness(t, cfg, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=600")
			for i := 0; i < len(body); i += 8 << 10 {
				io.WriteString(w, body[i:i+8<<10])
				w.(http.Flusher).Flush()
			}
		})
		got := storm(t, hs.edge().URL, []string{"/chunked"}, 5)
		for _, b := range got["/chunked"] {
			if b != "200 "+body {
				t.Fatalf("answer of %d bytes, want the %d-byte body", len(b)-4, len(body))
			}
		}
		hs.waitBackground()
		if s := hs.c.Stats(); s.Bytes > 64<<10 {
			t.Errorf("memory tier holds %d bytes after an overflowing object", s.Bytes)
		}
		// Marked large: the next request streams through too.
		expect(t, hs.get("/chunked"), 200, XCacheMiss, body)
	})
}

// An origin body that breaks midway is not stored, and the cache says
// so in its Result (the status went out, then Err) rather than panicking:
// the caller logs the request, then resets the viewer's stream. As well
// for a body streamed while it is stored as for one relayed unstored.
func TestBrokenBodyNotStored(t *testing.T) {
	for _, cc := range []string{"max-age=600", "no-store"} {
		t.Run(cc, func(t *testing.T) {
			hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", cc)
				w.Header().Set("Content-Length", "100")
				io.WriteString(w, "only part")
			})
			r := httptest.NewRequest("GET", "/broken", nil)
			w := httptest.NewRecorder()
			res := hs.c.Serve(w, r, r.URL.RequestURI(), hs.policy, hs.fetch(r))
			if _, upstream := errors.AsType[upstreamError](res.Err); res.Status != http.StatusOK || !upstream || res.BytesOut != int64(len("only part")) {
				t.Errorf("result %+v; want status 200, the origin's error, the %d bytes sent", res, len("only part"))
			}
			hs.waitBackground()
			hs.setHandler(text("whole", "Cache-Control", "max-age=600"))
			expect(t, hs.get("/broken"), 200, XCacheMiss, "whole")
		})
	}
}

// Under a pass mark (a large object, or one the origin last said not to
// keep) the origin sees the viewer's own preconditions; its 412 to them,
// even with a max-age (Go's ServeContent keeps the handler's
// Cache-Control), answers that viewer alone: the next viewer gets the
// object, not the 412.
func TestViewerPreconditionFailedNotStored(t *testing.T) {
	body := object(1 << 20)
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	serveObject := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=600")
			w.Header().Set("ETag", `"v1"`)
			http.ServeContent(w, r, "object.bin", lm, strings.NewReader(body))
		}
	}
	cfg := Config{MemoryBytes: 4 << 20, MaxObjectBytes: 64 << 10, StreamWindow: 64 << 10}
	tests := []struct {
		name       string
		first      http.HandlerFunc // answers the first request, which sets the pass mark
		body       string
		conditions []string
	}{
		{"large object, If-Match", serveObject(body), body, []string{"If-Match", `"v0"`}},
		{"large object, If-Unmodified-Since", serveObject(body), body, []string{"If-Unmodified-Since", lm.Add(-time.Hour).Format(http.TimeFormat)}},
		{"large object, a range and If-Match", serveObject(body), body, []string{"Range", "bytes=0-9", "If-Match", `"v0"`}},
		{"no-store before, If-Match", text("small", "Cache-Control", "no-store"), "small", []string{"If-Match", `"v0"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, cfg, defaultPolicy, tt.first)
			expect(t, hs.get("/o"), 200, XCacheMiss, "-")
			hs.setHandler(serveObject(tt.body))
			expect(t, hs.get("/o", tt.conditions...), http.StatusPreconditionFailed, "", "-")
			hs.waitBackground()
			expect(t, hs.get("/o"), 200, "", tt.body)
		})
	}
}

// A range request whose answer turns out not to be kept (no-store,
// private) was fetched whole, the origin not seeing the range: the cache
// answers the range itself from the body as it passes, as it would from
// a stored object (RangeGETs: the viewer gets "the requested range"), not
// the whole object as a 200. Later requests under the pass mark send the
// range to the origin.
func TestRangeOfUnkeptAnswer(t *testing.T) {
	body := object(5000)
	lm := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Format(http.TimeFormat)
	tests := []struct {
		name         string
		header       []string
		status       int
		contentRange string
		body         string // "" for a 416
		parts        []string
	}{
		{"one range", []string{"Range", "bytes=100-199"}, 206, "bytes 100-199/5000", body[100:200], nil},
		{"suffix", []string{"Range", "bytes=-10"}, 206, "bytes 4990-4999/5000", body[4990:], nil},
		{"two ranges", []string{"Range", "bytes=0-9, 4000-4009"}, 206, "", "", []string{body[:10], body[4000:4010]}},
		{"past the end", []string{"Range", "bytes=9000-"}, 416, "bytes */5000", "", nil},
		{"descending: whole", []string{"Range", "bytes=500-509, 0-9"}, 200, "", body, nil},
		{"If-Range matches", []string{"Range", "bytes=0-4", "If-Range", `"v1"`}, 206, "bytes 0-4/5000", body[:5], nil},
		{"If-Range differs: whole", []string{"Range", "bytes=0-4", "If-Range", lm}, 200, "", body, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, Config{}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "no-store")
				w.Header().Set("ETag", `"v1"`)
				w.Header().Set("Content-Type", "application/octet-stream")
				http.ServeContent(w, r, "", time.Time{}, strings.NewReader(body))
			})
			w := hs.get("/r", tt.header...)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			if got := w.Header().Get("Content-Range"); got != tt.contentRange {
				t.Errorf("Content-Range %q, want %q", got, tt.contentRange)
			}
			if cl := w.Header().Get("Content-Length"); cl != "" && cl != strconv.Itoa(w.Body.Len()) {
				t.Errorf("Content-Length %s for a %d-byte body", cl, w.Body.Len())
			}
			if tt.parts != nil {
				checkMultipart(t, w.Header().Get("Content-Type"), w.Body.Bytes(), tt.parts, "application/octet-stream")
			} else if w.Body.String() != tt.body {
				t.Errorf("body %q, want %q", trunc(w.Body.String()), trunc(tt.body))
			}
			if r := hs.lastSeen().Header.Get("Range"); r != "" {
				t.Errorf("origin saw Range %q on the first request", r)
			}
			// Under the pass mark the origin answers the range itself.
			expect(t, hs.get("/r", "Range", "bytes=100-199"), 206, XCacheMiss, body[100:200])
			if r := hs.lastSeen().Header.Get("Range"); r != "bytes=100-199" {
				t.Errorf("origin saw Range %q under the pass mark", r)
			}
		})
	}
}

// TestRangeOfLargeUnkeptAnswer: a range of an answer not kept that is
// larger than the cache keeps is the origin's to cut, on the first request
// too: cut here, every byte before it would come through first (a video
// seek near the end of a no-store file waited for the whole file).
func TestRangeOfLargeUnkeptAnswer(t *testing.T) {
	body := object(64 << 10)
	hs := newHarness(t, Config{MaxObjectBytes: 16 << 10}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "", time.Time{}, strings.NewReader(body))
	})
	for i := range 2 {
		expect(t, hs.get("/big", "Range", "bytes=-10"), 206, XCacheMiss, body[len(body)-10:])
		if r := hs.lastSeen().Header.Get("Range"); r != "bytes=-10" {
			t.Errorf("request %d: the origin was last asked with Range %q, want the viewer's", i+1, r)
		}
	}
}
