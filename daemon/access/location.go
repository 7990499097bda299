package access

import (
	"net/netip"
	"strings"
	"sync"
)

// Location is what a database says of a viewer's address beyond its
// country: a GeoIP2/GeoLite2 City database fills the place fields, an
// ASN database (GeoLite2-ASN) the ASN. A field the database does not
// hold is empty (zero), and the header CloudFront would carry it is
// left out, as CloudFront leaves out what it cannot determine.
type Location struct {
	Country     string // ISO 3166-1 alpha-2, as Lookup returns it
	CountryName string
	// Region is the first-level ISO 3166-2 subdivision code without the
	// country prefix ("CA" for US-CA), RegionName its English name.
	Region, RegionName string
	City               string
	PostalCode         string
	TimeZone           string // IANA, e.g. "America/Los_Angeles"
	// Latitude and Longitude are meaningful only when HasCoordinates.
	Latitude, Longitude float64
	HasCoordinates      bool
	MetroCode           uint // US only; 0 when unknown
	ASN                 uint // 0 when unknown
}

// names is a localized name set; only English is decoded.
type names struct {
	En string `maxminddb:"en"`
}

// locationRecord is the part of a City or ASN record Locate reads, the
// country fields Lookup reads among them: one decode answers both.
type locationRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   names  `maxminddb:"names"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	CountryCode string `maxminddb:"country_code"`
	City        struct {
		Names names `maxminddb:"names"`
	} `maxminddb:"city"`
	Subdivisions []struct {
		ISOCode string `maxminddb:"iso_code"`
		Names   names  `maxminddb:"names"`
	} `maxminddb:"subdivisions"`
	Postal struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"postal"`
	Location struct {
		TimeZone       string  `maxminddb:"time_zone"`
		Latitude       float64 `maxminddb:"latitude"`
		Longitude      float64 `maxminddb:"longitude"`
		AccuracyRadius uint16  `maxminddb:"accuracy_radius"`
		MetroCode      uint    `maxminddb:"metro_code"`
	} `maxminddb:"location"`
	// GeoLite2-ASN holds the number at the top level; GeoIP2 Enterprise
	// and ISP-style City databases under traits.
	ASN    uint `maxminddb:"autonomous_system_number"`
	Traits struct {
		ASN uint `maxminddb:"autonomous_system_number"`
	} `maxminddb:"traits"`
}

var locationPool = sync.Pool{New: func() any { return new(locationRecord) }}

// Locate looks addr up once and returns all the database says of it;
// ok is false when the database does not know the address (or g is nil).
// It costs more than Lookup (more fields decoded, names copied): the edge
// calls it only for a behavior that forwards a location header.
func (g *GeoDB) Locate(addr netip.Addr) (loc Location, ok bool) {
	if g == nil || !addr.IsValid() {
		return Location{}, false
	}
	rec := locationPool.Get().(*locationRecord)
	defer locationPool.Put(rec)
	*rec = locationRecord{Subdivisions: rec.Subdivisions[:0]}
	res := g.db.Load().reader.Lookup(addr.Unmap())
	if !res.Found() {
		return Location{}, false
	}
	if err := res.Decode(rec); err != nil {
		return Location{}, false
	}
	loc = Location{
		Country:     countryOf(rec.Country.ISOCode, rec.CountryCode, rec.RegisteredCountry.ISOCode),
		CountryName: rec.Country.Names.En,
		City:        rec.City.Names.En,
		PostalCode:  rec.Postal.Code,
		TimeZone:    rec.Location.TimeZone,
		Latitude:    rec.Location.Latitude,
		Longitude:   rec.Location.Longitude,
		// 0,0 is a place, if an unlikely one: MaxMind gives every
		// located record a radius.
		HasCoordinates: rec.Location.AccuracyRadius != 0 || rec.Location.Latitude != 0 || rec.Location.Longitude != 0,
		MetroCode:      rec.Location.MetroCode,
		ASN:            rec.ASN,
	}
	if loc.ASN == 0 {
		loc.ASN = rec.Traits.ASN
	}
	if len(rec.Subdivisions) > 0 {
		s := rec.Subdivisions[0] // the first level: the broadest
		_, loc.Region, _ = strings.Cut(s.ISOCode, "-")
		if loc.Region == "" {
			loc.Region = s.ISOCode
		}
		loc.RegionName = s.Names.En
	}
	return loc, true
}
