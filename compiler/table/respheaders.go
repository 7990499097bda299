package table

import (
	"fmt"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"

	"openfront.dev/schema"
)

// ManagedResponseHeadersPolicies are CloudFront's managed response headers
// policies (using-managed-response-headers-policies.md), by name. Of the
// security headers only X-Content-Type-Options overrides the origin's; of
// the CORS headers none do.
var ManagedResponseHeadersPolicies = map[string]*schema.ResponseHeadersPolicy{
	"SimpleCORS":                                    {CorsConfig: simpleCORS()},
	"CORS-With-Preflight":                           {CorsConfig: preflightCORS()},
	"SecurityHeadersPolicy":                         {SecurityHeadersConfig: managedSecurityHeaders()},
	"CORS-and-SecurityHeadersPolicy":                {CorsConfig: simpleCORS(), SecurityHeadersConfig: managedSecurityHeaders()},
	"CORS-with-preflight-and-SecurityHeadersPolicy": {CorsConfig: preflightCORS(), SecurityHeadersConfig: managedSecurityHeaders()},
}

func simpleCORS() *schema.CorsConfig {
	return &schema.CorsConfig{AccessControlAllowOrigins: []string{"*"}}
}

func preflightCORS() *schema.CorsConfig {
	return &schema.CorsConfig{
		AccessControlAllowOrigins:  []string{"*"},
		AccessControlAllowHeaders:  []string{"*"},
		AccessControlAllowMethods:  []string{"ALL"},
		AccessControlExposeHeaders: []string{"*"},
	}
}

func managedSecurityHeaders() *schema.SecurityHeadersConfig {
	return &schema.SecurityHeadersConfig{
		XSSProtection:           &schema.XSSProtection{Protection: true, ModeBlock: true},
		FrameOptions:            &schema.FrameOptions{FrameOption: "SAMEORIGIN"},
		ReferrerPolicy:          &schema.ReferrerPolicy{ReferrerPolicy: "strict-origin-when-cross-origin"},
		ContentTypeOptions:      &schema.ContentTypeOptions{Override: true},
		StrictTransportSecurity: &schema.StrictTransportSecurity{AccessControlMaxAgeSec: 31536000},
	}
}

// ResponseHeadersPolicy returns the policy a behavior's
// responseHeadersPolicy names: a managed one, or one of cfg's.
func ResponseHeadersPolicy(cfg *schema.Config, name string) *schema.ResponseHeadersPolicy {
	if p := ManagedResponseHeadersPolicies[name]; p != nil {
		return p
	}
	return cfg.ResponseHeadersPolicies[name]
}

// UnremovableHeaders are the headers a response headers policy cannot
// remove (understanding-response-headers-policies.md, "Headers that you
// can't remove"), canonical; a name ending in "*" stands for its prefix.
var UnremovableHeaders = []string{
	"Connection", "Content-Encoding", "Content-Length", "Expect", "Host", "Keep-Alive",
	"Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection", "Trailer",
	"Transfer-Encoding", "Upgrade", "Via", "Warning", "X-Accel-Buffering", "X-Accel-Charset",
	"X-Accel-Limit-Rate", "X-Accel-Redirect", "X-Amz-Cf-*", "X-Amzn-Auth", "X-Amzn-Cf-Billing",
	"X-Amzn-Cf-Id", "X-Amzn-Cf-Xff", "X-Amzn-Errortype", "X-Amzn-Fle-Profile",
	"X-Amzn-Header-Count", "X-Amzn-Header-Order", "X-Amzn-Lambda-Integration-Tag",
	"X-Amzn-Requestid", "X-Cache", "X-Edge-*", "X-Forwarded-Proto", "X-Real-Ip",
	// openfront's own, as CloudFront's X-Amz-Cf-Id.
	"X-Openfront-*",
}

// Unremovable reports whether a policy may not remove header name.
func Unremovable(name string) bool {
	k := textproto.CanonicalMIMEHeaderKey(name)
	for _, u := range UnremovableHeaders {
		if p, ok := strings.CutSuffix(u, "*"); ok && strings.HasPrefix(k, p) || k == u {
			return true
		}
	}
	return false
}

