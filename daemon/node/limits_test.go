package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/yutopp/go-rtmp/handshake"
)

// limitsConfig: %s is a slow origin; the site's files are cached.
const limitsConfig = `package cdn

distributions: cap: {
	aliases: ["cap.test"]
	httpVersion: "http2and3"
	logging: {enabled: true, prefix: "cap/"}
	origins: [
		{id: "files", localOriginConfig: path: "site"},
		{id: "slow", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"},
	]
	defaultCacheBehavior: {targetOriginId: "files", viewerProtocolPolicy: "allow-all", defaultTTL: 3600}
	cacheBehaviors: [{pathPattern: "/slow/*", targetOriginId: "slow", viewerProtocolPolicy: "allow-all"}]
}
`

// startLimited starts a node with opts' limits over a slow origin, which
// answers each request once release is called and tells arrivals of each.
func startLimited(t *testing.T, opts Options) (n *Node, logDir string, arrived chan string, release func()) {
	t.Helper()
	arrived = make(chan string, 8)
	released := make(chan struct{})
	release = sync.OnceFunc(func() { close(released) })
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- r.URL.Path
		<-released
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "slow\n")
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(release) // first: a failed test leaves no request hanging
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	os.MkdirAll(filepath.Join(cfg, "site"), 0o755)
	os.WriteFile(filepath.Join(cfg, "main.cue"), []byte(fmt.Sprintf(limitsConfig, slow.Listener.Addr().String())), 0o644)
	os.WriteFile(filepath.Join(cfg, "site", "index.html"), []byte("<h1>cap</h1>\n"), 0o644)
	logDir = filepath.Join(dir, "logs")
	opts.ConfigDir, opts.HTTPAddr, opts.AdminAddr, opts.LogDir = cfg, "127.0.0.1:0", "127.0.0.1:0", logDir
	opts.NodeName, opts.DrainTimeout, opts.Logger = "TST1", 5*time.Second, warnLogger(t)
	n, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	return n, logDir, arrived, release
}

// capHost is the Host of the limits config's distribution.
var capHost = http.Header{"Host": {"cap.test"}}

// With as many origin requests in flight as --max-origin-requests allows,
// a request that needs the origin is shed with 503 CapacityExceeded, a
// cache hit is still served, and the requests in flight complete.
func TestMaxOriginRequests(t *testing.T) {
	n, logDir, arrived, release := startLimited(t, Options{MaxOriginRequests: 2})
	base := "http://" + n.Addr("http").String()
	c := &http.Client{Timeout: 10 * time.Second}
	if resp, _ := do(t, c, "GET", base+"/index.html", capHost, ""); resp.StatusCode != 200 {
		t.Fatalf("first GET /index.html: %d", resp.StatusCode)
	}
	var wg sync.WaitGroup
	statuses := make([]int, 2)
	for i := range 2 {
		wg.Go(func() {
			req, _ := http.NewRequest("GET", fmt.Sprintf("%s/slow/%d", base, i), nil)
			req.Host = "cap.test"
			if resp, err := c.Do(req); err != nil {
				t.Error(err) // not Fatal: not the test's goroutine
			} else {
				resp.Body.Close()
				statuses[i] = resp.StatusCode
			}
		})
	}
	<-arrived
	<-arrived
	resp, body := do(t, c, "GET", base+"/slow/3", capHost, "")
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") != "5" || resp.Header.Get("X-Cache") != "Error from openfront" || !strings.Contains(string(body), "at capacity") {
		t.Errorf("third request: %d, Retry-After %q, X-Cache %q, body %q", resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("X-Cache"), body)
	}
	if resp, _ := do(t, c, "GET", base+"/index.html", capHost, ""); resp.StatusCode != 200 || resp.Header.Get("X-Cache") != "Hit from openfront" {
		t.Errorf("a hit at capacity: %d %q", resp.StatusCode, resp.Header.Get("X-Cache"))
	}
	m := scrape(t, "http://"+n.Addr("admin").String()+"/metrics")
	if m["openfront_requests_shed_total"] != 1 || m["openfront_origin_requests_in_flight"] != 2 ||
		m[`openfront_requests_total{distribution="cap",protocol="http1.1",result="CapacityExceeded",status_class="5xx"}`] != 1 {
		t.Errorf("metrics: shed %v, in flight %v, requests %v", m["openfront_requests_shed_total"], m["openfront_origin_requests_in_flight"], seriesOf(m, "openfront_requests_total"))
	}
	release()
	wg.Wait()
	if statuses[0] != 200 || statuses[1] != 200 {
		t.Errorf("the requests in flight: %v", statuses)
	}
	// The origin's body is released just after its last byte reaches the
	// viewer, so the gauge may lag the viewer's answer by a moment.
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		m := scrape(t, "http://"+n.Addr("admin").String()+"/metrics")
		if m["openfront_origin_requests_in_flight"] == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("in flight 2s after answered: %v", m["openfront_origin_requests_in_flight"])
			break
		}
	}
	n.Shutdown(context.Background())
	lines, _ := readWebLogs(t, logDir)
	shed := 0
	for _, l := range lines {
		if l["x-edge-result-type"] == "CapacityExceeded" {
			shed++
			if l["sc-status"] != "503" || l["x-edge-detailed-result-type"] != "CapacityExceeded" || l["x-edge-response-result-type"] != "CapacityExceeded" || l["cs-uri-stem"] != "/slow/3" {
				t.Errorf("shed line: %v", l)
			}
		}
	}
	if shed != 1 || len(lines) != 5 {
		t.Errorf("%d lines, %d CapacityExceeded; want 5, 1", len(lines), shed)
	}
}

