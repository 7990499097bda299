// Package cli implements openfront's commands; main only calls Main.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"sort"
	"strings"

	"openfront.dev/compiler"
	"openfront.dev/daemon/compileworker"
)

// Exit codes.
const (
	exitOK    = 0
	exitFail  = 1 // the config is invalid, or diff found differences
	exitUsage = 2
)

type command struct {
	summary  string
	usage    string
	examples []string // command lines after "openfront ", which help prints
	run      func(args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

func register(name string, c command) { commands[name] = c }

// firstOf is args[0], "" for none.
func firstOf(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// flagArgs are args up to "--", after which none is a flag.
func flagArgs(args []string) []string {
	if i := slices.Index(args, "--"); i >= 0 {
		return args[:i]
	}
	return args
}

// isHelpFlag reports whether arg asks for help.
func isHelpFlag(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// Main runs the command named by args[0] and returns the exit status.
func Main(args []string, stdout, stderr io.Writer) int {
	if _, known := commands[firstOf(args)]; known && slices.ContainsFunc(flagArgs(args[1:]), isHelpFlag) {
		// CMD --help asks for help, as help CMD does: on stdout, exit 0.
		args = []string{"help", args[0]}
	}
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = append([]string{"version"}, args[1:]...) // as cue and caddy take it
	}
	if len(args) == 0 || args[0] == "help" || isHelpFlag(args[0]) {
		if len(args) > 1 {
			c, ok := commands[strings.TrimLeft(args[1], "-")] // help --version is help version
			if !ok && !isHelpFlag(args[1]) && args[1] != "help" {
				return unknownCommand(args[1], stderr)
			}
			if ok {
				fmt.Fprintf(stdout, "%s\n\n", c.summary)
				c.run([]string{"-h"}, stdout, stdout) // the flag set prints usage and flags
				fmt.Fprintln(stdout, "\nexamples:")
				for _, e := range c.examples {
					fmt.Fprintf(stdout, "  openfront %s\n", e)
				}
				return exitOK
			}
		}
		usage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == compileworker.Command {
		// Hidden: serve starts it, one per node, to compile in.
		return compileworker.Main(args[1:], os.Stdin, stdout, stderr)
	}
	c, ok := commands[args[0]]
	if !ok {
		return unknownCommand(args[0], stderr)
	}
	return c.run(args[1:], stdout, stderr)
}

// unknownCommand says name is no command, and which one is likely meant.
func unknownCommand(name string, stderr io.Writer) int {
	fmt.Fprintf(stderr, "openfront: unknown command %q%s\n", name, commandHint(name))
	usage(stderr)
	return exitUsage
}

// otherTools maps what users of other tools type to the command that does
// it here: nginx -t, caddy validate and terraform validate check a config
// as vet does; terraform plan shows a change as diff does.
var otherTools = map[string]string{
	"validate": "vet", "check": "vet", "lint": "vet", "test": "vet",
	"plan": "diff", "build": "compile", "run": "serve", "start": "serve",
	"purge": "invalidate", "new": "init",
}

// commandHint ends the error of an unknown command with the one most
// likely meant: what another tool calls it, or a near name (a typo).
func commandHint(typed string) string {
	// Another tool's name first: validate is two edits from invalidate.
	best := otherTools[strings.ToLower(typed)]
	if best == "" {
		best = compiler.ClosestName(typed, slices.Sorted(maps.Keys(commands)))
	}
	if best == "" {
		return ""
	}
	return "; did you mean " + best + "?"
}

// flagHint is the flag fs has nearest to the one parseErr says it lacks,
// as "did you mean --NAME?" ("" if none is near).
func flagHint(fs *flag.FlagSet, parseErr error) string {
	typed, ok := strings.CutPrefix(parseErr.Error(), "flag provided but not defined: -")
	if !ok {
		return ""
	}
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	best := compiler.ClosestName(typed, names)
	switch {
	case best == "":
		return ""
	case len(best) == 1: // -H, -X, -o: written with one dash in the usage
		return "did you mean -" + best + "?"
	}
	return "did you mean --" + best + "?"
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: openfront COMMAND [ARGS]\n\ncommands:")
	names := make([]string, 0, len(commands))
	width := 0
	for n := range commands {
		names = append(names, n)
		width = max(width, len(n))
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'openfront help COMMAND' for a command's flags.")
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name, usageLine string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	printed := false // Parse prints usage on -h; a caller's fs.Usage() must not repeat it
	fs.Usage = func() {
		if printed {
			return
		}
		printed = true
		fmt.Fprintf(stderr, "usage: openfront %s\n", usageLine)
		fs.PrintDefaults()
	}
	return fs
}

// badUsage says what is wrong with a command's arguments, unless parsing
// the flags failed (the flag package said it already), prints the usage
// and returns exitUsage. The problem is the first of problems that is not
// "".
func badUsage(fs *flag.FlagSet, parseErr error, problems ...string) int {
	if parseErr == nil {
		for _, p := range problems {
			if p != "" {
				fmt.Fprintf(fs.Output(), "openfront %s: %s\n", fs.Name(), p)
				break
			}
		}
	}
	fs.Usage()
	return exitUsage
}

// positional says what is wrong when pos are not the arguments names.
func positional(pos []string, names ...string) string {
	switch {
	case len(pos) < len(names):
		return "missing " + strings.Join(names[len(pos):], " and ")
	case len(pos) > len(names):
		return fmt.Sprintf("unexpected argument %q", pos[len(names)])
	}
	return ""
}

// required says which of the flags names are unset (empty).
func required(fs *flag.FlagSet, names ...string) string {
	var missing []string
	for _, n := range names {
		if fs.Lookup(n).Value.String() == "" {
			missing = append(missing, "--"+n)
		}
	}
	switch len(missing) {
	case 0:
		return ""
	case 1:
		return missing[0] + " is required"
	}
	return strings.Join(missing[:len(missing)-1], ", ") + " and " + missing[len(missing)-1] + " are required"
}

// parseFlags parses flags placed before or after positional arguments.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			// After the usage the flag package printed, where the eye lands.
			if hint := flagHint(fs, err); hint != "" {
				fmt.Fprintf(fs.Output(), "openfront %s: %s\n", fs.Name(), hint)
			}
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// multiFlag collects a repeated string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

var errUsage = errors.New("usage")

func dirOf(name string) string {
	if i := strings.LastIndexByte(name, '/'); i >= 0 {
		return name[:i+1]
	}
	return "."
}
