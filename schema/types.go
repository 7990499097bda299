package schema

// The Go form of the CUE schema. Field names and JSON tags follow the CUE
// definitions one to one; TestGoTypesMatchSchema fails when they drift.
// Values decoded from a vetted config carry every default, so the daemon never
// applies defaults of its own.

import "iter"

// Config is #Config.
type Config struct {
	Distributions          map[string]*Distribution          `json:"distributions"`
	StreamingDistributions map[string]*StreamingDistribution `json:"streamingDistributions"`
	KeyGroups              map[string]*KeyGroup              `json:"keyGroups"`
	// TrustStores are the config's trust stores for viewer mutual TLS, by
	// the name distributions give in viewerMtlsConfig.trustStoreConfig.
	TrustStores map[string]*TrustStore `json:"trustStores,omitempty"`
	// ResponseHeadersPolicies are the config's own response headers
	// policies, by the name behaviors give in responseHeadersPolicy.
	ResponseHeadersPolicies map[string]*ResponseHeadersPolicy `json:"responseHeadersPolicies,omitempty"`
	// CachePolicies are the config's own cache policies, by the name
	// behaviors give in cachePolicy.
	CachePolicies map[string]*CachePolicy `json:"cachePolicies,omitempty"`
	// OriginRequestPolicies are the config's own origin request policies,
	// by the name behaviors give in originRequestPolicy.
	OriginRequestPolicies map[string]*OriginRequestPolicy `json:"originRequestPolicies,omitempty"`
	// Functions are the config's CloudFront Functions, by the name
	// behaviors give in functionAssociations.
	Functions map[string]*Function `json:"functions,omitempty"`
	// KeyValueStores are the config's CloudFront KeyValueStores, by the
	// name functions give in keyValueStoreAssociations.
	KeyValueStores map[string]*KeyValueStore `json:"keyValueStores,omitempty"`
	// ContinuousDeploymentPolicies are the config's continuous deployment
	// policies, by the name primaries give in continuousDeploymentPolicyId.
	ContinuousDeploymentPolicies map[string]*ContinuousDeploymentPolicy `json:"continuousDeploymentPolicies,omitempty"`
	// WebACLs are the config's AWS WAF web ACLs, by the name
	// distributions give in webACLId.
	WebACLs map[string]*WebACL `json:"webACLs,omitempty"`
	// IPSets are the config's AWS WAF IP sets, by the name an
	// ipSetReferenceStatement gives in arn.
	IPSets map[string]*IPSet `json:"ipSets,omitempty"`
	// RegexPatternSets are the config's AWS WAF regex pattern sets, by
	// the name a regexPatternSetReferenceStatement gives in arn.
	RegexPatternSets map[string]*RegexPatternSet `json:"regexPatternSets,omitempty"`
	// RuleGroups are the config's AWS WAF rule groups, by the name a
	// ruleGroupReferenceStatement gives in arn (schema/wafgroup.cue).
	RuleGroups map[string]*RuleGroup `json:"ruleGroups,omitempty"`
	Tests      []RouteTest           `json:"tests,omitempty"`
}

// Distribution is #Distribution, a web distribution.
type Distribution struct {
	Enabled              bool                  `json:"enabled"`
	Comment              string                `json:"comment"`
	Aliases              []string              `json:"aliases"`
	Origins              []Origin              `json:"origins"`
	OriginGroups         []OriginGroup         `json:"originGroups"`
	DefaultCacheBehavior CacheBehavior         `json:"defaultCacheBehavior"`
	CacheBehaviors       []CacheBehavior       `json:"cacheBehaviors"`
	DefaultRootObject    string                `json:"defaultRootObject"`
	CustomErrorResponses []CustomErrorResponse `json:"customErrorResponses"`
	Logging              Logging               `json:"logging"`
	Restrictions         Restrictions          `json:"restrictions"`
	ViewerCertificate    ViewerCertificate     `json:"viewerCertificate"`
	HTTPVersion          string                `json:"httpVersion"`
	IsIPV6Enabled        bool                  `json:"isIPV6Enabled"`
	// Staging and ContinuousDeploymentPolicyID are left out of the JSON
	// when unset, so distributions without continuous deployment keep
	// their content hash (and their cache).
	Staging                      bool   `json:"staging,omitempty"`
	ContinuousDeploymentPolicyID string `json:"continuousDeploymentPolicyId,omitempty"`
	// WebACLID names the config's web ACL; omitted when unset, so a
	// distribution without one keeps its content hash.
	WebACLID string `json:"webACLId,omitempty"`
	// ViewerMtlsConfig is nil without viewer mutual TLS; omitted then, so
	// a distribution without it keeps its content hash.
	ViewerMtlsConfig *ViewerMtlsConfig `json:"viewerMtlsConfig,omitempty"`
}

