package schema

// The Go form of schema/waf.cue. Fields typed any are WAF's that openfront
// does not enforce: decoded only so that vet can name them.

// WebACL is #WebACL.
type WebACL struct {
	Description          string                           `json:"description"`
	DefaultAction        WAFDefaultAction                 `json:"defaultAction"`
	Rules                []WAFRule                        `json:"rules"`
	VisibilityConfig     map[string]any                   `json:"visibilityConfig,omitempty"`
	CustomResponseBodies map[string]WAFCustomResponseBody `json:"customResponseBodies,omitempty"`
	CaptchaConfig        any                              `json:"captchaConfig,omitempty"`
	ChallengeConfig      any                              `json:"challengeConfig,omitempty"`
	TokenDomains         any                              `json:"tokenDomains,omitempty"`
	AssociationConfig    *WAFAssociationConfig            `json:"associationConfig,omitempty"`
	LabelNamespace       string                           `json:"labelNamespace,omitempty"`
}

// WAFAssociationConfig is #WAFAssociationConfig.
type WAFAssociationConfig struct {
	RequestBody *struct {
		CloudFront *WAFRequestBodyConfig `json:"CLOUDFRONT,omitempty"`
	} `json:"requestBody,omitempty"`
}

// WAFRequestBodyConfig is #WAFRequestBodyConfig.
type WAFRequestBodyConfig struct {
	DefaultSizeInspectionLimit string `json:"defaultSizeInspectionLimit"`
}

// WAFDefaultAction is #WAFDefaultAction.
type WAFDefaultAction struct {
	Allow *WAFAllowAction `json:"allow,omitempty"`
	Block *WAFBlockAction `json:"block,omitempty"`
}

// WAFRule is #WAFRule.
type WAFRule struct {
	Name             string             `json:"name"`
	Priority         int                `json:"priority"`
	Statement        WAFStatement       `json:"statement"`
	Action           *WAFRuleAction     `json:"action,omitempty"`
	VisibilityConfig map[string]any     `json:"visibilityConfig,omitempty"`
	OverrideAction   *WAFOverrideAction `json:"overrideAction,omitempty"`
	RuleLabels       []WAFLabel         `json:"ruleLabels,omitempty"`
	CaptchaConfig    any                `json:"captchaConfig,omitempty"`
	ChallengeConfig  any                `json:"challengeConfig,omitempty"`
}

// WAFRuleAction is #WAFRuleAction.
type WAFRuleAction struct {
	Allow     *WAFAllowAction `json:"allow,omitempty"`
	Block     *WAFBlockAction `json:"block,omitempty"`
	Count     *WAFCountAction `json:"count,omitempty"`
	Captcha   any             `json:"captcha,omitempty"`
	Challenge any             `json:"challenge,omitempty"`
}

// WAFCountAction is #WAFRuleAction.count.
type WAFCountAction struct {
	CustomRequestHandling *WAFCustomRequestHandling `json:"customRequestHandling,omitempty"`
}

// WAFAllowAction is #WAFAllowAction.
type WAFAllowAction struct {
	CustomRequestHandling *WAFCustomRequestHandling `json:"customRequestHandling,omitempty"`
}

// WAFBlockAction is #WAFBlockAction.
type WAFBlockAction struct {
	CustomResponse *WAFCustomResponse `json:"customResponse,omitempty"`
}

// WAFCustomResponse is #WAFCustomResponse.
type WAFCustomResponse struct {
	ResponseCode          int                   `json:"responseCode"`
	CustomResponseBodyKey string                `json:"customResponseBodyKey,omitempty"`
	ResponseHeaders       []WAFCustomHTTPHeader `json:"responseHeaders,omitempty"`
}

// WAFStatement is #WAFStatement.
type WAFStatement struct {
	ByteMatchStatement                *ByteMatchStatement                `json:"byteMatchStatement,omitempty"`
	GeoMatchStatement                 *GeoMatchStatement                 `json:"geoMatchStatement,omitempty"`
	IPSetReferenceStatement           *IPSetReferenceStatement           `json:"ipSetReferenceStatement,omitempty"`
	RateBasedStatement                *RateBasedStatement                `json:"rateBasedStatement,omitempty"`
	AndStatement                      *WAFStatements                     `json:"andStatement,omitempty"`
	OrStatement                       *WAFStatements                     `json:"orStatement,omitempty"`
	NotStatement                      *WAFNotStatement                   `json:"notStatement,omitempty"`
	ManagedRuleGroupStatement         any                                `json:"managedRuleGroupStatement,omitempty"`
	RuleGroupReferenceStatement       *RuleGroupReferenceStatement       `json:"ruleGroupReferenceStatement,omitempty"`
	RegexMatchStatement               *RegexMatchStatement               `json:"regexMatchStatement,omitempty"`
	RegexPatternSetReferenceStatement *RegexPatternSetReferenceStatement `json:"regexPatternSetReferenceStatement,omitempty"`
	SizeConstraintStatement           *SizeConstraintStatement           `json:"sizeConstraintStatement,omitempty"`
	SqliMatchStatement                *SqliMatchStatement                `json:"sqliMatchStatement,omitempty"`
	XssMatchStatement                 *XssMatchStatement                 `json:"xssMatchStatement,omitempty"`
	LabelMatchStatement               *LabelMatchStatement               `json:"labelMatchStatement,omitempty"`
	AsnMatchStatement                 *AsnMatchStatement                 `json:"asnMatchStatement,omitempty"`
}

