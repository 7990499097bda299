package node

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/quic-go/quic-go/http3"

	"openfront.dev/internal/testenv"
)

// brokenPart is what the origin sends of a body before it breaks off.
var brokenPart = strings.Repeat("0123456789abcdef", 512)

// breakingOrigin sends the first half of a body, then drops the
// connection: under /cached/ the answer may be cached (the edge streams
// it to the viewer while filling the cache), else it may not (the edge
// relays it); under /length/ it declares the whole body's length, else
// it is chunked.
func breakingOrigin(w http.ResponseWriter, r *http.Request) {
	cc := "no-store"
	if strings.HasPrefix(r.URL.Path, "/cached/") {
		cc = "max-age=60"
	}
	w.Header().Set("Cache-Control", cc)
	w.Header().Set("Content-Type", "application/octet-stream")
	if strings.Contains(r.URL.Path, "/length/") {
		w.Header().Set("Content-Length", strconv.Itoa(2*len(brokenPart)))
	}
	testenv.BreakOff(w, brokenPart)
}

// TestBrokenOriginBody: a body the origin breaks off after the edge began
// to answer, streamed into the cache or relayed uncached, with or without
// its length declared, reaches the viewer as a broken response on every
// protocol (an HTTP/2 or HTTP/3 stream reset, an HTTP/1.1 connection
// closed without the last chunk), never as a short one that looks whole.
// Each such request is logged once, Error / OriginReadError with the
// bytes it sent, and counted as an Error.
func TestBrokenOriginBody(t *testing.T) {
	e, logDir, shutdown := startLogging(t, http.HandlerFunc(breakingOrigin), 0)
	n := e.node

	paths := []string{"/cached/length", "/cached/chunked", "/relayed/length", "/relayed/chunked"}
	protos := map[proto]string{h1: "http1.1", h2: "http2", h3: "http3"} // their metrics label
	for p := range protos {
		scheme := "https"
		if p == h1 {
			scheme = "http"
		}
		client := e.client(t, p, nil)
		for _, path := range paths {
			path += "/" + string(p)
			t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
				resp, err := client.Get(scheme + "://site.test" + path)
				if err != nil {
					// QUIC's stream reset drops what is not sent yet, the
					// header too at times.
					if p != h3 {
						t.Errorf("GET: %v", err)
					}
					return
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || err == nil || !strings.HasPrefix(brokenPart, string(b)) {
					t.Errorf("status %d, %d bytes, read error %v; want 200, at most the %d the origin sent, then an error",
						resp.StatusCode, len(b), err, len(brokenPart))
				}
			})
		}
	}
	metrics := scrape(t, "http://"+n.Addr("admin").String()+"/metrics")
	for _, label := range protos {
		series := `openfront_requests_total{distribution="site",protocol="` + label + `",result="Error",status_class="2xx"}`
		if got := metrics[series]; got != float64(len(paths)) {
			t.Errorf("%s: %v, want %d; counted: %q", series, got, len(paths), seriesOf(metrics, "openfront_requests_total"))
		}
	}
	shutdown()
	lines, _ := readWebLogs(t, logDir)
	logged := map[string][]logLine{}
	for _, l := range lines {
		logged[l["cs-uri-stem"]] = append(logged[l["cs-uri-stem"]], l)
	}
	for p := range protos {
		for _, path := range paths {
			path += "/" + string(p)
			ls := logged[path]
			if len(ls) != 1 {
				t.Errorf("%s logged %d times, want once", path, len(ls))
				continue
			}
			l := ls[0]
			if got := l["sc-status"] + " " + l["x-edge-result-type"] + " " + l["x-edge-response-result-type"] + " " + l["x-edge-detailed-result-type"]; got != "200 Error Miss OriginReadError" {
				t.Errorf("%s logged %q, want %q", path, got, "200 Error Miss OriginReadError")
			}
			// What the edge sent: the header and the part, not the
			// declared length.
			if sent, _ := strconv.Atoi(l["sc-bytes"]); sent < len(brokenPart) || sent >= 2*len(brokenPart) {
				t.Errorf("%s: sc-bytes %d, want the %d bytes sent and the header", path, sent, len(brokenPart))
			}
		}
	}
}

// TestBrokenOriginBodyH3Cancelled: over HTTP/3 the edge abandons a
// response the origin broke off with H3_REQUEST_CANCELLED, as RFC 9114
// 4.1.1 has a server that abandons a response after partial processing
// do, not H3_INTERNAL_ERROR, which says the HTTP stack itself failed
// (8.1). The viewer sees the code on the response or on its body.
func TestBrokenOriginBodyH3Cancelled(t *testing.T) {
	e, _, _ := startLogging(t, http.HandlerFunc(breakingOrigin), 0)
	client := e.client(t, h3, nil)
	for _, path := range []string{"/cached/length", "/cached/chunked", "/relayed/length", "/relayed/chunked"} {
		t.Run(strings.TrimPrefix(path, "/"), func(t *testing.T) {
			resp, err := client.Get("https://site.test" + path + "/cancelled")
			var n int
			if err == nil {
				var b []byte
				b, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				n = len(b)
			}
			var h3err *http3.Error
			if !errors.As(err, &h3err) || h3err.ErrorCode != http3.ErrCodeRequestCanceled || !h3err.Remote {
				t.Errorf("%d bytes, then %v; want the stream reset with H3_REQUEST_CANCELLED", n, err)
			}
		})
	}
}
