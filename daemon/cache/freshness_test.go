package cache

import (
	"net/http"
	"testing"
	"time"
)

// CloudFront's TTL rules, one case each.
func TestDecide(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	date := now.Format(http.TimeFormat)
	inAnHour := now.Add(time.Hour).Format(http.TimeFormat)
	std := Policy{Cacheable: true, MinTTL: 0, DefaultTTL: 24 * time.Hour, MaxTTL: 365 * 24 * time.Hour}
	withMin := func(min, max time.Duration) Policy { p := std; p.MinTTL, p.MaxTTL = min, max; return p }
	errorTTLs := std
	errorTTLs.ErrorTTL, errorTTLs.ErrorTTLs = 10*time.Second, map[int]time.Duration{404: 5 * time.Minute, 500: 0}
	zero := Policy{Cacheable: true, MaxTTL: 365 * 24 * time.Hour}
	allZero := Policy{Cacheable: true} // CachingDisabled: min, default and max TTL 0
	minErrors := withMin(time.Minute, time.Hour)
	minErrors.ErrorTTL = 30 * time.Second
	allZeroErrors := allZero
	allZeroErrors.ErrorTTL, allZeroErrors.ErrorTTLs = 10*time.Second, map[int]time.Duration{404: 5 * time.Minute}
	tests := []struct {
		name   string
		p      Policy
		status int
		header []string // name, value pairs
		req    []string
		store  bool
		ttl    time.Duration
	}{
		{"max-age", std, 200, []string{"Cache-Control", "max-age=60"}, nil, true, time.Minute},
		{"max-age capped at maxTTL", withMin(0, time.Hour), 200, []string{"Cache-Control", "max-age=100000"}, nil, true, time.Hour},
		{"s-maxage wins over max-age", std, 200, []string{"Cache-Control", "max-age=60, s-maxage=30"}, nil, true, 30 * time.Second},
		{"no freshness: defaultTTL", std, 200, nil, nil, true, 24 * time.Hour},
		{"no freshness, defaultTTL 0: not stored", zero, 200, nil, nil, false, 0},
		{"no freshness, defaultTTL 0, validator: kept to revalidate", zero, 200, []string{"ETag", `"a"`}, nil, true, 0},
		{"no-store, minTTL 0", std, 200, []string{"Cache-Control", "no-store, max-age=60"}, nil, false, 0},
		{"private, minTTL 0", std, 200, []string{"Cache-Control", "private, max-age=60"}, nil, false, 0},
		{"no-cache, minTTL 0, validator: revalidate every time", std, 200, []string{"Cache-Control", "no-cache", "ETag", `"a"`}, nil, true, 0},
		{"no-cache, minTTL 0, no validator", std, 200, []string{"Cache-Control", "no-cache, max-age=60"}, nil, false, 0},
		{"no-cache, minTTL 60: kept for minTTL", withMin(time.Minute, time.Hour), 200, []string{"Cache-Control", "no-cache"}, nil, true, time.Minute},
		{"no-store, minTTL 60: kept for minTTL", withMin(time.Minute, time.Hour), 200, []string{"Cache-Control", "no-store"}, nil, true, time.Minute},
		{"private max-age=10, minTTL 60", withMin(time.Minute, time.Hour), 200, []string{"Cache-Control", "private, max-age=10"}, nil, true, time.Minute},
		{"max-age below minTTL", withMin(time.Minute, time.Hour), 200, []string{"Cache-Control", "max-age=10"}, nil, true, time.Minute},
		// Surrogate-Control is addressed to this cache (the edge marks an
		// error CloudFront does not keep with it): no minTTL overrides it.
		{"Surrogate-Control no-store, minTTL 60", withMin(time.Minute, time.Hour), 200, []string{"Surrogate-Control", "no-store;" + SurrogateToken}, nil, false, 0},
		{"Surrogate-Control no-store on a 403 page, minTTL 60", withMin(time.Minute, time.Hour), 403, []string{"Surrogate-Control", "no-store;" + SurrogateToken}, nil, false, 0},
		// An error's lifetime is the error caching minimum TTL's and the
		// origin's, not the behavior's minTTL (custom-error-pages-expiration).
		{"404 max-age=20 under minTTL 60, errorCachingMinTTL 30", minErrors, 404, []string{"Cache-Control", "max-age=20"}, nil, true, 30 * time.Second},
		{"max-age inside [min,max]", withMin(time.Minute, time.Hour), 200, []string{"Cache-Control", "max-age=600"}, nil, true, 10 * time.Minute},
		{"max-age above maxTTL", withMin(time.Minute, 80*time.Second), 200, []string{"Cache-Control", "max-age=100"}, nil, true, 80 * time.Second},
		{"Expires - Date", std, 200, []string{"Date", date, "Expires", inAnHour}, nil, true, time.Hour},
		{"invalid Expires is expired", std, 200, []string{"Date", date, "Expires", "0"}, nil, false, 0},
		{"invalid Expires, validator", std, 200, []string{"Date", date, "Expires", "0", "Last-Modified", date}, nil, true, 0},
		{"max-age wins over Expires", std, 200, []string{"Date", date, "Expires", date, "Cache-Control", "max-age=60"}, nil, true, time.Minute},
		{"302 with max-age", std, 302, []string{"Cache-Control", "max-age=60"}, nil, true, time.Minute},
		{"301 without freshness: defaultTTL", std, 301, nil, nil, true, 24 * time.Hour},
		{"206 never stored", std, 206, []string{"Cache-Control", "max-age=60"}, nil, false, 0},
		{"404 without freshness: error TTL", Policy{Cacheable: true, DefaultTTL: time.Hour, MaxTTL: time.Hour, ErrorTTL: 10 * time.Second}, 404, nil, nil, true, 10 * time.Second},
		{"404 without freshness, no error TTL", std, 404, nil, nil, false, 0},
		{"404 with max-age", std, 404, []string{"Cache-Control", "max-age=5"}, nil, true, 5 * time.Second},
		{"500 with max-age", std, 500, []string{"Cache-Control", "max-age=5"}, nil, true, 5 * time.Second},
		// An error is kept for the greater of the origin's value and the
		// error caching minimum TTL (HTTPStatusCodes.html).
		{"503 max-age below the error TTL", errorTTLs, 503, []string{"Cache-Control", "max-age=5"}, nil, true, 10 * time.Second},
		{"503 max-age above the error TTL", errorTTLs, 503, []string{"Cache-Control", "max-age=60"}, nil, true, time.Minute},
		{"404 max-age=0, its own error TTL", errorTTLs, 404, []string{"Cache-Control", "max-age=0"}, nil, true, 5 * time.Minute},
		{"500 without freshness, its own error TTL of 0", errorTTLs, 500, nil, nil, false, 0},
		{"500 max-age, its own error TTL of 0", errorTTLs, 500, []string{"Cache-Control", "max-age=5"}, nil, true, 5 * time.Second},
		{"200 max-age: no error TTL", errorTTLs, 200, []string{"Cache-Control", "max-age=5"}, nil, true, 5 * time.Second},
		{"Vary: * not stored", std, 200, []string{"Cache-Control", "max-age=60", "Vary", "Accept, *"}, nil, false, 0},
		{"Authorization: not stored", std, 200, []string{"Cache-Control", "max-age=60"}, []string{"Authorization", "Bearer x"}, false, 0},
		{"Authorization, public", std, 200, []string{"Cache-Control", "public, max-age=60"}, []string{"Authorization", "Bearer x"}, true, time.Minute},
		{"Authorization, s-maxage", std, 200, []string{"Cache-Control", "s-maxage=60"}, []string{"Authorization", "Bearer x"}, true, time.Minute},
		{"request no-store ignored, as CloudFront", std, 200, []string{"Cache-Control", "max-age=60"}, []string{"Cache-Control", "no-store"}, true, time.Minute},
		{"method not cached", Policy{MaxTTL: time.Hour}, 200, []string{"Cache-Control", "max-age=60"}, nil, false, 0},
		{"invalid max-age is 0", std, 200, []string{"Cache-Control", "max-age=abc", "ETag", `"a"`}, nil, true, 0},
		{"quoted max-age", std, 200, []string{"Cache-Control", `max-age="60"`}, nil, true, time.Minute},
		{"first max-age wins", std, 200, []string{"Cache-Control", "max-age=60, max-age=10"}, nil, true, time.Minute},
		{"huge max-age capped", std, 200, []string{"Cache-Control", "max-age=99999999999999999999"}, nil, true, 365 * 24 * time.Hour},
		{"directives case-insensitive", std, 200, []string{"Cache-Control", "MAX-AGE=60"}, nil, true, time.Minute},
		{"qualified no-cache is storable", std, 200, []string{"Cache-Control", `no-cache="Set-Cookie", max-age=60`}, nil, true, time.Minute},
		// Expiration table, "maxTTL": the lesser of the origin's value
		// and maxTTL, even when maxTTL is 0 (all TTLs 0: always revalidate).
		{"maxTTL 0 caps max-age", allZero, 200, []string{"Cache-Control", "max-age=3600", "ETag", `"a"`}, nil, true, 0},
		{"maxTTL 0 caps s-maxage", allZero, 200, []string{"Cache-Control", "s-maxage=3600", "ETag", `"a"`}, nil, true, 0},
		{"maxTTL 0 caps Expires", allZero, 200, []string{"Date", date, "Expires", inAnHour, "ETag", `"a"`}, nil, true, 0},
		{"maxTTL 0, max-age, no validator: not stored", allZero, 200, []string{"Cache-Control", "max-age=3600"}, nil, false, 0},
		// Expiration table (Expiration.html), row by row for minTTL > 0
		// (60 s) and maxTTL 80 s: the origin's value clamped into them.
		{"row max-age: below minTTL", withMin(time.Minute, 80*time.Second), 200, []string{"Cache-Control", "max-age=0", "ETag", `"a"`}, nil, true, time.Minute},
		{"row no max-age: greater of minTTL and defaultTTL", Policy{Cacheable: true, MinTTL: 2 * time.Minute, DefaultTTL: time.Minute, MaxTTL: time.Hour}, 200, nil, nil, true, 2 * time.Minute},
		{"row no max-age: defaultTTL above minTTL", Policy{Cacheable: true, MinTTL: time.Minute, DefaultTTL: 5 * time.Minute, MaxTTL: time.Hour}, 200, nil, nil, true, 5 * time.Minute},
		{"row s-maxage: below minTTL", withMin(time.Minute, 80*time.Second), 200, []string{"Cache-Control", "max-age=3600, s-maxage=10"}, nil, true, time.Minute},
		{"row s-maxage: inside", withMin(time.Minute, 80*time.Second), 200, []string{"Cache-Control", "max-age=3600, s-maxage=70"}, nil, true, 70 * time.Second},
		{"row s-maxage: above maxTTL", withMin(time.Minute, 80*time.Second), 200, []string{"Cache-Control", "max-age=10, s-maxage=3600"}, nil, true, 80 * time.Second},
		{"row Expires: below minTTL", withMin(time.Minute, 80*time.Second), 200, []string{"Date", date, "Expires", now.Add(10 * time.Second).Format(http.TimeFormat)}, nil, true, time.Minute},
		{"row Expires: inside", withMin(time.Minute, 80*time.Second), 200, []string{"Date", date, "Expires", now.Add(70 * time.Second).Format(http.TimeFormat)}, nil, true, 70 * time.Second},
		{"row Expires: above maxTTL", withMin(time.Minute, 80*time.Second), 200, []string{"Date", date, "Expires", inAnHour}, nil, true, 80 * time.Second},
		{"row Expires in the past, minTTL 0, validator", std, 200, []string{"Date", date, "Expires", now.Add(-time.Hour).Format(http.TimeFormat), "ETag", `"a"`}, nil, true, 0},
		{"row Expires in the past, minTTL 0, no validator", std, 200, []string{"Date", date, "Expires", now.Add(-time.Hour).Format(http.TimeFormat)}, nil, false, 0},
		{"row Expires in the past, minTTL 60", withMin(time.Minute, 80*time.Second), 200, []string{"Date", date, "Expires", now.Add(-time.Hour).Format(http.TimeFormat)}, nil, true, time.Minute},
		{"row max-age=0, minTTL 0, validator: revalidate each use", std, 200, []string{"Cache-Control", "max-age=0", "Last-Modified", date}, nil, true, 0},
		{"row s-maxage=0 beats max-age", std, 200, []string{"Cache-Control", "max-age=600, s-maxage=0", "ETag", `"a"`}, nil, true, 0},
		// Expiration table, last row: with minTTL > 0, no-cache, no-store
		// and private responses are kept for minTTL, whatever max-age says.
		{"private max-age=3600, minTTL 60", withMin(time.Minute, time.Hour), 200, []string{"Cache-Control", "private, max-age=3600"}, nil, true, time.Minute},
		{"no-cache max-age=3600, minTTL 60", withMin(time.Minute, time.Hour), 200, []string{"Cache-Control", "no-cache, max-age=3600"}, nil, true, time.Minute},
		{"no-store s-maxage=3600, minTTL 60", withMin(time.Minute, time.Hour), 200, []string{"Cache-Control", "no-store, s-maxage=3600"}, nil, true, time.Minute},
		{"no-cache Expires in an hour, minTTL 60", withMin(time.Minute, time.Hour), 200, []string{"Cache-Control", "no-cache", "Date", date, "Expires", inAnHour}, nil, true, time.Minute},
		// 3xx (http-3xx-status-codes): cached by the distribution's
		// settings and the headers; 307 and 308 only with Cache-Control.
		{"302 without freshness: defaultTTL", std, 302, nil, nil, true, 24 * time.Hour},
		{"303 without freshness: defaultTTL", std, 303, nil, nil, true, 24 * time.Hour},
		{"307 without freshness", std, 307, nil, nil, false, 0},
		{"308 without freshness", std, 308, nil, nil, false, 0},
		{"308 with max-age", std, 308, []string{"Cache-Control", "max-age=60"}, nil, true, time.Minute},
		// HTTPStatusCodes: CloudFront caches only its listed error codes;
		// 410 is not one of them, so no defaultTTL for it.
		{"410 without freshness", std, 410, nil, nil, false, 0},
		// HTTPStatusCodes, "HTTP 4xx and 5xx status codes that CloudFront
		// caches": 404, 414 and 5xx always; 400, 403, 405, 412 and 415
		// only with freshness of their own, then like the others.
		{"400 without freshness", errorTTLs, 400, nil, nil, false, 0},
		{"403 without freshness", errorTTLs, 403, nil, nil, false, 0},
		{"405 without freshness", errorTTLs, 405, nil, nil, false, 0},
		// HTTPStatusCodes names only max-age and s-maxage; Expires counts
		// for errors in custom-error-pages-expiration and RFC 9111.
		{"403 with Expires only", errorTTLs, 403, []string{"Date", date, "Expires", inAnHour}, nil, true, time.Hour},
		{"403 no-store without max-age", errorTTLs, 403, []string{"Cache-Control", "no-store"}, nil, false, 0},
		{"403 max-age below the error TTL", errorTTLs, 403, []string{"Cache-Control", "max-age=5"}, nil, true, 10 * time.Second},
		{"400 s-maxage above the error TTL", errorTTLs, 400, []string{"Cache-Control", "s-maxage=60"}, nil, true, time.Minute},
		{"405 max-age=0: the error TTL", errorTTLs, 405, []string{"Cache-Control", "max-age=0"}, nil, true, 10 * time.Second},
		{"412 max-age below the error TTL", errorTTLs, 412, []string{"Cache-Control", "max-age=5"}, nil, true, 10 * time.Second},
		{"415 max-age below the error TTL", errorTTLs, 415, []string{"Cache-Control", "max-age=5"}, nil, true, 10 * time.Second},
		{"412 without freshness", errorTTLs, 412, nil, nil, false, 0},
		{"414 without freshness: error TTL", errorTTLs, 414, nil, nil, true, 10 * time.Second},
		{"502 without freshness: error TTL", errorTTLs, 502, nil, nil, true, 10 * time.Second},
		{"504 Expires: greater of it and the error TTL", errorTTLs, 504, []string{"Date", date, "Expires", inAnHour}, nil, true, time.Hour},
		// Same page: "If you're using the CachingDisabled managed cache
		// policy, CloudFront won't cache these status codes or custom
		// error pages", whatever errorCachingMinTTL or the origin says.
		{"CachingDisabled: 404 without freshness", allZeroErrors, 404, nil, nil, false, 0},
		{"CachingDisabled: 503 without freshness", allZeroErrors, 503, nil, nil, false, 0},
		{"CachingDisabled: 500 max-age", allZeroErrors, 500, []string{"Cache-Control", "max-age=60", "ETag", `"a"`}, nil, false, 0},
		{"CachingDisabled: 403 s-maxage", allZeroErrors, 403, []string{"Cache-Control", "s-maxage=60"}, nil, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := pairs(tt.header)
			var req http.Header
			if tt.req != nil {
				req = pairs(tt.req)
			}
			d := decide(tt.status, h, parseCacheControl(h), tt.p, req, now)
			if d.store != tt.store || d.store && d.ttl != tt.ttl {
				t.Errorf("decide = store %v ttl %v (%s), want store %v ttl %v", d.store, d.ttl, d.why, tt.store, tt.ttl)
			}
		})
	}
}

