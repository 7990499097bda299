package node

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/quicvarint"
)

// TestReplayedEarlyData replays a viewer's captured 0-RTT flight to the
// node, as an attacker on the path can. The node cannot tell the replay
// from the original, and it serves it, but the origin can: the replayed
// request reaches it with Early-Data: 1 (RFC 8470), which the original
// never had to carry once its handshake had completed.
func TestReplayedEarlyData(t *testing.T) {
	e := startEarlyNode(t)
	server := e.server
	requests := e.requests
	get := func(dial, method, path string, n int) { t.Helper(); e.get(t, dial, method, path, n) }

	// A first connection leaves a session ticket that allows 0-RTT; the
	// viewer's second connection sends its request in 0-RTT, through a
	// relay that records what the viewer sent before the node answered.
	// The node sends the ticket after the handshake: the first connection
	// makes a second request, whose answer comes after the ticket, so it
	// does not close before the ticket arrives. Should a loaded machine
	// still lose it, the second connection has no 0-RTT to replay, and
	// both go again.
	// The attacker replays that flight from elsewhere, once the viewer's
	// connection is gone (and quic-go has forgotten its connection IDs).
	// It can never complete the handshake. A loaded machine can keep
	// the node from handling a replay in time (quic-go's closed
	// connection IDs live for three retransmission timeouts, which load
	// stretches): the whole play is tried three times.
	handled := func(wait time.Duration) bool {
		select {
		case s := <-requests:
			if s.earlyData != "1" {
				t.Errorf("the replayed request reached the origin with Early-Data %q, want 1: the origin cannot tell it is replayable", s.earlyData)
			}
			return true
		case <-time.After(wait):
			return false
		}
	}
	for play := 1; ; play++ {
		flight := recordFlight(t, e, get)
		if replay(t, flight, server, func() bool { return handled(2 * time.Second) }) {
			return
		}
		// A replay handled late is one handled, and must not be taken
		// for the next play's viewer request.
		if handled(3 * time.Second) {
			return
		}
		if play == 3 {
			// The tests' premise is that quic-go serves a replayed 0-RTT
			// flight (TLS 1.3 leaves anti-replay to the server). If it
			// stops doing so, they have nothing left to check.
			t.Fatalf("the node never handled a replay in %d plays: does quic-go refuse replayed 0-RTT now?", play)
		}
		t.Logf("play %d: the node did not handle the replay; again", play)
	}
}

// recordFlight has a viewer send a request in 0-RTT through a relay and
// returns what it sent before the node's ServerHello.
func recordFlight(t *testing.T, e *earlyNode, get func(dial, method, path string, n int)) [][]byte {
	t.Helper()
	for attempt := 1; ; attempt++ {
		get(e.server.String(), http.MethodGet, "/warm", 2)
		relay := newRecordingRelay(t, e.server)
		get(relay.addr(), http3.MethodGet0RTT, "/api/transfer", 1)
		select {
		case <-e.requests:
		case <-time.After(5 * time.Second):
			t.Fatal("the origin never got the viewer's request")
		}
		if flight := relay.firstFlight(); carries0RTT(flight) {
			return flight
		} else if attempt == 3 {
			t.Fatalf("the viewer sent no 0-RTT packet in %d tries (%d datagrams recorded)", attempt, len(flight))
		}
	}
}

