package node

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"openfront.dev/internal/tlsfp"
)

var (
	ja3Form = regexp.MustCompile(`^[0-9a-f]{32}$`)
	ja4Form = regexp.MustCompile(`^[tq](1[0-3]|s3|00)[di][0-9]{4}[0-9a-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$`)
)

// TestFingerprintHeaders: a behavior that names CloudFront-Viewer-JA3-
// and -JA4-Fingerprint has the origin get the fingerprints of the
// viewer's ClientHello, over HTTP/1.1, HTTP/2 and HTTP/3; the same for
// two connections of a client, different for clients that offer
// different cipher suites; none over plain HTTP, whatever the viewer
// sends.
func TestFingerprintHeaders(t *testing.T) {
	seen := make(chan http.Header, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		w.Header().Set("Cache-Control", "no-store")
	}))
	t.Cleanup(app.Close)
	dir, certs := t.TempDir(), t.TempDir()
	writeCert(t, certs, "fp", "fp.test")
	cfg := fmt.Sprintf(`package cdn

distributions: fp: {
	aliases: ["fp.test"]
	httpVersion: "http2and3"
	viewerCertificate: certificateName: "fp"
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all",
		forwardedValues: headers: ["CloudFront-Viewer-JA3-Fingerprint", "CloudFront-Viewer-JA4-Fingerprint"]}
}
`, app.Listener.Addr().String())
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	n := startWith(t, Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", CertsDir: certs,
		Logger: testLogger(t), CacheBodyDir: t.TempDir()})

	var paths atomic.Int64
	// get asks for a new path (a miss) through client to base and
	// returns the origin's fingerprint headers.
	get := func(t *testing.T, c *http.Client, base string) (ja3, ja4 string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/"+strconv.FormatInt(paths.Add(1), 10), nil)
		req.Host = "fp.test"
		req.Header.Set("CloudFront-Viewer-JA3-Fingerprint", "forged")
		req.Header.Set("CloudFront-Viewer-JA4-Fingerprint", "forged")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d", resp.StatusCode)
		}
		select {
		case h := <-seen:
			return h.Get("CloudFront-Viewer-JA3-Fingerprint"), h.Get("CloudFront-Viewer-JA4-Fingerprint")
		default:
			t.Fatal("the origin saw no request")
			return "", ""
		}
	}

	t.Run("plain HTTP", func(t *testing.T) {
		ja3, ja4 := get(t, &http.Client{Timeout: 10 * time.Second}, "http://"+n.Addr("http").String())
		if ja3 != "" || ja4 != "" {
			t.Errorf("JA3 %q, JA4 %q over HTTP; want none", ja3, ja4)
		}
	})

	https := "https://" + n.Addr("https").String()
	tls12 := func(suite uint16) *tls.Config {
		return &tls.Config{ServerName: "fp.test", InsecureSkipVerify: true, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{suite}, NextProtos: []string{"http/1.1"}}
	}
	for _, tt := range []struct {
		name   string
		client *tls.Config
		prefix string
	}{
		{"HTTP/1.1", &tls.Config{ServerName: "fp.test", InsecureSkipVerify: true, NextProtos: []string{"http/1.1"}}, "t13d"},
		{"HTTP/2", &tls.Config{ServerName: "fp.test", InsecureSkipVerify: true, NextProtos: []string{"h2"}}, "t13d"},
		{"HTTP/1.1, TLS 1.2, AES-128-GCM", tls12(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256), "t12d01"},
		{"HTTP/1.1, TLS 1.2, CHACHA20", tls12(tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256), "t12d01"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			wantJA3, wantJA4 := tcpFingerprints(t, tt.client)
			c := tlsClient(t, tt.client)
			for i := range 2 { // the same on another connection
				ja3, ja4 := get(t, c, https)
				if ja3 != wantJA3 || ja4 != wantJA4 {
					t.Errorf("connection %d: JA3 %q, JA4 %q; want %q, %q", i, ja3, ja4, wantJA3, wantJA4)
				}
				c.Transport.(*http.Transport).CloseIdleConnections()
			}
			if !ja3Form.MatchString(wantJA3) || !ja4Form.MatchString(wantJA4) || !strings.HasPrefix(wantJA4, tt.prefix) {
				t.Errorf("malformed JA3 %q or JA4 %q, want it to start %q", wantJA3, wantJA4, tt.prefix)
			}
			t.Logf("JA3 %s, JA4 %s", wantJA3, wantJA4)
		})
	}
	t.Run("different cipher suites, different fingerprints", func(t *testing.T) {
		gcm3, gcm4 := get(t, tlsClient(t, tls12(tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)), https)
		cha3, cha4 := get(t, tlsClient(t, tls12(tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)), https)
		if gcm3 == cha3 || gcm4 == cha4 {
			t.Errorf("AES-GCM client %q %q, ChaCha20 client %q %q: want them apart", gcm3, gcm4, cha3, cha4)
		}
	})

	t.Run("HTTP/3", func(t *testing.T) {
		udp := n.Addr("http3").String()
		var want [2]string
		tr := &http3.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
			Dial: func(ctx context.Context, _ string, tlsCfg *tls.Config, cfg *quic.Config) (*quic.Conn, error) {
				want[0], want[1] = quicFingerprints(t, tlsCfg, cfg)
				return quic.DialAddr(ctx, udp, tlsCfg, cfg)
			}}
		t.Cleanup(func() { tr.Close() })
		c := &http.Client{Transport: tr, Timeout: 10 * time.Second}
		ja3, ja4 := get(t, c, "https://fp.test")
		if ja3 != want[0] || ja4 != want[1] {
			t.Errorf("JA3 %q, JA4 %q; want %q, %q", ja3, ja4, want[0], want[1])
		}
		t.Logf("JA3 %s, JA4 %s", ja3, ja4)
		if !ja3Form.MatchString(ja3) || !ja4Form.MatchString(ja4) || ja4[:4] != "q13d" || ja4[8:10] != "h3" {
			t.Errorf("malformed JA3 %q or JA4 %q for QUIC, h3", ja3, ja4)
		}
	})

	t.Run("curl", func(t *testing.T) {
		if _, err := exec.LookPath("curl"); err != nil {
			t.Skip("no curl")
		}
		port := strconv.Itoa(n.Addr("https").(*net.TCPAddr).Port)
		var got [2]string
		for i := range got {
			path := "/curl" + strconv.Itoa(i)
			out, err := exec.Command("curl", "-sk", "--http2", "--resolve", "fp.test:"+port+":127.0.0.1",
				"-H", "CloudFront-Viewer-JA4-Fingerprint: forged", "https://fp.test:"+port+path).CombinedOutput()
			if err != nil {
				t.Fatalf("curl: %v: %s", err, out)
			}
			h := <-seen
			got[i] = h.Get("CloudFront-Viewer-JA3-Fingerprint") + " " + h.Get("CloudFront-Viewer-JA4-Fingerprint")
			if ja3, ja4 := h.Get("CloudFront-Viewer-JA3-Fingerprint"), h.Get("CloudFront-Viewer-JA4-Fingerprint"); !ja3Form.MatchString(ja3) || !ja4Form.MatchString(ja4) || ja4[8:10] != "h2" {
				t.Errorf("curl: malformed JA3 %q or JA4 %q", ja3, ja4)
			}
		}
		t.Logf("curl: %s", got[0])
		if got[0] != got[1] {
			t.Errorf("curl's two connections: %q, then %q", got[0], got[1])
		}
	})
}

