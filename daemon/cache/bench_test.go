package cache

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The hit path against a bare handler writing the same response (same
// header fields, same body) from memory: the ceiling for a Go server.
//
//	go test -run ^$ -bench Hit -benchmem ./daemon/cache

// benchWriter is a ResponseWriter that only counts, so the handler's own
// cost is what is measured.
type benchWriter struct {
	h http.Header
	n int
}

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(p []byte) (int, error) { w.n += len(p); return len(p), nil }
func (w *benchWriter) WriteHeader(int)             {}

var benchSizes = []struct {
	name string
	n    int
}{{"1KiB", 1 << 10}, {"100KiB", 100 << 10}}

// benchResponse is the origin's answer for a body of n bytes.
func benchResponse(n int) (http.Header, []byte) {
	h := http.Header{}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Cache-Control", "max-age=3600")
	h.Set("ETag", `"bench"`)
	h.Set("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT")
	return h, []byte(strings.Repeat("b", n))
}

func benchCache(b *testing.B, n int) (*Cache, FetchFunc) {
	c, err := New(Config{MemoryBytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	h, body := benchResponse(n)
	fetch := func(ctx context.Context, fr FetchRequest) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: h.Clone(), Body: io.NopCloser(strings.NewReader(string(body))), ContentLength: int64(n)}, nil
	}
	r := httptest.NewRequest("GET", "/bench", nil)
	c.Serve(&benchWriter{h: http.Header{}}, r, "/bench", defaultPolicy, fetch)
	c.bg.Wait()
	return c, fetch
}

func BenchmarkHit(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name+"/cache", func(b *testing.B) {
			c, fetch := benchCache(b, sz.n)
			r := httptest.NewRequest("GET", "/bench", nil)
			w := &benchWriter{h: http.Header{}}
			b.ReportAllocs()
			b.SetBytes(int64(sz.n))
			for b.Loop() {
				clear(w.h)
				if res := c.Serve(w, r, "/bench", defaultPolicy, fetch); res.XCache != XCacheHit {
					b.Fatal(res.XCache)
				}
			}
		})
		for _, bh := range []struct {
			name string
			make func(http.Header, []byte) http.HandlerFunc
		}{{"bare", bareHandler}, {"bare-prebuilt", prebuiltHandler}} {
			b.Run(sz.name+"/"+bh.name, func(b *testing.B) {
				bare := bh.make(benchResponse(sz.n))
				r := httptest.NewRequest("GET", "/bench", nil)
				w := &benchWriter{h: http.Header{}}
				b.ReportAllocs()
				b.SetBytes(int64(sz.n))
				for b.Loop() {
					clear(w.h)
					bare(w, r)
				}
			})
		}
	}
}

// prebuiltHandler assigns header slices built once: the fastest a Go
// handler can write these fields.
func prebuiltHandler(h http.Header, body []byte) http.HandlerFunc {
	pre := h.Clone()
	pre.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	pre.Set("Content-Length", strconv.Itoa(len(body)))
	pre.Set("Accept-Ranges", "bytes")
	pre.Set("X-Cache", XCacheHit)
	pre.Set("Age", "0")
	return func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		for k, vs := range pre {
			hdr[k] = vs
		}
		w.Write(body)
	}
}

// bareHandler writes the same header fields a hit carries, set one by one
// as a hand-written handler would.
func bareHandler(h http.Header, body []byte) http.HandlerFunc {
	date := time.Now().UTC().Format(http.TimeFormat)
	length := strconv.Itoa(len(body))
	return func(w http.ResponseWriter, r *http.Request) {
		hdr := w.Header()
		hdr.Set("Content-Type", h.Get("Content-Type"))
		hdr.Set("Cache-Control", h.Get("Cache-Control"))
		hdr.Set("ETag", h.Get("ETag"))
		hdr.Set("Last-Modified", h.Get("Last-Modified"))
		hdr.Set("Date", date)
		hdr.Set("Content-Length", length)
		hdr.Set("Accept-Ranges", "bytes")
		hdr.Set("X-Cache", XCacheHit)
		hdr.Set("Age", "0")
		w.Write(body)
	}
}

// The same over loopback HTTP/1.1 keep-alive, client and server in one
// process: the server's share of the work is smaller, so is the gap.
func BenchmarkHitHTTP(b *testing.B) {
	for _, sz := range benchSizes {
		b.Run(sz.name+"/cache", func(b *testing.B) {
			c, fetch := benchCache(b, sz.n)
			s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c.Serve(w, r, "/bench", defaultPolicy, fetch)
			}))
			defer s.Close()
			runHTTP(b, s.URL, sz.n)
		})
		b.Run(sz.name+"/bare", func(b *testing.B) {
			h, body := benchResponse(sz.n)
			s := httptest.NewServer(bareHandler(h, body))
			defer s.Close()
			runHTTP(b, s.URL, sz.n)
		})
	}
}

func runHTTP(b *testing.B, url string, n int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer client.CloseIdleConnections()
	b.ReportAllocs()
	b.SetBytes(int64(n))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 32<<10)
		for pb.Next() {
			resp, err := client.Get(url + "/bench")
			if err != nil {
				b.Error(err)
				return
			}
			for {
				if _, err := resp.Body.Read(buf); err != nil {
					break
				}
			}
			resp.Body.Close()
		}
	})
}

// BenchmarkDiskHit: a hit of a 1 MiB object from the disk tier, through a
// writer that copies (the file is opened, checked and read each time).
func BenchmarkDiskHit(b *testing.B) {
	const n = 1 << 20
	c, err := New(Config{MemoryBytes: 4 << 20, MaxObjectBytes: 64 << 10, Dir: b.TempDir(), DiskBytes: 64 << 20})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { c.Close() })
	h, body := benchResponse(n)
	fetch := func(ctx context.Context, fr FetchRequest) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: h.Clone(), Body: io.NopCloser(strings.NewReader(string(body))), ContentLength: n}, nil
	}
	r := httptest.NewRequest("GET", "/bench", nil)
	w := &benchWriter{h: http.Header{}}
	c.Serve(w, r, "/bench", defaultPolicy, fetch)
	c.bg.Wait()
	b.ReportAllocs()
	b.SetBytes(n)
	for b.Loop() {
		clear(w.h)
		if res := c.Serve(w, r, "/bench", defaultPolicy, fetch); res.XCache != XCacheHit {
			b.Fatal(res.XCache)
		}
	}
}