// WAFStatements is #WAFStatement.andStatement and orStatement.
type WAFStatements struct {
	Statements []WAFStatement `json:"statements"`
}

// WAFNotStatement is #WAFStatement.notStatement.
type WAFNotStatement struct {
	Statement WAFStatement `json:"statement"`
}

// ByteMatchStatement is #ByteMatchStatement.
type ByteMatchStatement struct {
	SearchString         string               `json:"searchString"`
	FieldToMatch         WAFFieldToMatch      `json:"fieldToMatch"`
	PositionalConstraint string               `json:"positionalConstraint"`
	TextTransformations  []TextTransformation `json:"textTransformations"`
	SearchStringBase64   any                  `json:"searchStringBase64,omitempty"`
}

// SizeConstraintStatement is #SizeConstraintStatement.
type SizeConstraintStatement struct {
	FieldToMatch        WAFFieldToMatch      `json:"fieldToMatch"`
	ComparisonOperator  string               `json:"comparisonOperator"`
	Size                int64                `json:"size"`
	TextTransformations []TextTransformation `json:"textTransformations"`
}

// RegexMatchStatement is #RegexMatchStatement.
type RegexMatchStatement struct {
	RegexString         string               `json:"regexString"`
	FieldToMatch        WAFFieldToMatch      `json:"fieldToMatch"`
	TextTransformations []TextTransformation `json:"textTransformations"`
}

// RegexPatternSetReferenceStatement is #RegexPatternSetReferenceStatement.
type RegexPatternSetReferenceStatement struct {
	ARN                 string               `json:"arn"`
	FieldToMatch        WAFFieldToMatch      `json:"fieldToMatch"`
	TextTransformations []TextTransformation `json:"textTransformations"`
}

// RegexPatternSet is #RegexPatternSet.
type RegexPatternSet struct {
	Description           string     `json:"description"`
	RegularExpressionList []WAFRegex `json:"regularExpressionList"`
}

// WAFRegex is #WAFRegex.
type WAFRegex struct {
	RegexString string `json:"regexString"`
}

// SqliMatchStatement is #SqliMatchStatement.
type SqliMatchStatement struct {
	FieldToMatch        WAFFieldToMatch      `json:"fieldToMatch"`
	TextTransformations []TextTransformation `json:"textTransformations"`
	SensitivityLevel    string               `json:"sensitivityLevel"`
}

// XssMatchStatement is #XssMatchStatement.
type XssMatchStatement struct {
	FieldToMatch        WAFFieldToMatch      `json:"fieldToMatch"`
	TextTransformations []TextTransformation `json:"textTransformations"`
}

// WAFFieldToMatch is #WAFFieldToMatch.
type WAFFieldToMatch struct {
	URIPath             *struct{}               `json:"uriPath,omitempty"`
	QueryString         *struct{}               `json:"queryString,omitempty"`
	Method              *struct{}               `json:"method,omitempty"`
	SingleHeader        *WAFSingleHeader        `json:"singleHeader,omitempty"`
	SingleQueryArgument *WAFSingleQueryArgument `json:"singleQueryArgument,omitempty"`
	AllQueryArguments   *struct{}               `json:"allQueryArguments,omitempty"`
	Body                *WAFBody                `json:"body,omitempty"`
	JSONBody            *WAFJSONBody            `json:"jsonBody,omitempty"`
	Headers             *WAFHeaders             `json:"headers,omitempty"`
	Cookies             *WAFCookies             `json:"cookies,omitempty"`
	HeaderOrder         any                     `json:"headerOrder,omitempty"`
	JA3Fingerprint      *WAFFallback            `json:"ja3Fingerprint,omitempty"`
	JA4Fingerprint      *WAFFallback            `json:"ja4Fingerprint,omitempty"`
	URIFragment         *WAFFallback            `json:"uriFragment,omitempty"`
}

// WAFHeaders is #WAFHeaders.
type WAFHeaders struct {
	MatchPattern     WAFHeaderMatchPattern `json:"matchPattern"`
	MatchScope       string                `json:"matchScope"`
	OversizeHandling string                `json:"oversizeHandling"`
}

