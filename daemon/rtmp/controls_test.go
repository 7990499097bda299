package rtmp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/yutopp/go-rtmp/message"

	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/hls/hlstest"
	"openfront.dev/daemon/rtmp/rtmptest"
)

// TestVODControls drives an on-demand play with a player that sends what
// ffmpeg cannot: pause holds the stream (nothing is sent while paused),
// unpause resumes it where it stopped, seek jumps to the keyframe at or
// before the time asked, and the end is NetStream.Play.Stop.
func TestVODControls(t *testing.T) {
	m := genMedia(t) // 4 s, keyframes every 2 s
	e := startEnv(t, "", "", nil)
	e.s3.PutObject(t, "media", "test.flv", m.flv)
	p := playVOD(t, e, "tv.test", "test", 0)
	// video reads until want frames came, returning the last timestamp;
	// untilStatus reads until an onStatus with code, returning the video
	// frames seen on the way.
	var last uint32
	video := func(want int) {
		t.Helper()
		for n := 0; n < want; {
			msg, ts, err := p.Next()
			if err != nil {
				t.Fatalf("after %d frames: %v", n, err)
			}
			if _, ok := msg.(*message.VideoMessage); ok {
				n, last = n+1, ts
			}
		}
	}
	untilStatus := func(code string) (frames int) {
		t.Helper()
		for {
			msg, ts, err := p.Next()
			if err != nil {
				t.Fatalf("waiting for %s: %v", code, err)
			}
			if _, ok := msg.(*message.VideoMessage); ok {
				frames, last = frames+1, ts
			}
			if rtmptest.Status(msg) == code {
				return frames
			}
		}
	}
	untilStatus("NetStream.Play.Start")
	video(10)

	if err := p.Command(p.StreamID, "pause", 0, nil, true, float64(last)); err != nil {
		t.Fatal(err)
	}
	untilStatus("NetStream.Pause.Notify")
	paused := last
	// Everything sent before the notification was read before it: from
	// here on, a paused stream sends no media.
	p.SetDeadline(time.Now().Add(1500 * time.Millisecond))
	for {
		msg, _, err := p.Next()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			break
		}
		if err != nil {
			t.Fatalf("while paused: %v", err)
		}
		if _, ok := msg.(*message.VideoMessage); ok {
			t.Fatal("video sent while paused")
		}
	}
	// The timeout poisons the chunk reader: a new connection for the rest.
	p.Close()

	p = playVOD(t, e, "tv.test", "test", 0)
	untilStatus("NetStream.Play.Start")
	video(10)
	if err := p.Command(p.StreamID, "pause", 0, nil, true, float64(last)); err != nil {
		t.Fatal(err)
	}
	untilStatus("NetStream.Pause.Notify")
	paused = last
	if err := p.Command(p.StreamID, "pause", 0, nil, false, float64(paused)); err != nil {
		t.Fatal(err)
	}
	untilStatus("NetStream.Unpause.Notify")
	video(1)
	if last+100 < paused || last > paused+2100 {
		t.Errorf("after unpause the stream goes on at %d ms, paused at %d ms", last, paused)
	}

	if err := p.Command(p.StreamID, "seek", 0, nil, 3000.0); err != nil {
		t.Fatal(err)
	}
	untilStatus("NetStream.Seek.Notify")
	// The first picture after the seek (sequence headers aside) is the
	// keyframe at 2 s.
	if ts, head := firstMedia(t, p, typeVideo); head[0]>>4 != 1 || ts < 1900 || ts > 3000 {
		t.Fatalf("after a seek to 3000 ms the first picture is at %d ms, keyframe %v; want the keyframe at 2000 ms", ts, head[0]>>4 == 1)
	}
	untilStatus("NetStream.Play.Stop")
}

