package accesslog

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"openfront.dev/schema"
)

// TestStreamingLog: a streaming distribution with logging gets a writer
// from SetTable, and its RTMP events come out in CloudFront's streaming
// format, with its own header, next to a web distribution's log.
func TestStreamingLog(t *testing.T) {
	dir := t.TempDir()
	m, err := NewManager(Options{Dir: dir, NodeName: "TST1", Now: atT0, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	tbl := compileTable(t, dist("site", `enabled: true, prefix: "web"`)+`streamingDistributions: tv: {
	aliases: ["rtmp.tv.test"]
	s3Origin: domainName: "media.s3.amazonaws.com"
	logging: {enabled: true, prefix: "rtmp"}
}
streamingDistributions: quiet: {
	aliases: ["rtmp.quiet.test"]
	s3Origin: domainName: "media.s3.amazonaws.com"
}
`)
	if err := m.SetTable(tbl); err != nil {
		t.Fatal(err)
	}
	if m.StreamingWriter("quiet") != nil || m.LogStreaming(&StreamingRecord{Distribution: "quiet", Time: t0, Kind: EventConnect}) {
		t.Error("a streaming distribution without logging logs")
	}
	if m.StreamingWriter("tv") == nil || m.Writer("site") == nil || m.Writer("tv") != nil {
		t.Fatal("want a streaming writer for tv and a web writer for site")
	}
	ip := netip.MustParseAddr("192.0.2.199")
	base := StreamingRecord{Time: t0, Distribution: "tv", ClientIP: ip, ClientID: "bfd8a98bee0840d9b871b7f6ade9908f",
		URIStem: "rtmp://rtmp.tv.test/cfx/st", URIQuery: "key=value", Referrer: "http://player.example/player.swf",
		PageURL: "http://www.example/watch?v=204", UserAgent: "LNX 10,0,32,18"}
	events := []StreamingRecord{base, base, base}
	events[0].Kind, events[0].Bytes = EventConnect, 3914
	events[1].Kind, events[1].Bytes, events[1].StreamName, events[1].StreamQuery, events[1].FileExt, events[1].SID = EventStop, 429822014, "dir/favs/myothervideo", "p=42&q=14", "mp4", "2"
	events[2].Kind, events[2].Bytes, events[2].Status = EventDisconnect, 429825000, ""
	for i := range events {
		if !m.LogStreaming(&events[i]) {
			t.Fatalf("event %d dropped", i)
		}
	}
	r := rec(1)
	m.Writer("site").Log(&r)
	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := readDirLines(t, filepath.Join(dir, "rtmp"))
	want := string(Streaming.Header()) +
		"2026-03-14\t09:26:53\tTST1\t192.0.2.199\tconnect\t3914\tOK\tbfd8a98bee0840d9b871b7f6ade9908f\trtmp://rtmp.tv.test/cfx/st\tkey=value\thttp://player.example/player.swf\thttp://www.example/watch?v=204\tLNX%2010,0,32,18\t-\t-\t-\t-\n" +
		"2026-03-14\t09:26:53\tTST1\t192.0.2.199\tstop\t429822014\tOK\tbfd8a98bee0840d9b871b7f6ade9908f\trtmp://rtmp.tv.test/cfx/st\tkey=value\thttp://player.example/player.swf\thttp://www.example/watch?v=204\tLNX%2010,0,32,18\tdir/favs/myothervideo\tp=42&q=14\tmp4\t2\n" +
		"2026-03-14\t09:26:53\tTST1\t192.0.2.199\tdisconnect\t429825000\tOK\tbfd8a98bee0840d9b871b7f6ade9908f\trtmp://rtmp.tv.test/cfx/st\tkey=value\thttp://player.example/player.swf\thttp://www.example/watch?v=204\tLNX%2010,0,32,18\t-\t-\t-\t-\n"
	if got != want {
		t.Errorf("streaming log:\n%s\nwant:\n%s", got, want)
	}
	if !strings.HasPrefix(got, "#Version: 1.0\n#Fields: date time x-edge-location c-ip x-event sc-bytes x-cf-status x-cf-client-id cs-uri-stem cs-uri-query c-referrer x-page-url c-user-agent x-sname x-sname-query x-file-ext x-sid\n") {
		t.Errorf("header %q", got)
	}
	if web := readDirLines(t, filepath.Join(dir, "web")); !strings.HasPrefix(web, string(Web.Header())) || strings.Count(web, "\n") != 3 {
		t.Errorf("web log of site:\n%s", web)
	}
}

// readDirLines is the text of the one log file in dir.
func readDirLines(t *testing.T, dir string) string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.gz"))
	if err != nil || len(names) != 1 {
		t.Fatalf("files in %s: %v %v", dir, names, err)
	}
	b, err := os.ReadFile(names[0])
	if err != nil {
		t.Fatal(err)
	}
	z, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(z)
	if err != nil {
		t.Fatal(err)
	}
	return string(text)
}

// TestStreamingFileHourIsTheEvents: a streaming log file, like a web one,
// is named for the hour of its events, even when written in the next.
func TestStreamingFileHourIsTheEvents(t *testing.T) {
	opts := testOptions(t)
	late := time.Date(2026, 3, 14, 10, 59, 59, 0, time.UTC)
	opts.Now = func() time.Time { return late.Add(2 * time.Second) }
	w := mustNew(t, opts, Config{ID: "tv", Logging: schema.Logging{Enabled: true}, Format: Streaming})
	for i, tm := range []time.Time{late, late.Add(time.Second), late.Add(-time.Second)} {
		if !w.LogStreaming(&StreamingRecord{Time: tm, Kind: EventPlay, SID: strconv.Itoa(i)}) {
			t.Fatal("event dropped")
		}
	}
	closeWriter(t, w)
	names, _ := filepath.Glob(filepath.Join(opts.Dir, "*.gz"))
	var hours []string
	for _, n := range names {
		m := fileName.FindStringSubmatch(filepath.Base(n))
		if m == nil {
			t.Fatalf("file %s", n)
		}
		hours = append(hours, m[2])
	}
	slices.Sort(hours)
	if want := []string{"2026-03-14-10", "2026-03-14-10", "2026-03-14-11"}; !slices.Equal(hours, want) {
		t.Errorf("files of hours %v, want %v (the events in order: 10, 11, 10)", hours, want)
	}
}
