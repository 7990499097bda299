package node

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// Descriptors the connection and origin bounds leave to the rest of the
// process: the admin listener and its connections, access log and cache
// files, the databases, git, and the RTMP and HTTP/3 sockets.
const reservedFDs = 256

// DefaultLimits are serve's --max-connections, --max-rtmp-connections
// and --max-origin-requests when not given, from the process's
// descriptor limit nofile (Go raises the soft limit to the hard one at
// start). Of what the reserve leaves, a quarter is for origin requests,
// each of which holds an origin connection and maybe a cache file, five
// eighths for HTTP viewer connections, a sixteenth for RTMP's, and the
// last sixteenth for the idle origin connections kept for reuse.
func DefaultLimits(nofile uint64) (conns, rtmpConns, originRequests int) {
	if nofile == 0 || nofile > 1<<24 { // unknown or unlimited
		nofile = 1 << 24
	}
	budget := int64(nofile) - reservedFDs
	return int(max(budget*5/8, 16)), int(max(budget/16, 8)), int(max(budget/4, 8))
}

// setLimits applies the connection and origin request bounds of the
// options, or their defaults, and registers their metrics.
func (n *Node) setLimits(reg prometheus.Registerer) error {
	conns, rtmpConns, origins := DefaultLimits(NoFile())
	for _, o := range []struct{ opt, limit *int }{
		{&n.opts.MaxConnections, &conns}, {&n.opts.MaxRTMPConnections, &rtmpConns}, {&n.opts.MaxOriginRequests, &origins},
	} {
		if *o.opt != 0 {
			*o.limit = max(*o.opt, 0) // -1: unbounded
		}
	}
	n.handler.SetMaxOriginRequests(origins)
	n.log.Debug("limits", "maxConnections", conns, "maxRTMPConnections", rtmpConns, "maxConnectionsPerIP", n.opts.MaxConnectionsPerIP, "maxOriginRequests", origins)
	m, err := newConnMetrics(reg)
	if err != nil {
		return err
	}
	if n.conns, err = m.limit("tcp", conns, n.opts.MaxConnectionsPerIP); err != nil {
		return err
	}
	// Apart from HTTP's: a player holds its connection for a whole
	// stream, and a flood of either must not keep the other's viewers out.
	if n.opts.RTMPAddr != "" {
		if n.rtmpConns, err = m.limit("rtmp", rtmpConns, n.opts.MaxConnectionsPerIP); err != nil {
			return err
		}
	}
	// Per address only once validated (admitQUICAddr): a QUIC Initial's
	// can be spoofed.
	n.quicConns, err = m.limit("quic", conns, n.opts.MaxConnectionsPerIP)
	return err
}

// errTooManyConns refuses a QUIC connection past --max-connections.
var errTooManyConns = errors.New("too many viewer connections (serve --max-connections)")

// admitQUIC counts a new QUIC connection until ctx, which quic-go ends
// when the connection closes or its handshake fails, is done. Its
// address, unproven yet, is not counted (admitQUICAddr).
func (n *Node) admitQUIC(ctx context.Context) error {
	if !n.quicConns.admitTotal() {
		n.quicConns.refused.WithLabelValues("max_connections").Inc()
		return errTooManyConns
	}
	context.AfterFunc(ctx, n.quicConns.releaseTotal)
	return nil
}

// tooManyFromIP is the reason a QUIC connection past
// --max-connections-per-ip is closed with.
const tooManyFromIP = "too many connections from your address (serve --max-connections-per-ip)"

// admitQUICAddr counts c against its address until it closes, once its
// handshake has completed: the viewer then has answered the node's
// handshake packets at that address, so a spoofed Initial never uses up
// another's place, and no Retry costs every viewer a round trip. Past
// the limit c is closed with H3_EXCESSIVE_LOAD (RFC 9114). The
// HTTP/3 server calls it before reading any request of c, so a
// connection past the limit serves none, and its 0-RTT requests wait
// for the handshake. The count stays with that address when the viewer
// migrates: migration keeps a moving viewer's connection, and a
// connection moved away still holds its place where it was opened.
func (n *Node) admitQUICAddr(c *quic.Conn) {
	l := n.quicConns
	if l.perIP == 0 {
		return
	}
	select {
	case <-c.HandshakeComplete():
	case <-c.Context().Done():
		return
	}
	ip := addrIP(c.RemoteAddr())
	if !l.admitIP(ip) {
		l.refused.WithLabelValues("max_connections_per_ip").Inc()
		c.CloseWithError(quic.ApplicationErrorCode(http3.ErrCodeExcessiveLoad), tooManyFromIP)
		return
	}
	context.AfterFunc(c.Context(), func() { l.releaseIP(ip) })
}

// NoFile is the process's limit on open descriptors (0: unknown).
func NoFile() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return l.Cur
}

// connLimit counts the viewer connections of one transport, node-wide,
// and bounds them overall and per client address: the TCP listeners'
// together, and HTTP/3's QUIC connections apart, which hold no
// descriptor each, and whose first packet's address can be spoofed: a
// flood of made-up handshakes must not keep TCP viewers out.
type connLimit struct {
	max, perIP int64 // 0: unbounded
	n          atomic.Int64
	mu         sync.Mutex
	byIP       map[netip.Addr]int64 // with perIP
	refused    *prometheus.CounterVec
}

