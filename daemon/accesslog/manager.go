package accesslog

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"openfront.dev/compiler/table"
)

// Manager holds a writer per web and per streaming distribution with
// logging.enabled and follows table swaps: new distributions start logging, removed ones flush
// and close (and upload what they wrote to their bucket), a changed prefix
// gets a new writer (the old one's pending uploads move to it), a changed
// bucket a new writer while the old one uploads its files to the old
// bucket, a changed domain or includeCookies applies in place.
type Manager struct {
	opts    Options
	writers atomic.Pointer[map[writerKey]*Writer]

	mu     sync.Mutex // serializes SetTable and Close
	closed bool
	// setupErrs are the distributions whose logging the current table
	// asks for but whose writer did not start. Its own lock: /status
	// reads it while a Close may hold mu for its uploads.
	setupMu   sync.Mutex
	setupErrs map[writerKey]Problem
	// Writers of removed distributions upload what they have left until
	// Close, or until their distribution comes back with a bucket: its
	// new writer takes their files over.
	retiring     sync.WaitGroup
	retireCtx    context.Context
	retireCancel context.CancelFunc
	retireMu     sync.Mutex // guards retired and retireErrs, not mu: Close waits for the retiring with mu held
	retired      map[retireKey]*Writer
	retireErrs   []error
	// Files an earlier run left for distributions no longer in the
	// config, looked at by the first SetTable (orphans.go).
	orphansSeen bool
	stranded    map[strandKey]Health // files with no bucket to go to, or whose bucket cannot be reached
	held        map[strandKey]held   // of those, the files for a bucket: guarded by mu
}

// retireKey is a retired writer: its distribution and where it uploads.
// A distribution's files go to the bucket they were written for, so a
// writer that comes back takes over only a retired one of its own bucket.
type retireKey struct {
	writerKey
	target string
}

// NewManager makes a manager writing under opts.Dir, with its metrics on
// opts.Registerer (unless opts.Metrics is given).
func NewManager(opts Options) (*Manager, error) {
	if opts.Dir == "" {
		return nil, errors.New("access logs need a log directory (--log-dir)")
	}
	if opts.Metrics == nil {
		m, err := NewMetrics(opts.Registerer)
		if err != nil {
			return nil, err
		}
		opts.Metrics = m
	}
	m := &Manager{opts: opts, retired: map[retireKey]*Writer{}, stranded: map[strandKey]Health{}, held: map[strandKey]held{}}
	m.retireCtx, m.retireCancel = context.WithCancel(context.Background())
	m.writers.Store(&map[writerKey]*Writer{})
	return m, nil
}

// writerKey tells a web distribution from a streaming one of the same id.
type writerKey struct {
	streaming bool
	id        string
}

// Writer is the writer of a web distribution, nil when it does not log.
// It is lock-free: call it on every request.
func (m *Manager) Writer(id string) *Writer { return (*m.writers.Load())[writerKey{id: id}] }

// StreamingWriter is the writer of a streaming distribution, nil when it
// does not log.
func (m *Manager) StreamingWriter(id string) *Writer {
	return (*m.writers.Load())[writerKey{streaming: true, id: id}]
}

// LogStreaming writes an RTMP event to its streaming distribution's log
// (r.Distribution). It returns false when the line was not queued: the
// distribution does not log, or the queue was full (counted as dropped).
func (m *Manager) LogStreaming(r *StreamingRecord) bool {
	if w := m.StreamingWriter(r.Distribution); w != nil {
		return w.LogStreaming(r)
	}
	return false
}

// DomainOf is a distribution's cs(Host): its first alias that is not a
// wildcard (the name it is known by), else its first alias, else its id.
func DomainOf(d *table.Distribution) string {
	for _, a := range d.Spec.Aliases {
		if !strings.HasPrefix(a, "*") {
			return a
		}
	}
	if len(d.Spec.Aliases) > 0 {
		return d.Spec.Aliases[0]
	}
	return d.ID
}

