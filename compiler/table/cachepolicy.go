package table

import (
	"slices"

	"openfront.dev/schema"
)

// ManagedCachePolicies are CloudFront's managed cache policies
// (using-managed-cache-policies.md), by name.
var ManagedCachePolicies = map[string]*schema.CachePolicy{
	"CachingOptimized": {MinTTL: 1, DefaultTTL: 86400, MaxTTL: 31536000,
		ParametersInCacheKeyAndForwardedToOrigin: keyParameters(true, true, nil, "none", nil, "none", nil)},
	"CachingOptimizedForUncompressedObjects": {MinTTL: 1, DefaultTTL: 86400, MaxTTL: 31536000,
		ParametersInCacheKeyAndForwardedToOrigin: keyParameters(false, false, nil, "none", nil, "none", nil)},
	"CachingDisabled": {MinTTL: 0, DefaultTTL: 0, MaxTTL: 0,
		ParametersInCacheKeyAndForwardedToOrigin: keyParameters(false, false, nil, "none", nil, "none", nil)},
	"UseOriginCacheControlHeaders": {MinTTL: 0, DefaultTTL: 0, MaxTTL: 31536000,
		ParametersInCacheKeyAndForwardedToOrigin: keyParameters(true, true, originHeaders, "all", nil, "none", nil)},
	"UseOriginCacheControlHeaders-QueryStrings": {MinTTL: 0, DefaultTTL: 0, MaxTTL: 31536000,
		ParametersInCacheKeyAndForwardedToOrigin: keyParameters(true, true, originHeaders, "all", nil, "all", nil)},
	"Elemental-MediaPackage": {MinTTL: 0, DefaultTTL: 86400, MaxTTL: 31536000,
		ParametersInCacheKeyAndForwardedToOrigin: keyParameters(true, false, []string{"Origin"}, "none", nil,
			"whitelist", []string{"aws.manifestfilter", "start", "end", "m"})},
	// For an AWS Amplify web app: TTLs of 2, 2 and 600 seconds, keyed on
	// every cookie and query string and on three headers.
	"Amplify": {MinTTL: 2, DefaultTTL: 2, MaxTTL: 600,
		ParametersInCacheKeyAndForwardedToOrigin: keyParameters(true, true,
			[]string{"Authorization", "CloudFront-Viewer-Country", "Host"}, "all", nil, "all", nil)},
}

// originHeaders are what the UseOriginCacheControlHeaders policies key on.
var originHeaders = []string{"Host", "Origin", "X-HTTP-Method-Override", "X-HTTP-Method", "X-Method-Override"}

func keyParameters(gzip, brotli bool, headers []string, cookies string, cookieNames []string, query string, queryNames []string) schema.CacheKeyParameters {
	p := schema.CacheKeyParameters{EnableAcceptEncodingGzip: gzip, EnableAcceptEncodingBrotli: brotli,
		HeadersConfig:      schema.HeadersConfig{HeaderBehavior: "none", Headers: []string{}},
		CookiesConfig:      schema.CookiesConfig{CookieBehavior: cookies, Cookies: cookieNames},
		QueryStringsConfig: schema.QueryStringsConfig{QueryStringBehavior: query, QueryStrings: queryNames},
	}
	if len(headers) > 0 {
		p.HeadersConfig = schema.HeadersConfig{HeaderBehavior: "whitelist", Headers: headers}
	}
	return p
}

// CachePolicy returns the policy a behavior's cachePolicy names: a
// managed one, or one of cfg's.
func CachePolicy(cfg *schema.Config, name string) *schema.CachePolicy {
	if p := ManagedCachePolicies[name]; p != nil {
		return p
	}
	return cfg.CachePolicies[name]
}

// WithCachePolicy is behavior b as policy p makes it: p's TTLs, and p's
// key parameters as forwardedValues, which the edge keys on and forwards.
// compress holds only where p lets the accepted encodings into the key.
// b is not changed: the result is a copy.
func WithCachePolicy(b *schema.CacheBehavior, p *schema.CachePolicy) *schema.CacheBehavior {
	out := *b
	out.MinTTL, out.DefaultTTL, out.MaxTTL = p.MinTTL, p.DefaultTTL, p.MaxTTL
	k := p.ParametersInCacheKeyAndForwardedToOrigin
	out.Compress = b.Compress && (k.EnableAcceptEncodingGzip || k.EnableAcceptEncodingBrotli)
	fv := schema.ForwardedValues{Headers: []string{}, QueryStringCacheKeys: []string{},
		Cookies: schema.Cookies{Forward: "none", WhitelistedNames: []string{}}}
	if k.HeadersConfig.HeaderBehavior == "whitelist" {
		fv.Headers = slices.Clone(k.HeadersConfig.Headers)
	}
	switch c := k.CookiesConfig; c.CookieBehavior {
	case "whitelist", "allExcept":
		fv.Cookies = schema.Cookies{Forward: c.CookieBehavior, WhitelistedNames: slices.Clone(c.Cookies)}
	case "all":
		fv.Cookies.Forward = "all"
	}
	switch q := k.QueryStringsConfig; q.QueryStringBehavior {
	case "whitelist":
		fv.QueryString, fv.QueryStringCacheKeys = true, slices.Clone(q.QueryStrings)
	case "allExcept":
		fv.QueryString, fv.QueryStringsExcept = true, slices.Clone(q.QueryStrings)
	case "all":
		fv.QueryString = true
	}
	out.ForwardedValues = fv
	return &out
}
