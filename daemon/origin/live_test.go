package origin_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/edge"
	"openfront.dev/daemon/hls"
	"openfront.dev/daemon/hls/hlstest"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// The packager is a live source as origin defines it.
var _ origin.LiveSource = (*hls.Registry)(nil)

// liveConfig routes /live/* of site.test to the live origin of the
// streaming distribution tv, and all of radio.test to one stream named by
// its originPath.
const liveConfig = `package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "events", liveOriginConfig: streamingDistribution: "tv"}]
	defaultCacheBehavior: {targetOriginId: "events", viewerProtocolPolicy: "allow-all"}
	cacheBehaviors: [{pathPattern: "/live/*", targetOriginId: "events", viewerProtocolPolicy: "allow-all"}]
}

distributions: radio: {
	aliases: ["radio.test"]
	origins: [{id: "concert", originPath: "/concert", liveOriginConfig: streamingDistribution: "tv"}]
	defaultCacheBehavior: {targetOriginId: "concert", viewerProtocolPolicy: "allow-all"}
}

streamingDistributions: tv: {
	aliases: ["tv.test"]
	s3Origin: domainName: "media.s3.us-east-1.amazonaws.com"
	live: {enabled: true, streamKeySHA256: ["9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"]}
}
`

func compileLive(t *testing.T) *table.Table { return testenv.Compile(t, "", liveConfig) }

// publish packages a 4 s stream as name of tv and ends it.
func publish(t *testing.T, r *hls.Registry, tags []hlstest.Tag, name string) {
	t.Helper()
	tr := r.Publish("tv", name)
	hlstest.Feed(tr, tags, false)
	tr.End()
}

// quietRegistry ends a playlist as soon as its publisher stops, without
// the reconnect wait.
func quietRegistry() *hls.Registry {
	return hls.NewRegistry(hls.Options{ReconnectWait: -1, Log: slog.New(slog.DiscardHandler)})
}

func TestLiveFetch(t *testing.T) {
	tbl := compileLive(t)
	tags := hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 4, GOP: 60}))
	reg := quietRegistry()
	publish(t, reg, tags, "event")
	publish(t, reg, tags, "concert")
	playlist, _ := reg.Playlist("tv", "event")
	var first string // the first segment's URI
	for _, line := range strings.Split(string(playlist), "\n") {
		if strings.HasSuffix(line, ".ts") {
			first = line
			break
		}
	}
	seg, _ := reg.Segment("tv", "event", seqOf(t, first))

	pool := origin.NewPool(t.TempDir())
	pool.SetLive(reg)
	tests := []struct {
		name, host, method, path string
		header                   http.Header
		status                   int
		contentType, cache       string
		body                     []byte
	}{
		{"playlist", "site.test", "GET", "/live/event/index.m3u8", nil, 200, "application/vnd.apple.mpegurl", "max-age=1", playlist},
		{"segment", "site.test", "GET", "/live/event/" + first, nil, 200, "video/mp2t", "max-age=86400, immutable", seg},
		{"segment HEAD", "site.test", "HEAD", "/live/event/" + first, nil, 200, "video/mp2t", "max-age=86400, immutable", nil},
		{"segment range", "site.test", "GET", "/live/event/" + first, http.Header{"Range": {"bytes=0-187"}}, 206, "video/mp2t", "max-age=86400, immutable", seg[:188]},
		{"deeper prefix names the stream by its last element", "site.test", "GET", "/live/extra/event/index.m3u8", nil, 200, "application/vnd.apple.mpegurl", "max-age=1", playlist},
		{"originPath names the stream", "radio.test", "GET", "/index.m3u8", nil, 200, "application/vnd.apple.mpegurl", "max-age=1", nil},
		{"unknown stream", "site.test", "GET", "/live/nope/index.m3u8", nil, 404, "", "no-store", nil},
		{"unknown segment", "site.test", "GET", "/live/event/1.ts", nil, 404, "", "max-age=1", nil},
		{"not a segment name", "site.test", "GET", "/live/event/x.ts", nil, 404, "", "max-age=1", nil},
		{"other file", "site.test", "GET", "/live/event/index.html", nil, 404, "", "max-age=1", nil},
		{"no stream element", "site.test", "GET", "/index.m3u8", nil, 404, "", "max-age=1", nil},
		{"POST", "site.test", "POST", "/live/event/index.m3u8", nil, 405, "", "", nil},
		{"OPTIONS, a CORS preflight", "site.test", "OPTIONS", "/live/event/index.m3u8", nil, 204, "", "", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := fetch(t, pool, tbl, tc.host, &origin.Request{Method: tc.method, Path: tc.path, Header: tc.header})
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if tc.contentType != "" && resp.Header.Get("Content-Type") != tc.contentType {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tc.contentType)
			}
			if resp.Header.Get("Cache-Control") != tc.cache {
				t.Errorf("Cache-Control %q, want %q", resp.Header.Get("Cache-Control"), tc.cache)
			}
			if tc.body != nil && string(body) != string(tc.body) {
				t.Errorf("body of %d bytes differs from the packager's %d", len(body), len(tc.body))
			}
			if tc.status == 200 && tc.method == "GET" && len(body) == 0 {
				t.Error("empty body")
			}
			if tc.method == "HEAD" && (len(body) != 0 || resp.ContentLength != int64(len(seg))) {
				t.Errorf("HEAD: %d body bytes, Content-Length %d", len(body), resp.ContentLength)
			}
			// A revalidation of the same content is answered 304.
			if etag := resp.Header.Get("ETag"); tc.status == 200 {
				again := fetch(t, pool, tbl, tc.host, &origin.Request{Method: "GET", Path: tc.path, Header: http.Header{"If-None-Match": {etag}}})
				// The header is the reader's to change (the edge drops
				// its own headers), even while the origin finishes.
				again.Header.Del("Via")
				again.Body.Close()
				if etag == "" || again.StatusCode != http.StatusNotModified {
					t.Errorf("If-None-Match %s: status %d, want 304", etag, again.StatusCode)
				}
			}
		})
	}
}