// ResponseHeaders is a response headers policy compiled for the edge: the
// header values worked out once, canonical names.
type ResponseHeaders struct {
	Name   string
	Remove []string
	CORS   *CORSHeaders // nil: no CORS headers
	// Set are the security and custom headers, in that order.
	Set          []PolicyHeader
	ServerTiming bool
	// SamplingRate is Server-Timing's share of responses, 0 to 1.
	SamplingRate float64
}

// PolicyHeader is one header a policy sets; without Override the origin's
// own value wins.
type PolicyHeader struct {
	Name, Value string
	Override    bool
	// Values is []string{Value}, shared by every response: never appended
	// to in place (its capacity is 1).
	Values []string
}

// CORSHeaders are a policy's CORS headers, sent to a request with an Origin.
type CORSHeaders struct {
	AnyOrigin bool
	// Origins are the allowed origins (scheme://host[:port]), lower case; a
	// host starting with "*." matches any name below the rest.
	Origins          []string
	AllowCredentials bool
	ExposeHeaders    string // "" none
	// The preflight's (an OPTIONS with Access-Control-Request-Method).
	AllowMethods, AllowHeaders, MaxAge string
	OriginOverride                     bool
}

// allMethods is what "ALL" allows.
var allMethods = []string{"DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"}

// PolicyProblem is something a response headers policy gets wrong, at
// Path, its field's selectors below the policy (as "corsConfig", 0).
type PolicyProblem struct {
	Path []any
	Msg  string
}

// ResponseHeadersProblems are what p gets wrong, in field order: the
// compiler reports each at its field, and CompileResponseHeaders refuses
// a policy with any.
func ResponseHeadersProblems(p *schema.ResponseHeadersPolicy) []PolicyProblem {
	var out []PolicyProblem
	add := func(msg string, path ...any) { out = append(out, PolicyProblem{path, msg}) }
	for i, r := range p.RemoveHeadersConfig {
		if Unremovable(r.Header) {
			add(fmt.Sprintf("removeHeadersConfig: CloudFront cannot remove %s", r.Header), "removeHeadersConfig", i, "header")
		}
	}
	if c := p.CorsConfig; c != nil {
		for i, o := range c.AccessControlAllowOrigins {
			if o == "*" {
				continue
			}
			if err := checkOriginPattern(o); err != nil {
				add("corsConfig: "+err.Error(), "corsConfig", "accessControlAllowOrigins", i)
			}
		}
		if c.AccessControlAllowCredentials && slices.Contains(c.AccessControlAllowOrigins, "*") {
			// Browsers refuse credentials with "*" (Fetch, CORS check).
			add(`corsConfig: accessControlAllowCredentials: true needs named origins: browsers refuse credentials with "Access-Control-Allow-Origin: *"`,
				"corsConfig", "accessControlAllowCredentials")
		}
	}
	// Who sets each header already, for a custom header that sets it again.
	setBy := map[string]string{}
	if s := p.SecurityHeadersConfig; s != nil {
		for _, h := range securityHeaders(s) {
			setBy[h.Name] = "securityHeadersConfig"
		}
	}
	for i, h := range p.CustomHeadersConfig {
		n := textproto.CanonicalMIMEHeaderKey(h.Header)
		switch {
		case setBy[n] != "":
			add(fmt.Sprintf("customHeadersConfig[%d]: %s is set by %s already", i, h.Header, setBy[n]), "customHeadersConfig", i, "header")
			continue
		case p.CorsConfig != nil && strings.HasPrefix(n, "Access-Control-"):
			add(fmt.Sprintf("customHeadersConfig[%d]: %s belongs in corsConfig, which sets the Access-Control-* headers", i, h.Header), "customHeadersConfig", i, "header")
		}
		setBy[n] = fmt.Sprintf("customHeadersConfig[%d]", i)
	}
	return out
}

