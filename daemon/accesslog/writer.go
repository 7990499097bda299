package accesslog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	kgzip "github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"

	"openfront.dev/internal/counting"
	"openfront.dev/schema"
)

// Log files and the directories made for them are kept from other users
// (logs hold viewers' addresses, cookies and signed query strings): the
// owner writes, a log-reading group reads, as Debian's nginx logs (0640,
// group adm). The umask may take more away.
const (
	fileMode = 0o640
	dirMode  = 0o750
)

// Options are a node's settings for every writer.
type Options struct {
	Dir      string // --log-dir: files go to Dir/PREFIX/
	NodeName string // x-edge-location
	// Metrics are shared by the writers. When nil, NewManager makes them
	// on Registerer, and a Writer made by New alone keeps them unregistered.
	Metrics    *Metrics
	Registerer prometheus.Registerer
	Logger     *slog.Logger

	BufferBytes   int           // queued per writer, requests counted with the bytes they hold; default 4 MiB (4,000 to 8,000 requests)
	FlushInterval time.Duration // longest a line waits to be acknowledged; default 1s
	RotateEvery   time.Duration // default 5m; files are also cut at every hour
	MaxFileBytes  int64         // compressed; default 64 MiB
	SpoolBytes    int64         // closed files waiting for upload, per distribution; default 1 GiB
	MinBackoff    time.Duration // first retry of a failed upload; default 1s
	MaxBackoff    time.Duration // default 5m
	// Credentials sign uploads; nil uses the standard AWS sources
	// (environment, shared files, logging.credentialsProfile).
	Credentials aws.CredentialsProvider
	HTTPClient  *http.Client
	Now         func() time.Time // the clock; tests inject one

	beforeSync func() error // tests: a slow or failing disk
	writeBuf   int          // tests: a small buffer writes members in pieces
}

func (o Options) withDefaults() Options {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.BufferBytes <= 0 {
		o.BufferBytes = 4 << 20
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = time.Second
	}
	if o.RotateEvery <= 0 {
		o.RotateEvery = 5 * time.Minute
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 64 << 20
	}
	if o.SpoolBytes <= 0 {
		o.SpoolBytes = 1 << 30
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.writeBuf <= 0 {
		o.writeBuf = 64 << 10
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: 5 * time.Minute}
	}
	return o
}

// Config is one distribution's logging.
type Config struct {
	ID      string // the distribution id, the start of every file name
	Domain  string // cs(Host)
	Logging schema.Logging
	Format  Format // zero: Web
}

// memberBytes is how much a member takes in before it is closed even
// when FlushInterval has not passed: it bounds what a torn member loses.
// Such a member is acknowledged at the next tick's fsync, not at once: an
// fsync blocks its thread for milliseconds, and with one core
// (GOMAXPROCS=1) the runtime can take that long to serve requests on
// another one.
const memberBytes = 256 << 10

// Writer writes one distribution's log files. Log is safe for concurrent
// use and never blocks; everything else belongs to the background goroutine.
type Writer struct {
	opts Options
	cfg  Config
	dir  string // Dir/PREFIX
	// dirs are where w looks for its files: dir, then the directories in
	// which an earlier run left this distribution's files (oldDirs).
	dirs      []string
	m         *distMetrics
	log       *slog.Logger
	format    atomic.Pointer[lineFormat]
	header    []byte
	tag       string    // the gzip comment of its files: uploadTag
	up        *uploader // nil without a bucket
	successor atomic.Pointer[Writer]

	queue     lineQueue
	flushReq  chan chan error
	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once

	// Owned by the loop goroutine.
	spare      []byte   // the queue's other buffer
	spareRecs  []Record // and other records
	formatted  []byte   // lines of the records taken
	escaped    *escapeCache
	f          *os.File
	tmp, final string
	hour       [hourKeyLen]byte // the date and hour fields of f's lines: the hour in its name
	// late holds lines of an hour before f's (requests that finished as
	// the hour turned, logged after later ones): the next tick writes
	// them to a file of their own, so lines of two hours mixed at the
	// turn make a few files, not one per switch.
	late        []byte
	flushing    bool      // flushLate is writing late: add writes, not holds
	size        int64     // bytes of acknowledged members in f
	lines       int       // their lines
	pending     int64     // bytes of closed members after them, not yet fsynced
	pendingN    int       // their lines
	start       time.Time // the period of f: [start, deadline)
	deadline    time.Time
	memberLines int             // lines in the open member, 0: none open
	memberIn    int             // their bytes, uncompressed
	memberErr   error           // a write of the open member failed
	cw          counting.Writer // what the open member wrote to f
	gz          *kgzip.Writer
	bw          *bufio.Writer
	lastErr     error // a write failure since the last Flush
	failing     bool  // logged once until writing works again

	problems problems // for /status
}

