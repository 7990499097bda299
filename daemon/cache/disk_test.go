package cache

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func diskHarness(t *testing.T, diskBytes int64, h http.HandlerFunc) (*harness, string) {
	dir := t.TempDir()
	hs := newHarness(t, Config{MemoryBytes: 4 << 20, MaxObjectBytes: 64 << 10, StreamWindow: 64 << 10, Dir: dir, DiskBytes: diskBytes}, defaultPolicy, h)
	return hs, filepath.Join(dir, diskSubdir)
}

func objects(t *testing.T, dir string) int {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, de := range des {
		if strings.HasPrefix(de.Name(), "obj-") && !strings.HasSuffix(de.Name(), metaSuffix) {
			n++
		}
	}
	return n
}

func serveBig(body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		http.ServeContent(w, r, "big.bin", time.Time{}, strings.NewReader(body))
	}
}

func TestDiskTier(t *testing.T) {
	body := object(256 << 10)
	hs, dir := diskHarness(t, 8<<20, serveBig(body, "Cache-Control", "max-age=60", "ETag", `"d1"`))
	expect(t, hs.get("/big"), 200, XCacheMiss, body)
	hs.waitBackground()
	if n := objects(t, dir); n != 1 {
		t.Fatalf("%d files in the disk tier, want 1", n)
	}
	expect(t, hs.get("/big"), 200, XCacheHit, body)
	expect(t, hs.get("/big", "Range", "bytes=1000-1999"), 206, XCacheHit, body[1000:2000])
	w := hs.get("/big", "Range", "bytes=0-9,-10")
	expect(t, w, 206, XCacheHit, "-")
	checkMultipart(t, w.Header().Get("Content-Type"), w.Body.Bytes(), []string{body[:10], body[len(body)-10:]}, "application/octet-stream")
	expect(t, hs.do("HEAD", "/big"), 200, XCacheHit, "")
	expect(t, hs.get("/big", "If-None-Match", `"d1"`), 304, XCacheHit, "")
	if n := hs.requests.Load(); n != 1 {
		t.Errorf("origin requests %d, want 1", n)
	}
	if s := hs.c.Stats(); s.DiskEntries != 1 || s.DiskBytes < int64(len(body)) || s.Bytes > 64<<10 {
		t.Errorf("stats %+v", s)
	}
	hs.c.InvalidatePrefix("/big")
	if n := objects(t, dir); n != 0 {
		t.Errorf("%d files left after invalidation", n)
	}
}

// A range request for a large object not yet stored: the viewer gets its
// range from the origin at once, and the whole object lands on disk.
func TestDiskRangeOnMiss(t *testing.T) {
	body := object(256 << 10)
	hs, _ := diskHarness(t, 8<<20, serveBig(body, "Cache-Control", "max-age=60"))
	expect(t, hs.get("/big", "Range", "bytes=100000-100099"), 206, XCacheMiss, body[100000:100100])
	hs.waitBackground()
	if n := hs.requests.Load(); n != 2 {
		t.Errorf("origin requests %d, want 2 (the range, the whole)", n)
	}
	expect(t, hs.get("/big"), 200, XCacheHit, body)
}

func TestDiskRevalidation(t *testing.T) {
	body := object(128 << 10)
	hs, dir := diskHarness(t, 8<<20, serveBig(body, "Cache-Control", "max-age=10", "ETag", `"r1"`))
	hs.get("/big")
	hs.waitBackground()
	hs.clock.Advance(11 * time.Second)
	expect(t, hs.get("/big"), 200, XCacheRefreshHit, body)
	expect(t, hs.get("/big"), 200, XCacheHit, body)
	if n := objects(t, dir); n != 1 {
		t.Errorf("%d files after a refresh, want 1", n)
	}
}

func TestDiskBound(t *testing.T) {
	const limit = 2 << 20
	body := object(200 << 10)
	hs, dir := diskHarness(t, limit, serveBig(body, "Cache-Control", "max-age=600"))
	for i := range 30 {
		w := hs.get("/o/" + string(rune('a'+i)))
		if w.Body.Len() != len(body) {
			t.Fatalf("short body %d", w.Body.Len())
		}
		hs.waitBackground()
		if s := hs.c.Stats(); s.DiskBytes > limit {
			t.Fatalf("disk tier holds %d bytes, over %d", s.DiskBytes, limit)
		}
	}
	s := hs.c.Stats()
	var size int64
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if fi, err := de.Info(); err == nil {
			size += fi.Size()
		}
	}
	t.Logf("disk: %d entries, %d bytes accounted, %d on disk, %d evictions", s.DiskEntries, s.DiskBytes, size, s.DiskEvictions)
	if size > limit || s.DiskEvictions == 0 || int64(objects(t, dir)) != s.DiskEntries || int64(len(des)) != 2*s.DiskEntries {
		t.Errorf("files %d bytes, %d files for %d entries, %d evictions", size, objects(t, dir), s.DiskEntries, s.DiskEvictions)
	}
}

