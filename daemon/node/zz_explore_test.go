package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type slowBody struct{ parts []string }

func (s *slowBody) Read(p []byte) (int, error) {
	if len(s.parts) == 0 {
		return 0, io.EOF
	}
	time.Sleep(20 * time.Millisecond)
	n := copy(p, s.parts[0])
	s.parts = s.parts[1:]
	return n, nil
}

func TestZZExplore(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if r.URL.Path == "/trailer" {
			w.Header().Set("Trailer", "X-Sum")
			io.WriteString(w, "body")
			w.Header().Set("X-Sum", "42")
			return
		}
		fmt.Fprintf(w, "%s %s proto=%s cl=%d te=%v body=%q trailer=%v hdr-te=%q conn=%q cookie=%q", r.Method, r.URL.Path, r.Proto, r.ContentLength, r.TransferEncoding, b, r.Trailer, r.Header.Get("Te"), r.Header.Get("Connection"), r.Header.Values("Cookie"))
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	cfg := `package cdn

distributions: site: {
	aliases: ["site.test"]
	httpVersion: "http2and3"
	origins: [{id: "app", domainName: "` + app.Listener.Addr().String() + `", customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", cachePolicy: "CachingDisabled", originRequestPolicy: "AllViewer",
		allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]}
}
`
	os.WriteFile(filepath.Join(dir, "main.cue"), []byte(cfg), 0o644)
	n, err := Start(Options{ConfigDir: dir, HTTPSAddr: "127.0.0.1:0", Logger: warnLogger(t), CacheBodyDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	for _, p := range []proto{h1tls, h2, h3} {
		c := connClient(t, n, p, "site.test", 0)
		show := func(what string, req *http.Request) {
			resp, err := c.Do(req)
			if err != nil {
				t.Logf("%s %s: error %v", p, what, err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			t.Logf("%s %s: %d %s alt-svc=%q trailer=%v body=%.300s", p, what, resp.StatusCode, resp.Proto, resp.Header.Get("Alt-Svc"), resp.Trailer, b)
		}
		req, _ := http.NewRequest("POST", "https://site.test/stream", &slowBody{parts: []string{"hel", "lo"}})
		show("stream body", req)
		req, _ = http.NewRequest("POST", "https://site.test/trailers", &slowBody{parts: []string{"x"}})
		req.Trailer = http.Header{"X-Check": {"abc"}}
		show("req trailers", req)
		req, _ = http.NewRequest("GET", "https://site.test/trailer", nil)
		show("resp trailers", req)
		req, _ = http.NewRequest("GET", "https://site.test/te", nil)
		req.Header.Set("TE", "trailers")
		show("TE trailers", req)
		req, _ = http.NewRequest("GET", "https://site.test/cookies", nil)
		req.Header["Cookie"] = []string{"a=1", "b=2"}
		show("cookies", req)
		req, _ = http.NewRequest("GET", "https://site.test/body-get", strings.NewReader("q=1"))
		show("GET body", req)
		if p == h3 {
			req, _ = http.NewRequest("CONNECT", "https://site.test/ws", nil)
			req.Proto = "websocket"
			req.Header.Set("Sec-WebSocket-Version", "13")
			show("extended CONNECT", req)
		}
	}
}