// New starts a writer: it recovers the distribution's files a crash left
// as .tmp, and queues its closed files for upload when a bucket is set.
func New(opts Options, cfg Config) (*Writer, error) {
	opts = opts.withDefaults()
	if opts.Dir == "" {
		return nil, errors.New("access logs need a log directory")
	}
	if cfg.Format.Fields == nil {
		cfg.Format = Web
	}
	prefix, err := normPrefix(cfg.Logging.Prefix)
	if err != nil {
		return nil, err
	}
	if opts.Metrics == nil {
		if opts.Metrics, err = NewMetrics(nil); err != nil {
			return nil, err
		}
	}
	w := &Writer{
		opts:     opts,
		cfg:      cfg,
		dir:      filepath.Join(opts.Dir, filepath.FromSlash(prefix)),
		m:        opts.Metrics.forDistribution(cfg.ID),
		log:      opts.Logger.With("distribution", cfg.ID),
		header:   cfg.Format.Header(),
		tag:      uploadTag(cfg.Logging),
		queue:    lineQueue{maxBytes: opts.BufferBytes, wake: make(chan struct{}, 1)},
		flushReq: make(chan chan error),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
		bw:       bufio.NewWriterSize(nil, opts.writeBuf),
		escaped:  newEscapeCache(),
	}
	// The fastest level: the CPU is for viewers, and log lines compress well
	// anyway. klauspost's gzip writes the same members as compress/gzip
	// (recovery reads them with compress/gzip) at about half its CPU.
	w.gz, _ = kgzip.NewWriterLevel(nil, kgzip.BestSpeed)
	w.setFormat(cfg)
	if err := os.MkdirAll(w.dir, dirMode); err != nil {
		return nil, fmt.Errorf("access log directory: %w", err)
	}
	if cfg.Logging.Bucket != "" {
		if w.up, err = newUploader(w); err != nil {
			return nil, err
		}
	}
	w.dirs = append([]string{w.dir}, oldDirs(opts.Dir, cfg.ID, w.dir)...)
	if err := w.recoverFiles(); err != nil {
		return nil, err
	}
	if w.up != nil {
		w.rescan()
		go w.up.run()
	}
	go w.loop()
	return w, nil
}

// setFormat changes what lines carry besides the record (domain, cookies)
// without touching files: a config change that needs no new writer.
func (w *Writer) setFormat(cfg Config) {
	w.format.Store(newLineFormat(w.opts.NodeName, cfg.Domain, cfg.Logging.IncludeCookies))
}

// sameFiles says whether cfg writes and uploads where w does.
func (w *Writer) sameFiles(cfg Config) bool {
	a, b := w.cfg.Logging, cfg.Logging
	return w.cfg.ID == cfg.ID && w.cfg.Format.Name == cfg.Format.Name && a.Prefix == b.Prefix && a.Bucket == b.Bucket &&
		a.Endpoint == b.Endpoint && a.Region == b.Region && a.CredentialsProfile == b.CredentialsProfile
}

