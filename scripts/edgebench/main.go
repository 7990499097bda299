// Command edgebench is scripts/bench-edge.sh's toolbox:
//
//	edgebench origin -addr A                 the test origin (counts requests)
//	edgebench bare -http A [-https A] [-h3 A] [-tls-cert F -tls-key F] [-edge-headers]
//	                                         bare Go net/http (h1, h2 over TLS) and quic-go servers
//	edgebench h3load -url U [-conns 4 -streams 16 -d 10s]
//	edgebench burst -url U -warm U -origin O [-n 200]
//	edgebench fill -url BASE [-n 20000 -c 50 -size 100k -pid PID]
//	edgebench serve -pprof A -- SERVE-ARGS   openfront serve, plus /debug/pprof on A
//	edgebench run -label T/S/X -round N -pids P,P -out FILE -- LOAD-CMD...
//	edgebench report -in FILE [-subject openfront]
//
// The serve wrapper runs the daemon's own code (cli.Main) in this process so
// it can be profiled without adding a pprof endpoint to the daemon.
package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/quic-go/quic-go/http3"

	"openfront.dev/cli"
	"openfront.dev/daemon/compileworker"
	"openfront.dev/internal/loadgen"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: edgebench origin|bare|h3load|rate|burst|fill|serve|run|report [flags]")
		os.Exit(2)
	}
	// serve's node starts its compile worker as this executable.
	if os.Args[1] == compileworker.Command {
		os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr))
	}
	cmds := map[string]func([]string) error{
		"origin": runOrigin, "bare": runBare, "h3load": runH3Load,
		"burst": runBurst, "fill": runFill, "serve": runServe,
		"run": runMeasure, "report": runReport, "rate": runRate,
	}
	run, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "edgebench: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "edgebench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func runOrigin(args []string) error {
	fs := flag.NewFlagSet("origin", flag.ExitOnError)
	addr := fs.String("addr", "127.0.0.1:18081", "listen `ADDR`")
	fs.Parse(args)
	return (&http.Server{Addr: *addr, Handler: loadgen.NewOrigin()}).ListenAndServe()
}

func runBare(args []string) error {
	fs := flag.NewFlagSet("bare", flag.ExitOnError)
	httpAddr := fs.String("http", "127.0.0.1:18083", "net/http listen `ADDR`")
	httpsAddr := fs.String("https", "", "net/http TLS listen `ADDR`, HTTP/2 by ALPN (empty: none)")
	h3Addr := fs.String("h3", "", "quic-go http3 listen `ADDR` (UDP; empty: none)")
	certFile := fs.String("tls-cert", "", "certificate `FILE` for -https and -h3 (default: self-signed)")
	keyFile := fs.String("tls-key", "", "key `FILE` of -tls-cert")
	sizes := fs.String("sizes", "1k,100k", "object sizes to serve")
	pprofAddr := fs.String("pprof", "", "`ADDR` for /debug/pprof/ (empty: none)")
	edgeHeaders := fs.Bool("edge-headers", false, "also send the header fields an openfront hit adds (fixed values)")
	nodeTimeouts := fs.Bool("node-timeouts", false, "configure net/http as the node does (header and idle timeouts, header size limit)")
	fs.Parse(args)
	if *pprofAddr != "" {
		if err := servePprof(*pprofAddr); err != nil {
			return err
		}
	}
	h, err := loadgen.NewBare(strings.Split(*sizes, ",")...)
	if err != nil {
		return err
	}
	if *edgeHeaders {
		h.WithEdgeHeaders()
	}
	cert, err := loadCert(*certFile, *keyFile)
	if err != nil {
		return err
	}
	newServer := func(addr string) *http.Server {
		srv := &http.Server{Addr: addr, Handler: h}
		if *nodeTimeouts {
			// As daemon/node's newServer: each request then resets deadlines.
			srv.ReadHeaderTimeout, srv.IdleTimeout, srv.MaxHeaderBytes = 10*time.Second, 120*time.Second, 20480
		}
		return srv
	}
	errs := make(chan error, 3)
	go func() { errs <- newServer(*httpAddr).ListenAndServe() }()
	if *httpsAddr != "" {
		// net/http offers h2 by ALPN when TLSConfig leaves NextProtos empty.
		srv := newServer(*httpsAddr)
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		go func() { errs <- srv.ListenAndServeTLS("", "") }()
	}
	if *h3Addr != "" {
		h3 := &http3.Server{Addr: *h3Addr, Handler: h, TLSConfig: http3.ConfigureTLSConfig(&tls.Config{Certificates: []tls.Certificate{cert}})}
		go func() { errs <- h3.ListenAndServe() }()
	}
	return <-errs
}

