package admin

import (
	"bufio"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestHostCheck: a browser that was made to resolve a name to the admin
// listener (DNS rebinding) sends that name as Host, and is refused what
// needs no secret; IP literals, localhost and the names the operator
// allows are answered, and the token-guarded API under any name.
func TestHostCheck(t *testing.T) {
	opts := Options{TokenFile: tokenFile(t, "s3cret"), Cache: &recorder{}, AllowedHosts: []string{"admin.internal", "Node1.Example.COM.", "node2.example.com:9090"}}
	srv := newTestServer(t, Handler("testnode", source{compileTable(t, testConfig)}, nil, prometheus.NewRegistry(), opts))
	tests := []struct {
		host, method, path string
		status             int
	}{
		{"127.0.0.1:9090", "GET", "/", 200},
		{"127.0.0.1", "GET", "/status", 200},
		{"10.1.2.3:9090", "GET", "/metrics", 200},
		{"[::1]:9090", "GET", "/status", 200},
		{"[::1]", "GET", "/status", 200},
		{"[fe80::1%25eth0]:9090", "GET", "/status", 200},
		{"localhost:9090", "GET", "/", 200},
		{"LOCALHOST.", "GET", "/status", 200},
		{"admin.localhost:9090", "GET", "/status", 200},
		{"admin.internal:9090", "GET", "/status", 200},
		{"node2.example.com", "GET", "/status", 200},
		{"ADMIN.internal.", "GET", "/metrics", 200},
		{"node1.example.com", "GET", "/status", 200},
		{"evil.example:9090", "GET", "/", 421},
		{"evil.example", "GET", "/status", 421},
		{"evil.example", "GET", "/status/traffic", 421},
		{"evil.example", "GET", "/metrics", 421},
		{"evil.example", "GET", "/healthz", 421},
		{"localhost.evil.example", "GET", "/status", 421},
		{"127.0.0.1.evil.example", "GET", "/status", 421},
		{"sub.admin.internal", "GET", "/status", 421},
		// The token-guarded API answers any name: a rebinding page has no token.
		{"ci.example", "GET", "/distributions/site/invalidations", 200},
		{"127.0.0.1", "POST", "/distributions/site/invalidations", 201},
		{"ci.example", "POST", "/distributions/site/invalidations", 201},
		{"ci.example", "POST", "/hooks/git", 404}, // no git source here; reached, not refused
	}
	for _, tt := range tests {
		t.Run(tt.host+" "+tt.method+" "+tt.path, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv+tt.path, strings.NewReader(`{"paths": ["/index.html"], "callerReference": "`+tt.host+`"}`))
			if err != nil {
				t.Fatal(err)
			}
			req.Host = tt.host
			req.Header.Set("Authorization", "Bearer s3cret")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status {
				t.Fatalf("%d %s, want %d", resp.StatusCode, b, tt.status)
			}
			if tt.status != 421 {
				return
			}
			if !strings.Contains(string(b), "--admin-host") {
				t.Errorf("%s: the refusal does not name --admin-host", b)
			}
		})
	}
	var list InvalidationList
	_, b := apiClient{t, srv, "s3cret"}.do("GET", "/distributions/site/invalidations", "")
	if err := json.Unmarshal(b, &list); err != nil || list.Quantity != 2 {
		t.Errorf("%s (%v), want the 2 invalidations posted", b, err)
	}
}

// TestHostlessRequest: an HTTP/1.0 client may send no Host; a browser
// always sends one, so its absence is no rebinding.
func TestHostlessRequest(t *testing.T) {
	srv := newTestServer(t, Handler("testnode", source{compileTable(t, testConfig)}, nil, prometheus.NewRegistry(), Options{}))
	c, err := net.Dial("tcp", strings.TrimPrefix(srv, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /healthz HTTP/1.0\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET /healthz without Host: %d, want 200", resp.StatusCode)
	}
}

// TestAPIMuxErrors: under /distributions the mux's own 404 and 405 are
// answered in the API's JSON, as its handlers' errors are; elsewhere they
// stay plain text.
func TestAPIMuxErrors(t *testing.T) {
	srv := newTestServer(t, Handler("testnode", source{compileTable(t, testConfig)}, nil, prometheus.NewRegistry(), Options{TokenFile: tokenFile(t, "s3cret")}))
	tests := []struct {
		method, path string
		status       int
		code, allow  string // code "": plain text
	}{
		{"GET", "/distributions", 404, "NotFound", ""},
		{"GET", "/distributions/", 404, "NotFound", ""},
		{"GET", "/distributions/site", 404, "NotFound", ""},
		{"GET", "/distributions/site/invalidations/I1/more", 404, "NotFound", ""},
		{"POST", "/distributions/site/nothing", 404, "NotFound", ""},
		{"DELETE", "/distributions/site/invalidations", 405, "MethodNotAllowed", "GET, HEAD, POST"},
		{"PUT", "/distributions/site/invalidations/I1", 405, "MethodNotAllowed", "GET, HEAD"},
		{"GET", "/nothing-here", 404, "", ""},
		{"POST", "/status", 405, "", "GET, HEAD"},
		{"GET", "/distributions/site/invalidations", 200, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			resp, b := apiClient{t, srv, "s3cret"}.do(tt.method, tt.path, "")
			if resp.StatusCode != tt.status || resp.Header.Get("Allow") != tt.allow {
				t.Fatalf("%d Allow %q %s, want %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"), b, tt.status, tt.allow)
			}
			if tt.status == 200 {
				return
			}
			var e APIError
			err := json.Unmarshal(b, &e)
			switch {
			case tt.code == "" && err == nil:
				t.Errorf("%s: JSON, want plain text", b)
			case tt.code != "" && (err != nil || e.Error.Code != tt.code || !strings.Contains(e.Error.Message, tt.path)):
				t.Errorf("%s %s: want JSON with code %s and a message naming %s", resp.Header.Get("Content-Type"), b, tt.code, tt.path)
			case tt.code != "" && resp.Header.Get("Content-Type") != "application/json":
				t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
			}
		})
	}
}

// newTestServer serves h on a loopback port it picks and returns its URL.
func newTestServer(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := Server(h, slog.New(slog.DiscardHandler))
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestNoCrossOriginPreflight: a page on another origin must send a
// preflight before a request with Authorization or a JSON body; nothing
// on the listener may grant one (a guard: none ever did).
func TestNoCrossOriginPreflight(t *testing.T) {
	srv, _ := startAdmin(t, Options{TokenFile: tokenFile(t, "s3cret")})
	for _, path := range []string{"/distributions/site/invalidations", "/distributions/site/invalidations/IX", "/status", "/metrics", "/hooks/git", "/"} {
		req, _ := http.NewRequest("OPTIONS", srv.URL+path, nil)
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for name := range resp.Header {
			if strings.HasPrefix(name, "Access-Control-") {
				t.Errorf("OPTIONS %s: %d with %s: %s", path, resp.StatusCode, name, resp.Header.Get(name))
			}
		}
		if resp.StatusCode < 400 {
			t.Errorf("OPTIONS %s: %d, want a refusal", path, resp.StatusCode)
		}
	}
}
