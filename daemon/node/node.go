// Package node runs an edge node: it loads the table, opens the listeners
// (HTTP, HTTPS with h1/h2, HTTP/3 on the same port over UDP, admin) and shuts them down gracefully.
package node

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"openfront.dev/compiler"
	"openfront.dev/compiler/table"
	"openfront.dev/daemon/access"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/admin"
	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/compileworker"
	"openfront.dev/daemon/edge"
	"openfront.dev/daemon/gitsync"
	"openfront.dev/daemon/origin"
	"openfront.dev/daemon/rtmp"
	"openfront.dev/daemon/shield"
	"openfront.dev/daemon/watch"
	"openfront.dev/internal/tlsfp"
)

// Options configure a node.
type Options struct {
	ConfigDir string     // a config directory, or
	TableFile string     // a compiled table artifact, or
	Git       GitOptions // a git branch (GitOptions.URL set)
	// CompileTimeout and CompileMemory bound each compile of the config
	// (a change, a commit), which runs in a worker process: past either,
	// the change is rejected like a config error and the worker killed.
	// Default compileworker.DefaultTimeout and NodeMemory().
	CompileTimeout time.Duration
	CompileMemory  int64

	HTTPAddr, HTTPSAddr, AdminAddr string
	CertsDir                       string
	TLSCertFile, TLSKeyFile        string
	NodeName                       string
	DrainTimeout                   time.Duration
	// HeaderTimeout cuts a viewer that has not sent a whole request
	// header in time (slowloris); default 10s.
	HeaderTimeout time.Duration
	// IdleTimeout closes a viewer's connection that has had no request
	// in flight for this long, over every protocol; default 120s.
	IdleTimeout time.Duration
	// BodyTimeout bounds each wait for a request body's next bytes (not
	// the whole body), over every protocol: a viewer that stops sending
	// is answered 408, as by nginx's client_body_timeout, or has its
	// stream reset when the origin's answer had begun; default 60s.
	// It bounds each write of an answer too (a viewer that stops
	// reading), as nginx's send_timeout: over HTTP/1.1 in daemon/http1
	// (the connection closed), over HTTP/2 and HTTP/3 in sendTimeout
	// (the stream reset).
	BodyTimeout time.Duration
	// MaxConnections bounds the viewer TCP connections of the HTTP and
	// HTTPS listeners together: past it a new one is closed as soon as
	// accepted. MaxOriginRequests bounds the origin requests in flight:
	// past it a request that needs the origin is answered 503
	// CapacityExceeded. 0: DefaultLimits of the descriptor limit; -1:
	// unbounded. The admin listener is never bounded.
	MaxConnections, MaxOriginRequests int
	// MaxConnectionsPerIP bounds one client address's viewer connections
	// (0: unbounded), over TCP, RTMP and QUIC each apart; a QUIC one
	// counts once its handshake has proven the address.
	MaxConnectionsPerIP int
	// MaxRTMPConnections bounds the RTMP listener's connections, apart
	// from the HTTP ones: past it a new one is closed as soon as
	// accepted. 0: DefaultLimits; -1: unbounded.
	MaxRTMPConnections int
	// OriginCAFile is a PEM file of CA certificates that custom origins'
	// certificates may chain to, besides the system's roots (origins
	// behind a private CA).
	OriginCAFile string
	// AdminTokenFile holds the bearer token of the admin listener's
	// invalidation API; without it invalidations are refused.
	AdminTokenFile string
	// AdminHosts are the names, besides IP addresses and localhost, the
	// admin listener answers to in Host (serve --admin-host).
	AdminHosts []string

	// The shared cache: the memory tier's bound, and an optional disk tier.
	CacheMemory int64 // bytes; default 256 MiB
	CacheDir    string
	CacheDisk   int64 // bytes; default 1 GiB when CacheDir is set
	// CacheBodyDir holds the memory tier's large bodies in unlinked files
	// (cache.Config.BodyDir); "" keeps them in memfds.
	CacheBodyDir string
	// TrustedProxies are CIDRs whose X-Forwarded-For is believed ("" none).
	TrustedProxies string
	// GeoIPDB is a MaxMind-format country or City database, for geo
	// restrictions and the viewer location headers.
	GeoIPDB string
	// ASNDB is a MaxMind-format ASN database (GeoLite2-ASN), for
	// CloudFront-Viewer-ASN ("" none: the ASN of GeoIPDB's records, if any).
	ASNDB string
	// LogDir is where access logs of distributions with logging.enabled
	// are written (and spooled for upload to logging.bucket); "" turns
	// access logs off.
	LogDir string
	// RTMPAddr is the RTMP listener of streaming distributions ("" none);
	// live streams published there are also packaged as HLS for
	// liveOriginConfig origins. RTMPSecretsDir holds the files that
	// live.streamKeySecret names.
	RTMPAddr, RTMPSecretsDir string
	// HLSSegment is the live HLS segments' usual length, and so their
	// EXT-X-TARGETDURATION (hls.Options.MinSegment; 0: 2 s).
	HLSSegment time.Duration
	// Region is the node's region label; ShieldURLs the shield node of
	// each region ("REGION=URL,..."); ShieldSecretFile the secret the
	// fleet's nodes share, which authenticates their requests to a shield
	// (serve --region, --origin-shield, --origin-shield-secret).
	Region, ShieldURLs, ShieldSecretFile string
	Logger                               *slog.Logger
}

