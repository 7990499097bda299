package rtmp

import (
	"errors"
	"sync"
	"time"
)

// LiveSink receives each live publish (the HLS packager implements it).
type LiveSink interface {
	// Publish is called when a publisher starts streaming distribution
	// `distribution`'s live stream `name`.
	Publish(distribution, name string) LiveTrack
}

// LiveTrack receives one publish's media, on the publisher's read loop: it
// must not block. It is an alias of an interface literal, not a defined
// type, so that a sink declared elsewhere with the same literal (hls.Registry,
// whose Publish returns hls.LiveTrack) satisfies LiveSink as it is.
type LiveTrack = interface {
	// Media gets every audio (typeID 8) or video (typeID 9) message body, an
	// FLV tag body exactly as RTMP carries it, sequence headers included,
	// with the message timestamp in milliseconds. body is immutable and may
	// be retained.
	Media(typeID uint8, timestampMS uint32, body []byte)
	End() // called once when the publisher stops or is cut off
}

// media is one published message, shared by every player (never copied).
type media struct {
	typeID uint8
	ts     uint32
	body   []byte
	off    int64 // bytes published before it: how far behind a reader is
}

type streamKey struct{ dist, name string }

// hub holds the live streams that have a publisher or waiting players.
type hub struct {
	srv     *Server
	mu      sync.Mutex
	streams map[streamKey]*liveStream
}

func newHub(s *Server) *hub { return &hub{srv: s, streams: map[streamKey]*liveStream{}} }

// liveStream is one live stream: the publisher's recent messages, from the
// previous keyframe on (the GOP cache), read by every player.
type liveStream struct {
	hub *hub
	key streamKey

	mu   sync.RWMutex
	gen  uint64 // changes on every publish and unpublish
	live bool
	meta []byte // onMetaData body from @setDataFrame
	avc  *media // sequence headers, for players joining mid-stream
	aac  *media
	msgs []*media
	base uint64 // sequence number of msgs[0]
	// keySeq is the latest keyframe (of video, or any audio message in an
	// audio-only stream): where a new or lagging player starts.
	keySeq   uint64
	hasKey   bool
	hasVideo bool
	total    int64
	players  []*livePlayer // replaced, never modified: push reads it unlocked
	// pub is the publisher while live; lastMedia is when it last sent
	// media (or began), for a new publish to tell a dead one (gone).
	pub       *publisher
	lastMedia time.Time
}

// errBusy: the stream already has a publisher.
var errBusy = errors.New("stream is already being published")

func (h *hub) stream(dist, name string) *liveStream {
	k := streamKey{dist, name}
	st := h.streams[k]
	if st == nil {
		st = &liveStream{hub: h, key: k}
		h.streams[k] = st
	}
	return st
}

// publish starts a publish of dist/name for session ss. A stream has one
// publisher: a second is refused, unless the first has sent nothing for
// Config.SilentPublisher. That one is taken for dead (an encoder whose
// network dropped, reconnecting with the same stream key, which a
// connection that died without closing held for IdleTimeout) and cut off.
func (h *hub) publish(ss *session, sid uint32, name string) (*publisher, error) {
	for retried := false; ; retried = true {
		p := &publisher{sid: sid, ss: ss, ended: make(chan struct{})}
		now := h.srv.cfg.Now()
		h.mu.Lock()
		st := h.stream(ss.dist.ID, name)
		p.st = st
		st.mu.Lock()
		busy := st.live
		var gone *publisher
		silent := now.Sub(st.lastMedia)
		if !busy {
			st.live, st.pub, st.lastMedia = true, p, now
			st.gen++
			st.meta, st.avc, st.aac, st.msgs, st.hasKey, st.hasVideo = nil, nil, nil, nil, false, false
		} else if !retried && st.pub != nil && silent >= h.srv.cfg.SilentPublisher {
			gone = st.pub
		}
		players := st.players
		st.mu.Unlock()
		h.mu.Unlock()
		if gone != nil {
			ss.log.Info("rtmp: a silent publisher gives way to a new one", "distribution", ss.dist.ID, "stream", name, "silent", silent.Round(time.Millisecond), "remote", gone.ss.nc.RemoteAddr().String())
			gone.ss.close() // its read loop ends the publish (OnClose)
			select {
			case <-gone.ended:
			case <-time.After(h.srv.cfg.HandshakeTimeout):
			}
			continue
		}
		if busy {
			return nil, errBusy
		}
		if sink := h.srv.cfg.Live; sink != nil {
			p.track = sink.Publish(ss.dist.ID, name)
		}
		for _, pl := range players {
			pl.notify()
		}
		return p, nil
	}
}

