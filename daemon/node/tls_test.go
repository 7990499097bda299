package node

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"

	"openfront.dev/internal/testenv"
)

// writeRSACert writes NAME.crt and NAME.key, an RSA certificate for hosts:
// CloudFront's RSA suites (with and without ECDHE) need one.
func writeRSACert(t *testing.T, dir, name string, hosts ...string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	writeKeyCert(t, dir, name, key, hosts...)
}

// writeKeyCert writes NAME.crt and NAME.key, a self-signed certificate for
// hosts with key.
func writeKeyCert(t *testing.T, dir, name string, key crypto.Signer, hosts ...string) {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: hosts[0]}, DNSNames: hosts,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
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
}

// TestCertificateKeyTypes: a certificateName whose key CloudFront would
// not take (cnames-and-https-requirements: RSA, at most 4096 bits, or
// ECDSA P-256 or P-384) is refused with the config, naming the
// distribution; the ones it takes load.
func TestCertificateKeyTypes(t *testing.T) {
	rsaKey := func(bits int) crypto.Signer {
		k, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	ecKey := func(c elliptic.Curve) crypto.Signer {
		k, err := ecdsa.GenerateKey(c, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		key  crypto.Signer
		want string // in the error; "" none
	}{
		{"rsa2048", rsaKey(2048), ""},
		{"rsa4104", rsaKey(4104), "RSA key of 4104 bits"},
		{"ecdsa-p256", ecKey(elliptic.P256()), ""},
		{"ecdsa-p384", ecKey(elliptic.P384()), ""},
		{"ecdsa-p521", ecKey(elliptic.P521()), "ECDSA P-521"},
		{"ed25519", edKey, "Ed25519"},
	}
	// Also where tls.LoadX509KeyPair leaves Leaf nil.
	for _, godebug := range []string{"", "x509keypairleaf=0"} {
		t.Setenv("GODEBUG", godebug)
		for _, tt := range tests {
			t.Run(godebug+"/"+tt.name, func(t *testing.T) {
				dir, certs := t.TempDir(), t.TempDir()
				writeKeyCert(t, certs, "site", tt.key, "site.test")
				tbl := testenv.Compile(t, dir, `package cdn
distributions: web: {
	aliases: ["site.test"]
	viewerCertificate: certificateName: "site"
	origins: [{id: "o", domainName: "o.example", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "o", viewerProtocolPolicy: "allow-all"}
}
`)
				err := checkCertificates(tbl, certs)
				if tt.want == "" {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), `distribution "web"`) {
					t.Fatalf("error %v, want one naming %q and the distribution", err, tt.want)
				}
			})
		}
	}
}

// policyHost is the alias of the test distribution with security policy p.
func policyHost(p string) string {
	return strings.NewReplacer(".", "-", "_", "-").Replace(strings.ToLower(p)) + ".test"
}

// startTLSNode runs a node with one distribution per security policy (an
// RSA certificateName, httpVersion http2), one per httpVersion, and one on
// the default certificate that asks for TLSv1.2_2021.
func startTLSNode(t *testing.T) *Node {
	t.Helper()
	return startTLSNodeLogging(t, testLogger(t))
}

// startTLSNodeLogging is startTLSNode logging to log.
func startTLSNodeLogging(t *testing.T, log *slog.Logger) *Node {
	t.Helper()
	dir, certs := t.TempDir(), t.TempDir()
	writeRSACert(t, certs, "rsa", "*.test")
	writeCert(t, certs, "wild", "*.wild.test")
	origin := `origins: [{id: "o", domainName: "o.example", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "o", viewerProtocolPolicy: "allow-all"}`
	var b strings.Builder
	b.WriteString("package cdn\n\n")
	for i, p := range securityPolicies {
		if p == "SSLv3" {
			continue // refused with sni-only, as by CloudFront
		}
		fmt.Fprintf(&b, "distributions: p%d: {\n\taliases: [%q]\n\t%s\n\tviewerCertificate: {certificateName: \"rsa\", minimumProtocolVersion: %q}\n}\n", i, policyHost(p), origin, p)
	}
	for _, v := range []string{"http1.1", "http2", "http3", "http2and3"} {
		name := strings.ReplaceAll(v, ".", "")
		fmt.Fprintf(&b, "distributions: %s: {\n\taliases: [%q]\n\t%s\n\thttpVersion: %q\n}\n", name, name+".test", origin, v)
	}
	fmt.Fprintf(&b, "distributions: deflt: {\n\taliases: [\"default.test\"]\n\t%s\n\tviewerCertificate: minimumProtocolVersion: \"TLSv1.2_2021\"\n}\n", origin)
	fmt.Fprintf(&b, "distributions: wild: {\n\taliases: [\"*.wild.test\"]\n\t%s\n\tviewerCertificate: certificateName: \"wild\"\n}\n", origin)
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return startWith(t, Options{ConfigDir: dir, HTTPSAddr: "127.0.0.1:0", CertsDir: certs, Logger: log, CacheBodyDir: t.TempDir()})
}

// startWith runs a node with opts, shut down when the test ends.
func startWith(t *testing.T, opts Options) *Node {
	t.Helper()
	n, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Shutdown(ctx)
	})
	return n
}

