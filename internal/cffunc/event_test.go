package cffunc

import (
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/event-*.txt")

// seeEvent puts what a function sees of its event into the header
// x-seen: JSON.stringify, then each object's keys by Object.keys and by
// for...in, then a header and a cookie read by name.
const seeEvent = `function handler(event) {
	var seen = [JSON.stringify(event)];
	var r = event.response || event.request;
	['headers', 'cookies'].concat(event.response ? [] : ['querystring']).forEach(function (k) {
		var o = r[k], forIn = [];
		for (var n in o) forIn.push(n);
		seen.push(k + ' keys=' + Object.keys(o).join(',') + ' for-in=' + forIn.join(','));
	});
	seen.push('accept=' + (event.request.headers.accept && event.request.headers.accept.multiValue.length));
	seen.push('missing=' + typeof r.headers['x-missing'] + ' has=' + ('accept' in event.request.headers) +
		' own=' + event.request.headers.hasOwnProperty('accept') + ',' + r.cookies.hasOwnProperty('x'));
	r.headers['x-seen'] = {value: seen.join('\t')}; // a field holds no newline
	return r;
}`

// TestEventSeen: the event a function is given, as it reads it, against
// testdata/event-*.txt, and the header it returned (go test -update rewrites them).
func TestEventSeen(t *testing.T) {
	request := func() *Request {
		return &Request{Method: "GET", URI: "/a/b", RawQuery: "x=1&y=%20&x=2&z&2=b&1=a", Host: "d.test", Header: http.Header{
			"Accept":          {"text/html", "*/*"},
			"User-Agent":      {"ua"},
			"Cookie":          {"a=1; b=2", "a=3"},
			"X-Openfront-Id":  {"hidden"},
			"Connection":      {"close"},
			"Accept-Language": {"en"},
		}}
	}
	response := &Response{Status: 200, Description: "OK", Header: http.Header{
		"Content-Type":   {"text/plain"},
		"Set-Cookie":     {"s=1; Path=/; HttpOnly", "t=2"},
		"Vary":           {"Accept", "Origin"},
		"X-Openfront-Id": {"hidden"},
	}}
	for _, c := range runEvents(t, seeEvent, request, response) {
		t.Run(c.name, func(t *testing.T) {
			h := c.header
			// Then what came back: the fields it did not touch, as they were.
			got := strings.ReplaceAll(h.Get("X-Seen"), "\t", "\n") + "\n"
			h.Del("X-Seen")
			var b strings.Builder
			h.Write(&b)
			got += "returned:\n" + b.String()
			golden := filepath.Join("testdata", "event-"+c.name+".txt")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("the function saw\n%s\nwant\n%s", got, want)
			}
		})
	}
}

// ordinaryEvent changes the event's objects as a function may and puts
// into x-diff where one then differs from an ordinary object changed alike.
const ordinaryEvent = `function handler(event) {
	var r = event.response || event.request, diff = [];
	[['event', event], ['context', event.context], ['viewer', event.viewer], ['request', event.request], ['response', event.response]].forEach(function (p) {
		if (!p[1]) return;
		var o = p[1], plain = Object.assign({}, o);
		[o, plain].forEach(function (x) {
			x.b = 1; x['1'] = 2; x['0'] = 3; x.c = 4; delete x.b; x.b = 5; x.c = 6; delete x.nothing;
		});
		var got = JSON.stringify([Object.keys(o), o, 'b' in o, o.hasOwnProperty('c'), Object.getOwnPropertyDescriptor(o, 'c')]);
		var want = JSON.stringify([Object.keys(plain), plain, 'b' in plain, plain.hasOwnProperty('c'), Object.getOwnPropertyDescriptor(plain, 'c')]);
		if (got !== want) diff.push(p[0] + ': ' + got + ' want ' + want);
	});
	r.headers['x-diff'] = {value: diff.join('; ')};
	return r;
}`

