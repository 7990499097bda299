package cache

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

func decode(t *testing.T, enc string, b []byte) string {
	t.Helper()
	var r io.Reader
	switch enc {
	case "":
		return string(b)
	case "gzip":
		z, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		r = z
	case "br":
		r = brotli.NewReader(bytes.NewReader(b))
	default:
		t.Fatalf("coding %q", enc)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s: %v", enc, err)
	}
	return string(out)
}

func TestCompression(t *testing.T) {
	page := strings.Repeat("<p>openfront compresses text</p>\n", 200)
	p := defaultPolicy
	p.Compress = true
	tests := []struct {
		name    string
		handler http.HandlerFunc
		ae      string
		enc     string // Content-Encoding the viewer must get
		want    string
	}{
		{"brotli preferred", text(page, "Cache-Control", "max-age=60", "Content-Type", "text/html; charset=utf-8", "ETag", `"p1"`), "gzip, deflate, br", "br", page},
		{"gzip", text(page, "Cache-Control", "max-age=60", "Content-Type", "text/html; charset=utf-8", "ETag", `"p1"`), "gzip", "gzip", page},
		{"identity", text(page, "Cache-Control", "max-age=60", "Content-Type", "text/html; charset=utf-8", "ETag", `"p1"`), "", "", page},
		{"not a compressible type", text(page, "Cache-Control", "max-age=60", "Content-Type", "image/png"), "br", "", page},
		{"too small", text("<p>hi</p>", "Cache-Control", "max-age=60", "Content-Type", "text/html"), "br", "", "<p>hi</p>"},
		{"no-transform", text(page, "Cache-Control", "max-age=60, no-transform", "Content-Type", "text/html"), "br", "", page},
		// ServingCompressedFiles: "If the Content-Length header is missing,
		// CloudFront won't compress the file" (a streamed body stays a stream).
		{"no Content-Length", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "max-age=60")
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, page[:len(page)/2])
			w.(http.Flusher).Flush()
			io.WriteString(w, page[len(page)/2:])
		}, "br", "", page},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := newHarness(t, Config{}, p, tt.handler)
			var hdr []string
			if tt.ae != "" {
				hdr = []string{"Accept-Encoding", tt.ae}
			}
			for i, x := range []string{XCacheMiss, XCacheHit} {
				w := hs.get("/c", hdr...)
				expect(t, w, 200, x, "-")
				if got := w.Header().Get("Content-Encoding"); got != tt.enc {
					t.Fatalf("request %d: Content-Encoding %q, want %q", i, got, tt.enc)
				}
				if got := decode(t, tt.enc, w.Body.Bytes()); got != tt.want {
					t.Fatalf("request %d: decoded body %q", i, trunc(got))
				}
				if tt.enc != "" {
					if !strings.Contains(w.Header().Get("Vary"), "Accept-Encoding") {
						t.Errorf("Vary %q lacks Accept-Encoding", w.Header().Get("Vary"))
					}
					if et := w.Header().Get("ETag"); et != `W/"p1"` {
						t.Errorf("ETag %q, want the weak form of the origin's", et)
					}
					if cl := w.Header().Get("Content-Length"); i == 1 && cl != fmt.Sprint(w.Body.Len()) {
						t.Errorf("stored compressed variant has Content-Length %q for %d bytes", cl, w.Body.Len())
					}
				}
				hs.waitBackground()
			}
			if n := hs.requests.Load(); n != 1 {
				t.Errorf("origin requests %d, want 1", n)
			}
		})
	}
}

