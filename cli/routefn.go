package cli

import (
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/cffunc"
	"openfront.dev/internal/cfheaders"
)

// route runs a behavior's viewer-request function on the request, as
// CloudFront's test-function does, through the table's compiled function
// and key value store (table.Distribution.ViewerRequest, which the edge
// runs too): what follows is explained for the request it returned and the
// origin it chose. A viewer-response function needs an origin's answer:
// given one (--response-status, --response-header), route runs it after
// the response headers policy (table.Distribution.ViewerAnswer), else it
// is named, not run.

// defaultViewerIP is the viewer's address a function sees without --viewer-ip.
const defaultViewerIP = "127.0.0.1"

// routeRequestID is event.context.requestId in route's runs.
const routeRequestID = "openfront-route"

// Function results.
const (
	FunctionRequest  = "request"  // it returned the request
	FunctionResponse = "response" // it generated a response
	FunctionError    = "error"    // it failed: the edge answers 502 or 503
	// FunctionAnswer: a viewer-response function returned the answer.
	FunctionAnswer = "answer"
)

// RouteFunction is one of the behavior's functions and, for a
// viewer-request one that the request reaches, what it did.
type RouteFunction struct {
	Name      string `json:"name"`
	EventType string `json:"eventType"`
	Runtime   string `json:"runtime"`
	// NotRun says why route did not run it.
	NotRun string `json:"notRun,omitempty"`
	// ViewerIP is event.viewer.ip in the run.
	ViewerIP string `json:"viewerIp,omitempty"`
	Result   string `json:"result,omitempty"`
	// Request is the request it returned.
	Request  *RouteFunctionRequest  `json:"request,omitempty"`
	Response *RouteFunctionResponse `json:"response,omitempty"`
	Error    *RouteFunctionError    `json:"error,omitempty"`
	// Answer is what a viewer-response function changed of the answer.
	Answer *RouteFunctionAnswer `json:"answer,omitempty"`
	// Log is what the run's console.log printed, in order (CloudFront's
	// TestFunction FunctionExecutionLogs), as much as CloudFront keeps
	// (cffunc.MaxLogBytes); LogCut counts the lines cut short or left out.
	Log    []string `json:"log,omitempty"`
	LogCut int      `json:"logCut,omitempty"`
}

// setLog keeps what l captured of f's run.
func (f *RouteFunction) setLog(l *cffunc.Log) {
	f.Log, f.LogCut = l.Lines, l.Cut
}

// RouteFunctionAnswer is what a viewer-response function did to the
// answer it ran on: its status, and the headers it added, changed or
// removed of those it saw (the policy's included).
type RouteFunctionAnswer struct {
	Status       int           `json:"status"`
	StatusBefore int           `json:"statusBefore,omitempty"`
	Headers      []RouteChange `json:"headers,omitempty"`
}

// RouteAnswer is the origin's answer route was given and what the
// viewer gets of it, after the response headers policy and the
// viewer-response function.
type RouteAnswer struct {
	Status        int          `json:"status"`
	Headers       []RouteValue `json:"headers"`
	ViewerStatus  int          `json:"viewerStatus"`
	ViewerHeaders []RouteValue `json:"viewerHeaders"`
	// Page is the error page's path when one replaces the answer
	// (decision.errorPage): the viewer gets it, under the policy and
	// the function, with header fields from its origin route cannot know.
	Page string `json:"page,omitempty"`
}

// RouteFunctionRequest is the request a function returned: its URI and
// query, what it changed of the headers and cookies, and the origin its
// origin helpers asked for.
type RouteFunctionRequest struct {
	URI         string        `json:"uri"`
	URIChanged  bool          `json:"uriChanged"`
	Query       string        `json:"querystring"`
	QueryBefore string        `json:"querystringBefore,omitempty"`
	Headers     []RouteChange `json:"headers,omitempty"`
	Cookies     []RouteChange `json:"cookies,omitempty"`
	Origin      string        `json:"origin,omitempty"`
}

