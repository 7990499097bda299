package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"openfront.dev/daemon/cache"
	"openfront.dev/internal/loadgen"
)

// What an HTTP/3 cache hit of a 1 KiB object costs, client and server in
// this process (bench-edge.sh h3 measures the node alone, on the wire):
//
//	go test -run '^$' -bench HitH3 -benchmem -count 5 ./daemon/node
//
// One QUIC connection carries every request, several streams at a time.
// The server's share of the CPU is in a profile (-cpuprofile): the edge
// handler and http3.(*Server) frames, apart from the client's
// http3.(*ClientConn) ones.

// h3BenchConfig is a distribution serving HTTP/3 from a loadgen origin
// (%s: its port), on the default certificate.
const h3BenchConfig = `package bench

distributions: bench: {
	aliases: ["bench.test"]
	httpVersion: "http2and3"
	origins: [{id: "origin", domainName: "127.0.0.1", customOriginConfig: {originProtocolPolicy: "http-only", httpPort: %s}}]
	defaultCacheBehavior: {targetOriginId: "origin", viewerProtocolPolicy: "allow-all", defaultTTL: 86400}
}
`

// startH3Bench runs a node serving h3BenchConfig and returns an HTTP/3
// client of it, which keeps one connection.
func startH3Bench(b *testing.B) (*Node, *http.Client) {
	n := startHitBenchNode(b)
	udp := n.Addr("http3").String()
	tr := &http3.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, ServerName: "bench.test"},
		Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
			return quic.DialAddr(ctx, udp, tlsCfg, cfg)
		},
		DisableCompression: true,
	}
	b.Cleanup(func() { tr.Close() })
	return n, &http.Client{Transport: tr}
}

// startHitBenchNode runs a node serving h3BenchConfig on its HTTPS listener
// (TCP and UDP) from a loadgen origin.
func startHitBenchNode(b *testing.B) *Node {
	o := httptest.NewServer(loadgen.NewOrigin())
	b.Cleanup(o.Close)
	dir := b.TempDir()
	conf := fmt.Sprintf(h3BenchConfig, o.URL[len("http://127.0.0.1:"):])
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	n, err := Start(Options{ConfigDir: dir, HTTPSAddr: "127.0.0.1:0", NodeName: "bench", CacheMemory: 64 << 20,
		Logger: slog.New(slog.DiscardHandler), CacheBodyDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { n.Shutdown(context.Background()) })
	return n
}

// getH3 sends req and reads the body into buf, returning the response
// and the body's length.
func getH3(c *http.Client, req *http.Request, buf []byte) (*http.Response, int, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	n, err := io.ReadFull(resp.Body, buf)
	if err == io.ErrUnexpectedEOF {
		err = nil
	}
	return resp, n, err
}

func BenchmarkHitH3(b *testing.B) {
	_, c := startH3Bench(b)
	benchHits(b, c, 3)
}

// benchHits requests a 1 KiB object through c, which speaks HTTP/proto,
// until b is done: the miss that fills the cache, then hits, eight
// streams at a time per core on c's one connection.
func benchHits(b *testing.B, c *http.Client, proto int) {
	const url = "https://bench.test/obj/1k/bench"
	buf := make([]byte, 2048)
	for i := range 2 {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		resp, n, err := getH3(c, req, buf)
		if err != nil {
			b.Fatal(err)
		}
		if resp.ProtoMajor != proto || n != 1024 || i == 1 && resp.Header.Get("X-Cache") != cache.XCacheHit {
			b.Fatalf("HTTP/%d, %d bytes, X-Cache %q: want a 1 KiB hit over HTTP/%d", resp.ProtoMajor, n, resp.Header.Get("X-Cache"), proto)
		}
	}
	b.ReportAllocs()
	b.SetBytes(1024)
	b.SetParallelism(8)
	cpu0 := processCPU()
	b.RunParallel(func(pb *testing.PB) {
		buf := make([]byte, 2048)
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		for pb.Next() {
			resp, n, err := getH3(c, req, buf)
			if err != nil {
				b.Error(err)
				return
			}
			if n != 1024 || resp.Header.Get("X-Cache") != cache.XCacheHit {
				b.Errorf("%d bytes, X-Cache %q: want a hit of 1 KiB", n, resp.Header.Get("X-Cache"))
				return
			}
		}
	})
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/op")
}

// processCPU is the CPU time this process used, user and system: the
// client's and the server's.
func processCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
