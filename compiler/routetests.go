package compiler

import (
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"cuelang.org/go/cue"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/cffunc"
	"openfront.dev/internal/cfheaders"
	"openfront.dev/internal/signedurl"
	"openfront.dev/schema"
)

// runRouteTests checks the config's tests: each URL must reach the expected
// distribution, behavior and origin. A config repo asserts its routing in CI.
func (c *Compiler) runRouteTests(cfg *schema.Config, t *table.Table, origin map[string]*unit) Errors {
	k := &checker{dir: c.dir}
	for i, rt := range cfg.Tests {
		where := fmt.Sprintf("tests[%d] (%s)", i, rt.URL)
		u, err := url.Parse(rt.URL)
		if err != nil {
			k.add("tests", sel("tests", i, "url"), "%s: %v", where, err)
			continue
		}
		host := u.Host
		if h := rt.Headers["Host"]; h != "" {
			host = h
		}
		viewer, err := routeTestViewer(rt.ViewerIP)
		if err != nil {
			k.add("tests", sel("tests", i, "viewerIp"), "%s: viewerIp %q: %v", where, rt.ViewerIP, err)
			continue
		}
		if u.Scheme == "rtmp" {
			sd := t.StreamingDistributionForHost(host)
			switch {
			case sd == nil:
				k.add("tests", sel("tests", i, "expect", "distribution"), "%s: no streaming distribution has alias %q, want %q", where, u.Hostname(), rt.Expect.Distribution)
			case sd.ID != rt.Expect.Distribution:
				k.add("tests", sel("tests", i, "expect", "distribution"), "%s: routed to streaming distribution %q, want %q", where, sd.ID, rt.Expect.Distribution)
			}
			continue
		}
		d, b := t.Route(host, u.EscapedPath())
		if d == nil {
			k.add("tests", sel("tests", i, "expect", "distribution"), "%s: no distribution has alias %q, want %q", where, u.Hostname(), rt.Expect.Distribution)
			continue
		}
		hostDist := d
		if dep := t.Deployment(d.ID); dep != nil {
			var session *table.Session
			var ok bool
			if rt.Headers, session, ok = k.stickyTest(i, where, rt, dep); !ok {
				continue
			}
			hdr := http.Header{}
			for k, v := range rt.Headers {
				hdr.Set(k, v)
			}
			if s := dep.ServedWith(hdr, session); s != d {
				d, b = s, s.Behavior(u.EscapedPath())
			}
		}
		if d.ID != rt.Expect.Distribution {
			k.add("tests", sel("tests", i, "expect", "distribution"), "%s: routed to distribution %q, want %q", where, d.ID, rt.Expect.Distribution)
			continue
		}
		if want := rt.Expect.Behavior; want != "" && b.Name() != want {
			k.add("tests", sel("tests", i, "expect", "behavior"), "%s: matched behavior %q, want %q", where, b.Name(), want)
		}
		target, answered := b.TargetID(), false
		waf := &table.WAFRequest{Method: rt.Method, Path: u.EscapedPath(), RawQuery: u.RawQuery, Host: host, Header: http.Header{}, Client: viewer, Country: rt.ViewerCountry}
		for k, v := range rt.Headers {
			waf.Header.Set(k, v)
		}
		a := d.Admit(hostDist, b, u.Scheme, rt.Method, host, u.RequestURI(), rt.ViewerCountry, waf)
		if a == nil {
			a = signatureTest(t, b, u, host, rt.Headers, viewer)
		}
		if a != nil {
			// The request's own target is still the one its behavior routes to.
			k.edgeTest(i, where, rt, a)
		} else if b.ViewerRequest != nil || expectsFunction(rt) || rt.Response != nil {
			target, answered = k.functionTest(i, where, rt, u, host, viewer, d, b)
		}
		if want := rt.Expect.Origin; want != "" && !answered && target != want {
			k.add("tests", sel("tests", i, "expect", "origin"), "%s: sent to origin %q, want %q", where, target, want)
		}
	}
	if len(k.issues) == 0 {
		return nil
	}
	return c.locate(k.issues, origin)
}