// loadCert reads a PEM certificate and key, or makes a self-signed one.
func loadCert(certFile, keyFile string) (tls.Certificate, error) {
	if certFile == "" && keyFile == "" {
		return loadgen.SelfSigned()
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return cert, fmt.Errorf("-tls-cert/-tls-key: %w", err)
	}
	return cert, nil
}

func runH3Load(args []string) error {
	fs := flag.NewFlagSet("h3load", flag.ExitOnError)
	var o loadgen.LoadOptions
	fs.StringVar(&o.URL, "url", "", "https `URL` to GET")
	fs.StringVar(&o.Host, "host", "", "`HOST` to send as :authority (default: the URL's)")
	fs.IntVar(&o.Conns, "conns", 4, "QUIC connections")
	fs.IntVar(&o.Streams, "streams", 16, "requests in flight per connection")
	fs.DurationVar(&o.Duration, "d", 10*time.Second, "run `DURATION`")
	fs.Parse(args)
	res, err := loadgen.H3Load(context.Background(), o)
	if err != nil {
		return err
	}
	printLoad(res)
	return nil
}

func runRate(args []string) error {
	fs := flag.NewFlagSet("rate", flag.ExitOnError)
	var o loadgen.RateOptions
	fs.StringVar(&o.URL, "url", "", "http `URL` to GET")
	fs.StringVar(&o.Host, "host", "", "`HOST` header (default: the URL's)")
	fs.IntVar(&o.Conns, "conns", 50, "keep-alive connections")
	fs.Float64Var(&o.Rate, "rate", 40000, "requests per second, all connections together")
	fs.DurationVar(&o.Duration, "d", 10*time.Second, "run `DURATION`")
	fs.Parse(args)
	res, err := loadgen.RateLoad(context.Background(), o)
	if err != nil {
		return err
	}
	printLoad(res)
	return nil
}

// printLoad is one machine-readable line: the script greps rps=.
func printLoad(res loadgen.LoadResult) {
	fmt.Printf("rps=%.1f requests=%d errors=%d bytes=%d elapsed=%.2fs", res.RPS(), res.Requests, res.Errors, res.Bytes, res.Elapsed.Seconds())
	if res.FirstError != "" {
		fmt.Printf(" first_error=%q", res.FirstError)
	}
	fmt.Println()
}

func runBurst(args []string) error {
	fs := flag.NewFlagSet("burst", flag.ExitOnError)
	u := fs.String("url", "", "`URL` of an uncached object, through the cache")
	warm := fs.String("warm", "", "`URL` of a cached object, to open the connections with")
	origin := fs.String("origin", "http://127.0.0.1:18081", "the origin's base `URL`, asked for its count")
	n := fs.Int("n", 200, "concurrent requests")
	fs.Parse(args)
	ctx := context.Background()
	res, err := loadgen.Burst(ctx, *u, *warm, *n)
	if err != nil {
		return err
	}
	path := *u
	if i := strings.Index(path, "://"); i >= 0 {
		path = path[i+3:]
		if j := strings.IndexByte(path, '/'); j >= 0 {
			path = path[j:]
		}
	}
	st, err := loadgen.OriginCount(ctx, *origin, path)
	if err != nil {
		return err
	}
	out, _ := json.Marshal(res.XCache)
	fmt.Printf("requests=%d origin_requests=%d errors=%d distinct_bodies=%d status_200=%d xcache=%s\n",
		res.Requests, st.Path, res.Errors, res.Bodies, res.Statuses[200], out)
	return nil
}

