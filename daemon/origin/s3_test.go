package origin

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/testenv"
	"openfront.dev/schema"
)

// newTestS3 is an S3 origin on an S3-compatible endpoint, bucket "media".
func newTestS3(t *testing.T, endpoint string, sign bool, tweak func(*schema.Origin)) *s3 {
	t.Helper()
	spec := &schema.Origin{ID: "bucket", DomainName: "127.0.0.1", ConnectionAttempts: 3, ConnectionTimeout: 10,
		S3OriginConfig: &schema.S3OriginConfig{}}
	if tweak != nil {
		tweak(spec)
	}
	s, err := newS3(&table.Origin{DistributionID: "d", ID: spec.ID, Kind: table.OriginS3, Spec: spec,
		S3: &table.S3Location{Bucket: "media", Region: "us-east-1", Endpoint: endpoint, PathStyle: true, SignRequests: sign}}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.close)
	return s
}

// TestS3ResponseTimeout: S3's response timeout (30 s, which cannot be
// changed) applies to the first byte, retried for GET and HEAD, and
// between bytes (RequestAndResponseBehaviorS3Origin.md).
func TestS3ResponseTimeout(t *testing.T) {
	const timeout = 150 * time.Millisecond
	srv, requests := stallingOrigin(t, 3*time.Second)
	for _, tt := range readTimeoutCases {
		if tt.method != http.MethodGet && tt.method != http.MethodHead {
			continue // an S3 origin answers other methods itself
		}
		t.Run(tt.name, func(t *testing.T) {
			s := newTestS3(t, srv.URL, false, func(o *schema.Origin) { o.ConnectionAttempts = tt.attempts })
			s.setReadTimeout(timeout)
			checkReadTimeout(t, s, requests, tt.method, tt.body, tt.path, tt.wantRequests, tt.wantErr, tt.wantBodyErr,
				time.Duration(tt.wantRequests)*timeout+time.Second)
		})
	}
}

// TestS3ConnectionAttempts: connectionAttempts and connectionTimeout apply
// to S3 origins too (high_availability_origin_failover.md, "Controlling
// origin timeouts and attempts"), the TLS handshake included.
func TestS3ConnectionAttempts(t *testing.T) {
	refused := "http://127.0.0.1:" + strconv.Itoa(closedPort(t))
	silent, err := net.Listen("tcp", "127.0.0.1:0") // accepts, never answers the TLS hello
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { silent.Close() })
	go func() {
		for {
			conn, err := silent.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { conn.Close() })
		}
	}()
	tests := []struct {
		name      string
		endpoint  string
		attempts  int
		wantDials int32
		limit     time.Duration
	}{
		{"refused is tried connectionAttempts times", refused, 3, 3, time.Second},
		{"one attempt", refused, 1, 1, time.Second},
		{"a TLS handshake that never ends times out after connectionTimeout", "https://" + silent.Addr().String(), 1, 1, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestS3(t, tt.endpoint, false, func(o *schema.Origin) {
				o.ConnectionAttempts, o.ConnectionTimeout = tt.attempts, 1
			})
			tr := s.http.Transport.(*http.Transport)
			dial := tr.DialContext
			var dials atomic.Int32
			tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
				dials.Add(1)
				return dial(ctx, network, addr)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			resp, err := s.Fetch(ctx, &Request{Method: http.MethodGet, Path: "/a.txt", Header: http.Header{}})
			if resp != nil {
				resp.Body.Close()
			}
			if err == nil {
				t.Fatal("Fetch succeeded")
			}
			if got := dials.Load(); got != tt.wantDials {
				t.Errorf("%d dials, want %d", got, tt.wantDials)
			}
			if d := time.Since(start); d > tt.limit {
				t.Errorf("failed after %v, want under %v", d, tt.limit)
			}
		})
	}
}