// Node is a running edge node.
type Node struct {
	opts   Options
	shield *shield.Config // nil: no --region nor --origin-shield
	// saidMissing is the last list of regions without a shield logged.
	saidMissing atomic.Pointer[string]
	log         *slog.Logger
	handler     *edge.Handler
	appliedAt   atomic.Pointer[time.Time]
	origins     *origin.Pool
	cache       *cache.Cache
	geo         *access.GeoDB
	asn         *access.GeoDB
	stopGeo     context.CancelFunc
	reloader    *watch.Reloader
	compiler    *compileworker.Worker // nil for a table file
	git         *gitsync.Syncer       // serve --git
	webhook     http.Handler
	stopWatch   context.CancelFunc
	logs        *accesslog.Manager // nil without LogDir
	rtmp        *rtmp.Server       // nil without RTMPAddr
	servers     []shutdowner
	h3          *h3Server
	certs       *certStore
	conns       *connLimit // the TCP viewer listeners'
	quicConns   *connLimit // HTTP/3's
	rtmpConns   *connLimit // with RTMPAddr
	addrs       map[string]net.Addr
	wg          sync.WaitGroup
	errs        chan error
}

// Start loads the table and opens the listeners. It fails, and serves
// nothing, when the config does not compile.
func Start(opts Options) (*Node, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.NodeName == "" {
		opts.NodeName, _ = os.Hostname()
	}
	if opts.DrainTimeout == 0 {
		opts.DrainTimeout = 30 * time.Second
	}
	if opts.HeaderTimeout == 0 {
		opts.HeaderTimeout = 10 * time.Second
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = 120 * time.Second
	}
	if opts.BodyTimeout == 0 {
		opts.BodyTimeout = 60 * time.Second
	}
	n := &Node{opts: opts, log: opts.Logger, addrs: map[string]net.Addr{}, errs: make(chan error, 4)}
	// A token file the node cannot use is said now, not as 503s on a
	// deploy's first invalidation.
	if opts.AdminAddr != "" && opts.AdminTokenFile != "" {
		if err := admin.CheckTokenFile(opts.AdminTokenFile); errors.Is(err, admin.ErrTokenFileShared) {
			n.log.Warn("the admin token file is readable by other users", "err", err)
		} else if err != nil {
			return nil, fmt.Errorf("--admin-token-file: %w", err)
		}
	}
	if opts.Git.URL != "" {
		// The config dir is the syncer's current link (plus the subdir).
		if err := n.newGit(); err != nil {
			return nil, err
		}
		opts.ConfigDir = n.opts.ConfigDir
	}
	// Local origins' paths are relative to the config directory, and for
	// a table artifact to the directory it is in: never to the working
	// directory, which is "/" under systemd.
	originDir := opts.ConfigDir
	if opts.TableFile != "" {
		originDir = filepath.Dir(opts.TableFile)
	}
	n.origins = origin.NewPool(originDir)
	n.origins.SetLogger(n.log)
	if opts.OriginCAFile != "" {
		roots, err := originRoots(opts.OriginCAFile)
		if err != nil {
			return nil, err
		}
		n.origins.TrustRoots(roots)
	}
	n.handler = edge.New(n.origins, opts.NodeName, n.log)
	if err := n.setShield(); err != nil {
		return nil, err
	}
	n.handler.SetBodyTimeout(opts.BodyTimeout)
	if err := n.viewerServices(); err != nil {
		return nil, n.abort(err) // the cache, if it opened, is closed
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if n.git != nil {
		reg.MustRegister(n.git.Collectors()...)
	}

	// The reloader compiles the config (or loads the artifact) now, and
	// again on every change; a failed compile keeps the last good table.
	if n.cache != nil {
		if err := n.cache.Register(reg); err != nil {
			return nil, err
		}
	}
	if err := n.handler.Register(reg); err != nil {
		return nil, err
	}
	if err := n.setLimits(reg); err != nil {
		return nil, err
	}
	if opts.LogDir != "" {
		logs, err := accesslog.NewManager(accesslog.Options{Dir: opts.LogDir, NodeName: opts.NodeName, Registerer: reg, Logger: n.log})
		if err != nil {
			return nil, err
		}
		n.logs = logs
		n.handler.SetAccessLogs(logs)
	}
	if err := n.newMedia(reg); err != nil {
		return nil, err
	}
	// A table with geo-restricted distributions, or web ACL rules on
	// countries or ASNs, needs the database that answers them: without
	// one it is refused (fail closed), like a config error.
	// So do certificates it names that this node cannot load: a missing
	// or unreadable file fails the new config, not the running one.
	check := func(t *table.Table) error {
		if err := access.CheckDatabases(t, n.geo, n.asn); err != nil {
			return err
		}
		if opts.HTTPSAddr == "" {
			return nil
		}
		return checkCertificates(t, opts.CertsDir)
	}
	wo := watch.Options{Dir: opts.ConfigDir, File: opts.TableFile, Logger: n.log, Registry: reg, Check: check, Apply: n.apply}
	if opts.HTTPSAddr != "" && opts.CertsDir != "" {
		// A config refused for a certificate not yet in --certs is
		// applied once the certificate is copied there.
		wo.CheckDirs = []string{opts.CertsDir}
	}
	if opts.ConfigDir != "" {
		// CUE evaluation can be neither cancelled nor bounded: a config
		// that never ends, or allocates without end, would take the node.
		n.compiler = compileworker.New(opts.ConfigDir, compileworker.Options{Timeout: opts.CompileTimeout, Memory: opts.CompileMemory, Logger: n.log})
		wo.Compile = func() (*table.Table, compiler.Errors, error) {
			res, err := n.compiler.Compile()
			if err != nil {
				return nil, nil, err
			}
			if n.git != nil {
				for i := range res.Warnings {
					res.Warnings[i].File = n.git.InRepo(res.Warnings[i].File)
				}
			}
			return res.Table, res.Warnings, nil
		}
	}
	r, err := watch.New(wo)
	if err != nil {
		n.closeCompiler()
		return nil, err
	}
	n.reloader = r
	if n.git != nil {
		err = n.git.Init(context.Background()) // deploys a first commit with r.Reload
	} else {
		err = r.Deploy() // the caller reports a config error, once
	}
	if err != nil {
		if n.git != nil {
			n.git.Close()
		}
		n.closeCompiler()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.stopWatch = cancel
	n.wg.Go(func() {
		if err := r.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			n.log.Error("config watcher stopped", "err", err)
		}
	})
	if n.git != nil {
		n.wg.Go(func() { n.git.Run(ctx) })
	}

	var listeners []string
	if opts.HTTPAddr != "" {
		if err := n.serveOn("http", opts.HTTPAddr, n.viewerServer()); err != nil {
			return nil, n.abort(err)
		}
		listeners = append(listeners, "http "+n.addrs["http"].String())
	}
	if opts.HTTPSAddr != "" {
		tlsCfg, err := n.tlsConfig()
		if err != nil {
			return nil, n.abort(err)
		}
		if err := n.listenHTTPS(opts.HTTPSAddr, tlsCfg); err != nil {
			return nil, n.abort(err)
		}
		listeners = append(listeners, "https "+n.addrs["https"].String())
		if err := n.listenHTTP3(n.addrs["https"].(*net.TCPAddr)); err != nil {
			return nil, n.abort(err)
		}
		listeners = append(listeners, "http3 "+n.addrs["http3"].String())
		if a, ok := n.addrs["http"].(*net.TCPAddr); ok {
			n.handler.SetListenPorts(a.Port, n.addrs["https"].(*net.TCPAddr).Port)
		}
	}
	if err := n.listenRTMP(); err != nil {
		return nil, n.abort(err)
	}
	if a := n.addrs["rtmp"]; a != nil {
		listeners = append(listeners, "rtmp "+a.String())
	}
	if opts.AdminAddr != "" {
		h := admin.Handler(opts.NodeName, n, listeners, reg, admin.Options{TokenFile: opts.AdminTokenFile, Cache: n.cache, Context: ctx, AllowedHosts: opts.AdminHosts})
		if err := n.serveOn("admin", opts.AdminAddr, admin.Server(h, n.log)); err != nil {
			return nil, n.abort(err)
		}
		// Only invalidations take a token: off loopback, an operator who
		// meant a private listener should hear that the rest is open.
		if a, ok := n.addrs["admin"].(*net.TCPAddr); ok && !a.IP.IsLoopback() {
			n.log.Warn("the admin listener is not on loopback: its status page, /status, /metrics and /status/traffic answer whoever reaches it, without a token; firewall it or bind --admin to 127.0.0.1", "addr", a.String())
		}
	}
	return n, nil
}

func (n *Node) closeCompiler() {
	if n.compiler != nil {
		n.compiler.Close()
	}
}

// apply swaps the table in: requests in flight finish on the old one.
func (n *Node) apply(t *table.Table) {
	now := time.Now()
	// The writers first: a new distribution's first request has one.
	if n.logs != nil {
		if err := n.logs.SetTable(t); err != nil {
			n.log.Error("access logs not applied for some distributions", "err", err)
		}
	}
	n.handler.SetTable(t)
	n.setMediaTable(t)
	n.appliedAt.Store(&now)
	n.origins.Prune(t)
	n.sayMissingShields(t)
	c := t.Counts()
	n.log.Info("table applied", "version", t.Version(), "distributions", c.Distributions, "streamingDistributions", c.StreamingDistributions)
}

// Reload compiles the config now (SIGHUP); a failure keeps the table.
// Serving from git, it also fetches and retries a rejected head. It reads
// the viewer databases first if their files changed, as nginx's reload
// reads its GeoIP2 databases, rather than at the watcher's next look, and
// before the compile, whose table is checked against them.
func (n *Node) Reload() error {
	for _, db := range []struct {
		db   *access.GeoDB
		what string
	}{{n.geo, "geo"}, {n.asn, "ASN"}} {
		if db.db != nil {
			reloaded, err := db.db.Reload()
			n.reportDB(db.db, db.what, reloaded, err)
		}
	}
	if n.git != nil {
		n.git.Retry()
	}
	return n.reloader.Reload()
}

// AccessLogHealth is the state of each access log the table asks for.
func (n *Node) AccessLogHealth() []accesslog.Health {
	if n.logs == nil {
		return nil
	}
	return n.logs.Health()
}

// ConfigStatus says which config is applied and what the last rejected change was.
func (n *Node) ConfigStatus() watch.Status { return n.reloader.Status() }

// Table is the table being served.
func (n *Node) Table() *table.Table { return n.handler.Table() }

// checkTableDatabases is access.CheckDatabases of the table being served,
// if any, with the databases geo and asn.
func (n *Node) checkTableDatabases(geo, asn *access.GeoDB) error {
	if t := n.Table(); t != nil {
		return access.CheckDatabases(t, geo, asn)
	}
	return nil
}

// AppliedAt is when the current table was applied.
func (n *Node) AppliedAt() time.Time {
	if p := n.appliedAt.Load(); p != nil {
		return *p
	}
	return time.Time{}
}

// AccessLogs is the node's access log manager (nil without LogDir): the
// RTMP server writes streaming distributions' events with LogStreaming.
func (n *Node) AccessLogs() *accesslog.Manager { return n.logs }

// Addr is the address a listener ("http", "https", "admin") is bound to.
func (n *Node) Addr(name string) net.Addr { return n.addrs[name] }

func (n *Node) tlsConfig() (*tls.Config, error) {
	var def *certFile
	if n.opts.TLSCertFile != "" {
		// Checked on disk as --certs' are: a renewed default certificate
		// is served within a second, without a restart.
		def = newCertFiles("--tls-cert", n.opts.TLSCertFile, n.opts.TLSKeyFile, n.log)
		if _, err := def.get(nil); err != nil {
			return nil, fmt.Errorf("default certificate: %w", err)
		}
	} else {
		c, fp, err := selfSigned([]string{"localhost"})
		if err != nil {
			return nil, fmt.Errorf("self-signed certificate: %w", err)
		}
		def = fixedCert(c)
		n.log.Warn("no --tls-cert given: serving a self-signed certificate", "sha256", fp)
	}
	n.certs = newCertStore(n.opts.CertsDir, def, n.handler.Table, n.log)
	// The first handshake need not build the TLS view of the first table;
	// those of later tables build it on their first handshake.
	n.certs.prepare(n.handler.Table())
	n.handler.SetMisdirectCheck(n.certs.misdirected)
	return &tls.Config{GetConfigForClient: n.certs.configForClient(false), NextProtos: []string{"h2", "http/1.1"}, GetCertificate: def.get}, nil
}

// listenHTTP3 serves HTTP/3 on the UDP port of the HTTPS listener, and
// has the edge advertise it with Alt-Svc.
func (n *Node) listenHTTP3(tcp *net.TCPAddr) error {
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: tcp.IP, Port: tcp.Port})
	if err != nil {
		return listenError("--https", "http3 (UDP)", err)
	}
	n.addrs["http3"] = conn.LocalAddr()
	srv := &http3.Server{
		Handler:        sendTimeout(n.opts.BodyTimeout, headerListLimit(serverRequests(n.handler))),
		MaxHeaderBytes: headerListBytes,
		// quic-go has none by default: a client's PINGs kept an idle
		// connection open for ever.
		IdleTimeout: n.opts.IdleTimeout,
		ConnContext: func(ctx context.Context, c *quic.Conn) context.Context {
			n.admitQUICAddr(c)
			return edge.WithHandshake(ctx, c.HandshakeComplete())
		},
	}
	// The node's own transport, for its ConnContext: each connection's
	// context gets a tlsfp.Hello, which the ClientHelloInfo's context
	// reaches (configForClient fills it) and the requests' contexts carry.
	tr := &quic.Transport{Conn: conn, ConnContext: func(ctx context.Context, _ *quic.ClientInfo) (context.Context, error) {
		if err := n.admitQUIC(ctx); err != nil {
			return nil, err
		}
		return tlsfp.NewContext(ctx, new(tlsfp.Hello)), nil
	}}
	// Not http3.ConfigureTLSConfig: the configs configForClient returns
	// offer h3 themselves, or nothing to refuse a handshake.
	tlsConf := &tls.Config{GetConfigForClient: n.certs.configForClient(true), NextProtos: []string{http3.NextProtoH3}, GetCertificate: n.certs.defaultCert.get}
	// 0-RTT stays on (as http3.Server has it by default); the edge treats
	// requests that arrive before the handshake completes as replayable.
	// The node PINGs (at most every half idle timeout), so a viewer
	// waiting on a slow origin keeps its connection as over TCP; the
	// server's IdleTimeout still closes one with no request.
	ln, err := tr.ListenEarly(tlsConf, &quic.Config{Allow0RTT: true, KeepAlivePeriod: quicKeepAlive})
	if err != nil {
		conn.Close()
		return fmt.Errorf("http3 listener: %w", err)
	}
	n.h3 = &h3Server{srv: srv, ln: ln, tr: tr}
	n.handler.SetAltSvc(fmt.Sprintf(`h3=":%d"; ma=86400`, tcp.Port))
	n.log.Info("listening", "listener", "http3", "addr", conn.LocalAddr().String())
	n.wg.Go(func() {
		if err := srv.ServeListener(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) && !errors.Is(err, quic.ErrServerClosed) {
			n.errs <- fmt.Errorf("http3 listener: %w", err)
		}
	})
	return nil
}

