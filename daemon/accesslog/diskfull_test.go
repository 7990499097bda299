package accesslog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// TestDiskFull: on a file system that fills up (a 256 KiB tmpfs), writes
// fail with ENOSPC; the lines of the failed members are dropped and
// counted, the file keeps its acknowledged members whole, and once space
// is freed the writer carries on. Needs the right to mount (root).
func TestDiskFull(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	// Most of the space taken by another file, freed later.
	filler := filepath.Join(dir, "filler")
	if err := os.WriteFile(filler, make([]byte, 160<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := testOptions(t)
	opts.Dir = filepath.Join(dir, "logs")
	w := mustNew(t, opts, webConfig("full", ""))
	logged, sawFull := 0, false
	for batch := 0; batch < 400 && !sawFull; batch++ {
		for range 20 {
			r := rec(logged)
			r.Path = fmt.Sprintf("/%x/%x", logged*2654435761, logged*40503) // compresses less
			w.Log(&r)
			logged++
		}
		err := w.Flush(context.Background())
		sawFull = errors.Is(err, syscall.ENOSPC)
		if err != nil && !sawFull {
			t.Fatalf("Flush: %v, want ENOSPC or nothing", err)
		}
	}
	if !sawFull {
		t.Fatal("the file system never filled")
	}
	if h := w.health(); h.WriteError == nil {
		t.Error("health shows no write error while the disk is full")
	}
	written, dropped := metric(w.m.written), metric(w.m.dropWrite)
	if written+dropped != logged || dropped == 0 {
		t.Errorf("%d written + %d dropped, want %d logged in all, some dropped", written, dropped, logged)
	}
	os.Remove(filler)
	for i := range 20 {
		r := rec(100000 + i)
		w.Log(&r)
	}
	if err := w.Flush(context.Background()); err != nil {
		t.Errorf("Flush once space is free: %v", err)
	}
	if h := w.health(); h.WriteError != nil {
		t.Errorf("health once space is free: %+v", h.WriteError)
	}
	closeWriter(t, w)
	files, tmps := readLogs(t, opts.Dir)
	ids := countIDs(files)
	if len(tmps) != 0 || len(ids) != written+20 {
		t.Errorf("%d lines in %d files (tmp %v), want the %d acknowledged and the 20 after", len(ids), len(files), tmps, written)
	}
	for id, n := range ids {
		if n != 1 {
			t.Errorf("%s %d times", id, n)
		}
	}
}
