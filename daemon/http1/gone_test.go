package http1

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"openfront.dev/internal/loadgen"
)

// waitHandler reads the request's body, then answers /wait/D after D
// unless the request's context ends first; what ended each wait goes to
// ended ("done" or "cancelled").
func waitHandler(ended chan<- string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		d, err := time.ParseDuration(strings.TrimPrefix(r.URL.Path, "/wait/"))
		if err != nil {
			io.WriteString(w, "now "+r.URL.Path)
			return
		}
		select {
		case <-time.After(d):
			ended <- "done"
			io.WriteString(w, "waited "+d.String())
		case <-r.Context().Done():
			ended <- "cancelled"
		}
	})
}

// dialers serves newServer's servers (one per listener) in the clear and
// over TLS (as the node hands connections over after the handshake), and
// returns a dialer for each.
func dialers(t *testing.T, newServer func() *Server) map[string]func() net.Conn {
	t.Helper()
	cert, err := loadgen.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	secure, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	s, st := newServer(), newServer()
	go s.Serve(plain)
	go func() {
		for {
			nc, err := secure.Accept()
			if err != nil {
				return
			}
			tc := nc.(*tls.Conn)
			if err := tc.Handshake(); err != nil {
				tc.Close()
				continue
			}
			st.ServeConn(tc)
		}
	}()
	t.Cleanup(func() { s.Close(); secure.Close(); st.Close() })
	dial := func(ln net.Listener) func() net.Conn {
		return func() net.Conn {
			var c net.Conn
			var err error
			if ln == secure {
				c, err = tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
			} else {
				c, err = net.Dial("tcp", ln.Addr().String())
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			return c
		}
	}
	return map[string]func() net.Conn{"tcp": dial(plain), "tls": dial(secure)}
}

// waitServers are servers of waitHandler with short timeouts.
func waitServers(ended chan<- string) func() *Server {
	return func() *Server {
		return &Server{Handler: waitHandler(ended), HeaderTimeout: 500 * time.Millisecond, IdleTimeout: time.Second}
	}
}

// TestViewerGone: a viewer that closes its connection while the handler
// waits ends the request's context, well before the handler would have
// answered; a request with a body, once the handler has read it.
func TestViewerGone(t *testing.T) {
	ended := make(chan string, 10)
	requests := map[string]string{
		"GET":          "GET /wait/20s HTTP/1.1\r\nHost: h\r\n\r\n",
		"POST":         "POST /wait/20s HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello",
		"chunked POST": "POST /wait/20s HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
	}
	for name, dial := range dialers(t, waitServers(ended)) {
		for what, raw := range requests {
			t.Run(name+"/"+what, func(t *testing.T) {
				viewerLeaves(t, dial(), raw, ended)
			})
		}
	}
}

// viewerLeaves sends raw on c, closes c and waits for the handler's wait
// to be cancelled.
func viewerLeaves(t *testing.T, c net.Conn, raw string, ended <-chan string) {
	t.Helper()
	io.WriteString(c, raw)
	time.Sleep(50 * time.Millisecond)
	closed := time.Now()
	c.Close()
	select {
	case how := <-ended:
		if how != "cancelled" {
			t.Fatalf("the wait ended %s, want cancelled", how)
		}
		t.Logf("cancelled %v after the viewer closed", time.Since(closed).Round(time.Millisecond))
	case <-time.After(5 * time.Second):
		t.Fatal("the request's context still runs 5 s after the viewer closed")
	}
}

// TestWatchedConnectionStaysUsable: a request long enough to be watched,
// with the viewer's next request sent while it waits (the watcher reads
// its first byte), then a request after a pause: every answer arrives,
// in order, on the one connection.
func TestWatchedConnectionStaysUsable(t *testing.T) {
	ended := make(chan string, 10)
	for name, dial := range dialers(t, waitServers(ended)) {
		t.Run(name, func(t *testing.T) {
			c := dial()
			br := bufio.NewReader(c)
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "GET /wait/1200ms HTTP/1.1\r\nHost: h\r\n\r\n")
			time.Sleep(800 * time.Millisecond) // watched by now (after 250-500 ms)
			io.WriteString(c, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n")
			for _, want := range []string{"waited 1.2s", "now /next"} {
				a, err := readAnswer(br, "GET")
				if err != nil || a.status != 200 || a.body != want {
					t.Fatalf("answer %+v, %v; want 200 %q", a, err, want)
				}
			}
			if how := <-ended; how != "done" {
				t.Errorf("the wait ended %s, want done", how)
			}
			// A watched request again, then one after it: the read deadline
			// the watcher changed is set again for the next request.
			io.WriteString(c, "GET /wait/700ms HTTP/1.1\r\nHost: h\r\n\r\n")
			if a, err := readAnswer(br, "GET"); err != nil || a.body != "waited 700ms" {
				t.Fatalf("answer %+v, %v", a, err)
			}
			<-ended
			time.Sleep(100 * time.Millisecond)
			io.WriteString(c, "GET /last HTTP/1.1\r\nHost: h\r\n\r\n")
			if a, err := readAnswer(br, "GET"); err != nil || a.body != "now /last" {
				t.Fatalf("answer %+v, %v", a, err)
			}
			// A request with a body, watched once the handler read it, with
			// the next request sent while it waits.
			io.WriteString(c, "POST /wait/1s HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello")
			time.Sleep(700 * time.Millisecond)
			io.WriteString(c, "GET /after-post HTTP/1.1\r\nHost: h\r\n\r\n")
			for _, want := range []string{"waited 1s", "now /after-post"} {
				if a, err := readAnswer(br, "GET"); err != nil || a.status != 200 || a.body != want {
					t.Fatalf("answer %+v, %v; want 200 %q", a, err, want)
				}
			}
			if how := <-ended; how != "done" {
				t.Errorf("the wait ended %s, want done", how)
			}
			// And the idle timeout (1 s) still closes the connection.
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("%v; want the idle connection closed", err)
			}
		})
	}
}

