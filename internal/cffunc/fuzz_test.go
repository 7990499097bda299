package cffunc

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http/httpguts"
)

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
		if resp == nil && queryFields(query).get("n") == nil {
			// The function set a cookie of its own beside the viewer's.
			if got := cookieFields(req.Header["Cookie"]).get("session"); !slices.Equal(got, []string{"s1"}) {
				t.Fatalf("%q: cookie session %q, want s1 alone", query, got)
			}
		}
	})
}
