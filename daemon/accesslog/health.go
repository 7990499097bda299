package accesslog

import (
	"cmp"
	"maps"
	"slices"
	"sync"
	"time"
)

// Problem is something that went wrong with a log, and when.
type Problem struct {
	At      time.Time `json:"at"`
	Message string    `json:"message"`
}

// Health is a distribution's access log as /status shows it: where it
// goes, what waits for upload, and what is wrong with it now.
type Health struct {
	Distribution string `json:"distribution"`
	Streaming    bool   `json:"streaming,omitempty"`
	// Dir is where its files are written; empty when no writer runs.
	Dir    string `json:"dir,omitempty"`
	Bucket string `json:"bucket,omitempty"`
	// SetupError is why the config's logging was not applied (a prefix
	// whose directory cannot be made, credentials that cannot load): the
	// lines go to the previous writer, if there was one, else nowhere.
	SetupError *Problem `json:"setupError,omitempty"`
	// WriteError is the last failure to write lines to disk, which
	// dropped them; it goes once writing works again.
	WriteError *Problem `json:"writeError,omitempty"`
	// UploadError is the last failed upload, which is retried; it goes
	// once an upload succeeds.
	UploadError *Problem `json:"uploadError,omitempty"`
	// SpoolFull is the last closed file deleted before its upload, the
	// spool (SpoolBytes) being full: its lines are lost. It goes once
	// every waiting file is uploaded.
	SpoolFull    *Problem `json:"spoolFull,omitempty"`
	PendingFiles int      `json:"pendingFiles"` // closed files waiting for upload
	PendingBytes int64    `json:"pendingBytes"`
	// Retired: the log of an earlier config (the distribution removed,
	// its logging turned off or its bucket changed, or gone before this
	// run) uploading what it wrote to its own bucket; it goes once done.
	Retired bool `json:"retired,omitempty"`
	// Stranded are files an earlier run left for a distribution that no
	// longer logs, written without a bucket, or written for Bucket, which
	// this node cannot upload to: kept, not uploaded.
	Stranded      *Problem `json:"stranded,omitempty"`
	StrandedFiles int      `json:"strandedFiles,omitempty"`
}

// problems are a writer's current write and upload failures; they change
// only when a failure starts or ends, never per line.
type problems struct {
	mu                   sync.Mutex
	write, upload, spool *Problem
}

func (p *problems) set(which **Problem, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		*which = nil
		return
	}
	*which = &Problem{At: time.Now().UTC(), Message: err.Error()}
}

// health is w's part of its Health.
func (w *Writer) health() Health {
	h := Health{Distribution: w.cfg.ID, Streaming: w.cfg.Format.Name == Streaming.Name, Dir: w.dir, Bucket: w.cfg.Logging.Bucket}
	w.problems.mu.Lock()
	h.WriteError, h.UploadError, h.SpoolFull = w.problems.write, w.problems.upload, w.problems.spool
	w.problems.mu.Unlock()
	if w.up != nil {
		w.up.mu.Lock()
		h.PendingFiles, h.PendingBytes = len(w.up.pending), w.up.bytes
		w.up.mu.Unlock()
	}
	return h
}

// Health is the state of every log the current table asks for, by
// distribution (web before streaming for the same id), then of the
// retired ones still uploading and the stranded files.
func (m *Manager) Health() []Health {
	m.setupMu.Lock()
	setup := maps.Clone(m.setupErrs)
	m.setupMu.Unlock()
	var out []Health
	for k, w := range *m.writers.Load() {
		h := w.health()
		if p, ok := setup[k]; ok {
			h.SetupError = &p
			delete(setup, k)
		}
		out = append(out, h)
	}
	for k, p := range setup { // no writer at all
		out = append(out, Health{Distribution: k.id, Streaming: k.streaming, SetupError: &p})
	}
	m.retireMu.Lock()
	for _, w := range m.retired {
		h := w.health()
		h.Retired = true
		out = append(out, h)
	}
	for _, h := range m.stranded {
		out = append(out, h)
	}
	m.retireMu.Unlock()
	slices.SortFunc(out, func(a, b Health) int {
		return cmp.Or(cmp.Compare(a.Distribution, b.Distribution), boolCompare(a.Streaming, b.Streaming),
			boolCompare(a.Retired, b.Retired), cmp.Compare(a.Bucket, b.Bucket))
	})
	return out
}

func boolCompare(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}