// RouteChange is a header or cookie a function added, changed or removed.
type RouteChange struct {
	Name   string `json:"name"`
	Change string `json:"change"` // added, changed, removed
	Before string `json:"before,omitempty"`
	After  string `json:"after,omitempty"`
}

// RouteFunctionResponse is a response a viewer-request function generated.
type RouteFunctionResponse struct {
	Status      int          `json:"status"`
	Description string       `json:"statusDescription,omitempty"`
	Headers     []RouteValue `json:"headers,omitempty"`
	BodyBytes   int          `json:"bodyBytes"`
	// Body is the body when it is text (UTF-8): it tells apart answers
	// of one status, such as a 403 for a bad signature and for an expired one.
	Body string `json:"body,omitempty"`
}

// RouteFunctionError is a failed run and what the edge answers.
type RouteFunctionError struct {
	Status  int    `json:"status"`
	Result  string `json:"result"` // FunctionExecutionError, ...
	Message string `json:"message"`
}

// routeFunctions lists b's functions, none run yet.
func routeFunctions(b *table.Behavior) []RouteFunction {
	var fs []RouteFunction
	for _, a := range b.Spec.FunctionAssociations {
		f := RouteFunction{Name: a.FunctionName, EventType: a.EventType}
		fn := b.ViewerRequest
		if a.EventType == "viewer-response" {
			fn = b.ViewerResponse
			f.NotRun = "it runs on the answer (below 400) of the origin or the cache: give one with --response-status and --response-header"
		}
		if fn != nil {
			f.Runtime = fn.Runtime
		}
		fs = append(fs, f)
	}
	return fs
}

// eventFunction is e's function of eventType, or nil.
func (e *RouteExplanation) eventFunction(eventType string) *RouteFunction {
	for i := range e.Functions {
		if e.Functions[i].EventType == eventType {
			return &e.Functions[i]
		}
	}
	return nil
}

// notRun says of each function that has not run why.
func (e *RouteExplanation) notRun(why string) {
	for i := range e.Functions {
		if f := &e.Functions[i]; f.Result == "" {
			f.NotRun = why
		}
	}
}

// functionRun is the context and request a function of d runs on for r
// at path: route's viewer IP, a 1 s bound (cffunc.OfflineBudget), --now
// for its Date, and its console.log lines kept in log. The function sees Host as its own
// field, as the edge's request has it.
func functionRun(d *table.Distribution, r RouteRequest, path string, log *cffunc.Log) (cffunc.Context, *cffunc.Request) {
	ip := r.ViewerIP
	if ip == "" {
		ip = defaultViewerIP
	}
	host := r.host()
	hdr := r.Header.Clone()
	delete(hdr, "Host")
	req := &cffunc.Request{Method: r.Method, URI: path, RawQuery: r.URL.RawQuery, QueryMark: r.URL.ForceQuery, Host: host, Header: hdr}
	// The function's Date is route's --now, as CloudFront's is the time
	// the run started: a function checking a token's expiry is tested at
	// the time given.
	c := cffunc.Context{DistributionDomainName: host, DistributionID: d.ID, RequestID: routeRequestID, ViewerIP: ip, Budget: cffunc.OfflineBudget, Log: log, Now: r.Now}
	return c, req
}