// SetTable makes the writers match t's distributions. A distribution
// whose writer cannot start (a bad prefix, an unwritable directory) is
// reported in the error and keeps its old writer if it had one; the
// others are applied.
func (m *Manager) SetTable(t *table.Table) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return errors.New("access log manager closed")
	}
	if !m.orphansSeen {
		// Before the writers, which would take every file of their
		// distribution.
		m.orphansSeen = true
		m.adoptOrphans(t)
	}
	cur := *m.writers.Load()
	next := make(map[writerKey]*Writer, len(cur))
	type swap struct {
		k        writerKey
		old, new *Writer
	}
	var swaps, retires []swap
	var errs []error
	setupErrs := map[writerKey]Problem{}
	for k, cfg := range logging(t) {
		old := cur[k]
		if old != nil && old.sameFiles(cfg) {
			old.setFormat(cfg)
			next[k] = old
			continue
		}
		w, err := New(m.opts, cfg)
		if err != nil {
			kind := "distribution"
			if k.streaming {
				kind = "streaming distribution"
			}
			err = fmt.Errorf("%s %s: %w", kind, k.id, err)
			errs = append(errs, err)
			setupErrs[k] = Problem{At: time.Now().UTC(), Message: err.Error()}
			if old != nil {
				next[k] = old
			}
			continue
		}
		next[k] = w
		if old == nil && w.up != nil {
			// A distribution removed and added again, whose old writer is
			// still uploading to the same bucket: one writer per
			// distribution and bucket retries the files, however often
			// it comes and goes.
			rk := retireKey{k, target(w.cfg.Logging)}
			m.retireMu.Lock()
			old = m.retired[rk]
			delete(m.retired, rk)
			m.retireMu.Unlock()
		}
		switch {
		case old == nil:
		case old.up != nil && target(old.cfg.Logging) != target(cfg.Logging):
			// The bucket changed: what was written for the old one
			// still goes there.
			retires = append(retires, swap{k, old, w})
		default:
			swaps = append(swaps, swap{k, old, w})
		}
	}
	m.writers.Store(&next)
	m.setupMu.Lock()
	m.setupErrs = setupErrs
	m.setupMu.Unlock()
	for _, s := range swaps {
		s.old.successor.Store(s.new)
		s.old.closeLocal()
		if s.old.up != nil {
			// A retired writer's drainAndStop then finds nothing pending.
			for _, f := range s.old.up.stop() {
				if s.new.up != nil {
					s.new.up.add(f.path, f.size)
				}
			}
		}
		if s.new.up != nil {
			s.new.rescan() // the old writer's last file, in the same directory
		}
	}
	for _, s := range retires {
		s.old.successor.Store(s.new) // a request that began on the old table
		m.retire(s.k, s.old)
	}
	for id, old := range cur {
		if _, kept := next[id]; kept { // kept, swapped or retired above
			continue
		}
		m.retire(id, old)
	}
	m.retryHeld(next)
	m.unstrand(next)
	return errors.Join(errs...)
}

// retire closes old's file and has it upload what it has left to its
// bucket in the background, until Close; then it stops.
func (m *Manager) retire(k writerKey, old *Writer) {
	old.closeLocal()
	if old.up == nil {
		m.forgetIfGone(k.id)
		return
	}
	rk := retireKey{k, target(old.cfg.Logging)}
	m.retireMu.Lock()
	m.retired[rk] = old
	m.retireMu.Unlock()
	m.retiring.Add(1)
	go func() {
		defer m.retiring.Done()
		err := old.up.drainAndStop(m.retireCtx)
		m.retireMu.Lock()
		if err != nil {
			m.retireErrs = append(m.retireErrs, err)
		}
		if m.retired[rk] == old {
			delete(m.retired, rk)
		}
		m.retireMu.Unlock()
		m.forgetIfGone(k.id) // its pending files are uploaded now
	}()
}

// forgetIfGone deletes distribution id's series once it has no writer,
// web or streaming, so /metrics does not keep every distribution ever
// configured. One that comes back starts its counters again.
func (m *Manager) forgetIfGone(id string) {
	cur := *m.writers.Load()
	if cur[writerKey{id: id}] == nil && cur[writerKey{streaming: true, id: id}] == nil {
		m.opts.Metrics.forget(id)
	}
}

// logging is the writer config of each distribution of t that logs.
func logging(t *table.Table) iter.Seq2[writerKey, Config] {
	return func(yield func(writerKey, Config) bool) {
		for d := range t.Distributions() {
			if d.Spec.Logging.Enabled && !yield(writerKey{id: d.ID}, Config{ID: d.ID, Domain: DomainOf(d), Logging: d.Spec.Logging, Format: Web}) {
				return
			}
		}
		for s := range t.StreamingDistributions() {
			if s.Spec.Logging.Enabled && !yield(writerKey{streaming: true, id: s.ID}, Config{ID: s.ID, Logging: s.Spec.Logging, Format: Streaming}) {
				return
			}
		}
	}
}

// Close flushes and closes every writer and uploads what is pending until
// ctx ends (files not uploaded by then stay for the next start). Call it
// on SIGTERM after the listeners stopped.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	cur := *m.writers.Load()
	m.writers.Store(&map[writerKey]*Writer{})
	errc := make(chan error, len(cur))
	for _, w := range cur {
		go func() { errc <- w.Close(ctx) }()
	}
	var errs []error
	for range cur {
		errs = append(errs, <-errc)
	}
	stop := context.AfterFunc(ctx, m.retireCancel)
	defer stop()
	m.retiring.Wait()
	m.retireCancel()
	errs = append(errs, m.retireErrs...)
	return errors.Join(errs...)
}
