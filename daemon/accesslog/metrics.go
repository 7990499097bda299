package accesslog

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the access logs' counters, labelled by distribution (bounded
// by the config, never by request). One Metrics serves every writer of a
// node: a writer replaced after a config change keeps counting on the same
// series.
type Metrics struct {
	written       *prometheus.CounterVec
	dropped       *prometheus.CounterVec
	pendingFiles  *prometheus.GaugeVec
	pendingBytes  *prometheus.GaugeVec
	uploads       *prometheus.CounterVec
	uploadErrors  *prometheus.CounterVec
	spoolDropped  *prometheus.CounterVec
	filesFinished *prometheus.CounterVec
	stranded      *prometheus.GaugeVec
}

// Reasons a line is dropped.
const (
	DropBufferFull = "buffer_full" // the queue was full: the disk is behind
	DropWriteError = "write_error" // writing or syncing its member failed
	DropClosed     = "closed"      // logged after the writer closed
	DropSpoolFull  = "spool_full"  // in a file deleted before its upload: the spool was full
)

// NewMetrics makes the metrics and registers them on reg (nil: unregistered).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	dist := []string{"distribution"}
	m := &Metrics{
		written: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_log_lines_written_total",
			Help: "Access log lines acknowledged to disk: in a gzip member that was fsynced.",
		}, dist),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_log_lines_dropped_total",
			Help: "Access log lines dropped, by reason (buffer_full: the writer was behind; write_error; closed; spool_full: in a file deleted before its upload).",
		}, []string{"distribution", "reason"}),
		pendingFiles: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "openfront_log_upload_pending_files",
			Help: "Closed access log files waiting for upload to S3.",
		}, dist),
		pendingBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "openfront_log_upload_pending_bytes",
			Help: "Bytes of closed access log files waiting for upload to S3.",
		}, dist),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_log_uploads_total",
			Help: "Access log files uploaded to S3 (and removed locally).",
		}, dist),
		uploadErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_log_upload_errors_total",
			Help: "Failed access log upload attempts (each is retried with backoff).",
		}, dist),
		spoolDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_log_spool_dropped_files_total",
			Help: "Access log files deleted before upload because the local spool was full.",
		}, dist),
		filesFinished: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_log_files_closed_total",
			Help: "Access log files closed (renamed to their final name).",
		}, dist),
		stranded: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "openfront_log_stranded_files",
			Help: "Access log files an earlier run left for a distribution that no longer logs, written without a bucket, or for a bucket this node cannot upload to: kept in the log directory, not uploaded.",
		}, dist),
	}
	if reg != nil {
		for _, c := range m.collectors() {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register access log metrics: %w", err)
			}
		}
	}
	return m, nil
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.written, m.dropped, m.pendingFiles, m.pendingBytes, m.uploads, m.uploadErrors, m.spoolDropped, m.filesFinished, m.stranded}
}

// distMetrics are one distribution's series, resolved once per writer so
// the request path does no label lookup.
type distMetrics struct {
	written, dropFull, dropWrite, dropClosed prometheus.Counter
	dropSpool                                prometheus.Counter
	pendingFiles, pendingBytes               prometheus.Gauge
	uploads, uploadErrors, spoolDropped      prometheus.Counter
	filesClosed                              prometheus.Counter
}

// forget deletes distribution id's series.
func (m *Metrics) forget(id string) {
	l := prometheus.Labels{"distribution": id}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{
		m.written, m.dropped, m.pendingFiles, m.pendingBytes, m.uploads, m.uploadErrors, m.spoolDropped, m.filesFinished} {
		v.DeletePartialMatch(l)
	}
}

func (m *Metrics) forDistribution(id string) *distMetrics {
	return &distMetrics{
		written:      m.written.WithLabelValues(id),
		dropFull:     m.dropped.WithLabelValues(id, DropBufferFull),
		dropWrite:    m.dropped.WithLabelValues(id, DropWriteError),
		dropClosed:   m.dropped.WithLabelValues(id, DropClosed),
		dropSpool:    m.dropped.WithLabelValues(id, DropSpoolFull),
		pendingFiles: m.pendingFiles.WithLabelValues(id),
		pendingBytes: m.pendingBytes.WithLabelValues(id),
		uploads:      m.uploads.WithLabelValues(id),
		uploadErrors: m.uploadErrors.WithLabelValues(id),
		spoolDropped: m.spoolDropped.WithLabelValues(id),
		filesClosed:  m.filesFinished.WithLabelValues(id),
	}
}
