package hls

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/asticode/go-astits"
)

// RTMP message types and the FLV tag fields the packager reads.
const (
	typeAudio = 8
	typeVideo = 9

	codecAVC     = 7
	soundMP3     = 2
	soundAAC     = 10
	frameKey     = 1
	packetConfig = 0 // AVCPacketType / AACPacketType: sequence header
	packetData   = 1
)

const (
	pidVideo uint16 = 0x100
	pidAudio uint16 = 0x101
	// tsOffset puts PTS and DTS 0.7 s after the PCR, the decoder buffering
	// delay ffmpeg's muxer also assumes, so no timestamp precedes its clock.
	tsOffset = 63000
	// audioFramesPerPES batches AAC frames (about 100 ms at 48 kHz): one
	// frame a PES would nearly double the audio's transport overhead.
	audioFramesPerPES = 5
	// A timestamp of the stream that cuts further than this back or
	// forward from the one before leaves the timeline (as nginx-rtmp
	// judges it): the segment ends there, and the next is a discontinuity.
	maxStepBackMS = 1000
	maxGapMS      = 5000
	// Video silent this long is stalled when the segment is about to
	// outlast the target: audio ends it (a frame of video every half
	// second is rarer than a publisher sent to the background).
	videoStallMS = 500
	// audioCutMarginMS is how early audio cuts before the target is
	// outlasted: more than an AAC frame (23 ms at 44.1 kHz, 46 ms for
	// HE-AAC at 22.05 kHz).
	audioCutMarginMS = 100
	// trackGone is how long a declared track may be missing, counted in
	// whole segments in a row that the other track carried, before the
	// PMT stops declaring it: players (hls.js, Safari) wait for the data
	// of every declared track and stall. Only whole segments within the
	// gap count, so a gap shorter than this (an encoder that stops
	// sending silent audio frames for a second or two) never drops a
	// track, however the segments fall; a track that comes back joins
	// again (see openSegment).
	trackGone = 4 * time.Second
)

// Track packages one publish. Media and End are called from one goroutine;
// finished segments reach readers through the stream.
type Track struct {
	reg *Registry
	key streamKey
	s   *stream
	log *slog.Logger

	avc *avcConfig
	aac *aacConfig

	mux          *astits.Muxer // created at the first segment
	out          segmentWriter
	video, audio bool // elementary streams in mux's PMT
	audioType    astits.StreamType
	open         bool
	start        uint32 // the open segment's first timestamp, ms
	last, delta  uint32 // the last timestamp of the stream that cuts, and its step
	stepped      bool
	audioLeads   bool   // the video stopped: audio cuts until it is back
	frame        []byte // reused Annex-B buffer
	target       int    // EXT-X-TARGETDURATION, s

	// The last keyframe and the intervals between recent ones: the
	// longest tells how late the next keyframe may come.
	keyTS  uint32
	keyed  bool
	gops   [8]uint32
	gopPos int

	// Whether the declared tracks still come.
	vid, aud presence

	segAudio  bool // the open segment holds audio
	audioWait bool // new audio config: audio waits for the video's next keyframe
	keyClean  bool // no audio since the open segment's last keyframe, at keyOff
	keyOff    int

	// Where the open segment could still end in time, should the video
	// turn out stalled: at fallOff, fallTS, the first audio frame after
	// the last video frame that fits the target.
	fallback bool
	fallOff  int
	fallTS   uint32

	// resync lists the elementary streams (resyncVideo, resyncAudio)
	// whose next PES carries the discontinuity_indicator: their continuity
	// counters start again (a new publish's muxer) or their time base
	// jumped (ISO 13818-1 2.4.3.5).
	resync uint8

	pending       []byte // ADTS frames not yet in a PES
	pendingPTS    uint32
	pendingFrames int

	cuts   int // segments closed
	ended  bool
	warned map[string]bool
}

// presence follows whether a declared track still comes.
type presence struct {
	saw    bool          // a frame of it came in the open segment
	absent time.Duration // whole segments in a row without it
	gone   bool          // missing for trackGone: not declared until it comes back
}

