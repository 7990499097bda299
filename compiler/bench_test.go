package compiler

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// genConfig writes n distributions, one file each, with 3 origins and 5
// cache behaviors apiece: the layout of a large GitOps config repo.
func genConfig(tb testing.TB, dir string, n int) {
	tb.Helper()
	for i := range n {
		writeDistribution(tb, dir, i, "")
	}
}

func writeDistribution(tb testing.TB, dir string, i int, comment string) {
	tb.Helper()
	src := fmt.Sprintf(`package cdn

distributions: "d%[1]d": {
	comment: %[2]q
	aliases: ["d%[1]d.example.com", "*.d%[1]d.example.net"]
	origins: [
		{id: "web", domainName: "web%[1]d.example.org", customOriginConfig: {originProtocolPolicy: "https-only"}},
		{id: "assets", domainName: "assets%[1]d.s3.us-east-1.amazonaws.com", s3OriginConfig: {}},
		{id: "api", domainName: "api%[1]d.example.org", customOriginConfig: {originProtocolPolicy: "match-viewer", httpPort: 8080}},
	]
	defaultCacheBehavior: {targetOriginId: "web", viewerProtocolPolicy: "redirect-to-https"}
	cacheBehaviors: [
		{pathPattern: "/img/*", targetOriginId: "assets", viewerProtocolPolicy: "allow-all"},
		{pathPattern: "/api/*", targetOriginId: "api", viewerProtocolPolicy: "https-only", allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"], forwardedValues: {queryString: true, cookies: {forward: "all"}}, defaultTTL: 0},
		{pathPattern: "*.css", targetOriginId: "assets", viewerProtocolPolicy: "allow-all", compress: true},
		{pathPattern: "/video/*.mp4", targetOriginId: "assets", viewerProtocolPolicy: "allow-all"},
		{pathPattern: "/static/*", targetOriginId: "assets", viewerProtocolPolicy: "allow-all", maxTTL: 600, defaultTTL: 300},
	]
}
`, i, comment)
	name := filepath.Join(dir, fmt.Sprintf("d%05d.cue", i))
	if err := os.WriteFile(name, []byte(src), 0o644); err != nil {
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
		os.Chtimes(filepath.Join(dir, fmt.Sprintf("d%05d.cue", i%n)), old, old)
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
