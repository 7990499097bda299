package node

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"openfront.dev/compiler"
	"openfront.dev/daemon/admin"
)

const nodeName = "testnode"

// env is a running node with its origins and clients.
type env struct {
	node      *Node
	configDir string
	secureCA  *x509.CertPool // trusts the "secure" certificate
	drainHit  chan struct{}  // the app origin got a /drain/ request
	hang      chan string    // a /hang/ request: "started", then "cancelled" or "done"
	bigFile   []byte
}

// logWriter sends the node's log to the test's, until the test ends.
type logWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func testLogger(t *testing.T) *slog.Logger {
	w := &logWriter{t: t}
	t.Cleanup(func() { w.mu.Lock(); w.done = true; w.mu.Unlock() })
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// appHandler is the custom origin: each path is a behaviour the tests need.
func appHandler(drainHit chan struct{}, hang chan string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-Dist", r.Header.Get("X-Dist"))
		p := r.URL.Path
		switch {
		case strings.HasSuffix(p, "/echo"):
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"uri": r.RequestURI, "host": r.Host, "method": r.Method,
				"header": r.Header, "body": string(b), "contentLength": r.ContentLength})
		case p == "/api/alt-svc":
			// An origin with HTTP/3 of its own (Caddy's default) says so.
			w.Header().Set("Alt-Svc", `h3=":443"; ma=2592000`)
			io.WriteString(w, "alt-svc\n")
		case p == "/api/missing":
			http.Error(w, "origin says not found", http.StatusNotFound)
		case p == "/api/slow":
			sleep(r, 1500*time.Millisecond)
			io.WriteString(w, "too late\n")
		case strings.HasPrefix(p, "/drain/"):
			select {
			case drainHit <- struct{}{}:
			default:
			}
			sleep(r, 1200*time.Millisecond)
			io.WriteString(w, "drained\n")
		case strings.HasPrefix(p, "/hang/") || p == "/post/hang":
			io.Copy(io.Discard, r.Body)
			hang <- "started"
			select {
			case <-time.After(10 * time.Second):
				hang <- "done"
			case <-r.Context().Done():
				hang <- "cancelled"
			}
		case p == "/ha/fail":
			http.Error(w, "primary broken", http.StatusInternalServerError)
		case p == "/api/redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case p == "/api/hop":
			w.Header().Set("Keep-Alive", "timeout=5")
			w.Header().Set("Proxy-Authenticate", "Basic")
			w.Header().Set("Via", "1.1 upstream")
			w.Header().Set("X-Kept", "yes")
			io.WriteString(w, "hop\n")
		default:
			fmt.Fprintf(w, "app %s %s\n", r.Method, p)
		}
	}
}

func sleep(r *http.Request, d time.Duration) {
	select {
	case <-time.After(d):
	case <-r.Context().Done():
	}
}

// start writes the config, starts its origins and a node on loopback.
func start(t *testing.T) *env {
	t.Helper()
	e := &env{drainHit: make(chan struct{}, 1), hang: make(chan string, 4)}
	app := httptest.NewServer(appHandler(e.drainHit, e.hang))
	t.Cleanup(app.Close)
	backup := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "backup %s\n", r.URL.Path)
	}))
	t.Cleanup(backup.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := ln.Addr().String()
	ln.Close()

	dir := t.TempDir()
	e.configDir = filepath.Join(dir, "config")
	tmpl := template.Must(template.ParseFiles(filepath.Join("testdata", "config.cue.tmpl")))
	var cfg bytes.Buffer
	if err := tmpl.Execute(&cfg, map[string]string{"App": app.Listener.Addr().String(), "Backup": backup.Listener.Addr().String(), "Down": down}); err != nil {
		t.Fatal(err)
	}
	e.bigFile = make([]byte, 3<<20+17)
	mrand.NewChaCha8([32]byte{7}).Read(e.bigFile)
	files := map[string][]byte{
		"main.cue":               cfg.Bytes(),
		"site/index.html":        []byte("<h1>index</h1>\n"),
		"site/errors/404.html":   []byte("<h1>custom not found</h1>\n"),
		"site/big.bin":           e.bigFile,
		"site/style.css":         []byte("body{}\n"),
		"secret-beside-site.txt": []byte("SECRET\n"),
	}
	for name, b := range files {
		p := filepath.Join(e.configDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	certs := filepath.Join(dir, "certs")
	e.secureCA = writeCert(t, certs, "secure", "secure.test")

	n, err := Start(Options{ConfigDir: e.configDir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		CertsDir: certs, NodeName: nodeName, DrainTimeout: 5 * time.Second, Logger: testLogger(t),
		CacheBodyDir: t.TempDir()}) // as openfront serve does, in its TMPDIR
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	e.node = n
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Shutdown(ctx)
	})
	return e
}