// signatureTest is the edge's refusal of test rt's signed URL or signed
// cookies on a behavior with trustedKeyGroups, checked as the edge checks
// them (internal/signedurl, as openfront route does) for its viewer, or
// nil. The signature's dates are taken as holding: route tests run again
// whenever a node compiles or loads the config, and must not start failing
// when a test URL expires. A test that carries no signature is taken as signed validly: it
// tests where a private path goes, not who may see it.
func signatureTest(t *table.Table, b *table.Behavior, u *url.URL, host string, headers map[string]string, viewer netip.Addr) *table.EdgeAnswer {
	var cookies []string
	for n, v := range headers {
		if strings.EqualFold(n, "Cookie") {
			cookies = append(cookies, v)
		}
	}
	d := signedurl.CheckAnyTime(t, b, u, host, cookies, viewer)
	if d.Allowed || d.Via == "" {
		return nil
	}
	return &table.EdgeAnswer{Status: http.StatusForbidden, Reason: d.ErrorCode + ": " + d.Reason}
}

// routeTestViewer is a route test's viewerIp, 127.0.0.1 unset: the
// address the edge has once past its trusted proxies.
func routeTestViewer(ip string) (netip.Addr, error) {
	if ip == "" {
		return netip.AddrFrom4([4]byte{127, 0, 0, 1}), nil
	}
	// The schema's pattern leaves out zones.
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return a, fmt.Errorf("want %s", patternWants["viewerIp"])
	}
	return a.Unmap(), nil
}

// stickyTest reads the session cookie test i gives in its Cookie header
// for dep's policy: the edge takes it out of the request, which headers
// are then. If the policy keeps sessions, its side decides, whatever its
// start (a test cannot keep a session within maximumTTL), and ok is
// false, with an error, for a cookie that is none of dep's sessions;
// otherwise the edge ends it.
func (k *checker) stickyTest(i int, where string, rt schema.RouteTest, dep *table.Deployment) (headers map[string]string, s *table.Session, ok bool) {
	for name, line := range rt.Headers {
		if !strings.EqualFold(name, "Cookie") {
			continue
		}
		v, found, kept := dep.SessionCookie([]string{line})
		if !found {
			break
		}
		headers = maps.Clone(rt.Headers)
		if delete(headers, name); kept != nil {
			headers[name] = kept[0]
		}
		if !dep.KeepsSessions() {
			return headers, nil, true
		}
		session, ok := dep.ReadSession(v)
		if !ok {
			k.add("tests", sel("tests", i, "headers", name), "%s: cookie %s=%s is not a session of policy %q: its sessions are %s=SIDE.START.%s, SIDE s (staging) or p (primary) and START in Unix seconds",
				where, table.StickyCookie, v, dep.Policy, table.StickyCookie, dep.Session)
			return nil, nil, false
		}
		return headers, &session, true
	}
	return rt.Headers, nil, true
}

// expectsFunction: test rt expects what only a viewer-request function
// does: a request it changed, or an answer without an origin's.
func expectsFunction(rt schema.RouteTest) bool {
	e := rt.Expect
	return e.URI != "" || len(e.Query) > 0 || len(e.Cookies) > 0 || len(e.Headers) > 0 || e.Status != 0 && rt.Response == nil
}

// requestField is the first field of e that asserts what a
// viewer-request function returns, or "".
func requestField(e schema.RouteExpect) string {
	switch {
	case e.URI != "":
		return "uri"
	case len(e.Query) > 0:
		return "query"
	case len(e.Cookies) > 0:
		return "cookies"
	}
	return ""
}

// pastEdge is the first field of e that asserts what a request the edge
// answers itself never reaches, or "".
func pastEdge(e schema.RouteExpect) string {
	if f := requestField(e); f != "" || len(e.ResponseHeaders) == 0 {
		return f
	}
	return "responseHeaders"
}