// TestSecurityPolicies checks, per minimumProtocolVersion, the TLS
// versions and cipher suites of CloudFront's table: a client offering one
// version and one suite connects only if the policy allows both.
func TestSecurityPolicies(t *testing.T) {
	n := startTLSNode(t)
	addr := n.Addr("https").String()
	// upTo: the last policy (index in securityPolicies) that accepts.
	tests := []struct {
		name    string
		version uint16
		suite   uint16
		upTo    int
	}{
		{"TLS1.0 ECDHE-RSA-AES128-SHA", tls.VersionTLS10, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, 2},
		{"TLS1.0 AES128-SHA", tls.VersionTLS10, tls.TLS_RSA_WITH_AES_128_CBC_SHA, 2},
		{"TLS1.0 DES-CBC3-SHA", tls.VersionTLS10, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, 1},
		{"TLS1.1 ECDHE-RSA-AES256-SHA", tls.VersionTLS11, tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, 3},
		{"TLS1.2 ECDHE-RSA-AES128-SHA", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, 3},
		{"TLS1.2 AES256-SHA", tls.VersionTLS12, tls.TLS_RSA_WITH_AES_256_CBC_SHA, 3},
		{"TLS1.2 AES128-GCM-SHA256", tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_GCM_SHA256, 4},
		{"TLS1.2 AES128-SHA256", tls.VersionTLS12, tls.TLS_RSA_WITH_AES_128_CBC_SHA256, 4},
		{"TLS1.2 ECDHE-RSA-AES128-SHA256", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, 5},
		{"TLS1.2 ECDHE-RSA-CHACHA20-POLY1305", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, 6},
		{"TLS1.2 ECDHE-RSA-AES128-GCM-SHA256", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, 7},
		{"TLS1.2 ECDHE-RSA-AES256-GCM-SHA384", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, 7},
		{"TLS1.3", tls.VersionTLS13, 0, 8},
	}
	for i, p := range securityPolicies {
		if p == "SSLv3" {
			continue
		}
		for _, tt := range tests {
			t.Run(p+"/"+tt.name, func(t *testing.T) {
				cfg := &tls.Config{ServerName: policyHost(p), InsecureSkipVerify: true, MinVersion: tt.version, MaxVersion: tt.version}
				if tt.suite != 0 {
					cfg.CipherSuites = []uint16{tt.suite}
				}
				conn, err := tls.Dial("tcp", addr, cfg)
				if err == nil {
					conn.Close()
				}
				if want := i <= tt.upTo; (err == nil) != want {
					t.Errorf("handshake error %v, want success %v", err, want)
				}
			})
		}
	}
}

