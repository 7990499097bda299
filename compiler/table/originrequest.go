package table

import (
	"openfront.dev/schema"
)

// ManagedOriginRequestPolicies are CloudFront's managed origin request
// policies (using-managed-origin-request-policies.md), by name.
var ManagedOriginRequestPolicies = map[string]*schema.OriginRequestPolicy{
	"AllViewer":                 originRequestPolicy("allViewer", nil, "all", "all"),
	"AllViewerExceptHostHeader": originRequestPolicy("allExcept", []string{"Host"}, "all", "all"),
	// The CloudFront headers of June 2022 (CloudFrontHeaders).
	"AllViewerAndCloudFrontHeaders-2022-06": originRequestPolicy("allViewerAndWhitelistCloudFront", CloudFrontHeaders, "all", "all"),
	// S3 answers a CORS request with "Vary: Origin,
	// Access-Control-Request-Headers, Access-Control-Request-Method".
	"CORS-S3Origin":           originRequestPolicy("whitelist", []string{"Origin", "Access-Control-Request-Headers", "Access-Control-Request-Method"}, "none", "none"),
	"CORS-CustomOrigin":       originRequestPolicy("whitelist", []string{"Origin"}, "none", "none"),
	"UserAgentRefererHeaders": originRequestPolicy("whitelist", []string{"User-Agent", "Referer"}, "none", "none"),
	// The viewer's Host, which the edge sends in place of the origin's
	// domainName (origin.Request.ForwardHost).
	"HostHeaderOnly": originRequestPolicy("whitelist", []string{"Host"}, "none", "none"),
}

func originRequestPolicy(headers string, names []string, cookies, query string) *schema.OriginRequestPolicy {
	return &schema.OriginRequestPolicy{
		HeadersConfig:      schema.HeadersConfig{HeaderBehavior: headers, Headers: names},
		CookiesConfig:      schema.CookiesConfig{CookieBehavior: cookies, Cookies: []string{}},
		QueryStringsConfig: schema.QueryStringsConfig{QueryStringBehavior: query, QueryStrings: []string{}},
	}
}

// OriginRequestPolicy returns the policy a behavior's originRequestPolicy
// names: a managed one, or one of cfg's.
func OriginRequestPolicy(cfg *schema.Config, name string) *schema.OriginRequestPolicy {
	if p := ManagedOriginRequestPolicies[name]; p != nil {
		return p
	}
	return cfg.OriginRequestPolicies[name]
}
