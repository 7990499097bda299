package loadgen

import (
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// Origin serves objects and counts the requests it gets, per path, so a
// probe can tell how many reached it through a cache.
type Origin struct {
	mu     sync.Mutex
	bodies map[int][]byte
	counts map[string]int64
	total  int64
}

// NewOrigin returns an origin with no requests counted.
func NewOrigin() *Origin {
	return &Origin{bodies: map[int][]byte{}, counts: map[string]int64{}}
}

// OriginStats is the JSON of GET /_stats[?path=P].
type OriginStats struct {
	Total int64 `json:"total"`
	Paths int   `json:"paths"`
	// Path counts the requests for the path asked about.
	Path int64 `json:"path"`
}

func (o *Origin) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_stats" {
		o.mu.Lock()
		st := OriginStats{Total: o.total, Paths: len(o.counts), Path: o.counts[r.URL.Query().Get("path")]}
		o.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(st)
		return
	}
	sizeSeg, delay, ok := objectPath(r.URL.Path)
	n, err := ParseSize(sizeSeg)
	if !ok || err != nil {
		http.Error(w, "want /obj/SIZE/NAME or /slow/MS/SIZE/NAME", http.StatusNotFound)
		return
	}
	o.mu.Lock()
	o.total++
	o.counts[r.URL.Path]++
	body, ok := o.bodies[n]
	if !ok {
		body = Body(n)
		o.bodies[n] = body
	}
	o.mu.Unlock()
	if delay > 0 {
		time.Sleep(time.Duration(delay) * time.Millisecond)
	}
	hdr := w.Header()
	for k, vs := range ObjectHeader(n) {
		hdr[k] = vs
	}
	if r.Header.Get("If-None-Match") == hdr.Get("Etag") {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}
