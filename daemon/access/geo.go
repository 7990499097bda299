package access

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/filestamp"
	"openfront.dev/schema"
)

// GeoDB looks up viewers' countries in a MaxMind-format database file
// (GeoIP2/GeoLite2 Country or City, or any database with a top-level
// "country_code" such as ip-location-db's). The file is read into memory,
// not mapped, so replacing or rewriting it in place never disturbs lookups
// in flight; Reload swaps in a new version atomically. Locate
// (location.go) reads the rest of a City or ASN record.
type GeoDB struct {
	path string
	db   atomic.Pointer[geoVersion]

	mu     sync.Mutex      // serialises reloads
	failed filestamp.Stamp // the version that last failed to load, not retried until it changes
	// accept, when set, vets a new version before it is used (SetCheck).
	accept func(candidate *GeoDB) error
}

// SetCheck makes Reload vet each new version with accept first, given a
// GeoDB holding it: a version accept refuses (one the table being served
// could not work with) is not used. Call it before the first Reload.
func (g *GeoDB) SetCheck(accept func(candidate *GeoDB) error) {
	g.mu.Lock()
	g.accept = accept
	g.mu.Unlock()
}

type geoVersion struct {
	reader       *maxminddb.Reader
	stamp        filestamp.Stamp
	holdsCountry bool
	holdsASN     bool
}

// geoRecord is the part of a record Lookup reads; the decoder skips the rest.
type geoRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	CountryCode string `maxminddb:"country_code"`
}

// OpenGeoDB reads the database at path.
func OpenGeoDB(path string) (*GeoDB, error) {
	g := &GeoDB{path: path}
	v, err := loadGeo(path)
	if err != nil {
		return nil, err
	}
	g.db.Store(v)
	return g, nil
}

func loadGeo(path string) (*geoVersion, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("geoip database: %w", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("geoip database: %w", err)
	}
	r, err := maxminddb.OpenBytes(b)
	if err != nil {
		return nil, fmt.Errorf("geoip database %s: %w", path, err)
	}
	v := &geoVersion{reader: r, stamp: filestamp.Of(fi)}
	v.holdsCountry, v.holdsASN = holds(r)
	return v, nil
}

// contentSample is how many records holds reads: a country or City
// database gives nearly every network a country, an ASN database (or a
// City or Enterprise one with ASNs) an ASN.
const contentSample = 4096

// contentRecord is the part of a record holds reads: Lookup's, and the
// ASN where Locate reads it.
type contentRecord struct {
	geoRecord
	ASN    uint `maxminddb:"autonomous_system_number"`
	Traits struct {
		ASN uint `maxminddb:"autonomous_system_number"`
	} `maxminddb:"traits"`
}

// holds reports whether the first records of r give a country where
// Lookup reads one, and an ASN where Locate reads one. A database that
// gives no country (GeoLite2-ASN given as --geoip-db) leaves every viewer
// unknown, whom a geo restriction serves.
func holds(r *maxminddb.Reader) (country, asn bool) {
	n := 0
	for res := range r.Networks() {
		var rec contentRecord
		if res.Decode(&rec) == nil {
			country = country || countryOf(rec.Country.ISOCode, rec.CountryCode, rec.RegisteredCountry.ISOCode) != ""
			asn = asn || rec.ASN != 0 || rec.Traits.ASN != 0
		}
		if n++; n == contentSample || country && asn {
			break
		}
	}
	return country, asn
}

// HoldsCountries reports whether the database's records hold countries (a
// country or City database); false for nil.
func (g *GeoDB) HoldsCountries() bool { return g != nil && g.db.Load().holdsCountry }

// HoldsASN reports whether the database's records hold ASNs (a GeoLite2-ASN,
// or a City or Enterprise database that has them); false for nil.
func (g *GeoDB) HoldsASN() bool { return g != nil && g.db.Load().holdsASN }

// Path is the database file.
func (g *GeoDB) Path() string { return g.path }

// Metadata describes the loaded database.
func (g *GeoDB) Metadata() maxminddb.Metadata { return g.db.Load().reader.Metadata }

// Lookup returns the ISO 3166-1 country code of addr; ok is false when the
// database does not know the address (or g is nil). It takes the country
// where the address is used, else the one where its network is registered.
func (g *GeoDB) Lookup(addr netip.Addr) (country string, ok bool) {
	if g == nil || !addr.IsValid() {
		return "", false
	}
	rec := recordPool.Get().(*geoRecord)
	defer recordPool.Put(rec)
	*rec = geoRecord{}
	if err := g.db.Load().reader.Lookup(addr.Unmap()).Decode(rec); err != nil {
		return "", false
	}
	c := countryOf(rec.Country.ISOCode, rec.CountryCode, rec.RegisteredCountry.ISOCode)
	return c, c != ""
}

