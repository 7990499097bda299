package rtmp

import (
	"net"
	"testing"
)

// wrapped is a listener's wrapper of a connection, as the node's
// connection limit is: it exposes the connection with NetConn.
type wrapped struct{ net.Conn }

func (w wrapped) NetConn() net.Conn { return w.Conn }

// Under a wrapper the TCP connection is still found: media go out with
// writev only through it, and the lingering close needs it.
func TestTCPConnUnderWrapper(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	p1, p2 := net.Pipe()
	defer p1.Close()
	defer p2.Close()
	for _, tt := range []struct {
		name string
		c    net.Conn
		want net.Conn
	}{
		{"tcp", c, c},
		{"wrapped", wrapped{c}, c},
		{"wrapped twice", wrapped{wrapped{c}}, c},
		{"pipe", wrapped{p1}, nil},
	} {
		got := tcpConn(tt.c)
		if (got == nil) != (tt.want == nil) || (got != nil && net.Conn(got) != tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}
