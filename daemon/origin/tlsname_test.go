package origin

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// testCA issues certificates for TLS origins in tests.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pool *x509.CertPool
}

func newTestCA(t *testing.T) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, pool: pool}
}

// issue is a server certificate for names, valid until notAfter.
func (ca *testCA) issue(t *testing.T, notAfter time.Time, names ...string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: names[0]},
		DNSNames: names, NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// sniOrigin is an HTTPS origin on 127.0.0.1 that serves cert and notes
// the server name each handshake asked for.
type sniOrigin struct {
	srv  *httptest.Server
	mu   sync.Mutex
	snis []string
}

func newSNIOrigin(t *testing.T, cert tls.Certificate) *sniOrigin {
	t.Helper()
	return startSNIOrigin(t, cert, false)
}

// startSNIOrigin is newSNIOrigin, offering HTTP/2 when http2 is set.
func startSNIOrigin(t *testing.T, cert tls.Certificate, http2 bool) *sniOrigin {
	t.Helper()
	o := &sniOrigin{}
	o.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(r.Host))
	}))
	o.srv.EnableHTTP2 = http2
	o.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, GetConfigForClient: func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		o.mu.Lock()
		o.snis = append(o.snis, hello.ServerName)
		o.mu.Unlock()
		return nil, nil
	}}
	o.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the failed handshakes the tests cause
	o.srv.StartTLS()
	t.Cleanup(o.srv.Close)
	return o
}

func (o *sniOrigin) lastSNI() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.snis) == 0 {
		return ""
	}
	return o.snis[len(o.snis)-1]
}