func TestDiskCoalescing(t *testing.T) {
	body := object(256 << 10)
	hs, _ := diskHarness(t, 8<<20, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(100 * time.Millisecond)
		serveBig(body, "Cache-Control", "max-age=60")(w, r)
	})
	got := storm(t, hs.edge().URL, []string{"/big"}, 20)
	for _, b := range got["/big"] {
		if b != "200 "+body {
			t.Fatalf("answer of %d bytes", len(b))
		}
	}
	if n := hs.requests.Load(); n >= 20 {
		t.Errorf("origin requests %d for 20 coalesced viewers", n)
	}
	hs.waitBackground()
	expect(t, hs.get("/big"), 200, XCacheHit, body)
}

// TestDiskFileCutShort: a disk-tier file cut shorter behind the cache's
// back is never a short body that passes for the whole object, and its
// entry is dropped, so the object is fetched again rather than failing
// until it expires. Cut before an answer starts, the answer comes from
// the origin (as nginx refetches a cache file "too small" for its header);
// cut during one, the answer fails (its caller resets the viewer's
// stream) and the next is a miss.
func TestDiskFileCutShort(t *testing.T) {
	body := object(256 << 10)
	tests := []struct {
		name string
		// duringAnswer cuts the file at the answer's first write.
		duringAnswer bool
		rng          string
		want         string // the first answer's body
		wantX        string // and X-Cache
		wantRequests int64  // origin requests for the first answer
	}{
		{"before, whole", false, "", body, XCacheMiss, 1},
		// A range of an object not stored: the range, then the whole for the tier.
		{"before, a range", false, "bytes=200000-200099", body[200000:200100], XCacheMiss, 2},
		{"during the answer", true, "", "", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs, dir := diskHarness(t, 8<<20, serveBig(body, "Cache-Control", "max-age=60"))
			expect(t, hs.get("/big"), 200, XCacheMiss, body)
			hs.waitBackground()
			files, _ := filepath.Glob(filepath.Join(dir, "obj-*"))
			files = slices.DeleteFunc(files, func(f string) bool { return strings.HasSuffix(f, metaSuffix) })
			if len(files) != 1 {
				t.Fatalf("%d files in the disk tier, want 1", len(files))
			}
			cut := func() {
				if err := os.Truncate(files[0], 100<<10); err != nil {
					t.Fatal(err)
				}
			}
			r := httptest.NewRequest(http.MethodGet, "/big", nil)
			if tt.rng != "" {
				r.Header.Set("Range", tt.rng)
			}
			var w http.ResponseWriter
			rec := httptest.NewRecorder()
			if tt.duringAnswer {
				w = &cutOnWrite{ResponseRecorder: rec, cut: cut}
			} else {
				cut()
				w = rec
			}
			res := hs.c.Serve(w, r, "/big", hs.policy, hs.fetch(r))
			if tt.duringAnswer {
				if res.Status != 200 || !errors.Is(res.Err, io.ErrUnexpectedEOF) {
					t.Errorf("status %d, error %v; want 200 sent and io.ErrUnexpectedEOF", res.Status, res.Err)
				}
			} else {
				if res.Err != nil {
					t.Errorf("error %v", res.Err)
				}
				expect(t, rec, rec.Code, tt.wantX, tt.want)
			}
			if n := hs.requests.Load() - 1; n != tt.wantRequests {
				t.Errorf("%d origin requests for the first answer, want %d", n, tt.wantRequests)
			}
			if _, err := os.Stat(files[0]); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the cut file is still there: %v", err)
			}
			if n := hs.c.Stats().DiskDamaged; n != 1 {
				t.Errorf("%d damaged files counted, want 1", n)
			}
			hs.waitBackground()
			if tt.duringAnswer {
				expect(t, hs.get("/big"), 200, XCacheMiss, body)
				hs.waitBackground()
			}
			expect(t, hs.get("/big"), 200, XCacheHit, body)
			if n := objects(t, dir); n != 1 {
				t.Errorf("%d files in the disk tier, want 1", n)
			}
		})
	}
}

