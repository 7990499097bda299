package origin

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// stallingOrigin answers /stall-head after stall, and /stall-body with
// its headers and a first chunk at once, then the rest after stall; it
// counts the requests it gets.
func stallingOrigin(t *testing.T, stall time.Duration) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var requests atomic.Int32
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		io.Copy(io.Discard, r.Body)
		wait := func() {
			select {
			case <-time.After(stall):
			case <-r.Context().Done():
			}
		}
		switch {
		case strings.HasSuffix(r.URL.Path, "/stall-head"):
			wait()
			io.WriteString(w, "late\n")
		case strings.HasSuffix(r.URL.Path, "/stall-body"):
			w.Header().Set("Content-Length", "10")
			io.WriteString(w, "first")
			w.(http.Flusher).Flush()
			wait()
			io.WriteString(w, "later")
		default:
			io.WriteString(w, "ok\n")
		}
	}))
	t.Cleanup(s.Close)
	return s, &requests
}

// readTimeoutCases are CloudFront's origin response timeout (originReadTimeout
// for a custom origin, 30 s for S3): the wait for the first byte, retried
// for GET and HEAD up to connectionAttempts, and the wait between bytes
// (RequestAndResponseBehaviorCustomOrigin.md, "Origin Response Timeout";
// RequestAndResponseBehaviorS3Origin.md, "Origin Response Timeout").
var readTimeoutCases = []struct {
	name         string
	method       string
	body         io.Reader
	path         string
	attempts     int
	wantRequests int32
	wantErr      bool // Fetch fails with a timeout
	wantBodyErr  bool // reading the body fails with a timeout
}{
	{"GET waiting for the first byte is tried connectionAttempts times", "GET", nil, "/stall-head", 3, 3, true, false},
	{"HEAD too", "HEAD", nil, "/stall-head", 2, 2, true, false},
	{"one attempt", "GET", nil, "/stall-head", 1, 1, true, false},
	{"a request with a body is tried once", "POST", strings.NewReader("x"), "/stall-head", 3, 1, true, false},
	{"an origin that stops sending is cut off", "GET", nil, "/stall-body", 3, 1, false, true},
	{"a quick answer", "GET", nil, "/fast", 3, 1, false, false},
}

func checkReadTimeout(t *testing.T, f Fetcher, requests *atomic.Int32, method string, body io.Reader, path string, wantRequests int32, wantErr, wantBodyErr bool, limit time.Duration) {
	t.Helper()
	before := requests.Load()
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := f.Fetch(ctx, &Request{Method: method, Path: path, Header: http.Header{}, Body: body, ContentLength: -1})
	var bodyErr error
	if err == nil {
		_, bodyErr = io.ReadAll(resp.Body)
		resp.Body.Close()
	}
	elapsed := time.Since(start)
	if got := requests.Load() - before; got != wantRequests {
		t.Errorf("origin got %d requests, want %d", got, wantRequests)
	}
	var oe *Error
	if wantErr != (err != nil) || err != nil && (!errors.As(err, &oe) || !oe.Timeout) {
		t.Errorf("err %v, want a timeout %v", err, wantErr)
	}
	var ne interface{ Timeout() bool }
	if wantBodyErr != (bodyErr != nil) || bodyErr != nil && (!errors.As(bodyErr, &ne) || !ne.Timeout()) {
		t.Errorf("body read err %v, want a timeout %v", bodyErr, wantBodyErr)
	}
	if elapsed > limit {
		t.Errorf("took %v, want under %v", elapsed, limit)
	}
}

func TestCustomResponseTimeout(t *testing.T) {
	const timeout = 150 * time.Millisecond
	srv, requests := stallingOrigin(t, 3*time.Second)
	for _, tt := range readTimeoutCases {
		t.Run(tt.name, func(t *testing.T) {
			spec := customSpec("127.0.0.1:" + strconv.Itoa(port(t, srv)))
			spec.ConnectionAttempts = tt.attempts
			c := newTestCustom(spec, nil)
			c.setReadTimeout(timeout)
			checkReadTimeout(t, c, requests, tt.method, tt.body, tt.path, tt.wantRequests, tt.wantErr, tt.wantBodyErr,
				time.Duration(tt.wantRequests)*timeout+time.Second)
		})
	}
}