// TestSlowBody: a viewer that stops sending its body is cut after
// BodyTimeout without a byte, and told the connection closes, while one
// that keeps sending, slowly, is not.
func TestSlowBody(t *testing.T) {
	got := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		got <- err
		io.WriteString(w, "read "+string(b))
	})
	for name, dial := range dialers(t, func() *Server { return &Server{Handler: h, BodyTimeout: 400 * time.Millisecond} }) {
		t.Run(name+"/stalled", func(t *testing.T) {
			c := dial()
			io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\nabc")
			select {
			case err := <-got:
				if err == nil {
					t.Fatal("the handler read a whole body the viewer never sent")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the handler still waits for the body 5 s later")
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, err := io.ReadAll(c)
			if err != nil {
				t.Fatalf("%v; want the connection closed", err)
			}
			if !strings.Contains(string(b), "\r\nConnection: close\r\n") {
				t.Errorf("the answer %q does not say the connection closes", b)
			}
		})
		t.Run(name+"/slow but steady", func(t *testing.T) {
			c := dial()
			io.WriteString(c, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n")
			// 1 s in all, past BodyTimeout, 100 ms between bytes: well
			// under it even when a loaded machine wakes the sender late.
			for _, b := range "hellohello" {
				time.Sleep(100 * time.Millisecond)
				io.WriteString(c, string(b))
			}
			if err := <-got; err != nil {
				t.Fatalf("the handler's read failed: %v", err)
			}
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if a, err := readAnswer(bufio.NewReader(c), "POST"); err != nil || a.body != "read hellohello" {
				t.Fatalf("answer %+v, %v", a, err)
			}
		})
	}
}

// TestWatchRaces: handlers that return around the moment the watchdog
// starts watching them, on many connections at once: every answer
// arrives, in order, and nothing hangs (run with -race).
func TestWatchRaces(t *testing.T) {
	ended := make(chan string, 1000)
	go func() {
		for range ended {
		}
	}()
	t.Cleanup(func() { close(ended) })
	dial := dialers(t, waitServers(ended))["tcp"]
	const conns, requests = 40, 4
	errs := make(chan error, conns)
	cs := make([]net.Conn, conns) // dialed here: dial fails the test with t.Fatal
	for i := range cs {
		cs[i] = dial()
	}
	for i, c := range cs {
		go func() {
			br := bufio.NewReader(c)
			c.SetDeadline(time.Now().Add(20 * time.Second))
			for j := range requests {
				// 230-520 ms: across the watchdog's first and second looks.
				d := time.Duration(230+((i*7+j*13)%30)*10) * time.Millisecond
				raw := "GET /wait/" + d.String() + " HTTP/1.1\r\nHost: h\r\n\r\n"
				if j%2 == 1 {
					raw = "POST /wait/" + d.String() + " HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\nok"
				}
				io.WriteString(c, raw)
				a, err := readAnswer(br, "GET")
				if err != nil || a.body != "waited "+d.String() {
					errs <- fmt.Errorf("connection %d, request %d: %+v, %v", i, j, a, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range conns {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