// closed counts the segment that ends into the track's absence, when the
// other track carried it: a segment with neither says nothing.
func (p *presence) closed(dur time.Duration, other bool) {
	switch {
	case p.saw:
		p.absent = 0
	case other:
		p.absent += dur
	}
	p.saw = false
}

// leaves reports whether a track that is declared has just gone.
func (p *presence) leaves(declared bool) bool {
	if declared && !p.gone && p.absent >= trackGone {
		p.gone = true
		return true
	}
	return false
}

// back undoes gone: the track joins again.
func (p *presence) back() { p.gone, p.absent = false, 0 }

func newTrack(r *Registry, k streamKey, s *stream) *Track {
	return &Track{reg: r, key: k, s: s, warned: map[string]bool{},
		log: r.opts.Log.With("distribution", k.distribution, "stream", k.name)}
}

// segmentWriter collects the muxer's output for the open segment.
type segmentWriter struct{ buf []byte }

func (w *segmentWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	return len(b), nil
}

// Media packages one audio or video message body (an FLV tag body).
func (t *Track) Media(typeID uint8, ts uint32, body []byte) {
	if t.ended {
		return
	}
	switch typeID {
	case typeVideo:
		t.videoMessage(ts, body)
	case typeAudio:
		t.audioMessage(ts, body)
	}
}

func (t *Track) videoMessage(ts uint32, body []byte) {
	// Enhanced RTMP (HEVC, AV1) sets the top bit; only H.264 fits HLS in TS here.
	if len(body) < 5 || body[0]&0x80 != 0 || body[0]&0x0f != codecAVC {
		t.warnOnce("video is not H.264 in FLV: not packaged")
		return
	}
	data := body[5:]
	switch body[1] {
	case packetConfig:
		if t.avc != nil && bytes.Equal(data, t.avc.raw) {
			return // sent again: nothing changes
		}
		c, err := parseAVCConfig(data)
		if err != nil {
			t.warnOnce("bad AVC sequence header", "err", err)
			return
		}
		// New parameter sets (another resolution, profile) take effect at
		// the next IDR: the segment ends here and the next, from that IDR
		// with the new sets before it, follows an #EXT-X-DISCONTINUITY
		// (RFC 8216 4.3.2.3: encoding parameters changed).
		if t.video && t.open {
			t.discontinue()
		}
		t.avc = c
		return
	case packetData:
	default: // end of sequence
		return
	}
	if t.avc == nil {
		return
	}
	flvKey := body[0]>>4 == frameKey
	frame, idr, err := t.avc.annexB(t.frame[:0], data, flvKey)
	if err != nil {
		t.warnOnce("bad AVC frame", "err", err)
		return
	}
	t.frame = frame
	key := flvKey || idr
	if !t.video && t.mux != nil {
		// Video joins an audio-only publish at its first keyframe, which
		// starts a segment whose PMT lists it (see openSegment).
		if !key {
			return
		}
		t.vid.back()
		if t.open {
			t.discontinue()
		}
	}
	if t.open && t.jumped(ts) {
		t.discontinue()
		t.resync = resyncVideo | resyncAudio
	}
	switch {
	case !t.open && !key:
		return // a segment starts at a keyframe
	case !t.open:
		t.openSegment(ts, true)
	case key && (t.due(ts) || t.early(ts) || t.audioWait), len(t.out.buf) >= t.reg.opts.MaxSegmentBytes:
		t.cut(ts, true)
	}
	if key {
		t.noteKey(ts)
		// Audio before the keyframe goes before it, so that the segment
		// can still be split there (see audioConfig).
		t.flushAudio()
		t.keyOff = len(t.out.buf)
	}
	t.keyClean = t.keyClean || key
	cts := int32(uint32(body[2])<<16|uint32(body[3])<<8|uint32(body[4])) << 8 >> 8
	dts := ts90(int64(ts))
	t.write(pidVideo, &astits.PESOptionalHeader{
		PTSDTSIndicator:        astits.PTSDTSIndicatorBothPresent,
		PTS:                    &astits.ClockReference{Base: ts90(int64(ts) + int64(cts))},
		DTS:                    &astits.ClockReference{Base: dts},
		DataAlignmentIndicator: true,
	}, key, frame)
	t.vid.saw = true
	t.step(ts)
	t.audioLeads, t.fallback = false, false
}

