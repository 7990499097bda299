package rtmp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"testing/iotest"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/origin"
	"openfront.dev/schema"
)

// synthByte is byte i of a synthetic object: it differs from its
// neighbours' and from the same offset in other windows.
func synthByte(i int64) byte { return byte(i) ^ byte(i>>9) ^ byte(i>>17) ^ byte(i>>25) }

// synthReader yields the synthetic object's bytes from off on, never
// holding more than the caller's buffer.
type synthReader struct{ off, end int64 }

func (r *synthReader) Read(p []byte) (int, error) {
	if r.off >= r.end {
		return 0, io.EOF
	}
	n := int(min(int64(len(p)), r.end-r.off))
	for i := range n {
		p[i] = synthByte(r.off + int64(i))
	}
	r.off += int64(n)
	return n, nil
}

// synthOrigin is an S3-like origin of one synthetic object of any size: it
// answers ranges (unless ignoresRange), honours If-Match, and counts the
// GETs per Range header.
type synthOrigin struct {
	size         int64
	ignoresRange bool
	mu           sync.Mutex
	etag         string
	gets         map[string]int
}

func (o *synthOrigin) Fetch(_ context.Context, req *origin.Request) (*http.Response, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	rng := req.Header.Get("Range")
	o.gets[rng]++
	resp := &http.Response{Header: http.Header{"Etag": {o.etag}}, Body: http.NoBody}
	if im := req.Header.Get("If-Match"); im != "" && im != o.etag {
		resp.StatusCode = http.StatusPreconditionFailed
		return resp, nil
	}
	var first, last int64
	if _, err := fmt.Sscanf(rng, "bytes=%d-%d", &first, &last); err != nil || o.ignoresRange {
		resp.StatusCode, resp.ContentLength = http.StatusOK, o.size
		resp.Body = io.NopCloser(&synthReader{0, o.size})
		return resp, nil
	}
	if first >= o.size {
		resp.StatusCode = http.StatusRequestedRangeNotSatisfiable
		resp.Header.Set("Content-Range", "bytes */"+strconv.FormatInt(o.size, 10))
		return resp, nil
	}
	last = min(last, o.size-1)
	resp.StatusCode, resp.ContentLength = http.StatusPartialContent, last-first+1
	resp.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", first, last, o.size))
	resp.Body = io.NopCloser(&synthReader{first, last + 1})
	return resp, nil
}

func (o *synthOrigin) counts() map[string]int {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := make(map[string]int, len(o.gets))
	for k, v := range o.gets {
		out[k] = v
	}
	return out
}

// readAt reads n bytes at off and checks them against the synthetic object.
func readAt(t *testing.T, r *objectReader, off int64, n int) {
	t.Helper()
	if _, err := r.Seek(off, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, n)
	if _, err := io.ReadFull(r, got); err != nil {
		t.Fatalf("read %d bytes at %d: %v", n, off, err)
	}
	want := make([]byte, n)
	(&synthReader{off, off + int64(n)}).Read(want)
	if !bytes.Equal(got, want) {
		t.Fatalf("bytes at %d differ from the object's", off)
	}
}

func testDistribution() *table.StreamingDistribution {
	return &table.StreamingDistribution{ID: "tv", Spec: &schema.StreamingDistribution{S3Origin: schema.S3Origin{DomainName: "media.test"}}}
}