// subscribe adds a player of dist/name; it waits if nothing is published yet.
func (h *hub) subscribe(ss *session, sid uint32, name string) *livePlayer {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.stream(ss.dist.ID, name)
	p := newLivePlayer(st, ss, sid)
	st.mu.Lock()
	st.players = append(st.players[:len(st.players):len(st.players)], p)
	st.mu.Unlock()
	return p
}

// remove drops a player, and the stream once nobody uses it.
func (st *liveStream) remove(p *livePlayer) {
	h := st.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	st.mu.Lock()
	players := make([]*livePlayer, 0, len(st.players))
	for _, q := range st.players {
		if q != p {
			players = append(players, q)
		}
	}
	st.players = players
	unused := len(players) == 0 && !st.live
	st.mu.Unlock()
	if unused && h.streams[st.key] == st {
		delete(h.streams, st.key)
	}
}

// push appends a published message and wakes the players.
func (st *liveStream) push(m *media) {
	st.mu.Lock()
	seq := st.base + uint64(len(st.msgs))
	m.off = st.total
	st.total += int64(len(m.body))
	key := false
	switch {
	case isSequenceHeader(m.typeID, m.body):
		if m.typeID == typeVideo {
			st.avc = m
		} else {
			st.aac = m
		}
	case m.typeID == typeVideo:
		st.hasVideo = true
		key = isVideoKeyframe(m.body)
	case m.typeID == typeAudio:
		key = !st.hasVideo
	}
	if key {
		// Keep the previous GOP for players a little behind, drop the rest.
		if st.hasKey && st.keySeq > st.base && (st.hasVideo || len(st.msgs) > 256) {
			st.msgs = append([]*media(nil), st.msgs[st.keySeq-st.base:]...)
			st.base = st.keySeq
		}
		st.keySeq, st.hasKey = seq, true
	}
	st.msgs = append(st.msgs, m)
	st.lastMedia = st.hub.srv.cfg.Now()
	st.bound()
	players := st.players
	st.mu.Unlock()
	for _, p := range players {
		p.notify()
	}
}

// keptQueues bounds a stream's cache to that many PlayerQueues: room for
// two long GOPs of a high bitrate (8 s at 16 Mbit/s by default).
const keptQueues = 8

// bound drops the oldest messages beyond the cache's bound: without
// keyframes (intra refresh, a broken encoder) nothing else trims it. A
// dropped keyframe is no start: new players then start at the head.
// st.mu is held.
func (st *liveStream) bound() {
	limit := int64(keptQueues * st.hub.srv.cfg.PlayerQueue)
	k := 0
	for k < len(st.msgs)-1 && st.total-st.msgs[k].off > limit {
		k++
	}
	if k == 0 {
		return
	}
	clear(st.msgs[:k]) // the bodies go now, not when the array is next copied
	st.msgs = st.msgs[k:]
	st.base += uint64(k)
	if st.keySeq < st.base {
		st.hasKey = false
	}
}

func (st *liveStream) unpublish() {
	st.hub.mu.Lock()
	st.mu.Lock()
	st.live, st.pub = false, nil
	st.gen++
	st.meta, st.avc, st.aac, st.msgs, st.hasKey = nil, nil, nil, nil, false
	players := st.players
	if len(players) == 0 && st.hub.streams[st.key] == st {
		delete(st.hub.streams, st.key)
	}
	st.mu.Unlock()
	st.hub.mu.Unlock()
	for _, p := range players {
		p.notify()
	}
}

// publisher is a session's publish of a live stream.
type publisher struct {
	st    *liveStream
	sid   uint32
	ss    *session
	track LiveTrack
	once  sync.Once
	ended chan struct{} // closed once the publish has ended
}

func (p *publisher) media(typeID uint8, ts uint32, body []byte) {
	p.st.push(&media{typeID: typeID, ts: ts, body: body})
	if p.track != nil {
		p.track.Media(typeID, ts, body)
	}
}

func (p *publisher) metadata(payload []byte) {
	b := append([]byte(nil), payload...)
	p.st.mu.Lock()
	p.st.meta = b
	p.st.mu.Unlock()
}

func (p *publisher) end() {
	p.once.Do(func() {
		p.st.unpublish()
		if p.track != nil {
			p.track.End()
		}
		close(p.ended)
	})
}

// players counts the players of a stream (tests and status).
func (h *hub) players(dist, name string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	st := h.streams[streamKey{dist, name}]
	if st == nil {
		return 0
	}
	st.mu.RLock()
	defer st.mu.RUnlock()
	return len(st.players)
}