// TestS3CustomHeaders: "CloudFront supports custom headers for custom
// origins and Amazon S3 origins" (add-origin-custom-headers.md); signed,
// the bucket still accepts the request.
func TestS3CustomHeaders(t *testing.T) {
	headers := []schema.CustomHeader{{HeaderName: "X-Origin-Secret", HeaderValue: "s3cr3t"}, {HeaderName: "x-extra", HeaderValue: "1"}}
	withHeaders := func(o *schema.Origin) { o.CustomHeaders = headers }
	t.Run("they reach the bucket", func(t *testing.T) {
		var got http.Header
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			got = r.Header.Clone()
			json.NewEncoder(w).Encode(r.Header)
		}))
		t.Cleanup(srv.Close)
		s := newTestS3(t, srv.URL, false, withHeaders)
		resp, err := s.Fetch(context.Background(), &Request{Method: http.MethodGet, Path: "/a.txt",
			Header: http.Header{"X-Origin-Secret": {"forged"}}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if v := got.Values("X-Origin-Secret"); len(v) != 1 || v[0] != "s3cr3t" || got.Get("X-Extra") != "1" {
			t.Errorf("bucket saw %v", got)
		}
	})
	t.Run("signed", func(t *testing.T) {
		gw := startSignedS3(t)
		s := newTestS3(t, gw.Endpoint, true, withHeaders)
		fetchHello(t, s, &Request{Method: http.MethodGet, Path: "/a.txt", Header: http.Header{}})
	})
}

// startSignedS3 runs versitygw with media/a.txt ("hello\n") and gives
// this test its credentials, and no others.
func startSignedS3(t *testing.T) *testenv.S3 {
	t.Helper()
	return startSignedS3InRegion(t, "us-east-1")
}

// startSignedS3InRegion is startSignedS3 with the server in region.
func startSignedS3InRegion(t *testing.T, region string) *testenv.S3 {
	t.Helper()
	gw := testenv.StartS3InRegion(t, region)
	gw.PutObject(t, "media", "a.txt", []byte("hello\n"))
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", gw.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", gw.SecretKey)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	return gw
}

// fetchHello fetches req, which must be answered with startSignedS3's
// object, and returns the answer's header.
func fetchHello(t *testing.T, s *s3, req *Request) http.Header {
	t.Helper()
	resp, err := s.Fetch(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "hello\n" {
		t.Errorf("status %d body %q", resp.StatusCode, b)
	}
	return resp.Header
}

// TestS3NodeHeaders: CloudFront tells an S3 origin what it tells a custom
// one, Via, X-Forwarded-For and its request id (X-Amz-Cf-Id), signed with
// the rest (RequestAndResponseBehaviorS3Origin.md, "Client IP addresses");
// the bucket, which checks the signature, still answers.
func TestS3NodeHeaders(t *testing.T) {
	gw := startSignedS3(t)
	target, err := url.Parse(gw.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var seen http.Header
	// A recorder in front of the bucket that changes nothing it signed
	// (Host, the headers), adding no X-Forwarded-For of its own.
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		mu.Lock()
		seen = pr.In.Header.Clone()
		mu.Unlock()
		pr.Out.URL.Scheme, pr.Out.URL.Host = target.Scheme, target.Host
		pr.Out.Host = pr.In.Host
		pr.Out.Header["X-Forwarded-For"] = pr.In.Header["X-Forwarded-For"] // Rewrite drops it
	}})
	t.Cleanup(proxy.Close)

	const via = "1.1 edge-1 (openfront)"
	tests := []struct {
		name    string
		header  http.Header
		peer    string
		want    http.Header // values the bucket must see
		without []string    // fields it must not see
	}{
		{"signed",
			http.Header{"Via": {via}, "X-Openfront-Id": {"abc=="}, "User-Agent": {"openfront"}}, "192.0.2.2",
			http.Header{"Via": {via}, "X-Openfront-Id": {"abc=="}, "X-Forwarded-For": {"192.0.2.2"}, "User-Agent": {"openfront"}}, nil},
		{"a forwarded X-Forwarded-For is appended to",
			http.Header{"Via": {"1.1 proxy, " + via}, "X-Openfront-Id": {"def"}, "X-Forwarded-For": {"198.51.100.7", "203.0.113.9"}}, "192.0.2.2",
			http.Header{"Via": {"1.1 proxy, " + via}, "X-Forwarded-For": {"198.51.100.7, 203.0.113.9, 192.0.2.2"}}, nil},
		{"an IPv6 peer",
			http.Header{"Via": {via}, "X-Openfront-Id": {"ghi"}}, "2001:db8::1",
			http.Header{"Via": {via}, "X-Openfront-Id": {"ghi"}, "X-Forwarded-For": {"2001:db8::1"}}, nil},
		{"other viewer fields stay with the edge",
			http.Header{"Via": {via}, "X-Openfront-Id": {"jkl"}, "Cookie": {"session=1"}, "Authorization": {"Bearer x"}}, "192.0.2.2",
			http.Header{"Via": {via}}, []string{"Cookie"}},
		{"CORS fields a behavior forwards go, signed",
			http.Header{"Via": {via}, "X-Openfront-Id": {"mno"}, "Origin": {"https://app.example"},
				"Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"x-app"}}, "192.0.2.2",
			http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"x-app"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestS3(t, proxy.URL, true, nil)
			fetchHello(t, s, &Request{Method: http.MethodGet, Path: "/a.txt", Header: tt.header, PeerIP: tt.peer})
			mu.Lock()
			got := seen
			mu.Unlock()
			for k, vs := range tt.want {
				if g := got.Values(k); !slices.Equal(g, vs) {
					t.Errorf("%s: bucket saw %q, want %q", k, g, vs)
				}
			}
			for _, k := range tt.without {
				if g := got.Values(k); len(g) > 0 {
					t.Errorf("%s: bucket saw %q, want none", k, g)
				}
			}
			a := got.Get("Authorization")
			if !strings.HasPrefix(a, "AWS4-HMAC-SHA256 ") {
				t.Errorf("Authorization %q, want the node's signature", a)
			}
			_, signed, _ := strings.Cut(a, "SignedHeaders=")
			signed, _, _ = strings.Cut(signed, ",")
			for h := range tt.want {
				// The signer leaves User-Agent out: proxies rewrite it.
				if h != "User-Agent" && !slices.Contains(strings.Split(signed, ";"), strings.ToLower(h)) {
					t.Errorf("%s not signed: Authorization %q", h, a)
				}
			}
		})
	}
}

