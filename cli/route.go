package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/net/http/httpguts"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/edge"
	"openfront.dev/internal/signedurl"
	"openfront.dev/schema"
)

func init() {
	register("route", command{
		summary: "explain how the edge serves a request: distribution, behavior, origin, cache key, access rules",
		usage:   routeUsage,
		examples: []string{
			"route examples/quickstart http://localhost/",
			"route config https://www.example.com/api/x -X POST -H 'Cookie: session=1' --viewer-country US",
			"route config https://www.example.com/ --response-status 404 --json",
		},
		run: runRoute,
	})
}

const routeUsage = "route DIR URL [-H 'Name: value']... [-X METHOD] [--viewer-ip IP] [--viewer-country CC] [--viewer-asn N] [--response-status STATUS] [--response-header 'Name: value']... [--now TIME] [--json]"

func runRoute(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("route", routeUsage, stderr)
	var headers multiFlag
	fs.Var(&headers, "H", "request header `'Name: value'` (repeatable); Host chooses the distribution")
	method := fs.String("X", "GET", "request `METHOD`")
	viewerIP := fs.String("viewer-ip", defaultViewerIP, "the viewer's `IP`: a viewer-request function's event.viewer.ip, CloudFront-Viewer-Address, and what a signed policy's IpAddress is checked against")
	viewerCountry := fs.String("viewer-country", "", "the viewer's country `CC` (ISO 3166-1 alpha-2) the geo restriction applies to and CloudFront-Viewer-Country says; unset: unknown, which CloudFront serves")
	viewerASN := fs.Uint("viewer-asn", 0, "the viewer's autonomous system `N` a web ACL's asnMatchStatement matches; unset: 0, unknown, as WAF has it")
	respStatus := fs.Int("response-status", 0, "the origin's answer's `STATUS` to assume: the viewer-response function runs on it (200 with --response-header alone)")
	var respHeaders multiFlag
	fs.Var(&respHeaders, "response-header", "the origin's answer's header `'Name: value'` (repeatable)")
	now := fs.String("now", "", "the `TIME` (RFC 3339) to check signatures' expiry and sticky sessions' age at, and functions' Date; unset: the clock's")
	asJSON := fs.Bool("json", false, "print the explanation as JSON")
	pos, err := parseFlags(fs, args)
	p := positional(pos, "DIR", "URL")
	if len(pos) == 1 && strings.Contains(pos[0], "://") {
		p = "missing DIR: give the config directory before the URL"
	}
	if err != nil || p != "" {
		return badUsage(fs, err, p)
	}
	if strings.Contains(pos[0], "://") && !strings.Contains(pos[1], "://") {
		fmt.Fprintf(stderr, "openfront route: the config directory comes first: openfront route %s %s\n", quoteArg(pos[1]), quoteArg(pos[0]))
		return exitUsage
	}
	req, err := NewRouteRequest(*method, pos[1], headers)
	if ip, perr := parseViewerIP(*viewerIP); perr != nil && err == nil {
		err = perr
	} else {
		req.ViewerIP = ip.String()
	}
	if c := *viewerCountry; c != "" && err == nil {
		if len(c) != 2 || strings.ToUpper(c) != c || strings.ContainsFunc(c, func(r rune) bool { return r < 'A' || r > 'Z' }) {
			err = fmt.Errorf("--viewer-country %q: want a country code of two capital letters, such as FR", c)
		}
		req.ViewerCountry = c
	}
	if a := *viewerASN; a > 1<<32-1 && err == nil {
		err = fmt.Errorf("--viewer-asn %d: an ASN is at most 4294967295", a)
	}
	req.ViewerASN = uint32(*viewerASN)
	req.Now = routeNow()
	if *now != "" && err == nil {
		if req.Now, err = time.Parse(time.RFC3339, *now); err != nil {
			err = fmt.Errorf("--now %q: want an RFC 3339 time, such as 2026-12-05T22:00:00Z", *now)
		}
	}
	if err == nil && (*respStatus != 0 || len(respHeaders) > 0) {
		req.Response, err = newRouteResponse(*respStatus, respHeaders)
	}
	if err != nil {
		fmt.Fprintf(stderr, "openfront route: %v\n", err)
		return exitUsage
	}
	// A config that does not compile is a usage error here: exit 1 means
	// the edge refuses the request.
	res, _ := compileDir("route", pos[0], stderr)
	if res == nil {
		return exitUsage
	}
	e := ExplainRoute(res.Table, req)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetEscapeHTML(false) // URLs keep their "&"
		enc.SetIndent("", "  ")
		if err := enc.Encode(e); err != nil {
			fmt.Fprintf(stderr, "openfront route: %v\n", err)
			return exitUsage
		}
	} else {
		printRoute(stdout, e)
	}
	if e.Decision.Action == ActionRefuse || e.Decision.Action == ActionFunctionError {
		return exitFail
	}
	return exitOK
}

// RouteRequest is the request to explain.
type RouteRequest struct {
	Method string
	URL    *url.URL
	Header http.Header
	// ViewerIP is the viewer's address a viewer-request function sees;
	// "": 127.0.0.1.
	ViewerIP string
	// ViewerCountry is the viewer's country the geo restriction applies
	// to; "": unknown.
	ViewerCountry string
	// ViewerASN is the viewer's autonomous system number a web ACL's
	// asnMatchStatement matches; 0: unknown.
	ViewerASN uint32
	// Response is the origin's answer to assume; nil: none.
	Response *RouteResponse
	// Now is when the request is made, for a signature's expiry and a
	// sticky session's age; zero: the clock's.
	Now time.Time
}

// routeNow is route's clock; tests set it.
var routeNow = time.Now

// RouteResponse is an answer of the origin or the cache.
type RouteResponse struct {
	Status int
	Header http.Header
}

// NewRouteRequest parses the command line's method, URL and "Name: value" headers.
func NewRouteRequest(method, rawURL string, headers []string) (RouteRequest, error) {
	r := RouteRequest{Method: strings.ToUpper(method), Header: http.Header{}}
	if r.Method == "" {
		return r, fmt.Errorf("empty method")
	}
	if !httpguts.ValidHeaderFieldName(r.Method) { // a method is a token (RFC 9110 9.1)
		return r, fmt.Errorf("method %q: a method is one token, such as GET or POST", method)
	}
	if err := noScheme(rawURL); err != nil {
		return r, err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return r, fmt.Errorf("url: %w", err)
	}
	// A ws:// or wss:// URL is the WebSocket handshake a client sends
	// there (RFC 6455 4.1): a GET over http or https asking to switch.
	webSocket := u.Scheme == "ws" || u.Scheme == "wss"
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	case "http", "https":
	default:
		return r, fmt.Errorf("url %q: scheme must be http, https, ws or wss", rawURL)
	}
	r.URL = u
	if err := addHeaders(r.Header, "header", headers); err != nil {
		return r, err
	}
	if webSocket {
		for _, f := range [...][2]string{{"Connection", "Upgrade"}, {"Upgrade", "websocket"},
			{"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="}, {"Sec-WebSocket-Version", "13"}} {
			if r.Header.Get(f[0]) == "" {
				r.Header.Set(f[0], f[1])
			}
		}
	}
	if r.host() == "" {
		return r, fmt.Errorf("url %q has no host and no Host header is given", rawURL)
	}
	return r, nil
}

// parseViewerIP is --viewer-ip's address, an IPv6 one also in the
// brackets a URL writes it in ([2001:db8::7]).
func parseViewerIP(s string) (netip.Addr, error) {
	const want = "want an IPv4 or IPv6 address, such as 203.0.113.7 or 2001:db8::7"
	if s == "" {
		return netip.Addr{}, fmt.Errorf("--viewer-ip %q: %s", s, want)
	}
	if inner, ok := strings.CutPrefix(s, "["); ok {
		if inner, ok = strings.CutSuffix(inner, "]"); ok && strings.Contains(inner, ":") {
			s = inner
		}
	}
	ip, err := netip.ParseAddr(s)
	if err != nil {
		// Its text begins ParseAddr("..."): the value, quoted already.
		_, why, _ := strings.Cut(err.Error(), "): ")
		return netip.Addr{}, fmt.Errorf("--viewer-ip %q: %s: %s", s, why, want)
	}
	return ip, nil
}

// quoteArg is arg as a shell takes it: in single quotes when it holds
// what the shell would read otherwise.
func quoteArg(arg string) string {
	if arg != "" && !strings.ContainsAny(arg, " \t\n?&;'\"*$|<>()[]{}!#~`\\") {
		return arg
	}
	return "'" + strings.ReplaceAll(arg, "'", `'\''`) + "'"
}

// noScheme says how to write rawURL when it lacks its scheme, as curl
// takes it (www.example.com/a, localhost:8080, ::1): with http:// or
// https://, which route does not choose for the user since the viewer
// protocol policy tells them apart. nil when rawURL has a scheme.
func noScheme(rawURL string) error {
	lower := strings.ToLower(rawURL)
	if strings.Contains(rawURL, "://") || strings.HasPrefix(lower, "http:") || strings.HasPrefix(lower, "https:") {
		return nil // url.Parse and the scheme check say what is wrong
	}
	if rawURL == "" || strings.HasPrefix(rawURL, "/") {
		return fmt.Errorf("url %q has no scheme and no host: write http://HOST%s or https://HOST%s (-H 'Host: ...' does not make one)", rawURL, rawURL, rawURL)
	}
	host, rest := rawURL, ""
	if i := strings.IndexAny(rawURL, "/?#"); i >= 0 {
		host, rest = rawURL[:i], rawURL[i:]
	}
	note := ""
	if ip, err := netip.ParseAddr(host); err == nil && ip.Is6() {
		host, note = "["+host+"]", " (an IPv6 address goes in brackets)"
	}
	return fmt.Errorf("url %q has no scheme: write http://%s%s or https://%s%s%s", rawURL, host, rest, host, rest, note)
}

