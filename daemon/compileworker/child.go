package compileworker

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"

	"openfront.dev/compiler"
	"openfront.dev/compiler/table"
)

// RunIfChild runs a worker and exits when this process was started as one
// by a Worker; else it returns. A test binary whose tests start workers
// calls it first in TestMain, as the binary's own main does through the
// hidden command.
func RunIfChild() {
	if os.Getenv(envChild) == "" || len(os.Args) < 2 || os.Args[1] != Command {
		return
	}
	os.Exit(Main(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
}

// RunTests is a TestMain for a package whose tests start workers: a
// worker, or the tests.
func RunTests(m interface{ Run() int }) {
	RunIfChild()
	os.Exit(m.Run())
}

// Main is the worker: it answers each request line on in with a compile
// of the directory it names, keeping one compiler between requests, until
// in ends. It exits with exitMemory once it holds more than --memory.
func Main(args []string, in io.Reader, out, stderr io.Writer) int {
	fs := flag.NewFlagSet(Command, flag.ContinueOnError)
	fs.SetOutput(stderr)
	memory := fs.Int64("memory", DefaultMemory, "bytes the worker may hold")
	if err := fs.Parse(args); err != nil || fs.NArg() != 0 || *memory <= 0 {
		fmt.Fprintln(stderr, "usage: openfront compile-worker [--memory BYTES] (started by openfront serve)")
		return 2
	}
	// The collector works harder as the bound nears, so that a config
	// that fits is not refused for garbage not yet collected.
	debug.SetMemoryLimit(*memory)
	go watchMemory(*memory, stderr)
	w := bufio.NewWriterSize(out, 1<<20)
	fmt.Fprintln(w, hello)
	if w.Flush() != nil {
		return 1
	}
	r := bufio.NewReader(in)
	var c *compiler.Compiler
	var enc *table.ArtifactEncoder // kept, as c is: unchanged entries are not encoded again
	var dir string
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return 0 // the parent closed the pipe, or is gone
		}
		var req request
		if err := json.Unmarshal(line, &req); err != nil || req.Dir == "" {
			fmt.Fprintf(stderr, "compile worker: bad request %q\n", line)
			return 2
		}
		if c == nil || dir != req.Dir {
			c, enc, dir = compiler.New(req.Dir), &table.ArtifactEncoder{}, req.Dir
		}
		a, art := compile(c, enc, req.Base)
		b, _ := json.Marshal(a)
		w.Write(append(b, '\n'))
		w.Write(art)
		if w.Flush() != nil {
			return 1
		}
	}
}

// compile runs one compile: the answer, and the artifact that follows it,
// a delta over base when base is the table last sent.
func compile(c *compiler.Compiler, enc *table.ArtifactEncoder, base string) (answer, []byte) {
	res, err := c.Compile()
	if err != nil {
		if errs, ok := errors.AsType[compiler.Errors](err); ok && len(errs) > 0 {
			return answer{Errors: errs}, nil
		}
		return answer{Message: err.Error()}, nil
	}
	art, delta, err := enc.MarshalDelta(res.Table, base)
	if err != nil {
		return answer{Message: err.Error()}, nil
	}
	return answer{Warnings: res.Warnings, Artifact: len(art), Delta: delta}, art
}

// memorySamples are the Go runtime's memory, and what of it went back to
// the system: the difference is what the process holds.
var memorySamples = []metrics.Sample{
	{Name: "/memory/classes/total:bytes"},
	{Name: "/memory/classes/heap/released:bytes"},
}

// watchMemory exits the process once it holds more than limit bytes.
func watchMemory(limit int64, stderr io.Writer) {
	s := append([]metrics.Sample(nil), memorySamples...)
	for range time.Tick(20 * time.Millisecond) {
		metrics.Read(s)
		held := int64(s[0].Value.Uint64() - s[1].Value.Uint64())
		if held > limit {
			fmt.Fprintf(stderr, "compile worker: holds %d bytes, more than its bound of %d\n", held, limit)
			os.Exit(exitMemory)
		}
	}
}