// runViewerRequest runs b's viewer-request function on r (whose path is
// path) as the edge does. ok: the request goes on, as fr to path to nb;
// else e's decision is the function's answer.
func runViewerRequest(e *RouteExplanation, d *table.Distribution, b *table.Behavior, r RouteRequest, path string) (fr RouteRequest, fpath string, nb *table.Behavior, ok bool) {
	f := e.eventFunction("viewer-request")
	if f == nil || b.ViewerRequest == nil {
		return r, path, b, true
	}
	var log cffunc.Log
	c, req := functionRun(d, r, path, &log)
	f.ViewerIP = c.ViewerIP
	nb, resp, err := d.ViewerRequest(b, c, req)
	f.setLog(&log)
	switch {
	case err != nil:
		status, result := cffunc.Failure(err)
		f.Result, f.Error = FunctionError, &RouteFunctionError{Status: status, Result: result, Message: err.Error()}
		e.Decision = RouteDecision{Action: ActionFunctionError, Status: status,
			Reason: fmt.Sprintf("viewer-request function %s failed (%s): %v", f.Name, result, err)}
		e.notRun("the viewer-request function failed")
		return r, path, nil, false
	case resp != nil:
		out := &RouteFunctionResponse{Status: resp.Status, Description: resp.Description, BodyBytes: len(resp.Body)}
		if utf8.Valid(resp.Body) {
			out.Body = string(resp.Body)
		}
		if len(resp.Header) > 0 {
			out.Headers = headerValues(resp.Header)
		}
		f.Result, f.Response = FunctionResponse, out
		e.Decision = RouteDecision{Action: ActionFunctionResponse, Status: resp.Status, Location: resp.Header.Get("Location"),
			Reason: "viewer-request function " + f.Name + " generated the response"}
		e.notRun("the edge runs none on a response a viewer-request function generated")
		return r, path, nil, false
	}
	fr = r
	u := *r.URL
	u.RawQuery = req.RawQuery
	fr.URL = &u
	fr.Header = req.Header
	if h := r.Header.Values("Host"); h != nil {
		fr.Header["Host"] = h
	}
	out := &RouteFunctionRequest{URI: req.URI, URIChanged: req.URI != path, Query: req.RawQuery,
		Headers: headerChanges(r.Header, req.Header), Cookies: cookieChanges(r.Header.Values("Cookie"), req.Header.Values("Cookie"))}
	if req.RawQuery != r.URL.RawQuery {
		out.QueryBefore = r.URL.RawQuery
		if out.QueryBefore == "" {
			out.QueryBefore = "(none)"
		}
	}
	if req.Origin != nil {
		out.Origin = originChangeText(req.Origin)
	}
	f.Result, f.Request = FunctionRequest, out
	return fr, req.URI, nb, true
}

// runViewerResponse makes r's assumed answer what the viewer gets of b
// as the edge does (table.Distribution.ViewerAnswer): the response headers
// policy, then the viewer-response function on an answer below 400. A
// function that fails makes e's decision the edge's error.
func runViewerResponse(e *RouteExplanation, d *table.Distribution, b *table.Behavior, r RouteRequest, path string) {
	a := r.Response
	e.Answer = &RouteAnswer{Status: a.Status, Headers: headerValues(a.Header)}
	given, hdr := a.Status, a.Header.Clone()
	if p := e.Decision.ErrorPage; p != nil {
		e.Answer.Page = p.Path
		given, hdr = p.ResponseCode, http.Header{}
	}
	resp := &cffunc.Response{Status: given, Description: http.StatusText(given), Header: hdr}
	f := e.eventFunction("viewer-response")
	var log cffunc.Log
	c, req := functionRun(d, r, path, &log)
	// What the function sees: the answer under the policy.
	before := resp.Header.Clone()
	if b.ResponseHeaders != nil {
		b.ResponseHeaders.Apply(before, req.Header, req.Method)
	}
	ran, err := d.ViewerAnswer(b, c, req, resp)
	e.Answer.ViewerStatus, e.Answer.ViewerHeaders = resp.Status, headerValues(resp.Header)
	switch {
	case f == nil:
		return
	case !ran:
		f.NotRun = fmt.Sprintf("the edge runs none on an answer of 400 and above (%d)", given)
		return
	}
	f.NotRun, f.ViewerIP = "", c.ViewerIP
	f.setLog(&log)
	if err != nil {
		status, result := cffunc.Failure(err)
		f.Result, f.Error = FunctionError, &RouteFunctionError{Status: status, Result: result, Message: err.Error()}
		e.Decision = RouteDecision{Action: ActionFunctionError, Status: status,
			Reason: fmt.Sprintf("viewer-response function %s failed (%s) on the %d answer: %v", f.Name, result, given, err)}
		// None of the answer's headers goes with the edge's error.
		e.Answer.ViewerStatus, e.Answer.ViewerHeaders = status, []RouteValue{}
		return
	}
	out := &RouteFunctionAnswer{Status: resp.Status, Headers: headerChanges(before, resp.Header)}
	if resp.Status != given {
		out.StatusBefore = given
	}
	f.Result, f.Answer = FunctionAnswer, out
}

