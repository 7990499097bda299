package compiler

import (
	"fmt"
	"os"
	"testing"
	"time"

	"openfront.dev/internal/genconfig"
)

func genConfig(tb testing.TB, dir string, n int) {
	tb.Helper()
	if err := genconfig.Write(dir, n); err != nil {
		tb.Fatal(err)
	}
}

func writeDistribution(tb testing.TB, dir string, i int, comment string) {
	tb.Helper()
	if err := genconfig.WriteDistribution(dir, i, comment); err != nil {
		tb.Fatal(err)
	}
}

func benchSize(b *testing.B) int {
	if s := os.Getenv("OPENFRONT_BENCH_DISTRIBUTIONS"); s != "" {
		var n int
		fmt.Sscan(s, &n)
		return n
	}
	return 1000
}

// BenchmarkCompileCold compiles a generated config from nothing.
// OPENFRONT_BENCH_DISTRIBUTIONS=10000 for the figures in the README.
func BenchmarkCompileCold(b *testing.B) {
	dir := b.TempDir()
	n := benchSize(b)
	genConfig(b, dir, n)
	b.ResetTimer()
	for range b.N {
		res, err := New(dir).Compile()
		if err != nil {
			b.Fatal(err)
		}
		if got := len(res.Config.Distributions); got != n {
			b.Fatalf("%d distributions, want %d", got, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/compile")
}

// BenchmarkRecompileOneFile changes one file and recompiles.
func BenchmarkRecompileOneFile(b *testing.B) {
	dir := b.TempDir()
	n := benchSize(b)
	genConfig(b, dir, n)
	c := New(dir)
	if _, err := c.Compile(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		writeDistribution(b, dir, i%n, fmt.Sprintf("change %d", i))
		// Let the change age past the racy window, as a real edit would.
		old := time.Now().Add(-time.Minute)
		os.Chtimes(genconfig.FileName(dir, i%n), old, old)
		b.StartTimer()
		res, err := c.Compile()
		if err != nil {
			b.Fatal(err)
		}
		if res.Stats.Evaluated != 1 {
			b.Fatalf("evaluated %d units, want 1", res.Stats.Evaluated)
		}
	}
}