// Each coding is its own variant: one origin fetch per coding, and each
// viewer gets only what it accepts.
func TestCompressionVariants(t *testing.T) {
	page := strings.Repeat("body { color: black }\n", 100)
	p := defaultPolicy
	p.Compress = true
	hs := newHarness(t, Config{}, p, text(page, "Cache-Control", "max-age=60", "Content-Type", "text/css"))
	for range 2 {
		for _, c := range []struct{ ae, enc string }{{"br", "br"}, {"gzip, deflate", "gzip"}, {"", ""}, {"deflate", ""}, {"br;q=1, gzip", "br"}} {
			var hdr []string
			if c.ae != "" {
				hdr = []string{"Accept-Encoding", c.ae}
			}
			w := hs.get("/v.css", hdr...)
			if got := w.Header().Get("Content-Encoding"); got != c.enc {
				t.Fatalf("Accept-Encoding %q: Content-Encoding %q, want %q", c.ae, got, c.enc)
			}
			if decode(t, c.enc, w.Body.Bytes()) != page {
				t.Fatalf("Accept-Encoding %q: wrong body", c.ae)
			}
			hs.waitBackground()
		}
	}
	if n := hs.requests.Load(); n != 3 {
		t.Errorf("origin requests %d, want 3 (br, gzip, identity)", n)
	}
	if ae := hs.lastSeen().Header.Get("Accept-Encoding"); ae != "identity" {
		t.Errorf("origin saw Accept-Encoding %q for the identity variant", ae)
	}
}

// A body the origin compressed is kept as it is, and never served to a
// viewer that does not accept its coding.
func TestOriginCompressed(t *testing.T) {
	var gz bytes.Buffer
	z := gzip.NewWriter(&gz)
	io.WriteString(z, strings.Repeat("origin gzip ", 200))
	z.Close()
	p := defaultPolicy
	p.Compress = true
	hs := newHarness(t, Config{}, p, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "text/plain")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			w.Write(gz.Bytes())
			return
		}
		io.WriteString(w, strings.Repeat("origin gzip ", 200))
	})
	w := hs.get("/o", "Accept-Encoding", "gzip")
	if w.Header().Get("Content-Encoding") != "gzip" || !bytes.Equal(w.Body.Bytes(), gz.Bytes()) {
		t.Errorf("origin's gzip body changed: %q", w.Header().Get("Content-Encoding"))
	}
	hs.waitBackground()
	w = hs.get("/o")
	if w.Header().Get("Content-Encoding") != "" || w.Body.String() != strings.Repeat("origin gzip ", 200) {
		t.Errorf("identity viewer got Content-Encoding %q", w.Header().Get("Content-Encoding"))
	}
}

// ServingCompressedFiles: a strong ETag becomes weak, a weak one stays, and
// an invalid one (neither '"' nor "W/" first) is removed.
func TestCompressedETag(t *testing.T) {
	page := strings.Repeat("<p>openfront compresses text</p>\n", 200)
	p := defaultPolicy
	p.Compress = true
	for _, tt := range []struct{ origin, want string }{
		{`"p1"`, `W/"p1"`},
		{`W/"p1"`, `W/"p1"`},
		{`p1`, ""},
	} {
		t.Run(tt.origin, func(t *testing.T) {
			hs := newHarness(t, Config{}, p, text(page, "Cache-Control", "max-age=60", "Content-Type", "text/html", "ETag", tt.origin))
			for _, x := range []string{XCacheMiss, XCacheHit} {
				w := hs.get("/c", "Accept-Encoding", "gzip")
				expect(t, w, 200, x, "-")
				if got := w.Header().Get("ETag"); got != tt.want || w.Header().Get("Content-Encoding") != "gzip" {
					t.Errorf("%s: ETag %q, want %q (Content-Encoding %q)", x, got, tt.want, w.Header().Get("Content-Encoding"))
				}
			}
		})
	}
}

