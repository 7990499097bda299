package origin

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"openfront.dev/schema"
)

// tricklingOrigin answers /trickle with a byte every 100 ms for 1.5 s, never idle
// for a response timeout, and otherwise as stallingOrigin.
func tricklingOrigin(t *testing.T) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	stalling, requests := stallingOrigin(t, 3*time.Second)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/trickle") {
			stalling.Config.Handler.ServeHTTP(w, r)
			return
		}
		requests.Add(1)
		for range 15 {
			if _, err := io.WriteString(w, "."); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-time.After(100 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(s.Close)
	return s, requests
}

// TestResponseCompletionTimeout: an origin's responseCompletionTimeout
// bounds the whole response, "across all packets and retries" (CloudFront's
// announcement of 2025-07-30; API Origin: "If the complete response isn't
// received from the origin by this time, CloudFront ends the
// connection"), for custom and S3 origins: a body that keeps trickling
// past it is cut off, and a GET whose first byte is late is not tried
// again once it has passed. Without it, CloudFront "doesn't enforce a
// maximum value".
func TestResponseCompletionTimeout(t *testing.T) {
	srv, requests := tricklingOrigin(t)
	cases := []struct {
		name         string
		path         string
		completion   int // seconds
		readTimeout  time.Duration
		wantRequests int32
		wantErr      bool
		wantBodyErr  bool
		limit        time.Duration
	}{
		{"a body that trickles on is cut off", "/trickle", 1, 0, 1, false, true, 2 * time.Second},
		{"unset: no maximum", "/trickle", 0, 0, 1, false, false, 5 * time.Second},
		{"retries stop at it", "/stall-head", 1, 700 * time.Millisecond, 2, true, false, 1500 * time.Millisecond},
		{"a quick answer", "/fast", 1, 0, 1, false, false, time.Second},
	}
	kinds := []struct {
		name string
		make func(t *testing.T, completion int) Fetcher
	}{
		{"custom", func(t *testing.T, completion int) Fetcher {
			spec := customSpec("127.0.0.1:" + strconv.Itoa(port(t, srv)))
			spec.ResponseCompletionTimeout = completion
			return newTestCustom(spec, nil)
		}},
		{"s3", func(t *testing.T, completion int) Fetcher {
			return newTestS3(t, srv.URL, false, func(o *schema.Origin) { o.ResponseCompletionTimeout = completion })
		}},
	}
	for _, kind := range kinds {
		for _, tt := range cases {
			t.Run(kind.name+"/"+tt.name, func(t *testing.T) {
				f := kind.make(t, tt.completion)
				if tt.readTimeout > 0 {
					f.(interface{ setReadTimeout(time.Duration) }).setReadTimeout(tt.readTimeout)
				}
				checkReadTimeout(t, f, requests, http.MethodGet, nil, tt.path, tt.wantRequests, tt.wantErr, tt.wantBodyErr, tt.limit)
			})
		}
	}
}
