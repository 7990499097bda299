package access

import (
	"errors"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"openfront.dev/compiler"
	"openfront.dev/compiler/table"
)

// TestTable runs a compiled config: CheckGeo fails closed without a
// database, and a country whitelist lets in what it names.
func TestTable(t *testing.T) {
	res, err := compiler.New("testdata/config").Compile()
	if err != nil {
		t.Fatal(err)
	}
	tb := res.Table

	err = CheckGeo(tb, nil)
	if !errors.Is(err, ErrNoGeoDB) || !strings.Contains(err.Error(), `"eu"`) || !strings.Contains(err.Error(), "--geoip-db") {
		t.Fatalf("CheckGeo without a database: %v", err)
	}
	path := filepath.Join(t.TempDir(), "country.mmdb")
	writeGeoDB(t, path, geoRecords)
	db, err := OpenGeoDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckGeo(tb, db); err != nil {
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
