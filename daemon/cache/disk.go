package cache

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/maypok86/otter/v2"

	"openfront.dev/internal/counting"
)

// disk is the optional disk tier: objects too large for the memory tier
// (up to a quarter of the tier each) are kept as files under Dir, indexed
// in memory by otter with the files' sizes as weights, bounded like the
// memory tier. A file is removed when its entry leaves the index. The
// files outlive the process: a start indexes what the last run left
// (disk_persist.go).
type disk struct {
	dir       string
	index     *otter.Cache[string, *entry]
	insertMu  sync.Mutex
	bytes     atomic.Int64
	limit     int64
	maxEntry  int64
	evictions atomic.Int64
	damaged   atomic.Int64
	seq       atomic.Uint64
	// lock is held while the tier is open: one cache a directory.
	lock   *os.File
	closed bool // by close, once
	now    func() time.Time
	log    *slog.Logger
}

const diskSubdir = "openfront-cache"

func newDisk(dir string, limit int64, now func() time.Time, log *slog.Logger) (*disk, map[string]diskVary, error) {
	if now == nil {
		now = time.Now
	}
	// otter's weights are 32-bit: no entry above 4 GiB.
	d := &disk{dir: filepath.Join(dir, diskSubdir), limit: limit, maxEntry: min(limit/4, 1<<32-1), now: now, log: log}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("cache: disk tier: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("cache: disk tier: %w", err)
	}
	d.lock = lock
	if err := os.MkdirAll(d.dir, 0o700); err != nil {
		d.unlock()
		return nil, nil, fmt.Errorf("cache: disk tier: %w", err)
	}
	opts := &otter.Options[string, *entry]{
		MaximumWeight: uint64(limit - d.maxEntry),
		Weigher:       func(_ string, e *entry) uint32 { return uint32(min(e.diskWeight(), 1<<32-1)) },
		ExpiryCalculator: otter.ExpiryWritingFunc(func(e otter.Entry[string, *entry]) time.Duration {
			return e.Value.retain
		}),
		OnAtomicDeletion: func(ev otter.DeletionEvent[string, *entry]) {
			d.bytes.Add(-ev.Value.diskWeight())
			if ev.Cause == otter.CauseOverflow {
				d.evictions.Add(1)
			}
			// Viewers reading it keep their open descriptor.
			removeFiles(ev.Value.file)
		},
		Executor: func(fn func()) { fn() },
		Clock:    clock{now},
	}
	idx, err := otter.New(opts)
	if err != nil {
		d.unlock()
		return nil, nil, err
	}
	d.index = idx
	marks, loaded, err := d.load()
	if err != nil {
		d.index.StopAllGoroutines()
		d.unlock()
		return nil, nil, fmt.Errorf("cache: disk tier: %w", err)
	}
	if loaded > 0 || d.damaged.Load() > 0 {
		log.Info("disk tier: loaded the objects of the last run", "dir", d.dir, "objects", loaded, "bytes", d.bytes.Load(), "damagedRemoved", d.damaged.Load())
	}
	return d, marks, nil
}

// diskWeight counts the file and the entry's header.
func (e *entry) diskWeight() int64 { return e.size + int64(e.weight) }

func (d *disk) get(key string) *entry {
	e, _ := d.index.GetIfPresent(key)
	return e
}

func (d *disk) del(key string) { d.index.Invalidate(key) }

// drop removes e, its file with it, unless its key holds another entry by
// now (stored by a fetch that followed).
func (d *disk) drop(e *entry) {
	d.index.ComputeIfPresent(e.diskKey, func(cur *entry) (*entry, otter.ComputeOp) {
		if cur != e {
			return cur, otter.CancelOp
		}
		return nil, otter.InvalidateOp
	})
}

// tempFile is where a body being fetched is written.
func (d *disk) tempFile() (*os.File, error) {
	return os.Create(filepath.Join(d.dir, "tmp-"+strconv.FormatUint(d.seq.Add(1), 36)))
}

