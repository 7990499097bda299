package rtmp

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/netip"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	rtmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/message"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/internal/signedurl"
)

// Status codes the server sends beyond those go-rtmp knows.
const (
	codeConnectRejected = "NetConnection.Connect.Rejected"
	codeStreamNotFound  = "NetStream.Play.StreamNotFound"
	codePlayFailed      = "NetStream.Play.Failed"
	codePublishBadName  = "NetStream.Publish.BadName"
	codePublishDenied   = "NetStream.Publish.Denied"
	codeSeekFailed      = "NetStream.Seek.Failed"
)

// CloudFront's error codes for RTMP distributions (Streaming_FMSErrors),
// at the start of a refused connect's description.
const (
	errDistributionNotFound     = "DistributionNotFound"
	errDistributionTypeMismatch = "DistributionTypeMismatch"
	errInvalidInstance          = "InvalidInstance"
	errInvalidURI               = "InvalidURI"
)

// player is a stream being played on one message stream of a connection.
type player interface {
	start()
	stop()
}

// streamLog is how the access log names a play in each of its events:
// x-sname, x-sname-query, x-file-ext.
type streamLog struct{ name, query, ext string }

// play is a player and the log's name for it.
type play struct {
	player
	log streamLog
}

// session handles one RTMP connection. go-rtmp calls its methods from the
// connection's read loop; players run on their own goroutines.
type session struct {
	rtmp.DefaultHandler
	srv    *Server
	nc     *netConn
	conn   *rtmp.Conn
	remote netip.Addr
	id     string
	log    *slog.Logger

	done      chan struct{}
	closeOnce sync.Once
	// ctx ends with the connection: what the read loop waits for (an
	// origin fetch in play) ends with it, and Shutdown does not wait.
	ctx    context.Context
	cancel context.CancelFunc

	mu sync.Mutex // guards what players read: dist; the rest is the read loop's
	// Set by connect: the table and distribution this session lives under.
	tbl  *table.Table
	dist *table.StreamingDistribution

	kind                  appKind
	prefix                string
	uriStem, uriQuery     string
	swfURL, pageURL       string
	flashVer              string
	plays                 map[uint32]play
	pub                   *publisher
	bytesOut, bytesIn     prometheus.Counter
	countedOut, countedIn int64
	accountMu             sync.Mutex
}

func newSession(s *Server, nc *netConn) *session {
	var id [12]byte
	rand.Read(id[:])
	ss := &session{srv: s, nc: nc, id: hex.EncodeToString(id[:]), done: make(chan struct{}), plays: map[uint32]play{}}
	ss.ctx, ss.cancel = context.WithCancel(context.Background())
	if ap, err := netip.ParseAddrPort(nc.RemoteAddr().String()); err == nil {
		ss.remote = ap.Addr().Unmap()
	}
	ss.log = s.log.With("client", ss.remote.String(), "session", ss.id)
	return ss
}

func (ss *session) distributionID() string {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.dist == nil {
		return ""
	}
	return ss.dist.ID
}

// close cuts the connection; the read loop then ends and calls OnClose.
func (ss *session) close() {
	ss.cancel()
	if tc := ss.nc.tcp; tc != nil {
		tc.SetLinger(0)
	}
	ss.nc.Conn.Close()
}

func (ss *session) OnServe(conn *rtmp.Conn) { ss.conn = conn }