// TestObjectWindows reads a 2 GB object the way a player does (the start,
// a seek to the middle, a read across a window's end, the end): only the
// windows read are fetched and held, and through the cache two players of
// the object cause one origin request per window.
func TestObjectWindows(t *testing.T) {
	const big = 2 << 30
	for _, tc := range []struct {
		name         string
		size         int64
		cached       bool
		ignoresRange bool
	}{
		{"2 GB through the cache", big, true, false},
		{"2 GB straight from the origin", big, false, false},
		{"origin ignoring Range, through the cache", 8 << 20, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &synthOrigin{size: tc.size, ignoresRange: tc.ignoresRange, etag: `"v1"`, gets: map[string]int{}}
			var c *cache.Cache
			if tc.cached {
				var err error
				if c, err = cache.New(cache.Config{MemoryBytes: 16 << 20}); err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}
			src := newWindowSource(o, c, testDistribution())
			reads := []struct {
				off int64
				n   int
			}{{0, 1000}, {tc.size / 2, 5000}, {3*windowSize - 100, 300}, {tc.size - 10, 10}}
			players := 1
			if tc.cached {
				players = 2
			}
			var wg sync.WaitGroup
			for range players {
				wg.Go(func() {
					r, err := openObject(t.Context(), src, "videos/big.flv")
					if err != nil {
						t.Error(err)
						return
					}
					if r.size != tc.size {
						t.Errorf("object size %d, want %d", r.size, tc.size)
					}
					for _, rd := range reads {
						readAt(t, r, rd.off, rd.n)
					}
				})
			}
			wg.Wait()
			// Windows: 0, the middle's, 2 and 3 (the read across), the last.
			windows := 5
			gets := o.counts()
			total := 0
			for rng, n := range gets {
				total += n
				if tc.cached && n != 1 {
					t.Errorf("%d origin requests for %q, want 1", n, rng)
				}
			}
			if want := windows * players; !tc.cached && total != want {
				t.Errorf("%d origin requests, want %d: %v", total, want, gets)
			}
			if tc.cached {
				if total != windows {
					t.Errorf("%d origin requests, want %d: %v", total, windows, gets)
				}
				if s := c.Stats(); s.Bytes > int64(windows)*(windowSize+64<<10) || s.Passes > 0 {
					t.Errorf("cache holds %d bytes (%d entries, %d passes) for %d windows", s.Bytes, s.Entries, s.Passes, windows)
				}
			}
		})
	}
}

// TestObjectChanged: a playback that would mix two versions of an object
// fails, and the next one plays the new version.
func TestObjectChanged(t *testing.T) {
	o := &synthOrigin{size: 4 << 20, etag: `"v1"`, gets: map[string]int{}}
	c, err := cache.New(cache.Config{MemoryBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	src := newWindowSource(o, c, testDistribution())
	if _, err := openObject(t.Context(), src, "a.flv"); err != nil { // caches window 0 of v1
		t.Fatal(err)
	}
	o.mu.Lock()
	o.etag = `"v2"`
	o.mu.Unlock()
	r, err := openObject(t.Context(), src, "a.flv") // window 0 of v1, from the cache
	if err != nil {
		t.Fatal(err)
	}
	r.Seek(2<<20, io.SeekStart)
	if _, err := r.Read(make([]byte, 10)); !errors.Is(err, errChanged) {
		t.Fatalf("reading v2's window after v1's: %v, want %v", err, errChanged)
	}
	r, err = openObject(t.Context(), src, "a.flv")
	if err != nil {
		t.Fatal(err)
	}
	if r.etag != `"v2"` {
		t.Errorf("next playback reads %s, want the new version", r.etag)
	}
	readAt(t, r, 2<<20, 10)
	if n := o.counts()["bytes=0-"+strconv.Itoa(windowSize-1)]; n != 2 {
		t.Errorf("window 0 fetched %d times, want 2 (v1, then v2 after the change)", n)
	}
}

// breakingOrigin is a synthOrigin whose ranges break off after 1000 bytes.
type breakingOrigin struct{ *synthOrigin }

func (o breakingOrigin) Fetch(ctx context.Context, req *origin.Request) (*http.Response, error) {
	resp, err := o.synthOrigin.Fetch(ctx, req)
	if err == nil && resp.StatusCode == http.StatusPartialContent {
		resp.Body = io.NopCloser(io.MultiReader(io.LimitReader(resp.Body, 1000), iotest.ErrReader(io.ErrUnexpectedEOF)))
	}
	return resp, err
}

// TestBrokenWindow: a window whose origin body breaks off fails the
// playback, through the cache (which reports it in its Result) as
// straight from the origin, and is never taken for a short window.
func TestBrokenWindow(t *testing.T) {
	for _, cached := range []bool{true, false} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) {
			o := breakingOrigin{&synthOrigin{size: 4 << 20, etag: `"v1"`, gets: map[string]int{}}}
			var c *cache.Cache
			if cached {
				var err error
				if c, err = cache.New(cache.Config{MemoryBytes: 16 << 20}); err != nil {
					t.Fatal(err)
				}
				defer c.Close()
			}
			if _, err := openObject(t.Context(), newWindowSource(o, c, testDistribution()), "a.flv"); !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("opening an object whose first window breaks: %v, want %v", err, io.ErrUnexpectedEOF)
			}
		})
	}
}
