package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/admin"
	"openfront.dev/daemon/gitsync"
)

func init() {
	register("status", command{
		summary: "show what a running node serves: table, commit, listeners, rejected changes, git",
		usage:   "status [--admin URL] [--json] [--timeout 5s]",
		examples: []string{
			"status",
			"status --admin http://[::1]:9090 --json",
		},
		run: runStatus,
	})
}

// statusNow and statusZone are the clock and the zone times are shown in;
// the tests fix them.
var (
	statusNow  = time.Now
	statusZone = time.Local
)

func runStatus(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("status", commands["status"].usage, stderr)
	base := fs.String("admin", "http://127.0.0.1:9090", "the node's admin listener `URL` (or HOST:PORT)")
	raw := fs.Bool("json", false, "print /status as the node sends it")
	timeout := fs.Duration("timeout", 5*time.Second, "how long to wait for the node")
	pos, err := parseFlags(fs, args)
	if p := positional(pos); err != nil || p != "" {
		return badUsage(fs, err, p)
	}
	u, err := adminBase(*base)
	if err != nil {
		return badUsage(fs, nil, err.Error())
	}
	// /status's own URL, copied from a browser, names the listener too.
	u = strings.TrimSuffix(u, "/status")
	c := &http.Client{Timeout: *timeout}
	resp, err := c.Get(u + "/status")
	if err != nil {
		err = noNodeAnswers(u, err)
		fmt.Fprintf(stderr, "openfront status: %v\n", err)
		return exitFail
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "openfront status: %s/status: %s %s\n", u, resp.Status, strings.TrimSpace(string(body)))
		return exitFail
	}
	var st admin.Status
	if err := json.Unmarshal(body, &st); err != nil {
		fmt.Fprintf(stderr, "openfront status: %s/status is not a node's status: %v\n", u, err)
		return exitFail
	}
	if *raw {
		stdout.Write(body)
	} else {
		printStatus(stdout, &st)
	}
	if !st.Ready {
		return exitFail // no table: the node serves nothing
	}
	return exitOK
}

// noNodeAnswers says, for a connection to the admin listener at base
// refused, what is most often wrong: a node on another admin address, or
// none running.
func noNodeAnswers(base string, err error) error {
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return err
	}
	host := strings.TrimPrefix(strings.TrimPrefix(base, "http://"), "https://")
	return fmt.Errorf("no node answers at %s (is openfront serve running with --admin %s?): %w", base, host, err)
}

// printStatus writes st for a person: label, then value, aligned.
func printStatus(out io.Writer, st *admin.Status) {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	line := func(label, format string, a ...any) { fmt.Fprintf(w, "%s\t%s\n", label, fmt.Sprintf(format, a...)) }
	more := func(format string, a ...any) { line("", format, a...) }

	ready := "ready"
	if !st.Ready {
		ready = "NOT READY: no table loaded"
	}
	line("node", "%s, %s", st.Node, ready)
	if st.Ready {
		line("table", "%s", st.Version)
		line("", "%s, %s", plural(st.Distributions, "distribution"), plural(st.StreamingDistributions, "streaming distribution"))
		line("source", "%s", st.SourceDir)
		if st.SourceCommit != "" {
			line("commit", "%s", st.SourceCommit)
		}
		line("applied", "%s", when(st.AppliedAt))
	}
	for i, l := range st.Listeners {
		if i == 0 {
			line("listeners", "%s", l)
		} else {
			more("%s", l)
		}
	}
	if len(st.Listeners) == 0 {
		line("listeners", "none")
	}
	cfg := st.Config
	state := "the files compile: what is served is what is on disk"
	if cfg.Failing {
		state = "FAILING: the files on disk were refused (last rejected, below); an older table is served"
	}
	line("config", "%s", cfg.Path)
	more("%s, %s; %s", plural(cfg.Reloads, "reload"), plural(cfg.Failures, "failure"), state)
	for i, w := range cfg.Warnings {
		if i == 0 {
			line("warnings", "%s", w)
		} else {
			more("%s", w)
		}
	}
	// Serving from git, a rejected commit is shown below with paths in the
	// repository; the reloader's copy of it would repeat it.
	if e := cfg.LastError; e != nil && (st.Git == nil || cfg.Failing) {
		line("last rejected", "%s change at %s", e.Reason, when(e.At))
		problems(more, e.Message)
	}
	if g := st.Git; g != nil {
		printGit(line, more, g)
	}
	printAccessLogs(line, more, st.AccessLogs)
	w.Flush()
}

