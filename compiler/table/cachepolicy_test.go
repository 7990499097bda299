package table

import (
	"slices"
	"testing"

	"openfront.dev/schema"
)

// TestKeyedQuery: the query a behavior keys on (and forwards), by its
// forwarded values or its cache policy's query strings.
func TestKeyedQuery(t *testing.T) {
	tests := []struct {
		name string
		fv   schema.ForwardedValues
		raw  string
		want string
	}{
		{"none", schema.ForwardedValues{}, "a=1&b=2", ""},
		{"all", schema.ForwardedValues{QueryString: true}, "b=2&a=1", "b=2&a=1"},
		{"listed, viewer's order", schema.ForwardedValues{QueryString: true, QueryStringCacheKeys: []string{"a", "c"}}, "c=3&b=2&a=1", "c=3&a=1"},
		{"listed, encoded names", schema.ForwardedValues{QueryString: true, QueryStringCacheKeys: []string{"a b"}}, "a%20b=1&a+b=2&ab=3", "a%20b=1&a+b=2"},
		{"all except", schema.ForwardedValues{QueryString: true, QueryStringsExcept: []string{"utm_source", "fbclid"}}, "id=7&utm_source=x&fbclid=y&page=2", "id=7&page=2"},
		{"all except keeps undecodable names", schema.ForwardedValues{QueryString: true, QueryStringsExcept: []string{"x"}}, "%zz=1&x=2", "%zz=1"},
		{"all except, nothing left", schema.ForwardedValues{QueryString: true, QueryStringsExcept: []string{"x"}}, "x=1", ""},
	}
	for _, tt := range tests {
		if got := KeyedQuery(tt.fv, tt.raw); got != tt.want {
			t.Errorf("%s: KeyedQuery(%q) = %q, want %q", tt.name, tt.raw, got, tt.want)
		}
	}
}

// TestWithCachePolicy: what each managed policy makes of a behavior.
func TestWithCachePolicy(t *testing.T) {
	b := &schema.CacheBehavior{TargetOriginID: "o", Compress: true, MinTTL: 5, DefaultTTL: 6, MaxTTL: 7,
		ForwardedValues: schema.ForwardedValues{QueryString: true, Headers: []string{"X-Old"}}}
	tests := []struct {
		policy           string
		min, def, max    int64
		compress         bool
		headers          []string
		cookies          string
		queryString      bool
		queryKeys, other []string
	}{
		{"CachingOptimized", 1, 86400, 31536000, true, nil, "none", false, nil, nil},
		{"CachingOptimizedForUncompressedObjects", 1, 86400, 31536000, false, nil, "none", false, nil, nil},
		{"CachingDisabled", 0, 0, 0, false, nil, "none", false, nil, nil},
		{"UseOriginCacheControlHeaders", 0, 0, 31536000, true, originHeaders, "all", false, nil, nil},
		{"UseOriginCacheControlHeaders-QueryStrings", 0, 0, 31536000, true, originHeaders, "all", true, nil, nil},
		{"Elemental-MediaPackage", 0, 86400, 31536000, true, []string{"Origin"}, "none", true, []string{"aws.manifestfilter", "start", "end", "m"}, nil},
		// "Minimum TTL: 2 seconds; Maximum TTL: 600 seconds; Default TTL:
		// 2 seconds; Headers included in cache key: Authorization,
		// CloudFront-Viewer-Country, Host; Cookies: All; Query strings:
		// All; Cache compressed objects: Enabled" (using-managed-cache-policies).
		{"Amplify", 2, 2, 600, true, []string{"Authorization", "CloudFront-Viewer-Country", "Host"}, "all", true, nil, nil},
	}
	for _, tt := range tests {
		p := ManagedCachePolicies[tt.policy]
		if p == nil {
			t.Fatalf("%s: no such managed policy", tt.policy)
		}
		got := WithCachePolicy(b, p)
		fv := got.ForwardedValues
		if got.MinTTL != tt.min || got.DefaultTTL != tt.def || got.MaxTTL != tt.max || got.Compress != tt.compress ||
			!slices.Equal(fv.Headers, tt.headers) && len(fv.Headers)+len(tt.headers) > 0 || fv.Cookies.Forward != tt.cookies ||
			fv.QueryString != tt.queryString || !slices.Equal(fv.QueryStringCacheKeys, tt.queryKeys) && len(fv.QueryStringCacheKeys)+len(tt.queryKeys) > 0 {
			t.Errorf("%s: got TTLs %d/%d/%d, compress %v, %+v", tt.policy, got.MinTTL, got.DefaultTTL, got.MaxTTL, got.Compress, fv)
		}
	}
	if b.MinTTL != 5 || len(b.ForwardedValues.Headers) != 1 {
		t.Errorf("the behavior itself changed: %+v", b)
	}
	custom := &schema.CachePolicy{MinTTL: 0, DefaultTTL: 60, MaxTTL: 600, ParametersInCacheKeyAndForwardedToOrigin: schema.CacheKeyParameters{
		EnableAcceptEncodingBrotli: true,
		HeadersConfig:              schema.HeadersConfig{HeaderBehavior: "whitelist", Headers: []string{"Accept-Language"}},
		CookiesConfig:              schema.CookiesConfig{CookieBehavior: "allExcept", Cookies: []string{"_ga"}},
		QueryStringsConfig:         schema.QueryStringsConfig{QueryStringBehavior: "allExcept", QueryStrings: []string{"utm_source"}},
	}}
	got := WithCachePolicy(b, custom).ForwardedValues
	if !got.QueryString || !slices.Equal(got.QueryStringsExcept, []string{"utm_source"}) || len(got.QueryStringCacheKeys) != 0 ||
		got.Cookies.Forward != "allExcept" || !slices.Equal(got.Cookies.WhitelistedNames, []string{"_ga"}) ||
		!slices.Equal(got.Headers, []string{"Accept-Language"}) {
		t.Errorf("custom: %+v", got)
	}
}
