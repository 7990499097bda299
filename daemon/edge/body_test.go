package edge

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"openfront.dev/daemon/origin"
)

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
func (errReader) Close() error               { return nil }

// TestViewerBody: a wait for the viewer's bytes longer than the timeout
// fails the read, however long the whole body takes; HTTP/1's own cut (a
// read deadline) counts as a stall too, other failures do not.
func TestViewerBody(t *testing.T) {
	const timeout = 200 * time.Millisecond
	deadline := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	// piped sends what write writes to the body, as a viewer's stream.
	piped := func(write func(io.Writer)) func(*testing.T) io.ReadCloser {
		return func(t *testing.T) io.ReadCloser {
			pr, pw := io.Pipe()
			t.Cleanup(func() { pw.Close() })
			go write(pw)
			return pr
		}
	}
	for _, c := range []struct {
		name    string
		timeout time.Duration
		body    func(*testing.T) io.ReadCloser
		want    string
		stalled bool
		err     error // errors.Is the read's error
	}{
		{name: "stalled", timeout: timeout, body: piped(func(w io.Writer) { io.WriteString(w, "abc") }),
			want: "abc", stalled: true, err: errBodyStalled},
		{name: "slow but steady", timeout: timeout, body: piped(func(w io.Writer) {
			for range 8 { // 0.4 s in all
				time.Sleep(timeout / 4)
				io.WriteString(w, "x")
			}
			w.(io.Closer).Close()
		}), want: "xxxxxxxx"},
		{name: "cut by the HTTP/1 server", body: func(*testing.T) io.ReadCloser { return errReader{deadline} },
			stalled: true, err: os.ErrDeadlineExceeded},
		{name: "broken, not stalled", timeout: timeout, body: func(*testing.T) io.ReadCloser { return errReader{io.ErrUnexpectedEOF} },
			err: io.ErrUnexpectedEOF},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := &viewerBody{rc: c.body(t), timeout: c.timeout}
			start := time.Now()
			got, err := io.ReadAll(b)
			took := time.Since(start)
			if string(got) != c.want || !errors.Is(err, c.err) || b.stalled.Load() != c.stalled {
				t.Fatalf("read %q, %v, stalled %v; want %q, %v, stalled %v", got, err, b.stalled.Load(), c.want, c.err, c.stalled)
			}
			if c.stalled && !errors.Is(err, errBodyStalled) {
				t.Errorf("%v is not errBodyStalled", err)
			}
			if c.stalled && c.timeout > 0 && (took < c.timeout || took > c.timeout+time.Second) {
				t.Errorf("cut after %v, want after %v", took, c.timeout)
			}
		})
	}
}

// TestStalledBodyAnswer: without a cache in front, a viewer whose body
// stalls is answered 408 when nothing was sent yet, and has its stream
// reset (ErrAbortHandler) once the origin's answer began; the request is
// counted as the viewer's Error, not the origin's.
func TestStalledBodyAnswer(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/duplex" {
			http.NewResponseController(w).EnableFullDuplex()
			io.WriteString(w, "first\n")
			w.(http.Flusher).Flush()
		}
		if _, err := io.Copy(io.Discard, r.Body); err == nil {
			io.WriteString(w, "whole\n")
		}
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	tb := appTable(t, dir, app.Listener.Addr().String())
	for _, counted := range []bool{false, true} {
		h := New(origin.NewPool(dir), "edgetest", slog.New(slog.DiscardHandler))
		reg := prometheus.NewRegistry()
		if counted {
			if err := h.Register(reg); err != nil {
				t.Fatal(err)
			}
		}
		h.SetBodyTimeout(100 * time.Millisecond)
		h.SetTable(tb)
		for _, c := range []struct {
			path   string
			status int
			want   string // the body, up to the cut
			reset  bool
		}{
			{"/stalled", http.StatusRequestTimeout, "Request Timeout\n", false},
			{"/duplex", http.StatusOK, "first\n", true},
		} {
			t.Run(fmt.Sprintf("%s/counted=%v", c.path[1:], counted), func(t *testing.T) {
				pr, pw := io.Pipe()
				defer pw.Close()
				go io.WriteString(pw, "abc")
				// Bounded, should the body never be cut.
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				r := httptest.NewRequestWithContext(ctx, "POST", "http://site.test"+c.path, pr)
				r.Proto, r.ProtoMajor, r.ProtoMinor, r.ContentLength = "HTTP/2.0", 2, 0, 1<<20
				w := httptest.NewRecorder()
				reset := serveRecovering(h, w, r)
				if w.Code != c.status || !strings.HasPrefix(w.Body.String(), c.want) || reset != c.reset {
					t.Errorf("status %d, body %q, reset %v; want %d, %q, reset %v", w.Code, w.Body, reset, c.status, c.want, c.reset)
				}
			})
		}
		if !counted {
			continue
		}
		want := `
# HELP openfront_requests_total Viewer requests of a distribution, by status class (000: the viewer left before a response), result type (the access log's x-edge-result-type) and protocol (http1.0, http1.1, http2, http3).
# TYPE openfront_requests_total counter
openfront_requests_total{distribution="site",protocol="http2",result="Error",status_class="2xx"} 1
openfront_requests_total{distribution="site",protocol="http2",result="Error",status_class="4xx"} 1
`
		if err := testutil.GatherAndCompare(nonZero(reg), strings.NewReader(want), "openfront_requests_total", "openfront_origin_errors_total"); err != nil {
			t.Error(err)
		}
	}
}
