package cache

import (
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestDiskWriteFails: when the disk tier's file cannot be written whole
// (the disk full, ENOSPC; here the file size limit, EFBIG, the kernel's
// own refusal of a write), the viewer and the requests coalesced on it
// still get the whole answer from the origin, nothing half written is
// kept or served later, and the object is fetched again next time (as
// nginx, whose write error to a cache's temporary file loses the file,
// not the answer).
func TestDiskWriteFails(t *testing.T) {
	body := object(256 << 10)
	hs, dir := diskHarness(t, 8<<20, serveBig(body, "Cache-Control", "max-age=60"))
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skip(err)
	}
	// Go ignores SIGXFSZ: a write past the limit fails with EFBIG.
	limited := syscall.Rlimit{Cur: 100 << 10, Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &limited); err != nil {
		t.Skip(err)
	}
	restore := func() { syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old) }
	defer restore()
	got := storm(t, hs.edge().URL, []string{"/big"}, 5)
	for _, b := range got["/big"] {
		if b != "200 "+body {
			t.Errorf("answer of %d bytes while the disk tier failed, want the whole %d", len(b), len(body)+4)
		}
	}
	hs.waitBackground()
	restore()
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("files left in the disk tier: %v", left)
	}
	if s := hs.c.Stats(); s.DiskEntries != 0 || s.DiskBytes != 0 {
		t.Errorf("the disk tier holds %d entries, %d bytes", s.DiskEntries, s.DiskBytes)
	}
	before := hs.requests.Load()
	expect(t, hs.get("/big"), 200, XCacheMiss, body)
	if hs.requests.Load() == before {
		t.Error("not fetched again")
	}
	hs.waitBackground()
	expect(t, hs.get("/big"), 200, XCacheHit, body)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		t.Error("the disk tier's directory is gone")
	}
}

// TestDiskOutOfDescriptors: a disk hit that cannot open its file because
// the process is out of descriptors (EMFILE, many viewers at once) keeps
// the object: that viewer's request goes to the origin as a pass (here
// on the harness's open keep-alive connection), and once descriptors are
// free again the object is a Hit, not fetched again (the entry and its
// file were removed as if the file had gone, and the refetch could not
// write a new one).
func TestDiskOutOfDescriptors(t *testing.T) {
	body := object(256 << 10)
	hs, dir := diskHarness(t, 8<<20, serveBig(body, "Cache-Control", "max-age=60"))
	expect(t, hs.get("/big"), 200, XCacheMiss, body)
	hs.waitBackground()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Skip(err)
	}
	// No descriptor left: the limit is the lowest number free now, which
	// the next open would take.
	probe, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	free := probe.Fd()
	probe.Close()
	limited := syscall.Rlimit{Cur: uint64(free), Max: old.Max}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &limited); err != nil {
		t.Skip(err)
	}
	r := newRequest("GET", "/big")
	w := httptest.NewRecorder()
	res := hs.c.Serve(w, r, "/big", hs.policy, hs.fetch(r))
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
	if res.Err != nil || w.Body.String() != body {
		t.Errorf("error %v, %d bytes; want the origin's whole answer", res.Err, w.Body.Len())
	}
	hs.waitBackground()
	if n := objects(t, dir); n != 1 {
		t.Errorf("%d files in the disk tier, want 1", n)
	}
	expect(t, hs.get("/big"), 200, XCacheHit, body)
}