// TestStreamEvents: every log event of a play (pause, unpause, seek, and
// its stop however the stream ends) names the stream as its play event
// does: x-sname, x-sname-query, x-file-ext and x-sid.
func TestStreamEvents(t *testing.T) {
	m := genMedia(t)
	e := startEnv(t, "", "", nil)
	e.s3.PutObject(t, "media", "test.flv", m.flv)
	for _, end := range []string{"closeStream", "deleteStream", "disconnect"} {
		t.Run(end, func(t *testing.T) {
			query := "end=" + end
			p := playVOD(t, e, "tv.test", "test?"+query, 0)
			until := func(code string) {
				t.Helper()
				for {
					msg, _, err := p.Next()
					if err != nil {
						t.Fatalf("waiting for %s: %v", code, err)
					}
					if rtmptest.Status(msg) == code {
						return
					}
				}
			}
			until("NetStream.Play.Start")
			for _, c := range []struct {
				name   string
				args   []any
				status string
			}{
				{"pause", []any{true, 0.0}, "NetStream.Pause.Notify"},
				{"pause", []any{false, 0.0}, "NetStream.Unpause.Notify"},
				{"seek", []any{1000.0}, "NetStream.Seek.Notify"},
			} {
				if err := p.Command(p.StreamID, c.name, 0, append([]any{nil}, c.args...)...); err != nil {
					t.Fatal(err)
				}
				until(c.status)
			}
			var err error
			switch end {
			case "closeStream":
				err = p.Command(p.StreamID, "closeStream", 0, nil)
			case "deleteStream":
				err = p.Command(0, "deleteStream", 0, nil, float64(p.StreamID))
			case "disconnect":
				err = p.Close()
			}
			if err != nil {
				t.Fatal(err)
			}
			var play *Event
			waitFor(t, func() bool {
				play = nil
				for _, ev := range e.events() {
					if ev.Kind == accesslog.EventPlay && ev.StreamQuery == query {
						play = &ev
					}
					if play != nil && ev.ClientID == play.ClientID && ev.Kind == accesslog.EventStop {
						return true
					}
				}
				return false
			})
			for _, ev := range e.events() {
				if ev.ClientID != play.ClientID || ev.Kind == accesslog.EventConnect || ev.Kind == accesslog.EventDisconnect {
					continue
				}
				if ev.StreamName != "test" || ev.StreamQuery != query || ev.FileExt != "flv" || ev.SID != play.SID {
					t.Errorf("%s event: x-sname %q, x-sname-query %q, x-file-ext %q, x-sid %q; want %q %q %q %q",
						ev.Kind, ev.StreamName, ev.StreamQuery, ev.FileExt, ev.SID, "test", query, "flv", play.SID)
				}
			}
		})
	}
}

// TestVODSeekWhilePaused: a seek while paused moves the stream and leaves
// it paused (no Play.Start, no pictures) until the unpause, which plays
// from the keyframe sought.
func TestVODSeekWhilePaused(t *testing.T) {
	m := genMedia(t) // 4 s, keyframes every 2 s
	e := startEnv(t, "", "", nil)
	e.s3.PutObject(t, "media", "test.flv", m.flv)
	p := playVOD(t, e, "tv.test", "test", 0)
	// next reads up to the status code, failing on a picture (not a
	// sequence header) or on a status in bad.
	next := func(code string, pictures bool, bad ...string) {
		t.Helper()
		for {
			msg, _, err := p.Next()
			if err != nil {
				t.Fatalf("waiting for %s: %v", code, err)
			}
			if v, ok := msg.(*message.VideoMessage); ok && !pictures {
				var head [2]byte
				if n, _ := io.ReadFull(v.Payload, head[:]); n == 2 && head[1] != 0 {
					t.Fatalf("a picture before %s", code)
				}
			}
			st := rtmptest.Status(msg)
			if st == code {
				return
			}
			for _, b := range bad {
				if st == b {
					t.Fatalf("%s before %s", st, code)
				}
			}
		}
	}
	next("NetStream.Play.Start", true)
	if err := p.Command(p.StreamID, "pause", 0, nil, true, 0.0); err != nil {
		t.Fatal(err)
	}
	next("NetStream.Pause.Notify", true)
	if err := p.Command(p.StreamID, "seek", 0, nil, 3000.0); err != nil {
		t.Fatal(err)
	}
	next("NetStream.Seek.Notify", false, "NetStream.Play.Start")
	if err := p.Command(p.StreamID, "pause", 0, nil, false, 3000.0); err != nil {
		t.Fatal(err)
	}
	next("NetStream.Unpause.Notify", false, "NetStream.Play.Start", "NetStream.Play.Stop")
	if ts, head := firstMedia(t, p, typeVideo); head[0]>>4 != 1 || ts < 1900 || ts > 3000 {
		t.Fatalf("after the unpause the first picture is at %d ms, keyframe %v; want the keyframe at 2000 ms", ts, head[0]>>4 == 1)
	}
}