// CompileResponseHeaders compiles policy p, called name; it refuses one
// with ResponseHeadersProblems (the compiler reported them first).
func CompileResponseHeaders(name string, p *schema.ResponseHeadersPolicy) (*ResponseHeaders, error) {
	if problems := ResponseHeadersProblems(p); len(problems) > 0 {
		return nil, fmt.Errorf("response headers policy %q: %s", name, problems[0].Msg)
	}
	rh := &ResponseHeaders{Name: name}
	for _, r := range p.RemoveHeadersConfig {
		rh.Remove = append(rh.Remove, textproto.CanonicalMIMEHeaderKey(r.Header))
	}
	if c := p.CorsConfig; c != nil {
		rh.CORS = compileCORS(c)
	}
	if s := p.SecurityHeadersConfig; s != nil {
		rh.Set = append(rh.Set, securityHeaders(s)...)
	}
	for _, c := range p.CustomHeadersConfig {
		rh.Set = append(rh.Set, PolicyHeader{Name: textproto.CanonicalMIMEHeaderKey(c.Header), Value: c.Value, Override: c.Override})
	}
	for i := range rh.Set {
		rh.Set[i].Values = []string{rh.Set[i].Value}
	}
	if st := p.ServerTimingHeadersConfig; st != nil && st.Enabled {
		rh.ServerTiming = true
		rh.SamplingRate = st.SamplingRate / 100
	}
	return rh, nil
}

// compileCORS compiles a checked corsConfig.
func compileCORS(c *schema.CorsConfig) *CORSHeaders {
	h := &CORSHeaders{AllowCredentials: c.AccessControlAllowCredentials, OriginOverride: c.OriginOverride}
	for _, o := range c.AccessControlAllowOrigins {
		if o == "*" {
			h.AnyOrigin = true
			continue
		}
		h.Origins = append(h.Origins, strings.ToLower(o))
	}
	methods := c.AccessControlAllowMethods
	if slices.Contains(methods, "ALL") {
		methods = allMethods
	}
	h.AllowMethods = strings.Join(methods, ", ")
	h.AllowHeaders = strings.Join(c.AccessControlAllowHeaders, ", ")
	h.ExposeHeaders = strings.Join(c.AccessControlExposeHeaders, ", ")
	if c.AccessControlMaxAgeSec != nil {
		h.MaxAge = strconv.FormatInt(*c.AccessControlMaxAgeSec, 10)
	}
	return h
}

// checkOriginPattern accepts scheme://host[:port], where the host may
// start with "*." (CloudFront: a wildcard only as the leftmost label).
func checkOriginPattern(o string) error {
	scheme, rest, ok := strings.Cut(o, "://")
	if !ok || scheme == "" || rest == "" || strings.ContainsAny(rest, "/?#") {
		return fmt.Errorf("accessControlAllowOrigins: %q: want an origin such as https://www.example.com (scheme and host, no path)", o)
	}
	host := strings.TrimPrefix(rest, "*.")
	if strings.Contains(host, "*") {
		return fmt.Errorf("accessControlAllowOrigins: %q: a wildcard is allowed only as the leftmost label (https://*.example.com)", o)
	}
	if h, _, _ := strings.Cut(host, ":"); host != rest && !strings.Contains(h, ".") {
		return fmt.Errorf("accessControlAllowOrigins: %q: a wildcard needs a domain below it (https://*.example.com), not a top-level domain", o)
	}
	return nil
}

// AllowsOrigin reports whether the viewer's Origin is one of h's.
func (h *CORSHeaders) AllowsOrigin(origin string) bool {
	if h.AnyOrigin {
		return true
	}
	for _, o := range h.Origins {
		if len(o) == len(origin) && strings.EqualFold(o, origin) {
			return true
		}
		// scheme://*.rest matches scheme://x.rest for any x without "/".
		scheme, rest, _ := strings.Cut(o, "://*")
		if rest == "" {
			continue
		}
		if len(origin) > len(scheme)+3+len(rest) && strings.EqualFold(origin[:len(scheme)+3], scheme+"://") &&
			strings.EqualFold(origin[len(origin)-len(rest):], rest) {
			sub := origin[len(scheme)+3 : len(origin)-len(rest)]
			if !strings.ContainsAny(sub, "/:") {
				return true
			}
		}
	}
	return false
}

