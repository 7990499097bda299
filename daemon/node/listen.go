package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"

	"openfront.dev/daemon/http1"
	"openfront.dev/internal/tlsfp"
)

// shutdowner is a listener's server: h1, net/http, or the TLS dispatcher.
type shutdowner interface{ Shutdown(context.Context) error }

// maxHeaderBytes is CloudFront's limit on a request's headers, on every
// viewer protocol.
const maxHeaderBytes = 20480

// headerListBytes is the HTTP/2 and HTTP/3 servers' own limit on a
// header list, above maxHeaderBytes, which headerListLimit enforces. At
// its limit net/http's HTTP/2 server answers 431 only to a block that came
// in one frame; one cut into CONTINUATIONs (browsers and nghttp2 cut at
// 16 KiB) ends the whole connection with PROTOCOL_ERROR, its defence
// against CONTINUATION floods, and Go's client refuses to send a list over
// the advertised limit at all. Past this larger one, that is still so, and
// quic-go answers 431 itself.
const headerListBytes = 64 << 10

// headerListLimit answers 413 on its own stream to an HTTP/2 or HTTP/3
// request whose header list is past maxHeaderBytes: CloudFront "returns
// HTTP status code 413, Request Entity Too Large" to a request over its
// 20,480 bytes (RequestAndResponseBehaviorCustomOrigin); the connection's
// other requests go on. The size is HPACK's (RFC 9113 6.5.2, QPACK's the
// same: name, value and 32 bytes a field, pseudo-fields included) against
// maxHeaderBytes and the 320 bytes net/http adds to it for HTTP/2: what
// net/http's server enforced with MaxHeaderBytes.
func headerListLimit(h http.Handler) http.Handler {
	const limit = maxHeaderBytes + 320
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if headerListSize(r) > limit {
			http.Error(w, fmt.Sprintf("413 Request Entity Too Large: the request's header is larger than %d bytes", maxHeaderBytes),
				http.StatusRequestEntityTooLarge)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// serverRequests answers, before the edge, the HTTP/2 and HTTP/3 requests
// daemon/http1 answers itself on HTTP/1.1:
//   - "OPTIONS *", a question about the server, not about any resource
//     (RFC 9110 9.3.7): 200 with an empty body, as daemon/http1 and
//     net/http's server answer it. quic-go hands it to the handler, which
//     sent it to the origin as a request for "/*";
//   - 400 to a request RFC 9113 calls malformed that net/http's HTTP/2
//     server lets through (quic-go resets their streams itself): a
//     :path not in origin form ("https://other.test/x"; "[:path] includes
//     the path and query parts of the target URI", 8.3.1), which
//     HTTP/1.1 routes by its host (RFC 9112 3.2.2) where net/http routed
//     it by :authority, serving another distribution's object than the
//     URL names; and a Host field that is not the :authority ("A server
//     SHOULD treat a request as malformed if it contains a Host header
//     field that identifies an entity that differs from the entity in
//     the :authority pseudo-header field", 8.3.1), whose HTTP/1.1
//     counterpart, two Hosts, is refused too; a :path holding a space,
//     which no URI holds (RFC 3986 2) and HTTP/1.1 cannot carry; and an
//     :authority that is no host and port ("www.site.test/free/x.site.test",
//     "a b"), which HTTP/1.1 refuses in Host (RFC 9112 3.2: "a Host header
//     field with an invalid field value"): the edge routed it by its end,
//     a wildcard alias, while a signed policy read it as part of the URL.
func serverRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reason := ""
		switch u := r.RequestURI; {
		case u == "*" && r.Method == http.MethodOptions:
			w.Header()["Content-Length"] = []string{"0"}
			w.WriteHeader(http.StatusOK)
			return
		case r.Method == http.MethodConnect && r.Header[":protocol"] == nil:
			// authority-form: the edge answers it
		case u == "" || u[0] != '/':
			reason = "malformed request target"
		case strings.IndexByte(u, ' ') >= 0:
			// A space ends an HTTP/1.1 target: one in the query went to
			// the origin's request line as it was ("GET /x?a HTTP/1.0
			// HTTP/1.1"), for it to split as it likes.
			reason = "a space in :path"
		}
		if hosts := r.Header["Host"]; len(hosts) > 0 && (len(hosts) > 1 || !sameAuthority(hosts[0], r.Host)) {
			reason = "the Host header is not the :authority"
		}
		if !httpguts.ValidHostHeader(r.Host) {
			reason = "malformed :authority"
		}
		if reason != "" {
			http.Error(w, "400 Bad Request: "+reason, http.StatusBadRequest)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// sameAuthority says whether two authorities of an https request name
// the same entity: alike but for case and HTTPS's default port.
func sameAuthority(a, b string) bool {
	return strings.EqualFold(strings.TrimSuffix(a, ":443"), strings.TrimSuffix(b, ":443"))
}

// headerListSize is an HTTP/2 request's header list size as its client
// sent it (but cookies, which net/http joins into one field).
func headerListSize(r *http.Request) int {
	const perField = 32
	n := len(":method") + len(r.Method) + len(":scheme") + len("https") + len(":authority") + len(r.Host) +
		len(":path") + len(r.RequestURI) + 4*perField
	for k, vv := range r.Header {
		for _, v := range vv {
			n += len(k) + len(v) + perField
		}
	}
	return n
}

// viewerServer is the HTTP/1.x server of the viewer listeners.
func (n *Node) viewerServer() *http1.Server {
	return &http1.Server{
		Handler:        n.handler,
		HeaderTimeout:  n.opts.HeaderTimeout,
		IdleTimeout:    n.opts.IdleTimeout,
		BodyTimeout:    n.opts.BodyTimeout,
		MaxHeaderBytes: maxHeaderBytes,
		Log:            n.log,
		ConnContext:    tlsfp.ConnContext,
		// Logged and counted for the distribution they name, as
		// CloudFront logs an invalid request.
		Refused: func(w http.ResponseWriter, r *http.Request, why http1.Refusal) {
			n.handler.ServeRefused(w, r, why.Status, why.Reason, why.Header)
		},
	}
}

// serveOn serves srv on a new listener at addr: plain HTTP/1.x (an
// http1.Server) or the admin API (net/http).
func (n *Node) serveOn(name, addr string, srv interface {
	Serve(net.Listener) error
	shutdowner
}) error {
	ln, err := n.bind(name, addr)
	if err != nil {
		return err
	}
	n.servers = append(n.servers, srv)
	n.wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.errs <- fmt.Errorf("%s listener: %w", name, err)
		}
	})
	return nil
}