// TestVODStopLoggedOnce: a play that reaches its end and is then closed
// logs one stop.
func TestVODStopLoggedOnce(t *testing.T) {
	m := genMedia(t)
	e := startEnv(t, "", "", nil)
	e.s3.PutObject(t, "media", "test.flv", m.flv)
	p := playVOD(t, e, "tv.test", "test?once=1", 0)
	for {
		msg, _, err := p.Next()
		if err != nil {
			t.Fatal(err)
		}
		if rtmptest.Status(msg) == "NetStream.Play.Stop" {
			break
		}
	}
	if err := p.Command(p.StreamID, "closeStream", 0, nil); err != nil {
		t.Fatal(err)
	}
	p.Close()
	var stops int
	waitFor(t, func() bool {
		client, disconnected := "", false
		stops = 0
		for _, ev := range e.events() {
			switch {
			case ev.Kind == accesslog.EventPlay && ev.StreamQuery == "once=1":
				client = ev.ClientID
			case client != "" && ev.ClientID == client && ev.Kind == accesslog.EventStop:
				stops++
			case client != "" && ev.ClientID == client && ev.Kind == accesslog.EventDisconnect:
				disconnected = true
			}
		}
		return disconnected
	})
	if stops != 1 {
		t.Errorf("%d stop events, want 1", stops)
	}
}

// TestVODAudioOnly: an audio-only FLV (no video keyframes; every audio tag
// is a place to start) and an MP3 play from a start time and seek.
func TestVODAudioOnly(t *testing.T) {
	e := startEnv(t, "", "", nil)
	for _, f := range []struct{ name, codec string }{{"audio.flv", "aac"}, {"audio.mp3", "libmp3lame"}} {
		file := filepath.Join(t.TempDir(), f.name)
		if _, stderr, err := run(t, 30*time.Second, "ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440",
			"-t", "4", "-c:a", f.codec, "-b:a", "64k", file); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, stderr)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		e.s3.PutObject(t, "media", f.name, b)
	}
	for _, tc := range []struct {
		name, stream string
		start        float64 // play's start, ms
		seek         float64 // then a seek to this, ms; 0: none
	}{
		{"flv, play from 2 s", "audio", 2000, 0},
		{"flv, seek to 3 s", "audio", 0, 3000},
		{"mp3, play from 2 s", "mp3:audio", 2000, 0},
		{"mp3, seek to 3 s", "mp3:audio", 0, 3000},
		{"mp3, seek back to 1 s", "mp3:audio", 3000, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := playVOD(t, e, "tv.test", tc.stream, tc.start)
			want, status := tc.start, "NetStream.Play.Start"
			if tc.seek > 0 {
				want, status = tc.seek, "NetStream.Seek.Notify"
			}
			seen := false
			for {
				msg, _, err := p.Next()
				if err != nil {
					t.Fatalf("waiting for %s: %v", status, err)
				}
				if code := rtmptest.Status(msg); code == "NetStream.Play.Start" && tc.seek > 0 && !seen {
					if err := p.Command(p.StreamID, "seek", 0, nil, tc.seek); err != nil {
						t.Fatal(err)
					}
					seen = true
				} else if code == status {
					break
				} else if strings.HasSuffix(code, ".Failed") {
					t.Fatalf("waiting for %s: %s", status, code)
				}
			}
			// The first audio after the status (the AAC header aside) is
			// at most a second before the time asked: where an index entry is.
			if ts, _ := firstMedia(t, p, typeAudio); float64(ts) < want-1100 || float64(ts) > want+100 {
				t.Fatalf("the first audio is at %d ms, want %.0f", ts, want)
			}
		})
	}
}