// WAFHeaderMatchPattern is #WAFHeaderMatchPattern: a list given, even
// empty, is non-nil.
type WAFHeaderMatchPattern struct {
	All             *struct{} `json:"all,omitempty"`
	IncludedHeaders []string  `json:"includedHeaders,omitempty"`
	ExcludedHeaders []string  `json:"excludedHeaders,omitempty"`
}

// WAFCookies is #WAFCookies.
type WAFCookies struct {
	MatchPattern     WAFCookieMatchPattern `json:"matchPattern"`
	MatchScope       string                `json:"matchScope"`
	OversizeHandling string                `json:"oversizeHandling"`
}

// WAFCookieMatchPattern is #WAFCookieMatchPattern.
type WAFCookieMatchPattern struct {
	All             *struct{} `json:"all,omitempty"`
	IncludedCookies []string  `json:"includedCookies,omitempty"`
	ExcludedCookies []string  `json:"excludedCookies,omitempty"`
}

// WAFBody is #WAFFieldToMatch.body.
type WAFBody struct {
	OversizeHandling string `json:"oversizeHandling,omitempty"`
}

// WAFJSONBody is #WAFJSONBody.
type WAFJSONBody struct {
	MatchPattern            WAFJSONMatchPattern `json:"matchPattern"`
	MatchScope              string              `json:"matchScope"`
	InvalidFallbackBehavior string              `json:"invalidFallbackBehavior,omitempty"`
	OversizeHandling        string              `json:"oversizeHandling,omitempty"`
}

// WAFJSONMatchPattern is #WAFJSONMatchPattern: a list given, even empty,
// is non-nil.
type WAFJSONMatchPattern struct {
	All           *struct{} `json:"all,omitempty"`
	IncludedPaths []string  `json:"includedPaths,omitempty"`
}

// WAFSingleQueryArgument is #WAFFieldToMatch.singleQueryArgument.
type WAFSingleQueryArgument struct {
	Name string `json:"name"`
}

// WAFSingleHeader is #WAFFieldToMatch.singleHeader.
type WAFSingleHeader struct {
	Name string `json:"name"`
}

// TextTransformation is #TextTransformation.
type TextTransformation struct {
	Priority int    `json:"priority"`
	Type     string `json:"type"`
}

// GeoMatchStatement is #GeoMatchStatement.
type GeoMatchStatement struct {
	CountryCodes      []string           `json:"countryCodes"`
	ForwardedIPConfig *ForwardedIPConfig `json:"forwardedIPConfig,omitempty"`
}

// IPSetReferenceStatement is #IPSetReferenceStatement.
type IPSetReferenceStatement struct {
	ARN                    string                  `json:"arn"`
	IPSetForwardedIPConfig *IPSetForwardedIPConfig `json:"ipSetForwardedIPConfig,omitempty"`
}

// RateBasedStatement is #RateBasedStatement.
type RateBasedStatement struct {
	Limit               int64              `json:"limit"`
	EvaluationWindowSec int                `json:"evaluationWindowSec"`
	AggregateKeyType    string             `json:"aggregateKeyType"`
	ForwardedIPConfig   *ForwardedIPConfig `json:"forwardedIPConfig,omitempty"`
	ScopeDownStatement  *WAFStatement      `json:"scopeDownStatement,omitempty"`
	CustomKeys          []RateCustomKey    `json:"customKeys,omitempty"`
}

// ForwardedIPConfig is #ForwardedIPConfig.
type ForwardedIPConfig struct {
	HeaderName       string `json:"headerName"`
	FallbackBehavior string `json:"fallbackBehavior"`
}

// IPSet is #IPSet.
type IPSet struct {
	Description      string   `json:"description"`
	IPAddressVersion string   `json:"ipAddressVersion"`
	Addresses        []string `json:"addresses"`
}

// AsnMatchStatement is #AsnMatchStatement.
type AsnMatchStatement struct {
	AsnList           []int64            `json:"asnList"`
	ForwardedIPConfig *ForwardedIPConfig `json:"forwardedIPConfig,omitempty"`
}

// WAFFallback is #WAFFallback.
type WAFFallback struct {
	FallbackBehavior string `json:"fallbackBehavior,omitempty"`
}

// WAFLabel is #WAFLabel.
type WAFLabel struct {
	Name string `json:"name"`
}

// LabelMatchStatement is #LabelMatchStatement.
type LabelMatchStatement struct {
	Scope string `json:"scope"`
	Key   string `json:"key"`
}

// WAFCustomResponseBody is #WAFCustomResponseBody.
type WAFCustomResponseBody struct {
	ContentType string `json:"contentType"`
	Content     string `json:"content"`
}

// WAFCustomHTTPHeader is #WAFCustomHTTPHeader.
type WAFCustomHTTPHeader struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// WAFCustomRequestHandling is #WAFCustomRequestHandling.
type WAFCustomRequestHandling struct {
	InsertHeaders []WAFCustomHTTPHeader `json:"insertHeaders"`
}