func seqOf(t *testing.T, uri string) uint64 {
	t.Helper()
	var seq uint64
	if _, err := fmt.Sscanf(uri, "%d.ts", &seq); err != nil {
		t.Fatalf("segment URI %q: %v", uri, err)
	}
	return seq
}

func fetch(t *testing.T, pool *origin.Pool, tbl *table.Table, host string, req *origin.Request) *http.Response {
	t.Helper()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	d, b := tbl.Route(host, req.Path)
	f, err := pool.Fetcher(d, b.Origin)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := f.Fetch(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// Without a packager (no RTMP server on the node) the origin fails with a
// reason the edge shows as a 502.
func TestLiveNoPackager(t *testing.T) {
	tbl := compileLive(t)
	d, b := tbl.Route("site.test", "/live/event/index.m3u8")
	f, err := origin.NewPool(t.TempDir()).Fetcher(d, b.Origin)
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Fetch(context.Background(), &origin.Request{Method: "GET", Path: "/live/event/index.m3u8", Header: http.Header{}})
	var oe *origin.Error
	if !errors.As(err, &oe) || oe.Reason == "" {
		t.Fatalf("fetch without a packager: %v, want an origin error with a reason", err)
	}
}

// ffprobe reads the stream through the edge (with its cache), as a viewer
// of /live/NAME/index.m3u8: once published and ended, and while live.
func TestLiveThroughEdge(t *testing.T) {
	src := hlstest.FLV(t, hlstest.Media{Seconds: 6, GOP: 60})
	tags := hlstest.Tags(t, src)
	wantVideo, wantAudio := hlstest.FramesOf(t, src)
	for _, tc := range []struct {
		name     string
		realtime bool
	}{{"ended", false}, {"live", true}} {
		t.Run(tc.name, func(t *testing.T) {
			reg := quietRegistry()
			srv := liveEdge(t, reg)
			tr := reg.Publish("tv", "event")
			var wg sync.WaitGroup
			wg.Go(func() {
				hlstest.Feed(tr, tags, tc.realtime)
				tr.End()
			})
			if !tc.realtime {
				wg.Wait()
			} else {
				waitListed(t, reg)
			}
			playlist := srv.URL + "/live/event/index.m3u8"
			p := hlstest.FFprobe(t, playlist, "-headers", "Host: site.test\r\n")
			wg.Wait()
			if p.Codec("video") != "h264" || p.Codec("audio") != "aac" {
				t.Errorf("streams %+v, want h264 and aac", p.Streams)
			}
			// A live viewer joins after the first segment is listed.
			min := 95
			if tc.realtime {
				min = 90
			}
			t.Logf("read %d/%d video and %d/%d audio frames", p.Frames("video"), wantVideo, p.Frames("audio"), wantAudio)
			if v, a := p.Frames("video"), p.Frames("audio"); v < wantVideo*min/100 || a < wantAudio*min/100 {
				t.Errorf("read %d video and %d audio frames through the edge, the source has %d and %d", v, a, wantVideo, wantAudio)
			}
			req, _ := http.NewRequest("GET", playlist, nil)
			req.Host = "site.test"
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if ct, cc := resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"); ct != "application/vnd.apple.mpegurl" || cc != "max-age=1" {
				t.Errorf("through the edge: Content-Type %q, Cache-Control %q", ct, cc)
			}
		})
	}
}

// liveEdge serves reg's streams through an edge with its cache, as
// liveConfig routes them.
func liveEdge(t *testing.T, reg *hls.Registry) *httptest.Server {
	t.Helper()
	pool := origin.NewPool(t.TempDir())
	pool.SetLive(reg)
	c, err := cache.New(cache.Config{MemoryBytes: 16 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := edge.New(pool, "livetest", slog.New(slog.DiscardHandler))
	h.SetCache(c)
	h.SetTable(compileLive(t))
	srv := httptest.NewServer(h) // 127.0.0.1, a port of its own
	t.Cleanup(srv.Close)
	return srv
}

// A viewer who asks for the playlist before the stream is live (the
// publisher not there yet, or its first segment not complete) gets a 404,
// and the playlist as soon as the first segment is: the edge must not keep
// that 404 for errorCachingMinTTL (10 s by default), during which every
// viewer of the node would get it too, and a page that retries the
// player (hls.js does not retry a 4xx itself: a fatal manifestLoadError)
// would keep failing. A segment's 404 may be kept: its number is never
// reused.
func TestLiveNotYetLiveThroughEdge(t *testing.T) {
	tags := hlstest.Tags(t, hlstest.FLV(t, hlstest.Media{Seconds: 4, GOP: 60}))
	reg := quietRegistry()
	srv := liveEdge(t, reg)
	get := func(path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Host = "site.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, resp.Header.Get("Cache-Control")
	}
	const playlist = "/live/event/index.m3u8"
	if status, cc := get(playlist); status != 404 || cc != "no-store" {
		t.Errorf("before the publish: status %d, Cache-Control %q, want 404 and no-store", status, cc)
	}
	tr := reg.Publish("tv", "event")
	defer tr.End()
	hlstest.Feed(tr, tags[:3], false) // sequence headers and a keyframe: no segment yet
	if status, _ := get(playlist); status != 404 {
		t.Errorf("with no complete segment: status %d, want 404", status)
	}
	hlstest.Feed(tr, tags[3:], false)
	if status, _ := get(playlist); status != 200 {
		t.Errorf("once the first segment is complete: status %d, want 200 at once", status)
	}
	if status, cc := get("/live/event/1.ts"); status != 404 || cc != "max-age=1" {
		t.Errorf("an unknown segment: status %d, Cache-Control %q, want 404 and max-age=1", status, cc)
	}
}

// waitListed waits for the first segment: a player needs a playlist.
func waitListed(t *testing.T, reg *hls.Registry) {
	t.Helper()
	for range 1000 {
		if _, ok := reg.Playlist("tv", "event"); ok {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("no segment was listed in 10 s")
}
