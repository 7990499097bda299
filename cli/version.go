package cli

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

func init() {
	register("version", command{
		summary:  "print which openfront this is: its module version, commit and Go version",
		usage:    "version",
		examples: []string{"version"},
		run:      runVersion,
	})
}

func runVersion(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("version", "version", stderr)
	pos, err := parseFlags(fs, args)
	if p := positional(pos); err != nil || p != "" {
		return badUsage(fs, err, p)
	}
	fmt.Fprintln(stdout, versionLine())
	return exitOK
}

// versionLine is "openfront VERSION (commit REV[, modified], GOVERSION)"
// from what the go command stamped into the binary.
func versionLine() string {
	version, commit := "(devel)", ""
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision":
				commit = "commit " + s.Value + ", " + commit
			case s.Key == "vcs.modified" && s.Value == "true":
				commit += "modified, "
			}
		}
	}
	return fmt.Sprintf("openfront %s (%s%s)", version, commit, runtime.Version())
}
