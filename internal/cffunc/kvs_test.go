package cffunc

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// TestKeyValueStore: cf.kvs() reads the function's store with
// CloudFront's get (string, json, bytes), exists and meta, each a promise.
func TestKeyValueStore(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 765432100, time.UTC)
	store := NewStore("routes", "a1b2c3d4-5678-90ab-cdef-EXAMPLE11111", map[string]string{
		"/old":   "/new",
		"config": `{"weight": 30, "variants": ["a", "b"]}`,
		"bytes":  "é!",
		"broken": "{",
	}, created, created.Add(time.Hour))
	for _, c := range []struct {
		name, body string // body of an async handler; its string result becomes the uri
		want       string // "" : the run fails (503)
	}{
		{"get string", `return await kvs.get('/old');`, "/new"},
		{"get format string", `return await kvs.get('/old', {format: 'string'});`, "/new"},
		{"get json", `var c = await kvs.get('config', {format: 'json'}); return '/' + c.weight + c.variants[1];`, "/30b"},
		{"get bytes", `var b = await kvs.get('bytes', {format: 'bytes'}); return '/' + b.length + '-' + b[0] + '-' + b[2];`, "/3-195-33"},
		{"get bytes with the global Buffer replaced", `Buffer = undefined; var b = await kvs.get('bytes', {format: 'bytes'}); return '/' + b.toString('hex');`, "/c3a921"},
		{"exists", `return '/' + (await kvs.exists('/old')) + (await kvs.exists('/gone'));`, "/truefalse"},
		{"meta", `var m = await kvs.meta(); return '/' + m.keyCount + '/' + m.creationDateTime + '/' + m.lastUpdatedDateTime;`, "/4/2026-01-02T03:04:05.765Z/2026-01-02T04:04:05.765Z"},
		// As CloudFront's example: {keyCount:3,creationDateTime:2023-11-30T23:07:55.765Z,...}
		// (functions-custom-methods.md), what Date.prototype.toISOString makes.
		{"meta as toISOString", `var m = await kvs.meta(); return '/' + (new Date(m.creationDateTime).toISOString() === m.creationDateTime);`, "/true"},
		{"by name", `return await cf.kvs('routes').get('/old');`, "/new"},
		// CloudFront's code names its store by Id (const kvsId = '...';
		// cf.kvs(kvsId)): a function imported with its store still reads it.
		{"by CloudFront id", `return await cf.kvs('a1b2c3d4-5678-90ab-cdef-EXAMPLE11111').get('/old');`, "/new"},
		{"missing key caught", `try { await kvs.get('/gone'); } catch (e) { return '/caught-' + (e.message.indexOf('/gone') >= 0); }`, "/caught-true"},
		// CloudFront's example logs the error (`${request.uri} | ${err}`):
		// it reads "Error: ...", an Error as the code's own, not a Go one.
		{"missing key is an Error", `try { await kvs.get('/gone'); } catch (e) { return '/' + e.name + '-' + (e instanceof Error) + '-' + String(e).indexOf('Error: ') + '-' + (e.value === undefined); }`, "/Error-true-0-true"},
		{"missing key uncaught", `return await kvs.get('/gone');`, ""},
		{"json that does not parse", `return await kvs.get('broken', {format: 'json'});`, ""},
		{"unknown format", `return await kvs.get('/old', {format: 'xml'});`, ""},
		{"another store's id", `return await cf.kvs('other').get('/old');`, ""},
		{"one handle per runtime", `return '/' + (cf.kvs() === kvs);`, "/true"},
		{"promise", `return kvs.get('/old').then(function (v) { return v + '!'; });`, "/new!"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code := "import cf from 'cloudfront';\nconst kvs = cf.kvs();\nasync function value() {\n" + c.body + "\n}\n" +
				"async function handler(event) { event.request.uri = await value(); return event.request; }"
			f, err := Compile("f", "cloudfront-js-2.0", code)
			if err != nil {
				t.Fatal(err)
			}
			f = f.WithStore(store)
			req := &Request{Method: "GET", URI: "/", Host: "h"}
			_, err = f.ViewerRequest(Context{}, req)
			if c.want == "" {
				var ee *ExecutionError
				if !errors.As(err, &ee) {
					t.Fatalf("error %v, uri %q; want an execution error", err, req.URI)
				}
				return
			}
			if err != nil || req.URI != c.want {
				t.Fatalf("uri %q, error %v; want %q", req.URI, err, c.want)
			}
		})
	}
}

// TestKeyValueStoreNone: a function without a store that calls cf.kvs()
// fails, saying so.
func TestKeyValueStoreNone(t *testing.T) {
	f, err := Compile("f", "cloudfront-js-2.0", "import cf from 'cloudfront';\nfunction handler(e) { cf.kvs(); return e.request; }")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.ViewerRequest(Context{}, &Request{Method: "GET", URI: "/", Host: "h"})
	var ee *ExecutionError
	if !errors.As(err, &ee) || !strings.Contains(err.Error(), "keyValueStoreAssociations") {
		t.Fatalf("error %v; want an execution error naming keyValueStoreAssociations", err)
	}
}

// TestWithStore: a function given another store reads it; the first one
// still reads its own (a reload makes new requests see new data while
// requests on the old table finish on the old).
func TestWithStore(t *testing.T) {
	f, err := Compile("f", "cloudfront-js-2.0", "import cf from 'cloudfront';\nasync function handler(e) { e.request.uri = await cf.kvs().get('k'); return e.request; }")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	v1 := f.WithStore(NewStore("s", "", map[string]string{"k": "/one"}, now, now))
	v2 := v1.WithStore(NewStore("s", "", map[string]string{"k": "/two"}, now, now))
	for _, c := range []struct {
		f    *Function
		want string
	}{{v1, "/one"}, {v2, "/two"}, {v1, "/one"}} {
		req := &Request{Method: "GET", URI: "/", Host: "h"}
		if _, err := c.f.ViewerRequest(Context{}, req); err != nil || req.URI != c.want {
			t.Errorf("uri %q, error %v; want %q", req.URI, err, c.want)
		}
	}
}