// TestErrorLifetime: how long the edge keeps the custom error page that
// stands in for an origin's error: as long as the error would be kept, and
// not at all when CloudFront would not keep the error (HTTPStatusCodes.html,
// custom-error-pages-expiration.html).
func TestErrorLifetime(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	p := Policy{Cacheable: true, DefaultTTL: time.Hour, MaxTTL: time.Hour, ErrorTTL: 10 * time.Second, ErrorTTLs: map[int]time.Duration{416: time.Minute}}
	disabled := p
	disabled.DefaultTTL, disabled.MaxTTL = 0, 0
	tests := []struct {
		name   string
		p      Policy
		status int
		header []string
		want   time.Duration
	}{
		{"404: errorCachingMinTTL", p, 404, nil, 10 * time.Second},
		{"503 max-age above it", p, 503, []string{"Cache-Control", "max-age=60"}, time.Minute},
		{"503 max-age above maxTTL", p, 503, []string{"Cache-Control", "max-age=7200"}, time.Hour},
		{"403 without max-age: not kept", p, 403, nil, 0},
		{"403 with s-maxage", p, 403, []string{"Cache-Control", "s-maxage=1"}, 10 * time.Second},
		// "CloudFront doesn't cache status code 416 responses, so
		// although you can specify a value for Error Caching Minimum TTL
		// for status code 416, CloudFront doesn't use it."
		{"416: never kept, whatever errorCachingMinTTL says", p, 416, nil, 0},
		{"416 with max-age: never kept", p, 416, []string{"Cache-Control", "max-age=60"}, 0},
		{"CachingDisabled: not kept", disabled, 404, nil, 0},
		// custom-error-pages-expiration.html: "CloudFront doesn't cache"
		// a 404, 410, 414 or 501 with no-store, no-cache or private.
		{"404 no-store: not kept", p, 404, []string{"Cache-Control", "no-store"}, 0},
		{"501 private: not kept", p, 501, []string{"Cache-Control", "private"}, 0},
		{"503 no-store: kept all the same", p, 503, []string{"Cache-Control", "no-store"}, 10 * time.Second},
		{"500 with Vary *: not kept", p, 500, []string{"Vary", "*"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.p.ErrorLifetime(tt.status, pairs(tt.header), now); got != tt.want {
				t.Errorf("ErrorLifetime = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestInitialAge(t *testing.T) {
	resp := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		header []string
		req    time.Time
		want   time.Duration
	}{
		{"no Date, no Age", nil, resp, 0},
		{"Date 30s ago", []string{"Date", resp.Add(-30 * time.Second).Format(http.TimeFormat)}, resp, 30 * time.Second},
		{"Age larger than apparent age", []string{"Date", resp.Format(http.TimeFormat), "Age", "100"}, resp, 100 * time.Second},
		{"response delay added to Age", []string{"Age", "10"}, resp.Add(-2 * time.Second), 12 * time.Second},
		{"Date in the future", []string{"Date", resp.Add(time.Hour).Format(http.TimeFormat)}, resp, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := initialAge(pairs(tt.header), tt.req, resp); got != tt.want {
				t.Errorf("initialAge = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseRange(t *testing.T) {
	tests := []struct {
		in   string
		size int64
		want []byteRange
		err  error
	}{
		{"bytes=0-99", 1000, []byteRange{{0, 100}}, nil},
		{"bytes=-10", 1000, []byteRange{{990, 10}}, nil},
		{"bytes=990-", 1000, []byteRange{{990, 10}}, nil},
		{"bytes=990-5000", 1000, []byteRange{{990, 10}}, nil},
		{"bytes=0-9, 20-29", 1000, []byteRange{{0, 10}, {20, 10}}, nil},
		{"bytes=-5000", 1000, []byteRange{{0, 1000}}, nil},
		{"bytes=2000-3000", 1000, nil, errUnsatisfiable},
		{"bytes=2000-3000, 0-0", 1000, []byteRange{{0, 1}}, nil},
		{"bytes=-0", 1000, nil, errUnsatisfiable},
		{"bytes=5-1", 1000, nil, errBadRange},
		{"bytes=abc", 1000, nil, errBadRange},
		{"items=0-1", 1000, nil, errBadRange},
		{"bytes=0-999,0-999", 1000, nil, errBadRange},
		// CloudFront (RangeGETs): ranges out of ascending order or
		// overlapping get the whole object, 200.
		{"bytes=300-400,100-200", 1000, nil, errBadRange},
		{"bytes=100-200,150-250", 1000, nil, errBadRange},
		{"bytes=-10,0-9", 1000, nil, errBadRange},
		{"bytes=0-9,10-19", 1000, []byteRange{{0, 10}, {10, 10}}, nil},
		{"bytes=0-9,-10", 1000, []byteRange{{0, 10}, {990, 10}}, nil},
	}
	for _, tt := range tests {
		got, err := parseRange(tt.in, tt.size)
		if err != tt.err || len(got) != len(tt.want) {
			t.Errorf("parseRange(%q) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.err)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("parseRange(%q)[%d] = %v, want %v", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func TestNegotiate(t *testing.T) {
	gzipOnly, brOnly := Policy{NoBrotli: true}, Policy{NoGzip: true}
	tests := []struct {
		p    Policy
		ae   []string
		want string
	}{
		{Policy{}, nil, "identity"},
		{Policy{}, []string{"gzip, deflate, br"}, "br"},
		{Policy{}, []string{"gzip"}, "gzip"},
		{Policy{}, []string{"br;q=0, gzip"}, "gzip"},
		{Policy{}, []string{"*"}, "br"},
		{Policy{}, []string{"*;q=0"}, "identity"},
		{Policy{}, []string{"identity"}, "identity"},
		{Policy{}, []string{"gzip;q=0.5", "br;q=0.0"}, "gzip"},
		// A cache policy that enables one coding: the other is never served.
		{gzipOnly, []string{"gzip, deflate, br"}, "gzip"},
		{gzipOnly, []string{"br"}, "identity"},
		{brOnly, []string{"gzip, br"}, "br"},
		{brOnly, []string{"gzip"}, "identity"},
	}
	for _, tt := range tests {
		if got := tt.p.negotiate(tt.ae); got != tt.want {
			t.Errorf("%+v: negotiate(%q) = %q, want %q", tt.p, tt.ae, got, tt.want)
		}
	}
}

func pairs(kv []string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}