// TestEarlyPOSTRefused: a POST sent in 0-RTT, and its replay, never reach
// the origin. The node answers the viewer 425 Too Early (the viewer's
// node-bound packets are held back by a relay, so the node handles the
// request before the handshake can complete); the viewer sends it again
// once the handshake is done, and that one goes through. quic-go's HTTP/3
// client neither sends a POST in 0-RTT nor retries a 425 itself: the
// viewer here is a raw request stream, as a browser's could be.
func TestEarlyPOSTRefused(t *testing.T) {
	e := startEarlyNode(t)
	metrics := "http://" + e.n.Addr("admin").String() + "/metrics"
	const refused = `openfront_requests_total{distribution="site",protocol="http3",result="Error",status_class="4xx"}`
	// waitRefused waits up to 5 s for the node to have refused want
	// requests, and reports whether it has; the origin must see none.
	waitRefused := func(want float64) bool {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			select {
			case s := <-e.requests:
				t.Fatalf("the origin got a POST sent in 0-RTT (Early-Data %q)", s.earlyData)
			default:
			}
			if scrape(t, metrics)[refused] >= want {
				return true
			}
		}
		return false
	}
	post := func(str *http3.RequestStream) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, "https://site.test/api/transfer", nil)
		if err := str.SendRequestHeader(req); err != nil {
			t.Fatal(err)
		}
		str.Close()
	}

	var flight [][]byte
	for attempt := 1; ; attempt++ {
		before := scrape(t, metrics)[refused]
		e.get(t, e.server.String(), http.MethodGet, "/warm", 2) // a ticket
		relay := newRecordingRelay(t, e.server)
		relay.holding = true
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, err := quic.DialAddrEarly(ctx, relay.addr(), e.tls, nil)
		if err != nil {
			t.Fatal(err)
		}
		cc := (&http3.Transport{}).NewClientConn(conn)
		str, err := cc.OpenRequestStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		post(str)
		if !waitRefused(before + 1) {
			// The ticket was lost or 0-RTT refused: the POST waits for a
			// handshake the held relay keeps from completing.
			cancel()
			conn.CloseWithError(0, "")
			if attempt == 3 {
				t.Fatalf("the node refused no 0-RTT POST in %d tries", attempt)
			}
			continue
		}
		relay.release()
		resp, err := str.ReadResponse()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusTooEarly {
			t.Fatalf("POST in 0-RTT: %d, want 425", resp.StatusCode)
		}
		select {
		case s := <-e.requests:
			t.Fatalf("the origin got the 0-RTT POST (Early-Data %q)", s.earlyData)
		default:
		}
		// The viewer's retry, after the handshake, goes through.
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "https://site.test/api/transfer", nil)
		resp, err = cc.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if s := <-e.requests; resp.StatusCode != http.StatusOK || s.earlyData != "" {
			t.Fatalf("POST after the handshake: %d, origin saw Early-Data %q; want 200 and none", resp.StatusCode, s.earlyData)
		}
		conn.CloseWithError(0, "")
		cancel()
		flight = relay.firstFlight()
		break
	}

	// The attacker replays the 0-RTT flight: refused again, never forwarded.
	before := scrape(t, metrics)[refused]
	if !replay(t, flight, e.server, func() bool { return waitRefused(before + 1) }) {
		t.Fatal("the node never handled the replay: does quic-go refuse replayed 0-RTT now?")
	}
	select {
	case s := <-e.requests:
		t.Fatalf("the origin got the replayed POST (%s, Early-Data %q)", s.method, s.earlyData)
	default:
	}
}

// With --max-connections-per-ip, the node reads no request of a QUIC
// connection before its handshake completes and its address is counted:
// a POST sent in 0-RTT, which TestEarlyPOSTRefused's node answers 425
// while the handshake is held back, waits for it and goes through.
func TestEarlyDataWaitsForAddressCount(t *testing.T) {
	e := startEarlyNode(t, func(o *Options) { o.MaxConnectionsPerIP = 10 })
	for attempt := 1; ; attempt++ {
		e.get(t, e.server.String(), http.MethodGet, "/warm", 2) // a ticket
		relay := newRecordingRelay(t, e.server)
		relay.holding = true
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := quic.DialAddrEarly(ctx, relay.addr(), e.tls, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.CloseWithError(0, "")
		str, err := (&http3.Transport{}).NewClientConn(conn).OpenRequestStream(ctx)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodPost, "https://site.test/api/transfer", nil)
		if err := str.SendRequestHeader(req); err != nil {
			t.Fatal(err)
		}
		str.Close()
		// The request has gone to the node in 0-RTT, and the node has
		// answered the handshake: held, the viewer cannot complete it.
		// quic-go's client gives up a handshake after 5 s without an
		// answer, so the hold ends well before.
		for deadline := time.Now().Add(3 * time.Second); !relay.heldAfter0RTT() && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		}
		seen := relay.heldAfter0RTT()
		relay.release()
		resp, err := str.ReadResponse()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// Without 0-RTT (the ticket was lost), or when the node's answer
		// came too late to be held, the handshake was not held while
		// the request was in: nothing was tested, so try again.
		if !conn.ConnectionState().Used0RTT || !seen {
			if attempt == 3 {
				t.Fatalf("no 0-RTT request held before the handshake in %d tries", attempt)
			}
			t.Logf("try %d: 0-RTT used %v, held with a 0-RTT packet in %v", attempt, conn.ConnectionState().Used0RTT, seen)
			continue
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("POST in 0-RTT: %d, want 200 once the handshake completed", resp.StatusCode)
		}
		if s := <-e.requests; s.earlyData != "" {
			t.Fatalf("the origin saw Early-Data %q; want none", s.earlyData)
		}
		return
	}
}