// listenHTTPS serves TLS on addr: a connection that negotiates h2 goes to
// net/http's HTTP/2 server, its writes batched (batchConn), any other to
// the HTTP/1.x server.
func (n *Node) listenHTTPS(addr string, cfg *tls.Config) error {
	ln, err := n.bind("https", addr)
	if err != nil {
		return err
	}
	d := &tlsDispatch{
		ln: ln, cfg: cfg, timeout: n.opts.HeaderTimeout, stall: n.opts.BodyTimeout, log: n.log,
		h1: n.viewerServer(),
		h2: &http.Server{Handler: sendTimeout(n.opts.BodyTimeout, headerListLimit(serverRequests(n.handler))), TLSConfig: cfg, IdleTimeout: n.opts.IdleTimeout, MaxHeaderBytes: headerListBytes,
			ErrorLog: slog.NewLogLogger(n.log.Handler(), slog.LevelDebug), ConnContext: tlsfp.ConnContext},
		h2conns: newConnQueue(ln.Addr()),
	}
	n.servers = append(n.servers, d)
	n.wg.Go(func() {
		if err := d.h2.Serve(d.h2conns); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.errs <- fmt.Errorf("https listener (h2): %w", err)
		}
	})
	n.wg.Go(func() {
		if err := d.serve(); err != nil {
			n.errs <- fmt.Errorf("https listener: %w", err)
		}
	})
	return nil
}

