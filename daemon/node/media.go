package node

import (
	"context"
	"fmt"
	"net"

	"github.com/prometheus/client_golang/prometheus"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/hls"
	"openfront.dev/daemon/rtmp"
)

// The media side of a node: the RTMP server of the streaming distributions
// and the HLS packager that makes their live streams a web origin
// (liveOriginConfig). Both exist only with an RTMP listener: without one
// nothing can publish, and live origins answer 502 saying so.

// newMedia makes the RTMP server and the packager; the listener opens in
// listenRTMP, once a table is applied.
func (n *Node) newMedia(reg prometheus.Registerer) error {
	if n.opts.RTMPAddr == "" {
		return nil
	}
	packager := hls.NewRegistry(hls.Options{MinSegment: n.opts.HLSSegment, Log: n.log})
	n.origins.SetLive(packager)
	n.rtmp = rtmp.NewServer(rtmp.Config{
		Origins:    n.origins,
		Log:        n.log,
		Cache:      n.cache,
		Live:       packager,
		Events:     n.logStreaming,
		SecretsDir: n.opts.RTMPSecretsDir,
	})
	for _, c := range n.rtmp.Collectors() {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("rtmp metrics: %w", err)
		}
	}
	return nil
}

// logStreaming writes an RTMP event to its streaming distribution's access
// log, when the node keeps logs and the distribution has logging enabled.
func (n *Node) logStreaming(ev rtmp.Event) {
	if n.logs != nil {
		n.logs.LogStreaming((*accesslog.StreamingRecord)(&ev))
	}
}

// setMediaTable gives the RTMP server a new table: streams of removed or
// disabled distributions end.
func (n *Node) setMediaTable(t *table.Table) {
	if n.rtmp != nil {
		n.rtmp.SetTable(t)
	}
}

// listenRTMP opens the RTMP listener and serves it until Shutdown.
func (n *Node) listenRTMP() error {
	if n.rtmp == nil {
		return nil
	}
	ln, err := net.Listen("tcp", n.opts.RTMPAddr)
	if err != nil {
		return listenError("--rtmp", "rtmp", err)
	}
	n.addrs["rtmp"] = ln.Addr()
	n.log.Info("listening", "listener", "rtmp", "addr", ln.Addr().String())
	n.wg.Go(func() {
		if err := n.rtmp.Serve(&limitedListener{Listener: ln, l: n.rtmpConns, log: n.log}); err != nil {
			n.errs <- fmt.Errorf("rtmp: %w", err)
		}
	})
	return nil
}

// shutdownMedia closes RTMP sessions (their disconnect events are logged:
// call it before the access logs close).
func (n *Node) shutdownMedia(ctx context.Context) error {
	if n.rtmp == nil {
		return nil
	}
	return n.rtmp.Shutdown(ctx)
}
