package cffunc

import (
	"net/http"
	"testing"
)

// TestRawQueryString: a 2.0 request has rawQueryString() ("General helper
// methods", general-helper-methods.md): "the unparsed and unaltered
// query string" without its "?"; "If there isn't a query string, but
// the ? is present, the functions returns an empty string. If there
// isn't a query string and the ? isn't present, the function returns
// undefined." It is the viewer's, whatever the function changed, and
// not one of the request's own properties.
func TestRawQueryString(t *testing.T) {
	const code = `function handler(event) {
	var r = event.request;
	r.querystring = {changed: {value: '1'}};
	var q = r.rawQueryString();
	var seen = (q === undefined ? 'undefined' : '[' + q + ']') + ' ' + Object.keys(r).indexOf('rawQueryString') + ' ' + (JSON.stringify(r).indexOf('rawQueryString') < 0);
	if (event.response) {
		event.response.headers['x-seen'] = {value: seen};
		return event.response;
	}
	r.headers['x-seen'] = {value: seen};
	return r;
}`
	f, err := Compile("f", rt20, code)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		rawQuery string
		mark     bool
		want     string
	}{
		{"a query", "a=1&b=%20&a=2&c", true, "[a=1&b=%20&a=2&c] -1 true"},
		{"a ? alone", "", true, "[] -1 true"},
		{"no ?", "", false, "undefined -1 true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := &Request{Method: "GET", URI: "/p", RawQuery: c.rawQuery, QueryMark: c.mark, Host: "h", Header: http.Header{}}
			if _, err := f.ViewerRequest(Context{}, req); err != nil || req.Header.Get("X-Seen") != c.want {
				t.Errorf("viewer request: %q, %v; want %q", req.Header.Get("X-Seen"), err, c.want)
			}
			req = &Request{Method: "GET", URI: "/p", RawQuery: c.rawQuery, QueryMark: c.mark, Host: "h", Header: http.Header{}}
			resp := &Response{Status: 200, Header: http.Header{}}
			if err := f.ViewerResponse(Context{}, req, resp); err != nil || resp.Header.Get("X-Seen") != c.want {
				t.Errorf("viewer response: %q, %v; want %q", resp.Header.Get("X-Seen"), err, c.want)
			}
		})
	}
	t.Run("not in 1.0", func(t *testing.T) {
		f, err := Compile("f", rt10, "function handler(e) { e.request.headers['x-seen'] = {value: typeof e.request.rawQueryString}; return e.request; }")
		if err != nil {
			t.Fatal(err)
		}
		req := &Request{Method: "GET", URI: "/p", RawQuery: "a=1", Host: "h", Header: http.Header{}}
		if _, err := f.ViewerRequest(Context{}, req); err != nil || req.Header.Get("X-Seen") != "undefined" {
			t.Fatalf("%q, %v", req.Header.Get("X-Seen"), err)
		}
	})
}
