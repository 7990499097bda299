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
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"openfront.dev/daemon/accesslog"
	"openfront.dev/internal/testenv"
)

// startCoalesceNode runs a node whose distributions differ in what a
// handshake for them chooses: h23 (http2and3), h11 (http1.1), h2 (http2)
// and strict (http2and3, TLSv1.3_2025) on the default certificate, which
// covers only "localhost"; own on a certificate for own.test alone; wide on
// one for *.test. All of them log, to LOGDIR/web.
func startCoalesceNode(t *testing.T) (n *Node, logDir string) {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		io.WriteString(w, "ok\n")
	}))
	t.Cleanup(app.Close)
	dir, certs := t.TempDir(), t.TempDir()
	writeCert(t, certs, "own", "own.test")
	writeCert(t, certs, "wide", "*.test")
	var b strings.Builder
	b.WriteString("package cdn\n\n")
	for _, d := range []struct{ id, httpVersion, cert string }{
		{"h23", "http2and3", ""},
		{"h11", "http1.1", ""},
		{"h2", "http2", ""},
		{"strict", "http2and3", `minimumProtocolVersion: "TLSv1.3_2025"`},
		{"own", "http2and3", `certificateName: "own"`},
		{"wide", "http2and3", `certificateName: "wide"`},
	} {
		fmt.Fprintf(&b, `distributions: %[1]s: {
	aliases: ["%[1]s.test"]
	httpVersion: %[2]q
	viewerCertificate: {%[3]s}
	logging: {enabled: true, prefix: "web/"}
	origins: [{id: "app", domainName: %[4]q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
}
`, d.id, d.httpVersion, d.cert, app.Listener.Addr().String())
	}
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	logDir = filepath.Join(dir, "logs")
	n, err := Start(Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", CertsDir: certs,
		LogDir: logDir, Logger: warnLogger(t), CacheBodyDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	return n, logDir
}

// connClient makes every request on one connection to the node by p
// (h1tls, h2 or h3) set up with SNI sni ("" none) and TLS maxVersion (0
// Go's highest), whatever the URL's host: as a browser that coalesces
// connections, or a viewer fronting a host with another's name.
func connClient(t *testing.T, n *Node, p proto, sni string, maxVersion uint16) *http.Client {
	t.Helper()
	return connClientTLS(t, n, p, &tls.Config{ServerName: sni, InsecureSkipVerify: true, MaxVersion: maxVersion})
}

// connClientTLS is connClient with the TLS config cfg, whose ServerName
// is the SNI.
func connClientTLS(t *testing.T, n *Node, p proto, cfg *tls.Config) *http.Client {
	t.Helper()
	sni := cfg.ServerName
	if p == h3 {
		udp := n.Addr("http3").String()
		tr := &http3.Transport{TLSClientConfig: cfg,
			Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, qc *quic.Config) (*quic.Conn, error) {
				c := tlsCfg.Clone()
				c.ServerName = sni
				return quic.DialAddr(ctx, udp, c, qc)
			}}
		t.Cleanup(func() { tr.Close() })
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	var protos http.Protocols
	protos.SetHTTP1(p == h1tls)
	protos.SetHTTP2(p == h2)
	cfg.NextProtos = []string{"http/1.1"}
	if p == h2 {
		cfg.NextProtos = []string{"h2"}
	}
	addr := n.Addr("https").String()
	tr := &http.Transport{Protocols: &protos, ForceAttemptHTTP2: p == h2,
		DialTLSContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&tls.Dialer{Config: cfg}).DialContext(ctx, network, addr)
		}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

