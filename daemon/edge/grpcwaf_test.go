package edge

import (
	"testing"

	"google.golang.org/grpc/codes"
	testpb "google.golang.org/grpc/interop/grpc_testing"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// grpcBodyACL blocks a request whose body holds "forbidden", a rule
// CloudFront leaves out for gRPC, and one whose X-Evil header says yes.
const grpcBodyACL = `webACLs: guard: {
	defaultAction: allow: {}
	rules: [{
		name: "body", priority: 1, action: block: {}
		statement: byteMatchStatement: {fieldToMatch: body: oversizeHandling: "CONTINUE", positionalConstraint: "CONTAINS",
			searchString: "forbidden", textTransformations: [{priority: 0, type: "NONE"}]}
	}, {
		name: "evil", priority: 2, action: block: {}
		statement: byteMatchStatement: {fieldToMatch: singleHeader: name: "x-evil", positionalConstraint: "EXACTLY",
			searchString: "yes", textTransformations: [{priority: 0, type: "NONE"}]}
	}]
}`

// TestGRPCWebACLSkipsBody: "gRPC doesn't support AWS WAF request body
// inspection rules. If you enabled these rules on the web ACL for a
// distribution, any request that uses gRPC will ignore the request body
// inspection rules. All other AWS WAF rules will still apply"
// (distribution-using-grpc.md). A streaming call's body is its messages,
// sent as the call goes: the edge must not wait for 16 KB of them before
// it forwards the call, and a message the body rule would match passes.
// A rule on a header still blocks a call.
func TestGRPCWebACLSkipsBody(t *testing.T) {
	e := newGRPCEnvFor(t, grpcSetup{behavior: `grpcConfig: enabled: true`, distribution: `webACLId: "guard"`, top: grpcBodyACL})
	echoStream(t, e, "one", "forbidden")
	ctx := metadata.AppendToOutgoingContext(callContext(t), "x-evil", "yes")
	if _, err := e.client.UnaryCall(ctx, &testpb.SimpleRequest{}); status.Code(err) != codes.PermissionDenied {
		t.Errorf("a call the header rule blocks: %v, want PermissionDenied", err)
	}
	if n := e.origin.Calls.Load(); n != 0 {
		t.Errorf("the origin served %d unary calls, want 0", n)
	}
}
