package hls

import (
	"fmt"
	"math"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// segment is one finished MPEG-TS segment; what readers see of it (seq,
// data) never changes.
type segment struct {
	seq  uint64
	dur  time.Duration
	data []byte
	// discontinuity marks a segment that does not continue the one before
	// (a republish, a timestamp jump, new coding parameters); discSeq
	// counts the discontinuities up to and including this segment.
	discontinuity bool
	discSeq       uint64
	// start is the wall-clock time of the segment's first frame, for
	// EXT-X-PROGRAM-DATE-TIME: the time it was added less its duration
	// for the first segment and one after a discontinuity, else where
	// the segment before ended, so the dates follow the EXTINFs.
	start time.Time
	// The stream's bookkeeping, under its mu: the duration of the longest
	// playlist that listed the segment, and the stream's clock when the
	// segment left the playlist.
	longest time.Duration
	leftAt  time.Duration
}

// view is what readers see of a stream: replaced whole, never changed, so
// HTTP requests read it without a lock while the track writes.
type view struct {
	playlist []byte // nil until the first segment is complete
	segs     []*segment
}

// stream is one live stream's playlist state, shared by its publishes.
type stream struct {
	view atomic.Pointer[view]

	mu       sync.Mutex
	window   int
	listed   int    // how many of segs the playlist lists
	owner    *Track // the publish feeding it, nil once ended
	gen      uint64 // counts publishes, to tell a lingering end from a new one
	segs     []*segment
	nextSeq  uint64
	discSeq  uint64
	discNext bool
	// target is EXT-X-TARGETDURATION: MinSegment rounded, or the first
	// segment's length if longer; after that it only grows when it must
	// (see add).
	target int
	// minTarget is target as the stream began: a playlist started anew
	// begins with it again.
	minTarget int
	ended     bool
	// clock is the stream's time: the durations of the segments added,
	// which come in real time.
	clock time.Duration
}

func newStream(window int, firstSeq uint64, target int) *stream {
	s := &stream{window: window, nextSeq: firstSeq, target: target, minTarget: target}
	s.view.Store(&view{})
	return s
}

// clockSeq is a new stream's first segment number: the clock in tenths of
// a second, so that a stream published again, even by a restarted node,
// does not reuse a segment URL that caches may hold for a day (within a
// process the registry also remembers the numbers it gave).
func clockSeq(now time.Time) uint64 { return uint64(now.UnixMilli() / 100) }

// claim makes t the stream's publisher; a republish continues the
// sequence after a discontinuity. It returns the target duration, and
// whether t continues segments of an earlier publish.
//
// A publish after the playlist ended (#EXT-X-ENDLIST: the publisher was
// away longer than ReconnectWait) starts an empty one: its viewers have
// stopped, and one who comes now would start, three target durations from
// the end, in the last seconds of the old publish, up to Linger old. The
// old segments leave the playlist (servable a while yet, as for any that
// leaves), numbers go on, and readers keep the ended playlist until the
// new publish's first segment is complete, as before a first publish.
func (s *stream) claim(t *Track) (target int, continues bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owner = t
	s.gen++
	s.discNext = len(s.segs) > 0
	if s.ended {
		s.ended = false
		for _, seg := range s.segs[len(s.segs)-s.listed:] {
			seg.leftAt = s.clock
		}
		s.listed = 0
		// A target an old GOP raised is not the new playlist's.
		s.target = s.minTarget
		return s.target, s.discNext
	}
	s.publish()
	return s.target, s.discNext
}

// add appends a finished segment of t, unless another publish took over.
// It returns the target duration, and whether this segment raised it
// after a playlist was served.
//
// RFC 8216 says the target MUST NOT change (6.2.1) and that no EXTINF may
// round above it (4.3.3.1). The track cuts segments so that both hold
// whenever the publisher sends a keyframe in time; when none comes (a GOP
// longer than the target) the segment cannot end earlier without making
// the next start on a frame that needs the ones before, so the target is
// raised, as MediaMTX does: a playlist that lists a segment longer than
// its target misleads players about how far from its end they may start
// and how long a reload may stay unchanged. ffmpeg's muxer goes further
// and takes the longest listed segment, also lowering the target.
func (s *stream) add(t *Track, data []byte, dur time.Duration) (target int, raised bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner != t {
		return s.target, false
	}
	seg := &segment{seq: s.nextSeq, dur: dur, data: data}
	s.nextSeq++
	if s.discNext {
		seg.discontinuity, s.discNext = true, false
		s.discSeq++
	}
	seg.discSeq = s.discSeq
	if prev := len(s.segs) - 1; prev < 0 || seg.discontinuity {
		seg.start = time.Now().Add(-dur)
	} else {
		seg.start = s.segs[prev].start.Add(s.segs[prev].dur)
	}
	before := s.target
	s.target = max(s.target, int(math.Round(dur.Seconds())))
	raised = s.target > before && len(s.segs) > 0
	// The window, and older segments while it lasts less than three
	// target durations (RFC 8216 6.2.2: after a long segment raised the
	// target), up to three windows; never one the last playlist had
	// dropped (6.2.1: segments leave from the front only).
	n, d := 1, dur
	for all := len(s.segs) + 1; n < all && n <= s.listed && n < 3*s.window && (n < s.window || d < 3*time.Duration(s.target)*time.Second); n++ {
		d += s.segs[len(s.segs)-n].dur
	}
	s.clock += dur
	old := s.segs
	for _, gone := range old[len(old)-s.listed : len(old)-(n-1)] {
		gone.leftAt = s.clock
	}
	seg.longest = d // the new playlist's duration
	for _, listed := range old[len(old)-(n-1):] {
		listed.longest = max(listed.longest, d)
	}
	// A segment that left stays servable "for a period of time equal to
	// the duration of the segment plus the duration of the longest
	// Playlist file distributed by the server containing that segment"
	// (RFC 8216 6.2.2): a viewer may have read, a moment before, a
	// playlist that starts with it. Time is the stream's own, checked as
	// segments come; they go from the front.
	drop := 0
	for drop < len(old)-(n-1) && s.clock-old[drop].leftAt >= old[drop].dur+old[drop].longest {
		drop++
	}
	// A fresh slice: readers hold the old one.
	s.segs = append(append(make([]*segment, 0, len(old)-drop+1), old[drop:]...), seg)
	s.listed = n
	s.publish()
	return s.target, raised
}

// discontinue makes t's next segment start after a discontinuity.
func (s *stream) discontinue(t *Track) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner == t && len(s.segs) > 0 {
		s.discNext = true
	}
}