// expectAt is the position of test i's expect.field.
func expectAt(i int) func(field ...any) []cue.Selector {
	return func(field ...any) []cue.Selector { return sel(append([]any{"tests", i, "expect"}, field...)...) }
}

// edgeTest checks test i, which the edge answers itself with a: a refusal
// is an error unless expect.status says it.
func (k *checker) edgeTest(i int, where string, rt schema.RouteTest, a *table.EdgeAnswer) {
	e, at := rt.Expect, expectAt(i)
	switch {
	case e.Status != 0 && e.Status != a.Status:
		k.add("tests", at("status"), "%s: the edge answers %d (%s), want %d", where, a.Status, a.Reason, e.Status)
	case e.Status == 0 && a.Status >= 400:
		f := "url"
		if a.Method {
			f = "method"
		}
		k.add("tests", sel("tests", i, f), "%s: the edge answers %d (%s)", where, a.Status, a.Reason)
	}
	if f := pastEdge(e); f != "" {
		k.add("tests", at(f), "%s: the edge answers %d (%s): no function runs and no origin answers", where, a.Status, a.Reason)
	}
	hdr := http.Header{}
	if a.Location != "" {
		hdr.Set("Location", a.Location)
	}
	k.headersTest(at, "headers", where, fmt.Sprintf("the edge answers %d with", a.Status), hdr, e.Headers)
}

// headersTest checks the headers of an answer, got, against want by name
// in any case ("": none); what says whose answer it is.
func (k *checker) headersTest(at func(...any) []cue.Selector, field, where, what string, got http.Header, want map[string]string) {
	for _, n := range slices.Sorted(maps.Keys(want)) {
		if v := strings.Join(got.Values(n), ", "); v != want[n] {
			k.add("tests", at(field, n), "%s: %s %s %q, want %q", where, what, n, v, want[n])
		}
	}
}

// functionTest runs b's viewer-request function, if any, on test i's
// request as the edge does (table.Distribution.ViewerRequest) and checks
// what the test expects of it, then of the origin's answer the test
// assumes (answerTest): the target the request then goes to, or answered:
// the function answered (a response or a failure) and no origin is asked.
func (k *checker) functionTest(i int, where string, rt schema.RouteTest, u *url.URL, host string, viewer netip.Addr, d *table.Distribution, b *table.Behavior) (target string, answered bool) {
	e, at := rt.Expect, expectAt(i)
	hdr := http.Header{}
	for n, v := range rt.Headers {
		if !strings.EqualFold(n, "Host") {
			hdr.Set(n, v)
		}
	}
	// The CloudFront headers the edge sets before the function, for what
	// the test says: its viewer's, the others are left out (as the edge
	// leaves out what it cannot tell).
	cfheaders.Set(hdr, b.CloudFrontHeaders, &cfheaders.Viewer{HTTPS: u.Scheme == "https", Country: rt.ViewerCountry,
		Client: viewer, Header: hdr})
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	req := &cffunc.Request{Method: rt.Method, URI: path, RawQuery: u.RawQuery, QueryMark: u.ForceQuery, Host: host, Header: hdr}
	c := cffunc.Context{DistributionDomainName: host, DistributionID: d.ID, RequestID: "openfront-vet", ViewerIP: viewer.String(), Budget: cffunc.OfflineBudget}
	nb := b
	if b.ViewerRequest == nil {
		if e.Status != 0 && rt.Response == nil {
			// Only the edge or a function answers without the origin.
			hint := ""
			if e.Status == http.StatusForbidden && len(b.Spec.TrustedKeyGroups) > 0 {
				hint = " (route tests take a signature's dates as holding, so that a config does not stop vetting when its test URLs expire)"
			}
			k.add("tests", at("status"), "%s: the edge does not answer it: it goes to origin %q, want %d%s", where, b.TargetID(), e.Status, hint)
			return b.TargetID(), false
		}
		if expectsFunction(rt) {
			k.add("tests", at(functionField(e)), "%s: behavior %q runs no viewer-request function", where, b.Name())
			return b.TargetID(), false
		}
	} else if nb, answered = k.viewerRequestTest(i, where, rt, d, b, c, req); answered {
		return "", true
	}
	switch {
	case rt.Response != nil:
		k.answerTest(i, where, rt, d, nb, c, req)
	case len(e.ResponseHeaders) > 0:
		k.add("tests", at("responseHeaders"), "%s: responseHeaders are those of the answer in response: give the origin's answer to assume", where)
	}
	// The function's target: an origin or group of d, or one it made.
	if nb.Group != nil {
		return nb.Group.ID, false
	}
	return nb.Origin.ID, false
}

