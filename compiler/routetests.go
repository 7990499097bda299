package compiler

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"cuelang.org/go/cue"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/cffunc"
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
		if d.ID != rt.Expect.Distribution {
			k.add("tests", sel("tests", i, "expect", "distribution"), "%s: routed to distribution %q, want %q", where, d.ID, rt.Expect.Distribution)
			continue
		}
		if want := rt.Expect.Behavior; want != "" && b.Name() != want {
			k.add("tests", sel("tests", i, "expect", "behavior"), "%s: matched behavior %q, want %q", where, b.Name(), want)
		}
		allowed := slices.Contains(b.Spec.AllowedMethods, rt.Method)
		if !allowed {
			k.add("tests", sel("tests", i, "method"), "%s: behavior %q does not allow %s (allowedMethods %v): the edge answers 403", where, b.Name(), rt.Method, b.Spec.AllowedMethods)
		}
		target, answered := b.TargetID(), false
		if allowed && (b.ViewerRequest != nil || expectsFunction(rt.Expect)) {
			target, answered = k.functionTest(i, where, rt, u, host, d, b)
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

// routeTestViewerIP is the viewer's address a function sees in a route test.
const routeTestViewerIP = "127.0.0.1"

func expectsFunction(e schema.RouteExpect) bool {
	return e.URI != "" || e.Status != 0 || len(e.Headers) > 0
}

// functionTest runs b's viewer-request function on test i's request as
// the edge does (table.Distribution.ViewerRequest) and checks what the
// test expects of it: the target the request then goes to, or answered:
// the function answered (a response or a failure) and no origin is asked.
func (k *checker) functionTest(i int, where string, rt schema.RouteTest, u *url.URL, host string, d *table.Distribution, b *table.Behavior) (target string, answered bool) {
	e := rt.Expect
	at := func(field ...any) []cue.Selector { return sel(append([]any{"tests", i, "expect"}, field...)...) }
	fnField := "status"
	if e.Status == 0 {
		fnField = "uri"
		if e.URI == "" {
			fnField = "headers"
		}
	}
	if b.ViewerRequest == nil {
		k.add("tests", at(fnField), "%s: behavior %q runs no viewer-request function", where, b.Name())
		return b.TargetID(), false
	}
	name := b.Spec.FunctionFor("viewer-request")
	// The viewer protocol policy answers an http request first: no
	// function runs on the redirect to HTTPS.
	if p := b.Spec.ViewerProtocolPolicy; u.Scheme == "http" && p != "allow-all" {
		if expectsFunction(e) {
			k.add("tests", at(fnField), "%s: function %s does not run: viewerProtocolPolicy %s answers the http request first", where, name, p)
		}
		return b.TargetID(), false
	}
	hdr := http.Header{}
	for n, v := range rt.Headers {
		if !strings.EqualFold(n, "Host") {
			hdr.Set(n, v)
		}
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	req := &cffunc.Request{Method: rt.Method, URI: path, RawQuery: u.RawQuery, Host: host, Header: hdr}
	c := cffunc.Context{DistributionDomainName: host, DistributionID: d.ID, RequestID: "openfront-vet", ViewerIP: routeTestViewerIP}
	nb, resp, err := d.ViewerRequest(b, c, req)
	switch {
	case err != nil:
		status, result := cffunc.Failure(err)
		switch {
		case e.Status == 0:
			k.add("tests", at(fnField), "%s: function %s failed, the edge answers %d (%s): %v", where, name, status, result, err)
		case e.Status != status:
			k.add("tests", at("status"), "%s: function %s failed, the edge answers %d (%s: %v), want %d", where, name, status, result, err, e.Status)
		}
		return "", true
	case resp != nil:
		switch {
		case e.Status == 0 && (e.URI != "" || e.Origin != ""):
			k.add("tests", at(fnField), "%s: function %s answers %d itself, want the request to go on", where, name, resp.Status)
		case e.Status != 0 && e.Status != resp.Status:
			k.add("tests", at("status"), "%s: function %s answers %d, want %d", where, name, resp.Status, e.Status)
		}
		for _, n := range slices.Sorted(maps.Keys(e.Headers)) {
			if got := strings.Join(resp.Header.Values(n), ", "); got != e.Headers[n] {
				k.add("tests", at("headers", n), "%s: function %s answers with %s %q, want %q", where, name, n, got, e.Headers[n])
			}
		}
		return "", true
	}
	switch {
	case e.Status != 0 || len(e.Headers) > 0:
		f := "status"
		if e.Status == 0 {
			f = "headers"
		}
		k.add("tests", at(f), "%s: function %s returns the request (uri %q), want it to answer", where, name, req.URI)
	case e.URI != "" && req.URI != e.URI:
		k.add("tests", at("uri"), "%s: function %s returns uri %q, want %q", where, name, req.URI, e.URI)
	}
	// The function's target: an origin or group of d, or one it made.
	if nb.Group != nil {
		return nb.Group.ID, false
	}
	return nb.Origin.ID, false
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
