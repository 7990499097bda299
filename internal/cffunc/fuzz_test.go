package cffunc

import (
	"errors"
	"fmt"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dop251/goja/unistring"
	"golang.org/x/net/http/httpguts"
)

// FuzzViewerRequestRoundTrip runs functions that return a viewer's
// request as it came, untouched, read field by field, or copied through
// JSON, on a request as the edge builds it (daemon/edge/functions.go):
// none may fail, and each must forward the same request. A field lost or
// changed there is a header, cookie or parameter the origin never gets.
func FuzzViewerRequestRoundTrip(f *testing.F) {
	f.Add("/a/b", "x=1&y=%20&x=2&z&2=b&1=a", "X-Custom", "v1", "v2", "a=1; b=2", "a=3")
	f.Add("/", "b=2&a=&1=x&&b=3&c", "Accept", "*/*", "", "s=1; t=2", "s=3")
	f.Add("/%E2%82%AC", "__proto__=1&constructor=2", "X-Latin", "caf\xe9", "", "n=caf\xe9", "")
	f.Add("/", "4294967295=a&4294967294=b&01=c", "Via", "1.1 x", "", "=x; y; z=", "__proto__=1")
	// More names than index scans, repeated and index-like.
	f.Add("/", "z=1&9=a&b&c=2&z=3&10=b&d&e&f&g&h&i&j&k&l&m&n&o&p&1=c&z=4&q=%00&r", "X-A", "1", "2",
		"a=1; b=2; c=3; d=4; e=5; f=6; g=7; h=8; i=9; j=10; k=11; l=12; m=13; n=14; o=15; p=16; q=17; a=18", "5=x; 3=y; a=19")
	funcs := map[string]*Function{}
	for name, code := range map[string]string{
		"untouched": `function handler(event) { return event.request; }`,
		"read": `function handler(event) {
			var r = event.request;
			for (var k in r) if (typeof r[k] === 'object') for (var n in r[k]) r[k][n].value;
			return r; }`,
		"json": `function handler(event) { return JSON.parse(JSON.stringify(event.request)); }`,
	} {
		fn, err := Compile(name, "cloudfront-js-2.0", code)
		if err != nil {
			f.Fatal(err)
		}
		// Loaded by the fuzzer, a run may take more than the budget; one
		// that loops still fails.
		fn.SetBudget(time.Second)
		funcs[name] = fn
	}
	f.Fuzz(func(t *testing.T, uri, query, name, v1, v2, c1, c2 string) {
		if !strings.HasPrefix(uri, "/") || strings.ContainsFunc(uri+query, func(c rune) bool { return c <= ' ' || c == 0x7f || c == '#' }) ||
			len(uri)+len(query) >= MaxURI {
			return // the node refuses such a request line
		}
		// The uri and query as the edge takes them from the request line.
		u, err := url.ParseRequestURI(uri + "?" + query)
		if err != nil {
			return
		}
		uri, query = u.EscapedPath(), u.RawQuery
		name = textproto.CanonicalMIMEHeaderKey(name)
		if !httpguts.ValidHeaderFieldName(name) || name == "Host" || name == "Cookie" {
			return
		}
		header := http.Header{}
		for _, v := range []string{v1, v2} {
			if v = strings.Trim(v, " \t"); v != "" && httpguts.ValidHeaderFieldValue(v) {
				header.Add(name, v)
			}
		}
		for _, c := range []string{c1, c2} {
			if c = strings.Trim(c, " \t"); c != "" && httpguts.ValidHeaderFieldValue(c) {
				header.Add("Cookie", c)
			}
		}
		var first string
		var firstName string
		for _, fname := range []string{"untouched", "read", "json"} {
			req := &Request{Method: "GET", URI: uri, RawQuery: query, Host: "d.test", Header: header.Clone()}
			resp, err := funcs[fname].ViewerRequest(Context{}, req)
			if err != nil || resp != nil {
				t.Fatalf("%s: request %s?%s %q: response %v, error %v", fname, uri, query, header, resp, err)
			}
			got := describe(req)
			if first == "" {
				first, firstName = got, fname
				if req.URI != uri {
					t.Fatalf("%s: uri %q, want %q", fname, req.URI, uri)
				}
				if got, want := byName(queryFields(req.RawQuery)), byName(queryFields(query)); got != want {
					t.Fatalf("%s: query %q, was %q: parameters %s, want %s", fname, req.RawQuery, query, got, want)
				}
				if got, want := byName(cookieFields(req.Header["Cookie"])), byName(cookieFields(header["Cookie"])); got != want {
					t.Fatalf("%s: cookies %q, were %q: %s, want %s", fname, req.Header["Cookie"], header["Cookie"], got, want)
				}
				if got, want := req.Header[name], header[name]; name != "Cookie" && !disallowed(name) && !slices.Equal(got, want) {
					t.Fatalf("%s: %s %q, want %q", fname, name, got, want)
				}
				continue
			}
			if fname == "json" && (sameText(queryFields(query)) || sameText(cookieFields(header["Cookie"]))) {
				continue // an ordinary object holds one of them
			}
			if got != first {
				t.Fatalf("%s forwarded\n%s\n%s forwarded\n%s", fname, got, firstName, first)
			}
		}
	})
}