// TestTLS13CipherSuites: CloudFront's table gives TLSv1.3_2025 the TLS 1.3
// suites TLS_AES_128_GCM_SHA256 and TLS_AES_256_GCM_SHA384 only, the other
// policies TLS_CHACHA20_POLY1305_SHA256 too. Go's clients always offer all
// three, so openssl offers one at a time.
func TestTLS13CipherSuites(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	n := startTLSNode(t)
	addr := n.Addr("https").String()
	for _, tt := range []struct {
		policy, suite string
		ok            bool
	}{
		{"TLSv1.2_2021", "TLS_CHACHA20_POLY1305_SHA256", true},
		{"TLSv1.2_2025", "TLS_CHACHA20_POLY1305_SHA256", true},
		{"TLSv1.3_2025", "TLS_CHACHA20_POLY1305_SHA256", false},
		{"TLSv1.3_2025", "TLS_AES_128_GCM_SHA256", true},
		{"TLSv1.3_2025", "TLS_AES_256_GCM_SHA384", true},
		{"TLSv1.3_2025", "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384", true},
	} {
		t.Run(tt.policy+"/"+tt.suite, func(t *testing.T) {
			cmd := exec.Command(openssl, "s_client", "-connect", addr, "-servername", policyHost(tt.policy),
				"-tls1_3", "-ciphersuites", tt.suite)
			cmd.Stdin = strings.NewReader("")
			out, err := cmd.CombinedOutput()
			if (err == nil) != tt.ok {
				t.Errorf("openssl s_client: %v, want success %v\n%s", err, tt.ok, out)
			}
		})
	}
}

// TestKeyExchangeGroups: CloudFront's key exchanges are prime256v1,
// X25519 and secp384r1, and hybrid post-quantum ones; a viewer offering
// only P-521 is refused, on every policy, as on CloudFront.
func TestKeyExchangeGroups(t *testing.T) {
	n := startTLSNode(t)
	addr := n.Addr("https").String()
	for _, tt := range []struct {
		curve tls.CurveID
		ok    bool
	}{
		{tls.X25519, true},
		{tls.CurveP256, true},
		{tls.CurveP384, true},
		{tls.X25519MLKEM768, true},
		{tls.CurveP521, false},
	} {
		for _, version := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
			for _, sni := range []string{policyHost("TLSv1"), policyHost("TLSv1.2_2021"), ""} {
				if tt.curve == tls.X25519MLKEM768 && version == tls.VersionTLS12 {
					continue // TLS 1.3 only
				}
				cfg := &tls.Config{ServerName: sni, InsecureSkipVerify: true, MinVersion: version, MaxVersion: version,
					CurvePreferences: []tls.CurveID{tt.curve}}
				conn, err := tls.Dial("tcp", addr, cfg)
				if err == nil {
					conn.Close()
				}
				if (err == nil) != tt.ok {
					t.Errorf("%v %s sni=%q: handshake error %v, want success %v", tt.curve, tls.VersionName(version), sni, err, tt.ok)
				}
			}
		}
	}
}

// TestDefaultCertificatePolicy: on the node's default certificate (the
// operator's own, not CloudFront's shared one, which CloudFront serves with
// TLSv1 whatever the distribution says) a distribution's
// minimumProtocolVersion holds, and viewers without SNI or with a name no
// distribution has get the default policy, TLSv1.2_2021.
func TestDefaultCertificatePolicy(t *testing.T) {
	n := startTLSNode(t)
	addr := n.Addr("https").String()
	for _, sni := range []string{"default.test", "", "nomatch.example"} {
		t.Run("sni="+sni, func(t *testing.T) {
			for _, tt := range []struct {
				version uint16
				suite   uint16
				ok      bool
			}{
				{tls.VersionTLS10, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, false},
				{tls.VersionTLS11, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, false},
				{tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, false}, // CBC-SHA1: not in TLSv1.2_2021
				{tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, true},
				{tls.VersionTLS13, 0, true},
			} {
				cfg := &tls.Config{ServerName: sni, InsecureSkipVerify: true, MinVersion: tt.version, MaxVersion: tt.version}
				if tt.suite != 0 {
					cfg.CipherSuites = []uint16{tt.suite}
				}
				conn, err := tls.Dial("tcp", addr, cfg)
				if (err == nil) != tt.ok {
					t.Errorf("%s %s: handshake error %v, want success %v", tls.VersionName(tt.version), tls.CipherSuiteName(tt.suite), err, tt.ok)
				}
				if err != nil {
					continue
				}
				if got := conn.ConnectionState().PeerCertificates[0].DNSNames; !slices.Equal(got, []string{"localhost"}) {
					t.Errorf("%s: certificate for %v, want the default one", tls.VersionName(tt.version), got)
				}
				conn.Close()
			}
		})
	}
}