// printAccessLogs says where each access log goes and what is wrong with it.
func printAccessLogs(line func(string, string, ...any), more func(string, ...any), logs []accesslog.Health) {
	for i, h := range logs {
		label := ""
		if i == 0 {
			label = "access logs"
		}
		name := h.Distribution
		if h.Streaming {
			name += " (streaming)"
		}
		if h.Retired {
			name += " (earlier config, uploading what it wrote)"
		}
		where := "NOT WRITTEN"
		if h.Dir != "" {
			where = h.Dir
		}
		if h.Bucket != "" {
			where += ", uploaded to " + h.Bucket
		}
		if h.PendingFiles > 0 {
			where += fmt.Sprintf("; %s (%d bytes) waiting for upload", plural(h.PendingFiles, "file"), h.PendingBytes)
		}
		line(label, "%s: %s", name, where)
		for _, p := range []struct {
			what, then string
			p          *accesslog.Problem
		}{{"NOT APPLIED", "", h.SetupError}, {"WRITE FAILED", ", lines dropped", h.WriteError}, {"UPLOAD FAILED", ", retried", h.UploadError}, {"SPOOL FULL", ", files deleted before upload", h.SpoolFull},
			{"STRANDED", ", kept, never uploaded", h.Stranded}} {
			if p.p != nil {
				more("  %s at %s%s:", p.what, when(p.p.At), p.then)
				problems(func(f string, a ...any) { more("    "+f, a...) }, p.p.Message)
			}
		}
	}
}

func printGit(line func(string, string, ...any), more func(string, ...any), g *gitsync.Status) {
	where := g.URL + ", branch " + g.Branch
	if g.Subdir != "" {
		where += ", directory " + g.Subdir
	}
	line("git", "%s", where)
	more("clone in %s", g.Dir)
	if g.Head != "" {
		line("  head", "%s", g.Head)
	}
	if c := g.CheckedOut; c != nil {
		line("  checked out", "%s %s", c.SHA, quote(c.Subject))
		more("since %s", when(c.At))
	}
	applied := g.Applied
	if applied == "" {
		applied = "(unknown)"
	}
	if g.CheckedOut != nil && g.Applied != g.CheckedOut.SHA {
		applied += " (the checked-out commit is being deployed)"
	}
	line("  applied", "%s", applied)
	fetch := "never"
	if !g.LastFetch.IsZero() {
		fetch = when(g.LastFetch)
		if g.FetchError == "" {
			fetch += ", ok"
		} else {
			fetch += ", FAILED"
		}
	}
	line("  last fetch", "%s; %s, %s failed", fetch, plural(g.Fetches, "fetch"), fmt.Sprint(g.FetchFailures))
	if g.FetchError != "" {
		problems(more, g.FetchError)
	}
	if r := g.LastRejected; r != nil {
		line("  last rejected", "%s %s", r.SHA, quote(r.Subject))
		more("at %s", when(r.At))
		if len(r.Errors) > 0 {
			for _, p := range r.Errors {
				more("%s", p)
			}
		} else {
			problems(more, r.Message)
		}
	}
}

// problems prints a multi-line error one line each.
func problems(more func(string, ...any), msg string) {
	for _, l := range strings.Split(strings.TrimSpace(msg), "\n") {
		more("%s", l)
	}
}

// when is an absolute time with how long ago it was.
func when(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return fmt.Sprintf("%s (%s ago)", t.In(statusZone).Format("2006-01-02 15:04:05 MST"), ago(statusNow().Sub(t)))
}

func ago(d time.Duration) string {
	switch {
	case d < time.Second:
		return "<1s"
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d.Hours()))
	}
	return fmt.Sprintf("%dd", int(d.Hours()/24))
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	if strings.HasSuffix(what, "ch") {
		return fmt.Sprintf("%d %ses", n, what)
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func quote(s string) string {
	if s == "" {
		return ""
	}
	return fmt.Sprintf("%q", s)
}
