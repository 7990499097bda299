package hlstest

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/grafov/m3u8"

	"openfront.dev/internal/testenv"
)

// Source is where live playlists and segments are read (hls.Registry).
type Source interface {
	Playlist(distribution, name string) ([]byte, bool)
	Segment(distribution, name string, seq uint64) ([]byte, bool)
}

// Parse reads a live playlist with grafov/m3u8 in strict mode: an
// independent parser checks the hand-written output.
func Parse(t testing.TB, b []byte) *m3u8.MediaPlaylist {
	t.Helper()
	p, kind, err := m3u8.DecodeFrom(bytes.NewReader(b), true)
	if err != nil || kind != m3u8.MEDIA {
		t.Fatalf("playlist does not parse (%v):\n%s", err, b)
	}
	return p.(*m3u8.MediaPlaylist)
}

// Listed is the playlist's segments (grafov/m3u8 pads the list with nils).
func Listed(p *m3u8.MediaPlaylist) []*m3u8.MediaSegment {
	var segs []*m3u8.MediaSegment
	for _, s := range p.Segments {
		if s != nil {
			segs = append(segs, s)
		}
	}
	return segs
}

// Dump writes the stream's playlist and listed segments into a directory,
// for ffmpeg and ffprobe, and returns the playlist's path and its parse.
func Dump(t testing.TB, src Source, dist, name string) (string, *m3u8.MediaPlaylist) {
	t.Helper()
	b, ok := src.Playlist(dist, name)
	if !ok {
		t.Fatalf("no playlist for %s/%s", dist, name)
	}
	p := Parse(t, b)
	dir := t.TempDir()
	for i, s := range Listed(p) {
		seq := p.SeqNo + uint64(i)
		if s.URI != fmt.Sprintf("%d.ts", seq) {
			t.Fatalf("segment %d has URI %q", seq, s.URI)
		}
		ts, ok := src.Segment(dist, name, seq)
		if !ok {
			t.Fatalf("listed segment %d is not served", seq)
		}
		if err := os.WriteFile(filepath.Join(dir, s.URI), ts, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "index.m3u8")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path, p
}

// Reloads records the versions of a live playlist that a client reloading
// it sees.
type Reloads struct{ versions [][]byte }

// Add records b if it differs from the last version.
func (r *Reloads) Add(b []byte) {
	if b != nil && (len(r.versions) == 0 || !bytes.Equal(b, r.versions[len(r.versions)-1])) {
		r.versions = append(r.versions, b)
	}
}

// Versions are the versions recorded, in order.
func (r *Reloads) Versions() [][]byte { return r.versions }

var targetTag = regexp.MustCompile(`(?m)^#EXT-X-TARGETDURATION:(\d+)$`)

// Target is the playlist's own EXT-X-TARGETDURATION (grafov/m3u8 raises
// the one it parses to the longest EXTINF).
func Target(t testing.TB, b []byte) int {
	t.Helper()
	m := targetTag.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no EXT-X-TARGETDURATION:\n%s", b)
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n
}

// listedSegment is what a client may rely on of a segment across reloads.
type listedSegment struct {
	dur           float64
	discontinuity bool
	discSeq       uint64
	date          time.Time // its EXT-X-PROGRAM-DATE-TIME, or the one before plus EXTINFs
}

// Dates are the EXT-X-PROGRAM-DATE-TIME of each listed segment, as a
// player counts them: its own tag, else the segment before's date plus
// that one's EXTINF. It fails the test unless the first segment and each
// after an EXT-X-DISCONTINUITY have their own (RFC 8216 6.2.1).
func Dates(t testing.TB, p *m3u8.MediaPlaylist) []time.Time {
	t.Helper()
	var dates []time.Time
	for i, s := range Listed(p) {
		switch {
		case !s.ProgramDateTime.IsZero():
			dates = append(dates, s.ProgramDateTime)
		case i == 0 || s.Discontinuity:
			t.Errorf("segment %s (%d listed) has no EXT-X-PROGRAM-DATE-TIME", s.URI, i)
			dates = append(dates, time.Time{})
		default:
			prev := Listed(p)[i-1]
			dates = append(dates, dates[i-1].Add(time.Duration(prev.Duration*float64(time.Second))))
		}
	}
	return dates
}

// Check verifies what RFC 8216 lets a live playlist change between the
// versions recorded: EXT-X-TARGETDURATION never changes (6.2.1) and no
// EXTINF rounds above it (4.3.3.1); segments leave from the front only, so
// the media sequence never goes back; a segment keeps its duration, its
// EXT-X-DISCONTINUITY tag and its discontinuity sequence number while
// listed (6.2.1, 6.2.2), and its date, to the millisecond of the tag, with
// each EXTINF's rounding added. It returns the target.
func (r *Reloads) Check(t testing.TB) int {
	t.Helper()
	if len(r.versions) == 0 {
		t.Fatal("no playlist was recorded")
	}
	target := Target(t, r.versions[0])
	seen := map[uint64]listedSegment{}
	var lastSeq uint64
	for v, b := range r.versions {
		p := Parse(t, b)
		if got := Target(t, b); got != target {
			t.Errorf("reload %d: EXT-X-TARGETDURATION %d, it was %d:\n%s", v, got, target, b)
		}
		if p.SeqNo < lastSeq {
			t.Errorf("reload %d: media sequence %d went back from %d:\n%s", v, p.SeqNo, lastSeq, b)
		}
		lastSeq = p.SeqNo
		disc := p.DiscontinuitySeq
		dates := Dates(t, p)
		for i, s := range Listed(p) {
			if s.Discontinuity {
				disc++
			}
			if int(math.Round(s.Duration)) > target {
				t.Errorf("reload %d: segment %s lasts %.3f s, above the target %d", v, s.URI, s.Duration, target)
			}
			seq := p.SeqNo + uint64(i)
			now := listedSegment{s.Duration, s.Discontinuity, disc, dates[i]}
			before, ok := seen[seq]
			// A date counted from EXTINFs may be a millisecond off the tag.
			if d := now.date.Sub(before.date); ok && d > -time.Duration(i+1)*time.Millisecond && d < time.Duration(i+1)*time.Millisecond {
				now.date = before.date
			}
			if ok && before != now {
				t.Errorf("reload %d: segment %d was %+v, now %+v:\n%s", v, seq, before, now, b)
			}
			seen[seq] = now
		}
	}
	return target
}

// Segments probes each listed segment on its own and checks that it holds
// one set of coding parameters, decodable from its start (parameter sets
// before its first IDR, ADTS headers that say the audio's config), and
// that EXT-X-DISCONTINUITY marks exactly the segments whose parameters
// differ from the segment before (so the stream must have no other cause
// of discontinuity). It returns each segment's parameters.
func Segments(t testing.TB, path string, p *m3u8.MediaPlaylist) []string {
	t.Helper()
	var params []string
	for i, s := range Listed(p) {
		video, audio := Params(t, filepath.Join(filepath.Dir(path), s.URI))
		if len(video) > 1 || len(audio) > 1 {
			t.Errorf("segment %d mixes parameters: video %v, audio %v", i, video, audio)
		}
		params = append(params, fmt.Sprint(video, audio))
		if changed := i > 0 && params[i] != params[i-1]; s.Discontinuity != changed {
			t.Errorf("segment %d (%s, the one before %s): discontinuity %v", i, params[i], params[max(i-1, 0)], s.Discontinuity)
		}
	}
	return params
}

// Decode reads input to the end with ffmpeg, as a player would, and fails
// the test on any error ffmpeg reports; with -xerror a packet its demuxer
// marks corrupt (a continuity counter that skips) is one.
func Decode(t testing.TB, input string) {
	t.Helper()
	decode(t, input, false)
}

// nullMuxerDTS is what ffmpeg's null muxer says when timestamps go back.
var nullMuxerDTS = regexp.MustCompile(`(?m)^\[null @ [^]]*\] Application provided invalid, non monotonically increasing dts to muxer in stream \d+: \d+ >= \d+\n`)

// DecodeRestarts is Decode for a playlist whose timestamps start again
// after an #EXT-X-DISCONTINUITY (a republish): ffmpeg 5.1's HLS demuxer
// passes them on as they are, and its null muxer's complaint about
// timestamps going back is left out; anything else fails the test. args
// go before the input (such as "-headers", "Host: ...").
func DecodeRestarts(t testing.TB, input string, args ...string) {
	t.Helper()
	decode(t, input, true, args...)
}

func decode(t testing.TB, input string, restarts bool, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	args = append(append([]string{"-v", "error", "-xerror", "-nostdin"}, args...), "-i", input, "-f", "null", "-")
	cmd := exec.CommandContext(ctx, testenv.Tool(t, "ffmpeg"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	rest := stderr.Bytes()
	if restarts {
		rest = nullMuxerDTS.ReplaceAll(rest, nil)
	}
	if err != nil || len(rest) > 0 {
		t.Errorf("ffmpeg reading %s: %v\n%s", input, err, stderr.Bytes())
	}
}

// Resynced lists the PIDs of a transport stream (a segment) whose first
// packet carries the discontinuity_indicator (ISO 13818-1 2.4.3.5): their
// continuity counters, and on the PCR's PID the time base, start again.
func Resynced(t testing.TB, ts []byte) map[uint16]bool {
	t.Helper()
	if len(ts)%188 != 0 {
		t.Fatalf("a transport stream of %d bytes, not whole 188-byte packets", len(ts))
	}
	seen, resynced := map[uint16]bool{}, map[uint16]bool{}
	for off := 0; off < len(ts); off += 188 {
		p := ts[off : off+188]
		pid := uint16(p[1]&0x1f)<<8 | uint16(p[2])
		if seen[pid] {
			continue
		}
		seen[pid] = true
		// adaptation_field_control has an adaptation field, of at least
		// the flags byte, whose first bit is the discontinuity_indicator.
		if p[3]&0x20 != 0 && p[4] > 0 && p[5]&0x80 != 0 {
			resynced[pid] = true
		}
	}
	return resynced
}