func (n *Node) bind(name, addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, listenError("--"+name, name, err)
	}
	n.addrs[name] = ln.Addr()
	n.log.Info("listening", "listener", name, "addr", ln.Addr().String())
	if name == "admin" {
		// Never limited: an operator must reach it during a flood.
		return ln, nil
	}
	return &limitedListener{Listener: ln, l: n.conns, log: n.log}, nil
}

// listenError is a listener's failure to bind, named by the serve flag
// that set its address (flag): a port another process holds is the
// operator's to move.
func listenError(flag, name string, err error) error {
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s: %s listener: %w (another process has it: stop that, or give %s another address)", flag, name, err, flag)
	}
	return fmt.Errorf("%s: %s listener: %w", flag, name, err)
}

// tlsDispatch accepts TLS connections and hands each, after its
// handshake, to the server of the protocol it negotiated.
type tlsDispatch struct {
	ln      net.Listener
	cfg     *tls.Config
	timeout time.Duration // for the handshake
	stall   time.Duration // for each write of an HTTP/2 connection (batchConn)
	log     *slog.Logger
	h1      *http1.Server
	h2      *http.Server
	h2conns *connQueue
	wg      sync.WaitGroup
	closed  atomic.Bool
}

func (d *tlsDispatch) serve() error {
	for {
		c, err := d.ln.Accept()
		if err != nil {
			if d.closed.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		d.wg.Go(func() { d.handshake(c) })
	}
}

func (d *tlsDispatch) handshake(c net.Conn) {
	// The wrapper keeps the ClientHello for the JA3/JA4 headers (tlsfp).
	bc := newBatchConn(c, d.stall)
	tc := tls.Server(&tlsfp.Conn{Conn: bc}, d.cfg)
	c.SetDeadline(time.Now().Add(d.timeout))
	if err := tc.Handshake(); err != nil {
		d.log.Debug("TLS handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	c.SetDeadline(time.Time{})
	if tc.ConnectionState().NegotiatedProtocol == "h2" {
		bc.batch()
		if !d.h2conns.put(tc) {
			tc.Close()
		}
		return
	}
	d.h1.ServeConn(tc)
}

// Shutdown stops accepting, lets handshakes finish, then drains both
// servers.
func (d *tlsDispatch) Shutdown(ctx context.Context) error {
	d.closed.Store(true)
	d.ln.Close()
	d.wg.Wait()
	return errors.Join(shutdownAll(ctx, d.h1, d.h2)...)
}

// shutdownAll shuts the servers down concurrently and returns their errors.
func shutdownAll(ctx context.Context, servers ...shutdowner) []error {
	errs := make([]error, len(servers))
	var wg sync.WaitGroup
	for i, s := range servers {
		wg.Go(func() { errs[i] = s.Shutdown(ctx) })
	}
	wg.Wait()
	return errs
}

// connQueue is a net.Listener that yields the connections put in it.
type connQueue struct {
	addr   net.Addr
	conns  chan net.Conn
	once   sync.Once
	closed chan struct{}
}

func newConnQueue(addr net.Addr) *connQueue {
	return &connQueue{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (q *connQueue) put(c net.Conn) bool {
	select {
	case q.conns <- c:
		return true
	case <-q.closed:
		return false
	}
}

func (q *connQueue) Accept() (net.Conn, error) {
	select {
	case c := <-q.conns:
		return c, nil
	case <-q.closed:
		return nil, net.ErrClosed
	}
}

func (q *connQueue) Close() error {
	q.once.Do(func() { close(q.closed) })
	return nil
}

func (q *connQueue) Addr() net.Addr { return q.addr }
