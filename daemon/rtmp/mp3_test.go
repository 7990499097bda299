package rtmp

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"openfront.dev/daemon/accesslog"
)

// TestVODMP3: MP3 objects play over RTMP by the names Flash Media Server
// took (mp3:NAME, with or without .mp3), as MP3 audio messages that ffmpeg
// decodes whole, from a start time too, and the log says x-file-ext mp3.
func TestVODMP3(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		// LAME's default: an ID3v2 tag and an Info frame, MPEG-1.
		"song.mp3": "-ar 44100 -ac 2 -b:a 128k",
		// MPEG-2, mono, VBR (a Xing frame), no ID3v2 tag.
		"low.mp3": "-ar 22050 -ac 1 -q:a 6 -id3v2_version 0",
	}
	e := startEnv(t, "", "", nil)
	for name, opts := range files {
		file := filepath.Join(dir, name)
		args := append(strings.Fields("-v error -f lavfi -i sine=frequency=440 -t 4 -c:a libmp3lame "+opts), file)
		if _, stderr, err := run(t, 30*time.Second, "ffmpeg", args...); err != nil {
			t.Fatalf("ffmpeg: %v\n%s", err, stderr)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		e.s3.PutObject(t, "media", "music/"+name, b)
	}
	for _, tc := range []struct {
		name, app, stream string
		start, rate       float64 // -ss, s; the sample rate decoded
	}{
		{"prefix", "cfx/st", "mp3:music/song", 0, 44100},
		{"prefix and extension", "cfx/st", "mp3:music/song.mp3", 0, 44100},
		{"extension, ffmpeg's app split", "cfx", "st/music/song.mp3", 0, 44100},
		{"start at 2 s", "cfx/st", "mp3:music/song", 2, 44100},
		{"mpeg-2 mono vbr", "cfx/st", "mp3:music/low", 0, 22050},
	} {
		t.Run(tc.name, func(t *testing.T) {
			query := fmt.Sprintf("case=%d", time.Now().UnixNano())
			args := append(tcurl("tv.test", "cfx/st"), "-rtmp_app", tc.app, "-rtmp_playpath", tc.stream+"?"+query)
			if tc.start > 0 {
				args = append(args, "-ss", fmt.Sprint(tc.start))
			}
			args = append(append([]string{"-v", "error", "-nostdin"}, args...), "-i", e.url("cfx/st/x"),
				"-map", "0:a:0", "-f", "framecrc", "-")
			out, stderr, err := run(t, 30*time.Second, "ffmpeg", args...)
			if err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, stderr)
			}
			rate, secs := audioDecoded(out)
			if rate != tc.rate {
				t.Errorf("decoded at %g Hz, want %g", rate, tc.rate)
			}
			// MP3 frames are 26 ms (MPEG-1) or 52 ms (MPEG-2) long; a start
			// lands on a frame at most a second before the time asked.
			if want := 4 - tc.start; secs < want-0.1 || secs > want+1.1 {
				t.Errorf("decoded %.2f s of audio, want %.2f", secs, want)
			}
			t.Logf("%.3f s at %g Hz", secs, rate)
			var play *Event
			for _, ev := range e.events() {
				if ev.Kind == accesslog.EventPlay && ev.StreamQuery == query {
					play = &ev
				}
			}
			if play == nil || play.FileExt != "mp3" || play.Status != "" {
				t.Errorf("play event %+v, want x-file-ext mp3 and status OK", play)
			}
		})
	}
}

// audioDecoded reads framecrc output of one audio stream: its sample rate
// (the timebase) and the length of what was decoded, in seconds.
func audioDecoded(out string) (rate, secs float64) {
	var num, den, total float64
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#tb 0:") {
			fmt.Sscanf(strings.TrimPrefix(line, "#tb 0:"), " %g/%g", &num, &den)
			continue
		}
		var stream int
		var dts, pts, dur float64
		if _, err := fmt.Sscanf(line, "%d, %g, %g, %g", &stream, &dts, &pts, &dur); err == nil && stream == 0 {
			total += dur
		}
	}
	if num == 0 {
		return 0, 0
	}
	return math.Round(den / num), total * num / den
}