// TestS3CORS: a bucket with a CORS configuration (set through the S3 API)
// answers the CORS fields a behavior forwards (Origin, and for a preflight
// Access-Control-Request-Method and -Headers), as CloudFront's CORS-S3Origin
// policy has it: Access-Control-Allow-* for an allowed Origin, on a GET and
// on an OPTIONS preflight; a refused preflight is the bucket's 403.
func TestS3CORS(t *testing.T) {
	gw := startSignedS3(t)
	gw.PutBucketCors(t, "media", s3types.CORSRule{
		AllowedOrigins: []string{"https://a.example", "https://b.example"},
		AllowedMethods: []string{"GET", "HEAD"},
		AllowedHeaders: []string{"x-app"},
		MaxAgeSeconds:  aws.Int32(600),
	})
	s := newTestS3(t, gw.Endpoint, true, nil)
	tests := []struct {
		name, method string
		header       http.Header
		status       int
		allowOrigin  string
		allowHeaders string
	}{
		{"GET from an allowed origin", http.MethodGet, http.Header{"Origin": {"https://a.example"}}, 200, "https://a.example", ""},
		{"GET from another allowed origin", http.MethodGet, http.Header{"Origin": {"https://b.example"}}, 200, "https://b.example", ""},
		{"GET from a stranger", http.MethodGet, http.Header{"Origin": {"https://c.example"}}, 200, "", ""},
		{"preflight", http.MethodOptions, http.Header{"Origin": {"https://b.example"},
			"Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"x-app"}}, 200, "https://b.example", "x-app"},
		{"preflight for a method the bucket refuses", http.MethodOptions, http.Header{"Origin": {"https://a.example"},
			"Access-Control-Request-Method": {"PUT"}}, 403, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := s.Fetch(context.Background(), &Request{Method: tt.method, Path: "/a.txt", Header: tt.header})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if g := resp.Header.Get("Access-Control-Allow-Origin"); g != tt.allowOrigin {
				t.Errorf("Access-Control-Allow-Origin %q, want %q", g, tt.allowOrigin)
			}
			if g := resp.Header.Get("Access-Control-Allow-Headers"); !strings.EqualFold(g, tt.allowHeaders) {
				t.Errorf("Access-Control-Allow-Headers %q, want %q", g, tt.allowHeaders)
			}
			if tt.allowOrigin != "" && !strings.Contains(resp.Header.Get("Vary"), "Origin") {
				t.Errorf("Vary %q: a cache must keep the answer per Origin", resp.Header.Get("Vary"))
			}
			if tt.method == http.MethodGet && tt.status == 200 && string(b) != "hello\n" {
				t.Errorf("body %q", b)
			}
		})
	}
}

// TestS3OddKeys: keys with bytes that SigV4's canonical URI encodes
// (space, +, unicode, sub-delims, a literal %) are fetched signed from a
// server that checks the signature, as the viewer wrote them.
func TestS3OddKeys(t *testing.T) {
	gw := startSignedS3(t)
	tests := []struct{ name, key, path string }{
		{"space", "a b.txt", "/a%20b.txt"},
		{"plus is a plus", "a+b.txt", "/a+b.txt"},
		{"encoded plus", "c+d.txt", "/c%2Bd.txt"},
		{"unicode", "café/日本.txt", "/caf%C3%A9/%E6%97%A5%E6%9C%AC.txt"},
		{"sub-delims", "x!$&'()*,;=:@.txt", "/x!$&'()*,;=:@.txt"},
		{"a literal percent", "100%.txt", "/100%25.txt"},
		{"tilde", "~u/a.txt", "/~u/a.txt"},
		{"brackets", "[x].txt", "/%5Bx%5D.txt"},
	}
	for _, tt := range tests {
		gw.PutObject(t, "media", tt.key, []byte("hello\n"))
	}
	s := newTestS3(t, gw.Endpoint, true, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fetchHello(t, s, &Request{Method: http.MethodGet, Path: tt.path, Header: http.Header{}})
		})
	}
}