// Origin is #Origin; exactly one of the *OriginConfig fields is set.
type Origin struct {
	ID                 string              `json:"id"`
	DomainName         string              `json:"domainName,omitempty"`
	OriginPath         string              `json:"originPath"`
	CustomHeaders      []CustomHeader      `json:"customHeaders"`
	ConnectionAttempts int                 `json:"connectionAttempts"`
	ConnectionTimeout  int                 `json:"connectionTimeout"`
	CustomOriginConfig *CustomOriginConfig `json:"customOriginConfig,omitempty"`
	S3OriginConfig     *S3OriginConfig     `json:"s3OriginConfig,omitempty"`
	LocalOriginConfig  *LocalOriginConfig  `json:"localOriginConfig,omitempty"`
	LiveOriginConfig   *LiveOriginConfig   `json:"liveOriginConfig,omitempty"`
	OriginShield       *OriginShield       `json:"originShield,omitempty"`

	// ResponseCompletionTimeout is in seconds; 0 (unset) is no maximum.
	ResponseCompletionTimeout int `json:"responseCompletionTimeout,omitempty"`
}

// OriginShield is #OriginShield.
type OriginShield struct {
	Enabled            bool   `json:"enabled"`
	OriginShieldRegion string `json:"originShieldRegion,omitempty"`
}

// ShieldRegion is the region of the origin's shield, "" when it has none.
func (o *Origin) ShieldRegion() string {
	if o.OriginShield == nil || !o.OriginShield.Enabled {
		return ""
	}
	return o.OriginShield.OriginShieldRegion
}

// CustomHeader is #CustomHeader, a header added to origin requests.
type CustomHeader struct {
	HeaderName  string `json:"headerName"`
	HeaderValue string `json:"headerValue"`
}

// CustomOriginConfig is #CustomOriginConfig.
type CustomOriginConfig struct {
	HTTPPort               int      `json:"httpPort"`
	HTTPSPort              int      `json:"httpsPort"`
	OriginProtocolPolicy   string   `json:"originProtocolPolicy"`
	OriginReadTimeout      int      `json:"originReadTimeout"`
	OriginKeepaliveTimeout int      `json:"originKeepaliveTimeout"`
	OriginSSLProtocols     []string `json:"originSslProtocols"`
}

// S3OriginConfig is #S3OriginConfig.
type S3OriginConfig struct {
	Endpoint           string `json:"endpoint,omitempty"`
	Bucket             string `json:"bucket,omitempty"`
	Region             string `json:"region,omitempty"`
	SignRequests       bool   `json:"signRequests"`
	CredentialsProfile string `json:"credentialsProfile,omitempty"`
	// OriginReadTimeout is in seconds; 0 (an S3 origin made in Go, not
	// from a config) is CloudFront's default, 30.
	OriginReadTimeout int `json:"originReadTimeout,omitempty"`
}

// LocalOriginConfig is #LocalOriginConfig.
type LocalOriginConfig struct {
	Path string `json:"path"`
}

// LiveOriginConfig is #LiveOriginConfig.
type LiveOriginConfig struct {
	StreamingDistribution string `json:"streamingDistribution"`
}

// OriginGroup is #OriginGroup.
type OriginGroup struct {
	ID               string              `json:"id"`
	FailoverCriteria FailoverCriteria    `json:"failoverCriteria"`
	Members          []OriginGroupMember `json:"members"`
	// SelectionCriteria is "default" when set (schema/origin.cue).
	SelectionCriteria string `json:"selectionCriteria,omitempty"`
}

// FailoverCriteria lists the primary's statuses that send a request to the secondary.
type FailoverCriteria struct {
	StatusCodes []int `json:"statusCodes"`
}

// OriginGroupMember names one origin of a group.
type OriginGroupMember struct {
	OriginID string `json:"originId"`
}

