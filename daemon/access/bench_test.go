package access

import (
	"net/netip"
	"os"
	"path/filepath"
	"testing"
)

func BenchmarkClientIP(b *testing.B) {
	trusted, _ := ParseTrustedProxies("10.0.0.0/8,192.0.2.0/24")
	b.Run("peer", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			ClientIP("203.0.113.5:50312", nil, nil)
		}
	})
	b.Run("xff-chain", func(b *testing.B) {
		xff := []string{"6.6.6.6, 198.51.100.7, 192.0.2.1"}
		b.ReportAllocs()
		for b.Loop() {
			ClientIP("10.1.1.1:50312", xff, trusted)
		}
	})
	b.Run("ipv6", func(b *testing.B) {
		xff := []string{"2001:db8:1::7"}
		b.ReportAllocs()
		for b.Loop() {
			ClientIP("[::ffff:10.1.1.1]:443", xff, trusted)
		}
	})
}

func BenchmarkGeoLookup(b *testing.B) {
	path := filepath.Join(b.TempDir(), "country.mmdb")
	writeGeoDB(b, path, geoRecords)
	run := func(b *testing.B, path string, addrs []netip.Addr) {
		db, err := OpenGeoDB(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			db.Lookup(addrs[i%len(addrs)])
			i++
		}
	}
	addrs := []netip.Addr{netip.MustParseAddr("81.2.3.4"), netip.MustParseAddr("85.1.1.1"), netip.MustParseAddr("2a01:e01::1"), netip.MustParseAddr("192.0.2.1")}
	b.Run("tiny", func(b *testing.B) { run(b, path, addrs) })
	if real := os.Getenv("OPENFRONT_GEOIP_DB"); real != "" {
		addrs := []netip.Addr{netip.MustParseAddr("8.8.8.8"), netip.MustParseAddr("81.2.69.142"), netip.MustParseAddr("2001:4860:4860::8888"), netip.MustParseAddr("1.1.1.1")}
		b.Run("real", func(b *testing.B) { run(b, real, addrs) })
	}
}
