package rtmp

import (
	"sync"
	"sync/atomic"
	"time"

	rtmp "github.com/yutopp/go-rtmp"
)

// maxBatch bounds the messages one write takes, and so a player's memory.
const maxBatch = 256

// livePlayer sends a live stream to one player. The publisher only wakes it;
// it reads the shared messages itself, at most one write per FlushInterval,
// so a slow player never holds up the publisher or the others.
type livePlayer struct {
	st   *liveStream
	ss   *session
	sid  uint32
	wake chan struct{}
	quit chan struct{}
	once sync.Once
	// Set by the session, answered by run: so that the replies keep
	// their place among the media.
	pauseReq atomic.Bool
	seeks    atomic.Int32

	// Owned by run.
	gen         uint64
	paused      bool
	playing     bool
	played      bool
	needHeaders bool
	next        uint64
	batch       []rtmp.RawMessage
}

func newLivePlayer(st *liveStream, ss *session, sid uint32) *livePlayer {
	return &livePlayer{st: st, ss: ss, sid: sid, wake: make(chan struct{}, 1), quit: make(chan struct{})}
}

func (p *livePlayer) notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// pause holds (on) or resumes the play, as Flash Media Server does a live
// one: nothing is sent while paused, and unpause goes on at the live
// point, not where the pause left off.
func (p *livePlayer) pause(on bool) {
	p.pauseReq.Store(on)
	p.notify()
}

// seek is refused: a live stream has no past to go to (Flash Media Server
// answers NetStream.Seek.Failed, the stream not being seekable).
func (p *livePlayer) seek() {
	p.seeks.Add(1)
	p.notify()
}

func (p *livePlayer) start() {
	p.ss.srv.wg.Add(1)
	go p.run()
}

func (p *livePlayer) stop() {
	p.once.Do(func() {
		close(p.quit)
		p.st.remove(p)
	})
}

func (p *livePlayer) run() {
	srv := p.ss.srv
	defer srv.wg.Done()
	gauge := srv.metrics.players.WithLabelValues(p.st.key.dist, "live")
	gauge.Inc()
	defer gauge.Dec()
	skipped := srv.metrics.skipped.WithLabelValues(p.st.key.dist)

	pause := time.NewTimer(0)
	defer pause.Stop()
	// A player waiting for a publisher gets pings, which keep it (and its
	// replies) within the idle timeout.
	keepalive := time.NewTicker(srv.cfg.IdleTimeout / 3)
	defer keepalive.Stop()
	for {
		n := p.collect(skipped)
		if len(p.batch) > 0 {
			err := p.ss.conn.WriteRaw(p.batch)
			clear(p.batch) // drop references to bodies the stream may trim
			p.batch = p.batch[:0]
			if err != nil {
				p.ss.close()
				return
			}
			p.ss.account()
			if n == maxBatch {
				continue // more is waiting: no pause
			}
			pause.Reset(srv.cfg.FlushInterval)
			select {
			case <-pause.C:
			case <-p.quit:
				return
			case <-p.ss.done:
				return
			}
			continue
		}
		select {
		case <-p.wake:
		case <-keepalive.C:
			if !p.playing || time.Since(time.Unix(0, p.ss.nc.lastWrite.Load())) > srv.cfg.IdleTimeout/3 {
				p.batch = append(p.batch, userControl(ucPingRequest, uint32(time.Now().UnixMilli())))
			}
		case <-p.quit:
			return
		case <-p.ss.done:
			return
		}
	}
}

// collect appends what the player should get next to p.batch and returns
// how many media messages it took.
func (p *livePlayer) collect(skipped interface{ Add(float64) }) int {
	st := p.st
	st.mu.RLock()
	defer st.mu.RUnlock()
	for n := p.seeks.Swap(0); n > 0; n-- {
		p.batch = append(p.batch, onStatus(p.sid, "error", codeSeekFailed, "Cannot seek: "+st.key.name+" is live."))
	}
	if on := p.pauseReq.Load(); on != p.paused {
		p.paused = on
		if on {
			p.batch = append(p.batch, onStatus(p.sid, "status", "NetStream.Pause.Notify", "Paused live stream "+st.key.name+"."))
		} else {
			p.batch = append(p.batch, onStatus(p.sid, "status", "NetStream.Unpause.Notify", "Unpaused live stream "+st.key.name+"."))
			// The live point: the last keyframe, with the headers before it.
			p.next, p.needHeaders = st.base+uint64(len(st.msgs)), true
			if st.hasKey {
				p.next = st.keySeq
			}
		}
	}
	if p.gen != st.gen {
		if p.playing {
			p.batch = append(p.batch,
				onStatus(p.sid, "status", "NetStream.Play.UnpublishNotify", st.key.name+" is now unpublished."),
				userControl(ucStreamEOF, p.sid))
			p.playing = false
		}
		p.gen = st.gen
		if st.live {
			if p.played {
				p.batch = append(p.batch, userControl(ucStreamBegin, p.sid),
					onStatus(p.sid, "status", "NetStream.Play.PublishNotify", st.key.name+" is now published."))
			}
			p.playing, p.played, p.needHeaders = true, true, true
			p.next = st.base + uint64(len(st.msgs))
			if st.hasKey {
				p.next = st.keySeq
			}
		}
	}
	if !p.playing || p.paused {
		return 0
	}
	head := st.base + uint64(len(st.msgs))
	if p.next < head {
		behind := p.next < st.base || st.total-st.msgs[p.next-st.base].off > int64(p.st.hub.srv.cfg.PlayerQueue)
		if behind && st.hasKey && st.keySeq > p.next {
			skipped.Add(float64(st.keySeq - p.next))
			p.next = st.keySeq
			p.needHeaders = true
		} else if p.next < st.base { // no keyframe to go to: the oldest kept
			skipped.Add(float64(st.base - p.next))
			p.next = st.base
		}
	}
	if p.needHeaders && p.next < head {
		ts := st.msgs[p.next-st.base].ts
		p.batch = append(p.batch, sampleAccess(p.sid))
		if st.meta != nil {
			p.batch = append(p.batch, mediaMessage(p.sid, typeDataAMF0, ts, st.meta))
		}
		for _, h := range []*media{st.avc, st.aac} {
			if h != nil {
				p.batch = append(p.batch, mediaMessage(p.sid, h.typeID, ts, h.body))
			}
		}
		p.needHeaders = false
	}
	n := 0
	for ; p.next < head && n < maxBatch; p.next++ {
		m := st.msgs[p.next-st.base]
		p.batch = append(p.batch, mediaMessage(p.sid, m.typeID, m.ts, m.body))
		n++
	}
	return n
}
