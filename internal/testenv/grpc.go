package testenv

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// GRPCOrigin is a gRPC server (grpc-go's own transport, over TLS) with
// grpc_testing's TestService: the four kinds of call CloudFront proxies.
type GRPCOrigin struct {
	testpb.UnimplementedTestServiceServer
	Calls atomic.Int32 // unary calls served
	// FirstSeen is closed by the test once the viewer has the first
	// message of a server stream: the origin sends the second only then.
	FirstSeen chan struct{}
	Addr      string // host:port on 127.0.0.1
	stop      func()
}

// StartGRPCOrigin serves a GRPCOrigin over TLS with certs on 127.0.0.1,
// until the test ends.
func StartGRPCOrigin(t testing.TB, certs []tls.Certificate) *GRPCOrigin {
	t.Helper()
	o := &GRPCOrigin{FirstSeen: make(chan struct{})}
	gs := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{Certificates: certs})))
	testpb.RegisterTestServiceServer(gs, o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go gs.Serve(ln)
	t.Cleanup(gs.Stop)
	o.Addr, o.stop = ln.Addr().String(), gs.Stop
	return o
}

// Stop stops the server, closing its listener and connections.
func (o *GRPCOrigin) Stop() { o.stop() }

func (o *GRPCOrigin) UnaryCall(ctx context.Context, req *testpb.SimpleRequest) (*testpb.SimpleResponse, error) {
	o.Calls.Add(1)
	md, _ := metadata.FromIncomingContext(ctx)
	if s := req.GetResponseStatus(); s != nil {
		return nil, status.Error(codes.Code(s.Code), s.Message)
	}
	// What the origin saw comes back as header and trailer metadata.
	grpc.SetHeader(ctx, metadata.Pairs("seen-tenant", First(md["x-tenant"]), "seen-authorization", First(md["authorization"]),
		"seen-te", First(md["te"]), "seen-via", First(md["via"]), "seen-waf-verdict", First(md["x-amzn-waf-verdict"]),
		"seen-origin-secret", First(md["x-origin-secret"]), "seen-viewer-address", First(md["cloudfront-viewer-address"])))
	grpc.SetTrailer(ctx, metadata.Pairs("calls", fmt.Sprint(o.Calls.Load())))
	return &testpb.SimpleResponse{Payload: req.GetPayload(), Username: First(md[":authority"])}, nil
}

func (o *GRPCOrigin) StreamingOutputCall(req *testpb.StreamingOutputCallRequest, s grpc.ServerStreamingServer[testpb.StreamingOutputCallResponse]) error {
	for i, p := range req.GetResponseParameters() {
		if i == 1 {
			select {
			case <-o.FirstSeen:
			case <-s.Context().Done():
				return s.Context().Err()
			}
		}
		if err := s.Send(&testpb.StreamingOutputCallResponse{Payload: &testpb.Payload{Body: make([]byte, p.GetSize())}}); err != nil {
			return err
		}
	}
	return nil
}

func (o *GRPCOrigin) StreamingInputCall(s grpc.ClientStreamingServer[testpb.StreamingInputCallRequest, testpb.StreamingInputCallResponse]) error {
	var total int32
	for {
		req, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return s.SendAndClose(&testpb.StreamingInputCallResponse{AggregatedPayloadSize: total})
		}
		if err != nil {
			return err
		}
		total += int32(len(req.GetPayload().GetBody()))
	}
}

func (o *GRPCOrigin) FullDuplexCall(s grpc.BidiStreamingServer[testpb.StreamingOutputCallRequest, testpb.StreamingOutputCallResponse]) error {
	for {
		req, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(&testpb.StreamingOutputCallResponse{Payload: req.GetPayload()}); err != nil {
			return err
		}
	}
}

// First is vs[0], or "" (a metadata value).
func First(vs []string) string {
	if len(vs) == 0 {
		return ""
	}
	return vs[0]
}
