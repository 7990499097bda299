package origin

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

// seen is what the echo origin reports about the request it received.
type seen struct {
	Scheme     string      `json:"scheme"`
	Host       string      `json:"host"`
	RequestURI string      `json:"requestURI"`
	Method     string      `json:"method"`
	Header     http.Header `json:"header"`
	Body       string      `json:"body"`
	Proto      string      `json:"proto"`
}

func echoHandler(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/redirect":
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
		return
	case "/elsewhere":
		io.WriteString(w, "followed\n")
		return
	case "/unavailable":
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	case "/slow":
		select {
		case <-time.After(1500 * time.Millisecond):
		case <-r.Context().Done():
		}
	}
	s := seen{Scheme: "http", Host: r.Host, RequestURI: r.RequestURI, Method: r.Method, Header: r.Header, Proto: r.Proto}
	if r.TLS != nil {
		s.Scheme = "https"
	}
	b, _ := io.ReadAll(r.Body)
	s.Body = string(b)
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(s)
}

// origins are an HTTP and an HTTPS echo server on 127.0.0.1; the HTTPS
// one offers HTTP/2 too.
type origins struct {
	plain, tls *httptest.Server
	roots      *x509.CertPool
}

func newOrigins(t *testing.T) *origins {
	t.Helper()
	o := &origins{plain: httptest.NewServer(http.HandlerFunc(echoHandler)), tls: httptest.NewUnstartedServer(http.HandlerFunc(echoHandler))}
	o.tls.EnableHTTP2 = true
	o.tls.StartTLS()
	t.Cleanup(o.plain.Close)
	t.Cleanup(o.tls.Close)
	o.roots = x509.NewCertPool()
	o.roots.AddCert(o.tls.Certificate())
	return o
}

func port(t *testing.T, s *httptest.Server) int {
	t.Helper()
	u, _ := url.Parse(s.URL)
	p, err := strconv.Atoi(u.Port())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// customSpec is a custom origin with the schema's defaults.
func customSpec(domain string) *schema.Origin {
	return &schema.Origin{ID: "app", DomainName: domain, ConnectionAttempts: 3, ConnectionTimeout: 10,
		CustomOriginConfig: &schema.CustomOriginConfig{HTTPPort: 80, HTTPSPort: 443, OriginProtocolPolicy: "http-only",
			OriginReadTimeout: 30, OriginKeepaliveTimeout: 5, OriginSSLProtocols: []string{"TLSv1.2"}}}
}

// newTestCustom makes the fetcher, trusting the test's HTTPS origin.
func newTestCustom(spec *schema.Origin, roots *x509.CertPool) *custom {
	return newCustom(&table.Origin{DistributionID: "d", ID: spec.ID, Kind: table.OriginCustom, Spec: spec}, roots)
}

func fetchSeen(t *testing.T, c *custom, req *Request) (*http.Response, seen) {
	t.Helper()
	if req.Method == "" {
		req.Method = http.MethodGet
	}
	if req.Header == nil {
		req.Header = http.Header{}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := c.Fetch(ctx, req)
	if err != nil {
		t.Fatalf("Fetch: %v", err)
	}
	defer resp.Body.Close()
	var s seen
	if resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatalf("decode: %v", err)
		}
	}
	return resp, s
}

func TestCustomProtocolPolicy(t *testing.T) {
	o := newOrigins(t)
	httpPort, httpsPort := port(t, o.plain), port(t, o.tls)
	tests := []struct {
		policy      string
		viewerHTTPS bool
		domain      string
		wantScheme  string
	}{
		{"http-only", false, "127.0.0.1", "http"},
		{"http-only", true, "127.0.0.1", "http"},
		{"https-only", false, "127.0.0.1", "https"},
		{"https-only", true, "127.0.0.1", "https"},
		{"match-viewer", false, "127.0.0.1", "http"},
		{"match-viewer", true, "127.0.0.1", "https"},
		// A port in domainName wins over httpPort and httpsPort.
		{"http-only", true, "127.0.0.1:" + strconv.Itoa(httpPort), "http"},
		{"https-only", false, "127.0.0.1:" + strconv.Itoa(httpsPort), "https"},
	}
	for _, tt := range tests {
		name := tt.policy + "/viewer-http"
		if tt.viewerHTTPS {
			name = tt.policy + "/viewer-https"
		}
		if strings.Contains(tt.domain, ":") {
			name += "/port-in-domain"
		}
		t.Run(name, func(t *testing.T) {
			spec := customSpec(tt.domain)
			spec.CustomOriginConfig.OriginProtocolPolicy = tt.policy
			spec.CustomOriginConfig.HTTPPort, spec.CustomOriginConfig.HTTPSPort = httpPort, httpsPort
			if strings.Contains(tt.domain, ":") {
				// Ports that would fail if used.
				spec.CustomOriginConfig.HTTPPort, spec.CustomOriginConfig.HTTPSPort = 1, 1
			}
			c := newTestCustom(spec, o.roots)
			resp, s := fetchSeen(t, c, &Request{Path: "/x", ViewerHTTPS: tt.viewerHTTPS})
			if resp.StatusCode != 200 || s.Scheme != tt.wantScheme {
				t.Errorf("status %d, origin saw %s; want 200 over %s", resp.StatusCode, s.Scheme, tt.wantScheme)
			}
			// As CloudFront: HTTP/1.1 to a custom origin, even one that
			// offers HTTP/2.
			if s.Proto != "HTTP/1.1" {
				t.Errorf("origin saw %s, want HTTP/1.1", s.Proto)
			}
		})
	}
}

