package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// TestReplayedEarlyData replays a viewer's captured 0-RTT flight to the
// node, as an attacker on the path can. The node cannot tell the replay
// from the original, and it serves it, but the origin can: the replayed
// request reaches it with Early-Data: 1 (RFC 8470), which the original
// never had to carry once its handshake had completed.
func TestReplayedEarlyData(t *testing.T) {
	type seen struct{ earlyData string }
	requests := make(chan seen, 8)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/transfer" {
			requests <- seen{r.Header.Get("Early-Data")}
		}
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "done\n")
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	httpVersion: "http2and3"
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
}
`, app.Listener.Addr().String())
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := Start(Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", NodeName: nodeName, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The replay's connection never completes: do not wait for it.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n.Shutdown(ctx)
	})
	server := n.Addr("http3").(*net.UDPAddr)

	tickets := tls.NewLRUClientSessionCache(4)
	tlsCfg := &tls.Config{InsecureSkipVerify: true, ServerName: "site.test", ClientSessionCache: tickets, NextProtos: []string{http3.NextProtoH3}}
	// get sends n requests on one connection.
	get := func(dial string, method, path string, n int) {
		t.Helper()
		tr := &http3.Transport{TLSClientConfig: tlsCfg, Dial: func(ctx context.Context, _ string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
			return quic.DialAddrEarly(ctx, dial, tc, qc)
		}}
		defer tr.Close()
		for range n {
			req, _ := http.NewRequest(method, "https://site.test"+path, nil)
			resp, err := tr.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s %s: %d", method, path, resp.StatusCode)
			}
		}
	}
	// A first connection leaves a session ticket that allows 0-RTT; the
	// viewer's second connection sends its request in 0-RTT, through a
	// relay that records what the viewer sent before the node answered.
	// The node sends the ticket after the handshake: the first connection
	// makes a second request, whose answer comes after the ticket, so it
	// does not close before the ticket arrives. Should a loaded machine
	// still lose it, the second connection has no 0-RTT to replay, and
	// both go again.
	var flight [][]byte
	for attempt := 1; ; attempt++ {
		get(server.String(), http.MethodGet, "/warm", 2)
		relay := newRecordingRelay(t, server)
		get(relay.addr(), http3.MethodGet0RTT, "/api/transfer", 1)
		select {
		case <-requests:
		case <-time.After(5 * time.Second):
			t.Fatal("the origin never got the viewer's request")
		}
		if flight = relay.firstFlight(); carries0RTT(flight) {
			break
		}
		if attempt == 3 {
			t.Fatalf("the viewer sent no 0-RTT packet in %d tries (%d datagrams recorded)", attempt, len(flight))
		}
	}

	// The attacker replays that flight from elsewhere, once the viewer's
	// connection is gone (and quic-go has forgotten its connection IDs).
	// It can never complete the handshake. quic-go keeps a closed
	// connection's IDs for a while, which a loaded machine stretches: a
	// replay that comes too soon is dropped, so it is sent again, later.
	for wait := 300 * time.Millisecond; ; wait *= 2 {
		time.Sleep(wait)
		attacker, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range flight {
			if _, err := attacker.WriteToUDP(d, server); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case s := <-requests:
			attacker.Close()
			if s.earlyData != "1" {
				t.Errorf("the replayed request reached the origin with Early-Data %q, want 1: the origin cannot tell it is replayable", s.earlyData)
			}
			return
		case <-time.After(2 * time.Second):
			attacker.Close()
		}
		if wait >= 2*time.Second {
			// The test's premise is that quic-go serves a replayed 0-RTT
			// flight (TLS 1.3 leaves anti-replay to the server). If it
			// stops doing so, this test has nothing left to check.
			t.Fatal("the replay never reached the origin: does quic-go refuse replayed 0-RTT now?")
		}
	}
}

// recordingRelay forwards UDP between one client and the node, and keeps
// what the client sent.
type recordingRelay struct {
	conn     *net.UDPConn
	mu       sync.Mutex
	sent     [][]byte
	answered int // len(sent) when the node first answered, -1 before
}

func newRecordingRelay(t *testing.T, server *net.UDPAddr) *recordingRelay {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	up, err := net.DialUDP("udp", nil, server)
	if err != nil {
		t.Fatal(err)
	}
	r := &recordingRelay{conn: c, answered: -1}
	t.Cleanup(func() { c.Close(); up.Close() })
	var client *net.UDPAddr
	var clientMu sync.Mutex
	go func() { // client to node
		buf := make([]byte, 65536)
		for {
			k, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			clientMu.Lock()
			client = from
			clientMu.Unlock()
			r.mu.Lock()
			r.sent = append(r.sent, append([]byte(nil), buf[:k]...))
			r.mu.Unlock()
			up.Write(buf[:k])
		}
	}()
	go func() { // node to client
		buf := make([]byte, 65536)
		for {
			k, err := up.Read(buf)
			if err != nil {
				return
			}
			r.mu.Lock()
			if r.answered < 0 {
				r.answered = len(r.sent)
			}
			r.mu.Unlock()
			clientMu.Lock()
			to := client
			clientMu.Unlock()
			c.WriteToUDP(buf[:k], to)
		}
	}()
	return r
}

func (r *recordingRelay) addr() string { return r.conn.LocalAddr().String() }

// firstFlight is what an attacker replays: what the client sent before
// the node answered (its ClientHello, which spans two Initial datagrams
// with a post-quantum key share, maybe 0-RTT packets), and the datagrams
// after that which start with a 0-RTT packet (QUIC v1: long header, type
// 1). The client's other later packets (ACKs, its Handshake) are for the
// original connection only.
func (r *recordingRelay) firstFlight() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var flight [][]byte
	for i, d := range r.sent {
		if r.answered < 0 || i < r.answered || carries0RTT([][]byte{d}) {
			flight = append(flight, d)
		}
	}
	return flight
}

// carries0RTT reports whether a datagram of flight starts with a 0-RTT
// packet (QUIC v1: long header, type 1).
func carries0RTT(flight [][]byte) bool {
	for _, d := range flight {
		if len(d) > 0 && d[0]&0x80 != 0 && (d[0]&0x30)>>4 == 1 {
			return true
		}
	}
	return false
}
