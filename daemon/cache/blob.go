package cache

import (
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

// A blob holds a large memory-tier body in an anonymous in-memory file
// (memfd) instead of the Go heap, so that an HTTP/1 connection sends it
// with sendfile: the bytes go from the page cache to the socket without
// being copied through a write buffer. Other writers read it with pread.
//
// Each entry owns its own descriptor (a revalidated copy gets a dup, as a
// disk entry gets a hard link), closed when the entry leaves the memory
// tier; each answer sends from a dup of its own, so an eviction meanwhile
// never cuts it. An entry that was never stored is closed by the GC.
type blob struct{ fd *blobFile }

type blobFile struct {
	f    *os.File
	once sync.Once
}

// blobMinBytes: below it, a dup and a close per answer cost more than the
// copy they save.
const blobMinBytes = 32 << 10

// liveBlobs counts the entries' descriptors, bounded by maxBlobs: a cache
// must never take the descriptors that viewers' connections need.
var liveBlobs atomic.Int64

var maxBlobs = sync.OnceValue(func() int64 { return openFileLimit() / 4 })

func (s *blobFile) close() {
	s.once.Do(func() {
		s.f.Close()
		liveBlobs.Add(-1)
	})
}

func newBlobOf(f *os.File) *blob {
	liveBlobs.Add(1)
	b := &blob{fd: &blobFile{f: f}}
	runtime.AddCleanup(b, (*blobFile).close, b.fd)
	return b
}

// makeBlob copies body into a new memfd; nil when the descriptors are
// spent or memfds are not available.
func makeBlob(body []byte) *blob {
	if liveBlobs.Load() >= maxBlobs() {
		return nil
	}
	f, err := memfd(body)
	if err != nil {
		return nil
	}
	return newBlobOf(f)
}

// dup is another owner's blob of the same bytes; nil when b was closed.
func (b *blob) dup() *blob {
	f, err := dupFile(b.fd.f)
	if err != nil {
		return nil
	}
	return newBlobOf(f)
}

func (b *blob) close() { b.fd.close() }

// blobSource sends a range of an answer's own dup; a SectionReader of an
// *os.File is what the HTTP/1 server sends with sendfile.
type blobSource struct {
	f    *os.File
	size int64
}

func (s blobSource) copyRange(w io.Writer, off, n int64) (int64, error) {
	if n < 0 {
		n = s.size - off
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	return io.CopyBuffer(w, io.NewSectionReader(s.f, off, n), *bp)
}