// normPrefix applies CloudFront's rule (a prefix that does not end in "/"
// gets one) and refuses what would leave the log directory.
func normPrefix(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	if strings.HasPrefix(p, "/") || strings.ContainsAny(p, "\\\x00") {
		return "", fmt.Errorf("logging prefix %q: must be a relative path", p)
	}
	for _, el := range strings.Split(strings.TrimSuffix(p, "/"), "/") {
		if el == "" || el == "." || el == ".." {
			return "", fmt.Errorf("logging prefix %q: empty, . and .. path elements are not allowed", p)
		}
	}
	return p, nil
}

// Log queues r, which the background goroutine formats; it returns false
// when the line was dropped (the queue is full, or the writer closed with
// no successor). The record is copied, not formatted: between two
// requests, whose system calls evict the formatter's code and tables from
// the processor's caches, formatting cost twice what it costs in a
// benchmark loop; the goroutine formats a batch in a row. r's strings are
// kept as they are: Go strings do not change, and a request's are not
// reused.
func (w *Writer) Log(r *Record) bool {
	return w.queued(w.queue.pushRecord(r), func(s *Writer) bool { return s.Log(r) })
}

func (w *Writer) enqueue(line []byte) bool {
	return w.queued(w.queue.push(line), func(s *Writer) bool { return s.enqueue(line) })
}

// queued counts what a push could not queue; a request that began on
// the old table logs into the writer that replaced this one (again).
func (w *Writer) queued(res pushResult, again func(*Writer) bool) bool {
	switch res {
	case queued:
		return true
	case full:
		w.m.dropFull.Inc()
		return false
	}
	if s := w.successor.Load(); s != nil {
		return again(s)
	}
	w.m.dropClosed.Inc()
	return false
}

// lineQueue is the bounded buffer between requests and the background
// goroutine: web records, and formatted lines (streaming events). A push
// is a short critical section (a copy); the goroutine polls, and a push
// wakes it only once wakeBytes are waiting, so a request seldom pays for
// a wake-up and the goroutine takes dozens of lines in one piece.
type lineQueue struct {
	mu       sync.Mutex
	buf      []byte   // formatted lines
	lines    int      // in buf
	recs     []Record // to format
	size     int      // buf's bytes, and what each record counts for
	maxBytes int
	closed   bool
	wake     chan struct{}
}

// A queued record counts for recordBytes against the queue's bound (it
// takes 330 bytes, and makes a line of about that) plus the request bytes
// its strings keep alive: daemon/http1 slices every field out of one string
// of the request's head, up to 20 KiB. The request's cs-bytes stands for
// them, capped at maxHeldBytes for a request that also sent a body.
const (
	recordBytes  = 384
	maxHeldBytes = 32 << 10
)

// wakeBytes is how much waiting wakes the goroutine before its poll:
// 15 to 35 requests, 40 to 70 streaming lines. Small batches are worked
// through while the processor's caches still hold them: with lines queued
// in 512 KiB batches (the old value) gzip cost twice as much a line on a
// busy node, its input and tables evicted by the requests served in
// between (profiles in docs/benchmarks.md).
const wakeBytes = 16 << 10

type pushResult int

const (
	queued pushResult = iota
	full
	closedQueue
)

func (q *lineQueue) push(line []byte) pushResult {
	return q.add(len(line), func() {
		q.buf = append(q.buf, line...)
		q.lines++
	})
}

func (q *lineQueue) pushRecord(r *Record) pushResult {
	held := min(max(r.BytesIn, 0), maxHeldBytes)
	return q.add(recordBytes+int(held), func() { q.recs = append(q.recs, *r) })
}

// add runs put, which queues n bytes, unless the queue is closed or full.
func (q *lineQueue) add(n int, put func()) pushResult {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return closedQueue
	}
	before := q.size
	if before+n > q.maxBytes {
		q.mu.Unlock()
		return full
	}
	put()
	q.size += n
	q.mu.Unlock()
	if w := min(wakeBytes, q.maxBytes/2); before < w && before+n >= w {
		select {
		case q.wake <- struct{}{}:
		default:
		}
	}
	return queued
}