// ServingCompressedFiles: "CloudFront compresses objects only when the HTTP
// status code of the response is 200, 403, or 404". A compressed error is a
// variant like a compressed 200.
func TestCompressionStatus(t *testing.T) {
	page := strings.Repeat("<p>not here, or not yours</p>\n", 100)
	p := defaultPolicy
	p.Compress = true
	for _, tt := range []struct {
		status int
		enc    string
	}{
		{http.StatusOK, "br"},
		{http.StatusForbidden, "br"},
		{http.StatusNotFound, "br"},
		{http.StatusGone, ""},
		{http.StatusInternalServerError, ""},
		{http.StatusMovedPermanently, ""},
	} {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			hs := newHarness(t, Config{}, p, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "max-age=60")
				w.Header().Set("Content-Type", "text/html")
				w.Header().Set("Content-Length", fmt.Sprint(len(page)))
				w.WriteHeader(tt.status)
				io.WriteString(w, page)
			})
			for i := range 2 {
				w := hs.get("/e", "Accept-Encoding", "gzip, br")
				if w.Code != tt.status {
					t.Fatalf("request %d: status %d, want %d", i, w.Code, tt.status)
				}
				if got := w.Header().Get("Content-Encoding"); got != tt.enc {
					t.Fatalf("request %d: Content-Encoding %q, want %q", i, got, tt.enc)
				}
				if got := decode(t, tt.enc, w.Body.Bytes()); got != page {
					t.Fatalf("request %d: decoded body %q", i, trunc(got))
				}
				hs.waitBackground()
			}
			// The identity viewer never gets the compressed variant.
			w := hs.get("/e")
			if got := w.Header().Get("Content-Encoding"); got != "" || w.Body.String() != page {
				t.Fatalf("identity viewer: Content-Encoding %q", got)
			}
			if n, want := hs.requests.Load(), map[bool]int64{true: 2, false: 1}[tt.enc != ""]; n != want {
				t.Errorf("origin requests %d, want %d", n, want)
			}
		})
	}
}

