package accesslog

import (
	"compress/gzip"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

// target is where logging l uploads, "" for nowhere: two configs with the
// same target put a distribution's files in the same bucket.
func target(l schema.Logging) string {
	if l.Bucket == "" {
		return ""
	}
	return uploadTag(l)
}

// tagPrefix starts the gzip comment of a log file that is for a bucket.
const tagPrefix = "openfront-upload "

// uploadTag is the gzip comment of a file written for logging l's bucket
// (ASCII, as a gzip comment must be Latin-1): enough for a later run to
// upload it when l is no longer in the config. "" without a bucket.
func uploadTag(l schema.Logging) string {
	if l.Bucket == "" {
		return ""
	}
	v := url.Values{"bucket": {l.Bucket}}
	for k, s := range map[string]string{"endpoint": l.Endpoint, "region": l.Region, "profile": l.CredentialsProfile} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return tagPrefix + v.Encode()
}

// fileTarget reads the logging a file was written for from its first
// gzip header; ok is false for a file written without a bucket (or by a
// version that did not say).
func fileTarget(path string) (l schema.Logging, ok bool) {
	f, err := os.Open(path)
	if err != nil {
		return l, false
	}
	defer f.Close()
	z, err := gzip.NewReader(f) // reads the header only
	if err != nil {
		return l, false
	}
	rest, ok := strings.CutPrefix(z.Comment, tagPrefix)
	if !ok {
		return l, false
	}
	v, err := url.ParseQuery(rest)
	if err != nil || v.Get("bucket") == "" {
		return l, false
	}
	return schema.Logging{Enabled: true, Bucket: v.Get("bucket"), Endpoint: v.Get("endpoint"), Region: v.Get("region"),
		CredentialsProfile: v.Get("profile")}, true
}

// adoptOrphans sees, before any writer of this process starts, to the
// files an earlier run left in the log directory that no writer of t will
// upload where they were written for: a torn file is recovered, a file of
// a bucket t's logging of its distribution does not have (the
// distribution removed, its logging turned off, its bucket changed) is
// uploaded there by a retired writer (until Close, with backoff, removed
// once uploaded); files without a bucket of a distribution that no longer
// logs, and those of a bucket this node cannot upload to (its credentials
// profile gone, say), are kept, logged and shown as stranded (Health,
// metric), the latter until a table swap can reach their bucket. The rest are left to the distribution's writer.
func (m *Manager) adoptOrphans(t *table.Table) {
	wants := map[string]map[string]bool{} // the targets each distribution's writers upload to
	for k, cfg := range logging(t) {
		if wants[k.id] == nil {
			wants[k.id] = map[string]bool{}
		}
		wants[k.id][target(cfg.Logging)] = true
	}
	ix := indexOf(m.opts.Dir)
	ix.mu.Lock()
	left := map[string][]string{}
	for id, dirs := range ix.byID {
		if len(dirs) > 0 {
			left[id] = slices.Clone(dirs)
		}
	}
	ix.mu.Unlock()
	for id, dirs := range left {
		w := idleWriter(m.opts, Config{ID: id}, dirs)
		if err := w.recoverFiles(); err != nil {
			w.log.Error("access log files left by an earlier run", "err", err)
		}
		files, _ := w.ownFiles(".gz")
		byTarget := map[string][]spooled{}
		logs := map[string]schema.Logging{}
		var strandedFiles []spooled
		for _, f := range files {
			l, ok := fileTarget(f.path)
			switch {
			case wants[id] != nil && (!ok || wants[id][target(l)]): // its writer uploads it, or keeps it
			case !ok:
				strandedFiles = append(strandedFiles, f)
			default:
				k := target(l)
				byTarget[k] = append(byTarget[k], f)
				logs[k] = l
			}
		}
		unsent := false
		for k, fs := range byTarget {
			if err := m.adopt(id, logs[k], dirs, fs); err != nil {
				// Held until a reload reaches the bucket (retryHeld), never
				// another bucket's: claimed, so that no writer of the
				// distribution takes them.
				w.log.Error("access log files left by an earlier run not uploaded", "bucket", logs[k].Bucket, "err", err)
				for _, f := range fs {
					claims.Store(f.path, m)
				}
				m.held[strandKey{id, k}] = held{logs[k], dirs, fs}
				m.strand(id, k, logs[k].Bucket, dirs, fs, fmt.Sprintf("were written for bucket %s, which this node cannot upload to (%v)", logs[k].Bucket, err))
				unsent = true
			}
		}
		if len(strandedFiles) > 0 {
			m.strand(id, "", "", dirs, strandedFiles, "no longer logs, were written without a bucket")
		}
		if wants[id] == nil && len(strandedFiles) == 0 && !unsent {
			ix.take(id)
		}
	}
}

// adopt uploads files of distribution id to the bucket of l they were
// written for, which the config no longer has for it.
func (m *Manager) adopt(id string, l schema.Logging, dirs []string, files []spooled) error {
	w := idleWriter(m.opts, Config{ID: id, Logging: l}, dirs)
	var err error
	if w.up, err = newUploader(w); err != nil {
		return err
	}
	handOver(w.up, m, files)
	w.log.Info("uploading access log files to the bucket they were written for, which the config no longer has", "bucket", l.Bucket, "files", len(files))
	go w.up.run()
	m.retire(writerKey{id: id}, w)
	return nil
}

// held are files of a distribution, written for logging l's bucket, that
// this node could not upload when it started: claimed by the manager so
// that no writer takes them, looked at again on each table swap.
type held struct {
	l     schema.Logging
	dirs  []string
	files []spooled
}

// retryHeld sends the held files whose bucket can be reached now: to the
// distribution's writer when it logs to that bucket again, else to a
// retired writer when the bucket's uploader starts now (its credentials
// profile is back, say). Those sent are no longer stranded; called with
// m.mu held, after writers are in place.
func (m *Manager) retryHeld(writers map[writerKey]*Writer) {
	for sk, h := range m.held {
		sent := false
		for k, w := range writers {
			if k.id == sk.id && w.up != nil && target(w.cfg.Logging) == sk.target {
				handOver(w.up, m, h.files)
				sent = true
				break
			}
		}
		if !sent {
			if err := m.adopt(sk.id, h.l, h.dirs, h.files); err != nil {
				continue // still out of reach: stays stranded
			}
		}
		delete(m.held, sk)
		m.retireMu.Lock()
		delete(m.stranded, sk)
		m.countStranded(sk.id)
		m.retireMu.Unlock()
	}
}

// handOver queues files on up, first letting go of those the manager
// held back (claimed by m).
func handOver(up *uploader, m *Manager, files []spooled) {
	for _, f := range files {
		claims.CompareAndDelete(f.path, m)
		up.add(f.path, f.size)
	}
}

// strand notes files of distribution id that have nowhere to go and why:
// those written for bucket (its target), or without one ("", "").
// They stay where they are; a writer of the distribution, if it comes
// back, takes those written without a bucket.
func (m *Manager) strand(id, target, bucket string, dirs []string, files []spooled, why string) {
	var size int64
	for _, f := range files {
		size += f.size
	}
	msg := fmt.Sprintf("%d files (%d bytes) of distribution %s, which %s: they stay in %s",
		len(files), size, id, why, strings.Join(dirs, ", "))
	if target != "" {
		msg = fmt.Sprintf("%d files (%d bytes) of distribution %s %s: they stay in %s, uploaded to no other bucket",
			len(files), size, id, why, strings.Join(dirs, ", "))
	}
	m.opts.Logger.Warn("access log files stranded", "distribution", id, "files", len(files), "bytes", size, "dirs", dirs)
	h := Health{Distribution: id, Dir: dirs[0], Bucket: bucket, Stranded: &Problem{At: time.Now().UTC(), Message: msg}, StrandedFiles: len(files)}
	m.retireMu.Lock()
	m.stranded[strandKey{id, target}] = h
	m.countStranded(id)
	m.retireMu.Unlock()
}

// strandKey is a distribution's stranded files written for one target
// ("": without a bucket).
type strandKey struct{ id, target string }

// unstrand forgets the files without a bucket of distributions that log
// again: their writers took them. Files written for a bucket stay.
func (m *Manager) unstrand(writers map[writerKey]*Writer) {
	m.retireMu.Lock()
	defer m.retireMu.Unlock()
	for k := range writers {
		if _, ok := m.stranded[strandKey{k.id, ""}]; ok {
			delete(m.stranded, strandKey{k.id, ""})
			m.countStranded(k.id)
		}
	}
}

// countStranded sets distribution id's stranded files metric; called with
// m.retireMu held.
func (m *Manager) countStranded(id string) {
	n := 0
	for k, h := range m.stranded {
		if k.id == id {
			n += h.StrandedFiles
		}
	}
	if n == 0 {
		m.opts.Metrics.stranded.DeleteLabelValues(id)
		return
	}
	m.opts.Metrics.stranded.WithLabelValues(id).Set(float64(n))
}

// idleWriter is a writer that writes nothing: it holds a distribution's
// left files (in dirs) for recovery and upload.
func idleWriter(opts Options, cfg Config, dirs []string) *Writer {
	opts = opts.withDefaults()
	if cfg.Format.Fields == nil {
		cfg.Format = Web
	}
	w := &Writer{opts: opts, cfg: cfg, dir: dirs[0], dirs: slices.Clone(dirs), m: opts.Metrics.forDistribution(cfg.ID),
		log: opts.Logger.With("distribution", cfg.ID)}
	w.queue.closed = true
	w.closeOnce.Do(func() {}) // closeLocal has nothing to finish
	return w
}

// indexOf is root's dirIndex, made on first use.
func indexOf(root string) *dirIndex {
	v, _ := dirIndexes.LoadOrStore(root, &dirIndex{})
	ix := v.(*dirIndex)
	ix.once.Do(func() { ix.byID = indexDirs(root) })
	return ix
}

// take marks distribution id's directories as seen to.
func (ix *dirIndex) take(id string) {
	ix.mu.Lock()
	ix.byID[id] = nil
	ix.mu.Unlock()
}
