package access

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"openfront.dev/internal/testenv/geodb"
)

func writeGeoDB(t testing.TB, path string, records map[string]mmdbtype.Map) {
	geodb.WriteGeoDB(t, path, records)
}

func maxmindCountry(iso string) mmdbtype.Map { return geodb.Country(iso) }

var geoRecords = map[string]mmdbtype.Map{
	"81.0.0.0/8":      maxmindCountry("FR"),
	"2a01:e00::/26":   maxmindCountry("FR"),
	"85.0.0.0/8":      {"country_code": mmdbtype.String("DE")}, // ip-location-db's layout
	"203.0.113.0/24":  {"registered_country": mmdbtype.Map{"iso_code": mmdbtype.String("AU")}},
	"198.51.100.0/24": {"continent": mmdbtype.Map{"code": mmdbtype.String("EU")}}, // no country
}

func TestGeoDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "country.mmdb")
	writeGeoDB(t, path, geoRecords)
	db, err := OpenGeoDB(path)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		addr, country string
		known         bool
	}{
		{"81.2.3.4", "FR", true},
		{"::ffff:81.2.3.4", "FR", true},
		{"2a01:e01::1", "FR", true},
		{"85.1.1.1", "DE", true},
		{"203.0.113.9", "AU", true},
		{"198.51.100.1", "", false},
		{"192.0.2.1", "", false},
		{"2001:db8::1", "", false},
	}
	for _, c := range cases {
		got, known := db.Lookup(netip.MustParseAddr(c.addr))
		if got != c.country || known != c.known {
			t.Errorf("Lookup(%s) = %q, %v; want %q, %v", c.addr, got, known, c.country, c.known)
		}
	}
	if _, ok := db.Lookup(netip.Addr{}); ok {
		t.Error("the zero address is known")
	}
	var none *GeoDB
	if _, ok := none.Lookup(netip.MustParseAddr("81.2.3.4")); ok {
		t.Error("a nil database knows an address")
	}
	if _, err := OpenGeoDB(filepath.Join(t.TempDir(), "missing.mmdb")); err == nil {
		t.Error("opened a missing file")
	}
}

func TestGeoDBReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "country.mmdb")
	writeGeoDB(t, path, map[string]mmdbtype.Map{"81.0.0.0/8": maxmindCountry("FR")})
	db, err := OpenGeoDB(path)
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddr("81.2.3.4")
	if ok, err := db.Reload(); ok || err != nil {
		t.Fatalf("unchanged file reloaded: %v %v", ok, err)
	}

	// Lookups keep going while the file is replaced.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			if c, ok := db.Lookup(addr); !ok || (c != "FR" && c != "BE") {
				t.Errorf("lookup during reload: %q %v", c, ok)
				return
			}
		}
	}()
	reports := make(chan error, 10)
	go db.Watch(ctx, 10*time.Millisecond, func(ok bool, err error) { reports <- err })

	time.Sleep(20 * time.Millisecond) // a new mtime even on coarse clocks
	writeGeoDB(t, path, map[string]mmdbtype.Map{"81.0.0.0/8": maxmindCountry("BE")})
	select {
	case err := <-reports:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the watcher did not reload the changed file")
	}
	if c, _ := db.Lookup(addr); c != "BE" {
		t.Fatalf("after reload: %q", c)
	}

	// A broken file is reported once; the old database stays in use.
	time.Sleep(20 * time.Millisecond)
	if err := os.WriteFile(path+".tmp", []byte("not a database"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil { // at once, so it is one version
		t.Fatal(err)
	}
	select {
	case err := <-reports:
		if err == nil {
			t.Fatal("a broken file loaded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no error for a broken file")
	}
	time.Sleep(50 * time.Millisecond)
	select {
	case err := <-reports:
		t.Fatalf("reported again: %v", err)
	default:
	}
	if c, _ := db.Lookup(addr); c != "BE" {
		t.Fatalf("after a broken file: %q", c)
	}
	cancel()
	wg.Wait()
}

// TestRealGeoDB reads a real country database when OPENFRONT_GEOIP_DB names
// one, e.g. geo-whois-asn-country.mmdb from the npm package
// @ip-location-db/geo-whois-asn-country-mmdb.
func TestRealGeoDB(t *testing.T) {
	path := os.Getenv("OPENFRONT_GEOIP_DB")
	if path == "" {
		t.Skip("set OPENFRONT_GEOIP_DB to a MaxMind-format country database to run")
	}
	db, err := OpenGeoDB(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "81.2.69.142"} {
		c, ok := db.Lookup(netip.MustParseAddr(a))
		t.Logf("%s: %q %v", a, c, ok)
		if !ok || len(c) != 2 {
			t.Errorf("%s: no country", a)
		}
	}
}

// TestGeoDBReplacedSameStamp: a database renamed over the old one is
// loaded even when its size and modification time are the old file's
// (a copy keeping times, on a coarse clock).
func TestGeoDBReplacedSameStamp(t *testing.T) {
	dir := t.TempDir()
	path, next := filepath.Join(dir, "country.mmdb"), filepath.Join(dir, "next.mmdb")
	writeGeoDB(t, path, map[string]mmdbtype.Map{"81.0.0.0/8": maxmindCountry("FR")})
	writeGeoDB(t, next, map[string]mmdbtype.Map{"81.0.0.0/8": maxmindCountry("BE")})
	db, err := OpenGeoDB(path)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := os.Stat(path)
	if err := os.Chtimes(next, old.ModTime(), old.ModTime()); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(next); fi.Size() != old.Size() || !fi.ModTime().Equal(old.ModTime()) {
		t.Fatalf("the two databases differ in size or time: %d %v, %d %v", fi.Size(), fi.ModTime(), old.Size(), old.ModTime())
	}
	if err := os.Rename(next, path); err != nil {
		t.Fatal(err)
	}
	if ok, err := db.Reload(); !ok || err != nil {
		t.Fatalf("the replaced database was not loaded: %v %v", ok, err)
	}
	if c, _ := db.Lookup(netip.MustParseAddr("81.2.3.4")); c != "BE" {
		t.Errorf("after the replace: %q, want BE", c)
	}
}

// TestGeoDBReloadCheck: a new version that SetCheck's function refuses
// (the node's: one the table being served could not work with, such as
// GeoLite2-ASN written where a geo restriction needs countries) is not
// used: the error names the file and says why, the old version stays,
// the refused file is not read again, and the next good one is used.
func TestGeoDBReloadCheck(t *testing.T) {
	path := filepath.Join(t.TempDir(), "country.mmdb")
	writeGeoDB(t, path, map[string]mmdbtype.Map{"81.0.0.0/8": maxmindCountry("FR")})
	db, err := OpenGeoDB(path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetCheck(func(c *GeoDB) error {
		if !c.HoldsCountries() {
			return errors.New("a geo restriction needs countries")
		}
		return nil
	})
	writeGeoDB(t, path, map[string]mmdbtype.Map{"81.0.0.0/8": geodb.ASN(3215, "Orange")})
	ok, err := db.Reload()
	if ok || err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "needs countries") {
		t.Fatalf("reload of a database without countries: %v, %v", ok, err)
	}
	if c, _ := db.Lookup(netip.MustParseAddr("81.2.3.4")); c != "FR" {
		t.Fatalf("after the refused reload: %q, want the old FR", c)
	}
	if ok, err := db.Reload(); ok || err != nil {
		t.Fatalf("the refused file was tried again: %v, %v", ok, err)
	}
	writeGeoDB(t, path, map[string]mmdbtype.Map{"81.0.0.0/8": maxmindCountry("BE")})
	if ok, err := db.Reload(); !ok || err != nil {
		t.Fatalf("reload of a country database: %v, %v", ok, err)
	}
	if c, _ := db.Lookup(netip.MustParseAddr("81.2.3.4")); c != "BE" {
		t.Fatalf("after the reload: %q, want BE", c)
	}
}