// headerValues lists h by name, then value.
func headerValues(h http.Header) []RouteValue {
	out := []RouteValue{}
	for _, name := range slices.Sorted(maps.Keys(h)) {
		for _, v := range h[name] {
			out = append(out, RouteValue{Name: name, Value: v, Present: true})
		}
	}
	return out
}

// printAnswer writes the answer route was given and what the viewer gets.
func printAnswer(line func(key, format string, args ...any), a *RouteAnswer) {
	line("answer", "%d %s, as given (--response-status, --response-header)", a.Status, http.StatusText(a.Status))
	for _, h := range a.Headers {
		line("  header", "%s: %s", h.Name, h.Value)
	}
	if a.Page != "" {
		line("viewer gets", "%d %s, the error page %s with the header fields its origin sends and these", a.ViewerStatus, http.StatusText(a.ViewerStatus), a.Page)
	} else {
		line("viewer gets", "%d %s", a.ViewerStatus, http.StatusText(a.ViewerStatus))
	}
	for _, h := range a.ViewerHeaders {
		line("  header", "%s: %s", h.Name, h.Value)
	}
}

// headerChanges are the headers other than Host and Cookie (the cookies
// are compared on their own) that differ between before and after.
func headerChanges(before, after http.Header) []RouteChange {
	names := map[string]bool{}
	for k := range before {
		names[k] = true
	}
	for k := range after {
		names[k] = true
	}
	delete(names, "Host")
	delete(names, "Cookie")
	var out []RouteChange
	for _, n := range slices.Sorted(maps.Keys(names)) {
		b, a := before.Values(n), after.Values(n)
		if c, ok := valueChange(n, b != nil, a != nil, strings.Join(b, ", "), strings.Join(a, ", ")); ok {
			out = append(out, c)
		}
	}
	return out
}

// cookieChanges compares Cookie lines by cookie name.
func cookieChanges(before, after []string) []RouteChange {
	b, a := parseCookies(before), parseCookies(after)
	var names []string
	for _, c := range append(slices.Clone(b), a...) {
		if !slices.Contains(names, c.Name) {
			names = append(names, c.Name)
		}
	}
	slices.Sort(names)
	var out []RouteChange
	for _, n := range names {
		bv, bok := lookupValue(b, n)
		av, aok := lookupValue(a, n)
		if c, ok := valueChange(n, bok, aok, bv, av); ok {
			out = append(out, c)
		}
	}
	return out
}

func valueChange(name string, had, has bool, before, after string) (RouteChange, bool) {
	switch {
	case had && !has:
		return RouteChange{Name: name, Change: "removed", Before: before}, true
	case !had && has:
		return RouteChange{Name: name, Change: "added", After: after}, true
	case had && before != after:
		return RouteChange{Name: name, Change: "changed", Before: before, After: after}, true
	}
	return RouteChange{}, false
}

// originChangeText names what a function's origin helpers asked for, as
// its code calls them.
func originChangeText(c *cffunc.OriginChange) string {
	var parts []string
	if c.Select != "" {
		parts = append(parts, "selectRequestOriginById("+strconv.Quote(c.Select)+")")
	}
	if g := c.Group; g != nil {
		codes := make([]string, len(g.StatusCodes))
		for i, s := range g.StatusCodes {
			codes[i] = strconv.Itoa(s)
		}
		parts = append(parts, fmt.Sprintf("createRequestOriginGroup(%q, %q, failover on %s)", g.Primary, g.Secondary, strings.Join(codes, ", ")))
	}
	if u := c.Update; u != nil {
		var set []string
		if u.DomainName != "" {
			set = append(set, "domainName "+u.DomainName)
		}
		if u.OriginPath != nil {
			set = append(set, "originPath "+strconv.Quote(*u.OriginPath))
		}
		if u.CustomHeaders != nil {
			set = append(set, "customHeaders")
		}
		if u.Protocol != "" {
			set = append(set, "protocol "+u.Protocol)
		}
		if u.Port != 0 {
			set = append(set, "port "+strconv.Itoa(u.Port))
		}
		if u.ConnectionAttempts != 0 || u.ConnectionTimeout != 0 || u.ReadTimeout != 0 || u.KeepaliveTimeout != 0 {
			set = append(set, "timeouts")
		}
		if u.SSLProtocols != nil {
			set = append(set, "sslProtocols")
		}
		parts = append(parts, "updateRequestOrigin("+strings.Join(set, ", ")+")")
	}
	return strings.Join(parts, ", then ")
}

