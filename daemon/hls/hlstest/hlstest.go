// Package hlstest gives live-packaging tests real media: FLV made by ffmpeg
// at test time, fed tag by tag as an RTMP publisher would, and ffprobe's
// view of what comes out.
package hlstest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	flv "github.com/yutopp/go-flv"
	"github.com/yutopp/go-flv/tag"

	"openfront.dev/internal/testenv"
)

// Media describes generated test media: 30 fps video with a 440 Hz tone.
type Media struct {
	Seconds int
	GOP     int      // frames between keyframes
	Size    string   // WxH, 320x180 when empty
	Extra   []string // more ffmpeg output options, such as "-an"
}

// FLV makes the media with ffmpeg in a temp dir and returns the file's path.
func FLV(t testing.TB, m Media) string {
	t.Helper()
	ffmpeg := testenv.Tool(t, "ffmpeg")
	out := filepath.Join(t.TempDir(), "source.flv")
	size := m.Size
	if size == "" {
		size = "320x180"
	}
	args := []string{"-hide_banner", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=rate=30:size=" + size, "-f", "lavfi", "-i", "sine=frequency=440",
		"-t", strconv.Itoa(m.Seconds), "-c:v", "libx264", "-preset", "veryfast", "-g", strconv.Itoa(m.GOP), "-c:a", "aac"}
	args = append(append(args, m.Extra...), "-f", "flv", out)
	if b, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg: %v\n%s", err, b)
	}
	return out
}

// Tag is one RTMP audio or video message: an FLV tag body with its time.
type Tag struct {
	TypeID      uint8
	TimestampMS uint32
	Body        []byte
}

// Tags parses an FLV file with go-flv and re-encodes each audio and video
// tag's body as RTMP carries it.
func Tags(t testing.TB, path string) []Tag {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec, err := flv.NewDecoder(f)
	if err != nil {
		t.Fatalf("flv: %v", err)
	}
	var tags []Tag
	for {
		var ft tag.FlvTag
		if err := dec.Decode(&ft); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return tags
			}
			t.Fatalf("flv: %v", err)
		}
		var body bytes.Buffer
		switch d := ft.Data.(type) {
		case *tag.VideoData:
			err = tag.EncodeVideoData(&body, d)
		case *tag.AudioData:
			err = tag.EncodeAudioData(&body, d)
		default:
			ft.Close()
			continue
		}
		ft.Close()
		if err != nil {
			t.Fatalf("flv: %v", err)
		}
		tags = append(tags, Tag{uint8(ft.TagType), ft.Timestamp, body.Bytes()})
	}
}

// Concat joins the tags of separate encodes into one publish: each part's
// timestamps go on a frame after the previous part's last, as from an
// encoder that restarts with other settings without reconnecting. Each
// part keeps its sequence headers, so they come again at every join.
func Concat(parts ...[]Tag) []Tag {
	var out []Tag
	var base uint32
	for _, part := range parts {
		for _, tg := range part {
			tg.TimestampMS += base
			out = append(out, tg)
		}
		base = max(next(out, 8), next(out, 9))
	}
	return out
}

// next is where a stream of tags of one type goes on after tags: after
// its last timestamp by the step before it.
func next(tags []Tag, typeID uint8) uint32 {
	var last, step uint32
	for _, tg := range tags {
		if tg.TypeID == typeID {
			if tg.TimestampMS > last {
				step = tg.TimestampMS - last
			}
			last = tg.TimestampMS
		}
	}
	return last + step
}