// quicKeepAlive is how often the node PINGs a quiet QUIC connection
// (quic-go makes it at most half the connection's idle timeout, 30 s
// unless the viewer asks for less).
const quicKeepAlive = 15 * time.Second

// h3Server is the HTTP/3 server with the listener and transport it does
// not close itself (http3.Server.ServeListener).
type h3Server struct {
	srv *http3.Server
	ln  *quic.EarlyListener
	tr  *quic.Transport
}

// Shutdown stops accepting, drains the connections, then closes the
// transport and its UDP socket.
func (h *h3Server) Shutdown(ctx context.Context) error {
	h.ln.Close()
	err := h.srv.Shutdown(ctx)
	return errors.Join(err, h.tr.Close(), h.tr.Conn.Close())
}

func (n *Node) abort(err error) error {
	n.Shutdown(context.Background())
	return err
}

// Errors reports listeners that failed while serving.
func (n *Node) Errors() <-chan error { return n.errs }

// viewerServices opens the cache and the viewer identity sources.
func (n *Node) viewerServices() error {
	c, err := cache.New(cache.Config{MemoryBytes: n.opts.CacheMemory, Dir: n.opts.CacheDir, DiskBytes: n.opts.CacheDisk, BodyDir: n.opts.CacheBodyDir, Log: n.log})
	if err != nil {
		return fmt.Errorf("cache: %w", err)
	}
	n.cache = c
	n.handler.SetCache(c)
	trusted, err := access.ParseTrustedProxies(n.opts.TrustedProxies)
	if err != nil {
		return fmt.Errorf("--trusted-proxies: %w", err)
	}
	if n.geo, err = openDB(n.opts.GeoIPDB, "--geoip-db"); err != nil {
		return err
	}
	if n.asn, err = openDB(n.opts.ASNDB, "--asn-db"); err != nil {
		return err
	}
	// A new version the table being served could not work with (a
	// country database replaced by an ASN one under a geo restriction,
	// which would then serve everyone) is refused, as the table would be.
	if n.geo != nil {
		n.geo.SetCheck(func(c *access.GeoDB) error { return n.checkTableDatabases(c, n.asn) })
	}
	if n.asn != nil {
		n.asn.SetCheck(func(c *access.GeoDB) error { return n.checkTableDatabases(n.geo, c) })
	}
	// Watched once both opened: a failed start leaves no watcher behind.
	ctx, cancel := context.WithCancel(context.Background())
	n.stopGeo = cancel
	n.watchDB(ctx, n.geo, "geo")
	n.watchDB(ctx, n.asn, "ASN")
	n.handler.SetViewerIdentity(trusted, n.geo)
	n.handler.SetASNDB(n.asn)
	return nil
}