// ServingCompressedFiles sets no condition on caching: a response the
// cache does not keep (no-store, private, TTL 0, a request with Authorization, an
// object over MaxObjectBytes, a behavior that caches nothing) is
// compressed like one it keeps, as it streams, without a Content-Length.
func TestCompressionNotStored(t *testing.T) {
	page := strings.Repeat("<p>openfront compresses what it does not keep</p>\n", 100)
	big := strings.Repeat("<p>larger than the memory tier keeps</p>\n", 8<<10) // ~330 KB
	p := defaultPolicy
	p.Compress = true
	ttl0 := p
	ttl0.MinTTL, ttl0.DefaultTTL, ttl0.MaxTTL = 0, 0, 0
	uncached := p
	uncached.Cacheable = false
	small := Config{MaxObjectBytes: 64 << 10, StreamWindow: 64 << 10}
	tests := []struct {
		name    string
		cfg     Config
		policy  Policy
		handler http.HandlerFunc
		viewer  []string // extra request header pairs
		body    string
		enc     string // Content-Encoding a viewer of "gzip, br" gets
		fetches int64  // origin requests for the six
	}{
		{"no-store", Config{}, p, text(page, "Cache-Control", "no-store", "ETag", `"p1"`), nil, page, "br", 6},
		{"private", Config{}, p, text(page, "Cache-Control", "private, max-age=60", "ETag", `"p1"`), nil, page, "br", 6},
		{"TTL 0", Config{}, ttl0, text(page, "ETag", `"p1"`), nil, page, "br", 6},
		{"viewer Authorization", Config{}, p, text(page, "Cache-Control", "max-age=60", "ETag", `"p1"`), []string{"Authorization", "Bearer x"}, page, "br", 6},
		{"behavior caches nothing", Config{}, uncached, text(page, "Cache-Control", "max-age=60", "ETag", `"p1"`), nil, page, "br", 6},
		{"over MaxObjectBytes", small, p, text(big, "Cache-Control", "max-age=60", "ETag", `"p1"`), nil, big, "br", 6},
		{"over MaxObjectBytes, disk tier", Config{MaxObjectBytes: 64 << 10, StreamWindow: 64 << 10, Dir: "disk", DiskBytes: 8 << 20}, p, text(big, "Cache-Control", "max-age=60", "ETag", `"p1"`), nil, big, "br", 3},
		// The conditions still hold: no Content-Length, no compression.
		{"no-store without Content-Length", Config{}, p, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Content-Type", "text/html")
			io.WriteString(w, page[:len(page)/2])
			w.(http.Flusher).Flush()
			io.WriteString(w, page[len(page)/2:])
		}, nil, page, "", 6},
		{"no-store image", Config{}, p, text(page, "Cache-Control", "no-store", "Content-Type", "image/png"), nil, page, "", 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.cfg.Dir != "" {
				tt.cfg.Dir = t.TempDir()
			}
			hs := newHarness(t, tt.cfg, tt.policy, tt.handler)
			// Twice: the second request may go by a pass mark or a hit.
			for i := range 2 {
				for _, v := range []struct{ ae, enc string }{{"gzip, br", tt.enc}, {"gzip", map[bool]string{true: "gzip"}[tt.enc != ""]}, {"", ""}} {
					hdr := slices.Clone(tt.viewer)
					if v.ae != "" {
						hdr = append(hdr, "Accept-Encoding", v.ae)
					}
					w := hs.get("/n", hdr...)
					expect(t, w, 200, "", "-")
					h := w.Header()
					if got := h.Get("Content-Encoding"); got != v.enc {
						t.Fatalf("request %d, Accept-Encoding %q: Content-Encoding %q, want %q", i, v.ae, got, v.enc)
					}
					if got := decode(t, v.enc, w.Body.Bytes()); got != tt.body {
						t.Fatalf("request %d, Accept-Encoding %q: decoded body %q", i, v.ae, trunc(got))
					}
					if tt.enc == "" {
						continue
					}
					// Every coding of a compressible response varies, as in
					// the memory tier.
					if !slices.Contains(varyNames(h, Policy{}), "Accept-Encoding") {
						t.Errorf("request %d, Accept-Encoding %q: Vary %q lacks Accept-Encoding", i, v.ae, h.Values("Vary"))
					}
					wantETag, wantLen := `"p1"`, fmt.Sprint(len(tt.body))
					if v.enc != "" {
						wantETag, wantLen = `W/"p1"`, ""
						if h.Get("X-Cache") == XCacheHit {
							wantLen = fmt.Sprint(w.Body.Len()) // a stored variant knows its length
						}
					}
					if got := h.Get("ETag"); got != wantETag {
						t.Errorf("request %d, Accept-Encoding %q: ETag %q, want %q", i, v.ae, got, wantETag)
					}
					if got := h.Get("Content-Length"); got != wantLen {
						t.Errorf("request %d, Accept-Encoding %q: Content-Length %q, want %q", i, v.ae, got, wantLen)
					}
					hs.waitBackground()
				}
			}
			// Stored variants (one a coding) answer the second round.
			if n := hs.requests.Load(); n != tt.fetches {
				t.Errorf("origin requests %d, want %d", n, tt.fetches)
			}
		})
	}
}