// cutOnWrite calls cut before the first body write passes through.
type cutOnWrite struct {
	*httptest.ResponseRecorder
	cut  func()
	done bool
}

func (c *cutOnWrite) Write(p []byte) (int, error) {
	if !c.done {
		c.done = true
		c.cut()
	}
	return c.ResponseRecorder.Write(p)
}

// A large body the origin compressed, kept in the disk tier, is never
// served to a viewer that does not accept its coding, as in memory.
func TestDiskOriginCompressed(t *testing.T) {
	plain := strings.Repeat("origin gzip ", 30<<10)
	var gz strings.Builder
	// Stored, not deflated: larger than MaxObjectBytes, so it goes to disk.
	z, _ := gzip.NewWriterLevel(&gz, gzip.NoCompression)
	io.WriteString(z, plain)
	z.Close()
	big := gz.String()
	dir := t.TempDir()
	p := defaultPolicy
	p.Compress = true
	hs := newHarness(t, Config{MemoryBytes: 4 << 20, MaxObjectBytes: 1 << 10, StreamWindow: 64 << 10, Dir: dir, DiskBytes: 8 << 20}, p, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Content-Type", "application/octet-stream")
		if strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Length", strconv.Itoa(len(big)))
			io.WriteString(w, big)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(plain)))
		io.WriteString(w, plain)
	})
	w := hs.get("/o", "Accept-Encoding", "gzip")
	if w.Header().Get("Content-Encoding") != "gzip" || w.Body.String() != big {
		t.Fatalf("gzip viewer: Content-Encoding %q", w.Header().Get("Content-Encoding"))
	}
	hs.waitBackground()
	if n := objects(t, filepath.Join(dir, diskSubdir)); n != 1 {
		t.Fatalf("%d files in the disk tier, want 1", n)
	}
	w = hs.get("/o")
	if w.Header().Get("Content-Encoding") != "" || w.Body.String() != plain {
		t.Errorf("identity viewer got Content-Encoding %q", w.Header().Get("Content-Encoding"))
	}
}

// TestDiskDirInUse: a second cache (another node or process) pointed at a
// disk tier directory in use does not start, with an error naming the
// directory, instead of removing the files the first one serves; the
// directory is free again once the first closes.
func TestDiskDirInUse(t *testing.T) {
	body := object(256 << 10)
	hs, dir := diskHarness(t, 8<<20, serveBig(body, "Cache-Control", "max-age=60"))
	expect(t, hs.get("/big"), 200, XCacheMiss, body)
	hs.waitBackground()
	parent := filepath.Dir(dir)
	second, err := New(Config{MemoryBytes: 4 << 20, Dir: parent, DiskBytes: 8 << 20})
	if err == nil {
		second.Close()
		t.Fatal("a second cache started on a disk tier directory in use")
	}
	if !strings.Contains(err.Error(), parent) || !strings.Contains(err.Error(), "in use") {
		t.Errorf("error %q does not say that %s is in use", err, parent)
	}
	if n := objects(t, dir); n != 1 {
		t.Fatalf("%d files in the first cache's disk tier, want 1", n)
	}
	expect(t, hs.get("/big"), 200, XCacheHit, body)
	hs.c.Close()
	again, err := New(Config{MemoryBytes: 4 << 20, Dir: parent, DiskBytes: 8 << 20})
	if err != nil {
		t.Fatalf("the directory is not free after the first cache closed: %v", err)
	}
	again.Close()
}

// restart closes hs's cache and opens another on the same directory and
// clock, as a node stopped and started again.
func (hs *harness) restart(cfg Config) {
	hs.t.Helper()
	hs.c.Close()
	cfg.Now = hs.clock.Now
	c, err := New(cfg)
	if err != nil {
		hs.t.Fatal(err)
	}
	hs.c = c
	hs.t.Cleanup(func() { c.Close() })
}