// TestCustomCertificateName: as CloudFront, a custom origin's certificate
// must name the origin's domainName or, where the behavior forwards the
// Host, the viewer's Host, which the edge then sends as the server name
// (SNI) so that an origin with a certificate per site picks the right one
// (http-502-bad-gateway.md, "SSL/TLS negotiation failure"); an expired or
// untrusted certificate fails either way.
func TestCustomCertificateName(t *testing.T) {
	ca := newTestCA(t)
	later := time.Now().Add(time.Hour)
	tests := []struct {
		name        string
		certNames   []string
		notAfter    time.Time
		untrusted   bool
		forwardHost bool
		viewerHost  string
		wantOK      bool
		wantSNI     string
	}{
		{name: "domain name", certNames: []string{"localhost"}, wantOK: true, wantSNI: "localhost"},
		{name: "viewer host not forwarded", certNames: []string{"www.example.com"}, viewerHost: "www.example.com"},
		{name: "forwarded host", certNames: []string{"www.example.com"}, forwardHost: true, viewerHost: "www.example.com", wantOK: true, wantSNI: "www.example.com"},
		{name: "forwarded host with port", certNames: []string{"www.example.com"}, forwardHost: true, viewerHost: "www.example.com:8443", wantOK: true, wantSNI: "www.example.com"},
		{name: "forwarded host, wildcard", certNames: []string{"*.example.com"}, forwardHost: true, viewerHost: "www.example.com", wantOK: true, wantSNI: "www.example.com"},
		{name: "forwarded host, domain name matches", certNames: []string{"localhost"}, forwardHost: true, viewerHost: "www.example.com", wantOK: true, wantSNI: "www.example.com"},
		{name: "forwarded host, neither matches", certNames: []string{"other.example"}, forwardHost: true, viewerHost: "www.example.com"},
		{name: "forwarded host, expired", certNames: []string{"www.example.com"}, notAfter: time.Now().Add(-time.Hour), forwardHost: true, viewerHost: "www.example.com"},
		{name: "forwarded host, untrusted", certNames: []string{"www.example.com"}, untrusted: true, forwardHost: true, viewerHost: "www.example.com"},
		{name: "forwarded IP host", certNames: []string{"localhost"}, forwardHost: true, viewerHost: "192.0.2.1", wantOK: true, wantSNI: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			notAfter := tt.notAfter
			if notAfter.IsZero() {
				notAfter = later
			}
			o := newSNIOrigin(t, ca.issue(t, notAfter, tt.certNames...))
			roots := ca.pool
			if tt.untrusted {
				roots = newTestCA(t).pool
			}
			spec := customSpec("localhost:" + strconv.Itoa(port(t, o.srv)))
			spec.ConnectionAttempts = 1
			spec.CustomOriginConfig.OriginProtocolPolicy = "https-only"
			c := newTestCustom(spec, roots)
			t.Cleanup(c.close)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			resp, err := c.Fetch(ctx, &Request{Method: http.MethodGet, Path: "/", Header: http.Header{}, ForwardHost: tt.forwardHost, ViewerHost: tt.viewerHost})
			if !tt.wantOK {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("status %d, want a failed fetch", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			resp.Body.Close()
			if got := o.lastSNI(); got != tt.wantSNI {
				t.Errorf("server name %q, want %q", got, tt.wantSNI)
			}
		})
	}
}

// TestCustomCertificateNamePerHost: connections made for one forwarded
// Host (its server name) do not carry another's requests.
func TestCustomCertificateNamePerHost(t *testing.T) {
	ca := newTestCA(t)
	o := newSNIOrigin(t, ca.issue(t, time.Now().Add(time.Hour), "a.example.com", "b.example.com"))
	spec := customSpec("localhost:" + strconv.Itoa(port(t, o.srv)))
	spec.CustomOriginConfig.OriginProtocolPolicy = "https-only"
	c := newTestCustom(spec, ca.pool)
	t.Cleanup(c.close)
	for _, host := range []string{"a.example.com", "b.example.com", "a.example.com", ""} {
		req := &Request{Method: http.MethodGet, Path: "/", Header: http.Header{}, ForwardHost: host != "", ViewerHost: host}
		resp, err := c.Fetch(context.Background(), req)
		if host == "" {
			// The origin's own name is not on the certificate.
			if err == nil {
				resp.Body.Close()
				t.Fatal("fetch without the Host forwarded succeeded; want a name mismatch")
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", host, err)
		}
		resp.Body.Close()
		if got := o.lastSNI(); got != host {
			t.Errorf("request for %s went on a connection made for %q", host, got)
		}
	}
}

// TestCustomCertificateNameGRPC: a gRPC call (HTTP/2 over TLS) that
// forwards the viewer's Host is checked and named the same way.
func TestCustomCertificateNameGRPC(t *testing.T) {
	ca := newTestCA(t)
	for _, tt := range []struct {
		certName string
		wantOK   bool
	}{
		{"www.example.com", true},
		{"other.example", false},
	} {
		t.Run(tt.certName, func(t *testing.T) {
			o := startSNIOrigin(t, ca.issue(t, time.Now().Add(time.Hour), tt.certName), true)
			spec := customSpec("localhost")
			spec.CustomOriginConfig.HTTPSPort = port(t, o.srv)
			c := newTestCustom(spec, ca.pool)
			t.Cleanup(c.close)
			resp, err := c.Fetch(context.Background(), &Request{Method: http.MethodPost, Path: "/svc/Method", Header: http.Header{},
				GRPC: true, ForwardHost: true, ViewerHost: "www.example.com"})
			if !tt.wantOK {
				if err == nil {
					resp.Body.Close()
					t.Fatal("call succeeded, want a failed handshake")
				}
				return
			}
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			defer resp.Body.Close()
			if resp.ProtoMajor != 2 || o.lastSNI() != "www.example.com" {
				t.Errorf("%s with server name %q, want HTTP/2 with www.example.com", resp.Proto, o.lastSNI())
			}
		})
	}
}

// TestGRPCConnectionAttempts: a gRPC call whose connection fails before
// any of its body was read is tried again, up to connectionAttempts, as
// any request: it was sent once and failed.
func TestGRPCConnectionAttempts(t *testing.T) {
	ca := newTestCA(t)
	o := startSNIOrigin(t, ca.issue(t, time.Now().Add(time.Hour), "localhost"), true)
	spec := customSpec("localhost")
	spec.CustomOriginConfig.HTTPSPort = port(t, o.srv)
	for _, tt := range []struct {
		attempts, refused int
		wantOK            bool
	}{
		{3, 1, true},
		{3, 2, true},
		{2, 2, false},
		{1, 1, false},
	} {
		spec.ConnectionAttempts = tt.attempts
		c := newTestCustom(spec, ca.pool)
		t.Cleanup(c.close)
		tr := c.grpc.Transport.(*http.Transport)
		dial := tr.DialContext
		var dials atomic.Int32
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if int(dials.Add(1)) <= tt.refused {
				return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
			}
			return dial(ctx, network, addr)
		}
		resp, err := c.Fetch(context.Background(), &Request{Method: http.MethodPost, Path: "/svc/Method", GRPC: true,
			Header: http.Header{"Content-Type": {"application/grpc"}}, Body: io.NopCloser(strings.NewReader("call")), ContentLength: -1})
		if err == nil {
			resp.Body.Close()
		}
		if (err == nil) != tt.wantOK {
			t.Errorf("%d attempts, %d refused: error %v, want success %v", tt.attempts, tt.refused, err, tt.wantOK)
		}
	}
}
