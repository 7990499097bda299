package access

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"openfront.dev/compiler"
	"openfront.dev/compiler/table"
	"openfront.dev/internal/testenv/geodb"
)

// TestTable runs a compiled config: CheckDatabases fails closed without a
// database, and a country whitelist lets in what it names.
func TestTable(t *testing.T) {
	res, err := compiler.New("testdata/config").Compile()
	if err != nil {
		t.Fatal(err)
	}
	tb := res.Table

	err = CheckDatabases(tb, nil, nil)
	if !errors.Is(err, ErrNoGeoDB) || !strings.Contains(err.Error(), `"eu"`) || !strings.Contains(err.Error(), "--geoip-db") {
		t.Fatalf("CheckDatabases without a database: %v", err)
	}
	path := filepath.Join(t.TempDir(), "country.mmdb")
	writeGeoDB(t, path, geoRecords)
	db, err := OpenGeoDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckDatabases(tb, db, nil); err != nil {
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

// A web ACL's rule on a country or an ASN, the viewer's or a forwarded
// address's, needs the database that answers it, as a geo restriction
// does: without one it would never match, and the node refuses the table.
func TestCheckDatabasesWebACL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "country.mmdb")
	writeGeoDB(t, path, geoRecords)
	db, err := OpenGeoDB(path)
	if err != nil {
		t.Fatal(err)
	}
	asnPath := filepath.Join(t.TempDir(), "asn.mmdb")
	writeGeoDB(t, asnPath, map[string]mmdbtype.Map{"81.0.0.0/8": geodb.ASN(64496, "Example")})
	asnDB, err := OpenGeoDB(asnPath)
	if err != nil {
		t.Fatal(err)
	}
	cityPath := filepath.Join(t.TempDir(), "city-asn.mmdb")
	city := maxmindCountry("FR")
	city["traits"] = mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(64496)}
	writeGeoDB(t, cityPath, map[string]mmdbtype.Map{"81.0.0.0/8": city})
	cityDB, err := OpenGeoDB(cityPath)
	if err != nil {
		t.Fatal(err)
	}
	const forwarded = `, forwardedIPConfig: {headerName: "X-Forwarded-For", fallbackBehavior: "NO_MATCH"}`
	for _, c := range []struct {
		name, statement string
		geo, asn        *GeoDB
		want            string // in the error; "" none
	}{
		{"geo, no database", `geoMatchStatement: {countryCodes: ["KP"]}`, nil, nil, "--geoip-db"},
		{"geo, an ASN database only", `geoMatchStatement: {countryCodes: ["KP"]}`, nil, asnDB, "--geoip-db"},
		// GeoLite2-ASN given as --geoip-db: no address has a country, and
		// the rule would never match.
		{"geo, an ASN database as --geoip-db", `geoMatchStatement: {countryCodes: ["KP"]}`, asnDB, nil, "asn.mmdb holds no country"},
		{"forwarded geo, no database", `geoMatchStatement: {countryCodes: ["KP"]` + forwarded + `}`, nil, nil, "--geoip-db"},
		{"geo, a country database", `geoMatchStatement: {countryCodes: ["KP"]}`, db, nil, ""},
		{"asn, no database", `asnMatchStatement: {asnList: [64496]}`, nil, nil, "--asn-db"},
		{"forwarded asn, no database", `asnMatchStatement: {asnList: [64496]` + forwarded + `}`, nil, nil, "--asn-db"},
		{"asn, an ASN database", `asnMatchStatement: {asnList: [64496]}`, nil, asnDB, ""},
		{"asn, a geoip database with ASNs", `asnMatchStatement: {asnList: [64496]}`, cityDB, nil, ""},
		{"asn, a country database", `asnMatchStatement: {asnList: [64496]}`, db, nil, "country.mmdb holds no autonomous_system_number"},
		{"asn, a country database as --asn-db", `asnMatchStatement: {asnList: [64496]}`, db, db, "--asn-db"},
		{"asn, a country and an ASN database", `asnMatchStatement: {asnList: [64496]}`, db, asnDB, ""},
		{"asn, a geoip database with ASNs and a country database as --asn-db", `asnMatchStatement: {asnList: [64496]}`, cityDB, db, "--asn-db"},
		{"neither", `byteMatchStatement: {searchString: "/admin", fieldToMatch: uriPath: {}, positionalConstraint: "STARTS_WITH", textTransformations: [{priority: 0, type: "NONE"}]}`, nil, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := `package cdn

distributions: site: {
	aliases: ["site.example.com"]
	origins: [{id: "o", domainName: "origin.example.com", customOriginConfig: originProtocolPolicy: "https-only"}]
	defaultCacheBehavior: {targetOriginId: "o", viewerProtocolPolicy: "allow-all"}
	webACLId: "guard"
}
webACLs: guard: {
	defaultAction: allow: {}
	rules: [{name: "r", priority: 0, action: block: {}, statement: ` + c.statement + `}]
}
`
			if err := os.WriteFile(filepath.Join(dir, "cdn.cue"), []byte(cfg), 0o644); err != nil {
				t.Fatal(err)
			}
			res, err := compiler.New(dir).Compile()
			if err != nil {
				t.Fatal(err)
			}
			err = CheckDatabases(res.Table, c.geo, c.asn)
			switch {
			case c.want == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.want != "" && (!errors.Is(err, ErrNoGeoDB) || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"site"`)):
				t.Errorf("error %v, want one naming %q and the distribution", err, c.want)
			}
		})
	}
}

// TestCheckDatabasesNoCountry: a --geoip-db whose records hold no country
// (GeoLite2-ASN given by mistake) would let every viewer through a geo
// restriction, as an address of unknown country is served: the node
// refuses the table, as it does without a database, naming the file.
func TestCheckDatabasesNoCountry(t *testing.T) {
	res, err := compiler.New("testdata/config").Compile()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "GeoLite2-ASN.mmdb")
	writeGeoDB(t, path, map[string]mmdbtype.Map{"81.0.0.0/8": geodb.ASN(3215, "Orange"), "85.0.0.0/8": geodb.ASN(3320, "DTAG")})
	db, err := OpenGeoDB(path)
	if err != nil {
		t.Fatal(err)
	}
	if db.HoldsCountries() {
		t.Error("an ASN database holds countries")
	}
	err = CheckDatabases(res.Table, db, nil)
	if !errors.Is(err, ErrNoGeoDB) || !strings.Contains(err.Error(), `"eu"`) || !strings.Contains(err.Error(), "GeoLite2-ASN.mmdb holds no country") {
		t.Fatalf("CheckDatabases with an ASN database as --geoip-db: %v", err)
	}
}
