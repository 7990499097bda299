package node

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Descriptors the connection and origin bounds leave to the rest of the
// process: the admin listener and its connections, access log and cache
// files, the databases, git, RTMP and the HTTP/3 socket.
const reservedFDs = 256

// DefaultLimits are serve's --max-connections and --max-origin-requests
// when not given, from the process's descriptor limit nofile (Go raises
// the soft limit to the hard one at start). Of what the reserve leaves,
// a quarter is for origin requests, each of which holds an origin
// connection and maybe a cache file, five eighths for viewer
// connections, and the last eighth for the idle origin connections kept
// for reuse.
func DefaultLimits(nofile uint64) (conns, originRequests int) {
	if nofile == 0 || nofile > 1<<24 { // unknown or unlimited
		nofile = 1 << 24
	}
	budget := int64(nofile) - reservedFDs
	return int(max(budget*5/8, 16)), int(max(budget/4, 8))
}

// setLimits applies the connection and origin request bounds of the
// options, or their defaults.
func (n *Node) setLimits() {
	conns, origins := DefaultLimits(NoFile())
	if n.opts.MaxConnections != 0 {
		conns = max(n.opts.MaxConnections, 0) // -1: unbounded
	}
	if n.opts.MaxOriginRequests != 0 {
		origins = max(n.opts.MaxOriginRequests, 0)
	}
	n.conns = newConnLimit(conns, n.opts.MaxConnectionsPerIP)
	n.handler.SetMaxOriginRequests(origins)
	n.log.Debug("limits", "maxConnections", conns, "maxConnectionsPerIP", n.opts.MaxConnectionsPerIP, "maxOriginRequests", origins)
}

// NoFile is the process's limit on open descriptors (0: unknown).
func NoFile() uint64 {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return l.Cur
}

// connLimit counts the viewer connections of the TCP listeners together,
// and bounds them node-wide and per client address.
type connLimit struct {
	max, perIP int64 // 0: unbounded
	n          atomic.Int64
	mu         sync.Mutex
	byIP       map[netip.Addr]int64 // with perIP
	refused    *prometheus.CounterVec
}

func newConnLimit(max, perIP int) *connLimit {
	return &connLimit{max: int64(max), perIP: int64(perIP), byIP: map[netip.Addr]int64{},
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "openfront_connections_refused_total",
			Help: "Viewer TCP connections closed as soon as accepted, by reason: max_connections (serve --max-connections reached), max_connections_per_ip (--max-connections-per-ip), accept_error (the accept failed, such as for lack of descriptors, and was retried).",
		}, []string{"reason"}),
	}
}

func (l *connLimit) register(reg prometheus.Registerer) error {
	for _, r := range []string{"max_connections", "max_connections_per_ip", "accept_error"} {
		l.refused.WithLabelValues(r)
	}
	open := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "openfront_viewer_connections",
		Help: "Viewer TCP connections open (HTTP and HTTPS listeners): what serve --max-connections bounds.",
	}, func() float64 { return float64(l.n.Load()) })
	return errors.Join(reg.Register(l.refused), reg.Register(open))
}

// admit counts a new connection from ip, or says why it is refused.
func (l *connLimit) admit(ip netip.Addr) (reason string) {
	if n := l.n.Add(1); l.max > 0 && n > l.max {
		l.n.Add(-1)
		return "max_connections"
	}
	if l.perIP > 0 {
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.byIP[ip] >= l.perIP {
			l.n.Add(-1)
			return "max_connections_per_ip"
		}
		l.byIP[ip]++
	}
	return ""
}

func (l *connLimit) release(ip netip.Addr) {
	l.n.Add(-1)
	if l.perIP > 0 {
		l.mu.Lock()
		if l.byIP[ip]--; l.byIP[ip] <= 0 {
			delete(l.byIP, ip)
		}
		l.mu.Unlock()
	}
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
	if t, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(t.IP)
		return ip.Unmap()
	}
	return netip.Addr{}
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