// TestMisdirected: a request on a connection set up for another
// distribution is answered 421 when a connection of its own would differ
// (a protocol its httpVersion leaves out, a certificate not covering its
// host, a TLS version below its policy), and served otherwise; requests
// for the SNI's own host are served as before. Each 421 carries the edge's
// headers and is logged as an Error, InvalidRequestCertificate.
func TestMisdirected(t *testing.T) {
	n, logDir := startCoalesceNode(t)
	tests := []struct {
		name       string
		p          proto
		sni, host  string
		maxVersion uint16
		want       int
	}{
		{"h2 own host", h2, "h23.test", "h23.test", 0, 200},
		{"h2 http1.1 distribution", h2, "h23.test", "h11.test", 0, 421},
		{"h2 http1.1 distribution, certificate covers it", h2, "wide.test", "h11.test", 0, 421},
		{"h2 coalesced on the same certificate", h2, "h23.test", "h2.test", 0, 200},
		{"h2 coalesced on a certificate covering the host", h2, "wide.test", "own.test", 0, 200},
		{"h2 certificate not covering the host", h2, "h23.test", "own.test", 0, 421},
		{"h2 own certificate not covering the host", h2, "own.test", "h23.test", 0, 421},
		{"h2 SNI of no distribution, default certificate", h2, "nomatch.example", "h23.test", 0, 200},
		{"h2 SNI of no distribution, http1.1 distribution", h2, "nomatch.example", "h11.test", 0, 421},
		{"h2 TLS 1.2 below the policy", h2, "h23.test", "strict.test", tls.VersionTLS12, 421},
		{"h2 TLS 1.3 within the policy", h2, "h23.test", "strict.test", 0, 200},
		{"h2 host with port and in upper case", h2, "h23.test", "H23.Test:443", 0, 200},

		{"h3 own host", h3, "h23.test", "h23.test", 0, 200},
		{"h3 http1.1 distribution", h3, "h23.test", "h11.test", 0, 421},
		{"h3 http2 distribution", h3, "h23.test", "h2.test", 0, 421},
		{"h3 coalesced", h3, "h23.test", "strict.test", 0, 200},
		{"h3 certificate not covering the host", h3, "own.test", "h23.test", 0, 421},

		{"h1 own host", h1tls, "h11.test", "h11.test", 0, 200},
		{"h1 another distribution, same certificate", h1tls, "h23.test", "h11.test", 0, 200},
		{"h1 certificate not covering the host", h1tls, "own.test", "h11.test", 0, 421},
		{"h1 without SNI", h1tls, "", "own.test", 0, 200},
		{"h1 TLS 1.2 below the policy", h1tls, "h23.test", "strict.test", tls.VersionTLS12, 421},
		{"h1 without SNI, TLS 1.2 below the policy", h1tls, "", "strict.test", tls.VersionTLS12, 421},
	}
	var refused []string // request ids of the 421s
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := connClient(t, n, tt.p, tt.sni, tt.maxVersion)
			req, _ := http.NewRequest("GET", "https://"+tt.host+"/x", nil)
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if want := map[proto]int{h1tls: 1, h2: 2, h3: 3}[tt.p]; resp.ProtoMajor != want {
				t.Fatalf("answered over HTTP/%d, want %d", resp.ProtoMajor, want)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if tt.want != http.StatusMisdirectedRequest {
				return
			}
			id := resp.Header.Get("X-Openfront-Id")
			if id == "" || resp.Header.Get("Via") == "" || resp.Header.Get("X-Cache") != "Error from openfront" {
				t.Errorf("headers %v, want the edge's", resp.Header)
			}
			if !strings.HasPrefix(string(body), "Misdirected Request\n") {
				t.Errorf("body %q", body)
			}
			refused = append(refused, id)
		})
	}
	t.Run("plain h1", func(t *testing.T) {
		req, _ := http.NewRequest("GET", "http://"+n.Addr("http").String()+"/x", nil)
		req.Host = "h11.test"
		resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d, want 200", resp.StatusCode)
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := n.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	lines, _ := readWebLogs(t, filepath.Join(logDir, "web"))
	byID := map[string]logLine{}
	for _, l := range lines {
		byID[l["x-edge-request-id"]] = l
	}
	for _, id := range refused {
		l := byID[id]
		if l == nil {
			t.Errorf("421 %s not logged", id)
			continue
		}
		if l["sc-status"] != "421" || l["x-edge-result-type"] != accesslog.Error || l["x-edge-detailed-result-type"] != accesslog.InvalidRequestCertificate {
			t.Errorf("421 logged as %s %s %s", l["sc-status"], l["x-edge-result-type"], l["x-edge-detailed-result-type"])
		}
	}
}

// TestMisdirectedTLS13Suite: a TLS 1.3 connection on
// TLS_CHACHA20_POLY1305_SHA256, which TLSv1.3_2025 leaves out, is below
// that policy: a request on it for strict.test is 421, as one on TLS 1.2
// is. Go's clients offer ChaCha20 last where the CPU has AES, so openssl
// offers it alone.
func TestMisdirectedTLS13Suite(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	n, _ := startCoalesceNode(t)
	for _, tt := range []struct {
		suite, host, want string
	}{
		{"TLS_CHACHA20_POLY1305_SHA256", "h23.test", "HTTP/1.1 200 "},
		{"TLS_CHACHA20_POLY1305_SHA256", "strict.test", "HTTP/1.1 421 "},
		{"TLS_AES_256_GCM_SHA384", "strict.test", "HTTP/1.1 200 "},
	} {
		t.Run(tt.suite+"/"+tt.host, func(t *testing.T) {
			cmd := exec.Command(openssl, "s_client", "-quiet", "-ign_eof", "-connect", n.Addr("https").String(),
				"-servername", "h23.test", "-tls1_3", "-ciphersuites", tt.suite, "-alpn", "http/1.1")
			cmd.Stdin = strings.NewReader("GET /x HTTP/1.1\r\nHost: " + tt.host + "\r\nConnection: close\r\n\r\n")
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), tt.want) {
				t.Errorf("openssl s_client: %v, want %q in\n%s", err, tt.want, out)
			}
		})
	}
}