func (t *Track) audioMessage(ts uint32, body []byte) {
	if len(body) < 2 {
		return
	}
	var payload []byte
	switch body[0] >> 4 {
	case soundAAC:
		if body[1] == packetConfig {
			t.audioConfig(ts, body[2:])
			return
		}
		payload = body[2:]
	case soundMP3:
		// No sequence header: each frame's header says what the
		// stream is, and a change is a new config as for AAC.
		c, err := parseMP3Config(body[1:])
		if err != nil {
			t.warnOnce("bad MP3 frame", "err", err)
			return
		}
		if t.aac == nil || !bytes.Equal(c.raw, t.aac.raw) {
			t.useAudioConfig(ts, c)
		}
		payload = body[1:]
	default:
		t.warnOnce("audio is not AAC or MP3: not packaged")
		return
	}
	if t.aac == nil {
		return
	}
	switch {
	case t.aud.gone && t.open:
		// Back after it was left out, with the config it had.
		t.joinAudio()
	case t.aud.gone:
		t.aud.back()
	}
	leads := !t.video || t.audioLeads
	if leads && t.open && t.jumped(ts) {
		t.discontinue()
		t.resync = resyncVideo | resyncAudio
		t.openSegment(ts, false)
	}
	// When the video stops and the audio goes on (a mobile encoder sent
	// to the background), audio cuts as in an audio-only stream: else the
	// playlist would stall and the open segment grow until video returns.
	// It takes over as soon as the segment would outlast the target.
	if silent := int64(ts) - int64(t.last); !leads && t.audio && t.open && t.stepped &&
		(silent > t.reg.opts.MinSegment.Milliseconds() || silent > videoStallMS && int64(ts)-int64(t.start)+audioCutMarginMS >= t.limit()) {
		t.audioLeads, leads = true, true
		t.keyed = false // the stall is no keyframe interval
		// A stall that began less than videoStallMS before the limit is
		// told too late to cut here: the segment ends where the video
		// had stopped and the target still held.
		if t.fallback && int64(ts)-int64(t.start) >= t.limit() {
			t.splitAt(t.fallOff, t.fallTS, false, false)
		}
	}
	if elapsed := int64(ts) - int64(t.start); !leads && t.audio && t.open && !t.fallback &&
		elapsed >= t.limit()-audioCutMarginMS && elapsed < t.limit() {
		t.flushAudio() // this frame starts a PES: the segment can be split before it
		t.fallback, t.fallOff, t.fallTS = true, len(t.out.buf), ts
	}
	switch {
	// Publishers send every sequence header before the first frame: audio
	// with no video header yet is an audio-only stream.
	case !t.open && t.avc == nil:
		t.openSegment(ts, false)
	case !t.open:
		return
	case leads && (t.audioWait || int64(ts)-int64(t.start) >= t.audioCut() || len(t.out.buf) >= t.reg.opts.MaxSegmentBytes):
		t.cut(ts, false)
	}
	t.aud.saw = true
	if !t.audio || t.audioWait {
		return
	}
	if t.pendingFrames == 0 {
		t.pendingPTS = ts
	}
	p, err := t.aac.frame(t.pending, payload)
	if err != nil {
		t.warnOnce("bad audio frame", "err", err)
		return
	}
	t.pending, t.segAudio, t.keyClean = p, true, false
	if t.pendingFrames++; t.pendingFrames >= audioFramesPerPES {
		t.flushAudio()
	}
	if leads {
		t.step(ts)
	}
}