// TestEventObjectsOrdinary: the event's objects, made as a function reads
// them, behave as ordinary objects when it adds, changes and deletes
// properties.
func TestEventObjectsOrdinary(t *testing.T) {
	request := func() *Request {
		return &Request{Method: "GET", URI: "/", Host: "d.test", Header: http.Header{"Accept": {"*/*"}}}
	}
	response := &Response{Status: 200, Description: "OK", Header: http.Header{"Content-Type": {"text/plain"}}}
	for _, c := range runEvents(t, ordinaryEvent, request, response) {
		t.Run(c.name, func(t *testing.T) {
			h := c.header
			if d := h.Get("X-Diff"); d != "" {
				t.Error(d)
			}
		})
	}
}

// TestHeaderNames: a function sees every header's name lowercase, common
// or not, in order.
func TestHeaderNames(t *testing.T) {
	f, err := Compile("f", "cloudfront-js-2.0", `function handler(event) {
		event.request.headers['x-names'] = {value: Object.keys(event.request.headers).join(',')};
		return event.request;
	}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		header http.Header
		want   string
	}{
		{http.Header{"Accept": {"*/*"}, "User-Agent": {"ua"}}, "host,accept,user-agent"},
		{http.Header{"X-Custom-Thing": {"1"}, "Sec-Fetch-Mode": {"cors"}, "Abc": {"2"}}, "host,abc,sec-fetch-mode,x-custom-thing"},
	} {
		req := &Request{Method: "GET", URI: "/", Host: "d.test", Header: c.header}
		if _, err := f.ViewerRequest(Context{}, req); err != nil {
			t.Fatal(err)
		}
		if got := req.Header.Get("X-Names"); got != c.want {
			t.Errorf("%v: the function saw %q, want %q", c.header, got, c.want)
		}
	}
}

// TestUntouched: a request or response the function returns without
// reading its fields comes back as one whose fields it read.
func TestUntouched(t *testing.T) {
	compile := func(code string) *Function {
		f, err := Compile("f", "cloudfront-js-2.0", code)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	const readAll = `var r = event.response || event.request;
		for (var k in r) if (typeof r[k] === 'object') for (var n in r[k]) r[k][n].value;`
	untouched := compile(`function handler(event) { return event.response || event.request; }`)
	read := compile(`function handler(event) { ` + readAll + ` return r; }`)
	request := func() *Request {
		return &Request{Method: "GET", URI: "/a", RawQuery: "b=2&a=&1=x&&b=3&c", Host: "d.test", Header: http.Header{
			"Accept": {"*/*", "text/html"}, "Cookie": {"s=1; t=2", "s=3"}, "X-Openfront-Id": {"hidden"},
		}}
	}
	response := func() *Response {
		return &Response{Status: 404, Description: "Not Found", Header: http.Header{
			"Vary": {"Accept", "Origin"}, "Set-Cookie": {"s=1; Path=/", "s=2; Path=/x", "t=3"}, "Via": {"1.1 x"},
		}}
	}
	for _, f := range []*Function{untouched, read} {
		req := request()
		if _, err := f.ViewerRequest(Context{}, req); err != nil {
			t.Fatal(err)
		}
		resp := response()
		if err := f.ViewerResponse(Context{}, request(), resp); err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		req.Header.Write(&b)
		resp.Header.Write(&b)
		got := fmt.Sprintf("%s %s?%s %d %s\n%s", req.Method, req.URI, req.RawQuery, resp.Status, resp.Description, b.String())
		const want = "GET /a?1=x&b=2&b=3&a&c 404 Not Found\n" +
			"Accept: */*\r\nAccept: text/html\r\nCookie: s=1; s=3; t=2\r\nX-Openfront-Id: hidden\r\n" +
			"Set-Cookie: s=1; Path=/\r\nSet-Cookie: s=2; Path=/x\r\nSet-Cookie: t=3\r\nVary: Accept\r\nVary: Origin\r\nVia: 1.1 x\r\n"
		if got != want {
			t.Errorf("got\n%s\nwant\n%s", got, want)
		}
	}
}

// TestGeneratedCookies: a viewer-request function's own response sets its
// cookies (it made the node panic).
func TestGeneratedCookies(t *testing.T) {
	f, err := Compile("f", "cloudfront-js-2.0", `function handler(event) {
		return {statusCode: 302, headers: {location: {value: '/login'}},
			cookies: {a: {value: '1', attributes: 'Path=/'}, b: {value: '2', multiValue: [{value: '2'}, {value: '3', attributes: 'Path=/x'}]}}};
	}`)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.ViewerRequest(Context{}, &Request{Method: "GET", URI: "/", Host: "d.test", Header: http.Header{}})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"a=1; Path=/", "b=2", "b=3; Path=/x"}
	if got := resp.Header["Set-Cookie"]; !slices.Equal(got, want) {
		t.Errorf("Set-Cookie %q, want %q", got, want)
	}
}

// runEvents runs code on a viewer request and on response, an answer to
// another such request, and returns the headers each run returned.
func runEvents(t *testing.T, code string, request func() *Request, response *Response) []struct {
	name   string
	header http.Header
} {
	t.Helper()
	f, err := Compile("f", "cloudfront-js-2.0", code)
	if err != nil {
		t.Fatal(err)
	}
	c := Context{DistributionDomainName: "d.test", DistributionID: "E1", RequestID: "id1", ViewerIP: "192.0.2.1"}
	req := request()
	if _, err := f.ViewerRequest(c, req); err != nil {
		t.Fatal(err)
	}
	if err := f.ViewerResponse(c, request(), response); err != nil {
		t.Fatal(err)
	}
	return []struct {
		name   string
		header http.Header
	}{{"request", req.Header}, {"response", response.Header}}
}

// TestRawByteNames: a query parameter or cookie whose name is not UTF-8
// (a raw Latin-1 byte, which the node accepts) is an entry a function
// can read by the name it sees, and is forwarded as the viewer sent it.
func TestRawByteNames(t *testing.T) {
	f, err := Compile("f", "cloudfront-js-2.0", `function handler(event) {
		var r = event.request, seen = [];
		['querystring', 'cookies'].forEach(function (k) {
			for (var n in r[k]) seen.push(r[k][n].value);
		});
		r.headers['x-seen'] = {value: seen.join(',')};
		return r;
	}`)
	if err != nil {
		t.Fatal(err)
	}
	req := &Request{Method: "GET", URI: "/", RawQuery: "caf\xe9=1&a=2", Host: "d.test", Header: http.Header{"Cookie": {"caf\xe9=x; b=y"}}}
	if _, err := f.ViewerRequest(Context{}, req); err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%s %q %q", req.Header.Get("X-Seen"), req.RawQuery, req.Header["Cookie"])
	if want := `1,2,x,y "caf\xe9=1&a=2" ["caf\xe9=x; b=y"]`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// BenchmarkManyNames: a viewer's 8 KB query string and 20 KB Cookie
// (CloudFront's limits), thousands of names, cost a function's run time
// linear in them, not quadratic.
func BenchmarkManyNames(b *testing.B) {
	var q, c strings.Builder
	for i := range 1500 {
		fmt.Fprintf(&q, "%d&", i)
	}
	for i := range 2800 {
		fmt.Fprintf(&c, "c%d=; ", i)
	}
	for _, code := range []string{
		`function handler(event) { return event.request; }`,
		`function handler(event) {
			var r = event.request;
			for (var k in r) if (typeof r[k] === 'object') for (var n in r[k]) r[k][n].value;
			return r; }`,
	} {
		f, err := Compile("f", "cloudfront-js-2.0", code)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint(len(code)), func(b *testing.B) {
			for b.Loop() {
				req := &Request{Method: "GET", URI: "/", RawQuery: q.String(), Host: "d.test", Header: http.Header{"Cookie": {c.String()}}}
				if _, err := f.ViewerRequest(Context{}, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestKeptEvent: a function that keeps an event in a global and reads it
// in a later run sees the earlier request and response as they were,
// however the node changed or reused their header maps since, and not
// the later run's: a run's objects are its own.
func TestKeptEvent(t *testing.T) {
	for _, c := range []struct {
		event, code string
	}{
		{"viewer-request", `var kept;
function handler(event) {
    var r = event.request;
    if (kept) r.headers['x-kept'] = {value: [kept.request.uri, kept.request.headers['x-h'].value, kept.context.requestId].join(' ')};
    kept = event;
    return r;
}`},
		{"viewer-response", `var kept;
function handler(event) {
    var r = event.response;
    if (kept) r.headers['x-kept'] = {value: [kept.request.uri, kept.request.headers['x-h'].value, kept.context.requestId,
        kept.response.headers['x-r'].value, kept.response.statusCode].join(' ')};
    kept = event;
    return r;
}`},
	} {
		t.Run(c.event, func(t *testing.T) {
			f, err := Compile("f", "cloudfront-js-2.0", c.code)
			if err != nil {
				t.Fatal(err)
			}
			// run runs f on a request and its answer marked with mark, and
			// changes their header maps afterwards, as the node may; it is
			// what the function set in x-kept.
			run := func(mark string, status int) string {
				req := &Request{Method: "GET", URI: "/" + mark, Host: "h", Header: http.Header{"X-H": {mark}}}
				orig := req.Header
				var out http.Header
				if c.event == "viewer-request" {
					if _, err := f.ViewerRequest(Context{RequestID: mark}, req); err != nil {
						t.Fatal(err)
					}
					out = req.Header
				} else {
					resp := &Response{Status: status, Header: http.Header{"X-R": {mark}}}
					hdr := resp.Header
					if err := f.ViewerResponse(Context{RequestID: mark}, req, resp); err != nil {
						t.Fatal(err)
					}
					out = resp.Header
					hdr.Set("X-R", "changed")
				}
				orig.Set("X-H", "changed")
				req.URI = "/changed"
				return out.Get("X-Kept")
			}
			want := "/one one one"
			if c.event == "viewer-response" {
				want += " one 200"
			}
			// A fresh runtime (the pool dropped one) keeps nothing: run again.
			for range 3 {
				run("one", 200)
				if got := run("two", 203); got != "" {
					if got != want {
						t.Errorf("x-kept %q, want %q", got, want)
					}
					return
				}
			}
			t.Fatal("no run saw the event of the one before it")
		})
	}
}

// TestManyTouched: a function that reads, sets and deletes more entries
// than a few gets them all back, as it left them.
func TestManyTouched(t *testing.T) {
	f, err := Compile("f", "cloudfront-js-2.0", `function handler(event) {
    var q = event.request.querystring;
    for (var i = 0; i < 30; i++) q['a' + i].value = 'x' + q['a' + i].value;
    delete q.a3;
    q.a5 = {value: 'y'};
    for (var i = 0; i < 20; i++) q['n' + i] = {value: 'z'};
    delete q.n7;
    return event.request;
}`)
	if err != nil {
		t.Fatal(err)
	}
	var query, want []string
	for i := range 30 {
		query = append(query, fmt.Sprintf("a%d=%d", i, i))
		switch i {
		case 3:
		case 5:
			want = append(want, "a5=y")
		default:
			want = append(want, fmt.Sprintf("a%d=x%d", i, i))
		}
	}
	for i := range 20 {
		if i != 7 {
			want = append(want, fmt.Sprintf("n%d=z", i))
		}
	}
	req := &Request{Method: "GET", URI: "/", Host: "h", RawQuery: strings.Join(query, "&"), Header: http.Header{}}
	if _, err := f.ViewerRequest(Context{}, req); err != nil {
		t.Fatal(err)
	}
	if got := strings.Split(req.RawQuery, "&"); !slices.Equal(got, want) {
		t.Errorf("query %q\nwant %q", got, want)
	}
}

// TestManyHeadersOrdered: a function sees the headers in name order,
// however many there are.
func TestManyHeadersOrdered(t *testing.T) {
	f, err := Compile("f", "cloudfront-js-2.0", `function handler(event) {
    return {statusCode: 200, body: Object.keys(event.request.headers).join(',')};
}`)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{3, 31, 32, 40} {
		h := http.Header{}
		want := []string{"host"}
		for i := range n {
			name := fmt.Sprintf("X-H%02d", n-i)
			h[name] = []string{"v"}
			want = append(want, strings.ToLower(name))
		}
		slices.Sort(want[1:])
		resp, err := f.ViewerRequest(Context{}, &Request{Method: "GET", URI: "/", Host: "h", Header: h})
		if err != nil {
			t.Fatal(err)
		}
		if got := string(resp.Body); got != strings.Join(want, ",") {
			t.Errorf("%d headers: %s\nwant %s", n, got, strings.Join(want, ","))
		}
	}
}
