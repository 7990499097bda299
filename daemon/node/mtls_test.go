package node

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testCA is a CA that issues client certificates in tests.
type testCA struct {
	cert *x509.Certificate
	key  crypto.Signer
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name, Organization: []string{"Example"}},
		NotBefore: time.Now().AddDate(-1, 0, 0), NotAfter: time.Now().AddDate(1, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &testCA{cert: cert, key: key}
}

// pem is the CA certificate in PEM, indented for a CUE multi-line string.
func (ca *testCA) pem() string {
	p := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
	return "\t" + strings.ReplaceAll(strings.TrimSpace(string(p)), "\n", "\n\t")
}

// client issues a client certificate for cn valid from notBefore to
// notAfter.
func (ca *testCA) client(t *testing.T, cn string, serial int64, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn, OrganizationalUnit: []string{"devices"}},
		NotBefore: notBefore, NotAfter: notAfter, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, key.Public(), ca.key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
}

// mtlsHeaders are the viewer mTLS headers the test origin echoes.
var mtlsHeaders = []string{"CloudFront-Viewer-Cert-Serial-Number", "CloudFront-Viewer-Cert-Issuer", "CloudFront-Viewer-Cert-Subject",
	"CloudFront-Viewer-Cert-Present", "CloudFront-Viewer-Cert-Sha256", "CloudFront-Viewer-Cert-Validity", "CloudFront-Viewer-Cert-Pem",
	"Client-Cert", "Client-Cert-Chain", "X-Function-Saw"}

// startMtlsNode runs a node on a certificate for *.test with a trust store
// of ca and distributions req (required), opt (optional), pass
// (passthrough), old (required, ignoreCertificateExpiry), ads (required,
// advertiseTrustStoreCaNames), fn (required, with a viewer-request
// function that says which certificate headers it sees in X-Function-Saw)
// and plain (no mTLS). The origin answers with
// the viewer mTLS headers it got, one "name: value" line each.
func startMtlsNode(t *testing.T, ca *testCA) *Node {
	t.Helper()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		for _, h := range mtlsHeaders {
			if v, ok := r.Header[http.CanonicalHeaderKey(h)]; ok {
				fmt.Fprintf(w, "%s: %s\n", h, strings.Join(v, ","))
			}
		}
	}))
	t.Cleanup(app.Close)
	dir, certs := t.TempDir(), t.TempDir()
	writeCert(t, certs, "wide", "*.test")
	var b strings.Builder
	fmt.Fprintf(&b, "package cdn\n\ntrustStores: devices: caCertificatesBundle: \"\"\"\n%s\n\t\"\"\"\n", ca.pem())
	fmt.Fprintf(&b, "originRequestPolicies: certs: headersConfig: {headerBehavior: \"whitelist\", headers: [%q", mtlsHeaders[0])
	for _, h := range mtlsHeaders[1:] {
		fmt.Fprintf(&b, ", %q", h)
	}
	b.WriteString("]}\n")
	// saw tells which certificate headers a viewer-request function sees.
	b.WriteString(`functions: saw: functionCode: """
	function handler(event) {
		var seen = Object.keys(event.request.headers).filter(function (h) { return h.indexOf('cloudfront-viewer-cert-') === 0; }).sort();
		event.request.headers['x-function-saw'] = {value: seen.join(' ')};
		return event.request;
	}
	"""
`)
	for _, d := range []struct{ id, mtls string }{
		{"req", `viewerMtlsConfig: trustStoreConfig: trustStoreId: "devices"`},
		{"opt", `viewerMtlsConfig: {mode: "optional", trustStoreConfig: trustStoreId: "devices"}`},
		{"pass", `viewerMtlsConfig: mode: "passthrough"`},
		{"old", `viewerMtlsConfig: trustStoreConfig: {trustStoreId: "devices", ignoreCertificateExpiry: true}`},
		{"ads", `viewerMtlsConfig: trustStoreConfig: {trustStoreId: "devices", advertiseTrustStoreCaNames: true}`},
		{"plain", ``},
		{"fn", `viewerMtlsConfig: trustStoreConfig: trustStoreId: "devices"
	defaultCacheBehavior: functionAssociations: [{eventType: "viewer-request", functionName: "saw"}]`},
	} {
		fmt.Fprintf(&b, `distributions: %[1]s: {
	aliases: ["%[1]s.test"]
	viewerCertificate: certificateName: "wide"
	origins: [{id: "app", domainName: %[2]q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "https-only", cachePolicy: "CachingDisabled", originRequestPolicy: "certs"}
	%[3]s
}
`, d.id, app.Listener.Addr().String(), d.mtls)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	o := Options{ConfigDir: dir, HTTPSAddr: "127.0.0.1:0", CertsDir: certs, Logger: warnLogger(t), CacheBodyDir: t.TempDir()}
	if mtlsOptsHook != nil {
		mtlsOptsHook(&o)
	}
	return startWith(t, o)
}