// take returns what is queued, leaving the spares (emptied) in its place.
func (q *lineQueue) take(spareBuf []byte, spareRecs []Record) (buf []byte, lines int, recs []Record) {
	q.mu.Lock()
	buf, lines, recs = q.buf, q.lines, q.recs
	q.buf, q.lines, q.recs, q.size = spareBuf[:0], 0, spareRecs[:0], 0
	q.mu.Unlock()
	return buf, lines, recs
}

// empty reports whether nothing is queued.
func (q *lineQueue) empty() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.size == 0
}

func (q *lineQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

// ErrClosed is returned by Flush on a closed writer.
var ErrClosed = errors.New("access log writer closed")

// Flush returns once every line logged before it is acknowledged to disk
// (in an fsynced gzip member), or with the write error that dropped some.
func (w *Writer) Flush(ctx context.Context) error {
	reply := make(chan error, 1)
	select {
	case w.flushReq <- reply:
	case <-w.done:
		return ErrClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close flushes every queued line, closes the current file and, with a
// bucket, uploads what is pending until ctx ends. Lines logged afterwards
// are dropped.
func (w *Writer) Close(ctx context.Context) error {
	w.closeLocal()
	if w.up == nil {
		return nil
	}
	return w.up.drainAndStop(ctx)
}

// closeLocal stops taking lines and finishes the files; it is fast (local
// disk only).
func (w *Writer) closeLocal() {
	w.closeOnce.Do(func() {
		w.queue.close()
		close(w.stop)
		<-w.done
	})
}

// pollInterval is the longest a queued line waits for the goroutine.
const pollInterval = 50 * time.Millisecond

func (w *Writer) loop() {
	defer close(w.done)
	tick := time.NewTicker(w.opts.FlushInterval)
	defer tick.Stop()
	poll := time.NewTicker(min(pollInterval, w.opts.FlushInterval))
	defer poll.Stop()
	for {
		select {
		case <-w.queue.wake:
			w.drain()
		case <-poll.C:
			w.drain()
		case <-tick.C:
			w.drain()
			w.tick()
		case reply := <-w.flushReq:
			w.drain()
			w.tick()
			reply <- w.lastErr
			w.lastErr = nil
		case <-w.stop:
			w.drain()
			w.flushLate()
			w.finish()
			return
		}
	}
}

// drain takes every line queued now, formatting the records.
func (w *Writer) drain() {
	for {
		batch, n, recs := w.queue.take(w.spare, w.spareRecs)
		if n > 0 {
			w.addByHour(batch)
		}
		if len(recs) > 0 {
			f := w.format.Load()
			w.formatted = w.formatted[:0]
			from, runHour := 0, recs[0].Time.Truncate(time.Hour)
			for i := range recs {
				if t := recs[i].Time; t.Before(runHour) || !t.Before(runHour.Add(time.Hour)) {
					w.add(w.formatted, i-from) // the run of lines of one hour
					w.formatted, from, runHour = w.formatted[:0], i, t.Truncate(time.Hour)
				}
				w.formatted = f.appendLineWith(w.formatted, &recs[i], w.escaped)
			}
			w.add(w.formatted, len(recs)-from)
			clear(recs) // the requests' strings can go
		}
		w.spare, w.spareRecs = batch, recs
		if n == 0 && len(recs) == 0 {
			return
		}
	}
}

func (w *Writer) tick() {
	if len(w.late) > 0 {
		w.flushLate()
		return
	}
	if w.expired(w.opts.Now()) {
		w.finish()
		return
	}
	w.flushAndRotate()
}

// hourKeyLen is the length of the date and hour a line starts with,
// "YYYY-MM-DD\tHH" (web and streaming lines alike).
const hourKeyLen = len("2006-01-02\t15")

// addByHour writes formatted lines, each run of one hour apart (add).
func (w *Writer) addByHour(lines []byte) {
	for len(lines) > 0 {
		key := lines[:min(hourKeyLen, len(lines))]
		end, n := 0, 0
		for end < len(lines) && (n == 0 || bytes.HasPrefix(lines[end:], key)) {
			i := bytes.IndexByte(lines[end:], '\n')
			if i < 0 { // never: every line ends in a newline
				end = len(lines)
			} else {
				end += i + 1
			}
			n++
		}
		w.add(lines[:end], n)
		lines = lines[end:]
	}
}

// add writes n lines, all of one hour, into open members, each closed once
// it took in memberBytes: a large batch is cut at the line that fills a
// member.
//
// A file holds the lines of the hour in its name, that of their date and
// time fields, not the hour they are written in: CloudFront (Developer
// Guide, "Standard logging reference", log file delivery) saves delayed
// entries "in a log file whose file name includes the date and time of
// the period in which the requests occurred, not the date and time when
// the file was delivered". Lines of a later hour close the file, lines of
// an earlier one wait in late for the next tick (flushLate); lines of its
// hour that come after the hour ended (requests logged as it turned)
// still go in, and the next tick closes it.
func (w *Writer) add(lines []byte, n int) {
	if len(lines) < hourKeyLen { // never: a line starts with its date and time
		w.m.dropWrite.Add(float64(n))
		return
	}
	hour := lines[:hourKeyLen]
	if w.f != nil && !w.flushing && string(hour) < string(w.hour[:]) {
		// "YYYY-MM-DD\tHH" sorts as the hours do.
		w.late = append(w.late, lines...)
		if len(w.late) >= memberBytes {
			w.flushLate()
		}
		return
	}
	now := w.opts.Now()
	if w.f != nil && (string(hour) != string(w.hour[:]) || w.expired(now) && w.fileHour().Equal(now.Truncate(time.Hour))) {
		w.finish()
	}
	for len(lines) > 0 {
		piece, k := lines, n
		if room := memberBytes - w.memberIn; room > 0 && len(piece) > room {
			if i := bytes.IndexByte(piece[room-1:], '\n'); i >= 0 {
				piece = piece[:room+i]
				k = bytes.Count(piece, []byte{'\n'})
			}
		}
		lines, n = lines[len(piece):], n-k
		if w.f == nil {
			if err := w.open(now, hour); err != nil {
				w.failed(err, k+n)
				return
			}
		}
		if w.memberLines == 0 {
			w.startMember()
		}
		if w.memberErr == nil {
			_, w.memberErr = w.gz.Write(piece)
		}
		w.memberLines += k
		w.memberIn += len(piece)
		if w.memberIn >= memberBytes {
			w.closeMember()
			if w.f != nil && w.size+w.pending >= w.opts.MaxFileBytes {
				w.finish()
			}
		}
	}
}

// flushLate closes the open file and writes the late lines to files of
// their hours, which it closes too: the lines that follow open a file of
// their own hour again.
func (w *Writer) flushLate() {
	if len(w.late) == 0 {
		return
	}
	w.finish()
	w.flushing = true
	w.addByHour(w.late)
	w.finish()
	w.flushing = false
	w.late = w.late[:0]
}

// expired says whether the open file's period is over at now, or not yet
// begun: the clock stepped back before it, and a file left open would
// take the lines of another hour and wait for the clock to catch up.
func (w *Writer) expired(now time.Time) bool {
	return w.f != nil && (!now.Before(w.deadline) || now.Before(w.start))
}

// fileHour is the hour of the open file's lines.
func (w *Writer) fileHour() time.Time {
	t, _ := time.Parse("2006-01-02\t15", string(w.hour[:]))
	return t
}

// open starts a file for lines of hour ("YYYY-MM-DD\tHH").
func (w *Writer) open(now time.Time, hour []byte) error {
	now = now.UTC()
	name := strings.Replace(string(hour), "\t", "-", 1)
	base := fmt.Sprintf("%s.%s.%s.gz", w.cfg.ID, name, uniqueID())
	final := filepath.Join(w.dir, base)
	tmp := final + ".tmp"
	if _, loaded := claims.LoadOrStore(tmp, w); loaded {
		return fmt.Errorf("log file %s is in use", tmp)
	}
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, fileMode)
	if err != nil {
		claims.Delete(tmp)
		return err
	}
	w.f, w.tmp, w.final, w.size, w.pending, w.pendingN, w.lines = f, tmp, final, 0, 0, 0, 0
	copy(w.hour[:], hour)
	// The period of RotateEvery around now, never outside the hour in the name.
	period, nowHour := now.Truncate(w.opts.RotateEvery), now.Truncate(time.Hour)
	if fileHour := w.fileHour(); !fileHour.Equal(nowHour) {
		// Lines of another hour than the clock's (late ones, or a clock
		// that stepped): the next tick closes the file.
		w.start, w.deadline = fileHour, fileHour.Add(time.Hour)
		return nil
	}
	w.start = period
	if w.start.Before(nowHour) {
		w.start = nowHour
	}
	w.deadline = period.Add(w.opts.RotateEvery)
	if end := nowHour.Add(time.Hour); w.deadline.After(end) {
		w.deadline = end
	}
	return nil
}

// startMember opens a gzip member at the end of f. Lines are compressed
// into it as they come; until flushMember closes and fsyncs it, it is not
// acknowledged, and a crash leaves at most a torn member for recovery to cut.
func (w *Writer) startMember() {
	w.cw = counting.Writer{W: w.f}
	w.bw.Reset(&w.cw)
	w.gz.Reset(w.bw)
	w.memberErr = nil
	if w.size+w.pending == 0 { // closed members not yet fsynced hold it already
		// The first member's gzip comment names the bucket the file is
		// for, which a later run reads if the distribution is gone.
		w.gz.Comment = w.tag
		_, w.memberErr = w.gz.Write(w.header) // every file starts with the header lines
	}
}

// closeMember ends the open member: its lines are in f, whole, but not
// acknowledged until flushMember's fsync. A member whose write failed is
// cut off again.
func (w *Writer) closeMember() {
	if w.memberLines == 0 || w.f == nil {
		return
	}
	n := w.memberLines
	w.memberLines, w.memberIn = 0, 0
	err := w.memberErr
	if err == nil {
		err = w.gz.Close()
	}
	if err == nil {
		err = w.bw.Flush()
	}
	if err != nil {
		w.failed(fmt.Errorf("write %s: %w", w.tmp, err), n)
		if w.cw.N > 0 {
			w.cut(w.size + w.pending)
		}
		return
	}
	w.pending += w.cw.N
	w.pendingN += n
}

// flushMember closes the open member and fsyncs: from then on the lines
// of every closed member are acknowledged. If the fsync fails they are cut
// off again.
func (w *Writer) flushMember() {
	w.closeMember()
	if w.pendingN == 0 || w.f == nil {
		return
	}
	n := w.pendingN
	w.pendingN = 0
	var err error
	if w.opts.beforeSync != nil {
		err = w.opts.beforeSync()
	}
	if err == nil {
		err = w.f.Sync()
	}
	if err != nil {
		w.pending = 0
		w.failed(fmt.Errorf("write %s: %w", w.tmp, err), n)
		w.cut(w.size)
		return
	}
	w.size += w.pending
	w.lines += n
	w.pending = 0
	w.m.written.Add(float64(n))
	if w.failing {
		w.failing = false
		w.problems.set(&w.problems.write, nil)
		w.log.Info("access log writing works again", "file", w.tmp)
	}
}

// cut truncates f to its first size bytes after a failed write; if even
// that fails the file is left to the next start's recovery, which cuts it
// at its last whole member.
func (w *Writer) cut(size int64) {
	if err := w.f.Truncate(size); err != nil {
		w.log.Error("access log file abandoned", "file", w.tmp, "err", err)
		w.f.Close()
		claims.Delete(w.tmp)
		w.f = nil
	}
}

// flushAndRotate writes the member and closes a file that is full.
func (w *Writer) flushAndRotate() {
	w.flushMember()
	if w.f != nil && w.size >= w.opts.MaxFileBytes {
		w.finish()
	}
}

func (w *Writer) failed(err error, lines int) {
	w.m.dropWrite.Add(float64(lines))
	w.lastErr = err
	w.problems.set(&w.problems.write, err)
	if !w.failing {
		w.failing = true
		w.log.Error("access log lines dropped", "err", err)
	}
}

// finish closes the current file: the rest as a last member, then the
// rename to the final name, which a crash can never leave half written.
func (w *Writer) finish() {
	if w.f == nil {
		return
	}
	w.flushMember()
	if w.f == nil { // abandoned
		return
	}
	w.f.Close()
	tmp, final := w.tmp, w.final
	w.f = nil
	defer claims.Delete(tmp)
	if w.size == 0 {
		os.Remove(tmp)
		return
	}
	if err := os.Rename(tmp, final); err != nil {
		w.log.Error("access log file not closed; the next start recovers it", "file", tmp, "err", err)
		return
	}
	syncDir(w.dir)
	w.m.filesClosed.Inc()
	if w.up != nil {
		w.up.addLines(final, w.size, w.lines)
	}
}

// recoverFiles closes the .tmp files of this distribution that no writer of
// this process holds: what a crash left.
func (w *Writer) recoverFiles() error {
	tmps, err := w.ownFiles(".gz.tmp")
	if err != nil {
		return err
	}
	synced := map[string]bool{}
	for _, f := range tmps {
		tmp := f.path
		if _, held := claims.LoadOrStore(tmp, w); held {
			continue
		}
		kept, err := recoverFile(tmp)
		claims.Delete(tmp)
		if err != nil {
			w.log.Error("access log file not recovered", "file", tmp, "err", err)
			continue
		}
		if kept > 0 {
			w.log.Info("recovered access log file after a crash", "file", strings.TrimSuffix(tmp, ".tmp"), "bytes", kept)
			w.m.filesClosed.Inc()
		}
		if dir := filepath.Dir(tmp); !synced[dir] {
			syncDir(dir)
			synced[dir] = true
		}
	}
	return nil
}

// dirIndex is, for one log directory, the directories under it that hold
// each distribution's files, as the process found them at its first
// writer: one walk of the tree, however many distributions. A
// distribution's first writer takes its entry, for files an earlier run
// left under another prefix (the prefix changed, or the node stopped
// before uploading), which it recovers and uploads under their own
// prefix's keys. Later writers, after a reload, find none: the process
// itself saw to its files.
type dirIndex struct {
	once sync.Once
	mu   sync.Mutex
	byID map[string][]string
}

var dirIndexes sync.Map // log directory: *dirIndex

// oldDirs takes, once a process, the directories under root other than
// own that hold files of distribution id.
func oldDirs(root, id, own string) []string {
	ix := indexOf(root)
	ix.mu.Lock()
	defer ix.mu.Unlock()
	dirs := slices.DeleteFunc(ix.byID[id], func(d string) bool { return d == own })
	ix.byID[id] = nil // taken
	return dirs
}

func indexDirs(root string) map[string][]string {
	byID := map[string][]string{}
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil // an unreadable directory is skipped
		}
		id, ok := fileDistribution(strings.TrimSuffix(d.Name(), ".tmp"))
		if dir := filepath.Dir(p); ok && !slices.Contains(byID[id], dir) {
			byID[id] = append(byID[id], dir)
		}
		return nil
	})
	return byID
}