// Past --max-connections (or --max-connections-per-ip) a new connection
// is closed as soon as accepted, and the admin listener still answers.
func TestMaxConnections(t *testing.T) {
	for _, c := range []struct {
		opts   Options
		reason string
	}{
		{Options{MaxConnections: 2}, "max_connections"},
		{Options{MaxConnectionsPerIP: 2}, "max_connections_per_ip"},
	} {
		t.Run(c.reason, func(t *testing.T) {
			n, _, _, _ := startLimited(t, c.opts)
			addr := n.Addr("http").String()
			for range 2 {
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { conn.Close() })
				// Served, so counted: the accept is done.
				fmt.Fprint(conn, "GET /index.html HTTP/1.1\r\nHost: cap.test\r\n\r\n")
				conn.Read(make([]byte, 1))
			}
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprint(conn, "GET /index.html HTTP/1.1\r\nHost: cap.test\r\n\r\n")
			if k, err := conn.Read(make([]byte, 1)); k != 0 || !(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
				t.Fatalf("third connection: read %d bytes, %v; want it closed", k, err)
			}
			m := scrape(t, "http://"+n.Addr("admin").String()+"/metrics")
			if m[`openfront_connections_refused_total{reason="`+c.reason+`",transport="tcp"}`] != 1 || m[`openfront_viewer_connections{transport="tcp"}`] != 2 {
				t.Errorf("metrics: refused %v, open %v", seriesOf(m, "openfront_connections_refused_total"), seriesOf(m, "openfront_viewer_connections"))
			}
		})
	}
}

// emfileListener fails its first accepts as a process out of descriptors does.
type emfileListener struct {
	net.Listener
	fails int
}