func (ss *session) OnConnect(_ uint32, cmd *message.NetConnectionConnect) error {
	t := ss.srv.table.Load()
	host, stem, query := splitTCURL(cmd.Command.TCURL)
	ss.uriStem, ss.uriQuery = stem, query
	ss.swfURL, ss.pageURL, ss.flashVer = cmd.Command.SwfURL, cmd.Command.PageURL, cmd.Command.FlashVer
	reject := func(desc string) error {
		ss.emit(accesslog.EventConnect, codeConnectRejected, 0, "", "", "")
		ss.log.Debug("rtmp: connect rejected", "tcUrl", cmd.Command.TCURL, "app", cmd.Command.App, "reason", desc)
		return &rtmp.StatusError{Code: codeConnectRejected, Description: desc}
	}
	if t == nil {
		return reject("This server has no configuration yet.")
	}
	// Each refusal's description starts with CloudFront's error code for it:
	// "The errors are part of the string returned with
	// Event.info.application.message or Event.info.description"
	// (Streaming_FMSErrors), so players and scripts matching them work.
	d := t.StreamingDistributionForHost(host)
	if d == nil || !d.Spec.Enabled {
		if t.DistributionForHost(host) != nil {
			return reject(errDistributionTypeMismatch + ": " + strconv.Quote(host) + " is a web distribution, not an RTMP one.")
		}
		return reject(errDistributionNotFound + ": no streaming distribution serves " + strconv.Quote(host) + ".")
	}
	kind, prefix := parseApp(cmd.Command.App)
	switch {
	case kind == appNone && isCFXInstance(cmd.Command.App):
		return reject(errInvalidInstance + ": " + strconv.Quote(cmd.Command.App) + " is not an instance of cfx: use cfx/st.")
	case kind == appNone:
		return reject(errInvalidURI + ": unknown application " + strconv.Quote(cmd.Command.App) + ": use cfx/st (on demand) or live.")
	case kind == appLive && (d.Spec.Live == nil || !d.Spec.Live.Enabled):
		return reject(errInvalidURI + ": streaming distribution " + strconv.Quote(d.ID) + " has no live streams.")
	}
	ss.mu.Lock()
	ss.tbl, ss.dist = t, d
	ss.mu.Unlock()
	ss.kind, ss.prefix = kind, prefix
	ss.bytesOut, ss.bytesIn = ss.srv.metrics.counters(d.ID)

	// go-rtmp never announces a chunk size and writes 128-byte chunks:
	// announce ours, then use it. Nothing else writes yet.
	cs := ss.srv.cfg.ChunkSize
	if err := ss.conn.Write(context.Background(), csControl, 0, &rtmp.ChunkMessage{Message: &message.SetChunkSize{ChunkSize: cs}}); err != nil {
		return err
	}
	if err := ss.conn.GetChunkStreamer().SelfState().SetChunkSize(cs); err != nil {
		return err
	}
	ss.nc.connected.Store(true)
	ss.emit(accesslog.EventConnect, "", 0, "", "", "")
	return nil
}

// splitStream splits a play or publish name into name and query, dropping
// the "st/" prefix ffmpeg leaves when it took "cfx" alone as the app.
func (ss *session) splitStream(raw string) (name, query string) {
	name, query, _ = strings.Cut(raw, "?")
	if ss.prefix != "" {
		name = strings.TrimPrefix(name, ss.prefix)
	}
	return name, query
}

// signedOK checks the stream name's signature when the distribution has
// trusted key groups; CloudFront signs the stream name without its query.
// An on-demand name may also be signed as the same object named without its
// prefix (signedNames).
func (ss *session) signedOK(name, query string) (bool, string) {
	ids := ss.dist.Spec.TrustedKeyGroups
	if len(ids) == 0 {
		return true, ""
	}
	groups := make([]*table.KeyGroup, 0, len(ids))
	for _, id := range ids {
		if g := ss.tbl.KeyGroup(id); g != nil {
			groups = append(groups, g)
		}
	}
	var denied signedurl.Decision
	for i, signed := range signedNames(ss.kind, name) {
		d := ss.srv.verifier.Verify(signedurl.Request{Scheme: "rtmp", RawPath: signed, RawQuery: query,
			ClientIP: ss.remote, Now: ss.srv.cfg.Now()}, groups)
		if d.Allowed {
			return true, ""
		}
		// Say why the form the signature is for was refused (expired, say)
		// rather than that the others do not match it.
		if i == 0 || d.Code != signedurl.CodeBadSignature && d.Code != signedurl.CodeResourceMismatch {
			denied = d
		}
	}
	return false, denied.Reason
}