// TestDiskSurvivesRestart: the disk tier's objects outlive a restart, as
// nginx's cache loader and Varnish's persistent storage keep theirs: they
// are Hits with the Age they have by then, Vary variants each its own;
// an object invalidated before the restart stays gone; a file cut short
// or emptied behind the cache's back (a disk error, a crash) and a file
// left half written by a kill -9 are removed and counted, never served.
func TestDiskSurvivesRestart(t *testing.T) {
	big := object(256 << 10)
	dir := t.TempDir()
	cfg := Config{MemoryBytes: 4 << 20, MaxObjectBytes: 64 << 10, StreamWindow: 64 << 10, Dir: dir, DiskBytes: 8 << 20}
	hs := newHarness(t, cfg, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
		body := big
		if strings.HasPrefix(r.URL.Path, "/vary") {
			w.Header().Set("Vary", "X-Lang")
			body = strings.Repeat(r.Header.Get("X-Lang"), len(big)/2)
		}
		serveBig(body, "Cache-Control", "max-age=600", "ETag", `"e1"`)(w, r)
	})
	paths := []string{"/kept", "/gone", "/cut", "/empty"}
	for _, p := range paths {
		expect(t, hs.get(p), 200, XCacheMiss, big)
		hs.waitBackground()
	}
	expect(t, hs.get("/vary", "X-Lang", "en"), 200, XCacheMiss, strings.Repeat("en", len(big)/2))
	hs.waitBackground()
	expect(t, hs.get("/vary", "X-Lang", "de"), 200, XCacheMiss, strings.Repeat("de", len(big)/2))
	hs.waitBackground()
	hs.c.InvalidatePrefix("/gone")
	fileOf := func(key string) string {
		e := hs.c.disk.get(key)
		if e == nil {
			t.Fatalf("%s is not in the disk tier", key)
		}
		return e.file
	}
	cut, empty := fileOf("/cut"), fileOf("/empty")
	hs.clock.Advance(100 * time.Second)
	sub := filepath.Join(dir, diskSubdir)
	hs.restart(cfg)
	if s := hs.c.Stats(); s.DiskEntries != 5 {
		t.Fatalf("%d entries after the restart, want 5", s.DiskEntries)
	}
	hs.restart(cfg)
	if err := os.Truncate(cut, 1000); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(empty, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "tmp-zz"), []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	hs.restart(cfg)
	s := hs.c.Stats()
	if s.DiskEntries != 3 || s.DiskDamaged != 3 {
		t.Errorf("after the restart: %d entries, %d damaged files; want 3 and 3 (2 cut, 1 half written)", s.DiskEntries, s.DiskDamaged)
	}
	for _, f := range []string{cut, empty, filepath.Join(sub, "tmp-zz")} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there: %v", f, err)
		}
	}
	before := hs.requests.Load()
	w := hs.get("/kept")
	expect(t, w, 200, XCacheHit, big)
	if age := w.Header().Get("Age"); age != "100" {
		t.Errorf("Age %q after the restart, want 100", age)
	}
	expect(t, hs.get("/kept", "Range", "bytes=10-19"), 206, XCacheHit, big[10:20])
	expect(t, hs.get("/vary", "X-Lang", "en"), 200, XCacheHit, strings.Repeat("en", len(big)/2))
	expect(t, hs.get("/vary", "X-Lang", "de"), 200, XCacheHit, strings.Repeat("de", len(big)/2))
	if n := hs.requests.Load() - before; n != 0 {
		t.Errorf("%d origin requests for objects kept over the restart", n)
	}
	for _, p := range []string{"/gone", "/cut", "/empty"} {
		expect(t, hs.get(p), 200, XCacheMiss, big)
		hs.waitBackground()
	}
	expect(t, hs.get("/vary", "X-Lang", "fr"), 200, XCacheMiss, strings.Repeat("fr", len(big)/2))
	hs.waitBackground()
	// Past its lifetime, kept for revalidation: a 304 refreshes it.
	hs.clock.Advance(10 * time.Minute)
	hs.restart(cfg)
	expect(t, hs.get("/kept"), 200, XCacheRefreshHit, big)
}

