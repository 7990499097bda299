package cache

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Storing far more than the limit: the memory tier never holds more than
// its bound, at any moment, under concurrent churn.
func TestMemoryBound(t *testing.T) {
	const limit = 1 << 20
	body := strings.Repeat("m", 10<<10)
	hs := newHarness(t, Config{MemoryBytes: limit, MaxObjectBytes: 32 << 10}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=600")
		io.WriteString(w, body)
	})
	var peak atomic.Int64
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if b := hs.c.mem.bytes.Load(); b > peak.Load() {
				peak.Store(b)
			}
		}
	})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 500 {
				w := hs.get(fmt.Sprintf("/obj/%d/%d", g, i))
				if w.Code != 200 || w.Body.Len() != len(body) {
					t.Errorf("status %d, %d bytes", w.Code, w.Body.Len())
					return
				}
			}
		})
	}
	wg.Wait()
	hs.waitBackground()
	close(stop)
	sampler.Wait()
	s := hs.c.Stats()
	var sum int64
	for _, e := range hs.c.mem.otter.All() {
		sum += int64(e.weight)
	}
	t.Logf("stored %d entries, %d bytes (peak %d) of %d; %d evictions", s.Entries, s.Bytes, peak.Load(), limit, s.Evictions)
	if peak.Load() > limit || s.Bytes > limit || sum > limit {
		t.Errorf("memory tier over its bound: peak %d, now %d, entries weigh %d, limit %d", peak.Load(), s.Bytes, sum, limit)
	}
	if sum != s.Bytes {
		t.Errorf("accounted %d bytes, entries weigh %d", s.Bytes, sum)
	}
	if s.Evictions == 0 || s.Bytes < limit/2 {
		t.Errorf("expected a full tier with evictions: %+v", s)
	}
}

func TestNewRejectsTinyMemory(t *testing.T) {
	if _, err := New(Config{MemoryBytes: 100 << 10, MaxObjectBytes: 64 << 10}); err == nil {
		t.Error("a tier too small for its largest object was accepted")
	}
}

// The memory scenario in-process: a 64 MiB tier and 20,000
// distinct 100 KiB objects. The Go heap stays near the bound: nothing but
// the tier keeps bodies alive.
func TestChurnHeap(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("moves 2 GB through the cache; heap figures need no race detector")
	}
	const limit = 64 << 20
	c, err := New(Config{MemoryBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := strings.Repeat("c", 100<<10)
	h := http.Header{"Cache-Control": {"max-age=600"}, "Content-Type": {"application/octet-stream"}}
	fetch := func(ctx context.Context, fr FetchRequest) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: h.Clone(), Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body))}, nil
	}
	var peak uint64
	var ms runtime.MemStats
	w := &benchWriter{h: http.Header{}}
	for i := range 20000 {
		key := "/churn/" + strconv.Itoa(i)
		r := httptest.NewRequest("GET", key, nil)
		clear(w.h)
		c.Serve(w, r, key, defaultPolicy, fetch)
		if i%2000 == 1999 {
			c.bg.Wait()
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			if b := c.Stats().Bytes; b > limit {
				t.Fatalf("tier holds %d bytes", b)
			}
		}
	}
	t.Logf("heap in use at most %d MiB for a %d MiB tier; %+v", peak>>20, limit>>20, c.Stats())
	if peak > limit+32<<20 {
		t.Errorf("heap %d MiB: more than the tier keeps", peak>>20)
	}
}