// routeBodyShown is how much of a generated body the text output shows.
const routeBodyShown = 64

// The text output shows the first routeLogShown lines of a function's
// log, each up to routeLogLineShown bytes; --json has all CloudFront keeps.
const (
	routeLogShown     = 20
	routeLogLineShown = 200
)

// printLog writes what f's run logged.
func printLog(line func(key, format string, args ...any), f RouteFunction) {
	for i, l := range f.Log {
		if i == routeLogShown {
			line("    log", "(%d more lines; --json shows them)", len(f.Log)-i)
			break
		}
		if strings.IndexFunc(l, unicode.IsControl) >= 0 {
			// A newline would break the output's lines: quoted.
			l = strconv.Quote(l)
		}
		if len(l) > routeLogLineShown {
			line("    log", "%s... (%d bytes; --json shows it all)", strings.ToValidUTF8(l[:routeLogLineShown], ""), len(l))
			continue
		}
		line("    log", "%s", l)
	}
	if f.LogCut > 0 {
		line("    log", "(%d lines cut: CloudFront keeps %d KB of a function's log)", f.LogCut, cffunc.MaxLogBytes>>10)
	}
}

// printFunctions writes the behavior's functions and what they did.
func printFunctions(line func(key, format string, args ...any), fs []RouteFunction) {
	for _, f := range fs {
		printFunction(line, f)
		printLog(line, f)
	}
}

func printFunction(line func(key, format string, args ...any), f RouteFunction) {
	switch f.Result {
	case "":
		line("  function", "%s on %s: not run: %s", f.Name, f.EventType, f.NotRun)
	case FunctionError:
		line("  function", "%s on %s (viewer IP %s): failed, %d %s", f.Name, f.EventType, f.ViewerIP, f.Error.Status, f.Error.Result)
		line("    error", "%s", f.Error.Message)
	case FunctionResponse:
		r := f.Response
		line("  function", "%s on %s (viewer IP %s): generated the response", f.Name, f.EventType, f.ViewerIP)
		line("    status", "%d %s", r.Status, r.Description)
		for _, h := range r.Headers {
			line("    header", "%s: %s", h.Name, h.Value)
		}
		switch {
		case r.Body == "" && r.BodyBytes > 0:
			line("    body", "%d bytes", r.BodyBytes)
		case len(r.Body) > routeBodyShown:
			line("    body", "%d bytes, begins %q", r.BodyBytes, strings.ToValidUTF8(r.Body[:routeBodyShown], ""))
		case r.Body != "":
			line("    body", "%d bytes: %q", r.BodyBytes, r.Body)
		}
	case FunctionAnswer:
		a := f.Answer
		line("  function", "%s on %s (viewer IP %s): returned the answer", f.Name, f.EventType, f.ViewerIP)
		if a.StatusBefore != 0 {
			line("    status", "%d %s (was %d)", a.Status, http.StatusText(a.Status), a.StatusBefore)
		}
		printChanges(line, "    header", a.Headers)
	default:
		r := f.Request
		line("  function", "%s on %s (viewer IP %s): returned the request; what follows is for it", f.Name, f.EventType, f.ViewerIP)
		if r.URIChanged {
			line("    uri", "%s (changed)", r.URI)
		} else {
			line("    uri", "%s (unchanged)", r.URI)
		}
		if r.QueryBefore != "" {
			q := r.Query
			if q == "" {
				q = "(none)"
			}
			line("    query", "%s (was %s)", q, r.QueryBefore)
		}
		printChanges(line, "    header", r.Headers)
		printChanges(line, "    cookie", r.Cookies)
		if r.Origin != "" {
			line("    origin", "%s", r.Origin)
		}
	}
}