func (ss *session) OnPlay(ctx *rtmp.StreamContext, _ uint32, cmd *message.NetStreamPlay) error {
	sid := ctx.StreamID
	name, query := ss.splitStream(cmd.StreamName)
	fail := func(code, desc, ext string) error {
		ss.emit(accesslog.EventPlay, code, sid, name, query, ext)
		return &rtmp.StatusError{Code: code, Description: desc}
	}
	if ok, reason := ss.signedOK(name, query); !ok {
		return fail(codePlayFailed, "Access denied: "+reason, "")
	}
	ss.stopPlay(sid)
	var p player
	ext := ""
	switch ss.kind {
	case appVOD:
		obj, badPrefix, ok := parseVODName(name)
		if badPrefix != "" {
			return fail(codeStreamNotFound, "Unsupported stream type "+strconv.Quote(badPrefix+":")+
				" in "+strconv.Quote(name)+": use flv:, mp4: or mp3:.", "")
		}
		if !ok {
			return fail(codeStreamNotFound, "No such stream: "+strconv.Quote(name)+".", "")
		}
		ext = obj.ext
		vp, err := ss.openVOD(sid, obj, cmd.Start, streamLog{name, query, ext})
		if err != nil {
			code := codePlayFailed
			if err == errNotFound {
				code = codeStreamNotFound
			}
			ss.log.Debug("rtmp: play failed", "stream", name, "err", err)
			return fail(code, "Cannot play "+strconv.Quote(name)+": "+err.Error()+".", ext)
		}
		p = vp
	case appLive:
		if !liveName.MatchString(name) {
			return fail(codeStreamNotFound, "No such live stream: "+strconv.Quote(name)+".", "")
		}
		p = ss.srv.hub.subscribe(ss, sid, name)
	}
	// StreamBegin and Play.Reset precede the library's Play.Start;
	// OnPlayStart starts the media.
	if err := ss.conn.WriteRaw([]rtmp.RawMessage{userControl(ucStreamBegin, sid),
		onStatus(sid, "status", "NetStream.Play.Reset", "Playing and resetting "+name+".")}); err != nil {
		p.stop()
		return err
	}
	ss.plays[sid] = play{p, streamLog{name, query, ext}}
	ss.emit(accesslog.EventPlay, "", sid, name, query, ext)
	return nil
}

func (ss *session) OnPlayStart(ctx *rtmp.StreamContext) {
	if p := ss.plays[ctx.StreamID]; p.player != nil {
		p.start()
	}
}

func (ss *session) OnCommand(sid uint32, _ uint32, cmd *message.CommandMessage, body interface{}) error {
	switch b := body.(type) {
	case *message.NetStreamPause:
		p, ok := ss.plays[sid]
		if !ok {
			break
		}
		kind := accesslog.EventUnpause
		if b.Pause {
			kind = accesslog.EventPause
		}
		// CloudFront logged pause and unpause for every play, live too.
		ss.emit(kind, "", sid, p.log.name, p.log.query, p.log.ext)
		switch pl := p.player.(type) {
		case *vodPlayer:
			pl.control(vodControl{pause: b.Pause, unpause: !b.Pause, ms: b.Milliseconds})
		case *livePlayer:
			pl.pause(b.Pause)
		}
	case *message.NetStreamSeek:
		p, ok := ss.plays[sid]
		if !ok {
			break
		}
		// A seek is another play to CloudFront, checked again: "If the
		// subsequent play event occurs after the expiration time passes,
		// CloudFront won't serve the media file" (private-content-signed-urls).
		if ok, reason := ss.signedOK(p.log.name, p.log.query); !ok {
			ss.emit(accesslog.EventSeek, codePlayFailed, sid, p.log.name, p.log.query, p.log.ext)
			ss.stopPlay(sid)
			return ss.conn.WriteRaw([]rtmp.RawMessage{onStatus(sid, "error", codePlayFailed, "Access denied: "+reason)})
		}
		switch pl := p.player.(type) {
		case *vodPlayer:
			// Logged by the player once the seek is tried.
			pl.control(vodControl{seek: true, ms: b.Milliseconds})
		case *livePlayer:
			// Refused: the event keeps the status the player got.
			ss.emit(accesslog.EventSeek, codeSeekFailed, sid, p.log.name, p.log.query, p.log.ext)
			pl.seek()
		}
	case *message.NetStreamCloseStream:
		ss.endStream(sid)
	}
	return nil
}

func (ss *session) OnDeleteStream(_ uint32, cmd *message.NetStreamDeleteStream) error {
	ss.endStream(cmd.StreamID)
	return nil
}

// endStream stops what message stream sid plays or publishes.
func (ss *session) endStream(sid uint32) {
	ss.stopPlay(sid)
	if ss.pub != nil && ss.pub.sid == sid {
		ss.pub.end()
		ss.pub = nil
	}
}

// stopPlay stops what message stream sid plays, if anything, and logs its stop.
func (ss *session) stopPlay(sid uint32) {
	p, ok := ss.plays[sid]
	if !ok {
		return
	}
	p.stop()
	delete(ss.plays, sid)
	if vp, ok := p.player.(*vodPlayer); ok && !vp.stopLogged.CompareAndSwap(false, true) {
		return // logged when the stream ended
	}
	ss.emit(accesslog.EventStop, "", sid, p.log.name, p.log.query, p.log.ext)
}

