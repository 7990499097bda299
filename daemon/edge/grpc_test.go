package edge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// grpcEnv is an edge over TLS with HTTP/2 (an httptest server), whose
// distribution example.com proxies gRPC to a grpcOrigin, and a client.
type grpcEnv struct {
	edge       *Handler
	origin     *testenv.GRPCOrigin
	client     testpb.TestServiceClient
	stopOrigin func()
	originAddr string
	roots      *x509.CertPool
	addr       string // the edge's
}

func newGRPCEnv(t testing.TB, behavior string) *grpcEnv {
	t.Helper()
	return newGRPCEnvFor(t, grpcSetup{behavior: behavior})
}

// grpcSetup is what a grpcEnv adds to its config and its edge.
type grpcSetup struct {
	top, distribution, behavior string            // CUE at the top level, in the distribution, in its default behavior
	origins                     string            // origins after "api"
	api                         string            // more fields of the origin "api"
	files                       map[string]string // written in the config directory first, by path
	// before runs on the edge and the table before the table is set:
	// logs and metrics are set up there.
	before func(h *Handler, dir string, tb *table.Table)
}

func newGRPCEnvFor(t testing.TB, s grpcSetup) *grpcEnv {
	t.Helper()
	edgeSrv := httptest.NewUnstartedServer(nil)
	edgeSrv.EnableHTTP2 = true
	edgeSrv.StartTLS()
	t.Cleanup(edgeSrv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(edgeSrv.Certificate())

	// The origin has the same certificate (for 127.0.0.1), which the
	// edge trusts as an origin behind a private CA.
	o := testenv.StartGRPCOrigin(t, edgeSrv.TLS.Certificates)

	dir := t.TempDir()
	for name, content := range s.files {
		os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755)
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	}
	pool := origin.NewPool(dir)
	pool.TrustRoots(roots)
	h := New(pool, "edgetest", slog.New(slog.NewTextHandler(io.Discard, nil)))
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

%s
distributions: g: {
	aliases: ["example.com"]
	origins: [{id: "api", domainName: %q, customOriginConfig: originProtocolPolicy: "https-only", %s}, %s]
	defaultCacheBehavior: {targetOriginId: "api", viewerProtocolPolicy: "https-only",
		allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
		%s}
	%s
}
`, s.top, o.Addr, s.api, s.origins, s.behavior, s.distribution))
	if s.before != nil {
		s.before(h, dir, tb)
	}
	h.SetTable(tb)
	edgeSrv.Config.Handler = h

	conn, err := grpc.NewClient(edgeSrv.Listener.Addr().String(), grpc.WithAuthority("example.com"),
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: roots, ServerName: "example.com"})))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &grpcEnv{edge: h, origin: o, client: testpb.NewTestServiceClient(conn), stopOrigin: o.Stop, originAddr: o.Addr, roots: roots, addr: edgeSrv.Listener.Addr().String()}
}

func callContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestGRPCUnary(t *testing.T) {
	e := newGRPCEnv(t, `grpcConfig: enabled: true`)
	for i := 1; i <= 2; i++ {
		ctx := metadata.AppendToOutgoingContext(callContext(t), "x-tenant", "acme", "authorization", "Bearer t0ken")
		var header, trailer metadata.MD
		resp, err := e.client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("ping")}},
			grpc.Header(&header), grpc.Trailer(&trailer))
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		if string(resp.GetPayload().GetBody()) != "ping" {
			t.Errorf("call %d: payload %q, want the echo of ping", i, resp.GetPayload().GetBody())
		}
		// Call metadata reaches the origin, with the node's Via.
		for k, want := range map[string]string{"seen-tenant": "acme", "seen-authorization": "Bearer t0ken"} {
			if got := testenv.First(header[k]); got != want {
				t.Errorf("call %d: origin saw %s %q, want %q", i, k, got, want)
			}
		}
		if testenv.First(header["seen-via"]) == "" {
			t.Errorf("call %d: the origin saw no Via", i)
		}
		// Trailers come back, and no call is answered from the cache.
		if got := testenv.First(trailer["calls"]); got != fmt.Sprint(i) {
			t.Errorf("call %d: trailer calls = %q, want %d (each call reaches the origin)", i, got, i)
		}
		if got := testenv.First(header["x-cache"]); got != cacheMiss {
			t.Errorf("call %d: X-Cache %q, want %q", i, got, cacheMiss)
		}
	}
}

// A web ACL's inserted headers reach a call's origin as any request's,
// in place of the viewer's own.
func TestGRPCWebACLInsertsHeaders(t *testing.T) {
	e := newGRPCEnvFor(t, grpcSetup{behavior: `grpcConfig: enabled: true`, distribution: `webACLId: "tagging"`,
		top: `webACLs: tagging: defaultAction: allow: customRequestHandling: insertHeaders: [{name: "verdict", value: "allowed"}]`})
	ctx := metadata.AppendToOutgoingContext(callContext(t), "x-amzn-waf-verdict", "forged")
	var header metadata.MD
	if _, err := e.client.UnaryCall(ctx, &testpb.SimpleRequest{}, grpc.Header(&header)); err != nil {
		t.Fatal(err)
	}
	if got := testenv.First(header["seen-waf-verdict"]); got != "allowed" {
		t.Errorf("the origin saw X-Amzn-Waf-Verdict %q, want the web ACL's %q", got, "allowed")
	}
}

// TestGRPCOriginHeaders: the headers CloudFront adds to a call reach its
// origin as any request's ("You can use an origin request policy to add
// custom headers to the gRPC requests that are sent to your gRPC
// origin", distribution-using-grpc.md): the origin's customHeaders, and
// the CloudFront-* headers its origin request policy names, set by the
// node whatever the viewer sent.
func TestGRPCOriginHeaders(t *testing.T) {
	e := newGRPCEnvFor(t, grpcSetup{
		behavior: `grpcConfig: enabled: true, cachePolicy: "CachingDisabled", originRequestPolicy: "viewer-address"`,
		top:      `originRequestPolicies: "viewer-address": headersConfig: {headerBehavior: "whitelist", headers: ["CloudFront-Viewer-Address"]}`,
		api:      `customHeaders: [{headerName: "X-Origin-Secret", headerValue: "s3cret"}]`,
	})
	ctx := metadata.AppendToOutgoingContext(callContext(t), "cloudfront-viewer-address", "203.0.113.9:1")
	var header metadata.MD
	if _, err := e.client.UnaryCall(ctx, &testpb.SimpleRequest{}, grpc.Header(&header)); err != nil {
		t.Fatal(err)
	}
	if got := testenv.First(header["seen-origin-secret"]); got != "s3cret" {
		t.Errorf("the origin saw X-Origin-Secret %q, want its customHeaders' %q", got, "s3cret")
	}
	if got := testenv.First(header["seen-viewer-address"]); !strings.HasPrefix(got, "127.0.0.1:") {
		t.Errorf("the origin saw CloudFront-Viewer-Address %q, want the node's (127.0.0.1:port)", got)
	}
}

func TestGRPCStatus(t *testing.T) {
	e := newGRPCEnv(t, `grpcConfig: enabled: true`)
	_, err := e.client.UnaryCall(callContext(t), &testpb.SimpleRequest{ResponseStatus: &testpb.EchoStatus{Code: int32(codes.NotFound), Message: "no such key: k1"}})
	if s := status.Convert(err); s.Code() != codes.NotFound || s.Message() != "no such key: k1" {
		t.Errorf("status %v %q, want NotFound with the origin's message", s.Code(), s.Message())
	}
}

func TestGRPCStreams(t *testing.T) {
	e := newGRPCEnv(t, `grpcConfig: enabled: true`)
	t.Run("server streaming, each message as it comes", func(t *testing.T) {
		sizes := []int32{10, 2000, 70000}
		var params []*testpb.ResponseParameters
		for _, n := range sizes {
			params = append(params, &testpb.ResponseParameters{Size: n})
		}
		s, err := e.client.StreamingOutputCall(callContext(t), &testpb.StreamingOutputCallRequest{ResponseParameters: params})
		if err != nil {
			t.Fatal(err)
		}
		for i, n := range sizes {
			// The origin holds the second message until the viewer has
			// the first: a buffered relay would wait here for ever.
			m, err := s.Recv()
			if err != nil {
				t.Fatalf("message %d: %v", i, err)
			}
			if len(m.GetPayload().GetBody()) != int(n) {
				t.Errorf("message %d: %d bytes, want %d", i, len(m.GetPayload().GetBody()), n)
			}
			if i == 0 {
				close(e.origin.FirstSeen)
			}
		}
		if _, err := s.Recv(); !errors.Is(err, io.EOF) {
			t.Errorf("after the last message: %v, want the end of the stream", err)
		}
	})
	t.Run("client streaming", func(t *testing.T) {
		s, err := e.client.StreamingInputCall(callContext(t))
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{1, 100, 40000, 3} {
			if err := s.Send(&testpb.StreamingInputCallRequest{Payload: &testpb.Payload{Body: make([]byte, n)}}); err != nil {
				t.Fatal(err)
			}
		}
		resp, err := s.CloseAndRecv()
		if err != nil || resp.GetAggregatedPayloadSize() != 40104 {
			t.Errorf("aggregated %d, %v; want 40104", resp.GetAggregatedPayloadSize(), err)
		}
	})
	t.Run("bidirectional, one answer per message", func(t *testing.T) {
		echoStream(t, e, "one", "two", "three")
	})
}

// echoStream sends msgs on a bidirectional call of e, one at a time, each
// answered by its echo before the next goes, and ends the call.
func echoStream(t *testing.T, e *grpcEnv, msgs ...string) {
	t.Helper()
	s, err := e.client.FullDuplexCall(callContext(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, msg := range msgs {
		if err := s.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(msg)}}); err != nil {
			t.Fatal(err)
		}
		m, err := s.Recv()
		if err != nil || string(m.GetPayload().GetBody()) != msg {
			t.Fatalf("sent %q, got %q, %v", msg, m.GetPayload().GetBody(), err)
		}
	}
	s.CloseSend()
	if _, err := s.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("after CloseSend: %v, want the end of the stream", err)
	}
}

// Without grpcConfig a gRPC call is a plain POST, sent to the origin over
// HTTP/1.1 as any other: it does not work, as on CloudFront.
func TestGRPCNeedsConfig(t *testing.T) {
	e := newGRPCEnv(t, ``)
	_, err := e.client.UnaryCall(callContext(t), &testpb.SimpleRequest{})
	if err == nil {
		t.Fatal("a gRPC call went through a behavior without grpcConfig")
	}
	if n := e.origin.Calls.Load(); n != 0 {
		t.Errorf("the origin served %d calls", n)
	}
}

// A call the node sheds at --max-origin-requests fails UNAVAILABLE, the
// code a client may retry on, saying why; the call in flight goes on.
// The log and the metrics have it as CapacityExceeded.
func TestGRPCShed(t *testing.T) {
	var logs *accesslog.Manager
	logDir := t.TempDir()
	e := newGRPCEnvFor(t, grpcSetup{behavior: `grpcConfig: enabled: true`, distribution: grpcLogging,
		before: func(h *Handler, _ string, tb *table.Table) { logs = observeGRPC(t, h, tb, logDir) }})
	e.edge.SetMaxOriginRequests(1)
	// A bidirectional stream holds the one origin request until it ends.
	s, err := e.client.FullDuplexCall(callContext(t))
	if err != nil {
		t.Fatal(err)
	}
	echo := func(what string) {
		t.Helper()
		if err := s.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte(what)}}); err != nil {
			t.Fatal(err)
		}
		if m, err := s.Recv(); err != nil || string(m.GetPayload().GetBody()) != what {
			t.Fatalf("the stream's echo of %s: %q, %v", what, m.GetPayload().GetBody(), err)
		}
	}
	echo("one")
	var trailer metadata.MD
	_, err = e.client.UnaryCall(callContext(t), &testpb.SimpleRequest{}, grpc.Trailer(&trailer))
	if st := status.Convert(err); st.Code() != codes.Unavailable || !strings.Contains(st.Message(), "at capacity") {
		t.Errorf("a call at capacity: %v %q, want Unavailable saying the node is at capacity", st.Code(), st.Message())
	}
	// A client with a retry policy waits as long as Retry-After says.
	if got := testenv.First(trailer["grpc-retry-pushback-ms"]); got != "5000" {
		t.Errorf("grpc-retry-pushback-ms %q, want 5000", got)
	}
	echo("two")
	s.CloseSend()
	if _, err := s.Recv(); err != io.EOF {
		t.Fatalf("the stream's end: %v", err)
	}
	// Its slot is given back once the stream is over.
	if _, err := e.client.UnaryCall(callContext(t), &testpb.SimpleRequest{}); err != nil {
		t.Errorf("a call once the stream ended: %v", err)
	}
	if n := e.origin.Calls.Load(); n != 1 {
		t.Errorf("the origin served %d unary calls, want 1 (the shed one never reached it)", n)
	}
	checkGRPCRefusal(t, e.edge, logs, logDir, accesslog.CapacityExceeded, accesslog.CapacityExceeded)
}

func TestIsGRPC(t *testing.T) {
	for _, tt := range []struct {
		proto      int
		method, ct string
		want       bool
	}{
		{2, "POST", "application/grpc", true},
		{2, "POST", "application/grpc+proto", true},
		{2, "POST", "Application/GRPC+json", true},
		{2, "POST", "application/grpc;charset=utf-8", true},
		{2, "POST", "application/grpc-web", false},
		{2, "POST", "application/grpc-web+proto", false},
		{2, "POST", "application/json", false},
		{2, "GET", "application/grpc", false},
		{1, "POST", "application/grpc", false},
		{3, "POST", "application/grpc", false},
	} {
		r := &http.Request{ProtoMajor: tt.proto, Method: tt.method, Header: http.Header{"Content-Type": {tt.ct}}}
		if got := isGRPC(r); got != tt.want {
			t.Errorf("HTTP/%d %s %s: isGRPC = %v, want %v", tt.proto, tt.method, tt.ct, got, tt.want)
		}
	}
}

// BenchmarkGRPCUnary is a unary call through the edge against the same
// call made to the origin directly and through Go's own reverse proxy
// (httputil, HTTP/2 both ways, flushing each write): what the edge adds.
func BenchmarkGRPCUnary(b *testing.B) {
	e := newGRPCEnv(b, `grpcConfig: enabled: true`)
	direct, err := grpc.NewClient(e.originAddr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: e.roots, ServerName: "example.com"})))
	if err != nil {
		b.Fatal(err)
	}
	defer direct.Close()
	// The reference: Go's own reverse proxy, over HTTP/2 both ways.
	target, _ := url.Parse("https://" + e.originAddr)
	rp := httputil.NewSingleHostReverseProxy(target)
	var h2only http.Protocols
	h2only.SetHTTP2(true)
	rp.Transport = &http.Transport{Protocols: &h2only, TLSClientConfig: &tls.Config{RootCAs: e.roots, ServerName: "example.com"}}
	rp.FlushInterval = -1
	bare := httptest.NewUnstartedServer(rp)
	bare.EnableHTTP2 = true
	bare.StartTLS()
	defer bare.Close()
	viaBare, err := grpc.NewClient(bare.Listener.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: e.roots, ServerName: "example.com"})))
	if err != nil {
		b.Fatal(err)
	}
	defer viaBare.Close()
	req := &testpb.SimpleRequest{Payload: &testpb.Payload{Body: make([]byte, 1024)}}
	for _, c := range []struct {
		name   string
		client testpb.TestServiceClient
	}{{"direct", testpb.NewTestServiceClient(direct)}, {"reverseproxy", testpb.NewTestServiceClient(viaBare)}, {"edge", e.client}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.client.UnaryCall(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestGRPCForwardedHost: a gRPC call's :authority reaches an origin that
// gets the viewer's Host as any request's does (originHost): the name
// routing matched, with the port only when it is the edge listener's.
func TestGRPCForwardedHost(t *testing.T) {
	e := newGRPCEnv(t, `grpcConfig: enabled: true, cachePolicy: "CachingDisabled", originRequestPolicy: "AllViewer"`)
	_, port, _ := net.SplitHostPort(e.addr)
	for authority, want := range map[string]string{
		"example.com":          "example.com",
		"Example.COM.:1337":    "example.com",
		"example.com:" + port:  "example.com:" + port,
		"EXAMPLE.com.:" + port: "example.com:" + port,
	} {
		// The TLS name is the authority's host, as a client sends it.
		conn, err := grpc.NewClient(e.addr, grpc.WithAuthority(authority),
			grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: e.roots})))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := testpb.NewTestServiceClient(conn).UnaryCall(callContext(t), &testpb.SimpleRequest{})
		conn.Close()
		if err != nil {
			t.Fatalf("%s: %v", authority, err)
		}
		if resp.GetUsername() != want {
			t.Errorf("authority %q: the origin saw %q, want %q", authority, resp.GetUsername(), want)
		}
	}
}