// TestDiskCompressedSurvivesRestart: the variants the cache compressed on
// disk are found again after a restart, each served in its coding with
// the validator it was stored with.
func TestDiskCompressedSurvivesRestart(t *testing.T) {
	page := strings.Repeat("<p>kept compressed on disk</p>\n", 8<<10)
	dir := t.TempDir()
	p := defaultPolicy
	p.Compress = true
	cfg := Config{MemoryBytes: 4 << 20, MaxObjectBytes: 1 << 10, StreamWindow: 64 << 10, Dir: dir, DiskBytes: 8 << 20}
	hs := newHarness(t, cfg, p, text(page, "Cache-Control", "max-age=600", "Content-Type", "text/html", "ETag", `"c1"`))
	for _, ae := range []string{"gzip", "br", ""} {
		w := hs.get("/page", "Accept-Encoding", ae)
		if got := decode(t, w.Header().Get("Content-Encoding"), w.Body.Bytes()); got != page || w.Header().Get("Content-Encoding") != ae {
			t.Fatalf("%q viewer: Content-Encoding %q, %d bytes", ae, w.Header().Get("Content-Encoding"), len(got))
		}
		hs.waitBackground()
	}
	etags := map[string]string{}
	for _, ae := range []string{"gzip", "br"} {
		etags[ae] = hs.get("/page", "Accept-Encoding", ae).Header().Get("ETag")
	}
	hs.restart(cfg)
	before := hs.requests.Load()
	for _, ae := range []string{"gzip", "br", ""} {
		w := hs.get("/page", "Accept-Encoding", ae)
		expect(t, w, 200, XCacheHit, "-")
		if got := decode(t, w.Header().Get("Content-Encoding"), w.Body.Bytes()); got != page || w.Header().Get("Content-Encoding") != ae {
			t.Errorf("%q viewer after the restart: Content-Encoding %q, %d bytes", ae, w.Header().Get("Content-Encoding"), len(got))
		}
		if ae != "" && w.Header().Get("ETag") != etags[ae] {
			t.Errorf("%q viewer after the restart: ETag %q, want %q", ae, w.Header().Get("ETag"), etags[ae])
		}
	}
	if n := hs.requests.Load() - before; n != 0 {
		t.Errorf("%d origin requests after the restart", n)
	}
	// Stale: revalidated at the origin with the origin's own ETag (this
	// origin answers 200 to it).
	hs.clock.Advance(11 * time.Minute)
	expect(t, hs.get("/page", "Accept-Encoding", "gzip"), 200, XCacheMiss, "-")
	if inm := hs.lastSeen().Header.Get("If-None-Match"); inm != `"c1"` {
		t.Errorf("revalidated with If-None-Match %q, want the origin's \"c1\"", inm)
	}
}

// TestDiskRestartSmaller: restarted with a smaller --cache-disk, the tier
// keeps within it, the files of the objects it evicts removed with them,
// and those it keeps are hits.
func TestDiskRestartSmaller(t *testing.T) {
	body := object(200 << 10)
	dir := t.TempDir()
	cfg := Config{MemoryBytes: 4 << 20, MaxObjectBytes: 64 << 10, StreamWindow: 64 << 10, Dir: dir, DiskBytes: 8 << 20}
	hs := newHarness(t, cfg, defaultPolicy, serveBig(body, "Cache-Control", "max-age=600"))
	for i := range 10 {
		hs.get("/o/" + strconv.Itoa(i))
		hs.waitBackground()
		hs.clock.Advance(time.Second)
	}
	cfg.DiskBytes = 1 << 20
	hs.restart(cfg)
	s := hs.c.Stats()
	if s.DiskBytes > cfg.DiskBytes || s.DiskEntries == 0 || s.DiskEntries >= 10 {
		t.Fatalf("after a restart at %d bytes: %d entries, %d bytes", cfg.DiskBytes, s.DiskEntries, s.DiskBytes)
	}
	if n := objects(t, filepath.Join(dir, diskSubdir)); int64(n) != s.DiskEntries {
		t.Errorf("%d files for %d entries", n, s.DiskEntries)
	}
	before := hs.requests.Load()
	for k := range hs.c.disk.index.Keys() {
		expect(t, hs.get(k), 200, XCacheHit, body)
	}
	if n := hs.requests.Load() - before; n != 0 {
		t.Errorf("%d origin requests for the objects kept", n)
	}
}