// firstMedia reads up to the next audio or video message (typeID) that is
// not a sequence header, and returns its time and first two bytes (frame
// type and codec, AVC or AAC packet type).
func firstMedia(t *testing.T, p *rtmptest.Player, typeID uint8) (uint32, [2]byte) {
	t.Helper()
	for {
		msg, ts, err := p.Next()
		if err != nil {
			t.Fatal(err)
		}
		var payload io.Reader
		switch m := msg.(type) {
		case *message.VideoMessage:
			if typeID == typeVideo {
				payload = m.Payload
			}
		case *message.AudioMessage:
			if typeID == typeAudio {
				payload = m.Payload
			}
		}
		var head [2]byte
		if payload != nil {
			if n, _ := io.ReadFull(payload, head[:]); n == 2 && head[1] != 0 {
				return ts, head
			}
		}
	}
}

// TestLiveControls: a player of a live stream pauses, unpauses and seeks
// as Flash Media Server let it (pause stops the delivery, unpause goes on
// at the live point from a keyframe with the headers again, seek fails:
// a live stream is not seekable), and the streaming log has each event,
// as CloudFront's did for every play, the refused seek with its status.
func TestLiveControls(t *testing.T) {
	m := genMedia(t)
	e := startEnv(t, "", "", nil)
	e.s3.PutObject(t, "media", "test.flv", m.flv)
	p, err := rtmptest.Dial(e.addr, "live", "rtmp://tv.test/live", 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Play("show?live=controls", -1); err != nil {
		t.Fatal(err)
	}
	published := make(chan error, 1)
	go func() {
		_, stderr, err := run(t, 40*time.Second, "ffmpeg", append(append([]string{"-v", "error", "-re", "-stream_loop", "2", "-i", e.s3.Root + "/media/test.flv", "-c", "copy", "-f", "flv"},
			tcurl("tv.test", "live")...), e.url("live/show?key="+testStreamKey))...)
		if err != nil {
			err = fmt.Errorf("publish: %w\n%s", err, stderr)
		}
		published <- err
	}()
	// next reads until an onStatus with code and returns the video
	// messages seen on the way (bodies read).
	next := func(code string) (video [][]byte) {
		t.Helper()
		for {
			msg, _, err := p.Next()
			if err != nil {
				t.Fatalf("waiting for %s: %v", code, err)
			}
			if v, ok := msg.(*message.VideoMessage); ok {
				b, _ := io.ReadAll(v.Payload)
				video = append(video, b)
			}
			if code != "" && rtmptest.Status(msg) == code || code == "" && len(video) == 10 {
				return video
			}
		}
	}
	command := func(name string, args ...any) {
		t.Helper()
		if err := p.Command(p.StreamID, name, 0, append([]any{nil}, args...)...); err != nil {
			t.Fatal(err)
		}
	}
	next("NetStream.Play.Start")
	next("") // ten video messages: the stream flows
	command("pause", true, 0.0)
	next("NetStream.Pause.Notify")
	// Nothing comes while paused (but pings).
	p.SetDeadline(time.Now().Add(time.Second))
	for {
		msg, _, err := p.Next()
		if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch msg.(type) {
		case *message.VideoMessage, *message.AudioMessage:
			t.Fatalf("%T while paused", msg)
		}
	}
	p.SetDeadline(time.Now().Add(30 * time.Second))
	command("pause", false, 0.0)
	next("NetStream.Unpause.Notify")
	// The live point: the AVC header again, then a keyframe.
	if v := next(""); len(v[0]) < 2 || v[0][1] != 0 || len(v[1]) < 2 || v[1][0]>>4 != 1 {
		t.Errorf("after unpause the video starts % x, % x: want the AVC header then a keyframe", v[0][:2], v[1][:2])
	}
	command("seek", 1000.0)
	next("NetStream.Seek.Failed")
	next("") // still playing
	command("closeStream")
	if err := <-published; err != nil {
		t.Fatal(err)
	}
	var got []string
	waitFor(t, func() bool {
		got = nil
		for _, ev := range e.events() {
			if ev.StreamQuery == "live=controls" {
				if ev.StreamName != "show" || ev.SID != strconv.FormatUint(uint64(p.StreamID), 10) {
					t.Errorf("%s event: x-sname %q, x-sid %q", ev.Kind, ev.StreamName, ev.SID)
				}
				got = append(got, ev.Kind+" "+ev.Status)
			}
		}
		return len(got) == 5
	})
	want := []string{"play ", "pause ", "unpause ", "seek NetStream.Seek.Failed", "stop "}
	if !slices.Equal(got, want) {
		t.Errorf("events %q, want %q", got, want)
	}
}

// TestVODSeekStatus: the seek event of an on-demand play carries the
// status the player got. A seek past the end lands on the last keyframe
// (NetStream.Seek.Notify, then the stream's stop), as Flash Media Server's
// did; a seek in an FLV without keyframes has nowhere to land and is
// refused with NetStream.Seek.Failed, which its log line keeps.
func TestVODSeekStatus(t *testing.T) {
	m := genMedia(t) // 4 s, keyframes every 2 s
	e := startEnv(t, "", "", nil)
	e.s3.PutObject(t, "media", "test.flv", m.flv)
	src := filepath.Join(t.TempDir(), "test.flv")
	if err := os.WriteFile(src, m.flv, 0o644); err != nil {
		t.Fatal(err)
	}
	tags := hlstest.Tags(t, src)
	for _, tg := range tags {
		if tg.TypeID == typeVideo && isVideoKeyframe(tg.Body) {
			tg.Body[0] = 2<<4 | tg.Body[0]&0x0f // an inter frame
		}
	}
	nokeys, err := os.ReadFile(hlstest.WriteFLV(t, tags))
	if err != nil {
		t.Fatal(err)
	}
	e.s3.PutObject(t, "media", "nokeys.flv", nokeys)

	for _, tc := range []struct{ stream, status string }{
		{"test?seek=end", "NetStream.Seek.Notify"},
		{"nokeys?seek=nokeys", codeSeekFailed},
	} {
		p := playVOD(t, e, "tv.test", tc.stream, 0)
		until := func(code string) {
			t.Helper()
			for {
				msg, _, err := p.Next()
				if err != nil {
					t.Fatalf("%s: waiting for %s: %v", tc.stream, code, err)
				}
				st := rtmptest.Status(msg)
				if st == code {
					return
				}
				if strings.HasPrefix(st, "NetStream.Seek.") {
					t.Fatalf("%s: %s, want %s", tc.stream, st, code)
				}
			}
		}
		until("NetStream.Play.Start")
		if err := p.Command(p.StreamID, "seek", 0, nil, 60000.0); err != nil {
			t.Fatal(err)
		}
		until(tc.status)
		if tc.status != codeSeekFailed {
			until("NetStream.Play.Stop")
		}
	}
	want := map[string]string{"seek=end": "", "seek=nokeys": codeSeekFailed}
	waitFor(t, func() bool {
		n := 0
		for _, ev := range e.events() {
			if status, ok := want[ev.StreamQuery]; ok && ev.Kind == accesslog.EventSeek {
				n++
				if ev.Status != status {
					t.Errorf("%s: seek logged with x-cf-status %q, want %q", ev.StreamQuery, ev.Status, status)
				}
			}
		}
		return n == len(want)
	})
}