// functionField is the field of e to report a viewer-request function's
// error at: the first e asserts of what only a function does.
func functionField(e schema.RouteExpect) string {
	if e.Status != 0 {
		return "status"
	}
	if f := requestField(e); f != "" {
		return f
	}
	return "headers"
}

// viewerRequestTest runs b's viewer-request function on req and checks
// what test i expects of it: the behavior the request goes on with, or
// answered: the function answered.
func (k *checker) viewerRequestTest(i int, where string, rt schema.RouteTest, d *table.Distribution, b *table.Behavior, c cffunc.Context, req *cffunc.Request) (nb *table.Behavior, answered bool) {
	e, at := rt.Expect, expectAt(i)
	name := b.Spec.FunctionFor("viewer-request")
	nb, resp, err := d.ViewerRequest(b, c, req)
	if err != nil || resp != nil {
		if len(e.ResponseHeaders) > 0 {
			k.add("tests", at("responseHeaders"), "%s: function %s answers itself: no origin's answer reaches the viewer", where, name)
		}
	}
	switch {
	case err != nil:
		status, result := cffunc.Failure(err)
		switch {
		case e.Status == 0:
			k.add("tests", at(functionField(e)), "%s: function %s failed, the edge answers %d (%s): %v", where, name, status, result, err)
		case e.Status != status:
			k.add("tests", at("status"), "%s: function %s failed, the edge answers %d (%s: %v), want %d", where, name, status, result, err, e.Status)
		}
		return nil, true
	case resp != nil:
		switch {
		case e.Status == 0 && (e.URI != "" || e.Origin != "" || len(e.Query) > 0 || len(e.Cookies) > 0):
			k.add("tests", at(functionField(e)), "%s: function %s answers %d itself, want the request to go on", where, name, resp.Status)
		case e.Status != 0 && e.Status != resp.Status:
			k.add("tests", at("status"), "%s: function %s answers %d, want %d", where, name, resp.Status, e.Status)
		}
		k.headersTest(at, "headers", where, "function "+name+" answers with", resp.Header, e.Headers)
		return nil, true
	}
	switch {
	case rt.Response == nil && e.Status != 0:
		k.add("tests", at("status"), "%s: function %s returns the request (uri %q), want it to answer", where, name, req.URI)
	case len(e.Headers) > 0:
		// headers are of the edge's own answer, even with response.
		k.add("tests", at("headers"), "%s: function %s returns the request (uri %q), want it to answer with headers: give the origin's with responseHeaders", where, name, req.URI)
	case e.URI != "" && req.URI != e.URI:
		k.add("tests", at("uri"), "%s: function %s returns uri %q, want %q", where, name, req.URI, e.URI)
	}
	query := queryValues(req.RawQuery)
	for _, n := range slices.Sorted(maps.Keys(e.Query)) {
		if got := strings.Join(query[n], ","); got != e.Query[n] {
			k.add("tests", at("query", n), "%s: function %s returns query parameter %s %q, want %q", where, name, n, got, e.Query[n])
		}
	}
	cookies := requestCookies(req.Header.Values("Cookie"))
	for _, n := range slices.Sorted(maps.Keys(e.Cookies)) {
		if got := cookies[n]; got != e.Cookies[n] {
			k.add("tests", at("cookies", n), "%s: function %s returns cookie %s %q, want %q", where, name, n, got, e.Cookies[n])
		}
	}
	return nb, false
}