// addHeaders adds "Name: value" lines to h; what names them in an error.
func addHeaders(h http.Header, what string, lines []string) error {
	for _, l := range lines {
		name, value, ok := strings.Cut(l, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return fmt.Errorf("%s %q: want 'Name: value'", what, l)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return nil
}

// newRouteResponse is the answer of --response-status and --response-header.
func newRouteResponse(status int, headers []string) (*RouteResponse, error) {
	if status == 0 {
		status = http.StatusOK
	}
	if status < 100 || status > 599 {
		return nil, fmt.Errorf("--response-status %d: want 100 to 599", status)
	}
	resp := &RouteResponse{Status: status, Header: http.Header{}}
	return resp, addHeaders(resp.Header, "--response-header", headers)
}

// host is the Host header if given, else the URL's host (with any port).
func (r RouteRequest) host() string {
	if h := r.Header.Get("Host"); h != "" {
		return h
	}
	return r.URL.Host
}

// Decision actions.
const (
	ActionServe    = "serve"
	ActionRedirect = "redirect"
	ActionRefuse   = "refuse"
	// ActionFunctionResponse: a viewer-request function answers with the
	// response it generated.
	ActionFunctionResponse = "function-response"
	// ActionFunctionError: a viewer-request function failed; the edge
	// answers 502 or 503.
	ActionFunctionError = "function-error"
)

// RouteExplanation says how the edge would serve one request. Sections after
// the distribution are nil when the request never reaches them (unknown host,
// disabled distribution).
type RouteExplanation struct {
	Request      RouteRequestInfo   `json:"request"`
	Decision     RouteDecision      `json:"decision"`
	Distribution *RouteDistribution `json:"distribution,omitempty"`
	Behavior     *RouteBehavior     `json:"behavior,omitempty"`
	// WAF is the distribution's web ACL, evaluated before anything else.
	WAF *RouteWAF `json:"webACL,omitempty"`
	// StagingWAF is a staging distribution's own web ACL, which a request
	// the primary's lets through meets next.
	StagingWAF *RouteWAF `json:"stagingWebACL,omitempty"`
	// Functions are the behavior's functions; route runs a viewer-request
	// one, and what follows is explained for the request it returned.
	Functions []RouteFunction `json:"functions,omitempty"`
	// CloudFrontHeaders are the CloudFront-* headers the edge sets on the
	// request before its viewer-request function runs.
	CloudFrontHeaders []RouteCloudFrontHeader `json:"cloudFrontHeaders,omitempty"`
	Viewer            *RouteViewer            `json:"viewerProtocol,omitempty"`
	Methods           *RouteMethods           `json:"methods,omitempty"`
	Target            *RouteTarget            `json:"target,omitempty"`
	CacheKey          *RouteCacheKey          `json:"cacheKey,omitempty"`
	TTL               *RouteTTL               `json:"ttl,omitempty"`
	// ResponseHeaders is the behavior's response headers policy.
	ResponseHeaders *RouteResponseHeaders `json:"responseHeadersPolicy,omitempty"`
	// Answer is what the viewer gets of the answer --response-status
	// and --response-header assume.
	Answer     *RouteAnswer     `json:"answer,omitempty"`
	Signature  *RouteSignature  `json:"signature,omitempty"`
	Geo        *RouteGeo        `json:"geoRestriction,omitempty"`
	Logging    *RouteLogging    `json:"logging,omitempty"`
	RootObject *RouteRootObject `json:"defaultRootObject,omitempty"`
}

// RouteRequestInfo echoes the request.
type RouteRequestInfo struct {
	Method string `json:"method"`
	URL    string `json:"url"`
	Host   string `json:"host"`
	// HostFrom is "url" or "header" (a -H Host).
	HostFrom string `json:"hostFrom"`
	Path     string `json:"path"`
}

// RouteDecision is the outcome: the first refusal on the request path wins.
type RouteDecision struct {
	Action string `json:"action"`
	Status int    `json:"status,omitempty"`
	// Code is the <Code> of CloudFront's XML body for a refused signature.
	Code     string `json:"code,omitempty"`
	Location string `json:"location,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// ErrorPage is the custom error page the edge sends in place of this
	// refusal, when the distribution has one for its status.
	ErrorPage *RouteErrorPage `json:"errorPage,omitempty"`
}

// RouteErrorPage is a customErrorResponses entry's page that replaces a
// refusal (table.Distribution.ErrorPage): fetched with GET through the
// distribution's behavior for its path, sent with ResponseCode, kept by
// the edge for ErrorCachingMinTTL seconds. A fetch that fails or answers
// other than 200 leaves the refusal as it is.
type RouteErrorPage struct {
	// Distribution is the one whose customErrorResponses hold it: the
	// web ACL's for its block, else the one serving the request.
	Distribution       string `json:"distribution"`
	ErrorCode          int    `json:"errorCode"`
	Path               string `json:"responsePagePath"`
	ResponseCode       int    `json:"responseCode"`
	ErrorCachingMinTTL int64  `json:"errorCachingMinTTL"`
	// Behavior is the page path's behavior (Index -1: the default), and
	// Target its origin or origin group.
	Behavior string `json:"behavior"`
	Index    int    `json:"behaviorIndex"`
	Target   string `json:"target"`
	// TargetKind is "origin" or "originGroup".
	TargetKind string `json:"targetKind"`
	// Kept is, for a page in place of the origin's answer, how long the
	// edge's cache keeps it, in seconds: the origin's answer's own
	// lifetime when longer than ErrorCachingMinTTL, up to maxTTL; 0 when
	// the behavior does not cache the method. nil for a refusal's page.
	Kept *int64 `json:"keptSeconds,omitempty"`
}

// RouteDistribution is the distribution chosen by host.
type RouteDistribution struct {
	ID       string `json:"id"`
	Alias    string `json:"alias"`
	Wildcard bool   `json:"wildcard"`
	Enabled  bool   `json:"enabled"`
	Comment  string `json:"comment,omitempty"`
	// Mtls is its viewer mutual TLS, if any.
	Mtls *RouteMtls `json:"viewerMtls,omitempty"`
	// ContinuousDeployment is its continuous deployment policy, if any.
	ContinuousDeployment *RouteDeployment `json:"continuousDeployment,omitempty"`
}

// RouteDeployment says which distribution a primary's continuous
// deployment policy has serve the request; the rest of the explanation is
// that distribution's.
type RouteDeployment struct {
	Policy  string `json:"policy"`
	Enabled bool   `json:"enabled"`
	Staging string `json:"staging"`
	// Type is SingleHeader or SingleWeight; Header and Value, or Weight
	// (and the stickiness TTLs, in seconds), are its settings.
	Type       string  `json:"type"`
	Header     string  `json:"header,omitempty"`
	Value      string  `json:"value,omitempty"`
	Weight     float64 `json:"weight,omitempty"`
	IdleTTL    int     `json:"idleTTL,omitempty"`
	MaximumTTL int     `json:"maximumTTL,omitempty"`
	// Session is the sticky session the request's StickyCookie names.
	Session *RouteSession `json:"session,omitempty"`
	// ServedBy is the id of the distribution explained below.
	ServedBy string `json:"servedBy"`
	Why      string `json:"why"`
}

// RouteSession is a sticky weight's session cookie (table.StickyCookie),
// which the edge takes out of the request.
type RouteSession struct {
	Cookie string `json:"cookie"`
	// Policy says the cookie is one of this policy's sessions; Side
	// ("staging" or "primary"), Start (Unix seconds) and Age (seconds)
	// are then its.
	Policy bool   `json:"policy"`
	Side   string `json:"side,omitempty"`
	Start  int64  `json:"start,omitempty"`
	Age    int64  `json:"age,omitempty"`
	// Live: within maximumTTL, the session keeps the viewer on its side.
	Live bool `json:"live"`
}

// explainDeployment says which distribution of dep serves r, and
// returns it with r's header without the sticky session cookie, which
// the edge takes out.
func explainDeployment(dep *table.Deployment, r RouteRequest) (*RouteDeployment, *table.Distribution, http.Header) {
	p := dep.Spec
	rd := &RouteDeployment{Policy: dep.Policy, Enabled: p.Enabled, Staging: dep.Staging.ID, Type: p.TrafficConfig.Type,
		Value: dep.Value, Weight: dep.Weight, IdleTTL: int(dep.IdleTTL.Seconds()), MaximumTTL: int(dep.MaximumTTL.Seconds())}
	if h := p.TrafficConfig.SingleHeaderConfig; dep.Header != "" && h != nil {
		rd.Header = h.Header // as the config writes it
	}
	header := r.Header
	var live *table.Session
	ended := false
	if v, found, kept := dep.SessionCookie(r.Header["Cookie"]); found {
		header = r.Header.Clone()
		if header.Del("Cookie"); kept != nil {
			header["Cookie"] = kept
		}
		if dep.KeepsSessions() {
			rd.Session, live = explainSession(dep, v, r.Now)
		} else {
			ended = v != ""
		}
	}
	served := dep.ServedWith(r.Header, live)
	rd.ServedBy = served.ID
	switch {
	case !p.Enabled:
		rd.Why = "the policy is disabled: the primary serves every request"
	case !dep.Staging.Spec.Enabled:
		rd.Why = fmt.Sprintf("staging distribution %s is disabled: the primary serves every request", dep.Staging.ID)
	case dep.Header != "" && rd.ServedBy == rd.Staging:
		rd.Why = fmt.Sprintf("the request has %s: %s", rd.Header, dep.Value)
	case dep.Header != "":
		rd.Why = fmt.Sprintf("the request lacks %s: %s", rd.Header, dep.Value)
	case live != nil:
		rd.Why = fmt.Sprintf("the %s cookie's %s session, started %d s ago, keeps the viewer on %s until %d s idle or %d s old", table.StickyCookie, rd.Session.Side, rd.Session.Age, served.ID, rd.IdleTTL, rd.MaximumTTL)
	default:
		pct := strconv.FormatFloat(dep.Weight*100, 'f', -1, 64)
		rd.Why = fmt.Sprintf("%s%% of requests go to %s, drawn at random, and %s%% stay; explained here: the primary's share", pct, dep.Staging.ID, strconv.FormatFloat(100-dep.Weight*100, 'f', -1, 64))
		if s := rd.Session; s != nil {
			rd.Why = sessionNotLive(dep, s) + ": the edge starts a new session: " + rd.Why
		}
		if dep.Sticky() {
			rd.Why += fmt.Sprintf("; a viewer keeps its side by the %s cookie, for %d s idle and %d s at most", table.StickyCookie, rd.IdleTTL, rd.MaximumTTL)
		}
	}
	if ended {
		rd.Why += fmt.Sprintf("; the edge ends the session of the request's %s cookie (Max-Age=0): the policy keeps none while it is disabled or has no session stickiness", table.StickyCookie)
	}
	return rd, served, header
}

// explainSession reads the sticky cookie's value v at now (zero: the
// clock's); live is the session when it keeps the viewer on its side.
func explainSession(dep *table.Deployment, v string, now time.Time) (rs *RouteSession, live *table.Session) {
	if now.IsZero() {
		now = time.Now()
	}
	rs = &RouteSession{Cookie: v}
	s, ok := dep.ReadSession(v)
	if !ok {
		return rs, nil
	}
	rs.Policy, rs.Side, rs.Start, rs.Age = true, "primary", s.Start.Unix(), int64(now.Sub(s.Start)/time.Second)
	if s.Staging {
		rs.Side = "staging"
	}
	if rs.Live = dep.Live(s, now); rs.Live {
		live = &s
	}
	return rs, live
}

// sessionNotLive says why the cookie s keeps no viewer on its side.
func sessionNotLive(dep *table.Deployment, s *RouteSession) string {
	switch {
	case !s.Policy:
		return fmt.Sprintf("the %s cookie %q is not a session of this policy (SIDE.START.%s)", table.StickyCookie, s.Cookie, dep.Session)
	case s.Age < 0:
		return fmt.Sprintf("the %s cookie's %s session starts %d s from now", table.StickyCookie, s.Side, -s.Age)
	}
	return fmt.Sprintf("the %s cookie's %s session started %d s ago, past maximumTTL %d s", table.StickyCookie, s.Side, s.Age, int(dep.MaximumTTL/time.Second))
}

// RouteBehavior is the behavior chosen by path, with the ones tried before it.
type RouteBehavior struct {
	Name string `json:"name"`
	// Index is the position in cacheBehaviors, -1 for the default.
	Index          int             `json:"index"`
	TargetOriginID string          `json:"targetOriginId"`
	Tried          []RouteTryEntry `json:"tried"`
	// GRPC says gRPC calls bypass all that follows (grpcConfig).
	GRPC bool `json:"grpc,omitempty"`
	// WebSocket is set for a WebSocket handshake, which goes to the
	// origin past the cache.
	WebSocket *RouteWebSocket `json:"webSocket,omitempty"`
}

// RouteWebSocket is what becomes of a WebSocket handshake: it goes to the
// origin past the cache, asking it to switch protocols, and once the
// origin answers 101 the edge joins the two connections.
type RouteWebSocket struct {
	// NotForwarded are the handshake's fields the origin needs and the
	// behavior does not forward: the origin refuses the handshake.
	NotForwarded []string `json:"notForwarded,omitempty"`
	// NoSwitch names the behavior's origin when it is not a custom one:
	// it answers the handshake as any GET, never switching.
	NoSwitch string `json:"noSwitch,omitempty"`
}

// RouteTryEntry is one cacheBehaviors entry that did not match.
type RouteTryEntry struct {
	Index       int    `json:"index"`
	PathPattern string `json:"pathPattern"`
	Why         string `json:"why"`
}

// RouteViewer is the viewer protocol policy's verdict for the URL's scheme.
type RouteViewer struct {
	Policy   string `json:"policy"`
	Scheme   string `json:"scheme"`
	Action   string `json:"action"` // serve, redirect or refuse
	Location string `json:"location,omitempty"`
	Status   int    `json:"status,omitempty"` // of a redirect: 301, or 307 for a method but GET and HEAD
}

// RouteMethods is the behavior's method sets and this request's method.
type RouteMethods struct {
	Method  string   `json:"method"`
	Allowed bool     `json:"allowed"`
	Cached  bool     `json:"cached"`
	Allow   []string `json:"allowedMethods"`
	Cache   []string `json:"cachedMethods"`
}

// RouteTarget is the behavior's origin or origin group.
type RouteTarget struct {
	Kind string `json:"kind"` // "origin" or "originGroup"
	ID   string `json:"id"`
	// Function names the viewer-request function whose origin helpers
	// chose this target in place of the behavior's.
	Function string       `json:"function,omitempty"`
	Origin   *RouteOrigin `json:"origin,omitempty"`
	Group    *RouteGroup  `json:"group,omitempty"`
}

// RouteGroup is a failover pair.
type RouteGroup struct {
	Primary     RouteOrigin `json:"primary"`
	Secondary   RouteOrigin `json:"secondary"`
	StatusCodes []int       `json:"failoverStatusCodes"`
	// Eligible says whether this method fails over: CloudFront fails over
	// GET, HEAD and OPTIONS only.
	Eligible bool `json:"failoverEligible"`
}

// RouteOrigin is one origin and where this request goes there.
type RouteOrigin struct {
	ID         string `json:"id"`
	Kind       string `json:"kind"` // custom, s3, local, live
	DomainName string `json:"domainName,omitempty"`
	OriginPath string `json:"originPath,omitempty"`
	// Custom origins.
	ProtocolPolicy string `json:"originProtocolPolicy,omitempty"`
	Scheme         string `json:"scheme,omitempty"`
	HostPort       string `json:"hostPort,omitempty"`
	// HostHeader is the viewer's Host as the origin gets it in place of
	// its domainName, when the behavior forwards it (edge.ViewerHost).
	HostHeader string `json:"hostHeader,omitempty"`
	hostNote   string
	// S3 origins.
	S3 *RouteS3 `json:"s3,omitempty"`
	// Local origins: the directory as configured and as this node reads it.
	LocalPath string `json:"localPath,omitempty"`
	Directory string `json:"directory,omitempty"`
	// Live origins.
	StreamingDistribution string `json:"streamingDistribution,omitempty"`
	// ShieldRegion is the region of the origin's Origin Shield: a node
	// sends the request to that region's shield node (serve
	// --origin-shield), unless it is that shield or knows none.
	ShieldRegion string `json:"originShieldRegion,omitempty"`
	// Request is the origin request: a URL, a file or a live stream path.
	Request       string       `json:"request"`
	CustomHeaders []RouteValue `json:"customHeaders,omitempty"`
}

// RouteS3 is an S3 origin's location (table.S3Location).
type RouteS3 struct {
	Bucket             string `json:"bucket"`
	Region             string `json:"region"`
	Endpoint           string `json:"endpoint"`
	Addressing         string `json:"addressing"` // path-style or virtual-hosted
	Signed             bool   `json:"signed"`
	CredentialsProfile string `json:"credentialsProfile,omitempty"`
}

// RouteValue is a name and a value: a header, cookie or query parameter.
type RouteValue struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Present bool   `json:"present"`
}

// RouteCacheKey is what selects a stored response.
type RouteCacheKey struct {
	// Cached is false when the response is never stored (the method is not
	// cached, or every header is forwarded).
	Cached       bool           `json:"cached"`
	NotCached    string         `json:"notCachedReason,omitempty"`
	Distribution string         `json:"distribution"`
	Path         string         `json:"path"`
	Query        RouteQueryKey  `json:"queryString"`
	Cookies      RouteCookieKey `json:"cookies"`
	Headers      RouteHeaderKey `json:"headers"`
	// OriginRequestPolicy forwards more than the key holds; Vary decides.
	OriginRequestPolicy *RouteORP `json:"originRequestPolicy,omitempty"`
	// CachePolicy sets the key parts above and the TTLs, in place of the
	// behavior's forwardedValues and TTLs.
	CachePolicy *RoutePolicy `json:"cachePolicy,omitempty"`
}

// RoutePolicy names a policy: CloudFront's managed one or the config's.
type RoutePolicy struct {
	Name    string `json:"name"`
	Managed bool   `json:"managed"`
}

// RouteQueryKey is the query string part of the key.
type RouteQueryKey struct {
	Mode  string       `json:"mode"`            // none, all, whitelist, allExcept
	Names []string     `json:"names,omitempty"` // whitelist's, or allExcept's left out
	Key   []RouteValue `json:"key"`
	// Ignored are parameters of the URL left out of the key.
	Ignored []string `json:"notInKey,omitempty"`
}

// RouteCookieKey is the cookie part of the key.
type RouteCookieKey struct {
	Forward          string       `json:"forward"`
	WhitelistedNames []string     `json:"whitelistedNames,omitempty"`
	Key              []RouteValue `json:"key"`
	Ignored          []string     `json:"notInKey,omitempty"`
}

// RouteHeaderKey is the header part of the key.
type RouteHeaderKey struct {
	All  bool         `json:"all"`
	Key  []RouteValue `json:"key"`
	Note string       `json:"note,omitempty"`
}

// RouteORP is a managed origin request policy.
type RouteORP struct {
	Name     string `json:"name"`
	Forwards string `json:"forwards"`
}

// RouteResponseHeaders is what the behavior's response headers policy
// does to the response's headers (table.ResponseHeaders).
type RouteResponseHeaders struct {
	Name    string     `json:"name"`
	Managed bool       `json:"managed"`
	CORS    *RouteCORS `json:"cors,omitempty"`
	// Set are the security and custom headers, sent on every response.
	Set    []RouteSetHeader `json:"set,omitempty"`
	Remove []string         `json:"remove,omitempty"`
	// ServerTimingPercent is the share of responses with Server-Timing.
	ServerTiming        bool    `json:"serverTiming"`
	ServerTimingPercent float64 `json:"serverTimingPercent,omitempty"`
}

// RouteCORS is a policy's CORS headers and whether this request gets them:
// only a request with an Origin the policy allows does.
type RouteCORS struct {
	Origin         string   `json:"origin,omitempty"` // the request's
	Allowed        bool     `json:"allowed"`
	AllowedOrigins []string `json:"allowedOrigins"`
	// Headers go on a response to an allowed Origin; Preflight are added
	// to the answer to a preflight (an OPTIONS with
	// Access-Control-Request-Method), none if the policy answers none.
	Headers   []RouteSetHeader `json:"headers"`
	Preflight []RouteSetHeader `json:"preflight,omitempty"`
}

// RouteSetHeader is a header a policy sets; without Override the origin's
// own value wins.
type RouteSetHeader struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Override bool   `json:"override"`
}

// RouteTTL is the behavior's TTLs in seconds.
type RouteTTL struct {
	Min     int64 `json:"minTTL"`
	Default int64 `json:"defaultTTL"`
	Max     int64 `json:"maxTTL"`
}

// RouteSignature is the behavior's signed URL or cookie requirement.
type RouteSignature struct {
	Required         bool            `json:"required"`
	TrustedKeyGroups []RouteKeyGroup `json:"trustedKeyGroups,omitempty"`
	// URLParams and Cookies are the signature parts the request carries.
	URLParams []string `json:"urlParams,omitempty"`
	Cookies   []string `json:"cookies,omitempty"`
	KeyPairID string   `json:"keyPairId,omitempty"`
	// Status is "not required", "valid" or "refused", as the edge's own
	// check (internal/signedurl) decides at the request's time and viewer IP.
	Status string `json:"status"`
	// Via is what carried the signature: signed-url or signed-cookie.
	Via string `json:"via,omitempty"`
	// Code is the refusal's (signedurl.Code*); ErrorCode and ErrorMessage
	// are the <Code> and <Message> of the edge's XML 403, Reason its
	// X-Openfront-Reason header.
	Code         string `json:"code,omitempty"`
	ErrorCode    string `json:"errorCode,omitempty"`
	ErrorMessage string `json:"errorMessage,omitempty"`
	Reason       string `json:"reason,omitempty"`
	// At is the time it was checked at (RFC 3339), ViewerIP the address.
	At       string `json:"at,omitempty"`
	ViewerIP string `json:"viewerIp,omitempty"`
}

// RouteKeyGroup is a trusted key group and its key ids.
type RouteKeyGroup struct {
	ID     string   `json:"id"`
	KeyIDs []string `json:"keyIds"`
}

// RouteGeo is the distribution's geo restriction.
type RouteGeo struct {
	RestrictionType string   `json:"restrictionType"`
	Items           []string `json:"items,omitempty"`
}

// RouteLogging is the distribution's access logging.
type RouteLogging struct {
	Enabled        bool   `json:"enabled"`
	IncludeCookies bool   `json:"includeCookies,omitempty"`
	Bucket         string `json:"bucket,omitempty"`
	Prefix         string `json:"prefix,omitempty"`
}

// RouteRootObject is the distribution's defaultRootObject.
type RouteRootObject struct {
	Object  string `json:"object"`
	Applied bool   `json:"applied"`
}

// Signed URL query parameters and signed cookies (CloudFront's names).
// Hash-Algorithm alone makes no signed URL or cookies, as at the edge.
var (
	signatureParams  = []string{"Expires", "Policy", "Signature", "Key-Pair-Id", "Hash-Algorithm"}
	signatureCookies = []string{"CloudFront-Expires", "CloudFront-Policy", "CloudFront-Signature", "CloudFront-Key-Pair-Id", "CloudFront-Hash-Algorithm"}
)

// orpForwards says what origin request policy p forwards, managed or
// the config's, as route shows it.
func orpForwards(p *schema.OriginRequestPolicy, managed bool) string {
	named := func(one, many string, names []string) string {
		if len(names) == 1 {
			return one + " " + names[0]
		}
		return many + " " + strings.Join(names, ", ")
	}
	var headers string
	switch h := p.HeadersConfig; h.HeaderBehavior {
	case "allViewer":
		headers = "all viewer headers"
	case "allViewerAndWhitelistCloudFront":
		headers = "all viewer headers and CloudFront headers"
		if !managed {
			headers += " " + strings.Join(h.Headers, ", ")
		}
	case "allExcept":
		headers = "all viewer headers except " + strings.Join(h.Headers, ", ")
		if managed {
			// AllViewerExceptHostHeader (table.CloudFrontHeadersFor).
			headers = "CloudFront headers and " + headers
		}
	case "whitelist":
		headers = named("header", "headers", h.Headers)
	}
	c, q := p.CookiesConfig, p.QueryStringsConfig
	if c.CookieBehavior == "all" && q.QueryStringBehavior == "all" {
		if headers == "all viewer headers" {
			return "all viewer headers, cookies and query strings"
		}
		return headers + ", all cookies and query strings"
	}
	var parts []string
	if headers != "" {
		parts = append(parts, headers)
	}
	for _, v := range [][]string{
		{c.CookieBehavior, "cookie", "cookies", strings.Join(c.Cookies, ", ")},
		{q.QueryStringBehavior, "query string", "query strings", strings.Join(q.QueryStrings, ", ")},
	} {
		switch v[0] {
		case "all":
			parts = append(parts, "all "+v[2])
		case "allExcept":
			parts = append(parts, "all "+v[2]+" except "+v[3])
		case "whitelist":
			parts = append(parts, named(v[1], v[2], strings.Split(v[3], ", ")))
		}
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

// ExplainRoute explains how the edge serves r from t, following the request
// path: host, distribution, behavior, viewer protocol, methods, signature,
// then the cache key and the origin.
func ExplainRoute(t *table.Table, r RouteRequest) *RouteExplanation {
	path := requestPath(r.URL)
	host := r.host()
	e := &RouteExplanation{
		Request:  RouteRequestInfo{Method: r.Method, URL: r.URL.String(), Host: host, HostFrom: "url", Path: path},
		Decision: RouteDecision{Action: ActionServe},
	}
	if r.Header.Get("Host") != "" {
		e.Request.HostFrom = "header"
	}
	d, m := t.ExplainHost(host)
	if d == nil {
		e.Decision = refuse(fmt.Sprintf("no distribution has an alias matching %q", hostname(host)))
		if sd := t.StreamingDistributionForHost(host); sd != nil {
			e.Decision.Reason += fmt.Sprintf(" (streaming distribution %q does: use rtmp://)", sd.ID)
		}
		return e
	}
	e.Distribution = &RouteDistribution{ID: d.ID, Alias: m.Alias, Wildcard: m.Wildcard, Enabled: d.Spec.Enabled, Comment: d.Spec.Comment,
		Mtls: routeMtls(d)}
	hostDist := d
	if dep := t.Deployment(d.ID); dep != nil {
		e.Distribution.ContinuousDeployment, d, r.Header = explainDeployment(dep, r)
	}
	if d.HidesBehavior(path, d.Behavior(path)) {
		e.Decision = RouteDecision{Action: ActionRefuse, Status: http.StatusBadRequest, Reason: table.HiddenBehavior}
		return e
	}
	spec := d.Spec
	if !spec.Enabled {
		e.Decision = refuse(fmt.Sprintf("distribution %q is disabled", d.ID))
		return e
	}

	b := d.Behavior(path)
	b0 := b // the behavior's own, whatever target a function gives
	e.Behavior = &RouteBehavior{Name: b.Name(), Index: b.Index, TargetOriginID: b.TargetID(), Tried: []RouteTryEntry{}, GRPC: b.Spec.GrpcConfig.Enabled}
	for _, tried := range d.Behaviors {
		if tried == b {
			break
		}
		e.Behavior.Tried = append(e.Behavior.Tried, RouteTryEntry{Index: tried.Index, PathPattern: tried.Spec.PathPattern, Why: tried.Pattern.Explain(path)})
	}
	bs := b.Spec
	e.Functions = routeFunctions(b)

	e.Viewer = viewerDecision(bs.ViewerProtocolPolicy, r, host)
	e.Methods = &RouteMethods{Method: r.Method, Allowed: slices.Contains(bs.AllowedMethods, r.Method),
		Cached: slices.Contains(bs.CachedMethods, r.Method), Allow: bs.AllowedMethods, Cache: bs.CachedMethods}
	e.Signature = signature(t, b, r)
	// The edge's own answer, as vet's route tests have it.
	switch a := d.Admit(hostDist, b, r.URL.Scheme, r.Method, host, r.URL.RequestURI(), r.ViewerCountry, e.explainWAF(hostDist, d, r, path, grpcCall(b, r))); {
	case a != nil && a.Location != "":
		e.Decision = RouteDecision{Action: ActionRedirect, Status: a.Status, Location: a.Location, Reason: a.Reason}
	case a != nil:
		e.Decision = RouteDecision{Action: ActionRefuse, Status: a.Status, Reason: a.Reason}
		if a.Pages != nil && !grpcCall(b, r) {
			e.Decision.ErrorPage = errorPage(a.Pages, a.Status)
		}
	case e.Signature.Status == "refused":
		e.Decision = RouteDecision{Action: ActionRefuse, Status: http.StatusForbidden, Code: e.Signature.ErrorCode, Reason: e.Signature.Reason}
		if !grpcCall(b, r) {
			e.Decision.ErrorPage = errorPage(d, http.StatusForbidden)
		}
	}
	if e.Decision.Action == ActionServe && len(b.CloudFrontHeaders) > 0 {
		r = e.setCloudFrontHeaders(b, r)
	}
	// reached: the request reaches the origin, whose answer the
	// viewer-response function sees.
	reached := false
	switch {
	case e.Decision.Action != ActionServe:
		e.notRun("the request does not reach it")
	default: // a gRPC call's too, as the edge runs them
		if r, path, b, reached = runViewerRequest(e, d, b, r, path); !reached {
			e.ResponseHeaders = responseHeaders(b0.ResponseHeaders, r.Header.Get("Origin"))
			e.distributionRules(spec)
			return e
		}
	}

	// The object path: defaultRootObject replaces a request for the root.
	objPath := d.ObjectPath(path)
	e.RootObject = &RouteRootObject{Object: spec.DefaultRootObject, Applied: objPath != path}

	query := splitQuery(r.URL.RawQuery)
	// The edge takes a signature's parameters and cookies out of the key
	// and the origin request on a signed behavior only.
	signed := e.Signature.Required
	e.CacheKey = cacheKey(t, d.ID, objPath, b, query, r, signed)
	if edge.WebSocketHandshake(r.Method, r.Header) {
		ws := &RouteWebSocket{NotForwarded: edge.WebSocketHeadersNotForwarded(b)}
		if b.Origin != nil && b.Origin.Kind != table.OriginCustom {
			ws.NoSwitch = b.Origin.ID
		}
		e.Behavior.WebSocket = ws
		e.CacheKey.Cached, e.CacheKey.NotCached = false, "a WebSocket handshake goes to the origin"
	}
	// The origin gets the key's query and what the origin request policy
	// adds; legacy queryStringCacheKeys key some parameters and forward
	// all (table.Behavior.ForwardedQuery).
	fwdQuery := e.CacheKey.Query.Key
	if b.OriginRequest.Name != "" || b.Spec.CachePolicy == "" && b.Spec.ForwardedValues.QueryString {
		fwdQuery = nil
		for _, q := range query {
			keyed := slices.ContainsFunc(e.CacheKey.Query.Key, func(k RouteValue) bool { return k.Name == q.Name })
			if (keyed || b.ForwardedQuery(url.QueryEscape(q.Name)+"=") != "") && (!signed || !signedurl.IsSignatureParam(q.Name)) {
				fwdQuery = append(fwdQuery, q)
			}
		}
	}
	o := originRequest{method: r.Method, scheme: r.URL.Scheme, path: objPath, query: joinQuery(fwdQuery), dir: t.Source().Dir}
	if b.ForwardsHost() {
		// The URL is where the request goes: its port is the listener's.
		port := r.URL.Port()
		if port == "" {
			port = map[bool]string{false: "80", true: "443"}[r.URL.Scheme == "https"]
		}
		o.viewerHost = edge.ViewerHost(b, host, port, r.URL.Scheme == "https")
		o.hostNote = "the viewer's, as routing matched it"
		if o.viewerHost == host {
			o.hostNote = "the viewer's, as sent"
		}
	}
	if b.Group != nil {
		g := b.Group
		e.Target = &RouteTarget{Kind: "originGroup", ID: g.ID, Group: &RouteGroup{
			Primary:     o.explain(g.Primary),
			Secondary:   o.explain(g.Secondary),
			StatusCodes: g.StatusCodes(),
			Eligible:    r.Method == "GET" || r.Method == "HEAD" || r.Method == "OPTIONS",
		}}
	} else {
		origin := o.explain(b.Origin)
		e.Target = &RouteTarget{Kind: "origin", ID: b.Origin.ID, Origin: &origin}
	}
	if f := e.eventFunction("viewer-request"); f != nil && f.Request != nil && f.Request.Origin != "" {
		e.Target.Function = f.Name
	}
	e.TTL = &RouteTTL{Min: bs.MinTTL, Default: bs.DefaultTTL, Max: bs.MaxTTL}
	e.ResponseHeaders = responseHeaders(b.ResponseHeaders, r.Header.Get("Origin"))
	if r.Response != nil && reached {
		// The edge replaces an origin's error with d's page, as it does a
		// refusal (relay, serveCached), but not a gRPC call's.
		if r.Response.Status >= 400 && !grpcCall(b, r) {
			if p := errorPage(d, r.Response.Status); p != nil {
				// The edge's cache keeps it as it would the error.
				kept := int64(0)
				if cp := edge.CachePolicy(d, b, r.Method, 0); cp.Cacheable {
					kept = int64(cp.ErrorLifetime(r.Response.Status, r.Response.Header, r.Now) / time.Second)
				}
				p.Kept = &kept
				e.Decision.ErrorPage = p
			}
		}
		runViewerResponse(e, d, b, r, path)
	}
	e.distributionRules(spec)
	return e
}

// grpcCall says r is a gRPC call b sends past the cache; the edge's
// answers to it are gRPC's, never an error page.
func grpcCall(b *table.Behavior, r RouteRequest) bool {
	return b.Spec.GrpcConfig.Enabled && r.Method == http.MethodPost && table.GRPCContentType(r.Header.Get("Content-Type"))
}

// errorPage is d's custom error page in place of an answer of status, as
// the edge decides it (table.Distribution.ErrorPage); nil: none.
func errorPage(d *table.Distribution, status int) *RouteErrorPage {
	c := d.ErrorPage(status)
	if c == nil {
		return nil
	}
	pb := d.Behavior(c.ResponsePagePath)
	p := &RouteErrorPage{Distribution: d.ID, ErrorCode: c.ErrorCode, Path: c.ResponsePagePath, ResponseCode: c.ResponseCode,
		ErrorCachingMinTTL: c.ErrorCachingMinTTL, Behavior: pb.Name(), Index: pb.Index, Target: pb.TargetID(), TargetKind: "origin"}
	if pb.Group != nil {
		p.TargetKind = "originGroup"
	}
	return p
}

// distributionRules are the distribution's geo restriction and logging.
func (e *RouteExplanation) distributionRules(spec *schema.Distribution) {
	geo := spec.Restrictions.GeoRestriction
	e.Geo = &RouteGeo{RestrictionType: geo.RestrictionType, Items: geo.Items}
	l := spec.Logging
	e.Logging = &RouteLogging{Enabled: l.Enabled, IncludeCookies: l.IncludeCookies, Bucket: l.Bucket, Prefix: l.Prefix}
}

// responseHeaders explains policy rh for a request with Origin origin.
func responseHeaders(rh *table.ResponseHeaders, origin string) *RouteResponseHeaders {
	if rh == nil {
		return nil
	}
	out := &RouteResponseHeaders{Name: rh.Name, Managed: table.ManagedResponseHeadersPolicies[rh.Name] != nil,
		Remove: rh.Remove, ServerTiming: rh.ServerTiming, ServerTimingPercent: rh.SamplingRate * 100}
	for _, h := range rh.Set {
		out.Set = append(out.Set, RouteSetHeader{Name: h.Name, Value: h.Value, Override: h.Override})
	}
	if c := rh.CORS; c != nil {
		rc := &RouteCORS{Origin: origin, Allowed: origin != "" && c.AllowsOrigin(origin), AllowedOrigins: c.Origins}
		// A named origin is answered with the request's own.
		allow := "*"
		if !c.AnyOrigin {
			allow = "(an allowed Origin, echoed)"
			if rc.Allowed {
				allow = origin
			}
		} else {
			rc.AllowedOrigins = append([]string{"*"}, c.Origins...)
		}
		add := func(to *[]RouteSetHeader, name, value string) {
			if value != "" {
				*to = append(*to, RouteSetHeader{Name: name, Value: value, Override: c.OriginOverride})
			}
		}
		add(&rc.Headers, "Access-Control-Allow-Origin", allow)
		if c.AllowCredentials {
			add(&rc.Headers, "Access-Control-Allow-Credentials", "true")
		}
		add(&rc.Headers, "Access-Control-Expose-Headers", c.ExposeHeaders)
		if c.AllowMethods != "" {
			add(&rc.Preflight, "Access-Control-Allow-Methods", c.AllowMethods)
			add(&rc.Preflight, "Access-Control-Allow-Headers", c.AllowHeaders)
			add(&rc.Preflight, "Access-Control-Max-Age", c.MaxAge)
		}
		out.CORS = rc
	}
	return out
}

// requestPath is the path as the edge reads it (signedurl.URLPath).
func requestPath(u *url.URL) string { return signedurl.URLPath(u) }

func refuse(reason string) RouteDecision {
	return RouteDecision{Action: ActionRefuse, Status: http.StatusForbidden, Reason: reason}
}

// hostname drops the port, as the host lookup does.
func hostname(host string) string { return (&url.URL{Host: host}).Hostname() }

// viewerDecision applies the viewer protocol policy to the URL's scheme,
// for a viewer of HTTP/1.1 or above: redirect-to-https sends GET and HEAD
// on with a 301 and the other methods with a 307.
func viewerDecision(policy string, r RouteRequest, host string) *RouteViewer {
	v := &RouteViewer{Policy: policy, Scheme: r.URL.Scheme, Action: ActionServe}
	if r.URL.Scheme == "https" || policy == "allow-all" {
		return v
	}
	if policy == "redirect-to-https" {
		v.Action = ActionRedirect
		v.Status = table.RedirectToHTTPSStatus(r.Method, true)
		v.Location = "https://" + hostname(host) + r.URL.RequestURI()
		return v
	}
	v.Action = ActionRefuse
	return v
}

// signature lists a behavior's trusted key groups and the signature's
// parts the request carries, and checks it as the edge does.
func signature(t *table.Table, b *table.Behavior, r RouteRequest) *RouteSignature {
	bs := b.Spec
	s := &RouteSignature{Required: len(bs.TrustedKeyGroups) > 0, Status: "not required"}
	q := r.URL.Query()
	for _, p := range signatureParams {
		if q.Has(p) {
			s.URLParams = append(s.URLParams, p)
		}
	}
	cookies := parseCookies(r.Header.Values("Cookie"))
	for _, name := range signatureCookies {
		if _, ok := lookupValue(cookies, name); ok {
			s.Cookies = append(s.Cookies, name)
		}
	}
	if !s.Required {
		return s
	}
	for _, id := range bs.TrustedKeyGroups {
		kg := RouteKeyGroup{ID: id, KeyIDs: []string{}}
		if g := t.KeyGroup(id); g != nil {
			for _, pk := range g.Spec.PublicKeys {
				kg.KeyIDs = append(kg.KeyIDs, pk.ID)
			}
		}
		s.TrustedKeyGroups = append(s.TrustedKeyGroups, kg)
	}
	// The edge's own check, at the request's time and viewer IP.
	now := r.Now
	if now.IsZero() {
		now = time.Now()
	}
	client, _ := netip.ParseAddr(r.ViewerIP)
	d := signedurl.Check(t, b, r.URL, r.host(), r.Header.Values("Cookie"), client, now)
	s.Status, s.Via, s.KeyPairID = "valid", d.Via, d.KeyPairID
	s.At, s.ViewerIP = now.UTC().Format(time.RFC3339), r.ViewerIP
	if !d.Allowed {
		s.Status, s.Code, s.ErrorCode, s.ErrorMessage, s.Reason = "refused", d.Code, d.ErrorCode, d.ErrorMessage, d.Reason
	}
	return s
}

// cacheKey builds the key parts from the behavior's forwarded values.
func cacheKey(t *table.Table, distID, path string, b *table.Behavior, query []RouteValue, r RouteRequest, signed bool) *RouteCacheKey {
	bs := b.Spec
	fv := bs.ForwardedValues
	k := &RouteCacheKey{Cached: true, Distribution: distID, Path: path}
	if !slices.Contains(bs.CachedMethods, r.Method) {
		k.Cached, k.NotCached = false, r.Method+" is not in cachedMethods"
	}

	// Query string: a signed behavior's signature parameters never enter the key.
	k.Query = RouteQueryKey{Mode: "none", Key: []RouteValue{}}
	if fv.QueryString {
		k.Query.Mode = "all"
		switch {
		case len(fv.QueryStringCacheKeys) > 0:
			k.Query.Mode, k.Query.Names = "whitelist", fv.QueryStringCacheKeys
		case len(fv.QueryStringsExcept) > 0:
			k.Query.Mode, k.Query.Names = "allExcept", fv.QueryStringsExcept
		}
	}
	for _, q := range query {
		in := k.Query.Mode == "all" || k.Query.Mode != "none" && slices.Contains(k.Query.Names, q.Name) == (k.Query.Mode == "whitelist")
		if in && (!signed || !signedurl.IsSignatureParam(q.Name)) {
			k.Query.Key = append(k.Query.Key, q)
		} else {
			k.Query.Ignored = append(k.Query.Ignored, q.Name)
		}
	}

	// Under a policy that forwards every viewer value the edge keys neither
	// forwardedValues' headers nor cookies: the origin's Vary selects the
	// stored response. A cache policy's are keyed (daemon/edge cacheKey).
	keyed := !b.OriginRequest.ForwardsAll() || bs.CachePolicy != ""

	// Cookies: whitelisted names may hold CloudFront's * and ? wildcards.
	cookies := parseCookies(r.Header.Values("Cookie"))
	k.Cookies = RouteCookieKey{Forward: fv.Cookies.Forward, WhitelistedNames: fv.Cookies.WhitelistedNames, Key: []RouteValue{}}
	for _, c := range cookies {
		// allExcept (a cache policy's) keeps all but the listed names.
		in := fv.Cookies.Forward == "all" || fv.Cookies.Forward != "none" && cookieWhitelisted(fv.Cookies.WhitelistedNames, c.Name) == (fv.Cookies.Forward == "whitelist")
		in = in && keyed && (!signed || !signedurl.IsSignatureCookie(c.Name))
		if in {
			k.Cookies.Key = append(k.Cookies.Key, c)
		} else {
			k.Cookies.Ignored = append(k.Cookies.Ignored, c.Name)
		}
	}
	// The edge keys and forwards them sorted by name, as CloudFront does.
	slices.SortStableFunc(k.Cookies.Key, func(a, b RouteValue) int { return strings.Compare(a.Name, b.Name) })

	// Headers: each forwarded header's value from the request, or absent.
	k.Headers = RouteHeaderKey{Key: []RouteValue{}}
	for _, h := range fv.Headers {
		if h == "*" {
			k.Headers.All = true
			k.Headers.Note = "every header is forwarded"
			if k.Cached {
				k.Cached, k.NotCached = false, `forwardedValues.headers is ["*"]`
			}
			continue
		}
		v := RouteValue{Name: http.CanonicalHeaderKey(h)}
		if !keyed {
			k.Headers.Note = "forwarded, not in the key, under originRequestPolicy " + bs.OriginRequestPolicy
			continue
		}
		if strings.HasPrefix(v.Name, "Cloudfront-") {
			// The edge keys the value it sets itself (daemon/edge/cfheaders.go).
			v.Value, v.Present = "(set by the node; a viewer's own is ignored)", true
			if vals := r.Header.Values(h); len(vals) > 0 {
				// As route set it (the cf header lines).
				v.Value = strings.Join(vals, ", ") + " (set by the node; a viewer's own is ignored)"
			}
			k.Headers.Key = append(k.Headers.Key, v)
			continue
		}
		vals := r.Header.Values(h)
		if signed && v.Name == "Cookie" {
			vals = strippedCookies(vals)
		}
		if strings.EqualFold(h, "Host") {
			v.Value, v.Present = r.host(), true
		} else if len(vals) > 0 {
			v.Value, v.Present = strings.Join(vals, ", "), true
		}
		k.Headers.Key = append(k.Headers.Key, v)
	}
	// A cache policy that enables gzip or brotli keys and forwards the
	// normalized Accept-Encoding; "identity" is forwarded, not keyed.
	if ae, ok := b.AcceptEncoding(r.Header.Values("Accept-Encoding")); ok {
		if ae == "identity" {
			ae = "identity (forwarded, not in the key)"
		}
		k.Headers.Key = append(k.Headers.Key, RouteValue{Name: "Accept-Encoding", Value: ae, Present: true})
	} else if b.KeyedEncoding {
		k.Headers.Key = append(k.Headers.Key, RouteValue{Name: "Accept-Encoding"})
	}
	if n := bs.OriginRequestPolicy; n != "" {
		if p := table.OriginRequestPolicy(t.Config(), n); p != nil {
			k.OriginRequestPolicy = &RouteORP{Name: n, Forwards: orpForwards(p, table.ManagedOriginRequestPolicies[n] != nil)}
		}
	}
	if n := bs.CachePolicy; n != "" {
		k.CachePolicy = &RoutePolicy{Name: n, Managed: table.ManagedCachePolicies[n] != nil}
	}
	return k
}

// strippedCookies are Cookie lines without the signature cookies, as the
// edge keys and forwards them on a signed behavior.
func strippedCookies(lines []string) []string {
	var kept []string
	for _, l := range lines {
		if l = signedurl.StripSignatureCookies(l); l != "" {
			kept = append(kept, l)
		}
	}
	return kept
}

func cookieWhitelisted(names []string, cookie string) bool {
	for _, n := range names {
		// As the edge matches them (cookieNameMatches): a name without
		// wildcards is itself.
		if table.CompileNamePattern(n).Match(cookie) {
			return true
		}
	}
	return false
}

// splitQuery splits a raw query into parameters in URL order, values kept
// as sent; names are unescaped for comparison.
func splitQuery(raw string) []RouteValue {
	var out []RouteValue
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		out = append(out, RouteValue{Name: name, Value: value, Present: true})
	}
	return out
}

func joinQuery(q []RouteValue) string {
	parts := make([]string, len(q))
	for i, v := range q {
		parts[i] = url.QueryEscape(v.Name) + "=" + v.Value
	}
	return strings.Join(parts, "&")
}

// parseCookies splits Cookie headers into name=value pairs in order.
func parseCookies(headers []string) []RouteValue {
	var out []RouteValue
	for _, h := range headers {
		for _, part := range strings.Split(h, ";") {
			name, value, _ := strings.Cut(strings.TrimSpace(part), "=")
			if name != "" {
				out = append(out, RouteValue{Name: name, Value: value, Present: true})
			}
		}
	}
	return out
}

func lookupValue(vs []RouteValue, name string) (string, bool) {
	for _, v := range vs {
		if v.Name == name {
			return v.Value, true
		}
	}
	return "", false
}

// originRequest is what every origin of a target gets: the same method,
// object path and forwarded query.
type originRequest struct {
	method, scheme, path, query string
	dir                         string // the config directory, for local origins
	viewerHost                  string // the Host a custom origin gets in place of its domainName
	hostNote                    string // where viewerHost comes from, for the text
}

func (r originRequest) explain(o *table.Origin) RouteOrigin {
	spec := o.Spec
	ro := RouteOrigin{ID: o.ID, Kind: string(o.Kind), DomainName: spec.DomainName, OriginPath: spec.OriginPath, ShieldRegion: spec.ShieldRegion()}
	for _, h := range spec.CustomHeaders {
		ro.CustomHeaders = append(ro.CustomHeaders, RouteValue{Name: h.HeaderName, Value: h.HeaderValue, Present: true})
	}
	path := spec.OriginPath + r.path
	withQuery := func(s string) string {
		if r.query != "" {
			return s + "?" + r.query
		}
		return s
	}
	switch o.Kind {
	case table.OriginCustom:
		c := spec.CustomOriginConfig
		ro.ProtocolPolicy = c.OriginProtocolPolicy
		switch c.OriginProtocolPolicy {
		case "http-only":
			ro.Scheme = "http"
		case "https-only":
			ro.Scheme = "https"
		default: // match-viewer
			ro.Scheme = r.scheme
		}
		port := c.HTTPPort
		if ro.Scheme == "https" {
			port = c.HTTPSPort
		}
		ro.HostPort = spec.DomainName
		// A domainName with its own port (a test setup) keeps it.
		if !strings.Contains(spec.DomainName, ":") {
			ro.HostPort += ":" + strconv.Itoa(port)
		}
		ro.Request = withQuery(r.method + " " + ro.Scheme + "://" + ro.HostPort + path)
		ro.HostHeader, ro.hostNote = r.viewerHost, r.hostNote
	case table.OriginS3:
		loc := o.S3
		ro.S3 = &RouteS3{Bucket: loc.Bucket, Region: loc.Region, Endpoint: loc.Endpoint, Addressing: "virtual-hosted",
			Signed: loc.SignRequests, CredentialsProfile: loc.CredentialsProfile}
		key := strings.TrimPrefix(path, "/")
		if loc.PathStyle {
			ro.S3.Addressing = "path-style"
			ro.Request = withQuery(r.method + " " + loc.Endpoint + "/" + loc.Bucket + "/" + key)
		} else {
			scheme, host, _ := strings.Cut(loc.Endpoint, "://")
			ro.Request = withQuery(r.method + " " + scheme + "://" + loc.Bucket + "." + host + "/" + key)
		}
	case table.OriginLocal:
		ro.LocalPath = spec.LocalOriginConfig.Path
		ro.Directory = filepath.Join(r.dir, filepath.FromSlash(ro.LocalPath))
		file := path
		if p, err := url.PathUnescape(path); err == nil {
			file = p
		}
		ro.Request = "file " + filepath.ToSlash(ro.Directory) + file
	case table.OriginLive:
		ro.StreamingDistribution = spec.LiveOriginConfig.StreamingDistribution
		ro.Request = "live HLS of streaming distribution " + strconv.Quote(ro.StreamingDistribution) + ", path " + path
	}
	return ro
}

// printRoute writes the explanation as aligned "key  value" lines.
func printRoute(w io.Writer, e *RouteExplanation) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	line := func(key, format string, args ...any) { fmt.Fprintf(tw, "%s\t%s\n", key, fmt.Sprintf(format, args...)) }

	line("request", "%s %s", e.Request.Method, e.Request.URL)
	line("host", "%s (from the %s)", e.Request.Host, map[string]string{"url": "URL", "header": "Host header"}[e.Request.HostFrom])
	dec := e.Decision
	switch dec.Action {
	case ActionServe:
		line("decision", "serve")
	case ActionRedirect:
		line("decision", "redirect %d to %s (%s)", dec.Status, dec.Location, dec.Reason)
	case ActionFunctionResponse:
		if dec.Location != "" {
			line("decision", "the function answers %d, to %s (%s)", dec.Status, dec.Location, dec.Reason)
		} else {
			line("decision", "the function answers %d (%s)", dec.Status, dec.Reason)
		}
	case ActionFunctionError:
		line("decision", "fail %d: %s", dec.Status, dec.Reason)
	case ActionRefuse:
		if dec.Code != "" {
			line("decision", "refuse %d %s: %s", dec.Status, dec.Code, dec.Reason)
			break
		}
		fallthrough
	default:
		line("decision", "refuse %d: %s", dec.Status, dec.Reason)
	}
	if p := dec.ErrorPage; p != nil {
		behavior := "default behavior"
		if p.Index >= 0 {
			behavior = fmt.Sprintf("behavior %s (cacheBehaviors[%d])", p.Behavior, p.Index)
		}
		kind := map[string]string{"origin": "origin", "originGroup": "origin group"}[p.TargetKind]
		line("  error page", "the viewer gets %d with %s instead (%s's customErrorResponses for %d)", p.ResponseCode, p.Path, p.Distribution, p.ErrorCode)
		line("  page from", "GET %s through its %s, %s %s", p.Path, behavior, kind, p.Target)
		fails := "a page fetch that fails or answers other than 200 sends"
		switch {
		case p.Kept == nil:
			line("  page kept", "%d s (errorCachingMinTTL), or the page's own max-age, s-maxage or Expires up to maxTTL when longer; %s the %d above",
				p.ErrorCachingMinTTL, fails, p.ErrorCode)
		case *p.Kept == 0:
			why := fmt.Sprintf(" (the origin's %d is not cached: a 400, 403, 405, 412 or 415 needs max-age, s-maxage or Expires)", p.ErrorCode)
			if p.ErrorCode == http.StatusRequestedRangeNotSatisfiable {
				why = " (a 416 is never cached)"
			}
			if e.TTL != nil && e.TTL.Max == 0 {
				why = " (maxTTL 0, as CachingDisabled: no error and no page is kept)"
			}
			if e.Methods != nil && !e.Methods.Cached {
				why = fmt.Sprintf(" (%s is not in cachedMethods)", e.Methods.Method)
			}
			line("  page kept", "not at all%s; %s the origin's %d", why, fails, p.ErrorCode)
		default:
			line("  page kept", "%d s (errorCachingMinTTL %d s, or the origin's answer's max-age, s-maxage or Expires up to maxTTL when longer); %s the origin's %d",
				*p.Kept, p.ErrorCachingMinTTL, fails, p.ErrorCode)
		}
	}
	if d := e.Distribution; d != nil {
		how := "exact"
		if d.Wildcard {
			how = "wildcard"
		}
		line("distribution", "%s (alias %s, %s)", d.ID, d.Alias, how)
		if d.Comment != "" {
			line("  comment", "%s", d.Comment)
		}
		if !d.Enabled {
			line("  enabled", "no")
		}
		if m := d.Mtls; m != nil {
			line("  viewer mTLS", "%s", m.text())
		}
		if cd := d.ContinuousDeployment; cd != nil {
			line("  continuous deployment", "policy %s, staging distribution %s: %s", cd.Policy, cd.Staging, cd.Why)
			if cd.ServedBy != d.ID {
				line("  served by", "%s (staging): what follows is its behaviors', origins' and cache's", cd.ServedBy)
			}
		}
	}
	printWAF(line, e.WAF)
	printWAF(line, e.StagingWAF)
	if b := e.Behavior; b != nil {
		if b.Index < 0 {
			line("behavior", "default (no pathPattern matched)")
		} else {
			line("behavior", "%s (cacheBehaviors[%d])", b.Name, b.Index)
		}
		for _, t := range b.Tried {
			line("  tried", "[%d] %s: %s", t.Index, t.PathPattern, t.Why)
		}
		if b.Index >= 0 {
			line("  matched", "[%d] %s", b.Index, b.Name)
		}
		printCloudFrontHeaders(line, e.CloudFrontHeaders)
		printFunctions(line, e.Functions)
		if b.GRPC {
			line("  gRPC", "HTTP/2 POSTs with Content-Type application/grpc go to origin %s over HTTP/2 and TLS, past the cache, after the viewer checks below and the functions", b.TargetOriginID)
		}
		if ws := b.WebSocket; ws != nil {
			line("  WebSocket", "a handshake: goes to the origin past the cache, with Connection: Upgrade and Upgrade: websocket; if the origin answers 101, the edge joins the two connections")
			if len(ws.NotForwarded) > 0 && ws.NoSwitch == "" {
				line("  not sent", "%s (the behavior does not forward them): the origin refuses the handshake; CloudFront asks for the AllViewer origin request policy, or for Sec-WebSocket-Key and Sec-WebSocket-Version in one",
					strings.Join(ws.NotForwarded, ", "))
			}
			if ws.NoSwitch != "" {
				line("  no switch", "origin %s is not a custom origin: it answers the handshake as any GET, and the viewer gets no WebSocket", ws.NoSwitch)
			}
		}
	}
	if v := e.Viewer; v != nil {
		verdict := map[string]string{ActionServe: "served", ActionRedirect: fmt.Sprintf("%d to %s", v.Status, v.Location), ActionRefuse: "403"}[v.Action]
		line("viewer", "%s, %s request: %s", v.Policy, v.Scheme, verdict)
	}
	if m := e.Methods; m != nil {
		verdict := "allowed"
		if !m.Allowed {
			verdict = "not allowed (403)"
		}
		line("methods", "%s %s", m.Method, verdict)
		line("  allowed", "%s", strings.Join(m.Allow, ", "))
		line("  cached", "%s", strings.Join(m.Cache, ", "))
	}
	if t := e.Target; t != nil {
		if t.Function != "" {
			line("target", "%s, chosen by function %s (the behavior's is %s)", t.ID, t.Function, e.Behavior.TargetOriginID)
		}
		if t.Origin != nil {
			printOrigin(line, "origin", *t.Origin)
		} else {
			g := t.Group
			line("origin group", "%s (primary %s, secondary %s)", t.ID, g.Primary.ID, g.Secondary.ID)
			codes := make([]string, len(g.StatusCodes))
			for i, c := range g.StatusCodes {
				codes[i] = strconv.Itoa(c)
			}
			eligible := "fails over"
			if !g.Eligible {
				eligible = "does not fail over (GET, HEAD and OPTIONS only)"
			}
			line("  failover", "on %s from the primary; %s %s", strings.Join(codes, ", "), e.Request.Method, eligible)
			printOrigin(line, "primary", g.Primary)
			printOrigin(line, "secondary", g.Secondary)
		}
	}
	if k := e.CacheKey; k != nil {
		cached := ""
		if !k.Cached {
			cached = " (not cached: " + k.NotCached + ")"
		}
		line("cache key", "distribution %s, path %s%s", k.Distribution, k.Path, cached)
		if p := k.CachePolicy; p != nil {
			line("  cache policy", "%s (%s): sets the key's query, cookies and headers and the TTLs", p.Name, policyKind(p.Managed))
		}
		line("  query", "%s", queryText(k.Query, k.CachePolicy != nil))
		line("  cookies", "%s", cookieText(k.Cookies))
		line("  headers", "%s", headerText(k.Headers))
		if p := k.OriginRequestPolicy; p != nil {
			line("  policy", "originRequestPolicy %s forwards %s to the origin, outside the key; the origin's Vary selects among stored responses", p.Name, p.Forwards)
		}
	}
	if t := e.TTL; t != nil {
		from := ""
		if k := e.CacheKey; k != nil && k.CachePolicy != nil {
			from = " (cache policy " + k.CachePolicy.Name + ")"
		}
		line("ttl", "min %d, default %d, max %d%s", t.Min, t.Default, t.Max, from)
	}
	if h := e.ResponseHeaders; h != nil {
		printResponseHeaders(line, h)
	}
	if a := e.Answer; a != nil {
		printAnswer(line, a)
	}
	if s := e.Signature; s != nil {
		if !s.Required {
			line("signature", "not required")
		} else {
			var groups []string
			for _, g := range s.TrustedKeyGroups {
				groups = append(groups, fmt.Sprintf("%s [%s]", g.ID, strings.Join(g.KeyIDs, ", ")))
			}
			line("signature", "required: %s", s.Status)
			line("  key groups", "%s", strings.Join(groups, "; "))
		}
		if len(s.URLParams) > 0 && s.Required {
			line("  url params", "%s (not in the cache key)", strings.Join(s.URLParams, ", "))
		} else if len(s.URLParams) > 0 {
			line("  url params", "%s (ordinary parameters here: the behavior is not signed)", strings.Join(s.URLParams, ", "))
		}
		if len(s.Cookies) > 0 {
			line("  cookies", "%s", strings.Join(s.Cookies, ", "))
		}
		switch s.Status {
		case "valid":
			line("  checked", "%s by key %s, valid at %s for viewer %s, as the edge checks it", via(s.Via), s.KeyPairID, s.At, s.ViewerIP)
		case "refused":
			line("  checked", "at %s for viewer %s, as the edge checks it: refused (%s)", s.At, s.ViewerIP, s.Code)
			replaced := ""
			if e.Decision.ErrorPage != nil {
				replaced = " (when the error page above fails)"
			}
			line("  answer", "403 text/xml <Code>%s</Code> <Message>%s</Message>, X-Openfront-Reason: %s%s", s.ErrorCode, s.ErrorMessage, s.Reason, replaced)
		}
	}
	if g := e.Geo; g != nil {
		switch g.RestrictionType {
		case "none":
			line("geo", "none")
		case "whitelist":
			line("geo", "whitelist %s (viewers elsewhere get 403)", strings.Join(g.Items, ", "))
		default:
			line("geo", "blacklist %s (viewers there get 403)", strings.Join(g.Items, ", "))
		}
	}
	if l := e.Logging; l != nil {
		if !l.Enabled {
			line("logging", "off")
		} else {
			s := "on, prefix " + strconv.Quote(l.Prefix)
			if l.Bucket != "" {
				s += ", bucket " + l.Bucket
			}
			if l.IncludeCookies {
				s += ", with cookies"
			}
			line("logging", "%s", s)
		}
	}
	if r := e.RootObject; r != nil {
		switch {
		case r.Object == "":
			line("root object", "none")
		case r.Applied:
			line("root object", "%s (applied: / is served as /%s)", r.Object, r.Object)
		default:
			line("root object", "%s (not applied: path is not /)", r.Object)
		}
	}
	tw.Flush()
}

// via names what carried a signature.
func via(v string) string {
	if v == signedurl.ViaCookie {
		return "signed cookies"
	}
	return "signed URL"
}

// policyKind says whose a policy is: CloudFront's managed one or the config's.
func policyKind(managed bool) string {
	if managed {
		return "managed"
	}
	return "config's"
}

func printResponseHeaders(line func(key, format string, args ...any), h *RouteResponseHeaders) {
	line("resp headers", "policy %s (%s)", h.Name, policyKind(h.Managed))
	setHeader := func(key string, s RouteSetHeader) {
		who := "the origin's wins"
		if s.Override {
			who = "overrides the origin's"
		}
		line(key, "%s: %s (%s)", s.Name, s.Value, who)
	}
	if c := h.CORS; c != nil {
		switch {
		case c.Origin == "":
			line("  cors", "no Origin header: no CORS headers (allowed origins: %s)", strings.Join(c.AllowedOrigins, ", "))
		case !c.Allowed:
			line("  cors", "Origin %s is not allowed: no CORS headers (allowed origins: %s)", c.Origin, strings.Join(c.AllowedOrigins, ", "))
		default:
			line("  cors", "Origin %s is allowed", c.Origin)
		}
		for _, s := range c.Headers {
			setHeader("  cors header", s)
		}
		for _, s := range c.Preflight {
			setHeader("  preflight", s)
		}
		if len(c.Preflight) == 0 {
			line("  preflight", "none: the policy answers no preflights")
		}
	}
	for _, s := range h.Set {
		setHeader("  adds header", s)
	}
	if h.ServerTiming {
		line("  adds header", "Server-Timing on %s%% of responses", strconv.FormatFloat(h.ServerTimingPercent, 'f', -1, 64))
	}
	for _, r := range h.Remove {
		line("  removes", "%s", r)
	}
}

func printOrigin(line func(key, format string, args ...any), key string, o RouteOrigin) {
	line(key, "%s (%s)", o.ID, o.Kind)
	switch o.Kind {
	case string(table.OriginCustom):
		line("  protocol", "%s (originProtocolPolicy %s)", o.Scheme, o.ProtocolPolicy)
		line("  host", "%s", o.HostPort)
		if o.HostHeader != "" {
			line("  Host sent", "%s (%s)", o.HostHeader, o.hostNote)
		}
	case string(table.OriginS3):
		s := o.S3
		line("  bucket", "%s in %s, %s", s.Bucket, s.Region, s.Addressing)
		line("  endpoint", "%s", s.Endpoint)
		signed := "unsigned"
		if s.Signed {
			signed = "SigV4 with the node's credentials"
			if s.CredentialsProfile != "" {
				signed += " (profile " + s.CredentialsProfile + ")"
			}
		}
		line("  signing", "%s", signed)
	case string(table.OriginLocal):
		line("  directory", "%s (localOriginConfig.path %s)", filepath.ToSlash(o.Directory), o.LocalPath)
	case string(table.OriginLive):
		line("  streaming", "%s", o.StreamingDistribution)
	}
	if o.OriginPath != "" {
		line("  origin path", "%s", o.OriginPath)
	}
	for _, h := range o.CustomHeaders {
		line("  adds header", "%s: %s", h.Name, h.Value)
	}
	line("  request", "%s", o.Request)
	if o.ShieldRegion != "" {
		line("  through", "the origin shield of %s: a node sends the request to its --origin-shield URL for %s, which asks the origin; a node with --region %s, or with no URL for it, asks the origin itself", o.ShieldRegion, o.ShieldRegion, o.ShieldRegion)
	}
}

// queryText explains the query part of a key; policy: a cache policy's.
func queryText(q RouteQueryKey, policy bool) string {
	var s string
	switch q.Mode {
	case "none":
		s = "none (forwardedValues.queryString false)"
		if policy {
			s = "none (queryStringBehavior none)"
		}
	case "all":
		s = "all"
	case "allExcept":
		s = "all query parameters but " + strings.Join(q.Names, ", ")
	default:
		s = "whitelist [" + strings.Join(q.Names, ", ") + "]"
	}
	if len(q.Key) > 0 {
		s += ": " + valuesText(q.Key)
	}
	if len(q.Ignored) > 0 {
		s += "; not in the key: " + strings.Join(q.Ignored, ", ")
	}
	return s
}

func cookieText(c RouteCookieKey) string {
	s := c.Forward
	switch c.Forward {
	case "whitelist":
		s += " [" + strings.Join(c.WhitelistedNames, ", ") + "]"
	case "allExcept":
		s = "all cookies but " + strings.Join(c.WhitelistedNames, ", ")
	}
	if len(c.Key) > 0 {
		s += ": " + valuesText(c.Key)
	}
	if len(c.Ignored) > 0 {
		s += "; not in the key: " + strings.Join(c.Ignored, ", ")
	}
	return s
}

func headerText(h RouteHeaderKey) string {
	if h.All {
		return "all (" + h.Note + ")"
	}
	if len(h.Key) == 0 && h.Note != "" {
		return "none (" + h.Note + ")"
	}
	if len(h.Key) == 0 {
		return "none"
	}
	parts := make([]string, len(h.Key))
	for i, v := range h.Key {
		if v.Present {
			parts[i] = v.Name + ": " + v.Value
		} else {
			parts[i] = v.Name + " (absent)"
		}
	}
	return strings.Join(parts, "; ")
}

func valuesText(vs []RouteValue) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.Name + "=" + v.Value
	}
	return strings.Join(parts, " ")
}
