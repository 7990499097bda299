package cli

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"openfront.dev/compiler"
	"openfront.dev/compiler/table"
	"openfront.dev/daemon/compileworker"
	"openfront.dev/daemon/node"
)

func init() {
	register("serve", command{
		summary: "run the edge daemon on a config directory, a compiled table or a git branch",
		usage: "serve (--config DIR | --table FILE | --git URL [--branch main] [--git-subdir PATH] [--git-dir DIR] [--poll 15s] [--git-webhook-secret-file FILE])" +
			" [--http ADDR] [--https ADDR] [--admin ADDR] [--certs DIR] [--tls-cert FILE --tls-key FILE] [--origin-ca FILE] [--node-name NAME]" +
			" [--cache-memory SIZE] [--cache-body-dir DIR] [--cache-dir DIR --cache-disk SIZE] [--trusted-proxies CIDR,...] [--geoip-db FILE] [--asn-db FILE] [--log-dir DIR] [--log-level info]" +
			" [--rtmp ADDR] [--rtmp-secrets DIR] [--hls-segment 2s] [--admin-token-file FILE] [--admin-host NAME,...]" +
			" [--compile-timeout 2m] [--compile-memory SIZE] [--drain-timeout 30s] [--header-timeout 10s] [--idle-timeout 120s] [--body-timeout 60s]" +
			" [--max-connections N] [--max-connections-per-ip N] [--max-rtmp-connections N] [--max-origin-requests N]" +
			" [--region NAME] [--origin-shield REGION=URL,...] [--origin-shield-secret FILE]",
		examples: []string{
			"serve --config examples/quickstart",
			"serve --config config --http :80 --https :443 --certs /etc/openfront/certs --admin-token-file /etc/openfront/admin-token",
			"serve --git ssh://git@github.com/example/cdn-config.git --branch main --git-subdir config --certs /etc/openfront/certs",
		},
		run: runServe,
	})
}

// sizeFlag is a byte size flag: 64MiB, 1GiB, 500MB, 1048576.
type sizeFlag int64