// CacheBehavior is #CacheBehavior, or #PathCacheBehavior when PathPattern is set.
type CacheBehavior struct {
	PathPattern          string          `json:"pathPattern,omitempty"`
	TargetOriginID       string          `json:"targetOriginId"`
	ViewerProtocolPolicy string          `json:"viewerProtocolPolicy"`
	AllowedMethods       []string        `json:"allowedMethods"`
	CachedMethods        []string        `json:"cachedMethods"`
	ForwardedValues      ForwardedValues `json:"forwardedValues"`
	MinTTL               int64           `json:"minTTL"`
	DefaultTTL           int64           `json:"defaultTTL"`
	MaxTTL               int64           `json:"maxTTL"`
	Compress             bool            `json:"compress"`
	TrustedKeyGroups     []string        `json:"trustedKeyGroups"`
	// OriginRequestPolicy names a managed origin request policy or one
	// of the config's originRequestPolicies.
	OriginRequestPolicy string `json:"originRequestPolicy,omitempty"`
	// ResponseHeadersPolicy names a managed response headers policy or
	// one of the config's responseHeadersPolicies.
	ResponseHeadersPolicy string `json:"responseHeadersPolicy,omitempty"`
	// CachePolicy names a managed cache policy or one of the config's
	// cachePolicies: the behavior's key and TTLs then come from it.
	CachePolicy string `json:"cachePolicy,omitempty"`
	// FunctionAssociations name the config's functions that run on the
	// behavior's viewer events.
	FunctionAssociations []FunctionAssociation `json:"functionAssociations,omitempty"`
	// GrpcConfig proxies the behavior's gRPC requests to its origin.
	GrpcConfig GrpcConfig `json:"grpcConfig"`
}

// GrpcConfig is CloudFront's GrpcConfig.
type GrpcConfig struct {
	Enabled bool `json:"enabled"`
}

// Function is #Function, CloudFront's FunctionConfig and FunctionCode.
type Function struct {
	Comment      string `json:"comment"`
	Runtime      string `json:"runtime"`
	FunctionCode string `json:"functionCode"`
	// KeyValueStoreAssociations names the key value store the code reads
	// through cf.kvs(): one at most.
	KeyValueStoreAssociations []string `json:"keyValueStoreAssociations,omitempty"`
}

// KeyValueStore is #KeyValueStore, CloudFront's KeyValueStore with its keys.
type KeyValueStore struct {
	Comment string `json:"comment"`
	// ID is CloudFront's Id of the store, which code may name it by in
	// cf.kvs(id).
	ID   string            `json:"id,omitempty"`
	Data map[string]string `json:"data"`
}

// ContinuousDeploymentPolicy is #ContinuousDeploymentPolicy, CloudFront's
// ContinuousDeploymentPolicyConfig.
type ContinuousDeploymentPolicy struct {
	Enabled               bool          `json:"enabled"`
	StagingDistributionID string        `json:"stagingDistributionId"`
	TrafficConfig         TrafficConfig `json:"trafficConfig"`
}

// TrafficConfig is #TrafficConfig; the config of its type is set.
type TrafficConfig struct {
	Type               string              `json:"type"`
	SingleWeightConfig *SingleWeightConfig `json:"singleWeightConfig,omitempty"`
	SingleHeaderConfig *SingleHeaderConfig `json:"singleHeaderConfig,omitempty"`
}

// SingleWeightConfig sends a share of requests to staging.
type SingleWeightConfig struct {
	Weight                  float64                  `json:"weight"`
	SessionStickinessConfig *SessionStickinessConfig `json:"sessionStickinessConfig,omitempty"`
}

// SessionStickinessConfig keeps a viewer on one side; TTLs in seconds.
type SessionStickinessConfig struct {
	IdleTTL    int `json:"idleTTL"`
	MaximumTTL int `json:"maximumTTL"`
}

// SingleHeaderConfig sends requests with a header and value to staging.
type SingleHeaderConfig struct {
	Header string `json:"header"`
	Value  string `json:"value"`
}

// FunctionAssociation is #FunctionAssociation.
type FunctionAssociation struct {
	EventType    string `json:"eventType"`
	FunctionName string `json:"functionName"`
}

