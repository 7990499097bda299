package access_test

import (
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"openfront.dev/compiler"
	"openfront.dev/compiler/table"
	"openfront.dev/daemon/access"
	"openfront.dev/internal/testenv/geodb"
)

// TestTable runs a compiled config, outside the package, which the
// compiler imports for route tests: VerifyBehavior finds the key through
// the behavior's trustedKeyGroups, and CheckGeo fails closed.
func TestTable(t *testing.T) {
	res, err := compiler.New("testdata/config").Compile()
	if err != nil {
		t.Fatal(err)
	}
	tb := res.Table
	v := access.NewVerifier(16)

	req := access.JSCase(t, "js canned url")
	_, b := tb.Route(req.Host, req.RawPath)
	if b.Name() != "/private/*" {
		t.Fatalf("behavior %s", b.Name())
	}
	if d := v.VerifyBehavior(req, tb, b); !d.Allowed {
		t.Fatalf("%+v", d)
	}
	req.RawQuery += "&x=1"
	if d := v.VerifyBehavior(req, tb, b); d.Code != access.CodeBadSignature {
		t.Fatalf("%+v", d)
	}
	_, pub := tb.Route("cdn.example.com", "/public")
	if d := v.VerifyBehavior(access.RequestFor(t, "https://cdn.example.com/public"), tb, pub); !d.Allowed {
		t.Fatalf("public behavior: %+v", d)
	}

	err = access.CheckGeo(tb, nil)
	if !errors.Is(err, access.ErrNoGeoDB) || !strings.Contains(err.Error(), `"eu"`) || !strings.Contains(err.Error(), "--geoip-db") {
		t.Fatalf("CheckGeo without a database: %v", err)
	}
	path := filepath.Join(t.TempDir(), "country.mmdb")
	geodb.WriteGeoDB(t, path, access.GeoRecords)
	db, err := access.OpenGeoDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := access.CheckGeo(tb, db); err != nil {
		t.Fatal(err)
	}
	eu := tb.Distribution("eu")
	c, known := db.Lookup(netip.MustParseAddr("85.1.1.1"))
	if ok, _ := table.GeoAllowed(eu.Spec.Restrictions.GeoRestriction, c, known); !ok {
		t.Fatal("DE blocked by a whitelist of FR and DE")
	}
	c, known = db.Lookup(netip.MustParseAddr("203.0.113.9"))
	if ok, _ := table.GeoAllowed(eu.Spec.Restrictions.GeoRestriction, c, known); ok {
		t.Fatal("AU allowed by a whitelist of FR and DE")
	}
}