func runFill(args []string) error {
	fs := flag.NewFlagSet("fill", flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:18080", "base `URL` of the cache")
	n := fs.Int("n", 20000, "distinct objects")
	conc := fs.Int("c", 50, "requests in flight")
	size := fs.String("size", "100k", "object size")
	prefix := fs.String("prefix", "fill-", "object name prefix")
	pid := fs.Int("pid", 0, "`PID` whose VmRSS/VmHWM to report")
	fs.Parse(args)
	res, err := loadgen.Fill(context.Background(), *base, *size, *prefix, *n, *conc, *pid)
	if err != nil {
		return err
	}
	fmt.Printf("requests=%d errors=%d bytes=%d elapsed=%.2fs", res.Requests, res.Errors, res.Bytes, res.Elapsed.Seconds())
	if *pid > 0 {
		m, err := loadgen.ReadMem(*pid)
		if err != nil {
			return err
		}
		// Unlinked files (memfds, O_TMPFILEs) hold cached bodies outside
		// RSS: the bound counts them.
		fmt.Printf(" peak_sampled_rss_mib=%.1f vmhwm_mib=%.1f vmrss_mib=%.1f peak_files_mib=%.1f files_mib=%.1f peak_sampled_total_mib=%.1f bound_mib=%.1f",
			mib(res.PeakRSS), mib(m.HWM), mib(m.RSS), mib(res.PeakFiles), mib(m.Files), mib(res.PeakTotal), mib(m.HWM+max(res.PeakFiles, m.Files)))
	}
	fmt.Println()
	return nil
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

// servePprof serves net/http/pprof's handlers on their own listener.
func servePprof(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go http.Serve(ln, mux)
	return nil
}

func runServe(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	addr := fs.String("pprof", "127.0.0.1:6060", "`ADDR` for /debug/pprof/")
	fs.Parse(args)
	if err := servePprof(*addr); err != nil {
		return err
	}
	os.Exit(cli.Main(append([]string{"serve"}, fs.Args()...), os.Stdout, os.Stderr))
	return nil
}

func runMeasure(args []string) error {
	fs := flag.NewFlagSet("run", flag.ExitOnError)
	var o loadgen.MeasureOptions
	fs.StringVar(&o.Label, "label", "", "`TEST/SIZE/TARGET`, e.g. h1/1k/nginx")
	fs.IntVar(&o.Round, "round", 0, "round number: ratios pair runs of one round")
	pids := fs.String("pids", "", "comma-separated server `PIDS` whose CPU to count")
	fs.Float64Var(&o.MaxForeign, "max-foreign", 0.10, "most CPU (cores) other processes may use during a kept run")
	fs.IntVar(&o.Tries, "tries", 4, "runs before keeping a disturbed one")
	out := fs.String("out", "", "append the run as a JSON line to `FILE`")
	fs.Parse(args)
	o.Command = fs.Args()
	if o.Label == "" || len(o.Command) == 0 {
		return fmt.Errorf("want -label and a load command after --")
	}
	for _, p := range strings.Split(*pids, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return fmt.Errorf("-pids: %w", err)
		}
		o.ServerPIDs = append(o.ServerPIDs, n)
	}
	r, err := loadgen.Measure(context.Background(), o)
	if err != nil {
		return err
	}
	fmt.Printf("%-24s round %d: %9.0f req/s  server %.2f cores, %6.2f µs/req  load %.2f  foreign %.2f  errors %d  tries %d\n",
		r.Label, r.Round, r.RPS, r.ServerCPU, r.ServerUSPerReq, r.LoadCPU, r.Foreign, r.Errors, r.Tries)
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		b, _ := json.Marshal(r)
		if _, err := f.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}

func runReport(args []string) error {
	fs := flag.NewFlagSet("report", flag.ExitOnError)
	in := fs.String("in", "", "JSON lines `FILE` written by edgebench run -out")
	subject := fs.String("subject", "openfront", "the `TARGET` compared with the others")
	fs.Parse(args)
	runs, err := loadgen.ReadRuns(*in)
	if err != nil {
		return err
	}
	fmt.Print(loadgen.Report(runs, *subject))
	return nil
}
