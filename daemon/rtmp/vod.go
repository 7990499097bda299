package rtmp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	rtmp "github.com/yutopp/go-rtmp"

	"openfront.dev/daemon/accesslog"
)

const (
	// vodBurst is sent at once when a play starts or seeks, so the player's
	// buffer fills; the rest follows in real time.
	vodBurst = 2 * time.Second
	// vodBatchBytes bounds what one write carries.
	vodBatchBytes = 64 << 10
)

// vodControl is a pause, unpause or seek from the player.
type vodControl struct {
	pause, unpause, seek bool
	ms                   float64
}

// vodPlayer streams an S3 object to one message stream.
type vodPlayer struct {
	ss   *session
	sid  uint32
	name string
	log  streamLog
	src  source
	from uint32 // ms to start at (play's start argument)

	ctx    context.Context
	cancel context.CancelFunc
	ctrl   chan vodControl
	once   sync.Once
	// stopLogged: this play's stop is logged, by the end of the stream
	// or by its close (whichever comes first); a seek back clears it.
	stopLogged atomic.Bool
}

func (ss *session) openVOD(sid uint32, obj vodObject, startMS int64, log streamLog) (*vodPlayer, error) {
	f, err := ss.srv.cfg.Origins.StreamingFetcher(ss.dist)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ss.ctx)
	r, err := openObject(ctx, newWindowSource(f, ss.srv.cfg.Cache, ss.dist), obj.key)
	if err != nil {
		cancel()
		return nil, err
	}
	var src source
	switch obj.kind {
	case containerMP4:
		src, err = openMP4(r)
	case containerMP3:
		src, err = openMP3(r)
	default:
		src, err = openFLV(r)
	}
	if err != nil {
		cancel()
		return nil, err
	}
	p := &vodPlayer{ss: ss, sid: sid, name: obj.key, log: log, src: src, ctx: ctx, cancel: cancel,
		ctrl: make(chan vodControl, 4)}
	if startMS > 0 {
		p.from = uint32(startMS)
	}
	return p, nil
}

func (p *vodPlayer) start() {
	p.ss.srv.wg.Add(1)
	go p.run()
}

func (p *vodPlayer) stop() { p.once.Do(p.cancel) }

// control passes a command on; a player flooding commands loses some.
func (p *vodPlayer) control(c vodControl) {
	select {
	case p.ctrl <- c:
	default:
	}
}

func (p *vodPlayer) run() {
	srv := p.ss.srv
	defer srv.wg.Done()
	defer p.cancel()
	gauge := srv.metrics.players.WithLabelValues(p.ss.dist.ID, "vod")
	gauge.Inc()
	defer gauge.Dec()
	if err := p.play(); err != nil && !errors.Is(err, context.Canceled) {
		p.ss.log.Debug("rtmp: on-demand stream ended", "stream", p.name, "err", err)
		p.ss.close()
	}
}