func securityHeaders(s *schema.SecurityHeadersConfig) []PolicyHeader {
	var out []PolicyHeader
	if c := s.ContentSecurityPolicy; c != nil {
		out = append(out, PolicyHeader{Name: "Content-Security-Policy", Value: c.ContentSecurityPolicy, Override: c.Override})
	}
	if c := s.ContentTypeOptions; c != nil {
		out = append(out, PolicyHeader{Name: "X-Content-Type-Options", Value: "nosniff", Override: c.Override})
	}
	if c := s.FrameOptions; c != nil {
		out = append(out, PolicyHeader{Name: "X-Frame-Options", Value: c.FrameOption, Override: c.Override})
	}
	if c := s.ReferrerPolicy; c != nil {
		out = append(out, PolicyHeader{Name: "Referrer-Policy", Value: c.ReferrerPolicy, Override: c.Override})
	}
	if c := s.StrictTransportSecurity; c != nil {
		v := "max-age=" + strconv.FormatInt(c.AccessControlMaxAgeSec, 10)
		if c.IncludeSubdomains {
			v += "; includeSubDomains"
		}
		if c.Preload {
			v += "; preload"
		}
		out = append(out, PolicyHeader{Name: "Strict-Transport-Security", Value: v, Override: c.Override})
	}
	if c := s.XSSProtection; c != nil {
		v := "0"
		if c.Protection {
			v = "1"
			if c.ModeBlock {
				v += "; mode=block"
			} else if c.ReportURI != "" {
				v += "; report=" + c.ReportURI
			}
		}
		out = append(out, PolicyHeader{Name: "X-Xss-Protection", Value: v, Override: c.Override})
	}
	return out
}

// Apply sets rh's headers on hdr, the header of an answer to a request
// with header reqHeader and method method: the removed headers first, then
// the CORS, security and custom headers, in CloudFront's order.
// Server-Timing is the edge's to add (it times the request). Values are
// replaced, never appended to: the cache shares its stored slices.
func (rh *ResponseHeaders) Apply(hdr, reqHeader http.Header, method string) {
	for _, name := range rh.Remove {
		delete(hdr, name)
	}
	if rh.CORS != nil {
		rh.CORS.apply(hdr, reqHeader, method)
	}
	for _, s := range rh.Set {
		if s.Override || len(hdr[s.Name]) == 0 {
			hdr[s.Name] = s.Values
		}
	}
}

// apply adds the CORS headers to the answer to a CORS request (one with
// an Origin) from an allowed origin; the preflight's headers only to a
// preflight. Every answer varies by Origin, with CORS headers or without:
// a browser that cached one without them (an image, a page) must not
// reuse it for a CORS request (Fetch, "CORS protocol and HTTP caches").
func (c *CORSHeaders) apply(hdr, reqHeader http.Header, method string) {
	AddVary(hdr, "Origin")
	origin := reqHeader["Origin"]
	if len(origin) == 0 || !c.AllowsOrigin(origin[0]) {
		return
	}
	set := func(name string, values []string) {
		if values[0] != "" && (c.OriginOverride || len(hdr[name]) == 0) {
			hdr[name] = values
		}
	}
	allow := anyOrigin
	if !c.AnyOrigin {
		allow = slices.Clip(origin[:1]) // the viewer's own, echoed
	}
	set("Access-Control-Allow-Origin", allow)
	if c.AllowCredentials {
		set("Access-Control-Allow-Credentials", allowCredentials)
	}
	set("Access-Control-Expose-Headers", []string{c.ExposeHeaders})
	if method == http.MethodOptions && len(reqHeader["Access-Control-Request-Method"]) > 0 {
		set("Access-Control-Allow-Methods", []string{c.AllowMethods})
		set("Access-Control-Allow-Headers", []string{c.AllowHeaders})
		set("Access-Control-Max-Age", []string{c.MaxAge})
	}
}

// Values shared by every response; never appended to in place.
var anyOrigin, allowCredentials = []string{"*"}, []string{"true"}

// AddVary adds name to hdr's Vary unless it is there (or "*"). The
// slice may be a stored response's: it is never appended to in place.
func AddVary(hdr http.Header, name string) {
	vary := hdr["Vary"]
	for _, v := range vary {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f == "*" || strings.EqualFold(f, name) {
				return
			}
		}
	}
	hdr["Vary"] = append(slices.Clip(vary), name)
}