// queryValues are a raw query's values by name, unescaped, split at "&"
// only, as the edge keys and forwards it (table.QueryOf) and CloudFront
// reads it: url.ParseQuery drops a pair holding ";" ("sort=a;b"). A name
// or value with a malformed escape is kept as sent.
func queryValues(raw string) map[string][]string {
	q := map[string][]string{}
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		name, value, _ := strings.Cut(part, "=")
		if n, err := url.QueryUnescape(name); err == nil {
			name = n
		}
		if v, err := url.QueryUnescape(value); err == nil {
			value = v
		}
		q[name] = append(q[name], value)
	}
	return q
}

// requestCookies are the cookies of Cookie lines by name (the first of
// a name, as CloudFront's event has it).
func requestCookies(lines []string) map[string]string {
	out := map[string]string{}
	for _, l := range lines {
		for c := range strings.SplitSeq(l, ";") {
			n, v, _ := strings.Cut(strings.TrimSpace(c), "=")
			if _, ok := out[n]; !ok && n != "" {
				out[n] = v
			}
		}
	}
	return out
}

// answerTest makes test i's response the viewer's answer to req as the
// edge does (table.Distribution.ViewerAnswer: b's response headers policy,
// then its viewer-response function) and checks what the test expects
// the viewer to get. A function that fails is an error unless
// expect.status is the edge's answer to it.
func (k *checker) answerTest(i int, where string, rt schema.RouteTest, d *table.Distribution, b *table.Behavior, c cffunc.Context, req *cffunc.Request) {
	e, at := rt.Expect, expectAt(i)
	resp := &cffunc.Response{Status: rt.Response.Status, Description: http.StatusText(rt.Response.Status), Header: http.Header{}}
	for n, v := range rt.Response.Headers {
		resp.Header.Add(n, v)
	}
	name := b.Spec.FunctionFor("viewer-response")
	ran, err := d.ViewerAnswer(b, c, req, resp)
	if err != nil {
		status, result := cffunc.Failure(err)
		switch {
		case e.Status == 0:
			k.add("tests", sel("tests", i, "response"), "%s: viewer-response function %s failed on this answer, the edge answers %d (%s): %v", where, name, status, result, err)
		case e.Status != status:
			k.add("tests", at("status"), "%s: viewer-response function %s failed, the edge answers %d (%s: %v), want %d", where, name, status, result, err, e.Status)
		default:
			// None of the answer's headers goes with the edge's error.
			k.headersTest(at, "responseHeaders", where, fmt.Sprintf("the edge answers %d with", status), http.Header{}, e.ResponseHeaders)
		}
		return
	}
	what := "the viewer gets"
	if ran {
		what = "viewer-response function " + name + " answers"
	}
	if e.Status != 0 && e.Status != resp.Status {
		k.add("tests", at("status"), "%s: %s %d, want %d", where, what, resp.Status, e.Status)
	}
	k.headersTest(at, "responseHeaders", where, what+" with", resp.Header, e.ResponseHeaders)
}

// userPos finds where the value at p was written in the user's files: the
// value itself, else the nearest enclosing value (a defaulted field has no
// position of its own outside the schema).
func userPos(v cue.Value, p cue.Path) (pos cuePos) {
	sels := p.Selectors()
	for n := len(sels); n >= 0; n-- {
		x := v.LookupPath(cue.MakePath(sels[:n]...))
		if !x.Exists() {
			continue
		}
		for _, c := range conjunctPositions(x) {
			if !isSchemaFile(c.Filename()) {
				return c
			}
		}
	}
	return pos
}