// FunctionFor is the name of the function b runs on eventType, or "".
func (b *CacheBehavior) FunctionFor(eventType string) string {
	for _, a := range b.FunctionAssociations {
		if a.EventType == eventType {
			return a.FunctionName
		}
	}
	return ""
}

// CachePolicy is #CachePolicy, CloudFront's CachePolicyConfig.
type CachePolicy struct {
	Comment                                  string             `json:"comment"`
	MinTTL                                   int64              `json:"minTTL"`
	DefaultTTL                               int64              `json:"defaultTTL"`
	MaxTTL                                   int64              `json:"maxTTL"`
	ParametersInCacheKeyAndForwardedToOrigin CacheKeyParameters `json:"parametersInCacheKeyAndForwardedToOrigin"`
}

// CacheKeyParameters is #CacheKeyParameters: what a cache policy keys on
// and forwards.
type CacheKeyParameters struct {
	EnableAcceptEncodingGzip   bool               `json:"enableAcceptEncodingGzip"`
	EnableAcceptEncodingBrotli bool               `json:"enableAcceptEncodingBrotli"`
	HeadersConfig              HeadersConfig      `json:"headersConfig"`
	CookiesConfig              CookiesConfig      `json:"cookiesConfig"`
	QueryStringsConfig         QueryStringsConfig `json:"queryStringsConfig"`
}

// HeadersConfig is #CacheKeyParameters.headersConfig.
type HeadersConfig struct {
	HeaderBehavior string   `json:"headerBehavior"`
	Headers        []string `json:"headers"`
}

// CookiesConfig is #CacheKeyParameters.cookiesConfig.
type CookiesConfig struct {
	CookieBehavior string   `json:"cookieBehavior"`
	Cookies        []string `json:"cookies"`
}

// QueryStringsConfig is #CacheKeyParameters.queryStringsConfig.
type QueryStringsConfig struct {
	QueryStringBehavior string   `json:"queryStringBehavior"`
	QueryStrings        []string `json:"queryStrings"`
}

// OriginRequestPolicy is #OriginRequestPolicy, CloudFront's
// OriginRequestPolicyConfig: what a behavior forwards beside its cache key.
// Its configs have the cache key's shapes, with more behaviors: headers
// allViewer, allViewerAndWhitelistCloudFront and allExcept.
type OriginRequestPolicy struct {
	Comment            string             `json:"comment"`
	HeadersConfig      HeadersConfig      `json:"headersConfig"`
	CookiesConfig      CookiesConfig      `json:"cookiesConfig"`
	QueryStringsConfig QueryStringsConfig `json:"queryStringsConfig"`
}

// ResponseHeadersPolicy is #ResponseHeadersPolicy, CloudFront's
// ResponseHeadersPolicyConfig: headers the edge adds to, or removes from,
// the responses of the behaviors that use it.
type ResponseHeadersPolicy struct {
	Comment                   string                     `json:"comment"`
	CorsConfig                *CorsConfig                `json:"corsConfig,omitempty"`
	SecurityHeadersConfig     *SecurityHeadersConfig     `json:"securityHeadersConfig,omitempty"`
	CustomHeadersConfig       []ResponseCustomHeader     `json:"customHeadersConfig"`
	RemoveHeadersConfig       []RemoveHeader             `json:"removeHeadersConfig"`
	ServerTimingHeadersConfig *ServerTimingHeadersConfig `json:"serverTimingHeadersConfig,omitempty"`
}

// CorsConfig is #CorsConfig: the CORS headers of a response headers policy.
type CorsConfig struct {
	AccessControlAllowOrigins     []string `json:"accessControlAllowOrigins"`
	AccessControlAllowHeaders     []string `json:"accessControlAllowHeaders"`
	AccessControlAllowMethods     []string `json:"accessControlAllowMethods"`
	AccessControlAllowCredentials bool     `json:"accessControlAllowCredentials"`
	AccessControlExposeHeaders    []string `json:"accessControlExposeHeaders"`
	AccessControlMaxAgeSec        *int64   `json:"accessControlMaxAgeSec,omitempty"`
	OriginOverride                bool     `json:"originOverride"`
}