func (ss *session) OnPublish(ctx *rtmp.StreamContext, _ uint32, cmd *message.NetStreamPublish) error {
	name, query := ss.splitStream(cmd.PublishingName)
	fail := func(code, desc string) error {
		ss.emit(accesslog.EventPublish, code, ctx.StreamID, name, "", "")
		ss.log.Info("rtmp: publish refused", "distribution", ss.dist.ID, "stream", name, "reason", desc)
		return &rtmp.StatusError{Code: code, Description: desc}
	}
	switch {
	case ss.kind != appLive:
		return fail(codePublishDenied, "Publishing is only allowed to the live application.")
	case ss.pub != nil:
		return fail(codePublishBadName, "This connection is already publishing.")
	case !liveName.MatchString(name):
		return fail(codePublishBadName, "A live stream name is letters, digits, '_', '.' and '-'.")
	}
	if !streamKeyOK(ss.dist.Spec.Live, ss.srv.cfg.SecretsDir, streamKeyParam(query)) {
		return fail(codePublishDenied, "Wrong or missing stream key: publish to NAME?key=SECRET.")
	}
	pub, err := ss.srv.hub.publish(ss, ctx.StreamID, name)
	if err != nil {
		return fail(codePublishBadName, "Stream "+strconv.Quote(name)+" is already being published.")
	}
	ss.pub = pub
	ss.log.Info("rtmp: publishing", "distribution", ss.dist.ID, "stream", name)
	ss.emit(accesslog.EventPublish, "", ctx.StreamID, name, "", "")
	return nil
}

func (ss *session) OnSetDataFrame(_ uint32, data *message.NetStreamSetDataFrame) error {
	if ss.pub != nil {
		ss.pub.metadata(data.Payload)
	}
	return nil
}

func (ss *session) OnAudio(ts uint32, payload io.Reader) error {
	return ss.media(typeAudio, ts, payload)
}
func (ss *session) OnVideo(ts uint32, payload io.Reader) error {
	return ss.media(typeVideo, ts, payload)
}

func (ss *session) media(typeID uint8, ts uint32, payload io.Reader) error {
	body, err := io.ReadAll(payload)
	if err != nil || ss.pub == nil {
		return err
	}
	ss.pub.media(typeID, ts, body)
	ss.account() // a publisher's traffic counts as it comes, not at its end
	return nil
}

func (ss *session) OnClose() {
	ss.closeOnce.Do(func() {
		// go-rtmp calls OnClose outside its recover: a panic here (a live
		// sink's End after its Media panicked on the publisher's bytes)
		// would end the process, and the connection would never close.
		defer func() {
			if r := recover(); r != nil {
				ss.srv.panicked("close", ss.log, ss.nc.RemoteAddr(), r, debug.Stack())
			}
		}()
		ss.cancel()
		close(ss.done)
		for sid := range ss.plays {
			ss.stopPlay(sid) // a stream cut by the disconnect stops too
		}
		if ss.pub != nil {
			ss.pub.end()
			ss.pub = nil
		}
		if ss.dist != nil {
			ss.emit(accesslog.EventDisconnect, "", 0, "", "", "")
		}
	})
}

// account adds the bytes moved since the last call to the distribution's counters.
func (ss *session) account() {
	if ss.bytesOut == nil {
		return
	}
	ss.accountMu.Lock()
	defer ss.accountMu.Unlock()
	out, in := ss.nc.out.Load(), ss.nc.in.Load()
	ss.bytesOut.Add(float64(out - ss.countedOut))
	ss.bytesIn.Add(float64(in - ss.countedIn))
	ss.countedOut, ss.countedIn = out, in
}

// emit logs an event; status is "" (x-cf-status OK, all CloudFront wrote)
// unless the event was refused, then the status code sent.
func (ss *session) emit(kind, status string, sid uint32, name, query, ext string) {
	ss.account()
	f := ss.srv.cfg.Events
	if f == nil {
		return
	}
	e := Event{Time: time.Now(), ClientIP: ss.remote, Kind: kind, Bytes: ss.nc.out.Load(), Status: status,
		ClientID: ss.id, URIStem: ss.uriStem, URIQuery: ss.uriQuery, Referrer: ss.swfURL, PageURL: ss.pageURL,
		UserAgent: ss.flashVer, StreamName: name, StreamQuery: query, FileExt: ext}
	if ss.dist != nil {
		e.Distribution = ss.dist.ID
	}
	if sid != 0 {
		e.SID = strconv.FormatUint(uint64(sid), 10)
	}
	f(e)
}