// spooled is one of a writer's files on disk.
type spooled struct {
	path string
	size int64
	mod  time.Time
}

// ownFiles are the regular files of w's distribution whose name ends in
// suffix (".gz": closed; ".gz.tmp": being written or torn) in w.dirs,
// oldest first; the error is reading w's own directory.
func (w *Writer) ownFiles(suffix string) ([]spooled, error) {
	var files []spooled
	for i, dir := range w.dirs {
		ents, err := os.ReadDir(dir)
		if err != nil {
			if i == 0 {
				return nil, fmt.Errorf("access log directory: %w", err)
			}
			continue
		}
		for _, e := range ents {
			name := e.Name()
			if !e.Type().IsRegular() || !strings.HasSuffix(name, suffix) || !w.owns(strings.TrimSuffix(name, ".tmp")) {
				continue
			}
			if suffix == ".gz" && strings.HasSuffix(name, ".tmp") {
				continue
			}
			if info, err := e.Info(); err == nil {
				files = append(files, spooled{filepath.Join(dir, name), info.Size(), info.ModTime()})
			}
		}
	}
	sort.Slice(files, func(i, j int) bool { return files[i].mod.Before(files[j].mod) })
	return files, nil
}

func (w *Writer) owns(name string) bool {
	id, ok := fileDistribution(name)
	return ok && id == w.cfg.ID
}

