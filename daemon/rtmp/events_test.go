package rtmp

import (
	"strconv"
	"testing"
	"time"

	"openfront.dev/daemon/accesslog"
)

// TestConnectFields: every event of a session carries what the player sent
// in connect as CloudFront's streaming log defines it: c-referrer the
// swfUrl (Flash Media Server's Client.referrer, the SWF that connected),
// x-page-url the pageUrl, c-user-agent the flashVer; sc-bytes only grows,
// and x-sid is set on stream events only.
func TestConnectFields(t *testing.T) {
	m := genMedia(t)
	e := startEnv(t, "", "", nil)
	e.s3.PutObject(t, "media", "test.flv", m.flv)
	for _, tc := range []struct {
		name, swf, page, flashVer string
	}{
		{"all three", "http://player.example/p.swf?v=2", "http://www.example/watch?v=204", "WIN 32,0,0,465"},
		{"page only", "", "http://www.example/embed", "LNX 9,0,124,2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			query := "q=" + strconv.FormatInt(time.Now().UnixNano(), 10)
			args := append(tcurl("tv.test", "cfx/st"), "-rtmp_playpath", "test?"+query, "-rtmp_flashver", tc.flashVer,
				"-rtmp_pageurl", tc.page)
			if tc.swf != "" {
				args = append(args, "-rtmp_swfurl", tc.swf)
			}
			if _, stderr, err := run(t, 20*time.Second, "ffprobe", append(args, "-v", "error", e.url("cfx/st/x"))...); err != nil {
				t.Fatalf("ffprobe: %v\n%s", err, stderr)
			}
			var session []Event
			waitFor(t, func() bool {
				session = nil
				client := ""
				for _, ev := range e.events() {
					if ev.Kind == accesslog.EventPlay && ev.StreamQuery == query {
						client = ev.ClientID
					}
				}
				for _, ev := range e.events() {
					if client != "" && ev.ClientID == client {
						session = append(session, ev)
					}
				}
				return len(session) > 0 && session[len(session)-1].Kind == accesslog.EventDisconnect
			})
			var bytes int64
			for _, ev := range session {
				if ev.Referrer != tc.swf || ev.PageURL != tc.page || ev.UserAgent != tc.flashVer {
					t.Errorf("%s: c-referrer %q, x-page-url %q, c-user-agent %q; want %q %q %q",
						ev.Kind, ev.Referrer, ev.PageURL, ev.UserAgent, tc.swf, tc.page, tc.flashVer)
				}
				if ev.Bytes < bytes {
					t.Errorf("%s: sc-bytes %d after %d: it is a running total", ev.Kind, ev.Bytes, bytes)
				}
				bytes = ev.Bytes
				if ev.Status != "" { // written OK, as CloudFront wrote every event
					t.Errorf("%s: x-cf-status %q, want OK", ev.Kind, ev.Status)
				}
				stream := ev.Kind != accesslog.EventConnect && ev.Kind != accesslog.EventDisconnect
				if (ev.SID != "") != stream || (ev.StreamName != "") != stream {
					t.Errorf("%s: x-sid %q, x-sname %q", ev.Kind, ev.SID, ev.StreamName)
				}
			}
			if first, last := session[0], session[len(session)-1]; first.Kind != accesslog.EventConnect || last.Bytes <= first.Bytes {
				t.Errorf("session from %s (%d bytes) to %s (%d bytes)", first.Kind, first.Bytes, last.Kind, last.Bytes)
			}
		})
	}
}
