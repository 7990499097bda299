package signedurl_test

import (
	"testing"

	"openfront.dev/compiler"
	"openfront.dev/internal/signedurl"
)

// TestTable runs a compiled config, outside the package, which the
// compiler imports for route tests: VerifyBehavior finds the key through
// the behavior's trustedKeyGroups.
func TestTable(t *testing.T) {
	res, err := compiler.New("testdata/config").Compile()
	if err != nil {
		t.Fatal(err)
	}
	tb := res.Table
	v := signedurl.NewVerifier(16)

	req := signedurl.JSCase(t, "js canned url")
	_, b := tb.Route(req.Host, req.RawPath)
	if b.Name() != "/private/*" {
		t.Fatalf("behavior %s", b.Name())
	}
	if d := v.VerifyBehavior(req, tb, b); !d.Allowed {
		t.Fatalf("%+v", d)
	}
	req.RawQuery += "&x=1"
	if d := v.VerifyBehavior(req, tb, b); d.Code != signedurl.CodeBadSignature {
		t.Fatalf("%+v", d)
	}
	_, pub := tb.Route("cdn.example.com", "/public")
	if d := v.VerifyBehavior(signedurl.RequestFor(t, "https://cdn.example.com/public"), tb, pub); !d.Allowed {
		t.Fatalf("public behavior: %+v", d)
	}
}