var mtlsOptsHook func(*Options)

// mtlsGet makes one request for https://host/ on a new connection set up
// with SNI sni and cert (none when nil): its status and body, or the
// handshake's error.
func mtlsGet(t *testing.T, n *Node, p proto, sni, host string, cert *tls.Certificate) (int, string, error) {
	t.Helper()
	cfg := &tls.Config{ServerName: sni, InsecureSkipVerify: true}
	if cert != nil {
		cfg.Certificates = []tls.Certificate{*cert}
	}
	resp, err := connClientTLS(t, n, p, cfg).Get("https://" + host + "/")
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), nil
}

// TestViewerMtlsModes: a real handshake per mode and client certificate,
// on HTTP/1.1 and HTTP/2 (mtls-authentication.md, mtls-validation-modes.md):
// required takes only a certificate that chains to the trust store,
// optional also none, passthrough any; an expired certificate only with
// ignoreCertificateExpiry; a distribution without mTLS asks for none.
func TestViewerMtlsModes(t *testing.T) {
	ca, other := newTestCA(t, "Device CA"), newTestCA(t, "Other CA")
	n := startMtlsNode(t, ca)
	now := time.Now()
	valid := ca.client(t, "device-1", 0x4a3f5c, now.Add(-time.Hour), now.Add(time.Hour))
	foreign := other.client(t, "intruder", 2, now.Add(-time.Hour), now.Add(time.Hour))
	expired := ca.client(t, "device-old", 3, now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	notYet := ca.client(t, "device-new", 4, now.Add(24*time.Hour), now.Add(48*time.Hour))
	certs := []struct {
		name string
		cert *tls.Certificate
	}{{"none", nil}, {"valid", &valid}, {"other CA", &foreign}, {"expired", &expired}, {"not yet valid", &notYet}}
	// want: per distribution, which certificates a handshake takes.
	want := map[string][]bool{
		"req":   {false, true, false, false, false},
		"opt":   {true, true, false, false, false},
		"pass":  {true, true, true, true, true},
		"old":   {false, true, false, true, true},
		"plain": {true, true, true, true, true},
	}
	for _, p := range []proto{h1tls, h2} {
		for _, dist := range []string{"req", "opt", "pass", "old", "plain"} {
			for i, c := range certs {
				t.Run(fmt.Sprintf("%s/%s/%s", p, dist, c.name), func(t *testing.T) {
					status, _, err := mtlsGet(t, n, p, dist+".test", dist+".test", c.cert)
					if ok := err == nil && status == 200; ok != want[dist][i] {
						t.Errorf("served: %v (status %d, err %v), want %v", ok, status, err, want[dist][i])
					}
				})
			}
		}
	}
}

// TestViewerMtlsAdvertiseCANames: the certificate request lists the trust
// store's CA names only with advertiseTrustStoreCaNames.
func TestViewerMtlsAdvertiseCANames(t *testing.T) {
	ca := newTestCA(t, "Device CA")
	n := startMtlsNode(t, ca)
	valid := ca.client(t, "device-1", 5, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	for _, tt := range []struct {
		dist string
		want int
	}{{"req", 0}, {"ads", 1}} {
		var mu sync.Mutex
		var got [][]byte
		cfg := &tls.Config{ServerName: tt.dist + ".test", InsecureSkipVerify: true,
			GetClientCertificate: func(info *tls.CertificateRequestInfo) (*tls.Certificate, error) {
				mu.Lock()
				got = info.AcceptableCAs
				mu.Unlock()
				return &valid, nil
			}}
		resp, err := connClientTLS(t, n, h2, cfg).Get("https://" + tt.dist + ".test/")
		if err != nil {
			t.Fatalf("%s: %v", tt.dist, err)
		}
		resp.Body.Close()
		mu.Lock()
		if len(got) != tt.want || tt.want == 1 && string(got[0]) != string(ca.cert.RawSubject) {
			t.Errorf("%s: the certificate request named %d CAs, want %d (the trust store's)", tt.dist, len(got), tt.want)
		}
		mu.Unlock()
	}
}

// TestViewerMtlsMisdirected: a request for a distribution with viewer mTLS
// on a connection whose handshake was not its own (another alias's SNI
// on the shared *.test certificate, as HTTP/2 coalescing or a fronting
// viewer sends it; no SNI; another mTLS distribution's settings) is
// answered 421 Misdirected Request, never served without the check.
func TestViewerMtlsMisdirected(t *testing.T) {
	ca, other := newTestCA(t, "Device CA"), newTestCA(t, "Other CA")
	n := startMtlsNode(t, ca)
	valid := ca.client(t, "device-1", 6, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	foreign := other.client(t, "intruder", 7, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	for _, p := range []proto{h1tls, h2} {
		for _, tt := range []struct {
			sni, host string
			cert      *tls.Certificate
			want      int
		}{
			{"plain.test", "req.test", nil, 421},       // coalesced from a distribution without mTLS
			{"pass.test", "req.test", &foreign, 421},   // passthrough took any certificate
			{"opt.test", "req.test", nil, 421},         // optional took none
			{"plain.test", "pass.test", &foreign, 421}, // no certificate was asked for
			{"req.test", "plain.test", &valid, 200},    // mTLS only adds to what plain needs
			{"req.test", "req.test", &valid, 200},
		} {
			status, _, err := mtlsGet(t, n, p, tt.sni, tt.host, tt.cert)
			if err != nil || status != tt.want {
				t.Errorf("%s: SNI %q, Host %s: %d %v, want %d", p, tt.sni, tt.host, status, err, tt.want)
			}
		}
	}
	// No SNI: the default handshake, HTTP/1.1 only (HTTP/2 needs SNI).
	if status, _, err := mtlsGet(t, n, h1tls, "", "req.test", &valid); err != nil || status != 421 {
		t.Errorf("no SNI, Host req.test: %d %v, want 421", status, err)
	}
}

// anyHostSessions is a client session cache that offers the last session
// it got whatever the server name: a client that resumes one
// distribution's session in another's handshake.
type anyHostSessions struct {
	mu   sync.Mutex
	last *tls.ClientSessionState
}

func (c *anyHostSessions) Get(string) (*tls.ClientSessionState, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last, c.last != nil
}

func (c *anyHostSessions) Put(_ string, s *tls.ClientSessionState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s != nil {
		c.last = s
	}
}

// TestViewerMtlsSessionOfAnotherDistribution: a session resumed in
// another distribution's handshake does not carry its certificate over:
// one a passthrough handshake took unchecked does not pass a required
// distribution; the viewer gets a full handshake there, verified anew.
// A session of the distribution's own is resumed.
func TestViewerMtlsSessionOfAnotherDistribution(t *testing.T) {
	ca, other := newTestCA(t, "Device CA"), newTestCA(t, "Other CA")
	n := startMtlsNode(t, ca)
	foreign := other.client(t, "intruder", 8, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	valid := ca.client(t, "device-1", 9, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	get := func(sni string, sessions tls.ClientSessionCache, cert *tls.Certificate) (*http.Response, error) {
		cfg := &tls.Config{ServerName: sni, InsecureSkipVerify: true, ClientSessionCache: sessions}
		if cert != nil {
			cfg.Certificates = []tls.Certificate{*cert}
		}
		resp, err := connClientTLS(t, n, h1tls, cfg).Get("https://" + sni + "/")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return resp, err
	}
	sessions := &anyHostSessions{}
	if _, err := get("pass.test", sessions, &foreign); err != nil {
		t.Fatal(err)
	}
	// The session's certificate is offered; the client has none of its
	// own for a full handshake.
	if resp, err := get("req.test", sessions, nil); err == nil {
		t.Errorf("req.test resumed passthrough's session: %d, resumed %v", resp.StatusCode, resp.TLS.DidResume)
	}
	own := &anyHostSessions{}
	if _, err := get("req.test", own, &valid); err != nil {
		t.Fatal(err)
	}
	resp, err := get("req.test", own, &valid)
	if err != nil || !resp.TLS.DidResume {
		t.Errorf("req.test's own session: %v, resumed %v", err, resp != nil && resp.TLS.DidResume)
	}
}

// TestViewerMtlsTurnedOnWhileConnected: a connection opened without a
// client certificate before its distribution turned viewer mTLS on
// (required) answers 421 from then on, rather than serving for as long
// as it lasts; a new connection asks for the certificate.
func TestViewerMtlsTurnedOnWhileConnected(t *testing.T) {
	ca := newTestCA(t, "Device CA")
	n := startMtlsNode(t, ca)
	old := connClientTLS(t, n, h2, &tls.Config{ServerName: "plain.test", InsecureSkipVerify: true})
	get := func() int {
		t.Helper()
		resp, err := old.Get("https://plain.test/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	if s := get(); s != 200 {
		t.Fatalf("before: %d, want 200", s)
	}
	cfg := filepath.Join(n.opts.ConfigDir, "main.cue")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	on := strings.Replace(string(b), "aliases: [\"plain.test\"]", "aliases: [\"plain.test\"]\n\tviewerMtlsConfig: trustStoreConfig: trustStoreId: \"devices\"", 1)
	if err := os.WriteFile(cfg, []byte(on), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := n.Reload(); err != nil {
		t.Fatal(err)
	}
	if s := get(); s != http.StatusMisdirectedRequest {
		t.Errorf("after, on the connection without a certificate: %d, want 421", s)
	}
	if _, _, err := mtlsGet(t, n, h2, "plain.test", "plain.test", nil); err == nil {
		t.Error("after, a new connection without a certificate was served")
	}
}

// mtlsReload replaces from with to in the node's config and reloads it.
func mtlsReload(t *testing.T, n *Node, from, to string) {
	t.Helper()
	cfg := filepath.Join(n.opts.ConfigDir, "main.cue")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(b), from, to, 1)
	if s == string(b) {
		t.Fatalf("no %q in the config", from)
	}
	if err := os.WriteFile(cfg, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := n.Reload(); err != nil {
		t.Fatal(err)
	}
}

func mtlsStatus(t *testing.T, c *http.Client, url string) int {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestViewerMtlsSettingsChangedWhileConnected: a connection whose
// handshake checked the client certificate otherwise than its
// distribution does after a config change is not served on: a
// certificate passthrough took unchecked, once the distribution requires
// one of its trust store, and one of a CA since taken out of the store.
// The viewer gets 421 and makes a new handshake, which refuses it.
func TestViewerMtlsSettingsChangedWhileConnected(t *testing.T) {
	ca, other := newTestCA(t, "Device CA"), newTestCA(t, "Other CA")
	for _, c := range []struct {
		name, host string
		cert       func() tls.Certificate
		from, to   func() string
		want       int // the open connection's next answer
	}{
		{"passthrough turned required", "pass.test",
			func() tls.Certificate {
				return other.client(t, "admin", 1, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
			},
			func() string { return `viewerMtlsConfig: mode: "passthrough"` },
			func() string { return `viewerMtlsConfig: trustStoreConfig: trustStoreId: "devices"` }, http.StatusMisdirectedRequest},
		{"its CA taken out of the trust store", "req.test",
			func() tls.Certificate {
				return ca.client(t, "device-1", 1, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
			},
			func() string { return ca.pem() }, func() string { return other.pem() }, http.StatusMisdirectedRequest},
		// A rotation: the store gains a CA; its certificate still passes.
		{"a CA added to its trust store", "req.test",
			func() tls.Certificate {
				return ca.client(t, "device-1", 1, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
			},
			func() string { return ca.pem() }, func() string { return ca.pem() + "\n" + other.pem() }, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := startMtlsNode(t, ca)
			cert := c.cert()
			conn := connClientTLS(t, n, h2, &tls.Config{ServerName: c.host, InsecureSkipVerify: true, Certificates: []tls.Certificate{cert}})
			if s := mtlsStatus(t, conn, "https://"+c.host+"/"); s != http.StatusOK {
				t.Fatalf("before the change: %d", s)
			}
			mtlsReload(t, n, c.from(), c.to())
			if s := mtlsStatus(t, conn, "https://"+c.host+"/"); s != c.want {
				t.Errorf("the connection opened before the change: %d, want %d", s, c.want)
			}
			if c.want == http.StatusOK {
				return
			}
			// The 421 ended the connection (GOAWAY): the client's next
			// request makes a new handshake, which refuses it, rather
			// than getting 421 on it until it idles out.
			if resp, err := conn.Get("https://" + c.host + "/"); err == nil {
				resp.Body.Close()
				t.Errorf("the next request on the client: %d, want a new handshake that fails", resp.StatusCode)
			}
			if _, _, err := mtlsGet(t, n, h2, c.host, c.host, &cert); err == nil {
				t.Errorf("a new connection with that certificate was served")
			}
		})
	}
}

// TestViewerMtlsBehindTrustedProxy: a proxy in front of the node that
// terminated TLS passed no client certificate on: a distribution that
// requires one answers 403, not the origin as if it had been checked.
func TestViewerMtlsBehindTrustedProxy(t *testing.T) {
	mtlsOptsHook = func(o *Options) { o.HTTPAddr = "127.0.0.1:0"; o.TrustedProxies = "127.0.0.0/8" }
	defer func() { mtlsOptsHook = nil }()
	n := startMtlsNode(t, newTestCA(t, "Device CA"))
	for host, want := range map[string]int{"req.test": http.StatusForbidden, "opt.test": http.StatusOK} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+n.Addr("http").String()+"/", nil)
		req.Host = host
		req.Header.Set("X-Forwarded-Proto", "https")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s through a trusted proxy: %d, want %d", host, resp.StatusCode, want)
		}
	}
}

// TestViewerMtlsNoForgedHeaders: a viewer's own certificate headers never
// reach a viewer-request function, even under a policy that does not
// have the node set them (AllViewer), and a viewer's Connection header
// cannot take passthrough's Client-Cert off the origin request.
func TestViewerMtlsNoForgedHeaders(t *testing.T) {
	ca := newTestCA(t, "Device CA")
	n := startMtlsNode(t, ca)
	valid := ca.client(t, "device-1", 1, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	mtlsReload(t, n, "originRequestPolicy: \"certs\"}\n\tviewerMtlsConfig: trustStoreConfig: trustStoreId: \"devices\"\n\tdefaultCacheBehavior: functionAssociations",
		"originRequestPolicy: \"AllViewer\"}\n\tviewerMtlsConfig: trustStoreConfig: trustStoreId: \"devices\"\n\tdefaultCacheBehavior: functionAssociations")
	for _, c := range []struct{ host, header, value, wantIn, wantOut string }{
		{"fn.test", "CloudFront-Viewer-Cert-Subject", "CN=admin", "X-Function-Saw:", "cloudfront-viewer-cert-subject"},
		{"pass.test", "Connection", "Client-Cert", "Client-Cert: :", ""},
	} {
		conn := connClientTLS(t, n, h1tls, &tls.Config{ServerName: c.host, InsecureSkipVerify: true, Certificates: []tls.Certificate{valid}})
		req, _ := http.NewRequest(http.MethodGet, "https://"+c.host+"/", nil)
		req.Header.Set(c.header, c.value)
		resp, err := conn.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), c.wantIn) || c.wantOut != "" && strings.Contains(string(b), c.wantOut) {
			t.Errorf("%s with %s: %s; origin got:\n%s", c.host, c.header, c.value, b)
		}
	}
}