// audioConfig takes an AAC sequence header. A new AudioSpecificConfig
// (another sample rate, channel count, profile) changes what the ADTS
// headers say: no segment holds both, and the first with the new one
// follows an #EXT-X-DISCONTINUITY (RFC 8216 4.3.2.3).
func (t *Track) audioConfig(ts uint32, data []byte) {
	if t.aac != nil && bytes.Equal(data, t.aac.raw) {
		return // sent again: nothing changes
	}
	c, err := parseAACConfig(data)
	if err != nil {
		t.warnOnce("bad AAC sequence header", "err", err)
		return
	}
	t.useAudioConfig(ts, c)
}

// useAudioConfig makes c the audio's config from ts on.
func (t *Track) useAudioConfig(ts uint32, c *aacConfig) {
	changed := t.aac != nil && t.audio && t.open
	// Audio joining a video-only publish changes the PMT: the segment
	// ends as for a new config, at a keyframe (see openSegment).
	joined := t.mux != nil && !t.audio && t.open
	first := t.aac == nil && t.cuts == 0
	t.aac = c
	switch {
	case joined && first:
		t.declareAudio()
	case joined:
		t.joinAudio()
	case !changed:
	case !t.segAudio:
		// No audio in the segment yet (it began at the keyframe that
		// came with the new headers): it is the first of the new config.
		t.s.discontinue(t)
	case !t.video || t.audioLeads:
		t.discontinue()
		t.openSegment(ts, false)
	case t.keyClean:
		// The video from the last keyframe on moves to the next segment:
		// an encoder that restarts sends a keyframe first, and ffmpeg
		// sends the new header with the first audio, a frame or two
		// after it.
		t.splitAtKey()
	default:
		// The video goes on: the segment ends at its next keyframe. Until
		// then audio is dropped: before the cut it would mix configs in
		// a segment, after it it would play against the video of the
		// segment before, whose timeline a discontinuity lets players
		// forget. An encoder that restarts sends a keyframe at once.
		t.flushAudio()
		t.audioWait = true
	}
}

// joinAudio makes audio join the open segment's video: the segment ends
// at its last keyframe if one is past its start, which only video follows,
// else at the next one, and audio waits until then.
func (t *Track) joinAudio() {
	t.aud.back()
	if t.keyClean && t.keyTS != t.start {
		t.splitAtKey()
	} else {
		t.audioWait = true
	}
}

// splitAtKey ends the open segment before its last keyframe, which only
// video follows, and starts the next there, after a discontinuity.
func (t *Track) splitAtKey() {
	t.keyOff, t.keyClean = t.splitAt(t.keyOff, t.keyTS, true, true), true
}

// splitAt ends the open segment at offset off of its output, a PES's
// start at ts, and starts the next there, after a discontinuity if disc,
// with the output from off on. It returns where that output now starts.
func (t *Track) splitAt(off int, ts uint32, atKey, disc bool) int {
	t.flushAudio() // pending frames follow off
	// The PAT and PMT the muxer wrote before off stay behind: the next
	// segment starts with its own, which may list other streams.
	off = t.mediaFrom(off)
	rest := slices.Clone(t.out.buf[off:])
	t.out.buf = t.out.buf[:off]
	t.closeSegment(time.Duration(max(int64(ts)-int64(t.start), 0)) * time.Millisecond)
	if disc {
		t.s.discontinue(t)
	}
	t.openSegment(ts, atKey)
	off = len(t.out.buf)
	t.out.buf = append(t.out.buf, rest...)
	return off
}

// mediaFrom is the offset of the first audio or video packet of the open
// segment's output from off on: the tables before it are left out.
func (t *Track) mediaFrom(off int) int {
	for ; off+astits.MpegTsPacketSize <= len(t.out.buf); off += astits.MpegTsPacketSize {
		if pid := uint16(t.out.buf[off+1]&0x1f)<<8 | uint16(t.out.buf[off+2]); pid == pidVideo || pid == pidAudio {
			break
		}
	}
	return off
}