// String writes the largest binary unit that divides the size, as the
// README and --help give defaults (256MiB).
func (s *sizeFlag) String() string {
	n := int64(*s)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.n == 0 {
			return strconv.FormatInt(n/u.n, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func (s *sizeFlag) Set(v string) error {
	units := []struct {
		suffix string
		n      int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(v, u.suffix); ok {
			v, mult = n, u.n
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n <= 0 {
		return fmt.Errorf("want a size such as 256MiB")
	}
	*s = sizeFlag(n * mult)
	return nil
}

// listenProblem says what is wrong with the address addr of the listener
// --flag, "" for none (or no listener): before the config is compiled,
// which may take minutes, and in words that say what to write (port is
// the listener's usual one) rather than net.Listen's.
func listenProblem(flag, addr, port string) string {
	if addr == "" {
		return ""
	}
	_, p, err := net.SplitHostPort(addr)
	switch {
	case strings.Contains(addr, "://"):
		host := addr[strings.Index(addr, "://")+3:]
		host, _, _ = strings.Cut(host, "/")
		return fmt.Sprintf("--%s %q: a listen address is HOST:PORT, not a URL: write %s", flag, addr, withPort(host, port))
	case err != nil && strings.Trim(addr, "0123456789") == "":
		return fmt.Sprintf("--%s %q: a port alone is written :%s (every address) or 127.0.0.1:%s", flag, addr, addr, addr)
	case err != nil && strings.Count(addr, ":") > 1 && !strings.Contains(addr, "["):
		return fmt.Sprintf("--%s %q: an IPv6 address goes in brackets, the port after them: [ADDRESS]:PORT, such as [::1]:%s", flag, addr, port)
	case err != nil && !strings.Contains(addr, ":"):
		return fmt.Sprintf("--%s %q: no port: write %s:%s, or :%s for every address", flag, addr, addr, port, port)
	case err != nil:
		return fmt.Sprintf("--%s %q: %v", flag, addr, err)
	}
	if _, err := net.LookupPort("tcp", p); err != nil { // a number or a service name, as net.Listen takes
		return fmt.Sprintf("--%s %q: the port is a number, 0 to 65535", flag, addr)
	}
	return ""
}

// withPort is host with port unless it has one.
func withPort(host, port string) string {
	if _, _, err := net.SplitHostPort(host); err == nil || host == "" {
		return cmp.Or(host, ":"+port)
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), port)
}

// checkTableFile says why name is not a table artifact, if it plainly is
// not: a typo in the path, or a config given where its compiled table is
// meant.
func checkTableFile(name string) error {
	fi, err := os.Stat(name)
	switch {
	case err != nil:
		return statError(name, err)
	case fi.IsDir():
		return fmt.Errorf("%s is a directory: --table takes the file compile -o writes; serve a config directory with --config", name)
	case strings.HasSuffix(name, ".cue"):
		return fmt.Errorf("%s is a CUE file: serve its config directory with --config", name)
	}
	return nil
}

// startNode is node.Start; tests wrap it.
var startNode = node.Start

func runServe(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("serve", commands["serve"].usage, stderr)
	var o node.Options
	fs.StringVar(&o.ConfigDir, "config", "", "serve the config directory `DIR`")
	fs.StringVar(&o.TableFile, "table", "", "serve the compiled table artifact `FILE` (openfront compile -o); local origins' paths are relative to its directory")
	fs.StringVar(&o.Git.URL, "git", "", "serve the config of a git repository `URL` (path, file://, https://, ssh://); each new commit is deployed if it vets")
	fs.StringVar(&o.Git.Branch, "branch", "main", "the git `BRANCH` to deploy")
	fs.StringVar(&o.Git.Subdir, "git-subdir", "", "the config directory's `PATH` inside the repository (default: its root)")
	fs.StringVar(&o.Git.Dir, "git-dir", "", "`DIR` for the clone and checkouts (default: under the user cache dir, openfront/git/REPO-BRANCH-HASH)")
	fs.DurationVar(&o.Git.Poll, "poll", 15*time.Second, "how often to fetch the branch (negative: only on webhooks and SIGHUP)")
	fs.StringVar(&o.Git.WebhookSecretFile, "git-webhook-secret-file", "", "`FILE` holding the secret of the admin listener's POST /hooks/git (X-Hub-Signature-256)")
	fs.StringVar(&o.HTTPAddr, "http", ":8080", "plain HTTP listener `ADDR` (empty: none)")
	fs.StringVar(&o.HTTPSAddr, "https", ":8443", "TLS listener `ADDR`: HTTP/1.1 and h2 on TCP, HTTP/3 on UDP (empty: none)")
	fs.StringVar(&o.AdminAddr, "admin", "127.0.0.1:9090", "admin listener `ADDR`: the status page, /healthz /readyz /status /metrics, invalidations, /hooks/git (empty: none)")
	fs.StringVar(&o.AdminTokenFile, "admin-token-file", "", "`FILE` holding the bearer token of the admin listener's invalidation API (POST /distributions/ID/invalidations); without it invalidations are refused")
	var adminHosts multiFlag
	fs.Var(&adminHosts, "admin-host", "`NAME,...` the admin listener answers to besides IP addresses, localhost and *.localhost (repeatable): a request whose Host is another name is refused with 421, against DNS rebinding")
	fs.StringVar(&o.CertsDir, "certs", "", "directory `DIR` of NAME.crt/NAME.key for viewerCertificate.certificateName; a pair replaced on disk is served within a second")
	fs.StringVar(&o.OriginCAFile, "origin-ca", "", "PEM `FILE` of CA certificates that custom origins' certificates may chain to, besides the system's (origins behind a private CA)")
	fs.StringVar(&o.TLSCertFile, "tls-cert", "", "the node's default certificate `FILE`; replaced on disk, it is served within a second (default: self-signed)")
	fs.StringVar(&o.TLSKeyFile, "tls-key", "", "the default certificate's key `FILE`")
	fs.StringVar(&o.NodeName, "node-name", "", "`NAME` in Via and logs (default: host name)")
	// Bounds of a compile, which runs in a worker process: CUE has
	// exponential cases, and one commit must not take every node.
	fs.DurationVar(&o.CompileTimeout, "compile-timeout", compileworker.DefaultTimeout, "how long compiling a change of the config may take; past it the change is rejected like a config error and the last good table keeps serving")
	compileMemory := sizeFlag(compileworker.NodeMemory())
	fs.Var(&compileMemory, "compile-memory", "`SIZE` of memory compiling a change of the config may use; past it the change is rejected like a config error; by default half of what this node may use (its cgroup's memory limit, else its RAM), at most 2GiB: on this node")
	fs.DurationVar(&o.DrainTimeout, "drain-timeout", 30*time.Second, "how long a shutdown waits for requests in flight")
	// nginx's client_header_timeout, keepalive_timeout and client_body_timeout.
	fs.DurationVar(&o.HeaderTimeout, "header-timeout", 10*time.Second, "how long a viewer may take to send a request's head")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", 120*time.Second, "how long a viewer's connection may wait with no request in flight")
	defConns, defRTMP, defOrigin := node.DefaultLimits(node.NoFile())
	fs.IntVar(&o.MaxConnections, "max-connections", defConns, "viewer TCP connections the HTTP and HTTPS listeners keep open together, and apart HTTP/3 connections; past it a new one is closed as soon as accepted (-1: unbounded; default: 5/8 of the descriptor limit less 256)")
	fs.IntVar(&o.MaxConnectionsPerIP, "max-connections-per-ip", 0, "viewer TCP connections one client address may keep open, and apart its RTMP and its HTTP/3 ones, counted once their handshake completes (0: unbounded; an office NAT is one address)")
	// As nginx-rtmp's max_connections: a player holds its connection
	// (and ~100 KiB) for a whole stream, unlike an HTTP viewer.
	fs.IntVar(&o.MaxRTMPConnections, "max-rtmp-connections", defRTMP, "connections the RTMP listener keeps open, apart from HTTP's; past it a new one is closed as soon as accepted (-1: unbounded; default: a sixteenth of the descriptor limit less 256)")
	fs.IntVar(&o.MaxOriginRequests, "max-origin-requests", defOrigin, "origin requests in flight, node-wide; past it a request that needs the origin is answered 503 CapacityExceeded with Retry-After, while cache hits are still served (-1: unbounded; default: a quarter of the descriptor limit less 256)")
	fs.DurationVar(&o.BodyTimeout, "body-timeout", 60*time.Second, "how long a request body's next bytes may take to come (408, or the stream reset once the answer began)")
	cacheMemory := sizeFlag(256 << 20)
	cacheDisk := sizeFlag(1 << 30)
	fs.Var(&cacheMemory, "cache-memory", "`SIZE` of the cache's memory tier (256MiB, 1GiB, ...)")
	fs.StringVar(&o.CacheDir, "cache-dir", "", "`DIR` for the cache's disk tier, kept across restarts; one node a directory (default: none)")
	fs.Var(&cacheDisk, "cache-disk", "`SIZE` of the disk tier (with --cache-dir)")
	fs.StringVar(&o.CacheBodyDir, "cache-body-dir", os.TempDir(), "`DIR` where the memory tier keeps bodies of 32 KiB and more, in unlinked files the page cache holds (on a disk filesystem they are sent fastest, and take up to --cache-memory of its space once written back; \"memfd\": in anonymous memory files)")
	fs.StringVar(&o.TrustedProxies, "trusted-proxies", "", "`CIDR,...` whose X-Forwarded-For (the viewer's address) and X-Forwarded-Proto (https: the proxy ended the viewer's TLS) are believed (default: none)")
	fs.StringVar(&o.GeoIPDB, "geoip-db", "", "MaxMind-format country or city database `FILE` (GeoLite2-Country, GeoLite2-City, ...) for geo restrictions and CloudFront-Viewer-Country(-Name); a city database adds -Country-Region(-Name), -City, -Postal-Code, -Time-Zone, -Latitude, -Longitude and -Metro-Code; reloaded when it changes (looked at every 30s, and on SIGHUP)")
	fs.StringVar(&o.ASNDB, "asn-db", "", "MaxMind-format ASN database `FILE` (GeoLite2-ASN) for CloudFront-Viewer-ASN; reloaded when it changes (every 30s, and on SIGHUP; default: the --geoip-db records' autonomous_system_number, if they hold one)")
	fs.StringVar(&o.RTMPAddr, "rtmp", ":1935", "RTMP listener `ADDR` of streaming distributions; live streams are also packaged as HLS (empty: none)")
	fs.StringVar(&o.RTMPSecretsDir, "rtmp-secrets", "", "`DIR` of the files live.streamKeySecret names")
	// Apple's HLS authoring spec asks for segments of nominally 6 s; 2 s
	// keeps viewers closer to the publisher (players start three target
	// durations from the live end: 6 s behind, not 18 s).
	fs.DurationVar(&o.HLSSegment, "hls-segment", 2*time.Second, "usual length of the live HLS segments, and their EXT-X-TARGETDURATION rounded (segments end at the first keyframe past it: the publisher's keyframe interval should divide it; 6s is Apple's recommendation)")
	fs.StringVar(&o.LogDir, "log-dir", "", "`DIR` for the access logs of distributions with logging.enabled, and their spool for upload to logging.bucket (default: no access logs)")
	fs.StringVar(&o.Region, "region", "", "the node's region `NAME`: it is the shield of origins whose originShield.originShieldRegion is NAME, and asks those origins itself")
	fs.StringVar(&o.ShieldURLs, "origin-shield", "", "`REGION=URL,...` the shield node of each region, the http:// or https:// base URL of another openfront node: origin requests of an origin with originShield go through the shield of its region (none listed: the node asks the origin itself); a region named again lists a secondary, asked when those before it cannot be reached")
	fs.StringVar(&o.ShieldSecretFile, "origin-shield-secret", "", "`FILE` holding the secret the fleet's nodes share (16 bytes or more), which authenticates a node's requests to a shield; never in the config repository")
	var logLevel slog.Level // info
	fs.TextVar(&logLevel, "log-level", slog.LevelInfo, "the lowest `LEVEL` of the node's log lines on stderr: debug, info, warn or error (debug adds refused RTMP connections, git fetches, ...)")
	pos, err := parseFlags(fs, args)
	sources := 0
	for _, s := range []string{o.ConfigDir, o.TableFile, o.Git.URL} {
		if s != "" {
			sources++
		}
	}
	// A timeout of 0 would be taken as the default: refused, as what
	// it says (no timeout) is not what it would do.
	var timeout string
	for _, t := range []struct {
		flag string
		d    time.Duration
	}{{"compile-timeout", o.CompileTimeout}, {"drain-timeout", o.DrainTimeout}, {"header-timeout", o.HeaderTimeout}, {"idle-timeout", o.IdleTimeout}, {"body-timeout", o.BodyTimeout}, {"hls-segment", o.HLSSegment}} {
		if t.d <= 0 && timeout == "" {
			timeout = fmt.Sprintf("--%s must be more than 0 (it is %v)", t.flag, t.d)
		}
	}
	// Below a second the playlist lasts less than three target durations
	// (which round up to 1 s) and segments leave before players reload;
	// past 30 s the 32 MiB a segment may hold cuts it mid-GOP.
	if d := o.HLSSegment; d > 0 && (d < time.Second || d > 30*time.Second) && timeout == "" {
		timeout = fmt.Sprintf("--hls-segment must be from 1s to 30s (it is %v); 2s to 6s is usual", d)
	}
	// -1 is unbounded; less would be read as that or as the default.
	var limit string
	for _, l := range []struct {
		flag string
		n    int
	}{{"max-connections", o.MaxConnections}, {"max-connections-per-ip", o.MaxConnectionsPerIP}, {"max-rtmp-connections", o.MaxRTMPConnections}, {"max-origin-requests", o.MaxOriginRequests}} {
		if l.n < -1 && limit == "" {
			limit = fmt.Sprintf("--%s must be -1 (unbounded) or more (it is %d)", l.flag, l.n)
		}
	}
	var listen string
	for _, l := range []struct{ flag, addr, port string }{{"http", o.HTTPAddr, "8080"}, {"https", o.HTTPSAddr, "8443"}, {"admin", o.AdminAddr, "9090"}, {"rtmp", o.RTMPAddr, "1935"}} {
		if listen == "" {
			listen = listenProblem(l.flag, l.addr, l.port)
		}
	}
	if err != nil || len(pos) != 0 || sources != 1 || (o.TLSCertFile == "") != (o.TLSKeyFile == "") || timeout != "" || limit != "" || listen != "" {
		var source, tls string
		switch {
		case sources == 0:
			source = "name what to serve: --config DIR, --table FILE or --git URL"
		case sources > 1:
			source = "--config, --table and --git exclude each other: name one"
		}
		if (o.TLSCertFile == "") != (o.TLSKeyFile == "") {
			tls = "--tls-cert and --tls-key go together"
		}
		return badUsage(fs, err, positional(pos), source, tls, timeout, limit, listen)
	}
	if o.ConfigDir != "" {
		if err := checkConfigDir(o.ConfigDir); err != nil {
			fmt.Fprintf(stderr, "openfront serve: --config %v\n", err)
			return exitUsage
		}
	}
	if o.TableFile != "" {
		if err := checkTableFile(o.TableFile); err != nil {
			fmt.Fprintf(stderr, "openfront serve: --table %v\n", err)
			return exitUsage
		}
	}
	o.CacheMemory, o.CacheDisk, o.CompileMemory = int64(cacheMemory), int64(cacheDisk), int64(compileMemory)
	for _, list := range adminHosts {
		for name := range strings.SplitSeq(list, ",") {
			if name = strings.TrimSpace(name); name != "" {
				o.AdminHosts = append(o.AdminHosts, name)
			}
		}
	}
	if o.CacheBodyDir == "memfd" {
		o.CacheBodyDir = ""
	}
	o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel}))
	tuneGC(o.CacheMemory, o.Logger)
	// SIGHUP's default action ends the process: take it before the first
	// compile or git clone, which may take a while, so that a reload sent
	// then (systemctl reload right after start) is not a crash. It is
	// acted on once the node runs.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	n, err := startNode(o)
	if err != nil {
		var errs compiler.Errors
		if errors.As(err, &errs) {
			for _, e := range errs {
				fmt.Fprintln(stderr, e)
			}
		} else {
			fmt.Fprintf(stderr, "openfront serve: %v\n", err)
		}
		return exitFail
	}
	if a := n.Addr("http"); a != nil {
		fmt.Fprintln(stdout, "serving "+servingLine(a, n.Table()))
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	for running := true; running; {
		select {
		case <-ctx.Done():
			running = false
		case <-hup:
			// Errors are logged and shown on /status; the table stays.
			n.Reload()
		case err := <-n.Errors():
			fmt.Fprintf(stderr, "openfront serve: %v\n", err)
			n.Shutdown(context.Background())
			return exitFail
		}
	}
	o.Logger.Info("shutting down: draining requests in flight", "timeout", o.DrainTimeout)
	if err := n.Shutdown(context.Background()); err != nil {
		fmt.Fprintf(stderr, "openfront serve: shutdown: %v\n", err)
		return exitFail
	}
	return exitOK
}

// tuneGC sets the collector for a cache: most of the heap is cached bodies
// that live long, so the default GOGC=100 collects far more often than the
// garbage needs (the lead measured +7% on 1 KiB hits with 400). The memory
// limit keeps the larger target from growing the heap past the cache's
// bound plus room for requests in flight. An operator's GOGC or
// GOMEMLIMIT wins.
func tuneGC(cacheMemory int64, log *slog.Logger) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	const headroom = 100 << 20
	debug.SetGCPercent(400)
	debug.SetMemoryLimit(cacheMemory + headroom)
	log.Debug("garbage collector tuned for the cache", "gogc", 400, "memory_limit", cacheMemory+headroom)
}

// servingLine says where the plain HTTP listener a answers, for table t:
// a listener's own address is a Host no distribution serves (403), so the
// URL names a distribution's alias instead. localhost, which the
// quickstart has, is printed alone; another alias may not resolve, or
// not to this node, so the line also says how to reach the listener
// with that Host.
func servingLine(a net.Addr, t *table.Table) string {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return "http://" + a.String() + "/"
	}
	port := strconv.Itoa(ta.Port)
	local := ta.IP.IsUnspecified() || ta.IP.IsLoopback()
	alias := viewerAlias(t)
	switch {
	case alias == "localhost" && local, alias == "" && local:
		return "http://" + net.JoinHostPort("localhost", port) + "/"
	case alias == "":
		return "http://" + a.String() + "/"
	}
	ip := ta.IP.String()
	if ta.IP.IsUnspecified() {
		// :8080 listens on both families; 127.0.0.1 reaches it on either.
		ip = "127.0.0.1"
	}
	return fmt.Sprintf("http://%s/ (if that name does not resolve to this node: curl -H 'Host: %s' http://%s/)",
		net.JoinHostPort(alias, port), alias, net.JoinHostPort(ip, port))
}

// viewerAlias is the host a viewer can send to reach t: localhost if an
// enabled distribution has it, else the first exact alias of the first
// enabled distribution that has one (a wildcard names no one host);
// "" for none.
func viewerAlias(t *table.Table) string {
	if t == nil {
		return ""
	}
	first := ""
	for d := range t.Distributions() {
		if !d.Spec.Enabled {
			continue
		}
		for _, alias := range d.ExactAliases {
			if alias == "localhost" {
				return alias
			}
			if first == "" {
				first = alias
			}
		}
	}
	return first
}