// TestALPN: h2 only for a distribution with http2 or http2and3, and only
// to a viewer that sends SNI and can do TLS 1.2; the others get HTTP/1.1,
// and can use it.
func TestALPN(t *testing.T) {
	n := startTLSNode(t)
	addr := n.Addr("https").String()
	tests := []struct {
		sni     string
		version uint16 // the client's highest
		want    string
	}{
		{"http11.test", tls.VersionTLS13, "http/1.1"},
		{"http2.test", tls.VersionTLS13, "h2"},
		{"HTTP2.Test", tls.VersionTLS13, "h2"},
		{"http3.test", tls.VersionTLS13, "http/1.1"},
		{"http2and3.test", tls.VersionTLS13, "h2"},
		{"nomatch.example", tls.VersionTLS13, "h2"},
		{"", tls.VersionTLS13, "http/1.1"}, // HTTP/2 needs SNI
		{policyHost("TLSv1"), tls.VersionTLS12, "h2"},
		{policyHost("TLSv1"), tls.VersionTLS11, "http/1.1"}, // and TLS 1.2
		{policyHost("TLSv1"), tls.VersionTLS10, "http/1.1"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%s", tt.sni, tls.VersionName(tt.version)), func(t *testing.T) {
			cfg := &tls.Config{ServerName: tt.sni, InsecureSkipVerify: true, MinVersion: tls.VersionTLS10, MaxVersion: tt.version,
				NextProtos: []string{"h2", "http/1.1"}}
			conn, err := tls.Dial("tcp", addr, cfg)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if got := conn.ConnectionState().NegotiatedProtocol; got != tt.want {
				t.Fatalf("ALPN %q, want %q", got, tt.want)
			}
			host := tt.sni
			if host == "" {
				host = "http2.test"
			}
			if tt.want == "h2" {
				return
			}
			fmt.Fprintf(conn, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host)
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, _ := io.ReadAll(conn)
			if !strings.HasPrefix(string(b), "HTTP/1.1 ") {
				t.Errorf("no HTTP/1.1 answer: %.80q", b)
			}
		})
	}
}

// TestSNICertificates: the certificate follows SNI's distribution, exact
// or wildcard (any depth, as CloudFront's *.example.com covers
// marketing.product-name.example.com), whatever the case.
func TestSNICertificates(t *testing.T) {
	n := startTLSNode(t)
	addr := n.Addr("https").String()
	tests := []struct{ sni, want string }{
		{policyHost("TLSv1.2_2021"), "*.test"},
		{strings.ToUpper(policyHost("TLSv1.2_2021")), "*.test"},
		{"a.wild.test", "*.wild.test"},
		{"A.Wild.TEST", "*.wild.test"},
		{"a.b.wild.test", "*.wild.test"},
		{"wild.test", "localhost"},
		{"default.test", "localhost"},
		{"nomatch.example", "localhost"},
		{"", "localhost"},
	}
	for _, tt := range tests {
		t.Run("sni="+tt.sni, func(t *testing.T) {
			conn, err := tls.Dial("tcp", addr, &tls.Config{ServerName: tt.sni, InsecureSkipVerify: true})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if got := conn.ConnectionState().PeerCertificates[0].DNSNames; !slices.Equal(got, []string{tt.want}) {
				t.Errorf("certificate for %v, want %v", got, tt.want)
			}
		})
	}
}

// noApplicationProtocol is QUIC's CRYPTO_ERROR for TLS alert 120
// (RFC 9001 4.8).
const noApplicationProtocol = quic.TransportErrorCode(0x100 + 120)