func printChanges(line func(key, format string, args ...any), key string, cs []RouteChange) {
	for _, c := range cs {
		switch c.Change {
		case "added":
			line(key, "%s: %s (added)", c.Name, c.After)
		case "removed":
			line(key, "%s (removed; was %s)", c.Name, c.Before)
		default:
			line(key, "%s: %s (was %s)", c.Name, c.After, c.Before)
		}
	}
}

// RouteCloudFrontHeader is a CloudFront-* header the edge sets on the
// request, as b's cache or origin request policy names it: its value, or
// why route has none.
type RouteCloudFrontHeader struct {
	Name  string `json:"name"`
	Value string `json:"value,omitempty"`
	Set   bool   `json:"set"`
	Note  string `json:"note,omitempty"`
}

// setCloudFrontHeaders gives r the CloudFront-* headers b names, as the
// edge sets them before the viewer-request function (cfheaders, which the
// edge uses), from what route is told: the URL's scheme, --viewer-country,
// --viewer-ip and the User-Agent; e lists them.
func (e *RouteExplanation) setCloudFrontHeaders(b *table.Behavior, r RouteRequest) RouteRequest {
	r.Header = r.Header.Clone()
	ip := r.ViewerIP
	if ip == "" {
		ip = defaultViewerIP
	}
	client, _ := netip.ParseAddr(ip)
	unset := cfheaders.Set(r.Header, b.CloudFrontHeaders, &cfheaders.Viewer{HTTPS: r.URL.Scheme == "https", Country: r.ViewerCountry, Client: client, Header: r.Header})
	for _, name := range b.CloudFrontHeaders {
		h := RouteCloudFrontHeader{Name: name}
		if slices.Contains(unset, name) {
			h.Note = unsetWhy(name, r.URL.Scheme)
		} else {
			h.Value, h.Set = strings.Join(r.Header[name], ", "), true
			if name == cfheaders.ViewerAddress {
				h.Note = "port 0: route has no connection"
			}
		}
		e.CloudFrontHeaders = append(e.CloudFrontHeaders, h)
	}
	return r
}

// unsetWhy says why route has no value for the CloudFront header name.
func unsetWhy(name, scheme string) string {
	switch {
	case name == cfheaders.ViewerCountry:
		return "the viewer's country is unknown: give --viewer-country"
	case name == cfheaders.ViewerHTTPVersion:
		return "the viewer's connection says it, which route has not"
	case name == "Cloudfront-Viewer-Tls" || strings.HasSuffix(name, "-Fingerprint"):
		if scheme != "https" {
			return "none over HTTP"
		}
		return "the viewer's TLS handshake says it, which route has not"
	case slices.Contains(table.ViewerMtlsHeaders, name) || table.IsClientCertHeader(name):
		return "the viewer's client certificate says it (viewer mTLS), which route has not"
	case slices.Contains(table.CloudFrontHeaders, name):
		return "the node's --geoip-db or --asn-db database says it, which route has not"
	}
	return "not a header the edge sets: a viewer's own is dropped"
}

// printCloudFrontHeaders writes the CloudFront-* headers the edge sets.
func printCloudFrontHeaders(line func(key, format string, args ...any), hs []RouteCloudFrontHeader) {
	for _, h := range hs {
		switch {
		case !h.Set:
			line("  cf header", "%s: not set: %s", h.Name, h.Note)
		case h.Note != "":
			line("  cf header", "%s: %s (added; %s)", h.Name, h.Value, h.Note)
		default:
			line("  cf header", "%s: %s (added)", h.Name, h.Value)
		}
	}
}
