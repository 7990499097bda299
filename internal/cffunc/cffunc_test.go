package cffunc

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestShouldWarn: a failing function is logged once a minute, not once a
// request.
func TestShouldWarn(t *testing.T) {
	f, err := Compile("f", "cloudfront-js-2.0", "function handler(event) { throw new Error('x'); }")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_000_000, 0)
	for _, c := range []struct {
		at   time.Duration
		want bool
	}{{0, true}, {time.Second, false}, {59 * time.Second, false}, {61 * time.Second, true}, {62 * time.Second, false}} {
		if got := f.ShouldWarn(t0.Add(c.at)); got != c.want {
			t.Errorf("at +%v: %v, want %v", c.at, got, c.want)
		}
	}
}

// TestMultiValue: a header that came twice is one field with multiValue;
// a changed value replaces the first, a changed multiValue all of them.
func TestMultiValue(t *testing.T) {
	for _, c := range []struct{ code, want string }{
		{"function handler(e) { return e.request; }", "a,b"},
		{"function handler(e) { e.request.headers.accept.value = 'x'; return e.request; }", "x,b"},
		{"function handler(e) { e.request.headers.accept.multiValue = [{value: 'y'}]; return e.request; }", "y"},
		{"function handler(e) { e.request.headers.accept = {value: e.request.headers.accept.multiValue.length + ''}; return e.request; }", "2,b"},
	} {
		f, err := Compile("f", "cloudfront-js-2.0", c.code)
		if err != nil {
			t.Fatal(err)
		}
		req := &Request{Method: "GET", URI: "/", Host: "h", Header: http.Header{"Accept": {"a", "b"}}}
		if _, err := f.ViewerRequest(Context{}, req); err != nil {
			t.Fatal(err)
		}
		if got := strings.Join(req.Header.Values("Accept"), ","); got != c.want {
			t.Errorf("%s: Accept %q, want %s", c.code, got, c.want)
		}
	}
}

// TestValidation: what a function returns that CloudFront refuses
// (edge-functions-restrictions.md) is a ValidationError, the viewer's 502,
// and not a request the origin or the viewer is sent.
func TestValidation(t *testing.T) {
	for _, c := range []struct {
		name, code string
		invalid    bool
	}{
		{"a query string made of parameters", "r.querystring = {a: {value: '1'}, b: {value: '%20'}}", false},
		{"a query string with a space", "r.querystring = 'a=1 HTTP/1.1'", true},
		{"a query string with a line break", "r.querystring = 'a=1\\r\\nX-Injected: yes'", true},
		{"a query value with a fragment", "r.querystring = {a: {value: '1#top'}}", true},
		{"a query name with a control character", "r.querystring = {'a\\u0000': {value: '1'}}", true},
		{"a URI of 8,192 bytes", "r.uri = '/' + 'a'.repeat(8191)", true},
		{"a URI just under it", "r.uri = '/' + 'a'.repeat(8190)", false},
		{"a generated body of 40 KB", "return {statusCode: 200, body: 'a'.repeat(40 * 1024)}", false},
		{"a generated body over 40 KB", "return {statusCode: 200, body: 'a'.repeat(40 * 1024 + 1)}", true},
		{"a generated body over 40 KB once decoded", "return {statusCode: 200, body: {encoding: 'base64', data: 'YWFh'.repeat(40 * 1024 / 3 + 1)}}", true},
		// "The only valid encodings are text and base64"
		// (functions-event-structure.md, body).
		{"a generated body of text", "return {statusCode: 200, body: {encoding: 'text', data: 'a'}}", false},
		{"a generated body of another encoding", "return {statusCode: 200, body: {encoding: 'utf8', data: 'a'}}", true},
		{"a generated body not base64", "return {statusCode: 200, body: {encoding: 'base64', data: 'a!'}}", true},
		// Host is read-only: neither changed nor removed.
		{"the host header read", "r.headers['x-host'] = {value: r.headers.host.value}", false},
		{"the host header changed", "r.headers.host = {value: 'other'}", true},
		{"the host header removed", "delete r.headers.host", true},
		// What HTTP cannot carry, as a function that copies a decoded
		// parameter makes it (the node forwarded and keyed it).
		{"a header value with a line break", "r.headers['x-lang'] = {value: 'fr\\r\\nX-Injected: yes'}", true},
		{"a header value with NUL", "r.headers['x-lang'] = {value: 'fr\\u0000Cookie=s=1'}", true},
		{"a header value with a tab and Latin-1", "r.headers['x-lang'] = {value: 'fr\\tcaf\\u00e9'}", false},
		{"a header name with a space", "r.headers['x lang'] = {value: 'fr'}", true},
		{"a header multiValue with a line break", "r.headers['x-lang'] = {value: 'fr', multiValue: [{value: 'fr'}, {value: 'de\\n'}]}", true},
		{"a cookie value with a semicolon", "r.cookies.lang = {value: 'fr; admin=1'}", true},
		{"a cookie value with NUL", "r.cookies.lang = {value: 'fr\\u0000'}", true},
		{"a cookie name with =", "r.cookies['a=b'] = {value: '1'}", true},
		{"a cookie value with = and spaces", "r.cookies.lang = {value: 'a=b c'}", false},
		{"a generated cookie value with a semicolon", "return {statusCode: 200, cookies: {lang: {value: 'fr; Domain=evil.test'}}}", true},
		{"a generated cookie's attributes with a line break", "return {statusCode: 200, cookies: {lang: {value: 'fr', attributes: 'Path=/\\r\\nX: y'}}}", true},
		{"a generated cookie with attributes", "return {statusCode: 200, cookies: {lang: {value: 'fr', attributes: 'Path=/; Secure'}}}", false},
		{"a generated header value with a line break", "return {statusCode: 302, headers: {location: {value: '/\\r\\nSet-Cookie: a=1'}}}", true},
	} {
		f, err := Compile("f", "cloudfront-js-2.0", "function handler(event) { var r = event.request; "+c.code+"; return r; }")
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.ViewerRequest(Context{}, &Request{Method: "GET", URI: "/", Host: "h", Header: http.Header{}})
		var ve *ValidationError
		if got := errors.As(err, &ve); got != c.invalid || !got && err != nil {
			t.Errorf("%s: %v, want invalid %v", c.name, err, c.invalid)
		}
	}
}

