package compileworker

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"openfront.dev/compiler"
	"openfront.dev/compiler/table"
	"openfront.dev/internal/genconfig"
)

// benchConfig writes OPENFRONT_BENCH_DISTRIBUTIONS (default 1000)
// distributions, a file each, aged past the compiler's racy window.
func benchConfig(b *testing.B) (dir string, n int) {
	n = 1000
	if s := os.Getenv("OPENFRONT_BENCH_DISTRIBUTIONS"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	dir = b.TempDir()
	for i := range n {
		changeOne(b, dir, i, "")
	}
	return dir, n
}

// changeOne rewrites distribution i, aged as a real edit would be by
// the time it compiles.
func changeOne(b testing.TB, dir string, i int, comment string) {
	if err := genconfig.WriteDistribution(dir, i, comment); err != nil {
		b.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	os.Chtimes(genconfig.FileName(dir, i), old, old)
}

// BenchmarkRecompileOneFile is a reload after a one-file change: compiled
// in-process (what the node did), and in the worker, the artifact's
// transfer and decoding in the parent included.
func BenchmarkRecompileOneFile(b *testing.B) {
	compile := map[string]func(dir string) func() (*table.Table, error){
		"in-process": func(dir string) func() (*table.Table, error) {
			c := compiler.New(dir)
			return func() (*table.Table, error) {
				res, err := c.Compile()
				if err != nil {
					return nil, err
				}
				return res.Table, nil
			}
		},
		"worker": func(dir string) func() (*table.Table, error) {
			w := New(dir, Options{Logger: slog.New(slog.DiscardHandler)})
			b.Cleanup(func() { w.Close() })
			return func() (*table.Table, error) {
				res, err := w.Compile()
				if err != nil {
					return nil, err
				}
				return res.Table, nil
			}
		},
	}
	for _, name := range []string{"in-process", "worker"} {
		b.Run(name, func(b *testing.B) {
			dir, n := benchConfig(b)
			f := compile[name](dir)
			if _, err := f(); err != nil {
				b.Fatal(err)
			}
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				changeOne(b, dir, i%n, fmt.Sprintf("change %d", i))
				b.StartTimer()
				if _, err := f(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecodeArtifact is the parent's share of a reload: decoding the
// worker's artifact after a one-file change, over the table before it.
func BenchmarkDecodeArtifact(b *testing.B) {
	dir, _ := benchConfig(b)
	res, err := compiler.New(dir).Compile()
	if err != nil {
		b.Fatal(err)
	}
	art, err := res.Table.MarshalArtifact()
	if err != nil {
		b.Fatal(err)
	}
	prev, err := table.DecodeArtifact(art, dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(len(art)), "artifact-bytes")
	for b.Loop() {
		if _, err := table.DecodeArtifact(art, dir, prev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeDelta is the parent's share of a reload after the first:
// decoding the delta a one-file change makes, over the table before it.
func BenchmarkDecodeDelta(b *testing.B) {
	dir, _ := benchConfig(b)
	c := compiler.New(dir)
	res, err := c.Compile()
	if err != nil {
		b.Fatal(err)
	}
	var enc table.ArtifactEncoder
	art, err := enc.Marshal(res.Table)
	if err != nil {
		b.Fatal(err)
	}
	prev, err := table.DecodeArtifact(art, dir, nil)
	if err != nil {
		b.Fatal(err)
	}
	changeOne(b, dir, 0, "changed")
	if res, err = c.Compile(); err != nil {
		b.Fatal(err)
	}
	delta, ok, err := enc.MarshalDelta(res.Table, prev.Version())
	if err != nil || !ok {
		b.Fatalf("delta %v, %v", ok, err)
	}
	b.ReportMetric(float64(len(delta)), "delta-bytes")
	for b.Loop() {
		if _, err := table.DecodeDelta(delta, dir, prev); err != nil {
			b.Fatal(err)
		}
	}
}
