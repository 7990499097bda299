package table

import (
	"net/textproto"
	"slices"

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
	// For an AWS Elemental MediaTailor endpoint: every query string.
	"Elemental-MediaTailor-PersonalizedManifests": originRequestPolicy("whitelist", []string{"Origin",
		"Access-Control-Request-Headers", "Access-Control-Request-Method", "User-Agent", "X-Forwarded-For"}, "none", "all"),
	// The viewer's Host, which the edge sends in place of the origin's
	// domainName (origin.Request.ForwardHost).
	"HostHeaderOnly": originRequestPolicy("whitelist", []string{"Host"}, "none", "none"),
}

// managedCloudFrontHeaders are the CloudFront headers a managed policy
// adds beside what its HeadersConfig says, which allExcept cannot say:
// the policy for API Gateway and Lambda function URL origins also adds
// the protocol, HTTP version, TLS, device and viewer location headers
// (using-managed-origin-request-policies), the June 2022 list: requests
// CloudFront sent through it to a function URL carry them all, and no
// JA3 fingerprint.
var managedCloudFrontHeaders = map[string][]string{
	"AllViewerExceptHostHeader": CloudFrontHeaders,
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

// OriginRequest is what a behavior's origin request policy forwards,
// resolved once at build time; the edge forwards it beside what the cache
// key holds (Spec.ForwardedValues). The zero value forwards nothing.
type OriginRequest struct {
	// Name is the policy's; "" for none.
	Name string
	// AllHeaders forwards every viewer header but Except (allViewer,
	// allViewerAndWhitelistCloudFront, allExcept); else Headers are.
	AllHeaders bool
	// Headers and Except are canonical names.
	Headers, Except []string
	// Cookies are the cookies forwarded, in forwardedValues' terms (with
	// Forward "allExcept").
	Cookies schema.Cookies
	// Query holds the query parameters forwarded, in forwardedValues'
	// terms (QueryString, QueryStringCacheKeys, QueryStringsExcept).
	Query schema.ForwardedValues
}

// ResolveOriginRequest is policy p, named name, as the edge applies it;
// the zero OriginRequest for a nil p.
func ResolveOriginRequest(name string, p *schema.OriginRequestPolicy) OriginRequest {
	if p == nil {
		return OriginRequest{}
	}
	o := OriginRequest{Name: name, Cookies: schema.Cookies{Forward: "none"}}
	canonical := func(hs []string) []string {
		out := make([]string, len(hs))
		for i, h := range hs {
			out[i] = textproto.CanonicalMIMEHeaderKey(h)
		}
		return out
	}
	switch h := p.HeadersConfig; h.HeaderBehavior {
	case "whitelist":
		o.Headers = canonical(h.Headers)
	case "allViewer", "allViewerAndWhitelistCloudFront":
		o.AllHeaders = true
	case "allExcept":
		o.AllHeaders, o.Except = true, canonical(h.Headers)
	}
	switch c := p.CookiesConfig; c.CookieBehavior {
	case "whitelist", "allExcept":
		o.Cookies = schema.Cookies{Forward: c.CookieBehavior, WhitelistedNames: c.Cookies}
	case "all":
		o.Cookies.Forward = "all"
	}
	switch q := p.QueryStringsConfig; q.QueryStringBehavior {
	case "whitelist":
		o.Query = schema.ForwardedValues{QueryString: true, QueryStringCacheKeys: q.QueryStrings}
	case "allExcept":
		o.Query = schema.ForwardedValues{QueryString: true, QueryStringsExcept: q.QueryStrings}
	case "all":
		o.Query.QueryString = true
	}
	return o
}

// ForwardsAll reports a policy that forwards every header (but those it
// excepts), cookie and query parameter: beside legacy forwardedValues the
// edge then keys on the query alone, and the origin's Vary selects.
func (o *OriginRequest) ForwardsAll() bool {
	return o.AllHeaders && o.Cookies.Forward == "all" && o.Query.QueryString &&
		len(o.Query.QueryStringCacheKeys) == 0 && len(o.Query.QueryStringsExcept) == 0
}

// ForwardsHeader reports whether the policy forwards the viewer's header
// k (canonical).
func (o *OriginRequest) ForwardsHeader(k string) bool {
	if o.AllHeaders {
		return !slices.Contains(o.Except, k)
	}
	return slices.Contains(o.Headers, k)
}