// play sends the stream paced in real time after a burst, and obeys
// pause, unpause and seek, until the end of the stream (then waits for a
// seek back or the close).
func (p *vodPlayer) play() error {
	var batch []rtmp.RawMessage
	size := 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := p.ss.conn.WriteRaw(batch)
		clear(batch)
		batch, size = batch[:0], 0
		p.ss.account()
		return err
	}
	send := func(msgs ...rtmp.RawMessage) {
		for _, m := range msgs {
			batch = append(batch, m)
			size += len(m.Body)
		}
	}
	var base, last uint32 // media time at clock; of the last message
	var end uint32        // the latest media time sent since the start or seek
	clock := time.Now()
	ended := false
	seek := func(ms uint32) error {
		at, err := p.src.seek(ms)
		if err != nil {
			return err
		}
		for _, h := range p.src.headers() {
			send(mediaMessage(p.sid, h.typeID, at, h.body))
		}
		base, last, end, clock, ended = at, at, at, time.Now(), false
		p.stopLogged.Store(false) // playing again
		return nil
	}
	// handle obeys a command. A seek while paused moves the stream and
	// leaves it paused, as Flash Media Server does: it plays from there
	// on unpause.
	handle := func(c vodControl) error {
		paused := false
		for {
			if c.pause && !paused {
				send(onStatus(p.sid, "status", "NetStream.Pause.Notify", "Paused "+p.name+"."))
				paused = true
			}
			if paused {
				if err := flush(); err != nil {
					return err
				}
				var err error
				if c, err = p.waitUnpause(); err != nil {
					return err
				}
				if !c.seek {
					send(onStatus(p.sid, "status", "NetStream.Unpause.Notify", "Unpaused "+p.name+"."))
					base, clock = last, time.Now()
					return nil
				}
			}
			if !c.seek {
				return nil
			}
			send(userControl(ucStreamEOF, p.sid), userControl(ucStreamBegin, p.sid))
			status := "" // logged once tried: a refused seek keeps its code
			if err := seek(uint32(max(c.ms, 0))); err != nil {
				status = codeSeekFailed
				send(onStatus(p.sid, "error", codeSeekFailed, "Cannot seek: "+err.Error()+"."))
			} else {
				send(onStatus(p.sid, "status", "NetStream.Seek.Notify", fmt.Sprintf("Seeking %d (stream ID: %d).", base, p.sid)))
				if !paused {
					send(onStatus(p.sid, "status", "NetStream.Play.Start", "Started playing "+p.name+"."))
				}
			}
			p.ss.emit(accesslog.EventSeek, status, p.sid, p.log.name, p.log.query, p.log.ext)
			if !paused {
				return nil
			}
		}
	}

	send(sampleAccess(p.sid))
	if p.from > 0 {
		if err := seek(p.from); err != nil {
			return err
		}
	}
	for {
		// Commands first: they may come during a burst.
		select {
		case <-p.ctx.Done():
			return p.ctx.Err()
		case c := <-p.ctrl:
			if err := handle(c); err != nil {
				return err
			}
			continue
		default:
		}
		if ended { // wait for a seek back, or the close
			if err := flush(); err != nil {
				return err
			}
			select {
			case <-p.ctx.Done():
				return p.ctx.Err()
			case c := <-p.ctrl:
				if err := handle(c); err != nil {
					return err
				}
			}
			continue
		}

		t, err := p.src.next()
		if errors.Is(err, io.EOF) {
			// onPlayStatus NetStream.Play.Complete, on the media's timeline
			// after its last message, is how Flash Media Server told a
			// player the stream was played through; OSMF players wait for
			// it on RTMP and ignore Play.Stop ("For streaming,
			// NetStream.Play.Complete means the duration was reached").
			send(playComplete(p.sid, end),
				onStatus(p.sid, "status", "NetStream.Play.Stop", "Stopped playing "+p.name+"."),
				userControl(ucStreamEOF, p.sid))
			if p.stopLogged.CompareAndSwap(false, true) {
				p.ss.emit(accesslog.EventStop, "", p.sid, p.log.name, p.log.query, p.log.ext)
			}
			ended = true
			continue
		}
		if err != nil {
			return err
		}
		send(mediaMessage(p.sid, t.typeID, t.ts, t.body))
		last, end = t.ts, max(end, t.ts)
		due := clock.Add(time.Duration(int64(t.ts)-int64(base))*time.Millisecond - vodBurst)
		if wait := time.Until(due); wait > 0 || size >= vodBatchBytes {
			if err := flush(); err != nil {
				return err
			}
			if wait > 0 {
				if c, ok := p.sleep(wait); ok {
					if err := handle(c); err != nil {
						return err
					}
				}
			}
		}
	}
}

// sleep waits d, cut short by a command (returned) or the end.
func (p *vodPlayer) sleep(d time.Duration) (vodControl, bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-p.ctx.Done():
	case c := <-p.ctrl:
		return c, true
	}
	return vodControl{}, false
}

// waitUnpause holds a paused stream, pinging so the idle timeout spares it.
func (p *vodPlayer) waitUnpause() (vodControl, error) {
	ping := time.NewTicker(p.ss.srv.cfg.IdleTimeout / 3)
	defer ping.Stop()
	for {
		select {
		case <-p.ctx.Done():
			return vodControl{}, p.ctx.Err()
		case <-ping.C:
			if err := p.ss.conn.WriteRaw([]rtmp.RawMessage{userControl(ucPingRequest, uint32(time.Now().UnixMilli()))}); err != nil {
				return vodControl{}, err
			}
		case c := <-p.ctrl:
			if c.unpause || c.seek {
				return c, nil
			}
		}
	}
}