// connMetrics are the connection limits' series, by transport.
type connMetrics struct {
	refused *prometheus.CounterVec
	reg     prometheus.Registerer
}

func newConnMetrics(reg prometheus.Registerer) (*connMetrics, error) {
	m := &connMetrics{reg: reg, refused: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "openfront_connections_refused_total",
		Help: "Viewer connections refused, by transport (tcp, quic, rtmp) and reason: max_connections (serve --max-connections reached, or --max-rtmp-connections for rtmp; a TCP or RTMP one is closed as soon as accepted, a QUIC one's handshake refused), max_connections_per_ip (--max-connections-per-ip; a QUIC one is counted once its handshake completes and closed with H3_EXCESSIVE_LOAD), accept_error (an accept failed, such as for lack of descriptors, and was retried).",
	}, []string{"transport", "reason"})}
	return m, reg.Register(m.refused)
}

// limit makes the limit of transport, and its series.
func (m *connMetrics) limit(transport string, max, perIP int) (*connLimit, error) {
	l := &connLimit{max: int64(max), perIP: int64(perIP), byIP: map[netip.Addr]int64{},
		refused: m.refused.MustCurryWith(prometheus.Labels{"transport": transport})}
	reasons := []string{"max_connections", "max_connections_per_ip"}
	if transport != "quic" {
		reasons = append(reasons, "accept_error")
	}
	for _, r := range reasons {
		l.refused.WithLabelValues(r) // shown at 0
	}
	open := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "openfront_viewer_connections",
		Help:        "Viewer connections open, by transport: tcp (the HTTP and HTTPS listeners), quic (HTTP/3), rtmp; what serve --max-connections (--max-rtmp-connections for rtmp) bounds, each transport apart.",
		ConstLabels: prometheus.Labels{"transport": transport},
	}, func() float64 { return float64(l.n.Load()) })
	return l, m.reg.Register(open)
}

// admit counts a new connection from ip, or says why it is refused.
func (l *connLimit) admit(ip netip.Addr) (reason string) {
	if !l.admitTotal() {
		return "max_connections"
	}
	if !l.admitIP(ip) {
		l.releaseTotal()
		return "max_connections_per_ip"
	}
	return ""
}

func (l *connLimit) release(ip netip.Addr) {
	l.releaseIP(ip)
	l.releaseTotal()
}

// admitTotal counts a connection against the transport's bound.
func (l *connLimit) admitTotal() bool {
	if n := l.n.Add(1); l.max > 0 && n > l.max {
		l.n.Add(-1)
		return false
	}
	return true
}

func (l *connLimit) releaseTotal() { l.n.Add(-1) }

// admitIP counts a connection against ip's bound, if any.
func (l *connLimit) admitIP(ip netip.Addr) bool {
	if l.perIP == 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.byIP[ip] >= l.perIP {
		return false
	}
	l.byIP[ip]++
	return true
}

func (l *connLimit) releaseIP(ip netip.Addr) {
	if l.perIP == 0 {
		return
	}
	l.mu.Lock()
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
	l.mu.Unlock()
}

// limitedListener is a viewer listener under a connLimit: a connection
// past it is closed as soon as accepted, which frees its descriptor at
// once and tells the viewer (a reset or an end of stream it can retry
// on) rather than keeping it waiting in the backlog.
type limitedListener struct {
	net.Listener
	l   *connLimit
	log *slog.Logger
}

// Accept retries an accept that failed for a passing reason, such as a
// lack of descriptors (EMFILE), backing off as net/http does: the
// servers behind it would stop listening on such an error, and without
// the pause it would spin.
func (ln *limitedListener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		c, err := ln.Listener.Accept()
		if err != nil {
			if !retryableAccept(err) {
				return nil, err
			}
			ln.l.refused.WithLabelValues("accept_error").Inc()
			delay = min(max(2*delay, 5*time.Millisecond), time.Second)
			ln.log.Warn("accept failed; retrying", "addr", ln.Addr().String(), "err", err, "delay", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		ip := addrIP(c.RemoteAddr())
		if reason := ln.l.admit(ip); reason != "" {
			ln.l.refused.WithLabelValues(reason).Inc()
			c.Close()
			continue
		}
		return &limitedConn{Conn: c, l: ln.l, ip: ip}, nil
	}
}

func addrIP(a net.Addr) netip.Addr {
	var b net.IP
	switch a := a.(type) {
	case *net.TCPAddr:
		b = a.IP
	case *net.UDPAddr:
		b = a.IP
	}
	ip, _ := netip.AddrFromSlice(b)
	return ip.Unmap()
}

// limitedConn gives its place back when closed, once.
type limitedConn struct {
	net.Conn
	l    *connLimit
	ip   netip.Addr
	once sync.Once
}

// CloseWrite and SyscallConn are the TCP connection's: the HTTP/1
// server lingers with the one and sends files with the other.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}

func (c *limitedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// NetConn is the TCP connection, as tls.Conn's: RTMP writes through it
// with writev, which net.Buffers does only on a *net.TCPConn.
func (c *limitedConn) NetConn() net.Conn { return c.Conn }

func (c *limitedConn) Close() error {
	c.once.Do(func() { c.l.release(c.ip) })
	return c.Conn.Close()
}

// retryableAccept reports whether an accept failed for a passing reason,
// such as a lack of descriptors (EMFILE): the server backs off and
// accepts again, as net/http does, rather than stop listening.
func retryableAccept(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