// SecurityHeadersConfig is #SecurityHeadersConfig; a nil member adds nothing.
type SecurityHeadersConfig struct {
	XSSProtection           *XSSProtection           `json:"xssProtection,omitempty"`
	FrameOptions            *FrameOptions            `json:"frameOptions,omitempty"`
	ReferrerPolicy          *ReferrerPolicy          `json:"referrerPolicy,omitempty"`
	ContentSecurityPolicy   *ContentSecurityPolicy   `json:"contentSecurityPolicy,omitempty"`
	ContentTypeOptions      *ContentTypeOptions      `json:"contentTypeOptions,omitempty"`
	StrictTransportSecurity *StrictTransportSecurity `json:"strictTransportSecurity,omitempty"`
}

// XSSProtection is X-XSS-Protection.
type XSSProtection struct {
	Override   bool   `json:"override"`
	Protection bool   `json:"protection"`
	ModeBlock  bool   `json:"modeBlock"`
	ReportURI  string `json:"reportUri,omitempty"`
}

// FrameOptions is X-Frame-Options.
type FrameOptions struct {
	Override    bool   `json:"override"`
	FrameOption string `json:"frameOption"`
}

// ReferrerPolicy is Referrer-Policy.
type ReferrerPolicy struct {
	Override       bool   `json:"override"`
	ReferrerPolicy string `json:"referrerPolicy"`
}

// ContentSecurityPolicy is Content-Security-Policy.
type ContentSecurityPolicy struct {
	Override              bool   `json:"override"`
	ContentSecurityPolicy string `json:"contentSecurityPolicy"`
}

// ContentTypeOptions is X-Content-Type-Options: nosniff.
type ContentTypeOptions struct {
	Override bool `json:"override"`
}

// StrictTransportSecurity is Strict-Transport-Security.
type StrictTransportSecurity struct {
	Override               bool  `json:"override"`
	IncludeSubdomains      bool  `json:"includeSubdomains"`
	Preload                bool  `json:"preload"`
	AccessControlMaxAgeSec int64 `json:"accessControlMaxAgeSec"`
}

// ResponseCustomHeader is a custom header of a response headers policy.
type ResponseCustomHeader struct {
	Header   string `json:"header"`
	Value    string `json:"value"`
	Override bool   `json:"override"`
}

// RemoveHeader names a header a response headers policy removes.
type RemoveHeader struct {
	Header string `json:"header"`
}

// ServerTimingHeadersConfig turns on the Server-Timing header for
// SamplingRate percent of responses (and those a viewer asks it for).
type ServerTimingHeadersConfig struct {
	Enabled      bool    `json:"enabled"`
	SamplingRate float64 `json:"samplingRate"`
}

// AllBehaviors yields cacheBehaviors in order, then defaultCacheBehavior.
func (d *Distribution) AllBehaviors() iter.Seq[*CacheBehavior] {
	return func(yield func(*CacheBehavior) bool) {
		for i := range d.CacheBehaviors {
			if !yield(&d.CacheBehaviors[i]) {
				return
			}
		}
		yield(&d.DefaultCacheBehavior)
	}
}

// ForwardedValues is #ForwardedValues: what enters the cache key and reaches the origin.
type ForwardedValues struct {
	QueryString          bool     `json:"queryString"`
	QueryStringCacheKeys []string `json:"queryStringCacheKeys"`
	Cookies              Cookies  `json:"cookies"`
	Headers              []string `json:"headers"`
	// QueryStringsExcept are the parameters a cache policy's allExcept
	// leaves out, when QueryString is true. Never in a config: the table
	// sets it from the policy (as Cookies.Forward "allExcept").
	QueryStringsExcept []string `json:"-"`
}

// Cookies is #ForwardedValues.cookies.
type Cookies struct {
	Forward          string   `json:"forward"`
	WhitelistedNames []string `json:"whitelistedNames"`
}

// CustomErrorResponse is #CustomErrorResponse.
type CustomErrorResponse struct {
	ErrorCode          int    `json:"errorCode"`
	ResponsePagePath   string `json:"responsePagePath,omitempty"`
	ResponseCode       int    `json:"responseCode,omitempty"`
	ErrorCachingMinTTL int64  `json:"errorCachingMinTTL"`
}

