package node

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"openfront.dev/daemon/hls/hlstest"
	"openfront.dev/internal/testenv"
)

// mediaConfig is a live streaming distribution and a web distribution
// whose /live/* behavior is its HLS packaging.
const mediaConfig = `package cdn

streamingDistributions: tv: {
	aliases: ["127.0.0.1"]
	s3Origin: {domainName: "127.0.0.1:1", endpoint: "http://127.0.0.1:1", bucket: "media", region: "us-east-1"}
	live: {enabled: true, streamKeySHA256: ["%s"]}
	logging: {enabled: true, prefix: "rtmp/"}
}
distributions: site: {
	aliases: ["localhost"]
	origins: [{id: "events", liveOriginConfig: streamingDistribution: "tv"}]
	defaultCacheBehavior: {targetOriginId: "events", viewerProtocolPolicy: "allow-all"}
}
`

// TestLiveThroughTheNode publishes with ffmpeg to the node's RTMP
// listener and reads the stream back as HLS from its HTTP listener, as a
// web viewer would; the publish is in the streaming access log.
func TestLiveThroughTheNode(t *testing.T) {
	src := hlstest.FLV(t, hlstest.Media{Seconds: 6, GOP: 60})
	logDir := filepath.Join(t.TempDir(), "logs")
	n, stop, publish := startMediaNode(t, src, logDir)
	if out, err := publish("wrong").CombinedOutput(); err == nil {

		t.Fatalf("a publish with the wrong key was accepted: %s", out)
	}
	pub := publish("s3cret")
	var pubOut strings.Builder
	pub.Stdout, pub.Stderr = &pubOut, &pubOut
	if err := pub.Start(); err != nil {
		t.Fatal(err)
	}
	edge := edgeSource{"http://" + n.Addr("http").String() + "/live"}
	playlist := edge.base + "/event/index.m3u8"
	// Every version of the playlist a player reloading it would see, from
	// the publish to the end, for RFC 8216's rules across reloads.
	var rel hlstest.Reloads
	polling, quit := context.WithCancel(context.Background())
	defer quit() // on a failure too
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for {
			if b, ok := edge.get(playlist); ok {
				rel.Add(b)
			}
			select {
			case <-polling.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	// The live playlist lists a segment while the publisher is still on.
	var live bool
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if body, ok := edge.get(playlist); ok && bytes.Contains(body, []byte(".ts")) {
			live = !bytes.Contains(body, []byte("#EXT-X-ENDLIST"))
			break
		}
	}
	if !live {
		t.Fatalf("no live playlist with a segment while publishing")
	}
	// A player joins the live stream: ffprobe reads it from the web
	// distribution, reloading the playlist until it ends.
	joined := hlstest.FFprobe(t, playlist, "-headers", "Host: localhost\r\n")
	for kind, codec := range map[string]string{"video": "h264", "audio": "aac"} {
		if got := joined.Codec(kind); got != codec || joined.Frames(kind) == 0 {
			t.Errorf("ffprobe joining the live stream finds %s %q with %d frames, want %s", kind, got, joined.Frames(kind), codec)
		}
	}
	if err := pub.Wait(); err != nil {
		t.Fatalf("ffmpeg publish: %v\n%s", err, pubOut.String())
	}
	// The playlist ends (its max-age is short, the edge refetches it).
	var ended bool
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !ended; time.Sleep(200 * time.Millisecond) {
		body, _ := edge.get(playlist)
		ended = bytes.Contains(body, []byte("#EXT-X-ENDLIST"))
	}
	quit()
	<-polled
	if !ended {
		t.Fatalf("the playlist has no #EXT-X-ENDLIST after the publisher stopped")
	}
	// A few segments came one by one: several versions to compare.
	if n := len(rel.Versions()); n < 3 {
		t.Errorf("%d playlist versions seen during the publish, want 3 or more", n)
	}
	rel.Check(t)
	path, p := hlstest.Dump(t, edge, "site", "event")
	hlstest.Segments(t, path, p)
	want, _ := hlstest.FramesOf(t, src)
	if got := hlstest.FFprobe(t, playlist, "-headers", "Host: localhost\r\n").Frames("video"); got < want*90/100 {
		t.Errorf("HLS through the node decodes %d video frames, the source has %d", got, want)
	}

	stop() // flushes the streaming log
	events := streamingEvents(t, filepath.Join(logDir, "rtmp")+"/tv.")
	for _, want := range []string{"connect", "publish", "disconnect"} {
		if !events[want] {
			t.Errorf("the streaming log has no %s event; it has %v", want, events)
		}
	}
}

// startMediaNode starts a node with mediaConfig (the stream key
// "s3cret"), its access logs in logDir; stop shuts it down (also at the
// test's end), and publish(key) is an ffmpeg that publishes src in real
// time as the live stream "event".
func startMediaNode(t *testing.T, src, logDir string) (n *Node, stop func(), publish func(key string) *exec.Cmd) {
	t.Helper()
	ffmpeg := testenv.Tool(t, "ffmpeg")
	sum := sha256.Sum256([]byte("s3cret"))
	cfg := filepath.Join(t.TempDir(), "config")
	os.MkdirAll(cfg, 0o755)
	if err := os.WriteFile(filepath.Join(cfg, "main.cue"), fmt.Appendf(nil, mediaConfig, hex.EncodeToString(sum[:])), 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := Start(Options{ConfigDir: cfg, HTTPAddr: "127.0.0.1:0", RTMPAddr: "127.0.0.1:0", LogDir: logDir,
		NodeName: nodeName, DrainTimeout: 5 * time.Second, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	stopped := false
	stop = func() {
		if !stopped {
			stopped = true
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := n.Shutdown(ctx); err != nil {
				t.Errorf("Shutdown: %v", err)
			}
		}
	}
	t.Cleanup(stop)
	publish = func(key string) *exec.Cmd {
		url := fmt.Sprintf("rtmp://%s/live/event?key=%s", n.Addr("rtmp"), key)
		return exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-re", "-i", src, "-c", "copy", "-f", "flv", url)
	}
	return n, stop, publish
}

// A publisher that stops and publishes again with its stream key (an
// encoder reconnecting) is, for a player reading the live playlist through
// the node, one stream: the playlist never ends in between, the second
// publish follows #EXT-X-DISCONTINUITY, and ffmpeg reads across it without
// a corrupt packet (-xerror) and decodes both publishes.
func TestLiveReconnectThroughTheNode(t *testing.T) {
	src := hlstest.FLV(t, hlstest.Media{Seconds: 4, GOP: 60})
	n, stop, publish := startMediaNode(t, src, "")
	edge := edgeSource{"http://" + n.Addr("http").String() + "/live"}
	playlist := edge.base + "/event/index.m3u8"
	first := publish("s3cret")
	var firstOut bytes.Buffer
	first.Stdout, first.Stderr = &firstOut, &firstOut
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if _, ok := edge.get(playlist); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no live playlist while publishing")
		}
	}
	// The player joins while the first publish is on, from the first
	// segment, and reads on until the playlist ends.
	played := make(chan struct{})
	go func() {
		defer close(played)
		hlstest.DecodeRestarts(t, playlist, "-headers", "Host: localhost\r\n", "-live_start_index", "0")
	}()
	// A failure below still waits for the player, whose playlist the
	// node's stop ends, before the test does: it reports to t.
	defer func() { stop(); <-played }()
	var rel hlstest.Reloads
	polling, quit := context.WithCancel(context.Background())
	polled := make(chan struct{})
	go func() {
		defer close(polled)
		for polling.Err() == nil {
			if b, ok := edge.get(playlist); ok {
				rel.Add(b)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	defer func() { quit(); <-polled }()
	if err := first.Wait(); err != nil {
		t.Fatalf("first publish: %v\n%s", err, firstOut.Bytes())
	}
	if out, err := publish("s3cret").CombinedOutput(); err != nil {
		t.Fatalf("second publish: %v\n%s", err, out)
	}
	<-played
	quit()
	<-polled
	versions := rel.Versions()
	for i, v := range versions[:max(len(versions)-1, 0)] {
		if bytes.Contains(v, []byte("#EXT-X-ENDLIST")) {
			t.Errorf("version %d of the playlist ends while the publisher came back:\n%s", i, v)
		}
	}
	rel.Check(t)
	p := hlstest.Parse(t, versions[len(versions)-1])
	var discontinuities int
	for _, s := range hlstest.Listed(p) {
		if s.Discontinuity {
			discontinuities++
		}
	}
	if !p.Closed || discontinuities != 1 {
		t.Errorf("the last playlist: want #EXT-X-ENDLIST and one #EXT-X-DISCONTINUITY:\n%s", versions[len(versions)-1])
	}
}

// streamingEvents reads the x-event field of every line in the gzip logs
// whose names start with prefix.
func streamingEvents(t *testing.T, prefix string) map[string]bool {
	t.Helper()
	files, _ := filepath.Glob(prefix + "*.gz")
	if len(files) == 0 {
		t.Fatalf("no streaming log files %s*.gz", prefix)
	}
	events := map[string]bool{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		z, err := gzip.NewReader(fh)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		sc := bufio.NewScanner(z)
		for sc.Scan() {
			if fields := strings.Split(sc.Text(), "\t"); !strings.HasPrefix(sc.Text(), "#") && len(fields) > 4 {
				events[fields[4]] = true // date time x-edge-location c-ip x-event
			}
		}
		fh.Close()
	}
	return events
}

// edgeSource reads live streams through the node's web distribution as a
// player would (hlstest.Source, for hlstest.Dump); base is the URL of
// the /live/* behavior.
type edgeSource struct{ base string }

func (e edgeSource) Playlist(_, name string) ([]byte, bool) {
	return e.get(e.base + "/" + name + "/index.m3u8")
}

func (e edgeSource) Segment(_, name string, seq uint64) ([]byte, bool) {
	return e.get(fmt.Sprintf("%s/%s/%d.ts", e.base, name, seq))
}

// get is the body of a 200 answer to a GET for url with Host localhost.
func (e edgeSource) get(url string) ([]byte, bool) {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return nil, false
	}
	req.Host = "localhost"
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, err == nil && resp.StatusCode == http.StatusOK
}
