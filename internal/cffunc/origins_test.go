package cffunc

import (
	"errors"
	"reflect"
	"testing"
)

type testOrigins map[string]string

func (o testOrigins) OriginKind(id string) string { return o[id] }

func strp(s string) *string { return &s }

// TestOriginHelpers: the origin helpers record what a viewer-request run
// asked for, and throw (503) on what CloudFront would refuse.
func TestOriginHelpers(t *testing.T) {
	origins := testOrigins{"a": "origin", "b": "origin", "pair": "group"}
	for _, c := range []struct {
		name, body string
		want       *OriginChange // nil with fail: the run fails
		fail       bool
	}{
		{"none", ``, nil, false},
		{"select", `cf.selectRequestOriginById('b');`, &OriginChange{Select: "b"}, false},
		{"select a group", `cf.selectRequestOriginById('pair');`, &OriginChange{Select: "pair"}, false},
		{"select unknown", `cf.selectRequestOriginById('nope');`, nil, true},
		{"select unknown caught", `try { cf.selectRequestOriginById('nope'); } catch (e) {}`, nil, false},
		{"select not a string", `cf.selectRequestOriginById(3);`, nil, true},
		{"select empty", `cf.selectRequestOriginById('');`, nil, true},
		{"select after update drops it", `cf.updateRequestOrigin({originPath: '/x'}); cf.selectRequestOriginById('a');`, &OriginChange{Select: "a"}, false},
		{"group", `cf.createRequestOriginGroup({originIds: [{originId: 'a'}, {originId: 'b'}], failoverCriteria: {statusCodes: [500, 502]}});`,
			&OriginChange{Group: &OriginGroup{Primary: "a", Secondary: "b", StatusCodes: []int{500, 502}}}, false},
		{"group of strings", `cf.createRequestOriginGroup({originIds: ['b', 'a'], failoverCriteria: {statusCodes: [404]}, selectionCriteria: 'default'});`,
			&OriginChange{Group: &OriginGroup{Primary: "b", Secondary: "a", StatusCodes: []int{404}}}, false},
		{"group of one", `cf.createRequestOriginGroup({originIds: ['a'], failoverCriteria: {statusCodes: [500]}});`, nil, true},
		{"group of three", `cf.createRequestOriginGroup({originIds: ['a', 'b', 'a'], failoverCriteria: {statusCodes: [500]}});`, nil, true},
		{"group of the same twice", `cf.createRequestOriginGroup({originIds: ['a', 'a'], failoverCriteria: {statusCodes: [500]}});`, nil, true},
		{"group with a group", `cf.createRequestOriginGroup({originIds: ['a', 'pair'], failoverCriteria: {statusCodes: [500]}});`, nil, true},
		{"group with an unknown origin", `cf.createRequestOriginGroup({originIds: ['a', 'nope'], failoverCriteria: {statusCodes: [500]}});`, nil, true},
		{"group without codes", `cf.createRequestOriginGroup({originIds: ['a', 'b'], failoverCriteria: {statusCodes: []}});`, nil, true},
		{"group without criteria", `cf.createRequestOriginGroup({originIds: ['a', 'b']});`, nil, true},
		{"group with a code CloudFront refuses", `cf.createRequestOriginGroup({originIds: ['a', 'b'], failoverCriteria: {statusCodes: [501]}});`, nil, true},
		{"group by media quality", `cf.createRequestOriginGroup({originIds: ['a', 'b'], failoverCriteria: {statusCodes: [500]}, selectionCriteria: 'media-quality-score'});`, nil, true},
		{"update", `cf.updateRequestOrigin({domainName: 'Example.com', originPath: '/v2', customHeaders: {'x-stage': 'prod'}, connectionAttempts: 2,
			timeouts: {readTimeout: 30, connectionTimeout: 5, keepAliveTimeout: 10}, customOriginConfig: {port: 8080, protocol: 'http', sslProtocols: ['TLSv1.2']}});`,
			&OriginChange{Update: &OriginUpdate{DomainName: "example.com", OriginPath: strp("/v2"), CustomHeaders: map[string]string{"x-stage": "prod"},
				ConnectionAttempts: 2, ReadTimeout: 30, ConnectionTimeout: 5, KeepaliveTimeout: 10, Port: 8080, Protocol: "http", SSLProtocols: []string{"TLSv1.2"}}}, false},
		{"updates add up", `cf.updateRequestOrigin({originPath: '/a', connectionAttempts: 1}); cf.updateRequestOrigin({originPath: '', customHeaders: {}});`,
			&OriginChange{Update: &OriginUpdate{OriginPath: strp(""), CustomHeaders: map[string]string{}, ConnectionAttempts: 1}}, false},
		{"update after select", `cf.selectRequestOriginById('b'); cf.updateRequestOrigin({originPath: '/b'});`,
			&OriginChange{Select: "b", Update: &OriginUpdate{OriginPath: strp("/b")}}, false},
		{"update with a url", `cf.updateRequestOrigin({domainName: 'https://example.com'});`, nil, true},
		{"update with a port in the name", `cf.updateRequestOrigin({domainName: 'example.com:8080'});`, nil, true},
		{"update path without slash", `cf.updateRequestOrigin({originPath: 'v2'});`, nil, true},
		{"update path ending in slash", `cf.updateRequestOrigin({originPath: '/v2/'});`, nil, true},
		{"update forbidden header", `cf.updateRequestOrigin({customHeaders: {'host': 'x'}});`, nil, true},
		{"update edge header", `cf.updateRequestOrigin({customHeaders: {'x-edge-foo': 'x'}});`, nil, true},
		{"update upper-case header", `cf.updateRequestOrigin({customHeaders: {'X-Stage': 'x'}});`, nil, true},
		{"update header value not a string", `cf.updateRequestOrigin({customHeaders: {'x-n': 1}});`, nil, true},
		{"update attempts out of range", `cf.updateRequestOrigin({connectionAttempts: 4});`, nil, true},
		// "The minimum timeout is 1 second and the maximum is 120 seconds"
		// for readTimeout and keepAliveTimeout
		// (helper-functions-origin-modification.md).
		{"update timeouts up to 120 s", `cf.updateRequestOrigin({timeouts: {readTimeout: 120, keepAliveTimeout: 120}});`,
			&OriginChange{Update: &OriginUpdate{ReadTimeout: 120, KeepaliveTimeout: 120}}, false},
		{"update read timeout out of range", `cf.updateRequestOrigin({timeouts: {readTimeout: 121}});`, nil, true},
		{"update keep-alive timeout out of range", `cf.updateRequestOrigin({timeouts: {keepAliveTimeout: 121}});`, nil, true},
		{"update connection timeout out of range", `cf.updateRequestOrigin({timeouts: {connectionTimeout: 11}});`, nil, true},
		{"update fractional timeout", `cf.updateRequestOrigin({timeouts: {readTimeout: 1.5}});`, nil, true},
		{"update protocol", `cf.updateRequestOrigin({customOriginConfig: {protocol: 'ftp'}});`, nil, true},
		{"update port", `cf.updateRequestOrigin({customOriginConfig: {port: 0}});`, nil, true},
		{"update ssl protocol", `cf.updateRequestOrigin({customOriginConfig: {sslProtocols: ['TLSv1.3']}});`, nil, true},
		{"update unknown setting", `cf.updateRequestOrigin({domain: 'example.com'});`, nil, true},
		{"update with origin access control", `cf.updateRequestOrigin({originAccessControlConfig: {enabled: true}});`, nil, true},
		{"update no object", `cf.updateRequestOrigin('example.com');`, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			code := "import cf from 'cloudfront';\nfunction handler(event) {\n" + c.body + "\nreturn event.request;\n}"
			f, err := Compile("f", "cloudfront-js-2.0", code)
			if err != nil {
				t.Fatal(err)
			}
			req := &Request{Method: "GET", URI: "/", Host: "h"}
			_, err = f.ViewerRequest(Context{Origins: origins}, req)
			if c.fail {
				var ee *ExecutionError
				if !errors.As(err, &ee) {
					t.Fatalf("error %v, origin %+v; want an execution error", err, req.Origin)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(req.Origin, c.want) {
				t.Fatalf("origin %+v (update %+v); want %+v (update %+v)", req.Origin, updateOf(req.Origin), c.want, updateOf(c.want))
			}
		})
	}
}

func updateOf(c *OriginChange) *OriginUpdate {
	if c == nil {
		return nil
	}
	return c.Update
}

// TestOriginHelpersPerRun: what one run asked for is not the next run's on
// the same pooled runtime, and no helper works in a viewer-response run or
// on cloudfront-js-1.0.
func TestOriginHelpersPerRun(t *testing.T) {
	code := "import cf from 'cloudfront';\nfunction handler(event) {\n" +
		"if (event.request.uri === '/b') cf.selectRequestOriginById('b');\n" +
		"return event.context.eventType === 'viewer-request' ? event.request : event.response;\n}"
	f, err := Compile("f", "cloudfront-js-2.0", code)
	if err != nil {
		t.Fatal(err)
	}
	origins := testOrigins{"b": "origin"}
	req := &Request{Method: "GET", URI: "/b", Host: "h"}
	if _, err := f.ViewerRequest(Context{Origins: origins}, req); err != nil || req.Origin == nil || req.Origin.Select != "b" {
		t.Fatalf("origin %+v, error %v; want b", req.Origin, err)
	}
	for range 3 { // the pool gives the same runtime back
		other := &Request{Method: "GET", URI: "/a", Host: "h"}
		if _, err := f.ViewerRequest(Context{Origins: origins}, other); err != nil || other.Origin != nil {
			t.Fatalf("next run: origin %+v, error %v; want none", other.Origin, err)
		}
	}
	resp := &Response{Status: 200}
	var ee *ExecutionError
	if err := f.ViewerResponse(Context{}, &Request{Method: "GET", URI: "/b", Host: "h"}, resp); !errors.As(err, &ee) {
		t.Fatalf("viewer-response: error %v; want an execution error", err)
	}
	f10, err := Compile("f", "cloudfront-js-1.0", "var cf = require('cloudfront');\nfunction handler(event) { cf.selectRequestOriginById('b'); return event.request; }")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f10.ViewerRequest(Context{Origins: origins}, &Request{Method: "GET", URI: "/", Host: "h"}); !errors.As(err, &ee) {
		t.Fatalf("cloudfront-js-1.0: error %v; want an execution error", err)
	}
}