// describe is what the origin is sent of req.
func describe(req *Request) string {
	return fmt.Sprintf("%q?%q %q", req.URI, req.RawQuery, req.Header)
}

// byName is fs's values of each name in order, the names sorted: what
// a query string or cookies mean, as a function's event shows them.
func byName(fs fields) string {
	fs = slices.Clone(fs)
	slices.SortFunc(fs, func(a, b field) int { return strings.Compare(a.name, b.name) })
	return fmt.Sprintf("%q", fs)
}

// FuzzViewerValues runs a function that copies what a viewer sent,
// decoded, into a header, a cookie and a generated response, as a
// function that localizes or redirects does: whatever the viewer sent,
// the function fails (a 502 or 503) or makes fields HTTP can carry. A
// CR, LF or NUL there would split or smuggle fields on the way to the
// origin, or collide cache keys, which NUL separates.
func FuzzViewerValues(f *testing.F) {
	fn, err := Compile("copy", "cloudfront-js-2.0", `function handler(event) {
		var r = event.request, q = r.querystring;
		var v = q.v ? decodeURIComponent(q.v.value) : '', n = q.n ? decodeURIComponent(q.n.value) : 'x-v';
		r.headers[n] = {value: v};
		r.cookies[n] = {value: v};
		if (q.respond) {
			var c = {};
			c[n] = {value: v, attributes: v};
			var h = {};
			h[n] = {value: v};
			return {statusCode: 200, statusDescription: v, headers: h, cookies: c, body: v};
		}
		return r;
	}`)
	if err != nil {
		f.Fatal(err)
	}
	fn.SetBudget(time.Second)
	for _, q := range []string{"v=fr", "v=a%0D%0AX-Evil:%201", "v=a%00b", "n=x%20y&v=1", "n=x%0Ay", "respond&v=%0D%0Ab", "respond&n=a%3Bb&v=1", "v=1;%20admin=1"} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, query string) {
		if strings.ContainsFunc(query, func(c rune) bool { return c <= ' ' || c == 0x7f || c == '#' }) {
			return // the node refuses such a request line
		}
		req := &Request{Method: "GET", URI: "/", RawQuery: query, Host: "d.test", Header: http.Header{"Cookie": {"session=s1"}}}
		resp, err := fn.ViewerRequest(Context{}, req)
		if err != nil {
			var ve *ValidationError
			var ee *ExecutionError
			if !errors.As(err, &ve) && !errors.As(err, &ee) {
				t.Fatalf("%q: error %T %v, not a ValidationError nor an ExecutionError", query, err, err)
			}
			return
		}
		h := req.Header
		if resp != nil {
			h = resp.Header
		}
		for name, vs := range h {
			if !httpguts.ValidHeaderFieldName(name) {
				t.Fatalf("%q: header name %q", query, name)
			}
			for _, v := range vs {
				if !httpguts.ValidHeaderFieldValue(v) {
					t.Fatalf("%q: header %s: %q", query, name, v)
				}
			}
		}
		if resp == nil && new(index).get(queryFields(query), "n") == nil {
			// The function set a cookie of its own beside the viewer's.
			if got := new(index).get(cookieFields(req.Header["Cookie"]), "session"); !slices.Equal(got, []string{"s1"}) {
				t.Fatalf("%q: cookie session %q, want s1 alone", query, got)
			}
		}
	})
}

// sameText reports two names of fs that a function sees as one: bytes
// that are not UTF-8 are each U+FFFD to it.
func sameText(fs fields) bool {
	seen := map[string]bool{}
	for _, f := range fs {
		t := unistring.NewFromString(f.name).String()
		if seen[t] {
			return true
		}
		seen[t] = true
	}
	return false
}