// TestS3ObjectURL: an AWS bucket is addressed virtual-hosted, except one
// whose name has a dot, which over HTTPS goes path-style (as the AWS
// SDKs do): S3's certificate, *.s3.REGION.amazonaws.com, covers one
// label, so "assets.example.com.s3..." failed every TLS handshake.
func TestS3ObjectURL(t *testing.T) {
	tests := []struct {
		name, domainName string
		config           schema.S3OriginConfig
		path, want       string
	}{
		{"virtual-hosted", "assets.s3.eu-west-1.amazonaws.com", schema.S3OriginConfig{},
			"/a%20b.txt", "https://assets.s3.eu-west-1.amazonaws.com/a%20b.txt"},
		{"a dotted bucket goes path-style", "assets.example.com.s3.eu-west-1.amazonaws.com", schema.S3OriginConfig{},
			"/a.txt", "https://s3.eu-west-1.amazonaws.com/assets.example.com/a.txt"},
		{"an endpoint is path-style", "127.0.0.1", schema.S3OriginConfig{Endpoint: "http://127.0.0.1:9000", Bucket: "media", Region: "us-east-1"},
			"/caf%C3%A9.txt", "http://127.0.0.1:9000/media/caf%C3%A9.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := table.ParseS3Location(tt.domainName, tt.config)
			if err != nil {
				t.Fatal(err)
			}
			s := &s3{origin: &table.Origin{ID: "bucket", Spec: &schema.Origin{}}, loc: &loc}
			u, err := s.objectURL(loc.Endpoint, tt.path)
			if err != nil {
				t.Fatal(err)
			}
			if got := u.String(); got != tt.want {
				t.Errorf("URL %s, want %s", got, tt.want)
			}
		})
	}
}

