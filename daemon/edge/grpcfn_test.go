package edge

import (
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"openfront.dev/internal/testenv"
)

// grpcFunctions are a viewer-request function that admits a call with
// the API key k1 only, sets its X-Tenant and sends it where its X-Route
// says, and a viewer-response function that marks the answer.
const grpcFunctions = `functions: {
	gate: functionCode: """
		import cf from 'cloudfront';
		function handler(event) {
			var req = event.request;
			var key = req.headers['x-api-key'];
			if (!key || key.value !== 'k1') {
				return {statusCode: 403, statusDescription: 'Forbidden'};
			}
			req.headers['x-tenant'] = {value: 'from-function'};
			var route = req.headers['x-route'];
			if (route && route.value === 'group') {
				cf.createRequestOriginGroup({originIds: [{originId: 'api'}, {originId: 'bucket'}], failoverCriteria: {statusCodes: [500]}});
			}
			if (route && route.value === 'bucket') {
				cf.selectRequestOriginById('bucket');
			}
			return req;
		}
		"""
	mark: functionCode: """
		function handler(event) {
			event.response.headers['x-marked'] = {value: 'yes'};
			return event.response;
		}
		"""
}`

// TestGRPCFunctions: "CloudFront gRPC supports CloudFront Functions"
// (distribution-using-grpc.md). A viewer-request function that guards a
// gRPC behavior runs on its calls: a call it refuses never reaches the
// origin, and the headers it sets are the call's metadata there; the
// viewer-response function sees the call's answer. A call it sends to a
// group goes to the primary alone, as any POST; one it sends to an S3
// origin fails UNAVAILABLE, naming the origin.
func TestGRPCFunctions(t *testing.T) {
	e := newGRPCEnvFor(t, grpcSetup{top: grpcFunctions, origins: `{id: "bucket", domainName: "bucket.s3.us-east-1.amazonaws.com", s3OriginConfig: {}}`,
		behavior: `grpcConfig: enabled: true
		functionAssociations: [{eventType: "viewer-request", functionName: "gate"}, {eventType: "viewer-response", functionName: "mark"}]`})
	_, err := e.client.UnaryCall(callContext(t), &testpb.SimpleRequest{})
	if status.Code(err) != codes.PermissionDenied {
		t.Errorf("a call without the key: %v, want PermissionDenied (the function's 403)", err)
	}
	if n := e.origin.Calls.Load(); n != 0 {
		t.Fatalf("the origin served %d calls the function refused", n)
	}
	ctx := metadata.AppendToOutgoingContext(callContext(t), "x-api-key", "k1", "x-tenant", "forged")
	var header metadata.MD
	if _, err := e.client.UnaryCall(ctx, &testpb.SimpleRequest{}, grpc.Header(&header)); err != nil {
		t.Fatalf("a call with the key: %v", err)
	}
	if got := testenv.First(header["seen-tenant"]); got != "from-function" {
		t.Errorf("the origin saw X-Tenant %q, want the function's", got)
	}
	if got := testenv.First(header["x-marked"]); got != "yes" {
		t.Errorf("X-Marked %q, want the viewer-response function's yes", got)
	}
	ctx = metadata.AppendToOutgoingContext(callContext(t), "x-api-key", "k1", "x-route", "group")
	if _, err := e.client.UnaryCall(ctx, &testpb.SimpleRequest{}); err != nil {
		t.Errorf("a call sent to a group: %v", err)
	}
	ctx = metadata.AppendToOutgoingContext(callContext(t), "x-api-key", "k1", "x-route", "bucket")
	_, err = e.client.UnaryCall(ctx, &testpb.SimpleRequest{})
	if s := status.Convert(err); s.Code() != codes.Unavailable || !strings.Contains(s.Message(), `"bucket"`) {
		t.Errorf("a call sent to an S3 origin: %v, want Unavailable naming it", err)
	}
	if n := e.origin.Calls.Load(); n != 2 {
		t.Errorf("the origin served %d calls, want 2", n)
	}
}

// TestGRPCViewerResponseFails: a viewer-response function that fails on
// a gRPC call's answer gives the client a gRPC answer, as the edge's
// other failures of a call do: UNAVAILABLE with the reason in
// grpc-message, not an HTTP 503 page the client reports as an
// unexpected status and content type.
func TestGRPCViewerResponseFails(t *testing.T) {
	e := newGRPCEnvFor(t, grpcSetup{top: `functions: broken: functionCode: """
		function handler(event) { throw new Error('boom'); }
		"""`,
		behavior: `grpcConfig: enabled: true
		functionAssociations: [{eventType: "viewer-response", functionName: "broken"}]`})
	_, err := e.client.UnaryCall(callContext(t), &testpb.SimpleRequest{})
	if s := status.Convert(err); s.Code() != codes.Unavailable || !strings.HasPrefix(s.Message(), "The function broken failed") {
		t.Errorf("%v, want Unavailable naming the function", err)
	}
}