func (l *emfileListener) Accept() (net.Conn, error) {
	if l.fails > 0 {
		l.fails--
		return nil, &net.OpError{Op: "accept", Net: "tcp", Addr: l.Addr(), Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	return l.Listener.Accept()
}

// An accept that fails for lack of descriptors is retried, not the end
// of the listener (the servers behind it stop on any error but a
// timeout, and EMFILE is none).
func TestAcceptRetriesOnEMFILE(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	m, err := newConnMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	l, err := m.limit("tcp", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	lim := &limitedListener{Listener: &emfileListener{Listener: ln, fails: 2}, l: l, log: warnLogger(t)}
	go func() {
		if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
			defer c.Close()
			c.Read(make([]byte, 1))
		}
	}()
	c, err := lim.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	c.Close()
	if n := testutil.ToFloat64(l.refused.WithLabelValues("accept_error")); n != 2 {
		t.Errorf("accept errors counted: %v, want 2", n)
	}
}

// HTTP/3's QUIC connections are bounded too, apart from TCP's: past
// --max-connections a handshake is refused.
// dialH3 opens a QUIC connection to n's HTTP/3 listener.
func dialH3(n *Node) (*quic.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return quic.DialAddr(ctx, n.Addr("http3").String(),
		&tls.Config{ServerName: "cap.test", InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}}, nil)
}

func TestMaxConnectionsHTTP3(t *testing.T) {
	n, _, _, _ := startLimited(t, Options{MaxConnections: 1, HTTPSAddr: "127.0.0.1:0"})
	dial := func() (*quic.Conn, error) { return dialH3(n) }
	conn, err := dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
	req, _ := http.NewRequest("GET", "https://cap.test/index.html", nil)
	resp, err := (&http3.Transport{}).NewClientConn(conn).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if second, err := dial(); err == nil {
		second.CloseWithError(0, "")
		t.Fatal("a second QUIC connection was accepted")
	}
	// TCP has a bound of its own.
	if resp, _ := do(t, &http.Client{Timeout: 10 * time.Second}, "GET", "http://"+n.Addr("http").String()+"/index.html", capHost, ""); resp.StatusCode != 200 {
		t.Errorf("over TCP: %d", resp.StatusCode)
	}
	m := scrape(t, "http://"+n.Addr("admin").String()+"/metrics")
	// A refused client may try its handshake again: each try counts.
	if m[`openfront_connections_refused_total{reason="max_connections",transport="quic"}`] < 1 || m[`openfront_viewer_connections{transport="quic"}`] != 1 {
		t.Errorf("metrics: refused %v, open %v", seriesOf(m, "openfront_connections_refused_total"), seriesOf(m, "openfront_viewer_connections"))
	}
	// A closed connection gives its place back.
	conn.CloseWithError(0, "")
	for range 100 {
		if m := scrape(t, "http://"+n.Addr("admin").String()+"/metrics"); m[`openfront_viewer_connections{transport="quic"}`] == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	third, err := dial()
	if err != nil {
		t.Fatalf("once the first closed: %v", err)
	}
	third.CloseWithError(0, "")
}

// --max-connections-per-ip counts a QUIC connection against its address
// once its handshake has completed: past it the connection is closed with
// H3_EXCESSIVE_LOAD before any request is served, the others are served,
// and a closed one gives its place back.
func TestMaxConnectionsPerIPHTTP3(t *testing.T) {
	n, _, _, _ := startLimited(t, Options{MaxConnectionsPerIP: 2, HTTPSAddr: "127.0.0.1:0"})
	admin := "http://" + n.Addr("admin").String() + "/metrics"
	var served []*quic.Conn
	var clients []*http3.ClientConn
	for i := range 2 {
		conn, cc := servedH3(t, n, fmt.Sprintf("connection %d", i))
		served, clients = append(served, conn), append(clients, cc)
	}
	// The client's handshake completes before the node's, so the dial
	// succeeds; the node closes the connection once it completes its own.
	third, err := dialH3(n)
	if err != nil {
		t.Fatal(err)
	}
	defer third.CloseWithError(0, "")
	<-third.Context().Done()
	var ae *quic.ApplicationError
	if err := context.Cause(third.Context()); !errors.As(err, &ae) || !ae.Remote || ae.ErrorCode != quic.ApplicationErrorCode(http3.ErrCodeExcessiveLoad) {
		t.Fatalf("third connection closed with %v; want H3_EXCESSIVE_LOAD from the node", err)
	}
	for i, cc := range clients {
		if resp, err := getIndexH3(cc); err != nil || resp.StatusCode != 200 {
			t.Errorf("connection %d after the refusal: %v", i, err)
		}
	}
	// TCP's connections are counted apart.
	if resp, _ := do(t, &http.Client{Timeout: 10 * time.Second}, "GET", "http://"+n.Addr("http").String()+"/index.html", capHost, ""); resp.StatusCode != 200 {
		t.Errorf("over TCP: %d", resp.StatusCode)
	}
	m := scrape(t, admin)
	if m[`openfront_connections_refused_total{reason="max_connections_per_ip",transport="quic"}`] != 1 || m[`openfront_connections_refused_total{reason="max_connections_per_ip",transport="tcp"}`] != 0 {
		t.Errorf("metrics: refused %v", seriesOf(m, "openfront_connections_refused_total"))
	}
	// A closed connection gives its place back.
	served[0].CloseWithError(0, "")
	for range 100 {
		if quicConnsFrom(n, "127.0.0.1") == 1 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	servedH3(t, n, "once the first closed")
	if got := quicConnsFrom(n, "127.0.0.1"); got != 2 {
		t.Errorf("QUIC connections counted from 127.0.0.1: %d, want 2", got)
	}
}

// servedH3 opens a QUIC connection to n, closed when t ends, and gets
// the index page over it, which it must be served; what names it.
func servedH3(t *testing.T, n *Node, what string) (*quic.Conn, *http3.ClientConn) {
	t.Helper()
	conn, err := dialH3(n)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	t.Cleanup(func() { conn.CloseWithError(0, "") })
	cc := (&http3.Transport{}).NewClientConn(conn)
	if resp, err := getIndexH3(cc); err != nil || resp.StatusCode != 200 {
		t.Fatalf("%s: %v", what, err)
	}
	return conn, cc
}

// getIndexH3 gets the limits config's index page over cc.
func getIndexH3(cc *http3.ClientConn) (*http.Response, error) {
	req, _ := http.NewRequest("GET", "https://cap.test/index.html", nil)
	resp, err := cc.RoundTrip(req)
	if err == nil {
		resp.Body.Close()
	}
	return resp, err
}

// deafConn sends but never receives, as a client whose source address
// is spoofed: the handshakes it starts never complete.
type deafConn struct {
	net.PacketConn
	once   sync.Once
	closed chan struct{}
}

func (c *deafConn) ReadFrom([]byte) (int, net.Addr, error) {
	<-c.closed
	return 0, nil, net.ErrClosed
}

func (c *deafConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.PacketConn.Close()
}

// A handshake that never completes, as one from a spoofed address, does
// not count against the address: its owner is still served.
func TestMaxConnectionsPerIPHTTP3Spoofed(t *testing.T) {
	n, _, _, _ := startLimited(t, Options{MaxConnectionsPerIP: 1, HTTPSAddr: "127.0.0.1:0"})
	admin := "http://" + n.Addr("admin").String() + "/metrics"
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deaf := &deafConn{PacketConn: udp, closed: make(chan struct{})}
	tr := &quic.Transport{Conn: deaf}
	// The transport's reader ends once its conn is closed.
	defer func() { deaf.Close(); tr.Close() }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go tr.Dial(ctx, n.Addr("http3"), &tls.Config{ServerName: "cap.test", InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}}, nil)
	// Its Initial has reached the node.
	for range 100 {
		if m := scrape(t, admin); m[`openfront_viewer_connections{transport="quic"}`] == 1 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	servedH3(t, n, "the address's own connection")
	m := scrape(t, admin)
	if m[`openfront_viewer_connections{transport="quic"}`] != 2 || m[`openfront_connections_refused_total{reason="max_connections_per_ip",transport="quic"}`] != 0 {
		t.Errorf("metrics: refused %v, open %v", seriesOf(m, "openfront_connections_refused_total"), seriesOf(m, "openfront_viewer_connections"))
	}
}

// quicConnsFrom is the number of n's QUIC connections counted against ip.
func quicConnsFrom(n *Node, ip string) int64 {
	n.quicConns.mu.Lock()
	defer n.quicConns.mu.Unlock()
	return n.quicConns.byIP[netip.MustParseAddr(ip)]
}

// The RTMP listener has a bound of its own, --max-rtmp-connections, and
// --max-connections-per-ip applies to it apart from HTTP: past either a
// new RTMP connection is closed as soon as accepted, while HTTP viewers
// and the admin listener are served.
func TestMaxRTMPConnections(t *testing.T) {
	for _, c := range []struct {
		opts   Options
		reason string
	}{
		{Options{MaxRTMPConnections: 1, MaxConnections: 1}, "max_connections"},
		{Options{MaxConnectionsPerIP: 1}, "max_connections_per_ip"},
	} {
		t.Run(c.reason, func(t *testing.T) {
			c.opts.RTMPAddr = "127.0.0.1:0"
			n, _, _, _ := startLimited(t, c.opts)
			addr, admin := n.Addr("rtmp").String(), "http://"+n.Addr("admin").String()+"/metrics"
			dial := func() net.Conn {
				t.Helper()
				conn, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				conn.SetDeadline(time.Now().Add(10 * time.Second))
				return conn
			}
			first := dial()
			defer first.Close()
			if err := handshake.HandshakeWithServer(first, first, &handshake.Config{}); err != nil {
				t.Fatalf("first connection's handshake: %v", err)
			}
			second := dial()
			defer second.Close()
			if k, err := second.Read(make([]byte, 1)); k != 0 || !(errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET)) {
				t.Fatalf("second connection: read %d bytes, %v; want it closed", k, err)
			}
			// HTTP has its bound apart.
			if resp, _ := do(t, &http.Client{Timeout: 10 * time.Second}, "GET", "http://"+n.Addr("http").String()+"/index.html", capHost, ""); resp.StatusCode != 200 {
				t.Errorf("over HTTP: %d", resp.StatusCode)
			}
			m := scrape(t, admin)
			if m[`openfront_connections_refused_total{reason="`+c.reason+`",transport="rtmp"}`] != 1 || m[`openfront_viewer_connections{transport="rtmp"}`] != 1 ||
				m[`openfront_connections_refused_total{reason="`+c.reason+`",transport="tcp"}`] != 0 {
				t.Errorf("metrics: refused %v, open %v", seriesOf(m, "openfront_connections_refused_total"), seriesOf(m, "openfront_viewer_connections"))
			}
			// A closed connection gives its place back.
			first.Close()
			for range 100 {
				if m := scrape(t, admin); m[`openfront_viewer_connections{transport="rtmp"}`] == 0 {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			third := dial()
			defer third.Close()
			if err := handshake.HandshakeWithServer(third, third, &handshake.Config{}); err != nil {
				t.Fatalf("once the first closed: %v", err)
			}
		})
	}
}