// TestS3Writes: PUT, POST, PATCH and DELETE go to the bucket, signed with
// their body (CloudFront "forwards GET, HEAD, OPTIONS, PUT, PATCH, POST,
// and DELETE requests" to "your Amazon S3 bucket or your custom origin",
// API_AllowedMethods): an object put through the origin is then read and
// deleted through it, on keys SigV4 encodes too.
func TestS3Writes(t *testing.T) {
	gw := startSignedS3(t)
	s := newTestS3(t, gw.Endpoint, true, nil)
	fetch := func(t *testing.T, method, path, body string, header http.Header) (*http.Response, string) {
		t.Helper()
		req := &Request{Method: method, Path: path, Header: header}
		if body != "" {
			req.Body, req.ContentLength = strings.NewReader(body), int64(len(body))
		}
		if req.Header == nil {
			req.Header = http.Header{}
		}
		resp, err := s.Fetch(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	for _, path := range []string{"/up/new.txt", "/up/caf%C3%A9%20a+b.txt"} {
		t.Run(path, func(t *testing.T) {
			resp, body := fetch(t, http.MethodPut, path, "uploaded\n", http.Header{"Content-Type": {"text/x-test"}, "Cookie": {"a=b"}})
			if resp.StatusCode != 200 {
				t.Fatalf("PUT: status %d: %s", resp.StatusCode, body)
			}
			resp, body = fetch(t, http.MethodGet, path, "", nil)
			if resp.StatusCode != 200 || body != "uploaded\n" || resp.Header.Get("Content-Type") != "text/x-test" {
				t.Fatalf("GET after PUT: status %d, Content-Type %q, body %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
			if resp, body = fetch(t, http.MethodDelete, path, "", nil); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("DELETE: status %d: %s", resp.StatusCode, body)
			}
			if resp, _ = fetch(t, http.MethodGet, path, "", nil); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("GET after DELETE: status %d, want 404", resp.StatusCode)
			}
		})
	}
	t.Run("an empty PUT", func(t *testing.T) {
		if resp, body := fetch(t, http.MethodPut, "/up/empty", "", nil); resp.StatusCode != 200 {
			t.Fatalf("PUT: status %d: %s", resp.StatusCode, body)
		}
	})
	t.Run("POST and PATCH are the bucket's to answer", func(t *testing.T) {
		for _, m := range []string{http.MethodPost, http.MethodPatch} {
			resp, body := fetch(t, m, "/a.txt", "x", nil)
			if resp.StatusCode == http.StatusForbidden || resp.StatusCode < 400 || !strings.Contains(body, "<Error>") {
				t.Errorf("%s: status %d body %q, want the bucket's own refusal", m, resp.StatusCode, body)
			}
		}
	})
	t.Run("methods CloudFront does not forward", func(t *testing.T) {
		resp, _ := fetch(t, "TRACE", "/a.txt", "", nil)
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("TRACE: status %d, want 405", resp.StatusCode)
		}
	})
}

// TestS3Query: the query a behavior forwards reaches the bucket, signed
// ("You can configure whether CloudFront forwards query string parameters
// to your Amazon S3 origin", RequestAndResponseBehaviorS3Origin.md): S3
// acts on its own parameters (response-content-type) and ignores others,
// whatever their encoding.
func TestS3Query(t *testing.T) {
	gw := startSignedS3(t)
	s := newTestS3(t, gw.Endpoint, true, nil)
	tests := []struct {
		name, query string
		contentType string // "" for whatever the bucket stores
	}{
		{"S3's response overrides", "response-content-type=text%2Fx-over&response-cache-control=no-store", "text/x-over"},
		{"odd encodings", "x=a+b&y=%20&z=%2F&w=caf%C3%A9&flag&x=2", ""},
		{"no query", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := fetchHello(t, s, &Request{Method: http.MethodGet, Path: "/a.txt", RawQuery: tt.query, Header: http.Header{}})
			if tt.contentType != "" && hdr.Get("Content-Type") != tt.contentType {
				t.Errorf("Content-Type %q, want %q", hdr.Get("Content-Type"), tt.contentType)
			}
		})
	}
}

// TestS3BucketRegion: a bucket in another region than the one the origin
// names (BUCKET.s3.amazonaws.com, which CloudFront takes for a bucket in
// any region, says us-east-1) is still fetched: S3 names its region when
// it refuses the signature, and the origin signs for that one from then on.
func TestS3BucketRegion(t *testing.T) {
	gw := startSignedS3InRegion(t, "eu-west-1")
	var seen atomic.Int32
	target, err := url.Parse(gw.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	// Counts the requests that reach the bucket.
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		seen.Add(1)
		pr.Out.URL.Scheme, pr.Out.URL.Host = target.Scheme, target.Host
		pr.Out.Host = pr.In.Host
	}})
	t.Cleanup(proxy.Close)
	s := newTestS3(t, proxy.URL, true, nil) // signs for us-east-1
	// A write first: its body is not sent twice, and its viewer is told
	// to send it again, not that the node's credentials are refused.
	resp, err := s.Fetch(context.Background(), &Request{Method: http.MethodPut, Path: "/first.txt", Header: http.Header{},
		Body: strings.NewReader("f"), ContentLength: 1})
	if err != nil {
		t.Fatalf("the first write, signed for the wrong region: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("the first write, signed for the wrong region: %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	seen.Store(0)
	s = newTestS3(t, proxy.URL, true, nil) // again from us-east-1
	var logged strings.Builder
	s.log = slog.New(slog.NewTextHandler(&logged, nil)) // the node's logger, not slog's default
	fetchHello(t, s, &Request{Method: http.MethodGet, Path: "/a.txt", Header: http.Header{}})
	if !strings.Contains(logged.String(), "another region") || !strings.Contains(logged.String(), "region=eu-west-1") {
		t.Errorf("the region found is not logged to the origin's logger: %q", logged.String())
	}
	if n := seen.Load(); n != 2 {
		t.Errorf("%d requests for the first fetch, want 2 (refused, then signed for eu-west-1)", n)
	}
	fetchHello(t, s, &Request{Method: http.MethodGet, Path: "/a.txt", Header: http.Header{}})
	if n := seen.Load(); n != 3 {
		t.Errorf("%d requests after the second fetch, want 3: the region is kept", n)
	}
	resp, err = s.Fetch(context.Background(), &Request{Method: http.MethodPut, Path: "/b.txt", Header: http.Header{},
		Body: strings.NewReader("b"), ContentLength: 1})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("PUT: status %d", resp.StatusCode)
	}
	// A DELETE with a body reader of unknown length (HTTP/3 gives every
	// request one) has no body: it is sent again in the right region.
	seen.Store(0)
	s = newTestS3(t, proxy.URL, true, nil)
	resp, err = s.Fetch(context.Background(), &Request{Method: http.MethodDelete, Path: "/b.txt", Header: http.Header{},
		Body: strings.NewReader(""), ContentLength: -1})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || seen.Load() != 2 {
		t.Errorf("DELETE: status %d after %d requests, want 204 after 2", resp.StatusCode, seen.Load())
	}
}

