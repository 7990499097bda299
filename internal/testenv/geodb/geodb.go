// Package geodb writes tiny MaxMind databases for tests. It imports no
// compiler, so the tests of a package the compiler imports can use it;
// testenv re-exports it.
package geodb

import (
	"net"
	"os"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// WriteGeoDB writes a tiny MaxMind database mapping CIDRs to records,
// atomically (a reader never sees half a file).
func WriteGeoDB(t testing.TB, path string, records map[string]mmdbtype.Map) {
	t.Helper()
	w, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "openfront-test-country", RecordSize: 24, IncludeReservedNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, rec := range records {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// Country is a GeoIP2/GeoLite2 Country record.
func Country(iso string) mmdbtype.Map {
	return mmdbtype.Map{"country": mmdbtype.Map{"iso_code": mmdbtype.String(iso), "names": mmdbtype.Map{"en": mmdbtype.String("x")}}}
}

// Place is what a GeoIP2/GeoLite2 City record says; Record lays it out
// as MaxMind does (zero fields left out).
type Place struct {
	Country, CountryName   string
	Region, RegionName     string // first-level subdivision: "MI", "Michigan"
	City, Postal, TimeZone string
	Latitude, Longitude    float64
	MetroCode              uint16
	ASN                    uint32 // traits.autonomous_system_number, as GeoIP2 Enterprise
}

// Record is p as a City database record.
func (p Place) Record() mmdbtype.Map {
	en := func(s string) mmdbtype.Map {
		return mmdbtype.Map{"en": mmdbtype.String(s), "de": mmdbtype.String("de " + s)}
	}
	rec := mmdbtype.Map{
		"country":            mmdbtype.Map{"iso_code": mmdbtype.String(p.Country), "names": en(p.CountryName)},
		"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String(p.Country)},
	}
	if p.City != "" {
		rec["city"] = mmdbtype.Map{"names": en(p.City)}
	}
	if p.Region != "" {
		rec["subdivisions"] = mmdbtype.Slice{
			mmdbtype.Map{"iso_code": mmdbtype.String(p.Region), "names": en(p.RegionName)},
			mmdbtype.Map{"iso_code": mmdbtype.String("ZZZ"), "names": en("second level")},
		}
	}
	if p.Postal != "" {
		rec["postal"] = mmdbtype.Map{"code": mmdbtype.String(p.Postal)}
	}
	if p.TimeZone != "" {
		loc := mmdbtype.Map{"time_zone": mmdbtype.String(p.TimeZone), "accuracy_radius": mmdbtype.Uint16(5),
			"latitude": mmdbtype.Float64(p.Latitude), "longitude": mmdbtype.Float64(p.Longitude)}
		if p.MetroCode != 0 {
			loc["metro_code"] = mmdbtype.Uint16(p.MetroCode)
		}
		rec["location"] = loc
	}
	if p.ASN != 0 {
		rec["traits"] = mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(p.ASN)}
	}
	return rec
}

// ASN is a GeoLite2-ASN record.
func ASN(number uint32, org string) mmdbtype.Map {
	return mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(number), "autonomous_system_organization": mmdbtype.String(org)}
}
