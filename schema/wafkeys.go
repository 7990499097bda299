package schema

// IPSetForwardedIPConfig is #IPSetForwardedIPConfig.
type IPSetForwardedIPConfig struct {
	HeaderName       string `json:"headerName"`
	FallbackBehavior string `json:"fallbackBehavior"`
	Position         string `json:"position"`
}

// RateCustomKey is #RateCustomKey: one of its fields is set.
type RateCustomKey struct {
	Header         *RateKeyNamed     `json:"header,omitempty"`
	Cookie         *RateKeyNamed     `json:"cookie,omitempty"`
	QueryArgument  *RateKeyNamed     `json:"queryArgument,omitempty"`
	QueryString    *RateKeyTransform `json:"queryString,omitempty"`
	URIPath        *RateKeyTransform `json:"uriPath,omitempty"`
	HTTPMethod     *struct{}         `json:"httpMethod,omitempty"`
	IP             *struct{}         `json:"ip,omitempty"`
	ForwardedIP    *struct{}         `json:"forwardedIP,omitempty"`
	LabelNamespace *RateKeyLabel     `json:"labelNamespace,omitempty"`
	// ASN is accepted so that vet names it as unsupported.
	ASN any `json:"asn,omitempty"`
}

// RateKeyNamed is #RateKeyNamed: a header, cookie or query argument.
type RateKeyNamed struct {
	Name                string               `json:"name"`
	TextTransformations []TextTransformation `json:"textTransformations"`
}

// RateKeyTransform is #RateKeyTransform.
type RateKeyTransform struct {
	TextTransformations []TextTransformation `json:"textTransformations"`
}

// RateKeyLabel is #RateKeyLabel.
type RateKeyLabel struct {
	Namespace string `json:"namespace"`
}
