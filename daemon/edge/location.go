package edge

import (
	"net/netip"
	"strconv"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/access"
)

// The viewer location headers beyond the country (adding-cloudfront-headers.md,
// "Headers for determining the viewer's location"): the place ones from
// a City database (--geoip-db), the ASN from an ASN database (--asn-db).
const (
	countryNameHeader = "Cloudfront-Viewer-Country-Name"
	regionHeader      = "Cloudfront-Viewer-Country-Region"
	regionNameHeader  = "Cloudfront-Viewer-Country-Region-Name"
	cityHeader        = "Cloudfront-Viewer-City"
	postalCodeHeader  = "Cloudfront-Viewer-Postal-Code"
	timeZoneHeader    = "Cloudfront-Viewer-Time-Zone"
	latitudeHeader    = "Cloudfront-Viewer-Latitude"
	longitudeHeader   = "Cloudfront-Viewer-Longitude"
	metroCodeHeader   = "Cloudfront-Viewer-Metro-Code"
	asnHeader         = "Cloudfront-Viewer-Asn"
)

// SetASNDB sets the ASN database CloudFront-Viewer-ASN comes from (nil:
// from the --geoip-db record, if it holds one); call it before serving.
func (h *Handler) SetASNDB(db *access.GeoDB) { h.asn = db }

// wantsLocation reports whether behavior b forwards a place header (City
// database) or the ASN header.
func wantsLocation(b *table.Behavior) (place, asn bool) {
	for _, name := range b.CloudFrontHeaders {
		switch name {
		case asnHeader:
			asn = true
		case countryNameHeader, regionHeader, regionNameHeader, cityHeader, postalCodeHeader,
			timeZoneHeader, latitudeHeader, longitudeHeader, metroCodeHeader:
			place = true
		}
	}
	return place, asn
}

// locate looks client up for behavior b: at most once in each database,
// and only for what b forwards or the distribution restricts (needCountry).
// known is whether the country is known.
func (h *Handler) locate(b *table.Behavior, client netip.Addr, needCountry bool) (loc access.Location, known bool) {
	place, asn := wantsLocation(b)
	switch {
	case place || asn && h.asn == nil:
		loc, _ = h.geo.Locate(client)
	case needCountry:
		loc.Country, _ = h.geo.Lookup(client)
	}
	if asn && h.asn != nil {
		a, _ := h.asn.Locate(client)
		loc.ASN = a.ASN
	}
	return loc, loc.Country != ""
}

// locationHeader is the node's value of a location header (nil when the
// databases do not say); ok is false for another name.
func (v *viewer) locationHeader(name string) (value []string, ok bool) {
	l := &v.loc
	var s string
	switch name {
	case countryNameHeader:
		s = l.CountryName
	case regionHeader:
		s = l.Region
	case regionNameHeader:
		s = l.RegionName
	case cityHeader:
		s = l.City
	case postalCodeHeader:
		s = l.PostalCode
	case timeZoneHeader:
		s = l.TimeZone
	case latitudeHeader, longitudeHeader:
		if !l.HasCoordinates {
			return nil, true
		}
		c := l.Latitude
		if name == longitudeHeader {
			c = l.Longitude
		}
		// Five decimals, as CloudFront's "42.30680" and "-83.70590".
		s = strconv.FormatFloat(c, 'f', 5, 64)
	case metroCodeHeader:
		// "present only when the viewer is in the United States".
		if l.MetroCode != 0 && l.Country == "US" {
			s = strconv.FormatUint(uint64(l.MetroCode), 10)
		}
	case asnHeader:
		if l.ASN != 0 {
			s = strconv.FormatUint(uint64(l.ASN), 10)
		}
	default:
		return nil, false
	}
	if s == "" {
		return nil, true
	}
	return []string{percentEncodeNonASCII(s)}, true
}

// percentEncodeNonASCII percent-encodes s's bytes outside printable ASCII,
// as CloudFront does for these headers' non-ASCII characters ("Zürich"
// is "Z%C3%BCrich"); control bytes too, which a header cannot carry.
func percentEncodeNonASCII(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f {
			b = append(b, '%', hex[c>>4], hex[c&15])
		} else {
			b = append(b, c)
		}
	}
	return string(b)
}
