package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"

	"openfront.dev/internal/testenv"
)

// gRPC through a whole node: its TLS listener and HTTP/2 server, the
// access log and the metrics wrapping the call, and an origin behind a
// private CA (--origin-ca).
func TestGRPCThroughNode(t *testing.T) {
	dir, certs := t.TempDir(), t.TempDir()
	viewerCA := writeCert(t, certs, "api", "api.test")
	cas := t.TempDir()
	writeCert(t, cas, "origin", "localhost")
	originCert, err := tls.LoadX509KeyPair(filepath.Join(cas, "origin.crt"), filepath.Join(cas, "origin.key"))
	if err != nil {
		t.Fatal(err)
	}
	o := testenv.StartGRPCOrigin(t, []tls.Certificate{originCert})
	_, port, _ := strings.Cut(o.Addr, ":")
	config := fmt.Sprintf(`package cdn

distributions: api: {
	aliases: ["api.test"]
	viewerCertificate: certificateName: "api"
	origins: [{id: "svc", domainName: "localhost:%s", customOriginConfig: originProtocolPolicy: "https-only"}]
	defaultCacheBehavior: {targetOriginId: "svc", viewerProtocolPolicy: "https-only", cachePolicy: "CachingDisabled",
		allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"], grpcConfig: enabled: true}
	logging: enabled: true
}
`, port)
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	logDir := filepath.Join(t.TempDir(), "logs")
	n, err := Start(Options{ConfigDir: dir, HTTPSAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0", CertsDir: certs,
		OriginCAFile: filepath.Join(cas, "origin.crt"), NodeName: nodeName, LogDir: logDir, DrainTimeout: time.Second, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	shutdown := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Shutdown(ctx)
	}
	t.Cleanup(shutdown)

	conn, err := grpc.NewClient(n.Addr("https").String(), grpc.WithAuthority("api.test"),
		grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: viewerCA, ServerName: "api.test"})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	client := testpb.NewTestServiceClient(conn)
	var trailer metadata.MD
	resp, err := client.UnaryCall(ctx, &testpb.SimpleRequest{Payload: &testpb.Payload{Body: []byte("ping")}}, grpc.Trailer(&trailer))
	if err != nil || string(resp.GetPayload().GetBody()) != "ping" || testenv.First(trailer["calls"]) != "1" {
		t.Fatalf("unary call: %v, payload %q, trailer %v", err, resp.GetPayload().GetBody(), trailer)
	}
	metrics := scrape(t, "http://"+n.Addr("admin").String()+"/metrics")
	if got := metrics[`openfront_requests_total{distribution="api",protocol="http2",result="Miss",status_class="2xx"}`]; got != 1 {
		t.Errorf("requests counted as an HTTP/2 2xx Miss: %v; series %q", got, seriesOf(metrics, "openfront_requests_total"))
	}

	shutdown() // flushes the log
	lines, _ := readWebLogs(t, logDir)
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want 1", len(lines))
	}
	l := lines[0]
	for f, want := range map[string]string{"cs-method": "POST", "cs-uri-stem": "/grpc.testing.TestService/UnaryCall", "sc-status": "200",
		"x-edge-result-type": "Miss", "cs-protocol-version": "HTTP/2.0", "sc-content-type": "application/grpc",
		"cs-protocol": "grpcs", // standard-logs-reference: http, https, grpcs, ws or wss
	} {
		if l[f] != want {
			t.Errorf("log %s = %q, want %q", f, l[f], want)
		}
	}
}