// writeCert writes NAME.crt and NAME.key for host and returns a pool trusting it.
func writeCert(t testing.TB, dir, name, host string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(42), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(dir, 0o755)
	if err := os.WriteFile(filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return pool
}

// proto is how a client talks to the node.
type proto string

const (
	h1    proto = "http"     // plain HTTP/1.1
	h1tls proto = "https-h1" // HTTP/1.1 over TLS
	h2    proto = "https-h2" // HTTP/2 over TLS (falls back to 1.1 if the node says so)
	h3    proto = "http3"    // HTTP/3 on the UDP port of the TLS listener
)

// client connects every request to the node's listener for p, whatever the
// URL's host: the URL's host is the Host header and the SNI name.
func (e *env) client(t *testing.T, p proto, tlsCfg *tls.Config) *http.Client {
	t.Helper()
	addr := e.node.Addr("http").String()
	if p != h1 {
		addr = e.node.Addr("https").String()
	}
	if tlsCfg == nil {
		tlsCfg = &tls.Config{InsecureSkipVerify: true}
	}
	if p == h3 {
		udp := e.node.Addr("http3").String()
		tr := &http3.Transport{
			TLSClientConfig: tlsCfg,
			Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
				return quic.DialAddr(ctx, udp, tlsCfg, cfg)
			},
			DisableCompression: true,
		}
		t.Cleanup(func() { tr.Close() })
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	var protos http.Protocols
	protos.SetHTTP1(true)
	if p == h2 {
		protos.SetHTTP2(true)
	}
	d := &net.Dialer{Timeout: 2 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:    tlsCfg,
		Protocols:          &protos,
		DisableCompression: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func do(t *testing.T, c *http.Client, method, url string, header http.Header, body string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range header {
		if k == "Host" {
			req.Host = vs[0]
			continue
		}
		req.Header[k] = vs
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return resp, b
}

func TestRequests(t *testing.T) {
	e := start(t)
	clients := map[proto]*http.Client{h1: e.client(t, h1, nil), h2: e.client(t, h2, nil)}
	type echo struct {
		URI           string      `json:"uri"`
		Host          string      `json:"host"`
		Method        string      `json:"method"`
		Header        http.Header `json:"header"`
		Body          string      `json:"body"`
		ContentLength int64       `json:"contentLength"`
	}
	tests := []struct {
		name   string
		proto  proto
		method string
		url    string
		header http.Header
		body   string

		status  int
		want    string            // the body, exactly
		has     []string          // substrings of the body
		headers map[string]string // response headers ("" means absent)
		xcache  string
		check   func(t *testing.T, resp *http.Response, body []byte)
	}{
		// Hosts.
		{name: "exact alias beats the wildcard", url: "http://exact.wild.test/hello",
			status: 200, want: "app GET /hello\n", headers: map[string]string{"X-Seen-Dist": "exact"}, xcache: "Miss from openfront"},
		{name: "wildcard alias", url: "http://any.wild.test/api/hello",
			status: 200, want: "app GET /api/hello\n", headers: map[string]string{"X-Seen-Dist": "site"}, xcache: "Miss from openfront"},
		{name: "wildcard covers several labels", url: "http://a.b.wild.test/api/hello",
			status: 200, headers: map[string]string{"X-Seen-Dist": "site"}},
		{name: "host with port and in upper case", url: "http://site.test/api/hello", header: http.Header{"Host": {"SITE.Test:8080"}},
			status: 200, headers: map[string]string{"X-Seen-Dist": "site"}},
		{name: "the wildcard's own domain is not covered", url: "http://wild.test/",
			status: 403, has: []string{"Forbidden", `No distribution is configured for the host "wild.test".`}, xcache: "Error from openfront"},
		{name: "unknown host", url: "http://nowhere.test/x",
			status: 403, has: []string{`No distribution is configured for the host "nowhere.test".`, "Generated by openfront (testnode)", "Request ID: "},
			headers: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Cache-Control": "no-store"}, xcache: "Error from openfront"},
		{name: "unknown host over TLS", proto: h2, url: "https://nowhere.test/x", status: 403, has: []string{"nowhere.test"}},
		{name: "disabled distribution", url: "http://off.test/", status: 403, has: []string{"disabled"}, xcache: "Error from openfront"},

		// Viewer protocol policy.
		{name: "redirect-to-https GET", url: "http://redir.test/some/path?q=1&b=a%20b",
			status: 301, headers: map[string]string{"Location": "https://redir.test/some/path?q=1&b=a%20b"}, xcache: "Redirect from openfront"},
		{name: "redirect-to-https drops the port", url: "http://redir.test/p", header: http.Header{"Host": {"redir.test:8080"}},
			status: 301, headers: map[string]string{"Location": "https://redir.test/p"}},
		{name: "redirect-to-https to the node's own HTTPS port", url: "http://redir.test/p", header: http.Header{"Host": {"redir.test:" + port(e.node.Addr("http"))}},
			status: 301, headers: map[string]string{"Location": "https://redir.test:" + port(e.node.Addr("https")) + "/p"}},
		{name: "redirect-to-https HEAD", method: "HEAD", url: "http://redir.test/p?x",
			status: 301, headers: map[string]string{"Location": "https://redir.test/p?x"}},
		// CloudFront answers 307, so the viewer sends the method and body
		// again over HTTPS (using-https-viewers-to-cloudfront).
		{name: "redirect-to-https POST over http", method: "POST", url: "http://redir.test/p?x", body: "x",
			status: 307, headers: map[string]string{"Location": "https://redir.test/p?x"}, xcache: "Redirect from openfront"},
		{name: "redirect-to-https over https", proto: h2, url: "https://redir.test/p?q=1",
			status: 200, want: "app GET /p\n", headers: map[string]string{"X-Seen-Dist": "redir"}},
		{name: "redirect-to-https POST over https", proto: h2, method: "POST", url: "https://redir.test/p", body: "x",
			status: 200, want: "app POST /p\n"},
		{name: "https-only over http", url: "http://secure.test/", status: 403, has: []string{"HTTPS only"}},
		{name: "https-only over https", proto: h2, url: "https://secure.test/x",
			status: 200, want: "app GET /x\n", headers: map[string]string{"X-Seen-Dist": "secure"}},

		// Methods.
		{name: "POST not in allowedMethods", method: "POST", url: "http://site.test/api/hello", body: "x",
			status: 403, has: []string{"The method POST is not allowed for this path."}},
		{name: "OPTIONS not in allowedMethods", method: "OPTIONS", url: "http://site.test/api/hello", status: 403},
		{name: "DELETE allowed", method: "DELETE", url: "http://site.test/post/x", status: 200, want: "app DELETE /post/x\n"},
		{name: "POST body reaches the origin with its type", method: "POST", url: "http://site.test/post/echo", body: "a=1&b=2",
			header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			status: 200, check: func(t *testing.T, _ *http.Response, b []byte) {
				var s echo
				json.Unmarshal(b, &s)
				if s.Method != "POST" || s.Body != "a=1&b=2" || s.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
					t.Errorf("origin saw %s %q of type %q", s.Method, s.Body, s.Header.Get("Content-Type"))
				}
			}},
		{name: "HEAD has no body", method: "HEAD", url: "http://site.test/style.css",
			status: 200, want: "", headers: map[string]string{"Content-Length": "7", "Content-Type": "text/css; charset=utf-8"}},

		// Local origin, root object, error pages.
		{name: "defaultRootObject", url: "http://site.test/", status: 200, want: "<h1>index</h1>\n",
			headers: map[string]string{"Content-Type": "text/html; charset=utf-8"}, xcache: "Miss from openfront"},
		{name: "defaultRootObject with a query", url: "http://site.test/?utm=1", status: 200, want: "<h1>index</h1>\n"},
		{name: "defaultRootObject is for the root only", url: "http://site.test/errors/", status: 200, want: "<h1>custom not found</h1>\n"},
		{name: "custom error page for an origin's 404", url: "http://site.test/api/missing",
			// Served as a 200, the page is still the 404's answer: "the
			// value in the sc-status column in the access log will be 200,
			// but the value in the x-edge-result-type column will be
			// Error" (custom-error-pages-response-code).
			status: 200, want: "<h1>custom not found</h1>\n", xcache: "Error from openfront",
			headers: map[string]string{"Content-Type": "text/html; charset=utf-8"}},
		{name: "custom error page for a missing file", url: "http://site.test/nope.html", status: 200, want: "<h1>custom not found</h1>\n"},
		{name: "custom error page over h2", proto: h2, url: "https://site.test/api/missing", status: 200, want: "<h1>custom not found</h1>\n"},
		{name: "range from the local origin", url: "http://site.test/style.css", header: http.Header{"Range": {"bytes=0-3"}},
			status: 206, want: "body", headers: map[string]string{"Content-Range": "bytes 0-3/7"}},
		{name: "no escape from the local origin", url: "http://site.test/%2e%2e/secret-beside-site.txt", status: 400},

		// Origin failures.
		{name: "origin down", url: "http://site.test/down/x",
			status: 502, has: []string{"Bad Gateway", "could not connect to the origin", "Request ID: "}, xcache: "Error from openfront"},
		{name: "origin slower than originReadTimeout", url: "http://site.test/api/slow",
			status: 504, has: []string{"Gateway Timeout", "did not answer in time"}, xcache: "Error from openfront",
			check: func(t *testing.T, _ *http.Response, b []byte) {
				if bytes.Contains(b, []byte("too late")) {
					t.Error("the late answer was relayed")
				}
			}},
		{name: "failover on a listed status", url: "http://site.test/ha/fail", status: 200, want: "backup /ha/fail\n"},
		{name: "no failover on success", url: "http://site.test/ha/ok", status: 200, want: "app GET /ha/ok\n"},
		{name: "failover on connection refused", url: "http://site.test/failover/x", status: 200, want: "backup /failover/x\n"},
		{name: "an origin's redirect is passed back", url: "http://site.test/api/redirect",
			status: 302, headers: map[string]string{"Location": "/elsewhere"}},

		// What reaches the origin, what comes back.
		{name: "query, whitelisted header, X-Forwarded-For", url: "http://site.test/api/echo?b=2&a=1&b=3",
			header: http.Header{"X-Viewer": {"v1"}, "User-Agent": {"viewer-agent/1"}, "X-Forwarded-For": {"203.0.113.7"}, "Cookie": {"s=1"}},
			status: 200, check: func(t *testing.T, _ *http.Response, b []byte) {
				var s echo
				json.Unmarshal(b, &s)
				if s.URI != "/api/echo?b=2&a=1&b=3" {
					t.Errorf("origin saw %q", s.URI)
				}
				if s.Header.Get("X-Viewer") != "v1" || s.Header.Get("Cookie") != "" || s.Header.Get("X-Dist") != "site" {
					t.Errorf("origin saw headers %v", s.Header)
				}
				if ua := s.Header.Get("User-Agent"); ua == "viewer-agent/1" {
					t.Errorf("User-Agent %q was forwarded, not whitelisted", ua)
				}
				if got := s.Header.Get("X-Forwarded-For"); got != "203.0.113.7, 127.0.0.1" {
					t.Errorf("X-Forwarded-For %q, want \"203.0.113.7, 127.0.0.1\"", got)
				}
				if !strings.HasPrefix(s.Host, "127.0.0.1:") {
					t.Errorf("origin saw Host %q, want its domainName", s.Host)
				}
			}},
		{name: "query not forwarded without queryString", url: "http://site.test/post/echo?x=1",
			status: 200, check: func(t *testing.T, _ *http.Response, b []byte) {
				var s echo
				json.Unmarshal(b, &s)
				if s.URI != "/post/echo" {
					t.Errorf("origin saw %q", s.URI)
				}
			}},
		{name: "hop-by-hop headers are not relayed", url: "http://site.test/api/hop", status: 200, want: "hop\n",
			headers: map[string]string{"Keep-Alive": "", "Proxy-Authenticate": "", "X-Kept": "yes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.proto
			if p == "" {
				p = h1
			}
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			resp, body := do(t, clients[p], method, tt.url, tt.header, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d; body %q", resp.StatusCode, tt.status, body)
			}
			if p == h2 && resp.ProtoMajor != 2 {
				t.Errorf("answered over %s, want HTTP/2", resp.Proto)
			}
			if tt.want != "" || method == "HEAD" {
				if string(body) != tt.want {
					t.Errorf("body %q, want %q", body, tt.want)
				}
			}
			for _, s := range tt.has {
				if !strings.Contains(string(body), s) {
					t.Errorf("body %q does not have %q", body, s)
				}
			}
			for k, v := range tt.headers {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			// Every answer, from the origin or the edge, says who made it.
			if got := resp.Header.Get("Via"); got != "1.1 testnode (openfront)" {
				t.Errorf("Via %q", got)
			}
			id := resp.Header.Get("X-Openfront-Id")
			if len(id) < 16 {
				t.Errorf("X-Openfront-Id %q", id)
			}
			// The edge's own errors carry the request id (a 400 here is the origin's).
			if (tt.status == 403 || tt.status >= 500) && method != "HEAD" && !strings.Contains(string(body), "Request ID: "+id+"\n") {
				t.Errorf("error body %q does not carry the request id %q", body, id)
			}
			if xc := resp.Header.Get("X-Cache"); xc == "" || tt.xcache != "" && xc != tt.xcache {
				t.Errorf("X-Cache %q, want %q", xc, tt.xcache)
			}
			if tt.check != nil {
				tt.check(t, resp, body)
			}
		})
	}
}

// TestRequestIDsDiffer checks that two requests are told apart.
func TestRequestIDsDiffer(t *testing.T) {
	e := start(t)
	c := e.client(t, h1, nil)
	a, _ := do(t, c, "GET", "http://nowhere.test/", nil, "")
	b, _ := do(t, c, "GET", "http://nowhere.test/", nil, "")
	if a.Header.Get("X-Openfront-Id") == b.Header.Get("X-Openfront-Id") {
		t.Errorf("two requests share the id %q", a.Header.Get("X-Openfront-Id"))
	}
}

// TestProtocols fetches the same URLs over HTTP/1.1, HTTP/1.1 over TLS and
// HTTP/2: the bytes are the same.
func TestProtocols(t *testing.T) {
	e := start(t)
	paths := []string{"/", "/big.bin", "/style.css", "/api/hello?x=1", "/nope.html", "/down/x"}
	// A second h1 request: the first may be a miss, the second a hit
	// (big.bin's body is then sent with sendfile from its body file).
	clients := []proto{h1, h1, h1tls, h2, h3}
	for _, path := range paths {
		t.Run(path, func(t *testing.T) {
			var first []byte
			var firstStatus int
			for i, p := range clients {
				scheme := "https"
				if p == h1 {
					scheme = "http"
				}
				resp, body := do(t, e.client(t, p, nil), "GET", scheme+"://site.test"+path, nil, "")
				wantMajor := map[proto]int{h2: 2, h3: 3}[p]
				if wantMajor == 0 {
					wantMajor = 1
				}
				if resp.ProtoMajor != wantMajor {
					t.Errorf("%s: answered over %s", p, resp.Proto)
				}
				if p != h1 && resp.TLS == nil {
					t.Errorf("%s: no TLS", p)
				}
				if i == 0 {
					first, firstStatus = body, resp.StatusCode
					continue
				}
				if resp.StatusCode != firstStatus {
					t.Errorf("%s: status %d, %s had %d", p, resp.StatusCode, clients[0], firstStatus)
				}
				// Error bodies carry the request id: compare them without it.
				if !bytes.Equal(dropID(body), dropID(first)) {
					t.Errorf("%s: %d bytes differ from %s's %d", p, len(body), clients[0], len(first))
				}
			}
			if path == "/big.bin" && !bytes.Equal(first, e.bigFile) {
				t.Errorf("big.bin: %d bytes, not the file's %d", len(first), len(e.bigFile))
			}
		})
	}
}

func dropID(b []byte) []byte {
	if i := bytes.Index(b, []byte("Request ID: ")); i >= 0 {
		return b[:i]
	}
	return b
}

// TestTLS checks ALPN per httpVersion and the certificate per SNI.
func TestTLS(t *testing.T) {
	e := start(t)
	h2c := e.client(t, h2, nil)
	tests := []struct {
		host      string
		wantALPN  string
		wantMajor int
		wantNames []string // the served certificate's DNS names
	}{
		{"site.test", "h2", 2, []string{"localhost"}},
		{"h1.test", "http/1.1", 1, []string{"localhost"}},
		{"secure.test", "h2", 2, []string{"secure.test"}},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			resp, _ := do(t, h2c, "GET", "https://"+tt.host+"/api/hello", nil, "")
			if resp.StatusCode != 200 {
				t.Errorf("status %d", resp.StatusCode)
			}
			if resp.TLS.NegotiatedProtocol != tt.wantALPN || resp.ProtoMajor != tt.wantMajor {
				t.Errorf("ALPN %q over %s, want %q", resp.TLS.NegotiatedProtocol, resp.Proto, tt.wantALPN)
			}
			if got := resp.TLS.PeerCertificates[0].DNSNames; !slices.Equal(got, tt.wantNames) {
				t.Errorf("certificate for %v, want %v", got, tt.wantNames)
			}
		})
	}
	t.Run("http1.1 refuses an h2-only client", func(t *testing.T) {
		conn, err := tls.Dial("tcp", e.node.Addr("https").String(), &tls.Config{ServerName: "h1.test", NextProtos: []string{"h2"}, InsecureSkipVerify: true})
		if err == nil {
			defer conn.Close()
			if p := conn.ConnectionState().NegotiatedProtocol; p == "h2" {
				t.Errorf("h1.test negotiated %q", p)
			}
		}
	})
	t.Run("the secure certificate verifies", func(t *testing.T) {
		c := e.client(t, h2, &tls.Config{RootCAs: e.secureCA})
		resp, body := do(t, c, "GET", "https://secure.test/x", nil, "")
		if resp.StatusCode != 200 || string(body) != "app GET /x\n" {
			t.Errorf("status %d body %q", resp.StatusCode, body)
		}
	})
}

// TestRawPaths sends request lines a Go client would clean up.
func TestRawPaths(t *testing.T) {
	e := start(t)
	tests := []struct {
		target string
		status int
	}{
		{"/../secret-beside-site.txt", 400},
		{"/%2e%2e/secret-beside-site.txt", 400},
		{"/errors/../../secret-beside-site.txt", 400},
		{"/a/%2f/../secret-beside-site.txt", 400},
		{"/..%5csecret-beside-site.txt", 400},
		{"/errors/404.html", 200},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", e.node.Addr("http").String(), 2*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n", tt.target)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			if bytes.Contains(body, []byte("SECRET")) {
				t.Errorf("served a file outside the origin's directory")
			}
		})
	}
}