// countryOf picks the country where the address is used, else the one
// where its network is registered; "" for none.
func countryOf(codes ...string) string {
	for _, c := range codes {
		if len(c) == 2 {
			return strings.ToUpper(c)
		}
	}
	return ""
}

// recordPool saves an allocation per lookup: Decode takes an interface.
var recordPool = sync.Pool{New: func() any { return new(geoRecord) }}

// Reload reads the file again if it changed since it was loaded, and reports
// whether a new version is in use. On an error the old version stays in use,
// and the same broken file is not read again until it changes (a writer may
// still be writing it). So is a version SetCheck's function refuses.
func (g *GeoDB) Reload() (bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	fi, err := os.Stat(g.path)
	if err != nil {
		return false, fmt.Errorf("geoip database: %w", err)
	}
	st := filestamp.Of(fi)
	if st == g.db.Load().stamp || st == g.failed {
		return false, nil
	}
	v, err := loadGeo(g.path)
	if err == nil && g.accept != nil {
		candidate := &GeoDB{path: g.path}
		candidate.db.Store(v)
		if err = g.accept(candidate); err != nil {
			err = fmt.Errorf("geoip database %s: not reloaded: %w", g.path, err)
		}
	}
	if err != nil {
		g.failed = st
		return false, err
	}
	g.failed = filestamp.Stamp{}
	g.db.Store(v)
	return true, nil
}

// Watch polls the file every interval until ctx ends, reloading it when it
// changes; report (which may be nil) hears of each reload and each error.
func (g *GeoDB) Watch(ctx context.Context, interval time.Duration, report func(reloaded bool, err error)) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			ok, err := g.Reload()
			if report != nil && (ok || err != nil) {
				report(ok, err)
			}
		}
	}
}

// HeaderViewerCountry carries the viewer's country to an origin whose
// behavior forwards it.
const HeaderViewerCountry = "CloudFront-Viewer-Country"

// GeoRestricted reports whether a distribution restricts viewers by country.
func GeoRestricted(d *schema.Distribution) bool {
	t := d.Restrictions.GeoRestriction.RestrictionType
	return t == "whitelist" || t == "blacklist"
}

// ErrNoGeoDB is wrapped by CheckDatabases' error.
var ErrNoGeoDB = errors.New("no geoip database")

// CheckDatabases refuses a table that restricts viewers by country, or
// has a web ACL statement on a country or an ASN, on a node without the
// database that answers it (geo, asn nil, or geo's records holding no
// country, as GeoLite2-ASN's): such a restriction would let everyone
// through and such a rule never match. It fails closed rather than serve
// everyone. An ASN comes from asn, else from geo's records, which must
// hold ASNs (a country database's do not).
func CheckDatabases(t *table.Table, geo, asn *GeoDB) error {
	noCountry := !geo.HoldsCountries()
	// The edge reads ASNs from asn when given, else from geo.
	noASN := asn != nil && !asn.HoldsASN() || asn == nil && !geo.HoldsASN()
	if !noCountry && !noASN {
		return nil
	}
	var country, asns []string
	for d := range t.Distributions() {
		acl := d.WebACL
		if noCountry && (GeoRestricted(d.Spec) || acl != nil && acl.CountryDB) {
			country = append(country, d.ID)
		}
		if noASN && acl != nil && acl.ASNDB {
			asns = append(asns, d.ID)
		}
	}
	switch {
	case len(country) > 0:
		return fmt.Errorf("%w: %s restrictions.geoRestriction or a web ACL's geoMatchStatement, and this node has no country database%s; start openfront serve with --geoip-db FILE (a MaxMind-format country database)",
			ErrNoGeoDB, distributionsUse(country), noCountryIn(geo))
	case len(asns) > 0:
		return fmt.Errorf("%w: %s a web ACL's asnMatchStatement, and this node has no ASN database%s; start openfront serve with --asn-db FILE (GeoLite2-ASN) or a --geoip-db whose records hold the ASN",
			ErrNoGeoDB, distributionsUse(asns), noASNIn(geo, asn))
	}
	return nil
}

// noCountryIn names geo, whose records hold no country ("" for nil).
func noCountryIn(geo *GeoDB) string {
	if geo == nil {
		return ""
	}
	return " (" + geo.Path() + " holds no country: an ASN database?)"
}

// noASNIn names the database the edge would read ASNs from, whose records
// hold none: asn when given, else geo ("" for neither).
func noASNIn(geo, asn *GeoDB) string {
	if asn == nil {
		asn = geo
	}
	if asn == nil {
		return ""
	}
	return " (" + asn.Path() + " holds no autonomous_system_number)"
}

// distributionsUse is `distribution "a" uses` or `distributions "a", "b" use`.
func distributionsUse(ids []string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = strconv.Quote(id)
	}
	if len(q) == 1 {
		return "distribution " + q[0] + " uses"
	}
	return "distributions " + strings.Join(q, ", ") + " use"
}
