package cli

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"

	"openfront.dev/compiler"
)

func init() {
	register("vet", command{
		summary: "check a config: schema, policies, semantic checks and route tests",
		usage:   "vet DIR",
		examples: []string{
			"vet config",
			"vet .                 # in the repo openfront init made",
		},
		run: runVet,
	})
	register("compile", command{
		summary: "vet a config and build its routing table; -o writes the table artifact",
		usage:   "compile DIR [-o FILE]",
		examples: []string{
			"compile config -o table.json",
		},
		run: runCompile,
	})
}

func runVet(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("vet", "vet DIR", stderr)
	pos, err := parseFlags(fs, args)
	if p := positional(pos, "DIR"); err != nil || p != "" {
		return badUsage(fs, err, p)
	}
	res, code := compileDir("vet", pos[0], stderr)
	if res == nil {
		return code
	}
	printWarnings(res, stderr)
	c := res.Table.Counts()
	fmt.Fprintf(stdout, "ok: %s, %s\n", plural(c.Distributions, "distribution"), plural(c.StreamingDistributions, "streaming distribution"))
	return exitOK
}

func runCompile(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("compile", "compile DIR [-o FILE]", stderr)
	out := fs.String("o", "", "write the table artifact to `FILE`")
	pos, err := parseFlags(fs, args)
	if p := positional(pos, "DIR"); err != nil || p != "" {
		return badUsage(fs, err, p)
	}
	res, code := compileDir("compile", pos[0], stderr)
	if res == nil {
		return code
	}
	printWarnings(res, stderr)
	t := res.Table
	c := t.Counts()
	fmt.Fprintf(stdout, "distributions:           %d\n", c.Distributions)
	fmt.Fprintf(stdout, "cache behaviors:         %d\n", c.Behaviors)
	fmt.Fprintf(stdout, "origins:                 %d\n", c.Origins)
	fmt.Fprintf(stdout, "origin groups:           %d\n", c.OriginGroups)
	fmt.Fprintf(stdout, "streaming distributions: %d\n", c.StreamingDistributions)
	fmt.Fprintf(stdout, "key groups:              %d\n", c.KeyGroups)
	if s := t.Source(); s.Commit != "" {
		fmt.Fprintf(stdout, "source commit:           %s\n", s.Commit)
	}
	fmt.Fprintf(stdout, "version:                 %s\n", t.Version())
	if *out != "" {
		b, err := t.MarshalArtifact()
		if err == nil {
			err = writeFileAtomic(*out, b, "table.json")
		}
		if err != nil {
			fmt.Fprintf(stderr, "openfront compile: %v\n", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", *out, len(b))
	}
	return exitOK
}

// compileDir compiles a config directory for the command cmd, printing
// its errors.
func compileDir(cmd, dir string, stderr io.Writer) (*compiler.Result, int) {
	if err := checkConfigDir(dir); err != nil {
		fmt.Fprintf(stderr, "openfront %s: %v\n", cmd, err)
		return nil, exitUsage
	}
	res, err := compiler.New(dir).Compile()
	if err != nil {
		var errs compiler.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintln(stderr, e)
			}
			fmt.Fprintf(stderr, "%d error(s)\n", len(errs))
		} else {
			fmt.Fprintf(stderr, "openfront %s: %v\n", cmd, err)
		}
		return nil, exitFail
	}
	return res, exitOK
}

// checkConfigDir says why dir is not a config directory, if it is not: a
// typo in the path (the error names it), or a .cue file given where its
// directory is meant.
func checkConfigDir(dir string) error {
	if dir == "" { // os.Stat's error would read ": no such file or directory"
		return errors.New(`the config directory is "": give one (. for this one)`)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return statError(dir, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is a file: give the config directory that holds it", dir)
	}
	return nil
}

// printWarnings prints what the config should change though it compiles;
// the exit status stays 0, as nodes serve it.
func printWarnings(res *compiler.Result, stderr io.Writer) {
	for _, w := range res.Warnings {
		fmt.Fprintln(stderr, w)
	}
}

// writeFileAtomic writes through a temporary file and a rename, so a reader
// never sees half an artifact. The file is created 0666 less the umask, as
// os.WriteFile does: CreateTemp's 0600 kept a node running as another user
// from reading the table. A directory given for name is refused naming
// the file example in it, as the rename's "file exists" would not.
func writeFileAtomic(name string, b []byte, example string) error {
	if fi, err := os.Stat(name); err == nil && fi.IsDir() {
		return fmt.Errorf("write %s: a directory: -o names the file to write (%s, say)", name, filepath.Join(name, example))
	}
	tmp := filepath.Join(dirOf(name), fmt.Sprintf(".openfront-%016x", rand.Uint64()))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
	if err != nil {
		// The temporary file's name means nothing to the user.
		if pe, ok := errors.AsType[*fs.PathError](err); ok {
			err = pe.Err
		}
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write %s: no directory %s", name, filepath.Dir(name))
		}
		return fmt.Errorf("write %s: %w", name, err)
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// statError says why os.Stat(name) failed without the "stat" a PathError
// begins with, which means nothing to a user.
func statError(name string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("%s: %w", name, pe.Err)
	}
	return err
}