// WriteFLV writes tags as an FLV file in a temp dir and returns its path,
// for ffmpeg to publish as it is.
func WriteFLV(t testing.TB, tags []Tag) string {
	t.Helper()
	b := []byte{'F', 'L', 'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0} // audio and video, then PreviousTagSize0
	for _, tg := range tags {
		n := len(tg.Body)
		ts := tg.TimestampMS
		b = append(b, tg.TypeID, byte(n>>16), byte(n>>8), byte(n), byte(ts>>16), byte(ts>>8), byte(ts), byte(ts>>24), 0, 0, 0)
		b = append(b, tg.Body...)
		b = binary.BigEndian.AppendUint32(b, uint32(11+n))
	}
	out := filepath.Join(t.TempDir(), "joined.flv")
	if err := os.WriteFile(out, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// Sink is what a publish feeds (hls.LiveTrack).
type Sink interface {
	Media(typeID uint8, timestampMS uint32, body []byte)
	End()
}

// Feed hands the tags to s, paced at the media's own rate when realtime is
// set, else as fast as s takes them. It does not end s.
func Feed(s Sink, tags []Tag, realtime bool) {
	start := time.Now()
	for _, tg := range tags {
		if realtime {
			time.Sleep(time.Until(start.Add(time.Duration(tg.TimestampMS) * time.Millisecond)))
		}
		s.Media(tg.TypeID, tg.TimestampMS, tg.Body)
	}
}

// Probe is the part of ffprobe's JSON the tests read.
type Probe struct {
	Streams []struct {
		CodecType    string `json:"codec_type"`
		CodecName    string `json:"codec_name"`
		NbReadFrames string `json:"nb_read_frames"`
	} `json:"streams"`
	Format struct {
		Duration string `json:"duration"`
	} `json:"format"`
}

// Frames is the number of decoded frames of the first stream of a kind.
func (p *Probe) Frames(codecType string) int {
	for _, s := range p.Streams {
		if s.CodecType == codecType {
			n, _ := strconv.Atoi(s.NbReadFrames)
			return n
		}
	}
	return 0
}

// Codec is the codec of the first stream of a kind, "" when none.
func (p *Probe) Codec(codecType string) string {
	for _, s := range p.Streams {
		if s.CodecType == codecType {
			return s.CodecName
		}
	}
	return ""
}

// Duration is the container's duration in seconds.
func (p *Probe) Duration() float64 {
	d, _ := strconv.ParseFloat(p.Format.Duration, 64)
	return d
}

// FFprobe decodes every frame of input (a file or URL) with ffprobe; args
// go before the input (such as "-headers", "Host: ...").
func FFprobe(t testing.TB, input string, args ...string) *Probe {
	t.Helper()
	ffprobe := testenv.Tool(t, "ffprobe")
	args = append(append([]string{"-v", "error", "-count_frames", "-show_entries",
		"stream=codec_type,codec_name,nb_read_frames:format=duration", "-of", "json"}, args...), input)
	cmd := exec.Command(ffprobe, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", input, err, stderr.Bytes())
	}
	var p Probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe %s: %v", input, err)
	}
	if stderr.Len() > 0 {
		t.Logf("ffprobe %s: %s", input, stderr.Bytes())
	}
	return &p
}

// Params lists the coding parameters of input's decoded frames as they
// change: "320x180" for video, "44100 Hz 1 ch" for audio.
func Params(t testing.TB, input string) (video, audio []string) {
	t.Helper()
	ffprobe := testenv.Tool(t, "ffprobe")
	// ffprobe 5 gives no frame's sample rate: it is samples over duration.
	out, err := exec.Command(ffprobe, "-v", "error", "-show_entries", "frame=media_type,width,height,nb_samples,pkt_duration_time,channels", "-of", "json", input).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", input, err)
	}
	var p struct {
		Frames []struct {
			MediaType string `json:"media_type"`
			Width     int    `json:"width"`
			Height    int    `json:"height"`
			Samples   int    `json:"nb_samples"`
			Duration  string `json:"pkt_duration_time"`
			Channels  int    `json:"channels"`
		} `json:"frames"`
	}
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe %s: %v", input, err)
	}
	for _, f := range p.Frames {
		switch d, _ := strconv.ParseFloat(f.Duration, 64); f.MediaType {
		case "video":
			video = AppendNew(video, fmt.Sprintf("%dx%d", f.Width, f.Height))
		case "audio":
			if d > 0 {
				audio = AppendNew(audio, fmt.Sprintf("%.0f Hz %d ch", math.Round(float64(f.Samples)/d/100)*100, f.Channels))
			}
		}
	}
	return video, audio
}

// AppendNew appends s unless it repeats the last of list.
func AppendNew(list []string, s string) []string {
	if len(list) > 0 && list[len(list)-1] == s {
		return list
	}
	return append(list, s)
}

// FramesOf counts the source's video and audio frames, for comparison.
func FramesOf(t testing.TB, path string) (video, audio int) {
	t.Helper()
	p := FFprobe(t, path)
	return p.Frames("video"), p.Frames("audio")
}
