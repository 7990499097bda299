package edge

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestInvalidOriginResponseLogged: an origin whose answer is no valid
// HTTP response is logged with CloudFront's value for it,
// OriginInvalidResponseError ("The origin returned an invalid response",
// standard-logs-reference), not the catch-all AbortedOrigin; a 206 whose
// Content-Length is not the length of its Content-Range is
// OriginContentRangeLengthError ("The Content-Length header in the
// origin's response doesn't match the length in the Content-Range
// header"), answered 502 rather than passed on, with or without a cache.
func TestInvalidOriginResponseLogged(t *testing.T) {
	answers := map[string]string{ // by path
		"/junk":         "SSH-2.0-OpenSSH_9.6\r\n\r\n",
		"/status":       "HTTP/1.1 abc OK\r\n\r\n",
		"/header":       "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
		"/length":       "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
		"/twolen":       "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
		"/fine":         "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nCache-Control: no-store\r\n\r\nok\n",
		"/reset":        "", // closes at once: no answer at all
		"/negative":     "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
		"/range":        "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/100\r\nContent-Length: 5\r\nCache-Control: no-store\r\n\r\nhello",
		"/rangeok":      "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-4/100\r\nContent-Length: 5\r\nCache-Control: no-store\r\n\r\nhello",
		"/rangeunknown": "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-9/*\r\nContent-Length: 5\r\nCache-Control: no-store\r\n\r\nhello",
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				c.Write([]byte(answers[req.URL.Path]))
			}()
		}
	}()
	cases := []struct {
		path   string
		status int
		logged string // the three result types
	}{
		{"/junk", 502, "Error Error OriginInvalidResponseError"},
		{"/status", 502, "Error Error OriginInvalidResponseError"},
		{"/header", 502, "Error Error OriginInvalidResponseError"},
		{"/length", 502, "Error Error OriginInvalidResponseError"},
		{"/twolen", 502, "Error Error OriginInvalidResponseError"},
		{"/negative", 502, "Error Error OriginInvalidResponseError"},
		{"/reset", 502, "Error Error OriginReadError"}, // no answer: nothing invalid was read
		{"/fine", 200, "Miss Miss Miss"},
		{"/range", 502, "Error Error OriginContentRangeLengthError"},
		{"/rangeok", 206, "Miss Miss Miss"},
		{"/rangeunknown", 502, "Error Error OriginContentRangeLengthError"}, // a total not known (RFC 9110 14.4)
	}
	for _, cached := range []bool{false, true} {
		t.Run(fmt.Sprintf("cached=%v", cached), func(t *testing.T) {
			h, logs, logDir := loggedSite(t, ln.Addr().String(), "")
			if cached {
				h.SetCache(testCache(t))
			}
			for _, c := range cases {
				w := httptest.NewRecorder()
				r := httptest.NewRequest("GET", "http://site.test"+c.path, nil)
				if strings.HasPrefix(c.path, "/range") {
					r.Header.Set("Range", "bytes=0-9")
				}
				h.ServeHTTP(w, r)
				if w.Code != c.status {
					t.Errorf("%s: status %d, want %d", c.path, w.Code, c.status)
				}
			}
			if err := logs.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			lines := readLogLines(t, logDir)
			if len(lines) != len(cases) {
				t.Fatalf("%d lines, want %d", len(lines), len(cases))
			}
			for i, c := range cases {
				l := lines[i]
				got := strings.Join([]string{l["x-edge-result-type"], l["x-edge-response-result-type"], l["x-edge-detailed-result-type"]}, " ")
				if l["cs-uri-stem"] != c.path || got != c.logged {
					t.Errorf("%s: logged %s %q, want %q", c.path, l["cs-uri-stem"], got, c.logged)
				}
			}
		})
	}
}
