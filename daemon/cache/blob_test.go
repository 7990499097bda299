package cache

import (
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestLargeBodiesInBlobs: a body of blobMinBytes or more is kept in an
// unlinked file in BodyDir or in a memfd, not the heap, and is served
// whole, by range, to HEAD and after a 304 refresh exactly as the origin
// sent it; its descriptor is closed when the entry leaves the cache, and
// an answer under way survives that. A BodyDir that takes no files falls
// back to memfds.
func TestLargeBodiesInBlobs(t *testing.T) {
	tests := []struct {
		name, dir string
		want      string // the kind of file holding the body
	}{
		{"memfd", "", "memfd"},
		{"body dir", t.TempDir(), "unlinked file"},
		{"missing body dir", "/nonexistent/openfront", "memfd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testBlobs(t, tt.dir, tt.want) })
	}
}

func testBlobs(t *testing.T, dir, kind string) {
	big := strings.Repeat("0123456789abcdef", blobMinBytes/16+100)
	base := liveBlobs.Load()
	hs := newHarness(t, Config{MemoryBytes: 4 << 20, BodyDir: dir}, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Cache-Control", "max-age=60")
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/small") {
			w.Write([]byte("small"))
			return
		}
		w.Write([]byte(big))
	})
	expect(t, hs.get("/big"), 200, XCacheMiss, big)
	expect(t, hs.get("/small"), 200, XCacheMiss, "small")
	e := hs.c.mem.get("/big")
	if e == nil || e.blob == nil || e.body != nil {
		t.Fatalf("the large entry is not in a blob: %+v", e)
	}
	if s := hs.c.mem.get("/small"); s == nil || s.blob != nil {
		t.Fatalf("a small entry went to a blob")
	}
	if n := liveBlobs.Load() - base; n != 1 {
		t.Fatalf("%d blobs open, want 1", n)
	}
	if got := fileKind(t, e.blob.h.b.f); got != kind {
		t.Fatalf("the body is in a %s, want a %s", got, kind)
	}
	if dir != "" && kind != "memfd" {
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Fatalf("the body dir has names in it: %v", left)
		}
	}

	requests := []struct {
		name   string
		method string
		header []string
		status int
		body   string
	}{
		{"whole", "GET", nil, 200, big},
		{"a range", "GET", []string{"Range", "bytes=10-25"}, 206, big[10:26]},
		{"a suffix range", "GET", []string{"Range", "bytes=-7"}, 206, big[len(big)-7:]},
		{"two ranges", "GET", []string{"Range", "bytes=0-0,5-6"}, 206, "-"},
		{"HEAD", "HEAD", nil, 200, ""},
		{"conditional", "GET", []string{"If-None-Match", `"v1"`}, 304, ""},
	}
	for _, tt := range requests {
		t.Run(tt.name, func(t *testing.T) {
			w := hs.do(tt.method, "/big", tt.header...)
			expect(t, w, tt.status, XCacheHit, tt.body)
			if tt.method == "HEAD" && w.Header().Get("Content-Length") != fmt.Sprint(len(big)) {
				t.Errorf("HEAD Content-Length %q", w.Header().Get("Content-Length"))
			}
			if tt.name == "two ranges" && (!strings.Contains(w.Body.String(), "\r\n0\r\n") || !strings.Contains(w.Body.String(), "\r\n56\r\n")) {
				t.Errorf("multipart body %q", trunc(w.Body.String()))
			}
		})
	}

	// Stale: the 304 makes a refreshed entry that shares the blob, and the
	// replaced entry gives up its hold.
	hs.clock.Advance(2 * time.Minute)
	expect(t, hs.get("/big"), 200, XCacheRefreshHit, big)
	n := hs.c.mem.get("/big")
	if n == e || n.blob == nil || n.blob.h.b != e.blob.h.b || !e.blob.h.done.Load() {
		t.Fatalf("the refreshed entry does not hold the blob alone: %+v", n)
	}
	expect(t, hs.get("/big"), 200, XCacheHit, big)

	// An answer in progress keeps its bytes when the entry is evicted.
	w := newSlowWriter()
	done := make(chan struct{})
	go func() {
		defer close(done)
		hs.c.Serve(w, newRequest("GET", "/big"), "/big", hs.policy, nil)
	}()
	<-w.started
	hs.c.Invalidate(func(string) bool { return true })
	close(w.release)
	<-done
	if got := w.body.String(); got != big {
		t.Fatalf("the answer under way got %d bytes, want %d", len(got), len(big))
	}
	// The blob is closed once the last entry and answer let it go (an
	// entry never stored, by the GC).
	runtime.GC()
	deadline := time.Now().Add(5 * time.Second)
	for liveBlobs.Load() != base && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if n := liveBlobs.Load() - base; n != 0 {
		t.Fatalf("%d blobs still open after the entries left", n)
	}
	expect(t, hs.get("/big"), 200, XCacheMiss, big)
}

// fileKind says what /proc says f is: a memfd or an unlinked file.
func fileKind(t *testing.T, f *os.File) string {
	t.Helper()
	target, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	switch {
	case strings.HasPrefix(target, "/memfd:"):
		return "memfd"
	case strings.HasSuffix(target, " (deleted)"):
		return "unlinked file"
	}
	return target
}

// slowWriter holds its first Write until release: an answer under way.
type slowWriter struct {
	header  http.Header
	body    strings.Builder
	started chan struct{}
	release chan struct{}
	first   bool
}

func newSlowWriter() *slowWriter {
	return &slowWriter{header: http.Header{}, started: make(chan struct{}), release: make(chan struct{}), first: true}
}

func (w *slowWriter) Header() http.Header { return w.header }
func (w *slowWriter) WriteHeader(int)     {}

func (w *slowWriter) Write(p []byte) (int, error) {
	if w.first {
		w.first = false
		close(w.started)
		<-w.release
	}
	return w.body.Write(p)
}

func newRequest(method, path string) *http.Request {
	r, _ := http.NewRequest(method, "http://h"+path, nil)
	return r
}
