package schema

// The Go form of the CUE schema. Field names and JSON tags follow the CUE
// definitions one to one; TestGoTypesMatchSchema fails when they drift.
// Values decoded from a vetted config carry every default, so the daemon never
// applies defaults of its own.

// Config is #Config.
type Config struct {
	Distributions          map[string]*Distribution          `json:"distributions"`
	StreamingDistributions map[string]*StreamingDistribution `json:"streamingDistributions"`
	KeyGroups              map[string]*KeyGroup              `json:"keyGroups"`
	Tests                  []RouteTest                       `json:"tests,omitempty"`
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
	OriginRequestPolicy  string          `json:"originRequestPolicy,omitempty"`
}

// ForwardedValues is #ForwardedValues: what enters the cache key and reaches the origin.
type ForwardedValues struct {
	QueryString          bool     `json:"queryString"`
	QueryStringCacheKeys []string `json:"queryStringCacheKeys"`
	Cookies              Cookies  `json:"cookies"`
	Headers              []string `json:"headers"`
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
	Expect  RouteExpect       `json:"expect"`
}

// RouteExpect is what a route test expects.
type RouteExpect struct {
	Distribution string `json:"distribution"`
	Behavior     string `json:"behavior,omitempty"`
	Origin       string `json:"origin,omitempty"`
}