// declareAudio lists the audio in the open segment's PMT when the
// publish's first audio config comes in its first segment (MP3 has no
// sequence header to come before the video; some encoders send AAC's
// late): the segment starts again, with tables that list it, before the
// video it holds, rather than end at the next keyframe.
func (t *Track) declareAudio() {
	off := t.mediaFrom(0)
	// The tables the muxer wrote among the media list no audio: they go,
	// or a demuxer that follows the latest PMT would drop the audio after
	// one. (Their continuity counters then run on from the new tables'.)
	var rest []byte
	var dropped []int // offsets of the packets left out, ascending
	for i := off; i+astits.MpegTsPacketSize <= len(t.out.buf); i += astits.MpegTsPacketSize {
		pkt := t.out.buf[i : i+astits.MpegTsPacketSize]
		if pid := uint16(pkt[1]&0x1f)<<8 | uint16(pkt[2]); pid == pidVideo || pid == pidAudio {
			rest = append(rest, pkt...)
		} else {
			dropped = append(dropped, i)
		}
	}
	// kept is where offset x, from off on, is in rest.
	kept := func(x int) int {
		n := 0
		for _, d := range dropped {
			if d < x {
				n++
			}
		}
		return x - off - n*astits.MpegTsPacketSize
	}
	t.out.buf = t.out.buf[:0]
	t.setStreams(t.video, true)
	if _, err := t.mux.WriteTables(); err != nil {
		t.warnOnce("mpeg-ts tables", "err", err)
	}
	tables := len(t.out.buf)
	t.out.buf = append(t.out.buf, rest...)
	t.keyOff, t.fallOff = tables+kept(t.keyOff), tables+kept(t.fallOff)
}

// due reports whether a segment may end at a keyframe at ts.
func (t *Track) due(ts uint32) bool {
	minMS := t.reg.opts.MinSegment.Milliseconds() * 9 / 10
	return int64(ts)-int64(t.start) >= minMS
}

// early reports whether a segment not yet due ends at a keyframe at ts
// all the same: the next keyframe, as late as the longest recent interval
// between them, would come after the segment outlasts the target. Scene
// cuts and forced keyframes come off the GOP's rhythm so.
func (t *Track) early(ts uint32) bool {
	elapsed := int64(ts) - int64(t.start)
	gop := int64(slices.Max(t.gops[:]))
	if t.keyed {
		// The interval this keyframe ends counts too: the first segment
		// has no other to go by.
		gop = max(gop, int64(ts)-int64(t.keyTS))
	}
	return elapsed > 0 && elapsed+gop >= t.limit()
}

// audioCut is how long, in ms, audio makes a segment when it cuts: the
// minimum, unless a frame past it could round above the target.
func (t *Track) audioCut() int64 {
	return min(t.reg.opts.MinSegment.Milliseconds(), t.limit()-audioCutMarginMS)
}

// limit is how long a segment lasts, in ms, when its EXTINF rounds above
// the target.
func (t *Track) limit() int64 { return int64(t.target)*1000 + 500 }

// noteKey records a keyframe at ts and the interval since the last one.
func (t *Track) noteKey(ts uint32) {
	if t.keyed && ts > t.keyTS {
		t.gops[t.gopPos] = ts - t.keyTS
		t.gopPos = (t.gopPos + 1) % len(t.gops)
	}
	t.keyTS, t.keyed = ts, true
}

// jumped reports whether ts, of the stream that decides cuts, leaves the
// timeline: an encoder restarted without reconnecting, a source switched
// upstream, the 32-bit RTMP clock wrapped.
func (t *Track) jumped(ts uint32) bool {
	d := int64(ts) - int64(t.last)
	return t.stepped && (d < -maxStepBackMS || d > maxGapMS)
}

// discontinue ends the open segment where its media ends and makes the
// next one start after an #EXT-X-DISCONTINUITY.
func (t *Track) discontinue() {
	t.closeSegment(t.tail())
	t.s.discontinue(t)
	t.stepped, t.keyed = false, false
}

