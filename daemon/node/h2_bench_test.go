package node

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"testing"
)

// What an HTTP/2 cache hit of a 1 KiB object costs, client and server in
// this process (bench-edge.sh h2 measures the node alone, with h2load):
//
//	go test -run '^$' -bench HitH2 -benchmem -count 6 ./daemon/node
//
// One TLS connection carries every request, several streams at a time.
func BenchmarkHitH2(b *testing.B) {
	n := startHitBenchNode(b)
	addr := n.Addr("https").String()
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{InsecureSkipVerify: true, ServerName: "bench.test"},
		ForceAttemptHTTP2: true,
		DialTLSContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true, ServerName: "bench.test", NextProtos: []string{"h2"}}}
			return d.DialContext(ctx, "tcp", addr)
		},
		DisableCompression: true,
	}
	b.Cleanup(tr.CloseIdleConnections)
	benchHits(b, &http.Client{Transport: tr}, 2)
}
