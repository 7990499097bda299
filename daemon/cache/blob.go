package cache

import (
	"io"
	"net/http"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

// A blob holds a large memory-tier body in an unlinked file instead of
// the Go heap, so that an HTTP/1 connection sends it with sendfile: the
// bytes go from the page cache to the socket without being copied through
// a write buffer. Other writers (HTTP/2, HTTP/3, TLS) get it in one Write
// from a read-only mapping of the file.
//
// The file is an O_TMPFILE in Config.BodyDir, or a memfd. On a disk
// filesystem (ext4, XFS) the page cache keeps it in large folios, which
// sendfile walks a batch at a time; a memfd's shmem pages are looked up
// and locked one 4 KiB page at a time (as on tmpfs without huge pages):
// a 100 KiB hit costs about 10% more CPU from a memfd. The kernel may
// write a body file back to its disk and, under memory pressure, read it
// from there again; a memfd stays in memory (or swap).
//
// A blob is counted: each entry that holds it (a revalidated copy shares
// it) and each answer sending from it; the descriptor closes at zero, so
// an eviction never cuts an answer under way. An entry leaves its count
// when it leaves the memory tier, or, if it was never stored, when the GC
// finds it unreachable.
type blob struct {
	f      *os.File
	mapped []byte // the file, mapped read-only; unmapped at close
	size   int64
	refs   atomic.Int64
}

// blobRef is an entry's hold on a blob, given up once.
type blobRef struct{ h *hold }

type hold struct {
	b    *blob
	done atomic.Bool
}

func (h *hold) release() {
	if h.done.CompareAndSwap(false, true) {
		h.b.release()
	}
}

// blobMinBytes: below it, sendfile saves less than its extra system call
// costs.
const blobMinBytes = 32 << 10

// liveBlobs counts open blobs, bounded by maxBlobs: a cache must never
// take the descriptors that viewers' connections need.
var liveBlobs atomic.Int64

var maxBlobs = sync.OnceValue(func() int64 { return openFileLimit() / 4 })

// makeBlob copies body into a new file in dir ("": a memfd), held by the
// returned ref; nil when the descriptors are spent or the file cannot be
// made (the disk is full, no memfds): the body then stays in the heap.
func makeBlob(dir string, body []byte) *blobRef {
	if liveBlobs.Load() >= maxBlobs() {
		return nil
	}
	f, mapped, err := blobFile(dir, body)
	if err != nil {
		return nil
	}
	liveBlobs.Add(1)
	b := &blob{f: f, mapped: mapped, size: int64(len(body))}
	b.refs.Store(1)
	return newRef(b)
}

func newRef(b *blob) *blobRef {
	r := &blobRef{h: &hold{b: b}}
	runtime.AddCleanup(r, (*hold).release, r.h)
	return r
}

// share is another entry's hold on the same blob; nil when it is closed.
func (r *blobRef) share() *blobRef {
	if !r.h.b.acquire() {
		return nil
	}
	return newRef(r.h.b)
}

// drop gives up the entry's hold.
func (r *blobRef) drop() { r.h.release() }

// acquire counts one more user, unless the blob is closed already.
func (b *blob) acquire() bool {
	for {
		n := b.refs.Load()
		if n <= 0 {
			return false
		}
		if b.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release: at zero no one reads the mapping (a Write does not keep its
// bytes, as io.Writer says), so it goes with the descriptor.
func (b *blob) release() {
	if b.refs.Add(-1) == 0 {
		unmap(b.mapped)
		b.f.Close()
		liveBlobs.Add(-1)
	}
}

// copyRange sends a range of the blob, the caller holding b: a writer
// that sends files gets the file, any other one Write of the mapped bytes.
func (b *blob) copyRange(w io.Writer, off, n int64) (int64, error) {
	if n < 0 {
		n = b.size - off
	}
	if !sendsFiles(w) {
		k, err := w.Write(b.mapped[off : off+n])
		return int64(k), err
	}
	return copySection(w, b.f, off, n)
}

// sendsFiles says the server's writer, under the wrappers that log and
// count, sends an *os.File's SectionReader without copying it (the HTTP/1
// server on a TCP connection, with sendfile).
func sendsFiles(w io.Writer) bool {
	for {
		if sf, ok := w.(interface{ SendsFiles() bool }); ok {
			return sf.SendsFiles()
		}
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			return false
		}
		w = u.Unwrap()
	}
}
