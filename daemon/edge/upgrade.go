package edge

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// WebSockets, as CloudFront proxies them (distribution-working-with.
// websockets.md): a viewer's handshake, an HTTP/1.1 GET with
// "Connection: Upgrade" and "Upgrade: websocket", goes to the origin,
// never through the cache, with the edge's own Connection and Upgrade
// fields and whatever else the behavior forwards (CloudFront asks for
// AllViewer, or Sec-WebSocket-Key and Sec-WebSocket-Version at least:
// without them the origin refuses the handshake, and the viewer gets its
// answer). Once the origin answers 101 the edge joins the two
// connections until either ends. Only custom origins can switch; HTTP/2
// and HTTP/3 carry no Upgrade (RFC 9113 8.2.2), so their requests are
// plain GETs.

// upgradeIdle closes a joined connection over which nothing went either
// way for so long: a viewer or origin that vanished without closing (a
// dead NAT entry) would otherwise hold two sockets for ever. CloudFront
// does not document its value; 10 minutes is API Gateway's WebSocket idle
// timeout, and longer than the keep-alive pings of common clients.
const upgradeIdle = 10 * time.Minute

// upgradeProtocol is "websocket" for a viewer's WebSocket handshake, ""
// for any other request (another Upgrade is not proxied: the field is
// hop-by-hop and dropped, and the request served as it is).
func upgradeProtocol(r *http.Request) string {
	if r.ProtoMajor != 1 || r.ProtoMinor < 1 || r.Method != http.MethodGet ||
		!httpguts.HeaderValuesContainsToken(r.Header["Connection"], "upgrade") ||
		!httpguts.HeaderValuesContainsToken(r.Header["Upgrade"], "websocket") {
		return ""
	}
	return "websocket"
}

// join answers the viewer with the origin's 101 and joins the viewer's
// connection to the origin's until either ends. proto is what the viewer
// asked for ("" when it asked for no upgrade: the origin's 101 is then a
// fault).
func (h *Handler) join(w http.ResponseWriter, r *http.Request, resp *http.Response, id, proto string) error {
	upstream, ok := resp.Body.(io.ReadWriteCloser)
	if got := resp.Header.Get("Upgrade"); !ok || proto == "" || !strings.EqualFold(got, proto) {
		resp.Body.Close()
		h.refuse(w, r, http.StatusBadGateway, fmt.Sprintf("The origin switched to the protocol %q, which the viewer did not ask for.", got))
		return nil
	}
	defer upstream.Close()
	hdr := h.originHeader(w, resp, id)
	// Hop-by-hop, so left out above: the switch's own, for this hop.
	hdr["Connection"] = []string{"Upgrade"}
	hdr["Upgrade"] = []string{proto}
	hdr.Set("X-Cache", cacheMiss)
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// The viewer left, or (never for an HTTP/1 request) the server
		// cannot hand its connection over: nothing was sent yet.
		if errors.Is(err, http.ErrNotSupported) {
			h.refuse(w, r, http.StatusBadGateway, "This connection cannot switch protocols.")
		}
		return err
	}
	defer conn.Close()
	switchProtocols(w)
	brw.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	hdr.Write(brw)
	brw.WriteString("\r\n")
	if err := brw.Flush(); err != nil {
		return err
	}
	in, out := pipe(conn, brw.Reader, upstream, upgradeIdle)
	upgraded(w, in, out)
	return nil
}

// pipe copies viewer to origin and back until either side ends or
// nothing moves for idle, then closes both; it returns the bytes from
// the viewer (read through vr, which holds what the server read ahead)
// and to it.
func pipe(viewer net.Conn, vr *bufio.Reader, origin io.ReadWriteCloser, idle time.Duration) (in, out int64) {
	var last atomic.Int64 // unix nanoseconds of the last bytes moved
	last.Store(time.Now().UnixNano())
	var once sync.Once
	closeBoth := func() {
		once.Do(func() {
			viewer.Close()
			origin.Close()
		})
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(idle / 4)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				if now.UnixNano()-last.Load() >= int64(idle) {
					closeBoth()
					return
				}
			}
		}
	}()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		in, _ = io.Copy(activeWriter{origin, &last}, vr)
		closeBoth()
	}()
	out, _ = io.Copy(activeWriter{viewer, &last}, origin)
	closeBoth()
	wg.Wait()
	close(done)
	return in, out
}

// activeWriter notes when bytes last went through it.
type activeWriter struct {
	w    io.Writer
	last *atomic.Int64
}

func (a activeWriter) Write(p []byte) (int, error) {
	n, err := a.w.Write(p)
	a.last.Store(time.Now().UnixNano())
	return n, err
}