// tail is the open segment's duration up to its last frame's end.
func (t *Track) tail() time.Duration {
	return time.Duration(max(int64(t.last)-int64(t.start)+int64(t.delta), 0)) * time.Millisecond
}

// step records the timestamp of the stream that decides cuts.
func (t *Track) step(ts uint32) {
	if t.stepped && ts > t.last {
		t.delta = ts - t.last
	}
	t.last, t.stepped = ts, true
}

// openSegment starts a segment at ts, at a video keyframe if atKey. Its
// PMT lists the streams that have a sequence header, but video only from
// a keyframe on: a track that joins or leaves changes the number of
// tracks, and the segment follows an #EXT-X-DISCONTINUITY (RFC 8216
// 4.3.2.3) with a new PMT version (ISO 13818-1 2.4.4.9), which players
// reparse, as they do not a PMT that changes within a segment. A track
// missing for trackGone leaves so (see presence).
func (t *Track) openSegment(ts uint32, atKey bool) {
	for _, p := range []struct {
		name string
		p    *presence
		on   bool
	}{{"video", &t.vid, t.video}, {"audio", &t.aud, t.audio}} {
		if p.p.leaves(p.on) {
			t.log.Info("hls: a track stopped: the next segments leave it out until it comes back", "track", p.name, "missing", p.p.absent)
		}
	}
	if t.setStreams(t.avc != nil && (atKey || t.video) && !t.vid.gone, t.aac != nil && !t.aud.gone) {
		t.s.discontinue(t)
	}
	// Each segment starts with PAT and PMT, so it decodes on its own even
	// when cut at a frame that is not a keyframe (where the muxer would not).
	if _, err := t.mux.WriteTables(); err != nil {
		t.warnOnce("mpeg-ts tables", "err", err)
	}
	t.open, t.start = true, ts
	t.segAudio, t.audioWait, t.keyClean, t.fallback = false, false, false, false
}

// setStreams makes the muxer's elementary streams video and audio, and
// reports whether they changed.
func (t *Track) setStreams(video, audio bool) bool {
	audioType := t.audioType
	if audio {
		audioType = t.aac.streamType
	}
	// Another audio codec (AAC and MP3) is another stream of the PID.
	retyped := audio && t.audio && audioType != t.audioType
	fresh := t.mux == nil
	if fresh {
		t.mux = astits.NewMuxer(context.Background(), &t.out)
	} else if video == t.video && audio == t.audio && !retyped {
		return false
	}
	if retyped {
		if err := t.mux.RemoveElementaryStream(pidAudio); err != nil {
			t.warnOnce("mpeg-ts streams", "err", err)
		}
	}
	for _, es := range []struct {
		on, was bool
		pid     uint16
		typ     astits.StreamType
		resync  uint8
	}{{video, t.video, pidVideo, astits.StreamTypeH264Video, resyncVideo}, {audio, t.audio && !retyped, pidAudio, audioType, resyncAudio}} {
		var err error
		switch {
		case es.on && !es.was:
			err = t.mux.AddElementaryStream(astits.PMTElementaryStream{ElementaryPID: es.pid, StreamType: es.typ})
			if !fresh {
				// A stream added again (a track back, another audio
				// codec) starts its continuity counter again.
				t.resync |= es.resync
			}
		case !es.on && es.was:
			err = t.mux.RemoveElementaryStream(es.pid)
		}
		if err != nil {
			t.warnOnce("mpeg-ts streams", "err", err)
		}
	}
	pcr := pidAudio
	if video {
		pcr = pidVideo
	}
	t.mux.SetPCRPID(pcr)
	t.video, t.audio, t.audioType = video, audio, audioType
	return true
}

// cut ends the open segment at ts and starts the next there, after a
// discontinuity if the audio's config changed meanwhile.
func (t *Track) cut(ts uint32, atKey bool) {
	t.closeSegment(time.Duration(max(int64(ts)-int64(t.start), 0)) * time.Millisecond)
	if t.audioWait {
		t.s.discontinue(t)
	}
	t.openSegment(ts, atKey)
}