// TestHTTP3Negotiation: QUIC only for distributions with HTTP/3 and only
// with SNI; Alt-Svc advertises it on TCP for those alone, to viewers that
// sent SNI.
func TestHTTP3Negotiation(t *testing.T) {
	n := startTLSNode(t)
	udp := n.Addr("http3").String()
	port := n.Addr("https").(*net.TCPAddr).Port
	for _, tt := range []struct {
		sni    string
		h3     bool
		altSvc string
	}{
		{"http11.test", false, ""},
		{"http2.test", false, ""},
		{"http3.test", true, fmt.Sprintf(`h3=":%d"; ma=86400`, port)},
		{"http2and3.test", true, fmt.Sprintf(`h3=":%d"; ma=86400`, port)},
		{"", false, ""},
	} {
		t.Run("sni="+tt.sni, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			c, err := quic.DialAddr(ctx, udp, &tls.Config{ServerName: tt.sni, InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}}, nil)
			if err == nil {
				c.CloseWithError(0, "")
			}
			if (err == nil) != tt.h3 {
				t.Errorf("QUIC handshake error %v, want success %v", err, tt.h3)
			}
			// A refusal is the no_application_protocol alert (CRYPTO_ERROR
			// 0x178): "no h3 for this name", not internal_error's 0x150.
			var te *quic.TransportError
			if err != nil && (!errors.As(err, &te) || te.ErrorCode != noApplicationProtocol) {
				t.Errorf("QUIC handshake error %v, want CRYPTO_ERROR %#x", err, uint64(noApplicationProtocol))
			}
			tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
				DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
					return (&net.Dialer{}).DialContext(ctx, network, n.Addr("https").String())
				}}
			defer tr.CloseIdleConnections()
			// Without SNI (Go sends none for an IP address), for a host
			// with HTTP/3: QUIC would refuse this viewer, so no Alt-Svc.
			url, host := "https://"+tt.sni+"/", tt.sni
			if tt.sni == "" {
				url, host = "https://127.0.0.1/", "http3.test"
			}
			req, _ := http.NewRequest(http.MethodGet, url, nil)
			req.Host = host
			resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Alt-Svc"); got != tt.altSvc {
				t.Errorf("Alt-Svc %q, want %q", got, tt.altSvc)
			}
		})
	}
}

// TestOriginAltSvcNotPassed: an origin's Alt-Svc names the origin's own
// alternatives (its HTTP/3 port, its ma), not the node's: a viewer gets
// the node's advertisement for a distribution with HTTP/3 and none for
// one without, missed or hit, as Caddy's and YARP's proxies drop an
// upstream's Alt-Svc. CloudFront's "HTTP response headers that CloudFront
// removes or replaces" predate its HTTP/3 and do not name it.
func TestOriginAltSvcNotPassed(t *testing.T) {
	e := start(t)
	own := fmt.Sprintf(`h3=":%d"; ma=86400`, e.node.Addr("https").(*net.TCPAddr).Port)
	for _, tt := range []struct {
		p    proto
		host string
		want []string
	}{
		{h1tls, "site.test", []string{own}},
		{h2, "site.test", []string{own}},
		{h3, "site.test", nil}, // already on HTTP/3
		{h1tls, "h1.test", nil},
	} {
		// Each host's first request is a miss, the others hits.
		c := e.client(t, tt.p, nil)
		for range 2 {
			resp, body := do(t, c, "GET", "https://"+tt.host+"/api/alt-svc", nil, "")
			xcache := resp.Header.Get("X-Cache")
			if resp.StatusCode != http.StatusOK || string(body) != "alt-svc\n" {
				t.Fatalf("%s %s: %d %q %s", tt.p, tt.host, resp.StatusCode, body, xcache)
			}
			if got := resp.Header.Values("Alt-Svc"); !slices.Equal(got, tt.want) {
				t.Errorf("%s %s, %s: Alt-Svc %q, want %q", tt.p, tt.host, xcache, got, tt.want)
			}
		}
	}
}

// TestHTTP3RefusalLogged: a refused QUIC handshake says why in a debug
// line, which the client's alert does not.
func TestHTTP3RefusalLogged(t *testing.T) {
	var log testenv.Buffer
	n := startTLSNodeLogging(t, slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})))
	for _, tt := range []struct{ sni, attr, why string }{
		{"http2.test", "sni=http2.test", errNoHTTP3.Error()},
		{"", `sni=""`, errNoSNI.Error()},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		c, err := quic.DialAddr(ctx, n.Addr("http3").String(), &tls.Config{ServerName: tt.sni, InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}}, nil)
		cancel()
		if err == nil {
			c.CloseWithError(0, "")
			t.Fatalf("sni=%q: QUIC handshake succeeded", tt.sni)
		}
		want := fmt.Sprintf(`msg="HTTP/3 handshake refused" %s err="%s"`, tt.attr, tt.why)
		if s := log.String(); !strings.Contains(s, want) {
			t.Errorf("log lacks %s:\n%s", want, s)
		}
	}
}
