package access

import (
	"net/netip"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"openfront.dev/internal/testenv/geodb"
)

// annArbor is CloudFront's own example viewer (the July 2020 announcement
// of the location headers).
var annArbor = geodb.Place{Country: "US", CountryName: "United States", Region: "MI", RegionName: "Michigan",
	City: "Ann Arbor", Postal: "48105", TimeZone: "America/Detroit", Latitude: 42.3068, Longitude: -83.7059, MetroCode: 505}

// TestLocate: a City record gives every place field, the first-level
// subdivision's code without a country prefix; an ASN record its number;
// a Country record its country alone.
func TestLocate(t *testing.T) {
	dir := t.TempDir()
	zurich := geodb.Place{Country: "CH", CountryName: "Switzerland", Region: "CH-ZH", RegionName: "Zurich",
		City: "Zürich", Postal: "8000", TimeZone: "Europe/Zurich", Latitude: 47.3667, Longitude: 8.55, ASN: 3303}
	city := filepath.Join(dir, "city.mmdb")
	geodb.WriteGeoDB(t, city, map[string]mmdbtype.Map{
		"35.0.0.0/8":      annArbor.Record(),
		"81.0.0.0/8":      zurich.Record(),
		"85.0.0.0/8":      geodb.Place{Country: "DE", CountryName: "Germany"}.Record(), // country only
		"203.0.113.0/24":  {"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("AU")}},
		"198.51.100.0/24": geodb.Place{Country: "GQ", CountryName: "Equatorial Guinea", TimeZone: "Africa/Malabo"}.Record(), // at 0,0
	})
	asnPath := filepath.Join(dir, "asn.mmdb")
	geodb.WriteGeoDB(t, asnPath, map[string]mmdbtype.Map{"35.0.0.0/8": geodb.ASN(36375, "UMICH")})
	country := filepath.Join(dir, "country.mmdb")
	geodb.WriteGeoDB(t, country, map[string]mmdbtype.Map{"35.0.0.0/8": geodb.Country("US")})

	cases := []struct {
		db, addr string
		want     Location
		ok       bool
	}{
		{city, "35.1.2.3", Location{Country: "US", CountryName: "United States", Region: "MI", RegionName: "Michigan",
			City: "Ann Arbor", PostalCode: "48105", TimeZone: "America/Detroit", Latitude: 42.3068, Longitude: -83.7059,
			HasCoordinates: true, MetroCode: 505}, true},
		{city, "::ffff:35.1.2.3", Location{Country: "US", CountryName: "United States", Region: "MI", RegionName: "Michigan",
			City: "Ann Arbor", PostalCode: "48105", TimeZone: "America/Detroit", Latitude: 42.3068, Longitude: -83.7059,
			HasCoordinates: true, MetroCode: 505}, true},
		{city, "81.1.1.1", Location{Country: "CH", CountryName: "Switzerland", Region: "ZH", RegionName: "Zurich",
			City: "Zürich", PostalCode: "8000", TimeZone: "Europe/Zurich", Latitude: 47.3667, Longitude: 8.55,
			HasCoordinates: true, ASN: 3303}, true},
		{city, "85.1.1.1", Location{Country: "DE", CountryName: "Germany"}, true},
		{city, "203.0.113.7", Location{Country: "AU"}, true},
		{city, "198.51.100.1", Location{Country: "GQ", CountryName: "Equatorial Guinea", TimeZone: "Africa/Malabo", HasCoordinates: true}, true},
		{city, "192.0.2.1", Location{}, false},
		{asnPath, "35.1.2.3", Location{ASN: 36375}, true},
		{asnPath, "81.1.1.1", Location{}, false},
		// A Country database names the country, and says no more.
		{country, "35.1.2.3", Location{Country: "US", CountryName: "x"}, true},
	}
	dbs := map[string]*GeoDB{}
	for _, c := range cases {
		db := dbs[c.db]
		if db == nil {
			var err error
			if db, err = OpenGeoDB(c.db); err != nil {
				t.Fatal(err)
			}
			dbs[c.db] = db
		}
		got, ok := db.Locate(netip.MustParseAddr(c.addr))
		if got != c.want || ok != c.ok {
			t.Errorf("%s: Locate(%s) = %+v, %v;\nwant %+v, %v", filepath.Base(c.db), c.addr, got, ok, c.want, c.ok)
		}
		// Lookup agrees on the country.
		if cc, known := db.Lookup(netip.MustParseAddr(c.addr)); cc != c.want.Country || known != (c.want.Country != "") {
			t.Errorf("%s: Lookup(%s) = %q, %v; Locate's country %q", filepath.Base(c.db), c.addr, cc, known, c.want.Country)
		}
	}
	var none *GeoDB
	if _, ok := none.Locate(netip.MustParseAddr("35.1.2.3")); ok {
		t.Error("a nil database locates an address")
	}
	if _, ok := dbs[city].Locate(netip.Addr{}); ok {
		t.Error("the zero address is located")
	}
}
