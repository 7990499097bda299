package node

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
)

// TestBusyPortNamesFlag: a listener whose address is taken fails the
// start naming the serve flag that set it, so the operator knows which
// to change.
func TestBusyPortNamesFlag(t *testing.T) {
	busyTCP := func(t *testing.T) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return ln.Addr().String()
	}
	// HTTP/3 binds UDP on the HTTPS port.
	busyUDP := func(t *testing.T) string {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c.LocalAddr().String()
	}
	for _, tt := range []struct {
		name, flag string
		opts       func(o *Options, t *testing.T)
	}{
		{"http", "--http", func(o *Options, t *testing.T) { o.HTTPAddr = busyTCP(t) }},
		{"https", "--https", func(o *Options, t *testing.T) { o.HTTPSAddr = busyTCP(t) }},
		{"http3", "--https", func(o *Options, t *testing.T) { o.HTTPSAddr = busyUDP(t) }},
		{"admin", "--admin", func(o *Options, t *testing.T) { o.AdminAddr = busyTCP(t) }},
		{"rtmp", "--rtmp", func(o *Options, t *testing.T) { o.ConfigDir, o.RTMPAddr = "../../examples/video", busyTCP(t) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{ConfigDir: "../../examples/quickstart", NodeName: "busy-test", CacheMemory: 8 << 20,
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
			tt.opts(&o, t)
			n, err := Start(o)
			if err == nil {
				n.Shutdown(context.Background())
				t.Fatal("Start on a busy port succeeded")
			}
			if !strings.Contains(err.Error(), tt.flag+": ") || !strings.Contains(err.Error(), "address already in use") {
				t.Errorf("Start: %v; want it to name %s and say the address is in use", err, tt.flag)
			}
		})
	}
}
