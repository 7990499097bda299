// Package admin serves the node's admin listener: /healthz, /readyz,
// /status and /metrics. It listens on loopback by default.
package admin

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/watch"
)

// Source supplies what the admin pages show.
type Source interface {
	Table() *table.Table
	AppliedAt() time.Time
	ConfigStatus() watch.Status
}

// Status is the JSON of /status.
type Status struct {
	Node                   string    `json:"node"`
	Ready                  bool      `json:"ready"`
	Version                string    `json:"version,omitempty"`
	SourceDir              string    `json:"sourceDir,omitempty"`
	SourceCommit           string    `json:"sourceCommit,omitempty"`
	AppliedAt              time.Time `json:"appliedAt,omitzero"`
	Distributions          int       `json:"distributions"`
	StreamingDistributions int       `json:"streamingDistributions"`
	Listeners              []string  `json:"listeners"`
	// Config is the reloader's view: the applied config and the last
	// rejected change with its errors (file, line, col).
	Config watch.Status `json:"config"`
}

// Handler returns the admin mux.
func Handler(node string, src Source, listeners []string, reg *prometheus.Registry) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if src.Table() == nil {
			http.Error(w, "no configuration loaded", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		st := Status{Node: node, Listeners: listeners, Config: src.ConfigStatus()}
		if t := src.Table(); t != nil {
			c := t.Counts()
			st.Ready, st.Version = true, t.Version()
			st.SourceDir, st.SourceCommit = t.Source().Dir, t.Source().Commit
			st.AppliedAt = src.AppliedAt()
			st.Distributions, st.StreamingDistributions = c.Distributions, c.StreamingDistributions
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.Encode(st)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	return mux
}