func TestAdmin(t *testing.T) {
	e := start(t)
	res, err := compiler.New(e.configDir).Compile()
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + e.node.Addr("admin").String()
	get := func(t *testing.T, path string) (*http.Response, []byte) {
		t.Helper()
		c := &http.Client{Timeout: 5 * time.Second}
		resp, err := c.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	t.Run("healthz", func(t *testing.T) {
		if resp, b := get(t, "/healthz"); resp.StatusCode != 200 || string(b) != "ok\n" {
			t.Errorf("status %d body %q", resp.StatusCode, b)
		}
	})
	t.Run("readyz", func(t *testing.T) {
		if resp, b := get(t, "/readyz"); resp.StatusCode != 200 {
			t.Errorf("status %d body %q", resp.StatusCode, b)
		}
	})
	t.Run("status", func(t *testing.T) {
		resp, b := get(t, "/status")
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("status %d, Content-Type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		var st admin.Status
		if err := json.Unmarshal(b, &st); err != nil {
			t.Fatalf("%v: %s", err, b)
		}
		if st.Version != res.Table.Version() || st.Version != e.node.Table().Version() || !strings.HasPrefix(st.Version, "sha256:") {
			t.Errorf("version %q, the table's is %q", st.Version, res.Table.Version())
		}
		if !st.Ready || st.Node != nodeName || st.Distributions != 6 || st.StreamingDistributions != 0 {
			t.Errorf("status %+v", st)
		}
		if st.AppliedAt.IsZero() || time.Since(st.AppliedAt) > time.Minute {
			t.Errorf("appliedAt %v", st.AppliedAt)
		}
		for _, name := range []string{"http", "https"} {
			if want := name + " " + e.node.Addr(name).String(); !slices.Contains(st.Listeners, want) {
				t.Errorf("listeners %q lack %q", st.Listeners, want)
			}
		}
	})
	t.Run("metrics", func(t *testing.T) {
		resp, b := get(t, "/metrics")
		if resp.StatusCode != 200 || !bytes.Contains(b, []byte("go_goroutines")) {
			t.Errorf("status %d, %d bytes", resp.StatusCode, len(b))
		}
	})
	t.Run("not on the edge listener", func(t *testing.T) {
		resp, _ := do(t, e.client(t, h1, nil), "GET", "http://site.test/healthz", nil, "")
		if resp.Header.Get("X-Openfront-Id") == "" {
			t.Error("the edge listener did not answer /healthz as an edge request")
		}
	})
}

// TestViewerLeavesAPass: a viewer that goes away while the origin is
// still answering a request the cache passes through (a GET of a behavior
// that forwards every header, a POST with its body) gets its origin
// request cancelled (nginx's proxy_ignore_client_abort off), over HTTP/1.1
// in the clear and over TLS.
func TestViewerLeavesAPass(t *testing.T) {
	requests := map[string]string{
		"GET":  "GET /hang/x HTTP/1.1\r\nHost: site.test\r\n\r\n",
		"POST": "POST /post/hang HTTP/1.1\r\nHost: site.test\r\nContent-Length: 5\r\n\r\nhello",
	}
	e := start(t)
	dials := map[string]func() (net.Conn, error){
		"http": func() (net.Conn, error) { return net.Dial("tcp", e.node.Addr("http").String()) },
		"https": func() (net.Conn, error) {
			return tls.Dial("tcp", e.node.Addr("https").String(), &tls.Config{ServerName: "site.test", InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}})
		},
	}
	for name, dial := range dials {
		for what, raw := range requests {
			t.Run(name+"/"+what, func(t *testing.T) {
				c, err := dial()
				if err != nil {
					t.Fatal(err)
				}
				io.WriteString(c, raw)
				select {
				case <-e.hang: // the origin has the request
				case <-time.After(5 * time.Second):
					t.Fatal("the request did not reach the origin")
				}
				c.Close()
				select {
				case how := <-e.hang:
					if how != "cancelled" {
						t.Fatalf("the origin request ended %s, want cancelled", how)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("the origin request still runs 5 s after the viewer left")
				}
			})
		}
	}
}

// TestShutdownDrains shuts the node down with a request in flight over
// HTTP/1.1, HTTP/2 or HTTP/3: the request completes, Shutdown waits for
// it, and new connections are refused.
func TestShutdownDrains(t *testing.T) {
	for _, p := range []proto{h1, h2, h3} {
		t.Run(string(p), func(t *testing.T) {
			e := start(t)
			c := e.client(t, p, nil)
			scheme := "https"
			if p == h1 {
				scheme = "http"
			}
			type result struct {
				status int
				body   string
				err    error
				at     time.Time
			}
			done := make(chan result, 1)
			go func() {
				resp, err := c.Get(scheme + "://site.test/drain/slow")
				if err != nil {
					done <- result{err: err}
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				done <- result{status: resp.StatusCode, body: string(b), err: err, at: time.Now()}
			}()
			select {
			case <-e.drainHit:
			case <-time.After(5 * time.Second):
				t.Fatal("the request did not reach the origin")
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			if err := e.node.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
			shutAt := time.Now()
			r := <-done
			if r.err != nil || r.status != 200 || r.body != "drained\n" {
				t.Fatalf("in-flight request: status %d body %q err %v", r.status, r.body, r.err)
			}
			// The viewer reads the end of the answer a moment after the
			// node sent it (over HTTP/3, the stream's FIN can come after
			// Shutdown returned): only more than that moment is early.
			if r.at.Sub(shutAt) > 100*time.Millisecond {
				t.Errorf("Shutdown returned %v before the request finished", r.at.Sub(shutAt))
			}
			if d := shutAt.Sub(start); d < 500*time.Millisecond {
				t.Errorf("Shutdown took %v: it did not wait", d)
			}
			listener := "https"
			if p == h1 {
				listener = "http"
			}
			// Asked, not dialled: the freed port may already be another
			// test's, or a dial may connect to itself (source port = port).
			fresh := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
				TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, DisableKeepAlives: true}}
			if resp, err := fresh.Get(scheme + "://" + e.node.Addr(listener).String() + "/"); err == nil {
				id := resp.Header.Get("X-Openfront-Id")
				resp.Body.Close()
				if id != "" {
					t.Errorf("the node still answers on its %s listener after Shutdown", listener)
				}
			}
		})
	}
}

// TestShutdownStopsEveryProtocol: Shutdown tells viewers on every
// protocol to go away at once (HTTP/2 and HTTP/3 GOAWAY, closed
// listeners), not one listener after another: while an HTTP/1.1 request
// drains, over TLS or not, new HTTP/2 and HTTP/3 requests are refused.
func TestShutdownStopsEveryProtocol(t *testing.T) {
	for _, inFlight := range []proto{h1, h1tls} {
		t.Run(string(inFlight), func(t *testing.T) {
			e := start(t)
			scheme := "https"
			if inFlight == h1 {
				scheme = "http"
			}
			newcomers := map[proto]*http.Client{h2: e.client(t, h2, nil), h3: e.client(t, h3, nil)}
			for p, c := range newcomers { // each has a connection open
				if resp, _ := do(t, c, "GET", "https://site.test/style.css", nil, ""); resp.StatusCode != 200 {
					t.Fatalf("%s: status %d", p, resp.StatusCode)
				}
			}
			done := make(chan error, 1)
			go func() {
				resp, err := e.client(t, inFlight, nil).Get(scheme + "://site.test/drain/slow")
				if err == nil {
					_, err = io.ReadAll(resp.Body)
					resp.Body.Close()
				}
				done <- err
			}()
			select {
			case <-e.drainHit:
			case <-time.After(5 * time.Second):
				t.Fatal("the request did not reach the origin")
			}
			shut := make(chan error, 1)
			go func() { shut <- e.node.Shutdown(context.Background()) }()
			for p, c := range newcomers {
				for served := 0; ; served++ {
					select {
					case err := <-done:
						t.Fatalf("%s: %d new requests served until the %s request in flight ended (%v)", p, served, inFlight, err)
					default:
					}
					ctx, cancel := context.WithTimeout(context.Background(), time.Second)
					req, _ := http.NewRequestWithContext(ctx, "GET", "https://site.test/style.css", nil)
					resp, err := c.Do(req)
					if err == nil {
						resp.Body.Close()
					}
					cancel()
					if err != nil {
						break
					}
				}
			}
			if err := <-done; err != nil {
				t.Errorf("the %s request in flight: %v", inFlight, err)
			}
			if err := <-shut; err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		})
	}
}

func TestStartFailsOnABadConfig(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "main.cue"), []byte("package cdn\n\ndistributions: x: {aliases: [\"x.test\"]}\n"), 0o644)
	n, err := Start(Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", Logger: testLogger(t)})
	if err == nil {
		n.Shutdown(context.Background())
		t.Fatal("a config without origins started")
	}
	var errs compiler.Errors
	if !errors.As(err, &errs) || len(errs) == 0 {
		t.Errorf("err %v (%T), want compiler.Errors", err, err)
	}
}

// port is a's port, as a Host header or URL writes it.
func port(a net.Addr) string { return strconv.Itoa(a.(*net.TCPAddr).Port) }
