package table

import (
	"slices"
	"sync"
)

// Geo labels: "A geo match statement add labels to web requests that
// indicate the country of origin and the region of origin. It adds these
// labels regardless of whether the statement criteria is a match for the
// request" (waf-rule-statement-type-geo-match; API_GeoMatchStatement: "A
// geo match rule labels every request that it inspects regardless of
// whether it finds a match"), so that a count rule's geo statement and a
// later label match rule handle requests by country:
// awswaf:clientip:geo:country:<ISO country code> for the viewer's
// address, awswaf:forwardedip:geo:country:<ISO country code> for a
// forwardedIPConfig's. A rule that does not apply (its forwarded header
// missing) labels nothing, nor does an address the node's database does
// not place. The region labels (awswaf:clientip:geo:region:<country>-
// <region>) need a City database's subdivision, which the edge's country
// lookup does not read: openfront adds none.

const (
	wafClientGeoCountry    = "awswaf:clientip:geo:country:"
	wafForwardedGeoCountry = "awswaf:forwardedip:geo:country:"
)

// geoCountryLabels are the labels of every two-letter code, made once,
// so that labelling a request allocates no string: [0] the viewer's,
// [1] a forwarded address's.
var geoCountryLabels = sync.OnceValue(func() *[2][26 * 26]string {
	var out [2][26 * 26]string
	for i := range 26 * 26 {
		code := string([]byte{byte('A' + i/26), byte('A' + i%26)})
		out[0][i], out[1][i] = wafClientGeoCountry+code, wafForwardedGeoCountry+code
	}
	return &out
})

// geoCountryLabel is the label of country, the viewer's or (forwarded) a
// forwarded address's.
func geoCountryLabel(forwarded bool, country string) string {
	which := 0
	if forwarded {
		which = 1
	}
	if len(country) == 2 && 'A' <= country[0] && country[0] <= 'Z' && 'A' <= country[1] && country[1] <= 'Z' {
		return geoCountryLabels()[which][int(country[0]-'A')*26+int(country[1]-'A')]
	}
	return [...]string{wafClientGeoCountry, wafForwardedGeoCountry}[which] + country
}

// geoSource notes that the rule compiled has a geo match statement that
// reads the country of f's address, or the viewer's when f.Header is "".
func (c *wafCompiler) geoSource(f WAFForwardedIP) {
	if !slices.Contains(c.geoSources, f) {
		c.geoSources = append(c.geoSources, f)
	}
}

// AddGeoLabels adds to req the country labels of the rule's geo match
// statements, whether the rule matches or not, and returns those it
// added (a view of req.Labels).
func (r *WAFRule) AddGeoLabels(req *WAFRequest) []string {
	if len(r.geo) == 0 || r.missing(req) != "" {
		return nil
	}
	n := len(req.Labels)
	for i := range r.geo {
		g := &r.geo[i]
		var label string
		if g.Header == "" {
			if req.Country == "" {
				continue
			}
			label = geoCountryLabel(false, req.Country)
		} else {
			a, ok, _ := g.one(req)
			if !ok {
				continue
			}
			c := locateCountry(req, a)
			if c == "" {
				continue
			}
			label = geoCountryLabel(true, c)
		}
		if !slices.Contains(req.Labels, label) {
			req.Labels = append(req.Labels, label)
		}
	}
	return req.Labels[n:]
}
