package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// bodyConfig is a distribution that logs and sends requests of every
// method to the origin %q.
const bodyConfig = `package cdn

distributions: site: {
	aliases: ["site.test"]
	httpVersion: "http2and3"
	logging: {enabled: true, prefix: "web/"}
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"
		allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]}
}
`

// startLogging starts a node serving bodyConfig on the origin app, with
// access logs in logDir; shutdown stops it (the test's end does too).
func startLogging(t *testing.T, app http.Handler, bodyTimeout time.Duration) (e *env, logDir string, shutdown func()) {
	t.Helper()
	srv := httptest.NewServer(app)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(fmt.Sprintf(bodyConfig, srv.Listener.Addr().String())), 0o644); err != nil {
		t.Fatal(err)
	}
	logDir = filepath.Join(t.TempDir(), "logs")
	n, err := Start(Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", HTTPSAddr: "127.0.0.1:0", AdminAddr: "127.0.0.1:0",
		NodeName: nodeName, BodyTimeout: bodyTimeout, DrainTimeout: time.Second, LogDir: logDir, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	shutdown = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		n.Shutdown(ctx)
	}
	t.Cleanup(shutdown)
	return &env{node: n}, logDir, shutdown
}

// bodyRead is how the origin's read of a POST's body at path ended.
type bodyRead struct {
	path string
	err  error
}

// bodyOrigin reads a request's body whole and says how long it was; under
// /duplex/ it answers first, then reads. It reports each POST's read.
func bodyOrigin(done chan<- bodyRead) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		if strings.HasPrefix(r.URL.Path, "/duplex/") {
			http.NewResponseController(w).EnableFullDuplex()
			io.WriteString(w, "first\n")
			w.(http.Flusher).Flush()
		}
		n, err := io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost {
			done <- bodyRead{r.URL.Path, err}
		}
		if err == nil {
			fmt.Fprintf(w, "%s %d bytes\n", r.Method, n)
		}
	}
}

// TestStalledBody: a viewer that announces a request body and stops
// sending it is cut once BodyTimeout passes without a byte, over every
// protocol: answered 408 (HTTP/1.1 closes the connection, as nginx does),
// or, when the origin's answer had begun, with its stream reset. The
// origin request is cut too, the connection serves the next request, the
// access log says ClientHungUpRequest and the origin is not blamed. A body
// that comes slowly but steadily, each byte within BodyTimeout, is not cut.
func TestStalledBody(t *testing.T) {
	const timeout = 600 * time.Millisecond
	originDone := make(chan bodyRead, 16)
	e, logDir, shutdown := startLogging(t, bodyOrigin(originDone), timeout)
	n := e.node

	stall := func(w io.Writer) { io.WriteString(w, "abc") }
	cases := []struct {
		path   string
		length int64           // the Content-Length announced, -1 none
		send   func(io.Writer) // the body, before the viewer stops or ends it
		ends   bool            // the viewer ends the body after send
		status int
		want   string // the answer's body starts so
		broken bool   // the answer's body breaks off
		logged string // sc-status, x-edge-result-type, x-edge-detailed-result-type
	}{
		{path: "/stalled", length: 1 << 20, send: stall,
			status: http.StatusRequestTimeout, want: "Request Timeout\n", logged: "408 Error ClientHungUpRequest"},
		{path: "/duplex", length: 1 << 20, send: stall,
			status: http.StatusOK, want: "first\n", broken: true, logged: "200 Error ClientHungUpRequest"},
		{path: "/steady", length: -1, ends: true, send: func(w io.Writer) {
			// 1.2 s in all, longer than the timeout, in gaps a sixth of
			// it: a loaded machine may stretch a gap, not six times.
			for range 12 {
				time.Sleep(timeout / 6)
				io.WriteString(w, "x")
			}
		}, status: http.StatusOK, want: "POST 12 bytes\n", logged: "200 Miss Miss"},
	}
	for _, p := range []proto{h1, h2, h3} {
		scheme := "https"
		if p == h1 {
			scheme = "http"
		}
		for _, c := range cases {
			path := c.path + "/" + string(p)
			t.Run(string(p)+c.path, func(t *testing.T) {
				client := e.client(t, p, nil)
				pr, pw := io.Pipe()
				defer pw.Close()
				go func() {
					c.send(pw)
					if c.ends {
						pw.Close()
					}
				}()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				req, _ := http.NewRequestWithContext(ctx, "POST", scheme+"://site.test"+path, pr)
				req.ContentLength = c.length
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("POST: %v after %v", err, time.Since(start).Round(time.Millisecond))
				}
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				took := time.Since(start)
				if resp.StatusCode != c.status || !strings.HasPrefix(string(b), c.want) || (err != nil) != c.broken {
					t.Errorf("status %d, body %q, read error %v; want %d, %q, broken %v", resp.StatusCode, b, err, c.status, c.want, c.broken)
				}
				if read, ended := originRead(originDone, path, 3*time.Second); !ended {
					t.Error("the origin request still waits for the body 3 s after the viewer's")
				} else if (read.err == nil) != c.ends {
					t.Errorf("the origin's read of the body: %v; want an error: %v", read.err, !c.ends)
				}
				if c.ends {
					return
				}
				if took < timeout/2 || took > timeout+2*time.Second {
					t.Errorf("cut after %v; want about the body timeout, %v", took, timeout)
				}
				if p == h1 && !c.broken && !resp.Close {
					t.Error("HTTP/1.1: the 408 does not say Connection: close")
				}
				// The node is still healthy; over h2 and h3 the same
				// connection serves the next request.
				var reused bool
				ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
				req, _ = http.NewRequestWithContext(ctx, "GET", scheme+"://site.test/next", nil)
				resp, err = client.Do(req)
				if err != nil {
					t.Fatalf("the next request: %v", err)
				}
				b, _ = io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || string(b) != "GET 0 bytes\n" {
					t.Errorf("the next request: status %d, body %q", resp.StatusCode, b)
				}
				if p != h1 && !reused {
					t.Error("the next request did not reuse the connection")
				}
			})
		}
	}
	if errs := sumOf(scrape(t, "http://"+n.Addr("admin").String()+"/metrics"), "openfront_origin_errors_total"); errs != 0 {
		t.Errorf("%v origin errors counted; a viewer's stalled body is not the origin's fault", errs)
	}
	shutdown()
	lines, _ := readWebLogs(t, logDir)
	logged := map[string]string{} // by protocol and path
	for _, l := range lines {
		if l["cs-method"] == "POST" {
			logged[l["cs-uri-stem"]] = l["sc-status"] + " " + l["x-edge-result-type"] + " " + l["x-edge-detailed-result-type"]
		}
	}
	for _, p := range []proto{h1, h2, h3} {
		for _, c := range cases {
			if path := c.path + "/" + string(p); logged[path] != c.logged {
				t.Errorf("POST %s logged %q, want %q", path, logged[path], c.logged)
			}
		}
	}
}

// originRead waits up to limit for the end of the origin's read of path.
func originRead(done <-chan bodyRead, path string, limit time.Duration) (read bodyRead, ended bool) {
	timer := time.After(limit)
	for {
		select {
		case r := <-done:
			if r.path == path {
				return r, true
			}
		case <-timer:
			return bodyRead{}, false
		}
	}
}