// openDB opens the MaxMind-format database at path, the value of flag;
// nil for "".
func openDB(path, flag string) (*access.GeoDB, error) {
	if path == "" {
		return nil, nil
	}
	db, err := access.OpenGeoDB(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return db, nil
}

// watchDB reloads db (if any) when its file changes, until ctx ends.
func (n *Node) watchDB(ctx context.Context, db *access.GeoDB, what string) {
	if db == nil {
		return
	}
	n.wg.Go(func() {
		db.Watch(ctx, 30*time.Second, func(reloaded bool, err error) { n.reportDB(db, what, reloaded, err) })
	})
}

// reportDB logs what a reload of db did.
func (n *Node) reportDB(db *access.GeoDB, what string, reloaded bool, err error) {
	if err != nil {
		n.log.Error(what+" database not reloaded; keeping the old one", "err", err)
	} else if reloaded {
		n.log.Info(what+" database reloaded", "path", db.Path())
	}
}

// Shutdown stops accepting and waits for requests in flight, up to the
// drain timeout or ctx, whichever comes first; then RTMP sessions end and
// the access logs are flushed (and uploaded).
func (n *Node) Shutdown(ctx context.Context) error {
	if n.reloader != nil {
		n.stopWatch()
		// A compile in flight ends now, rejected, rather than at its
		// timeout: the reloader and the syncer wait for it.
		n.closeCompiler()
		if n.git != nil {
			n.git.Close() // before the reloader: no deploy while stopping
		}
		n.reloader.Close()
	}
	ctx, cancel := context.WithTimeout(ctx, n.opts.DrainTimeout)
	defer cancel()
	// All at once: a listener draining a long request must not keep the
	// others accepting (and their viewers without a GOAWAY).
	servers := n.servers
	if n.h3 != nil {
		servers = append(slices.Clip(servers), n.h3)
		// Not waited for, as the HTTP/1.1 server does not wait for its.
		n.handler.EndWebSockets()
	}
	errs := shutdownAll(ctx, servers...)
	if err := n.shutdownMedia(ctx); err != nil {
		errs = append(errs, fmt.Errorf("rtmp: %w", err))
	}
	if n.stopGeo != nil {
		n.stopGeo() // the database watchers are in n.wg
	}
	n.wg.Wait()
	if n.cache != nil {
		n.cache.Close()
	}
	if n.origins != nil {
		n.origins.Close()
	}
	if n.logs != nil {
		// After the listeners drained: every request's line is queued.
		// Uploads get a drain timeout of their own.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), n.opts.DrainTimeout)
		defer cancel()
		if err := n.logs.Close(lctx); err != nil {
			errs = append(errs, fmt.Errorf("access logs: %w", err))
		}
	}
	return errors.Join(errs...)
}

// originRoots are the system's roots and the CA certificates of the PEM
// file path (--origin-ca).
func originRoots(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--origin-ca: %w", err)
	}
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--origin-ca %s: no PEM certificate in the file", path)
	}
	return roots, nil
}