// TestMisdirectedAfterReload: a distribution whose httpVersion no longer
// has the protocol of a connection opened before the change answers its
// requests on it 421, so that the client opens a new connection, which
// the new httpVersion decides; the old one would serve HTTP/2 for ever.
func TestMisdirectedAfterReload(t *testing.T) {
	n, _ := startCoalesceNode(t)
	old := connClient(t, n, h2, "h23.test", 0)
	get := func(c *http.Client) *http.Response {
		t.Helper()
		resp, err := c.Get("https://h23.test/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if resp := get(old); resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("before: %d over HTTP/%d, want 200 over HTTP/2", resp.StatusCode, resp.ProtoMajor)
	}
	cfg := filepath.Join(n.opts.ConfigDir, "main.cue")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(b), "aliases: [\"h23.test\"]\n\thttpVersion: \"http2and3\"", "aliases: [\"h23.test\"]\n\thttpVersion: \"http1.1\"", 1)
	if changed == string(b) {
		t.Fatal("the config has no h23 distribution to change")
	}
	if err := os.WriteFile(cfg, []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := n.Reload(); err != nil {
		t.Fatal(err)
	}
	if resp := get(old); resp.StatusCode != http.StatusMisdirectedRequest {
		t.Errorf("after, on the old HTTP/2 connection: %d, want 421", resp.StatusCode)
	}
	tr := &http.Transport{ForceAttemptHTTP2: true, TLSClientConfig: &tls.Config{ServerName: "h23.test", InsecureSkipVerify: true},
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, n.Addr("https").String())
		}}
	t.Cleanup(tr.CloseIdleConnections)
	if resp := get(&http.Client{Transport: tr, Timeout: 10 * time.Second}); resp.StatusCode != 200 || resp.ProtoMajor != 1 {
		t.Errorf("after, on a new connection: %d over HTTP/%d, want 200 over HTTP/1.1", resp.StatusCode, resp.ProtoMajor)
	}
}
