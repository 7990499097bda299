// Package hls packages live RTMP publishes as HLS: MPEG-TS segments cut at
// keyframes and a live playlist with a rolling window, kept in memory and
// served to web viewers through a distribution's live origin.
package hls

import (
	"log/slog"
	"math"
	"sync"
	"time"
)

// Options tune the packager; zero values take the defaults.
type Options struct {
	// Window is how many segments the live playlist lists (default 6),
	// up to three times as many while they last less than three target
	// durations.
	Window int
	// MinSegment is the usual shortest segment: a segment ends at the
	// first keyframe at least this long after its start, less 10% for
	// timestamp rounding (default 2 s). Segments follow the GOP: a 2 s GOP
	// gives 2 s segments, a 1 s GOP 2 s ones too, a 4 s GOP 4 s ones.
	// EXT-X-TARGETDURATION is MinSegment rounded, or the first segment's
	// duration if longer, and holds for the playlist's life: a segment
	// ends early, at a keyframe or in a video stall, when going on to the
	// next keyframe would outlast the target; only a GOP longer than the
	// target raises it (see stream.add). Audio leading (no video, or
	// video stalled) cuts at MinSegment, or 0.1 s before it would round
	// above the target if that comes first.
	MinSegment time.Duration
	// MaxSegmentBytes bounds a segment's memory when keyframes stop
	// coming: the segment is cut at the next frame (default 32 MiB).
	MaxSegmentBytes int
	// ReconnectWait is how long the playlist of a stream whose publisher
	// stopped waits for a publish again before it gets #EXT-X-ENDLIST
	// (default 5 s; negative: at once). Players (hls.js, Safari, ffmpeg,
	// VLC) stop reloading a playlist once it has #EXT-X-ENDLIST, so an
	// encoder that reconnects after a network drop would otherwise end
	// every viewer's playback; within the wait, the publish continues the
	// playlist after #EXT-X-DISCONTINUITY and viewers never see an end.
	ReconnectWait time.Duration
	// Linger is how long an ended stream stays servable, with
	// #EXT-X-ENDLIST, before it is forgotten (default 10 min, counted
	// from the publisher's stop).
	Linger time.Duration
	Log    *slog.Logger
}

func (o *Options) defaults() {
	if o.Window <= 0 {
		o.Window = 6
	}
	if o.MinSegment <= 0 {
		o.MinSegment = 2 * time.Second
	}
	if o.MaxSegmentBytes <= 0 {
		o.MaxSegmentBytes = 32 << 20
	}
	if o.ReconnectWait == 0 {
		o.ReconnectWait = 5 * time.Second
	}
	if o.Linger <= 0 {
		o.Linger = 10 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
}

// LiveTrack is one publish as the RTMP server feeds it. It is an alias, not
// a defined type, so that Registry also satisfies an interface declared
// elsewhere with the same method set in an alias.
type LiveTrack = interface {
	Media(typeID uint8, timestampMS uint32, body []byte)
	End()
}

// Registry holds the live streams of every streaming distribution.
type Registry struct {
	opts    Options
	mu      sync.RWMutex
	streams map[streamKey]*stream
	// seqFloor is above every segment number of the forgotten streams.
	seqFloor uint64
}

type streamKey struct{ distribution, name string }

// NewRegistry returns an empty registry.
func NewRegistry(opts Options) *Registry {
	opts.defaults()
	return &Registry{opts: opts, streams: map[streamKey]*stream{}}
}

// Publish starts packaging streaming distribution distribution's live
// stream name. A republish of a name continues its playlist after an
// #EXT-X-DISCONTINUITY; a second publish while one is live takes over.
func (r *Registry) Publish(distribution, name string) LiveTrack {
	k := streamKey{distribution, name}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.streams[k]
	if s == nil {
		s = newStream(r.opts.Window, max(clockSeq(time.Now()), r.seqFloor), max(int(math.Round(r.opts.MinSegment.Seconds())), 1))
		r.streams[k] = s
	}
	t := newTrack(r, k, s)
	var continues bool
	t.target, continues = s.claim(t)
	if continues {
		t.resync = resyncVideo | resyncAudio
	}
	return t
}

// Playlist returns the stream's live playlist; ok is false for an unknown
// stream or one that has no complete segment yet.
func (r *Registry) Playlist(distribution, name string) (playlist []byte, ok bool) {
	s := r.stream(distribution, name)
	if s == nil {
		return nil, false
	}
	v := s.view.Load()
	return v.playlist, v.playlist != nil
}

// Segment returns segment seq of the stream, while it is listed and, once
// it has left the playlist, for its own duration plus that of the longest
// playlist that listed it, as RFC 8216 6.2.2 asks.
func (r *Registry) Segment(distribution, name string, seq uint64) (ts []byte, ok bool) {
	s := r.stream(distribution, name)
	if s == nil {
		return nil, false
	}
	for _, seg := range s.view.Load().segs {
		if seg.seq == seq {
			return seg.data, true
		}
	}
	return nil, false
}

func (r *Registry) stream(distribution, name string) *stream {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.streams[streamKey{distribution, name}]
}

// ended ends s's playlist after the reconnect wait and forgets s after
// the linger time, unless it was published again.
func (r *Registry) ended(k streamKey, s *stream, gen uint64) {
	if r.opts.ReconnectWait < 0 {
		s.close(gen)
	} else {
		time.AfterFunc(r.opts.ReconnectWait, func() { s.close(gen) })
	}
	time.AfterFunc(r.opts.Linger, func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if next, idle := s.idleSince(gen); idle && r.streams[k] == s {
			delete(r.streams, k)
			r.seqFloor = max(r.seqFloor, next)
		}
	})
}
