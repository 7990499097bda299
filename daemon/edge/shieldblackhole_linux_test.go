package edge

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"syscall"
	"testing"
	"time"

	"openfront.dev/internal/testenv"
)

// blackholeAddr is a loopback address whose connections hang: a socket
// listening with a backlog of 0 that never accepts, its queue filled, so
// that a dial times out as to a host that drops packets.
func blackholeAddr(t *testing.T) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*syscall.SockaddrInet4).Port)
	// Fill the accept queue; later dials get no SYN-ACK.
	for range 8 {
		c, err := net.DialTimeout("tcp", addr, 100*time.Millisecond)
		if err != nil {
			break
		}
		t.Cleanup(func() { c.Close() })
	}
	if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
		c.Close()
		t.Skip("this kernel accepts past the backlog: no blackhole to test with")
	}
	return addr
}

// TestShieldTimingOutPassedOver: a primary shield node whose connections
// time out (a host down, a firewall dropping packets) is passed over for
// the next, as one that refuses them is: each request waited its
// connectionTimeout and got 504.
func TestShieldTimingOutPassedOver(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	app, hits := countingOrigin(t, clock)
	tb := testenv.Compile(t, "", fmt.Sprintf(shieldedSite, app.Listener.Addr().String()))
	_, secondary, _, _ := secondaryShield(t, tb, clock)
	primary, _ := url.Parse("http://" + blackholeAddr(t))
	edge, _ := edgeWithShields(t, "edge", tb, clock, primary, secondary)
	for _, path := range []string{"/a", "/b"} {
		start := time.Now()
		w := httptest.NewRecorder()
		edge.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://site.test"+path, nil))
		if w.Code != http.StatusOK || w.Body.String() != "object "+path {
			t.Errorf("%s: %d %q after %v", path, w.Code, w.Body.String(), time.Since(start).Round(time.Millisecond))
		}
		if path == "/b" && time.Since(start) > 500*time.Millisecond {
			t.Errorf("/b waited %v: the shield that timed out was asked again", time.Since(start))
		}
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("origin asked %d times, want 2 (through the secondary)", n)
	}
}
