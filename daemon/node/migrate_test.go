package node

import (
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
)

// TestHTTP3ConnectionMigration: an HTTP/3 viewer that moves to another
// address (Wi-Fi to cellular) keeps its connection, as CloudFront's
// HTTP/3 does ("CloudFront supports HTTP/3 connection migration to allow
// the viewer to switch networks without losing connection",
// DistributionConfig HttpVersion), and the origin then sees the new
// address in CloudFront-Viewer-Address.
func TestHTTP3ConnectionMigration(t *testing.T) {
	n := startHeadersNode(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Header.Get("CloudFront-Viewer-Address"))
	}), "CloudFront-Viewer-Address")
	listen := func() *quic.Transport {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		tr := &quic.Transport{Conn: c}
		t.Cleanup(func() { tr.Close(); c.Close() })
		return tr
	}
	wifi, cellular := listen(), listen()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := wifi.Dial(ctx, n.Addr("http3"), &tls.Config{ServerName: "site.test", InsecureSkipVerify: true, NextProtos: []string{http3.NextProtoH3}}, &quic.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
	cc := (&http3.Transport{}).NewClientConn(conn)
	viewerAddress := func(what string) string {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, "GET", "https://site.test/"+what, nil)
		resp, err := cc.RoundTrip(req)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: status %d: %s", what, resp.StatusCode, b)
		}
		return string(b)
	}
	if got, want := viewerAddress("before"), wifi.Conn.LocalAddr().String(); got != want {
		t.Errorf("before the move, the origin saw the viewer at %s, want %s", got, want)
	}
	path, err := conn.AddPath(cellular)
	if err != nil {
		t.Fatal(err)
	}
	if err := path.Probe(ctx); err != nil {
		t.Fatalf("probing the new path: %v", err)
	}
	if err := path.Switch(); err != nil {
		t.Fatal(err)
	}
	if got, want := viewerAddress("after"), cellular.Conn.LocalAddr().String(); got != want {
		t.Errorf("after the move, the origin saw the viewer at %s, want %s", got, want)
	}
}
