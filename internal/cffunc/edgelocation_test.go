package cffunc

import (
	"net"
	"net/http"
	"testing"
)

// TestEdgeLocation: cf.edgeLocation ("General helper methods",
// general-helper-methods.md) is {name, serverIp, region} of the node
// that runs a viewer-request function; "For viewer-response functions,
// this method is empty". A function reading cf.edgeLocation.name threw
// a TypeError here (503 on every request).
func TestEdgeLocation(t *testing.T) {
	const code = `import cf from 'cloudfront';
function handler(event) {
	var l = cf.edgeLocation;
	var seen = JSON.stringify(l);
	if (event.response) {
		event.response.headers['x-seen'] = {value: seen};
		return event.response;
	}
	event.request.headers['x-seen'] = {value: l.name + ' ' + l.serverIp + ' ' + l.region + ' ' + seen};
	return event.request;
}`
	f, err := Compile("f", rt20, code)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name      string
		edge      EdgeLocation
		req, resp string
	}{
		{"a node with a region", EdgeLocation{Name: "fra1", Server: &net.TCPAddr{IP: net.ParseIP("192.0.2.7"), Port: 443}, Region: "eu-central-1"},
			`fra1 192.0.2.7 eu-central-1 {"name":"fra1","serverIp":"192.0.2.7","region":"eu-central-1"}`, "{}"},
		{"no region", EdgeLocation{Name: "n", Server: &net.UDPAddr{IP: net.ParseIP("2001:db8::1"), Port: 443}},
			`n 2001:db8::1 undefined {"name":"n","serverIp":"2001:db8::1"}`, "{}"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := Context{Edge: c.edge}
			req := &Request{Method: "GET", URI: "/", Host: "h", Header: http.Header{}}
			if _, err := f.ViewerRequest(ctx, req); err != nil || req.Header.Get("X-Seen") != c.req {
				t.Errorf("viewer request: %q, %v; want %q", req.Header.Get("X-Seen"), err, c.req)
			}
			resp := &Response{Status: 200, Header: http.Header{}}
			if err := f.ViewerResponse(ctx, &Request{Method: "GET", URI: "/", Host: "h", Header: http.Header{}}, resp); err != nil || resp.Header.Get("X-Seen") != c.resp {
				t.Errorf("viewer response: %q, %v; want %q", resp.Header.Get("X-Seen"), err, c.resp)
			}
		})
	}
}
