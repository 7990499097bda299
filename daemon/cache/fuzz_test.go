package cache

import (
	"net/http"
	"testing"
)

// Ranges parsed from any header stay inside the body.
func FuzzParseRange(f *testing.F) {
	for _, s := range []string{"bytes=0-99", "bytes=-5", "bytes=5-", "bytes=0-0,2-3", "bytes=9999999999999999999-", "bytes=,,", "bytes=-"} {
		f.Add(s, int64(100))
	}
	f.Fuzz(func(t *testing.T, s string, size int64) {
		if size < 0 {
			size = -size
		}
		ranges, err := parseRange(s, size)
		if err != nil {
			return
		}
		if len(ranges) == 0 || len(ranges) > maxRanges {
			t.Fatalf("%q: %d ranges", s, len(ranges))
		}
		for _, r := range ranges {
			if r.start < 0 || r.length <= 0 || r.start+r.length > size {
				t.Fatalf("%q size %d: range %+v outside the body", s, size, r)
			}
		}
	})
}

// Any Cache-Control parses without panic into a sane lifetime.
func FuzzCacheControl(f *testing.F) {
	for _, s := range []string{`max-age=60`, `no-cache="Set-Cookie, X", s-maxage=1`, `max-age="60`, `,,=,"\"`, `stale-while-revalidate=99999999999999999999`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h := http.Header{"Cache-Control": {s}}
		d := parseCacheControl(h)
		for _, v := range []int64{int64(d.maxAge), int64(d.sMaxAge), int64(d.staleWhileRevalidate), int64(d.staleIfError)} {
			if v < -1 || v > int64(maxDelta) {
				t.Fatalf("%q: delta %d", s, v)
			}
		}
	})
}
