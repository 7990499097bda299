package cffunc

import (
	"strings"
	"testing"
)

// TestLogCapture: console.log's lines go to the run's Context.Log, in
// order; two runs on one pooled runtime each get their own, and a run
// with no Log keeps none for the next.
func TestLogCapture(t *testing.T) {
	f, err := Compile("f", "cloudfront-js-2.0", `function handler(e) {
		console.log('uri', e.request.uri, 1 + 1);
		console.log({a: 1});
		return e.request;
	}`)
	if err != nil {
		t.Fatal(err)
	}
	run := func(uri string, log *Log) {
		t.Helper()
		if _, err := f.ViewerRequest(Context{Log: log}, &Request{Method: "GET", URI: uri}); err != nil {
			t.Fatal(err)
		}
	}
	var a, b Log
	run("/a", &a)
	run("/none", nil)
	run("/b", &b)
	if got, want := strings.Join(a.Lines, "|"), "uri /a 2|[object Object]"; got != want {
		t.Errorf("first run logged %q, want %q", got, want)
	}
	if got, want := strings.Join(b.Lines, "|"), "uri /b 2|[object Object]"; got != want {
		t.Errorf("second run logged %q, want %q", got, want)
	}
	if a.Cut != 0 || b.Cut != 0 {
		t.Errorf("cut %d, %d: want none", a.Cut, b.Cut)
	}
}

// TestLogResponse: a viewer-response run's lines are captured too.
func TestLogResponse(t *testing.T) {
	f, err := Compile("f", "cloudfront-js-1.0", `function handler(e) { console.log('status ' + e.response.statusCode); return e.response; }`)
	if err != nil {
		t.Fatal(err)
	}
	var l Log
	if err := f.ViewerResponse(Context{Log: &l}, &Request{Method: "GET", URI: "/"}, &Response{Status: 200}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.Lines, "|"); got != "status 200" {
		t.Errorf("logged %q", got)
	}
}

// TestLogCap: a log is held to CloudFront's 10 KB; the line that
// crosses it is cut short and what is left out is counted.
func TestLogCap(t *testing.T) {
	f, err := Compile("f", "cloudfront-js-2.0", `function handler(e) {
		for (var i = 0; i < 30; i++) console.log(i + ' ' + 'x'.repeat(500));
		return e.request;
	}`)
	if err != nil {
		t.Fatal(err)
	}
	var l Log
	if _, err := f.ViewerRequest(Context{Log: &l}, &Request{Method: "GET", URI: "/"}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range l.Lines {
		n += len(s) + 1
	}
	if n > MaxLogBytes {
		t.Errorf("kept %d bytes, over %d", n, MaxLogBytes)
	}
	// 20 lines of 503 bytes and a newline each fill 10,070 of 10,240
	// bytes; the 21st is cut short, the 9 after it left out.
	if len(l.Lines) != 21 || !strings.HasPrefix(l.Lines[20], "20 xxx") || l.Cut != 10 {
		t.Errorf("kept %d lines, cut %d; want 21 lines (the last cut short), 10 cut", len(l.Lines), l.Cut)
	}
}