func TestCustomTarget(t *testing.T) {
	tests := []struct {
		name       string
		domain     string
		originPath string
		policy     string
		https      bool
		path, qs   string
		want       string
	}{
		{"default ports are explicit", "origin.example", "", "http-only", false, "/a", "", "http://origin.example:80/a"},
		{"https port", "origin.example", "", "https-only", false, "/a", "", "https://origin.example:443/a"},
		{"originPath prefix", "origin.example", "/prod", "http-only", false, "/a/b.html", "", "http://origin.example:80/prod/a/b.html"},
		{"originPath with the root", "origin.example", "/prod", "http-only", false, "/", "", "http://origin.example:80/prod/"},
		{"nested originPath", "origin.example", "/v1/site", "http-only", false, "/x", "", "http://origin.example:80/v1/site/x"},
		{"encoding kept as sent", "origin.example", "/prod", "http-only", false, "/a%20b/c%2Fd", "", "http://origin.example:80/prod/a%20b/c%2Fd"},
		{"escapes kept beside a byte the request line cannot carry", "origin.example", "", "http-only", false, "/a%2Fb/{x}|y", "", "http://origin.example:80/a%2Fb/%7Bx%7D%7Cy"},
		{"raw UTF-8 is escaped, %2F kept", "origin.example", "", "http-only", false, "/caf\xc3\xa9%2F", "", "http://origin.example:80/caf%C3%A9%2F"},
		{"query kept", "origin.example", "", "http-only", false, "/s", "q=a%20b&x", "http://origin.example:80/s?q=a%20b&x"},
		{"port in domainName", "origin.example:8080", "", "match-viewer", true, "/a", "", "https://origin.example:8080/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := customSpec(tt.domain)
			spec.OriginPath = tt.originPath
			spec.CustomOriginConfig.OriginProtocolPolicy = tt.policy
			c := newTestCustom(spec, nil)
			if got := c.target(&Request{Path: tt.path, RawQuery: tt.qs, ViewerHTTPS: tt.https}).String(); got != tt.want {
				t.Errorf("target = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestCustomRequest(t *testing.T) {
	o := newOrigins(t)
	domain := "127.0.0.1:" + strconv.Itoa(port(t, o.plain))
	tests := []struct {
		name   string
		spec   func(*schema.Origin)
		req    Request
		verify func(t *testing.T, s seen)
	}{
		{"originPath and encoded path reach the origin as sent",
			func(o *schema.Origin) { o.OriginPath = "/prod" },
			Request{Path: "/a%20b/c%2Fd.txt", RawQuery: "b=2&a=1"},
			func(t *testing.T, s seen) {
				if s.RequestURI != "/prod/a%20b/c%2Fd.txt?b=2&a=1" {
					t.Errorf("origin saw %q", s.RequestURI)
				}
			}},
		{"customHeaders are added and override the viewer's",
			func(o *schema.Origin) {
				o.CustomHeaders = []schema.CustomHeader{{HeaderName: "X-Origin-Secret", HeaderValue: "s3cr3t"}, {HeaderName: "x-extra", HeaderValue: "1"}}
			},
			Request{Path: "/", Header: http.Header{"X-Origin-Secret": {"forged"}, "Accept": {"*/*"}}},
			func(t *testing.T, s seen) {
				if got := s.Header.Values("X-Origin-Secret"); len(got) != 1 || got[0] != "s3cr3t" {
					t.Errorf("X-Origin-Secret %q, want [s3cr3t]", got)
				}
				if s.Header.Get("X-Extra") != "1" || s.Header.Get("Accept") != "*/*" {
					t.Errorf("headers %v", s.Header)
				}
			}},
		{"X-Forwarded-For is the peer's address",
			nil,
			Request{Path: "/", PeerIP: "198.51.100.2"},
			func(t *testing.T, s seen) {
				if got := s.Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "198.51.100.2" {
					t.Errorf("X-Forwarded-For %q", got)
				}
			}},
		{"X-Forwarded-For is appended to",
			nil,
			Request{Path: "/", PeerIP: "198.51.100.2", Header: http.Header{"X-Forwarded-For": {"203.0.113.1"}}},
			func(t *testing.T, s seen) {
				if got := s.Header.Values("X-Forwarded-For"); len(got) != 1 || got[0] != "203.0.113.1, 198.51.100.2" {
					t.Errorf("X-Forwarded-For %q", got)
				}
			}},
		{"X-Forwarded-For in several lines is kept whole",
			nil,
			Request{Path: "/", PeerIP: "198.51.100.2", Header: http.Header{"X-Forwarded-For": {"203.0.113.1", "203.0.113.5"}}},
			func(t *testing.T, s seen) {
				if got := strings.Join(s.Header.Values("X-Forwarded-For"), ", "); got != "203.0.113.1, 203.0.113.5, 198.51.100.2" {
					t.Errorf("X-Forwarded-For %q", got)
				}
			}},
		{"Host is the domainName",
			nil,
			Request{Path: "/", ViewerHost: "www.example.com"},
			func(t *testing.T, s seen) {
				if s.Host != domain {
					t.Errorf("Host %q, want %q", s.Host, domain)
				}
			}},
		{"Host is the viewer's when forwarded",
			nil,
			Request{Path: "/", ViewerHost: "www.example.com", ForwardHost: true},
			func(t *testing.T, s seen) {
				if s.Host != "www.example.com" {
					t.Errorf("Host %q, want www.example.com", s.Host)
				}
			}},
		{"a body reaches the origin",
			nil,
			Request{Method: http.MethodPost, Path: "/", Body: strings.NewReader("payload")},
			func(t *testing.T, s seen) {
				if s.Method != "POST" || s.Body != "payload" {
					t.Errorf("origin saw %s with body %q", s.Method, s.Body)
				}
			}},
		{"the request's header is not changed",
			func(o *schema.Origin) {
				o.CustomHeaders = []schema.CustomHeader{{HeaderName: "X-Added", HeaderValue: "1"}}
			},
			Request{Path: "/", PeerIP: "198.51.100.2", Header: http.Header{"Accept": {"*/*"}}},
			nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := customSpec(domain)
			if tt.spec != nil {
				tt.spec(spec)
			}
			c := newTestCustom(spec, nil)
			req := tt.req
			if req.Header == nil {
				req.Header = http.Header{}
			}
			before := req.Header.Clone()
			resp, s := fetchSeen(t, c, &req)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if tt.verify != nil {
				tt.verify(t, s)
			}
			if len(req.Header) != len(before) || req.Header.Get("X-Forwarded-For") != before.Get("X-Forwarded-For") || req.Header.Get("X-Added") != "" {
				t.Errorf("Fetch changed the request's header: %v, was %v", req.Header, before)
			}
		})
	}
}

func TestCustomRedirectIsPassedBack(t *testing.T) {
	o := newOrigins(t)
	c := newTestCustom(customSpec("127.0.0.1:"+strconv.Itoa(port(t, o.plain))), nil)
	resp, err := c.Fetch(context.Background(), &Request{Method: http.MethodGet, Path: "/redirect", Header: http.Header{}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/elsewhere" {
		t.Errorf("status %d Location %q, want 302 /elsewhere", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// closedPort is a port on 127.0.0.1 nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return p
}

// hangUp accepts connections and closes them at once: the dial succeeds,
// the request fails.
func hangUp(t *testing.T) (addr string, accepted *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = new(atomic.Int32)
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			conn.Close()
		}
	}()
	return ln.Addr().String(), accepted
}

func TestCustomConnectionAttempts(t *testing.T) {
	o := newOrigins(t)
	hung, accepted := hangUp(t)
	refused := "127.0.0.1:" + strconv.Itoa(closedPort(t))
	up := "127.0.0.1:" + strconv.Itoa(port(t, o.plain))
	tests := []struct {
		name      string
		domain    string
		attempts  int
		method    string
		body      io.Reader
		path      string
		wantDials int32
		wantErr   bool
		status    int
	}{
		{"refused is tried connectionAttempts times", refused, 3, "GET", nil, "/", 3, true, 0},
		{"one attempt", refused, 1, "GET", nil, "/", 1, true, 0},
		{"two attempts", refused, 2, "HEAD", nil, "/", 2, true, 0},
		// Its connection was never made: nothing of it was sent
		// (RequestAndResponseBehaviorS3Origin.md: "For all requests").
		{"a request with a body is tried connectionAttempts times too", refused, 3, "POST", strings.NewReader("x"), "/", 3, true, 0},
		{"a connection closed after connecting is not retried", hung, 3, "GET", nil, "/", 1, true, 0},
		{"nor one with a body", hung, 3, "POST", strings.NewReader("x"), "/", 1, true, 0},
		{"an error status is not retried", up, 3, "GET", nil, "/unavailable", 1, false, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec := customSpec(tt.domain)
			spec.ConnectionAttempts = tt.attempts
			c := newTestCustom(spec, nil)
			tr := c.http.Transport.(*http.Transport)
			dial := tr.DialContext
			var dials atomic.Int32
			tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return dial(ctx, network, addr)
			}
			before := accepted.Load()
			resp, err := c.Fetch(context.Background(), &Request{Method: tt.method, Path: tt.path, Header: http.Header{}, Body: tt.body})
			if resp != nil {
				resp.Body.Close()
			}
			if got := dials.Load(); got != tt.wantDials {
				t.Errorf("%d dials, want %d", got, tt.wantDials)
			}
			if tt.domain == hung {
				if got := accepted.Load() - before; got != 1 {
					t.Errorf("origin accepted %d connections, want 1", got)
				}
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				var oe *Error
				if !errors.As(err, &oe) || oe.Origin != "app" || oe.Timeout {
					t.Errorf("err %#v, want an *origin.Error for app, not a timeout", err)
				}
				return
			}
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

func TestCustomReadTimeout(t *testing.T) {
	o := newOrigins(t)
	spec := customSpec("127.0.0.1:" + strconv.Itoa(port(t, o.plain)))
	spec.CustomOriginConfig.OriginReadTimeout = 1
	spec.ConnectionAttempts = 1 // a GET is tried again after a timeout: TestCustomResponseTimeout
	c := newTestCustom(spec, nil)
	start := time.Now()
	resp, err := c.Fetch(context.Background(), &Request{Method: http.MethodGet, Path: "/slow", Header: http.Header{}})
	elapsed := time.Since(start)
	if resp != nil {
		resp.Body.Close()
	}
	var oe *Error
	if !errors.As(err, &oe) || !oe.Timeout {
		t.Fatalf("err %v, want an origin timeout", err)
	}
	if elapsed < 900*time.Millisecond || elapsed > 1400*time.Millisecond {
		t.Errorf("timed out after %v, want about 1s", elapsed)
	}
}

func TestCustomContextCanceled(t *testing.T) {
	o := newOrigins(t)
	c := newTestCustom(customSpec("127.0.0.1:"+strconv.Itoa(port(t, o.plain))), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Fetch(ctx, &Request{Method: http.MethodGet, Path: "/slow", Header: http.Header{}})
	if err == nil || time.Since(start) > time.Second {
		t.Errorf("err %v after %v; want an error soon after the viewer goes away", err, time.Since(start))
	}
}

// TestCustomBodyAfterFailedConnection: a request whose first connection
// failed reaches the origin on the next with its whole body, of known
// length or streamed.
func TestCustomBodyAfterFailedConnection(t *testing.T) {
	o := newOrigins(t)
	for _, tt := range []struct {
		name   string
		body   io.Reader
		length int64
	}{
		{"known length", strings.NewReader("payload"), 7},
		{"streamed", io.MultiReader(strings.NewReader("pay"), strings.NewReader("load")), -1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			spec := customSpec("127.0.0.1:" + strconv.Itoa(port(t, o.plain)))
			c := newTestCustom(spec, nil)
			tr := c.http.Transport.(*http.Transport)
			dial := tr.DialContext
			var dials atomic.Int32
			tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				if dials.Add(1) == 1 {
					return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
				}
				return dial(ctx, network, addr)
			}
			resp, s := fetchSeen(t, c, &Request{Method: http.MethodPost, Path: "/", Body: tt.body, ContentLength: tt.length})
			if resp.StatusCode != 200 || s.Body != "payload" || dials.Load() != 2 {
				t.Errorf("status %d, origin got body %q after %d dials; want 200, %q after 2", resp.StatusCode, s.Body, dials.Load(), "payload")
			}
		})
	}
}