// put moves the file at path into the tier as e's body, with its
// description.
func (d *disk) put(key string, e *entry, path string) bool {
	if e.diskWeight() > d.maxEntry {
		os.Remove(path)
		return false
	}
	e.file = filepath.Join(d.dir, "obj-"+strconv.FormatUint(d.seq.Add(1), 36))
	e.diskKey = key
	if err := d.writeMeta(key, e); err != nil {
		d.log.Warn("disk tier: an object's description could not be written, so it is not kept", "err", err)
		os.Remove(path)
		return false
	}
	if err := os.Rename(path, e.file); err != nil {
		removeFiles(e.file)
		os.Remove(path)
		return false
	}
	d.insert(key, e)
	return true
}

// insert indexes e, evicting what the bound needs.
func (d *disk) insert(key string, e *entry) {
	d.insertMu.Lock()
	defer d.insertMu.Unlock()
	d.bytes.Add(e.diskWeight())
	d.index.Set(key, e)
	d.index.CleanUp()
}

func (d *disk) stats() (bytes, entries, evictions int64) {
	return d.bytes.Load(), int64(d.index.EstimatedSize()), d.evictions.Load()
}

// relink stores n, a revalidated old, with its own link to old's file, so
// removing old's file when it leaves the index keeps n's.
func (d *disk) relink(key string, old, n *entry) bool {
	path := filepath.Join(d.dir, "tmp-"+strconv.FormatUint(d.seq.Add(1), 36))
	if err := os.Link(old.file, path); err != nil {
		return false
	}
	return d.put(key, n, path)
}

// close leaves the files for the next start, with the Vary marks its
// variants are found through.
func (d *disk) close(marks map[string]diskVary) {
	if d.closed {
		return
	}
	d.closed = true
	if err := d.writeMarks(marks); err != nil {
		d.log.Warn("disk tier: Vary marks not saved; the next start drops the variants", "err", err)
	}
	d.index.StopAllGoroutines()
	d.unlock()
}

// unlock lets another cache use the directory; once.
func (d *disk) unlock() {
	if d.lock != nil {
		d.lock.Close()
		d.lock = nil
	}
}

// fileSource reads a disk entry's body, size bytes, through a descriptor
// opened before the answer starts, so an eviction meanwhile does not cut it.
type fileSource struct {
	f    *os.File
	size int64
}

func (s fileSource) copyRange(w io.Writer, off, n int64) (int64, error) {
	if n < 0 {
		n = s.size - off
	}
	return copySection(w, s.f, off, n)
}

// errShortFile: a cache file ended before the bytes it holds.
var errShortFile = fmt.Errorf("cut short: %w", io.ErrUnexpectedEOF)

// copySection writes n bytes of f from off: as a SectionReader of an
// *os.File, which the HTTP/1 server sends with sendfile, through a pooled
// buffer for other writers. A file shorter than that (cut by something
// other than the cache) is an error, not a short answer that passes for
// a whole one.
func copySection(w io.Writer, f *os.File, off, n int64) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	m, err := io.CopyBuffer(w, io.NewSectionReader(f, off, n), *bp)
	if err == nil && m < n {
		err = fmt.Errorf("cache file %s ended after %d of %d bytes: %w", f.Name(), m, n, errShortFile)
	}
	return m, err
}