func (t *Track) closeSegment(dur time.Duration) {
	t.flushAudio()
	v, a := t.vid.saw, t.aud.saw
	t.vid.closed(dur, a)
	t.aud.closed(dur, v)
	data := t.out.buf
	t.out.buf = make([]byte, 0, len(data)+len(data)/8)
	t.cuts++
	target, raised := t.s.add(t, data, dur)
	if raised {
		t.log.Warn("hls: EXT-X-TARGETDURATION raised: no keyframe came in time to end the segment, and players may not follow a target that changes (RFC 8216 6.2.1); keep the publisher's keyframe interval within the target",
			"segment", dur, "target", target, "was", t.target)
	}
	t.target = target
	t.open = false
}

func (t *Track) flushAudio() {
	if t.pendingFrames == 0 {
		return
	}
	t.write(pidAudio, &astits.PESOptionalHeader{
		PTSDTSIndicator:        astits.PTSDTSIndicatorOnlyPTS,
		PTS:                    &astits.ClockReference{Base: ts90(int64(t.pendingPTS))},
		DataAlignmentIndicator: true,
	}, false, t.pending)
	t.pending, t.pendingFrames = t.pending[:0], 0
}

// Elementary streams in Track.resync.
const (
	resyncVideo uint8 = 1 << iota
	resyncAudio
)

// write muxes one PES; the stream carrying the clock gets a PCR with it.
func (t *Track) write(pid uint16, h *astits.PESOptionalHeader, key bool, data []byte) {
	d := &astits.MuxerData{PID: pid, PES: &astits.PESData{Header: &astits.PESHeader{OptionalHeader: h}, Data: data}}
	if pid == pidVideo || !t.video {
		pcr := h.DTS
		if pcr == nil {
			pcr = h.PTS
		}
		d.AdaptationField = &astits.PacketAdaptationField{HasPCR: true, PCR: &astits.ClockReference{Base: (pcr.Base - tsOffset) & (1<<33 - 1)}, RandomAccessIndicator: key}
	}
	if t.resync != 0 {
		t.markResync(pid, d)
	}
	if _, err := t.mux.WriteData(d); err != nil {
		t.warnOnce("mpeg-ts mux", "err", err)
	}
}

// markResync sets the discontinuity_indicator on d's first packet if its
// stream is to resync. A demuxer reading the segments one after another
// (ffmpeg, and so mpv) checks the continuity counter of each PID across
// them: a new publish's muxer starts them again at 0, and without the
// indicator ffmpeg marks the last frame of the publish before as corrupt
// (ffmpeg -xerror stops there). On the PCR's PID it also says the time
// base starts again, as it does after a republish or a timestamp jump.
func (t *Track) markResync(pid uint16, d *astits.MuxerData) {
	bit := resyncAudio
	if pid == pidVideo {
		bit = resyncVideo
	}
	if t.resync&bit == 0 {
		return
	}
	t.resync &^= bit
	if d.AdaptationField == nil {
		d.AdaptationField = &astits.PacketAdaptationField{}
	}
	d.AdaptationField.DiscontinuityIndicator = true
}

// End finishes the last segment and ends the playlist.
func (t *Track) End() {
	if t.ended {
		return
	}
	t.ended = true
	if t.open {
		t.closeSegment(t.tail())
	}
	if gen, ok := t.s.end(t); ok {
		t.reg.ended(t.key, t.s, gen)
	}
}

func (t *Track) warnOnce(msg string, args ...any) {
	if !t.warned[msg] {
		t.warned[msg] = true
		t.log.Warn("hls: "+msg, args...)
	}
}

// ts90 turns milliseconds into 90 kHz MPEG-TS time, after tsOffset, in 33 bits.
func ts90(ms int64) int64 { return (ms*90 + tsOffset) & (1<<33 - 1) }
