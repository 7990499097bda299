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
// logs are kept, logged and shown as stranded (Health, metric). The rest
// are left to the distribution's writer.
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
		for k, fs := range byTarget {
			if err := m.adopt(id, logs[k], dirs, fs); err != nil {
				w.log.Error("access log files left by an earlier run not uploaded", "bucket", logs[k].Bucket, "err", err)
				strandedFiles = append(strandedFiles, fs...)
			}
		}
		switch {
		case len(strandedFiles) > 0:
			m.strand(id, dirs, strandedFiles)
		case wants[id] == nil:
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
	for _, f := range files {
		w.up.add(f.path, f.size)
	}
	w.log.Info("uploading access log files to the bucket they were written for, which the config no longer has", "bucket", l.Bucket, "files", len(files))
	go w.up.run()
	m.retire(writerKey{id: id}, w)
	return nil
}

// strand notes files of a removed distribution that have nowhere to go.
// They stay where they are; a writer of the distribution, if it comes
// back, takes them.
func (m *Manager) strand(id string, dirs []string, files []spooled) {
	var size int64
	for _, f := range files {
		size += f.size
	}
	msg := fmt.Sprintf("%d files (%d bytes) of distribution %s, which no longer logs, were written without a bucket: they stay in %s",
		len(files), size, id, strings.Join(dirs, ", "))
	m.opts.Logger.Warn("access log files stranded", "distribution", id, "files", len(files), "bytes", size, "dirs", dirs)
	m.opts.Metrics.stranded.WithLabelValues(id).Set(float64(len(files)))
	m.retireMu.Lock()
	m.stranded[id] = Health{Distribution: id, Dir: dirs[0], Stranded: &Problem{At: time.Now().UTC(), Message: msg}, StrandedFiles: len(files)}
	m.retireMu.Unlock()
}

// unstrand forgets the stranded files of distributions that log again:
// their writers took them.
func (m *Manager) unstrand(writers map[writerKey]*Writer) {
	m.retireMu.Lock()
	defer m.retireMu.Unlock()
	for k := range writers {
		if _, ok := m.stranded[k.id]; ok {
			delete(m.stranded, k.id)
			m.opts.Metrics.stranded.DeleteLabelValues(k.id)
		}
	}
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