// tlsClient is an HTTPS client whose connections' handshakes use cfg.
func tlsClient(t *testing.T, cfg *tls.Config) *http.Client {
	var p http.Protocols
	p.SetHTTP1(true)
	p.SetHTTP2(true)
	tr := &http.Transport{Protocols: &p, DialTLSContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(c, cfg.Clone())
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return nil, err
		}
		return tc, nil
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

var errEnough = errors.New("seen the ClientHello")

// tcpFingerprints are the JA3 and JA4 of the ClientHello a TLS client
// with cfg sends, as a server of the test's own sees it.
func tcpFingerprints(t *testing.T, cfg *tls.Config) (ja3, ja4 string) {
	t.Helper()
	hellos := make(chan *tls.ClientHelloInfo, 1)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		hellos <- hi
		return nil, errEnough
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	tls.Client(c, cfg.Clone()).Handshake()
	hi := <-hellos
	return tlsfp.JA3(hi), tlsfp.JA4(hi, false)
}

// quicFingerprints are the JA3 and JA4 of the ClientHello a QUIC client
// with tlsCfg and cfg sends, as a QUIC server of the test's own sees it.
func quicFingerprints(t *testing.T, tlsCfg *tls.Config, cfg *quic.Config) (ja3, ja4 string) {
	hellos := make(chan *tls.ClientHelloInfo, 1)
	ln, err := quic.ListenAddr("127.0.0.1:0", &tls.Config{GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		hellos <- hi
		return nil, errEnough
	}}, nil)
	if err != nil {
		t.Error(err)
		return "", ""
	}
	defer ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	quic.DialAddr(ctx, ln.Addr().String(), tlsCfg.Clone(), cfg)
	select {
	case hi := <-hellos:
		return tlsfp.JA3(hi), tlsfp.JA4(hi, true)
	default:
		t.Error("the QUIC server saw no ClientHello")
		return "", ""
	}
}