// A body the origin cuts off while it is compressed on its way out is an
// error for the caller to reset the stream on, not an ending: no trailer
// makes the bytes sent decode as a whole body.
func TestCompressionNotStoredCutShort(t *testing.T) {
	page := strings.Repeat("<p>cut short</p>\n", 400)
	p := defaultPolicy
	p.Compress = true
	hs := newHarness(t, Config{}, p, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Content-Type", "text/html")
		w.Header().Set("Content-Length", fmt.Sprint(len(page)))
		io.WriteString(w, page[:len(page)/2])
		w.(http.Flusher).Flush()
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.Close()
	})
	r := httptest.NewRequest(http.MethodGet, "/cut", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	w := httptest.NewRecorder()
	res := hs.c.Serve(w, r, "/cut", p, hs.fetch(r))
	if res.Status != 200 || res.Err == nil || w.Header().Get("Content-Encoding") != "gzip" {
		t.Fatalf("status %d, err %v, Content-Encoding %q; want 200 gzip and an error", res.Status, res.Err, w.Header().Get("Content-Encoding"))
	}
	z, err := gzip.NewReader(bytes.NewReader(w.Body.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(z); err == nil {
		t.Error("the cut body decodes as a whole gzip stream")
	}
}

// Over a real connection the compressed answer to a no-store response
// goes chunked, and the client's transparent gzip decodes it whole.
func TestCompressionNotStoredChunked(t *testing.T) {
	page := strings.Repeat("<p>chunked on the wire</p>\n", 200)
	p := defaultPolicy
	p.Compress = true
	hs := newHarness(t, Config{}, p, text(page, "Cache-Control", "no-store"))
	edge := httptest.NewServer(http.HandlerFunc(hs.serveHTTP))
	defer edge.Close()
	resp, err := http.Get(edge.URL + "/w") // Go asks for gzip and decodes it
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if !resp.Uncompressed || string(b) != page {
		t.Errorf("uncompressed by the client %v, body %q", resp.Uncompressed, trunc(string(b)))
	}
	if !slices.Equal(resp.TransferEncoding, []string{"chunked"}) {
		t.Errorf("Transfer-Encoding %q, want chunked", resp.TransferEncoding)
	}
}

// A range request on a miss, from a viewer the cache compresses for, gets
// the whole compressed object as a 200 at once, whichever tier keeps it:
// the range of what the origin sent would be of another representation
// (identity, strong ETag) than the ranges of the stored variant that
// answer the same viewer's next requests.
func TestCompressedRangeOnMiss(t *testing.T) {
	big := strings.Repeat("<p>larger than the memory tier keeps</p>\n", 8<<10) // ~330 KB
	p := defaultPolicy
	p.Compress = true
	tiers := []struct {
		name string
		cfg  Config
	}{
		{"memory tier", Config{}},
		{"disk tier", Config{MaxObjectBytes: 64 << 10, StreamWindow: 64 << 10, Dir: "disk", DiskBytes: 8 << 20}},
	}
	requests := []struct {
		name   string
		header []string
	}{
		{"a range", []string{"Range", "bytes=0-9"}},
		{"a range and another version's tag", []string{"Range", "bytes=0-9", "If-None-Match", `W/"p0"`}},
	}
	for _, tier := range tiers {
		for _, req := range requests {
			t.Run(tier.name+", "+req.name, func(t *testing.T) {
				cfg := tier.cfg
				if cfg.Dir != "" {
					cfg.Dir = t.TempDir()
				}
				hs := newHarness(t, cfg, p, func(w http.ResponseWriter, r *http.Request) {
					w.Header().Set("Cache-Control", "max-age=60")
					w.Header().Set("ETag", `"p1"`)
					w.Header().Set("Content-Type", "text/html")
					http.ServeContent(w, r, "", time.Time{}, strings.NewReader(big))
				})
				w := hs.get("/r", append([]string{"Accept-Encoding", "gzip"}, req.header...)...)
				expect(t, w, 200, XCacheMiss, "-")
				if cr := w.Header().Get("Content-Range"); cr != "" || w.Header().Get("Content-Encoding") != "gzip" {
					t.Fatalf("miss: Content-Range %q, Content-Encoding %q; want the whole gzip object", cr, w.Header().Get("Content-Encoding"))
				}
				if decode(t, "gzip", w.Body.Bytes()) != big {
					t.Fatal("miss: the body is not the whole object")
				}
				hs.waitBackground()
				whole := hs.get("/r", "Accept-Encoding", "gzip")
				expect(t, whole, 200, XCacheHit, "-")
				w = hs.get("/r", append([]string{"Accept-Encoding", "gzip"}, req.header...)...)
				expect(t, w, 206, XCacheHit, whole.Body.String()[:10])
				if cr, want := w.Header().Get("Content-Range"), fmt.Sprintf("bytes 0-9/%d", whole.Body.Len()); cr != want {
					t.Errorf("hit: Content-Range %q, want %q", cr, want)
				}
				if n := hs.requests.Load(); n != 1 {
					t.Errorf("origin requests %d, want 1", n)
				}
			})
		}
	}
}
