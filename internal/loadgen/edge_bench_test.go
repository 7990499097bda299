package loadgen

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/edge"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// The edge's whole request path on a cache hit, in process, against the
// bare handler writing the same object: what the edge adds per request,
// without sockets.
//
//	go test -run '^$' -bench EdgeHit -benchmem ./internal/loadgen

// nullWriter is a ResponseWriter that keeps no bytes but treats the
// header as net/http does: a fresh map per request, cloned when the
// header is written.
type nullWriter struct {
	h       http.Header
	written http.Header
	n       int
}

func (w *nullWriter) reset() { w.h, w.written, w.n = http.Header{}, nil, 0 }

func (w *nullWriter) Header() http.Header { return w.h }

func (w *nullWriter) Write(p []byte) (int, error) {
	if w.written == nil {
		w.WriteHeader(http.StatusOK)
	}
	w.n += len(p)
	return len(p), nil
}

func (w *nullWriter) WriteHeader(int) {
	if w.written == nil {
		w.written = w.h.Clone()
	}
}

// benchConfig is a distribution for 127.0.0.1 whose custom origin is at port.
const benchConfig = `package bench

import "openfront.dev/schema"

schema.#Config

distributions: bench: {
	aliases: ["127.0.0.1", "localhost"]
	httpVersion: "http2and3"
	origins: [{id: "origin", domainName: "127.0.0.1", customOriginConfig: {originProtocolPolicy: "http-only", httpPort: %s}}]
	defaultCacheBehavior: {targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400}
}
`

// benchEdge is an edge handler with a 64 MiB cache, in front of an Origin.
func benchEdge(tb testing.TB) *edge.Handler {
	return testEdge(tb, NewOrigin(), 64<<20)
}

// testEdge is an edge handler for benchConfig in front of origin, with a
// cache of cacheBytes (none when 0).
func testEdge(tb testing.TB, originHandler http.Handler, cacheBytes int64) *edge.Handler {
	tb.Helper()
	o := httptest.NewServer(originHandler)
	tb.Cleanup(o.Close)
	u, _ := url.Parse(o.URL)
	dir := tb.TempDir()
	tbl := testenv.Compile(tb, dir, fmt.Sprintf(benchConfig, u.Port()))
	h := edge.New(origin.NewPool(dir), "bench", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if cacheBytes > 0 {
		c, err := cache.New(cache.Config{MemoryBytes: cacheBytes})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { c.Close() })
		h.SetCache(c)
	}
	h.SetTable(tbl)
	h.SetAltSvc(`h3=":8443"; ma=86400`)
	return h
}

func benchRequest(path string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080"+path, nil)
	r.RemoteAddr = "127.0.0.1:40000"
	r.Header.Set("User-Agent", "wrk")
	return r
}

func BenchmarkEdgeHit(b *testing.B) {
	for _, size := range []string{"1k", "100k"} {
		n, _ := ParseSize(size)
		path := "/obj/" + size + "/bench"
		b.Run(size+"/edge", func(b *testing.B) {
			h := benchEdge(b)
			r := benchRequest(path)
			w := &nullWriter{}
			w.reset()
			h.ServeHTTP(w, r) // the miss that fills the cache
			w.reset()
			h.ServeHTTP(w, r)
			if x := w.h.Get("X-Cache"); x != cache.XCacheHit || w.n != n {
				b.Fatalf("X-Cache %q, %d bytes: want a hit of %d", x, w.n, n)
			}
			b.ReportAllocs()
			b.SetBytes(int64(n))
			for b.Loop() {
				w.reset()
				h.ServeHTTP(w, r)
			}
		})
		for _, edgeHeaders := range []bool{false, true} {
			name := size + "/bare"
			if edgeHeaders {
				name += "+hdr"
			}
			b.Run(name, func(b *testing.B) {
				h, _ := NewBare(size)
				if edgeHeaders {
					h.WithEdgeHeaders()
				}
				r := benchRequest(path)
				w := &nullWriter{}
				b.ReportAllocs()
				b.SetBytes(int64(n))
				for b.Loop() {
					w.reset()
					h.ServeHTTP(w, r)
				}
			})
		}
	}
}
