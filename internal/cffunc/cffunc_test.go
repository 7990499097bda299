package cffunc

import (
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
