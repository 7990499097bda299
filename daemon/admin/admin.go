// Package admin serves the node's admin listener: /healthz, /readyz,
// /status, /status/traffic, /metrics, the status page at /, the
// invalidation API under /distributions/, and POST /hooks/git when the
// config comes from git. It listens on loopback by default, and answers
// only requests that name it by an IP address, localhost or a name the
// operator allows (against DNS rebinding, host.go).
package admin

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/gitsync"
	"openfront.dev/daemon/watch"
)

// Source supplies what the admin pages show.
type Source interface {
	Table() *table.Table
	AppliedAt() time.Time
	ConfigStatus() watch.Status
}

// GitSource is a Source that may serve its config from git (serve --git):
// both return nil when it does not.
type GitSource interface {
	GitStatus() *gitsync.Status
	GitWebhook() http.Handler
}

// LogSource is a Source whose distributions may write access logs.
type LogSource interface {
	AccessLogHealth() []accesslog.Health
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
	// Git is the git syncer's view (serve --git): the commits checked out
	// and applied, the last rejected one with its errors, the last fetch.
	Git *gitsync.Status `json:"git,omitempty"`
	// AccessLogs are the logs the table asks for, each with what is wrong
	// with it now (a writer that did not start, lines that could not be
	// written, an upload that keeps failing).
	AccessLogs []accesslog.Health `json:"accessLogs,omitempty"`
}

// Options are the admin listener's optional parts.
type Options struct {
	// TokenFile holds the bearer token the invalidation API requires;
	// without one, invalidations are refused.
	TokenFile string
	// Cache is where invalidations remove objects (nil: nothing cached).
	Cache Invalidator
	// Context ends the traffic sampler behind the status page; without
	// one nothing is sampled.
	Context context.Context
	// SampleEvery is the traffic sampling period (default 2s).
	SampleEvery time.Duration
	// AllowedHosts are the names, besides IP addresses and localhost,
	// that requests may carry in Host (serve --admin-host).
	AllowedHosts []string
}

type serverTimeouts struct{ header, body, write, idle time.Duration }

// timeouts bound what a slow or idle client holds: without them a POST
// whose body never ends, or a kept-alive connection, holds a connection
// and its goroutine forever. A full invalidation batch (16 MiB) still
// fits in body at about 300 KB/s. The write timeout runs from the end of
// the headers, so it covers the body too.
var timeouts = serverTimeouts{header: 10 * time.Second, body: time.Minute, write: time.Minute, idle: 2 * time.Minute}

// Server serves h as the admin listener, with timeouts. net/http's own
// complaints (a bad TLS handshake, a handler's panic) go to log, at debug
// level as the edge's listeners do: any client can cause them.
func Server(h http.Handler, log *slog.Logger) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: timeouts.header, ReadTimeout: timeouts.header + timeouts.body,
		WriteTimeout: timeouts.body + timeouts.write, IdleTimeout: timeouts.idle,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelDebug)}
}

// Handler returns the admin mux.
func Handler(node string, src Source, listeners []string, reg *prometheus.Registry, opts Options) http.Handler {
	mux := http.NewServeMux()
	handlePage(mux)
	newInvalidations(src, opts).register(mux)
	newTraffic(src, reg, opts).register(mux)
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
		if g, ok := src.(GitSource); ok {
			st.Git = g.GitStatus()
		}
		if l, ok := src.(LogSource); ok {
			st.AccessLogs = l.AccessLogHealth()
		}
		if t := src.Table(); t != nil {
			c := t.Counts()
			st.Ready, st.Version = true, t.Version()
			st.SourceDir, st.SourceCommit = t.Source().Dir, t.Source().Commit
			st.AppliedAt = src.AppliedAt()
			st.Distributions, st.StreamingDistributions = c.Distributions, c.StreamingDistributions
		}
		writeJSON(w, http.StatusOK, st)
	})
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("POST "+gitHookPath, func(w http.ResponseWriter, r *http.Request) {
		if g, ok := src.(GitSource); ok {
			if h := g.GitWebhook(); h != nil {
				h.ServeHTTP(w, r)
				return
			}
		}
		http.Error(w, "this node does not serve its config from git", http.StatusNotFound)
	})
	return guarded(hostCheck(opts.AllowedHosts, apiMuxErrors(mux)))
}

// gitHookPath is where a forge's push webhook deploys the config's new commit.
const gitHookPath = "/hooks/git"

// dataCSP is every answer's CSP but the page's: JSON and text load nothing
// and are framed by no one.
const dataCSP = "default-src 'none'; frame-ancestors 'none'"

// guarded sets the headers every answer carries: /status holds commit
// subjects and config errors, which a browser must never take for HTML.
// The page's handler replaces the CSP with its own.
func guarded(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Content-Security-Policy", dataCSP)
		h.ServeHTTP(w, r)
	})
}