// TestDiskRestartTwoCopies: when a crash left a key's older copy beside
// its newer one (the older's removal cut short), the newer is served
// after the restart and the older's files are removed.
func TestDiskRestartTwoCopies(t *testing.T) {
	body := object(200 << 10)
	dir := t.TempDir()
	cfg := Config{MemoryBytes: 4 << 20, MaxObjectBytes: 64 << 10, StreamWindow: 64 << 10, Dir: dir, DiskBytes: 8 << 20}
	hs := newHarness(t, cfg, defaultPolicy, serveBig(body, "Cache-Control", "max-age=600", "ETag", `"new"`))
	hs.get("/big")
	hs.waitBackground()
	file := hs.c.disk.get("/big").file
	b, err := os.ReadFile(file + metaSuffix)
	if err != nil {
		t.Fatal(err)
	}
	var m diskMeta
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m.Stored -= int64(time.Minute)
	m.Header = m.Header.Clone()
	m.Header.Set("ETag", `"old"`)
	b, _ = json.Marshal(m)
	older := filepath.Join(dir, diskSubdir, "obj-zzz")
	if err := os.Link(file, older); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(older+metaSuffix, b, 0o600); err != nil {
		t.Fatal(err)
	}
	hs.restart(cfg)
	w := hs.get("/big")
	expect(t, w, 200, XCacheHit, body)
	if etag := w.Header().Get("ETag"); etag != `"new"` {
		t.Errorf("ETag %q after the restart, want the newer copy's", etag)
	}
	if _, err := os.Stat(older); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the older copy is still there: %v", err)
	}
}

// TestDiskRestartBringsNothingBack: what the cache stopped serving before
// a restart stays unserved after it: a Vary'd object an unsafe method
// invalidated, an object superseded by a copy the memory tier holds, and
// a key's older copy a crash left beside its newer, expired one.
func TestDiskRestartBringsNothingBack(t *testing.T) {
	big := object(256 << 10)
	cfg := Config{MemoryBytes: 4 << 20, MaxObjectBytes: 64 << 10, StreamWindow: 64 << 10, DiskBytes: 8 << 20}
	for _, c := range []struct {
		name   string
		before func(t *testing.T, hs *harness, version *atomic.Int32)
		get    []string // the request after the restart: a miss
	}{
		{"a POST invalidated the Vary'd object", func(t *testing.T, hs *harness, version *atomic.Int32) {
			expect(t, hs.get("/vary", "X-Lang", "en"), 200, XCacheMiss, big)
			hs.waitBackground()
			version.Add(1)
			hs.do(http.MethodPost, "/vary")
		}, []string{"/vary", "X-Lang", "en"}},
		{"the memory tier holds a newer copy", func(t *testing.T, hs *harness, version *atomic.Int32) {
			expect(t, hs.get("/obj"), 200, XCacheMiss, big)
			hs.waitBackground()
			version.Add(1) // small now: the refresh goes to memory
			hs.clock.Advance(20 * time.Second)
			hs.get("/obj")
			hs.waitBackground()
			expect(t, hs.get("/obj"), 200, XCacheHit, "small")
		}, []string{"/obj"}}, // the memory tier starts empty
		{"a crash left an older copy beside the newer", func(t *testing.T, hs *harness, version *atomic.Int32) {
			expect(t, hs.get("/obj"), 200, XCacheMiss, big)
			hs.waitBackground()
			e := hs.c.disk.get("/obj")
			if e == nil {
				t.Fatal("/obj is not on disk")
			}
			// The newer copy, kept 1 s, as a refresh that shortened the
			// lifetime writes it before the crash removes the older.
			m := metaOf("/obj", e, hs.clock.Now().Add(time.Second))
			m.Retain = time.Second
			b, _ := json.Marshal(m)
			newer := filepath.Join(filepath.Dir(e.file), "obj-zzzz")
			if err := os.WriteFile(newer+metaSuffix, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Link(e.file, newer); err != nil {
				t.Fatal(err)
			}
			hs.clock.Advance(10 * time.Second)
		}, []string{"/obj"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var version atomic.Int32
			cfg := cfg
			cfg.Dir = t.TempDir()
			hs := newHarness(t, cfg, defaultPolicy, func(w http.ResponseWriter, r *http.Request) {
				if strings.HasPrefix(r.URL.Path, "/vary") {
					w.Header().Set("Vary", "X-Lang")
				}
				body := big
				if version.Load() > 0 {
					body = "small"
				}
				serveBig(body, "Cache-Control", "max-age=10, stale-while-revalidate=3600")(w, r)
			})
			c.before(t, hs, &version)
			hs.restart(cfg)
			w := hs.get(c.get[0], c.get[1:]...)
			want := big
			if version.Load() > 0 {
				want = "small"
			}
			expect(t, w, 200, XCacheMiss, want)
		})
	}
}
