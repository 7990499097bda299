package node

import (
	"io"
	"net/http"
	"path"
	"strings"
	"testing"
	"time"
)

// TestLogLinesEveryProtocol: the same answers over HTTP/1.1, HTTP/2 and
// HTTP/3, a miss then a hit, go out with the same Content-Length (or
// none), and their log lines agree on it: CloudFront's sc-content-len is
// "The value of the HTTP Content-Length header of the response"
// (standard-logs-reference), so a line says "-" only where the answer had
// none, whatever the protocol.
func TestLogLinesEveryProtocol(t *testing.T) {
	app := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		switch {
		case strings.HasPrefix(r.URL.Path, "/chunked"):
			// No Content-Length, and the body later than the header, so
			// that the miss streams it on every protocol (whether the
			// edge has it all before it answers is timing, not protocol).
			w.(http.Flusher).Flush()
			time.Sleep(50 * time.Millisecond)
			io.WriteString(w, "chunk")
		case strings.HasPrefix(r.URL.Path, "/text"):
			io.WriteString(w, strings.Repeat("compress me ", 200))
		}
	})
	e, logDir, shutdown := startLogging(t, app, 5*time.Second)
	n := e.node
	objects := []struct {
		method, path string
		times        int
	}{
		{"GET", "/chunked", 2}, // a miss, then a hit
		{"GET", "/text", 2},
		{"HEAD", "/text", 1}, // a hit
		{"HEAD", "/text-head", 1},
	}
	fields := []string{"sc-status", "sc-content-len", "sc-content-type", "x-edge-result-type"}
	sent := map[string]map[proto]string{}
	for _, p := range []proto{h1tls, h2, h3} {
		c := connClient(t, n, p, "site.test", 0)
		for _, o := range objects {
			k := o.method + " " + o.path
			for range o.times {
				// A path of its own for each protocol: each has a miss.
				req, _ := http.NewRequest(o.method, "https://site.test"+o.path+"/"+string(p), nil)
				resp, err := c.Do(req)
				if err != nil {
					t.Fatalf("%s over %s: %v", k, p, err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if sent[k] == nil {
					sent[k] = map[proto]string{}
				}
				sent[k][p] += resp.Header.Get("Content-Length") + ";"
			}
		}
	}
	for k, byProto := range sent {
		if byProto[h2] != byProto[h1tls] || byProto[h3] != byProto[h1tls] {
			t.Errorf("%s: Content-Length over HTTP/1.1 %q, HTTP/2 %q, HTTP/3 %q", k, byProto[h1tls], byProto[h2], byProto[h3])
		}
	}
	shutdown()
	lines, _ := readWebLogs(t, logDir)
	logged := map[string]map[string][]logLine{} // method+path, then protocol
	for _, l := range lines {
		stem, p := path.Split(l["cs-uri-stem"])
		k := l["cs-method"] + " " + strings.TrimSuffix(stem, "/")
		if logged[k] == nil {
			logged[k] = map[string][]logLine{}
		}
		logged[k][p] = append(logged[k][p], l)
	}
	for _, o := range objects {
		k := o.method + " " + o.path
		h1lines := logged[k][string(h1tls)]
		if len(h1lines) != o.times {
			t.Fatalf("%d HTTP/1.1 lines for %s, want %d", len(h1lines), k, o.times)
		}
		for _, p := range []proto{h2, h3} {
			ls := logged[k][string(p)]
			if len(ls) != o.times {
				t.Errorf("%d %s lines for %s, want %d", len(ls), p, k, o.times)
				continue
			}
			for i, l := range ls {
				for _, f := range fields {
					if l[f] != h1lines[i][f] {
						t.Errorf("%s (%s) over %s: %s %s, over HTTP/1.1 %s", k, l["x-edge-result-type"], p, f, l[f], h1lines[i][f])
					}
				}
			}
		}
	}
}
