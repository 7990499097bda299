package edge

import (
	"context"
	"testing"
	"time"

	testpb "google.golang.org/grpc/interop/grpc_testing"
)

// TestGRPCCancelFreesOrigin: a client that cancels a call midway ends
// the origin's stream too: the node's one origin slot is free again at
// once for the next call, for a server stream the origin holds open and
// for a bidirectional stream.
func TestGRPCCancelFreesOrigin(t *testing.T) {
	e := newGRPCEnv(t, `grpcConfig: enabled: true`)
	e.edge.SetMaxOriginRequests(1)
	free := func(what string) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, err := e.client.UnaryCall(callContext(t), &testpb.SimpleRequest{})
			if err == nil {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("after %s was cancelled, a call still fails: %v", what, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	ctx, cancel := context.WithCancel(callContext(t))
	s, err := e.client.StreamingOutputCall(ctx, &testpb.StreamingOutputCallRequest{ResponseParameters: []*testpb.ResponseParameters{{Size: 1}, {Size: 1}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel() // the origin holds the second message until FirstSeen, never closed
	free("a server stream")

	ctx, cancel = context.WithCancel(callContext(t))
	b, err := e.client.FullDuplexCall(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Send(&testpb.StreamingOutputCallRequest{Payload: &testpb.Payload{Body: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Recv(); err != nil {
		t.Fatal(err)
	}
	cancel()
	free("a bidirectional stream")
}