// end closes t's publish; the playlist ends later (close) unless another
// publish comes first. It returns the publish generation and whether t
// still owned the stream.
func (s *stream) end(t *Track) (uint64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner != t {
		return 0, false
	}
	s.owner = nil
	return s.gen, true
}

// close gives the playlist #EXT-X-ENDLIST if nobody published since the
// end of publish gen.
func (s *stream) close(gen uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner == nil && s.gen == gen && !s.ended {
		s.ended = true
		s.publish()
	}
}

// idleSince reports whether nobody published since the end of publish
// gen, and the next segment number.
func (s *stream) idleSince(gen uint64) (next uint64, idle bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nextSeq, s.owner == nil && s.gen == gen
}

// publish renders the playlist for readers; s.mu is held. With no segment
// listed (none yet, or a publish after the end has none complete) readers
// keep the playlist they had.
func (s *stream) publish() {
	v := &view{segs: s.segs, playlist: s.view.Load().playlist}
	if s.listed > 0 {
		v.playlist = s.render()
	}
	s.view.Store(v)
}

// programDateTime is EXT-X-PROGRAM-DATE-TIME's ISO 8601 form, in UTC with
// milliseconds (RFC 8216 4.3.2.6).
const programDateTime = "2006-01-02T15:04:05.000Z"

// render writes the live playlist by hand: it is a dozen lines, rebuilt
// once per segment, and the RFC 8216 rules that matter here (target
// duration never below a rounded EXTINF, the discontinuity sequence of a
// sliding window, segments kept past the window) are this packager's.
func (s *stream) render() []byte {
	listed := s.segs[len(s.segs)-s.listed:]
	b := make([]byte, 0, 128+40*len(listed))
	b = fmt.Appendf(b, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:%d\n", s.target, listed[0].seq)
	// A segment keeps its tag while listed, also when first (6.2.1 lets
	// tags go only with their segment); the sequence counts the tags of
	// the segments that left (6.2.2), so each segment's number holds.
	d := listed[0].discSeq
	if listed[0].discontinuity {
		d--
	}
	if d > 0 {
		b = fmt.Appendf(b, "#EXT-X-DISCONTINUITY-SEQUENCE:%d\n", d)
	}
	for i, seg := range listed {
		if seg.discontinuity {
			b = append(b, "#EXT-X-DISCONTINUITY\n"...)
		}
		// The date of the first segment and of each after a
		// discontinuity (RFC 8216 6.2.1: "it SHOULD apply an
		// EXT-X-PROGRAM-DATE-TIME tag to every segment that has an
		// EXT-X-DISCONTINUITY tag applied to it"); players count on from
		// it with the EXTINFs.
		if i == 0 || seg.discontinuity {
			b = append(b, "#EXT-X-PROGRAM-DATE-TIME:"...)
			b = seg.start.UTC().AppendFormat(b, programDateTime)
			b = append(b, '\n')
		}
		b = fmt.Appendf(b, "#EXTINF:%.3f,\n", seg.dur.Seconds())
		b = strconv.AppendUint(b, seg.seq, 10)
		b = append(b, ".ts\n"...)
	}
	if s.ended {
		b = append(b, "#EXT-X-ENDLIST\n"...)
	}
	return b
}