// replay sends flight to server from a new address, as an attacker on
// the path can, until handled reports that the node acted on it, and
// reports whether it did. quic-go keeps a closed connection's IDs for a
// while, which a loaded machine stretches: a replay that comes too soon
// is dropped, so it is sent again, later.
func replay(t *testing.T, flight [][]byte, server *net.UDPAddr, handled func() bool) bool {
	t.Helper()
	for wait := 300 * time.Millisecond; wait <= 2*time.Second; wait *= 2 {
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
		ok := handled()
		attacker.Close()
		if ok {
			return true
		}
	}
	return false
}

// earlyNode is a node serving site.test over HTTP/3 with 0-RTT, from an
// origin that reports each request for /api/transfer.
type earlyNode struct {
	n        *Node
	server   *net.UDPAddr
	tls      *tls.Config // with the viewer's session tickets
	requests chan originSeen
}

type originSeen struct{ method, earlyData string }

func startEarlyNode(t *testing.T, configure ...func(*Options)) *earlyNode {
	t.Helper()
	requests := make(chan originSeen, 8)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/transfer" {
			requests <- originSeen{r.Method, r.Header.Get("Early-Data")}
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
	defaultCacheBehavior: {
		targetOriginId: "app", viewerProtocolPolicy: "allow-all"
		allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
	}
}
`, app.Listener.Addr().String())
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", NodeName: nodeName, Logger: testLogger(t)}
	for _, c := range configure {
		c(&opts)
	}
	n, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// A replay's connection never completes: do not wait for it.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		n.Shutdown(ctx)
	})
	tickets := tls.NewLRUClientSessionCache(4)
	return &earlyNode{
		n:        n,
		server:   n.Addr("http3").(*net.UDPAddr),
		tls:      &tls.Config{InsecureSkipVerify: true, ServerName: "site.test", ClientSessionCache: tickets, NextProtos: []string{http3.NextProtoH3}},
		requests: requests,
	}
}

// get sends n requests on one connection through dial, each to be
// answered 200.
func (e *earlyNode) get(t *testing.T, dial string, method, path string, n int) {
	t.Helper()
	tr := &http3.Transport{TLSClientConfig: e.tls, Dial: func(ctx context.Context, _ string, tc *tls.Config, qc *quic.Config) (*quic.Conn, error) {
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

// recordingRelay forwards UDP between one client and the node, and keeps
// what the client sent.
type recordingRelay struct {
	conn     *net.UDPConn
	mu       sync.Mutex
	sent     [][]byte
	answered int      // len(sent) when the node sent its ServerHello, -1 before
	holding  bool     // the node's datagrams are kept back, in held
	held     [][]byte // until release
	client   *net.UDPAddr
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
	go func() { // client to node
		buf := make([]byte, 65536)
		for {
			k, from, err := c.ReadFromUDP(buf)
			if err != nil {
				return
			}
			r.mu.Lock()
			r.client = from
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
			// The node may ACK the ClientHello's first datagram before its
			// second arrives; its ServerHello is in a datagram padded to
			// 1200 bytes at least (RFC 9000, 14.1), an ACK alone is not.
			if r.answered < 0 && k >= 1200 {
				r.answered = len(r.sent)
			}
			if r.holding {
				r.held = append(r.held, append([]byte(nil), buf[:k]...))
				r.mu.Unlock()
				continue
			}
			to := r.client
			r.mu.Unlock()
			c.WriteToUDP(buf[:k], to)
		}
	}()
	return r
}

// release sends the client what the node sent while holding, and what
// it sends from now on.
func (r *recordingRelay) release() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, d := range r.held {
		r.conn.WriteToUDP(d, r.client)
	}
	r.holding, r.held = false, nil
}

// heldAfter0RTT reports whether the client sent a 0-RTT packet and the
// node has sent its ServerHello, held.
func (r *recordingRelay) heldAfter0RTT() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.answered >= 0 && len(r.held) > 0 && carries0RTT(r.sent)
}

func (r *recordingRelay) addr() string { return r.conn.LocalAddr().String() }

// firstFlight is what an attacker replays: what the client sent before
// the node's ServerHello (its ClientHello, which spans two Initial datagrams
// with a post-quantum key share, maybe 0-RTT packets), and the 0-RTT
// packets it sent after that, each alone. The client's other later
// packets (ACKs, its Handshake) are for the original connection only: an
// Initial ACK of packets a new connection never sent would close it.
func (r *recordingRelay) firstFlight() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var flight [][]byte
	for i, d := range r.sent {
		if r.answered < 0 || i < r.answered {
			flight = append(flight, d)
		} else if p := zeroRTTPacket(d); p != nil {
			flight = append(flight, p)
		}
	}
	return flight
}

// carries0RTT reports whether a datagram of flight holds a 0-RTT packet.
func carries0RTT(flight [][]byte) bool {
	return slices.ContainsFunc(flight, func(d []byte) bool { return zeroRTTPacket(d) != nil })
}

// zeroRTTPacket is the 0-RTT packet in datagram d (QUIC v1: long header,
// type 1), nil for none. quic-go may coalesce it behind the client's
// Initial packet, so the datagram's long-header packets are walked by
// their Length fields (RFC 9000, 17.2).
func zeroRTTPacket(d []byte) []byte {
	for len(d) > 0 && d[0]&0x80 != 0 {
		typ := (d[0] & 0x30) >> 4
		if typ == 3 || len(d) < 6 { // Retry: no Length, nothing after it
			return nil
		}
		rest := d[5:] // after the first byte and the version
		for range 2 { // destination and source connection IDs
			if len(rest) == 0 || len(rest) < 1+int(rest[0]) {
				return nil
			}
			rest = rest[1+int(rest[0]):]
		}
		if typ == 0 { // Initial: a token before Length
			n, k, err := quicvarint.Parse(rest)
			if err != nil || uint64(len(rest)-k) < n {
				return nil
			}
			rest = rest[k+int(n):]
		}
		n, k, err := quicvarint.Parse(rest)
		if err != nil || uint64(len(rest)-k) < n {
			return nil
		}
		end := len(d) - len(rest) + k + int(n)
		if typ == 1 {
			return d[:end]
		}
		d = d[end:]
	}
	return nil
}

// TestZeroRTTPacket: the relay's packet walk finds a 0-RTT packet behind
// an Initial and reads a datagram cut short, even inside its connection
// IDs, as holding none.
func TestZeroRTTPacket(t *testing.T) {
	zeroRTT := []byte{0xd0, 0, 0, 0, 1, 1, 0xaa, 0, 2, 0xbb, 0xcc}
	initial := []byte{0xc0, 0, 0, 0, 1, 0, 0, 0, 1, 0xee}
	for _, c := range []struct {
		name string
		d    []byte
		want []byte
	}{
		{"behind an Initial", append(slices.Clone(initial), zeroRTT...), zeroRTT},
		{"alone", zeroRTT, zeroRTT},
		{"an Initial alone", initial, nil},
		{"cut after the destination ID", []byte{0xd0, 0, 0, 0, 1, 0}, nil},
		{"cut in the source ID", []byte{0xd0, 0, 0, 0, 1, 0, 4, 1}, nil},
	} {
		if got := zeroRTTPacket(c.d); !bytes.Equal(got, c.want) {
			t.Errorf("%s: %x, want %x", c.name, got, c.want)
		}
	}
}
