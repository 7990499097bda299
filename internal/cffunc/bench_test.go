package cffunc

import (
	"net/http"
	"testing"
	"time"

	"github.com/dop251/goja"
)

// What the engine costs a run of a small function, without the edge: the
// same functions and headers as daemon/edge's BenchmarkHitFunction.
//
//	go test -run '^$' -bench 'Viewer' -benchmem -count 6 ./internal/cffunc

func BenchmarkViewerRequest(b *testing.B) {
	f := benchCompile(b, `function handler(event) {
    var request = event.request;
    request.headers['true-client-ip'] = {value: event.viewer.ip};
    return request;
}`)
	c := Context{DistributionDomainName: "127.0.0.1", DistributionID: "bench", RequestID: "id", ViewerIP: "127.0.0.1"}
	for b.Loop() {
		req := &Request{Method: "GET", URI: "/obj/1k/request-bench", Host: "127.0.0.1", Header: http.Header{"User-Agent": {"wrk"}}}
		if resp, err := f.ViewerRequest(c, req); err != nil || resp != nil {
			b.Fatal(resp, err)
		}
	}
}

func BenchmarkViewerResponse(b *testing.B) {
	f := benchCompile(b, `function handler(event) {
    var response = event.response;
    response.headers['x-frame-options'] = {value: 'DENY'};
    return response;
}`)
	c := Context{DistributionDomainName: "127.0.0.1", DistributionID: "bench", RequestID: "id", ViewerIP: "127.0.0.1"}
	// A cache hit's header, as the edge hands it over.
	hit := http.Header{
		"Accept-Ranges": {"bytes"}, "Age": {"12"}, "Cache-Control": {"public, max-age=86400"},
		"Content-Length": {"1024"}, "Content-Type": {"application/octet-stream"}, "Etag": {`"1k"`},
		"Last-Modified": {"Mon, 02 Jan 2006 15:04:05 GMT"}, "Via": {"1.1 bench (openfront)"},
		"X-Cache": {"Hit from openfront"}, "X-Openfront-Id": {"id"},
	}
	for b.Loop() {
		req := &Request{Method: "GET", URI: "/obj/1k/response-bench", Host: "127.0.0.1", Header: http.Header{"User-Agent": {"wrk"}}}
		resp := &Response{Status: 200, Description: "OK", Header: hit}
		if err := f.ViewerResponse(c, req, resp); err != nil {
			b.Fatal(err)
		}
	}
}

func benchCompile(b *testing.B, code string) *Function {
	b.Helper()
	f, err := Compile("bench", "cloudfront-js-2.0", code)
	if err != nil {
		b.Fatal(err)
	}
	return f
}

// What bounding a run costs, without the run: the budget's clocks and
// timer.
func BenchmarkBounded(b *testing.B) {
	f := benchCompile(b, "function handler(event) { return event.request; }")
	m, err := f.get(Budget)
	if err != nil {
		b.Fatal(err)
	}
	run := func() (goja.Value, error) { return nil, nil }
	for b.Loop() {
		if _, err := f.runBounded(m, Budget, run); err != nil {
			b.Fatal(err)
		}
	}
}

// What a run that reads its key value store costs: the handle by the
// store's CloudFront id, a get and an exists.
//
//	go test -run '^$' -bench KV -benchmem ./internal/cffunc
func BenchmarkKVGet(b *testing.B) {
	f := benchCompile(b, `import cf from 'cloudfront';
const kvs = cf.kvs('a1b2c3d4-5678-90ab-cdef-EXAMPLE11111');
async function handler(event) {
    var request = event.request;
    if (await kvs.exists(request.uri)) {
        request.uri = await kvs.get(request.uri);
    }
    return request;
}`).WithStore(NewStore("routes", "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111", map[string]string{"/old": "/new"}, time.Now(), time.Now()))
	c := Context{DistributionDomainName: "127.0.0.1", DistributionID: "bench", RequestID: "id", ViewerIP: "127.0.0.1"}
	for b.Loop() {
		req := &Request{Method: "GET", URI: "/old", Host: "127.0.0.1"}
		if _, err := f.ViewerRequest(c, req); err != nil || req.URI != "/new" {
			b.Fatal(req.URI, err)
		}
	}
}