// TestS3BucketOperations: the node's credentials read and write objects
// for viewers, never the bucket itself: a request for the bucket's root
// (a listing, CreateBucket, DeleteBucket) or naming one of S3's
// subresources (?acl, ?policy, ?tagging...) gets S3's 403 AccessDenied, as
// through an origin access control granted s3:GetObject (and PutObject,
// DeleteObject); the bucket, which would allow them, never sees them.
func TestS3BucketOperations(t *testing.T) {
	gw := startSignedS3(t)
	s := newTestS3(t, gw.Endpoint, true, nil)
	tests := []struct {
		name, method, path, query string
		status                    int
	}{
		{"the bucket's listing", http.MethodGet, "/", "", 403},
		{"a listing by query", http.MethodGet, "/", "list-type=2&prefix=a", 403},
		{"HEAD of the bucket", http.MethodHead, "/", "", 403},
		{"DELETE of the bucket", http.MethodDelete, "/", "", 403},
		{"PUT of the bucket", http.MethodPut, "/", "", 403},
		{"an object's ACL", http.MethodGet, "/a.txt", "acl", 403},
		{"an object's tags", http.MethodGet, "/a.txt", "tagging", 403},
		{"tagging an object", http.MethodPut, "/a.txt", "tagging", 403},
		{"the bucket's policy", http.MethodGet, "/", "policy", 403},
		{"an object's attributes", http.MethodGet, "/a.txt", "attributes", 403},
		// Removes a version for good (s3:DeleteObjectVersion).
		{"DELETE of a version", http.MethodDelete, "/a.txt", "versionId=abc", 403},
		{"an object", http.MethodGet, "/a.txt", "", 200},
		{"an object with S3's own parameters", http.MethodGet, "/a.txt", "response-content-type=text%2Fplain&response-cache-control=no-cache", 200},
		{"an object with the site's parameters", http.MethodGet, "/a.txt", "v=3&utm_source=x", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := s.Fetch(context.Background(), &Request{Method: tt.method, Path: tt.path, RawQuery: tt.query, Header: http.Header{}})
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, b)
			}
			if tt.status == 403 && tt.method != http.MethodHead && !strings.Contains(string(b), "<Code>AccessDenied</Code>") {
				t.Errorf("body %q, want S3's AccessDenied", b)
			}
		})
	}
	t.Run("unsigned requests are the bucket's to answer", func(t *testing.T) {
		var reached atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { reached.Add(1) }))
		t.Cleanup(srv.Close)
		s := newTestS3(t, srv.URL, false, nil)
		for _, q := range []string{"", "acl"} {
			resp, err := s.Fetch(context.Background(), &Request{Method: http.MethodGet, Path: "/", RawQuery: q, Header: http.Header{}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		if n := reached.Load(); n != 2 {
			t.Errorf("the bucket got %d requests, want 2", n)
		}
	})
}