// serveEntry answers from a stored entry of either tier. A disk entry
// whose file is gone (evicted just now) or cut short answers nothing: ok
// is false, and so is it for one whose file cannot be opened for want of
// descriptors now (errUnopened). A cut file is dropped, found before the answer or during it,
// so that the next request fetches the object again.
func (c *Cache) serveEntry(w http.ResponseWriter, r *http.Request, e *entry, x []string, age time.Duration) (Result, bool) {
	if e.blob != nil {
		b := e.blob.h.b
		if !b.acquire() {
			return Result{Err: errBlobClosed}, false // evicted just now
		}
		defer b.release()
		rp := e.rep
		rp.src = b
		return serve(w, r, &rp, x, age), true
	}
	if e.file == "" {
		return serve(w, r, &e.rep, x, age), true
	}
	f, err := os.Open(e.file)
	if err != nil {
		if !errors.Is(err, syscall.EMFILE) && !errors.Is(err, syscall.ENFILE) {
			return Result{Err: err}, false // gone (evicted just now), or unreadable: dropped
		}
		// Out of descriptors: the object is kept, not fetched and written
		// again while descriptors are short (errUnopened). Said once a
		// minute at most: every viewer meets it meanwhile.
		if now, last := c.now().Unix(), c.unopenedLogged.Load(); now-last >= 60 && c.unopenedLogged.CompareAndSwap(last, now) {
			c.cfg.Log.Warn("disk tier: cached objects' files cannot be opened: out of file descriptors (raise the limit: LimitNOFILE, ulimit -n); their viewers get the origin's answers meanwhile", "err", err)
		}
		return Result{Err: fmt.Errorf("%w: %w", errUnopened, err)}, false
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil || fi.Size() < e.size {
		if err == nil {
			err = fmt.Errorf("cache file %s has %d of %d bytes: %w", e.file, fi.Size(), e.size, errShortFile)
		}
		c.dropDisk(e, err)
		return Result{Err: err}, false
	}
	rp := e.rep
	rp.src = fileSource{f, e.size}
	res := serve(w, r, &rp, x, age)
	if errors.Is(res.Err, errShortFile) {
		c.dropDisk(e, res.Err)
	}
	return res, true
}

// errUnopened: a disk entry's file is there but could not be opened.
var errUnopened = errors.New("cache file not opened")

// dropDisk removes a disk entry whose file cannot be served whole.
func (c *Cache) dropDisk(e *entry, err error) {
	c.cfg.Log.Warn("disk tier: dropped an entry whose file is damaged", "err", err)
	c.disk.damaged.Add(1)
	c.disk.drop(e)
}

// toDisk says a storable response goes to the disk tier.
func (c *Cache) toDisk(resp *http.Response, d decision) bool {
	return c.disk != nil && d.store && resp.ContentLength > c.maxObject && resp.ContentLength+64<<10 <= c.disk.maxEntry
}

// leadDisk streams a large response to the viewer and the waiters while
// writing it to the disk tier. A viewer that asked for a range of a body
// kept as it came gets it from the origin at once, while the whole object
// is fetched for the tier.
func (c *Cache) leadDisk(w http.ResponseWriter, r *http.Request, f *flight, lk, primary string, p Policy, fetch FetchFunc, resp *http.Response, ctx context.Context, cancel context.CancelFunc, cc directives, d decision, requestTime time.Time, t ticket, settle func(outcome, bool)) Result {
	file, err := c.disk.tempFile()
	if err != nil {
		c.cfg.Log.Warn("disk tier", "err", err)
		settle(outcome{pass: true, large: true}, false)
		defer cancel()
		return relay(w, r, p, resp, true)
	}
	header := storedHeader(resp.Header, cc)
	// A compressed variant goes to disk compressed, as to memory.
	enc, size := codedHeader(r, p, resp, cc, header)
	// limit 0: nothing is kept in memory, only the window readers need.
	o := outcome{st: newStream(size, 0, c.cfg.StreamWindow), key: primary}
	if names := varyNames(header, p); len(names) > 0 {
		o.names, o.gen = names, c.varyMark(primary, names)
		o.key = variantKey(primary, o.gen, names, r, p)
	}
	o.rp = newRep(resp.StatusCode, header, size, nil)
	o.age = missAge(resp.Header, requestTime, c.now())
	// A range of what the cache compresses is not the origin's to answer,
	// nor are preconditions: its range would be of the identity body, the
	// stored variant's of the compressed one. As in the memory tier, the
	// stream answers (serve answers no range of unknown length: the whole
	// compressed object goes at once).
	ranged := enc == "" && (r.Header.Get("Range") != "" || hasConditionals(r.Header))
	var cur *cursor
	if !ranged && r.Method == http.MethodGet {
		cur, _ = o.st.attach()
	}
	c.reserveCursors(f, &o)
	c.addFlight(f, o.key)
	settle(o, true)
	c.bg.Add(1)
	go c.fillDisk(ctx, cancel, f, o, primary, resp, enc, file, cc, d, requestTime, c.retain(t))
	c.stats.misses.Add(1)
	lo := o
	lo.rp = leaderRep(o.rp, resp.Header, cc)
	if cur != nil {
		return c.serveStream(w, r, lo, cur)
	}
	if r.Method == http.MethodHead && !ranged {
		return serve(w, r, lo.rp, xMiss, o.age)
	}
	return c.lead(w, r, nil, lk, primary, nil, p, fetch, &entry{kind: kindPass, large: true})
}

func (c *Cache) fillDisk(ctx context.Context, cancel context.CancelFunc, f *flight, o outcome, primary string, resp *http.Response, enc string, file *os.File, cc directives, d decision, requestTime time.Time, t ticket) {
	defer c.bg.Done()
	defer c.endFill(t)
	defer cancel()
	defer resp.Body.Close()
	// stored counts the bytes kept, n those the origin sent.
	tee := &teeToStream{f: file, st: o.st}
	stored := &counting.Writer{W: tee}
	var dst io.Writer = stored
	var comp *compressor
	if enc != "" {
		comp = newCompressor(enc, stored)
		dst = comp
	}
	bp := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(dst, onlyReader{resp.Body}, *bp)
	copyBufs.Put(bp)
	if err == nil && comp != nil {
		err = comp.close()
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err == nil && n != resp.ContentLength {
		err = io.ErrUnexpectedEOF
	}
	if err != nil || tee.fileErr != nil {
		os.Remove(file.Name())
		c.land(f)
		o.st.finish(err)
		if tee.fileErr != nil {
			c.cfg.Log.Warn("disk tier: an object's file could not be written, so it is not kept", "err", tee.fileErr)
		} else if ctx.Err() == nil {
			c.cfg.Log.Debug("origin body", "err", err)
		}
		return
	}
	now := c.now()
	e := newObject(o.key, resp.StatusCode, maps.Clone(o.rp.header), nil, cc, d, initialAge(resp.Header, requestTime, now), now, c.cfg.KeepStale)
	e.setSize(stored.N)
	if enc != "" {
		e.transformed, e.originETag = true, resp.Header.Get("Etag")
	}
	if len(o.names) > 0 {
		e.diskVary = &diskVary{Primary: primary, Names: o.names, Gen: o.gen}
	}
	invalidated := true // meanwhile: the file is not kept
	c.storeUnlessInvalidated(t, func() bool {
		invalidated = false
		if !c.disk.put(o.key, e, file.Name()) {
			return false // put removed the file
		}
		c.mem.del(o.key) // an older copy in memory would shadow it
		return true
	})
	if invalidated {
		os.Remove(file.Name())
	}
	c.land(f)
	o.st.finish(nil)
}

// teeToStream writes to the file and to the stream's readers; when the
// readers are all gone the file still gets the whole body. A file that
// fails (the disk full) is given up, not the answer: the readers still
// get the whole body, which is then not kept (fileErr).
type teeToStream struct {
	f       *os.File
	st      *stream
	fileErr error
}

func (t *teeToStream) Write(p []byte) (int, error) {
	if t.fileErr == nil {
		if _, err := t.f.Write(p); err != nil {
			t.fileErr = err
		}
	}
	if _, err := t.st.Write(p); err != nil {
		if !errors.Is(err, errNoReaders) {
			return 0, err
		}
		if t.fileErr != nil {
			return 0, t.fileErr // nobody left to take the rest
		}
	}
	return len(p), nil
}