// Logging is #Logging.
type Logging struct {
	Enabled            bool   `json:"enabled"`
	IncludeCookies     bool   `json:"includeCookies"`
	Bucket             string `json:"bucket,omitempty"`
	Endpoint           string `json:"endpoint,omitempty"`
	Region             string `json:"region,omitempty"`
	Prefix             string `json:"prefix"`
	CredentialsProfile string `json:"credentialsProfile,omitempty"`
}

// Restrictions is CloudFront's Restrictions.
type Restrictions struct {
	GeoRestriction GeoRestriction `json:"geoRestriction"`
}

// GeoRestriction is #GeoRestriction.
type GeoRestriction struct {
	RestrictionType string   `json:"restrictionType"`
	Items           []string `json:"items"`
}

// ViewerCertificate is #ViewerCertificate.
type ViewerCertificate struct {
	CloudFrontDefaultCertificate bool   `json:"cloudFrontDefaultCertificate,omitempty"`
	CertificateName              string `json:"certificateName,omitempty"`
	SSLSupportMethod             string `json:"sslSupportMethod"`
	MinimumProtocolVersion       string `json:"minimumProtocolVersion"`
}

// ViewerMtlsConfig is #ViewerMtlsConfig.
type ViewerMtlsConfig struct {
	Mode string `json:"mode"`
	// TrustStoreConfig is nil in passthrough mode.
	TrustStoreConfig *TrustStoreConfig `json:"trustStoreConfig,omitempty"`
}

// TrustStoreConfig is #TrustStoreConfig.
type TrustStoreConfig struct {
	TrustStoreID               string `json:"trustStoreId"`
	AdvertiseTrustStoreCaNames bool   `json:"advertiseTrustStoreCaNames"`
	IgnoreCertificateExpiry    bool   `json:"ignoreCertificateExpiry"`
}

// TrustStore is #TrustStore.
type TrustStore struct {
	Comment              string `json:"comment"`
	CACertificatesBundle string `json:"caCertificatesBundle"`
}

// StreamingDistribution is #StreamingDistribution, an RTMP distribution.
type StreamingDistribution struct {
	Enabled          bool     `json:"enabled"`
	Comment          string   `json:"comment"`
	Aliases          []string `json:"aliases"`
	S3Origin         S3Origin `json:"s3Origin"`
	Logging          Logging  `json:"logging"`
	TrustedKeyGroups []string `json:"trustedKeyGroups"`
	Live             *Live    `json:"live,omitempty"`
}

// S3Origin is #S3Origin.
type S3Origin struct {
	DomainName string `json:"domainName"`
	S3OriginConfig
}

// Live is #Live.
type Live struct {
	Enabled         bool     `json:"enabled"`
	StreamKeySHA256 []string `json:"streamKeySHA256"`
	StreamKeySecret string   `json:"streamKeySecret,omitempty"`
}

// KeyGroup is #KeyGroup.
type KeyGroup struct {
	Comment    string      `json:"comment"`
	PublicKeys []PublicKey `json:"publicKeys"`
}

// PublicKey is #PublicKey.
type PublicKey struct {
	ID         string `json:"id"`
	EncodedKey string `json:"encodedKey"`
	Comment    string `json:"comment"`
}

// RouteTest is #RouteTest.
type RouteTest struct {
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
	Method  string            `json:"method"`
	// ViewerCountry is the viewer's country; "": unknown.
	ViewerCountry string `json:"viewerCountry,omitempty"`
	// ViewerIP is the viewer's address; "": 127.0.0.1.
	ViewerIP string `json:"viewerIp,omitempty"`
	// Response is the origin's answer to assume; nil: none.
	Response *RouteResponse `json:"response,omitempty"`
	Expect   RouteExpect    `json:"expect"`
}

// RouteResponse is #RouteTest.response.
type RouteResponse struct {
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
}

// RouteExpect is what a route test expects.
type RouteExpect struct {
	Distribution string `json:"distribution"`
	Behavior     string `json:"behavior,omitempty"`
	Origin       string `json:"origin,omitempty"`
	// What the behavior's viewer-request function does.
	URI     string            `json:"uri,omitempty"`
	Status  int               `json:"status,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
	// Of the request the viewer-request function returns.
	Query   map[string]string `json:"query,omitempty"`
	Cookies map[string]string `json:"cookies,omitempty"`
	// What the viewer gets with Response.
	ResponseHeaders map[string]string `json:"responseHeaders,omitempty"`
}
