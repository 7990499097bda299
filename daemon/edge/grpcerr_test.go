package edge

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/cloudfront/sign"
	"github.com/maxmind/mmdbwriter/mmdbtype"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/access"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/internal/testenv"
)

// The edge's own failures of a gRPC call are gRPC answers ("Trailers-Only":
// HTTP 200, grpc-status, grpc-message), so a client has the code and the
// reason, not "unexpected HTTP status code".

// grpcLogging turns on the distribution's access log (observeGRPC).
const grpcLogging = `logging: enabled: true`

// observeGRPC makes h count requests and log those of tb into logDir.
func observeGRPC(t testing.TB, h *Handler, tb *table.Table, logDir string) *accesslog.Manager {
	t.Helper()
	if err := h.Register(prometheus.NewRegistry()); err != nil {
		t.Fatal(err)
	}
	return logInto(t, h, tb, accesslog.Options{Dir: logDir, NodeName: "EDGE1", Registerer: prometheus.NewRegistry()})
}

// checkGRPCRefusal checks the access log line and the request metric of
// the one gRPC call the edge refused, with final result type result:
// sc-status is the HTTP status sent (200), the result type says it failed.
func checkGRPCRefusal(t *testing.T, h *Handler, logs *accesslog.Manager, logDir, result, detail string) {
	t.Helper()
	if err := logs.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	var refused []map[string]string
	for _, l := range readLogLines(t, logDir) {
		if l["x-edge-result-type"] == result {
			refused = append(refused, l)
		}
	}
	if len(refused) != 1 {
		t.Fatalf("%d log lines with result %s, want 1", len(refused), result)
	}
	l := refused[0]
	for field, want := range map[string]string{"sc-status": "200", "cs-method": "POST", "sc-content-type": "application/grpc",
		"x-edge-response-result-type": result, "x-edge-detailed-result-type": detail, "cs-protocol-version": "HTTP/2.0"} {
		if l[field] != want {
			t.Errorf("log %s %q, want %q", field, l[field], want)
		}
	}
	if n := testutil.ToFloat64(h.metrics.requests.WithLabelValues("g", "2xx", result, "http2")); n != 1 {
		t.Errorf("requests{status_class=2xx, result=%s, protocol=http2} = %v, want 1", result, n)
	}
}

// An origin that is down: UNAVAILABLE, naming the origin; logged as the
// Error it is.
func TestGRPCOriginDown(t *testing.T) {
	var logs *accesslog.Manager
	logDir := t.TempDir()
	e := newGRPCEnvFor(t, grpcSetup{behavior: `grpcConfig: enabled: true`, distribution: grpcLogging,
		before: func(h *Handler, _ string, tb *table.Table) { logs = observeGRPC(t, h, tb, logDir) }})
	e.stopOrigin()
	var trailer metadata.MD
	_, err := e.client.UnaryCall(callContext(t), &testpb.SimpleRequest{}, grpc.Trailer(&trailer))
	if s := status.Convert(err); s.Code() != codes.Unavailable || !strings.Contains(s.Message(), `could not connect to the origin "api"`) {
		t.Errorf("status %v %q, want Unavailable naming the origin", s.Code(), s.Message())
	}
	// The request id, as on every answer, to find the log line by: in
	// the one HEADERS frame, which clients read as trailers.
	if testenv.First(trailer["x-openfront-id"]) == "" || testenv.First(trailer["x-cache"]) != cacheError {
		t.Errorf("trailer metadata %v, want the request id and X-Cache %q", trailer, cacheError)
	}
	checkGRPCRefusal(t, e.edge, logs, logDir, accesslog.Error, accesslog.OriginConnectError)
}