// fileDistribution is the distribution a log file's name
// (ID.YYYY-MM-DD-HH.UNIQUE.gz) is of.
func fileDistribution(name string) (string, bool) {
	rest, ok := strings.CutSuffix(name, ".gz")
	if !ok {
		return "", false
	}
	i := strings.LastIndexByte(rest, '.')
	if i < 0 {
		return "", false
	}
	rest = rest[:i]
	j := strings.LastIndexByte(rest, '.')
	if j < 0 || len(rest)-j-1 != len("2006-01-02-15") {
		return "", false
	}
	return rest[:j], true
}

// recoverFile keeps the longest run of whole, CRC-checked gzip members of
// a .tmp file, fsyncs it and renames it to its final name; a file with
// none is removed. It returns the bytes kept.
func recoverFile(tmp string) (int64, error) {
	f, err := os.OpenFile(tmp, os.O_RDWR, 0)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	good := validPrefix(f)
	if good == 0 {
		f.Close()
		return 0, os.Remove(tmp)
	}
	if err := f.Truncate(good); err != nil {
		return 0, err
	}
	if err := f.Sync(); err != nil {
		return 0, err
	}
	if err := os.Rename(tmp, strings.TrimSuffix(tmp, ".tmp")); err != nil {
		return 0, err
	}
	return good, nil
}