// TestSetCookieTwice: an origin that sets a cookie for two paths (a
// logout clearing both) keeps both through a viewer-response function,
// as CloudFront's multiValue of the cookie holds them.
func TestSetCookieTwice(t *testing.T) {
	for _, c := range []struct{ code, want string }{
		{"return e.response", "a=1; Path=/|a=2; Path=/x|b=3"},
		{"e.response.cookies.a.value = 'z'; return e.response", "a=z; Path=/|a=2; Path=/x|b=3"},
		{"return {statusCode: 200, headers: e.response.headers, cookies: e.response.cookies}", "a=1; Path=/|a=2; Path=/x|b=3"},
		{"e.response.cookies.a.multiValue.pop(); return e.response", "a=1; Path=/|b=3"},
		{"e.response.headers['x-n'] = {value: e.response.cookies.a.multiValue[1].attributes}; return e.response", "a=1; Path=/|a=2; Path=/x|b=3"},
	} {
		f, err := Compile("f", "cloudfront-js-2.0", "function handler(e) { "+c.code+"; }")
		if err != nil {
			t.Fatal(err)
		}
		resp := &Response{Status: 200, Header: http.Header{"Set-Cookie": {"a=1; Path=/", "a=2; Path=/x", "b=3"}}}
		if err := f.ViewerResponse(Context{}, &Request{Method: "GET", URI: "/", Header: http.Header{}}, resp); err != nil {
			t.Fatalf("%s: %v", c.code, err)
		}
		if got := strings.Join(resp.Header["Set-Cookie"], "|"); got != c.want {
			t.Errorf("%s: Set-Cookie %q, want %q", c.code, got, c.want)
		}
	}
}

// TestContextBudget: a run's Context may bound it instead of the
// function's own budget (vet and route run offline with a longer one): a
// loop is throttled at the budget its error names. (A run that spins for
// a while of the wall clock tells nothing: a loaded machine may give it
// less CPU time than any budget.)
func TestContextBudget(t *testing.T) {
	loop, err := Compile("loop", "cloudfront-js-2.0", "function handler(e) { for (;;) {} }")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		budget time.Duration
		want   string
	}{{0, "its 20ms budget"}, {50 * time.Millisecond, "its 50ms budget"}} {
		err := loop.ViewerResponse(Context{Budget: c.budget}, &Request{Method: "GET", URI: "/", Host: "h"}, &Response{Status: 200, Header: http.Header{}})
		var ee *ExecutionError
		if !errors.As(err, &ee) || !ee.Throttled || !strings.Contains(err.Error(), c.want) {
			t.Errorf("a loop with Context.Budget %v: %v, want throttled at %s", c.budget, err, c.want)
		}
	}
}

// TestViewerResponseBody: a viewer-response function may replace the
// answer's body or drop it (functions-event-structure.md, "Status code
// and body"); without a body the answer's stays.
func TestViewerResponseBody(t *testing.T) {
	for _, c := range []struct {
		code string
		set  bool
		want string
	}{
		{"return e.response", false, ""},
		{"e.response.body = {encoding: 'text', data: 'new'}; return e.response", true, "new"},
		{"e.response.body = 'plain'; return e.response", true, "plain"},
		{"return {statusCode: 200, body: {encoding: 'base64', data: 'aGk='}}", true, "hi"},
		{"e.response.body = ''; return e.response", true, ""},
		{"e.response.body = {data: ''}; return e.response", true, ""},
	} {
		f, err := Compile("f", "cloudfront-js-2.0", "function handler(e) { "+c.code+"; }")
		if err != nil {
			t.Fatal(err)
		}
		resp := &Response{Status: 200, Header: http.Header{"Content-Type": {"text/plain"}}}
		if err := f.ViewerResponse(Context{}, &Request{Method: "GET", URI: "/", Host: "h", Header: http.Header{}}, resp); err != nil {
			t.Fatalf("%s: %v", c.code, err)
		}
		if resp.BodySet != c.set || string(resp.Body) != c.want {
			t.Errorf("%s: body set %v %q, want %v %q", c.code, resp.BodySet, resp.Body, c.set, c.want)
		}
	}
}