// A geo restriction refuses a call PERMISSION_DENIED with its reason,
// without the distribution's custom error page for 403, which is no gRPC
// answer.
func TestGRPCGeoDenied(t *testing.T) {
	e := newGRPCEnvFor(t, grpcSetup{behavior: `grpcConfig: enabled: true`,
		distribution: `restrictions: geoRestriction: {restrictionType: "whitelist", items: ["FR"]}
	cacheBehaviors: [{pathPattern: "/errors/*", targetOriginId: "pages", viewerProtocolPolicy: "allow-all"}]
	customErrorResponses: [{errorCode: 403, responsePagePath: "/errors/403.html", responseCode: 403}]`,
		origins: `{id: "pages", localOriginConfig: path: "pages"}`,
		files:   map[string]string{"pages/errors/403.html": "<h1>Not here</h1>\n"},
		before: func(h *Handler, dir string, _ *table.Table) {
			geoPath := filepath.Join(dir, "geo.mmdb")
			testenv.WriteGeoDB(t, geoPath, map[string]mmdbtype.Map{"81.0.0.0/8": testenv.Country("FR"), "85.0.0.0/8": testenv.Country("DE")})
			geo, err := access.OpenGeoDB(geoPath)
			if err != nil {
				t.Fatal(err)
			}
			h.SetViewerIdentity([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, geo)
		}})
	from := func(ip string) error {
		ctx := metadata.AppendToOutgoingContext(callContext(t), "x-forwarded-for", ip)
		_, err := e.client.UnaryCall(ctx, &testpb.SimpleRequest{})
		return err
	}
	if err := from("81.1.2.3"); err != nil {
		t.Fatalf("a call from France: %v", err)
	}
	s := status.Convert(from("85.1.2.3"))
	if s.Code() != codes.PermissionDenied || !strings.Contains(s.Message(), "DE") {
		t.Errorf("a call from Germany: %v %q, want PermissionDenied naming the country", s.Code(), s.Message())
	}
}

// A signed behavior refuses a call without a valid signature
// UNAUTHENTICATED (no credentials it can check), and one whose valid
// signature does not cover it PERMISSION_DENIED, each with its reason.
func TestGRPCSignatureDenied(t *testing.T) {
	key, pub := signingKey(t)
	e := newGRPCEnvFor(t, grpcSetup{top: fmt.Sprintf(`keyGroups: signers: publicKeys: [{id: "K1", encodedKey: %q}]`, pub),
		behavior: `grpcConfig: enabled: true, trustedKeyGroups: ["signers"]`})
	call := func(resource string) error {
		ctx := callContext(t)
		if resource != "" {
			cookies, err := sign.NewCookieSigner("K1", key).Sign(resource, time.Now().Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			var pairs []string
			for _, c := range cookies {
				pairs = append(pairs, c.Name+"="+c.Value)
			}
			ctx = metadata.AppendToOutgoingContext(ctx, "cookie", strings.Join(pairs, "; "))
		}
		_, err := e.client.UnaryCall(ctx, &testpb.SimpleRequest{})
		return err
	}
	if err := call("https://example.com/grpc.testing.TestService/*"); err != nil {
		t.Fatalf("a signed call: %v", err)
	}
	for _, c := range []struct {
		name, resource string
		code           codes.Code
		reason         string
	}{
		{"unsigned", "", codes.Unauthenticated, "Key-Pair-Id"},
		{"signed for another service", "https://example.com/other.Service/*", codes.PermissionDenied, "Resource mismatch"},
	} {
		if s := status.Convert(call(c.resource)); s.Code() != c.code || !strings.Contains(s.Message(), c.reason) {
			t.Errorf("%s: %v %q, want %v saying %q", c.name, s.Code(), s.Message(), c.code, c.reason)
		}
	}
}

// A call to a host no distribution serves is refused before the edge
// knows of any grpcConfig: in plain HTTP, as any request.
func TestGRPCUnknownHostIsHTTP(t *testing.T) {
	e := newGRPCEnv(t, `grpcConfig: enabled: true`)
	conn, err := grpc.NewClient(e.addr, grpc.WithAuthority("nobody.test"),
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{ServerName: "nobody.test", InsecureSkipVerify: true})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_, err = testpb.NewTestServiceClient(conn).UnaryCall(callContext(t), &testpb.SimpleRequest{})
	if s := status.Convert(err); s.Code() != codes.PermissionDenied || !strings.Contains(s.Message(), "403") || !strings.Contains(s.Message(), "No distribution") {
		t.Errorf("%v %q, want the HTTP 403 page, read as PermissionDenied", s.Code(), s.Message())
	}
}

func TestGRPCMessageEncoding(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, (punctuation) ok": "plain text, (punctuation) ok",
		"100% sure":                    "100%25 sure",
		"café\n":                       "caf%C3%A9%0A",
	} {
		if got := grpcMessage(in); got != want {
			t.Errorf("grpcMessage(%q) = %q, want %q", in, got, want)
		}
	}
}