// validPrefix is the length of the whole gzip members r starts with.
func validPrefix(r io.Reader) int64 {
	cr := &counting.Reader{R: r}
	// A ByteReader makes flate read no further than each member's end,
	// so the position after a member is exact.
	br := bufio.NewReader(cr)
	pos := func() int64 { return cr.N - int64(br.Buffered()) }
	var good int64
	var z *gzip.Reader
	for {
		var err error
		if z == nil {
			z, err = gzip.NewReader(br)
		} else {
			err = z.Reset(br)
		}
		if err != nil {
			return good // io.EOF: the clean end; otherwise a torn header
		}
		z.Multistream(false)
		if _, err := io.Copy(io.Discard, z); err != nil {
			return good // torn or corrupt: CRC and length are checked at EOF
		}
		good = pos()
	}
}

// logLines is the number of log lines (not the #Version and #Fields
// lines) in the gzip file at path, as far as it reads.
func logLines(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	z, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return 0
	}
	n := 0
	sc := bufio.NewScanner(z)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if l := sc.Bytes(); len(l) > 0 && l[0] != '#' {
			n++
		}
	}
	return n
}

// rescan queues the distribution's closed files that no uploader holds.
func (w *Writer) rescan() {
	files, err := w.ownFiles(".gz")
	if err != nil {
		w.log.Error("access log spool", "err", err)
	}
	for _, f := range files {
		w.up.add(f.path, f.size)
	}
}

// claims are the files held by a writer (.tmp) or an uploader (.gz) of
// this process, so a writer replacing another in the same directory
// neither recovers a live file nor uploads one twice.
var claims sync.Map

func uniqueID() string {
	var b [8]byte
	rand.Read(b[:])
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:])
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}
