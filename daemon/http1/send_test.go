package http1

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"openfront.dev/internal/loadgen"
)

// bigBody is larger than what loopback sockets buffer (a few MiB): a
// viewer that does not read leaves the server's write waiting.
const bigBody = 16 << 20

// sendServers serves, in the clear and over TLS, a handler that answers
// /memory with one Write of bigBody bytes, /file with a file's
// SectionReader (sendfile over TCP), /paused with two small writes
// 1.3 s apart, /hijack with a write 1.3 s after the hijack; each handler's return goes to ended.
func sendServers(t *testing.T, ended chan<- string) (*Server, map[string]func(rcvbuf int) net.Conn) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(file, []byte(strings.Repeat("f", bigBody)), 0o600); err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { ended <- r.URL.Path }()
		switch r.URL.Path {
		case "/memory":
			w.Header().Set("Content-Length", "16777216")
			w.Write(make([]byte, bigBody))
		case "/file":
			f, err := os.Open(file)
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			defer f.Close()
			w.Header().Set("Content-Length", "16777216")
			io.Copy(w, io.NewSectionReader(f, 0, bigBody))
		case "/paused":
			io.WriteString(w, "first ")
			w.(http.Flusher).Flush()
			time.Sleep(1300 * time.Millisecond) // past the timeout
			io.WriteString(w, "second")
		case "/hijack":
			w.(http.Flusher).Flush()
			nc, _, err := w.(http.Hijacker).Hijack()
			if err != nil {
				return
			}
			defer nc.Close()
			time.Sleep(1300 * time.Millisecond) // past the timeout
			io.WriteString(nc, "late")
		}
	})
	cert, err := loadgen.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	tlsCfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	secure, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// A second: a loaded machine can keep a steady test viewer off the
	// CPU for a few hundred milliseconds, which is no stall.
	s := &Server{Handler: h, BodyTimeout: time.Second}
	go s.Serve(plain)
	go s.Serve(tls.NewListener(secure, tlsCfg))
	t.Cleanup(func() { s.Close() })
	dial := func(ln net.Listener) func(int) net.Conn {
		return func(rcvbuf int) net.Conn {
			d := net.Dialer{Timeout: 5 * time.Second}
			if rcvbuf > 0 {
				// Before the connect: the window scale is agreed in the SYN.
				d.Control = func(_, _ string, rc syscall.RawConn) error {
					return rc.Control(func(fd uintptr) {
						syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
					})
				}
			}
			c, err := d.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			if ln == secure {
				tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
				if err := tc.Handshake(); err != nil {
					t.Fatal(err)
				}
				c = tc
			}
			t.Cleanup(func() { c.Close() })
			return c
		}
	}
	return s, map[string]func(int) net.Conn{"tcp": dial(plain), "tls": dial(secure)}
}

// TestStalledViewer: a viewer that asks for a large answer and never
// reads it has its connection closed once one write has waited the body
// timeout (1 s), and the handler and the connection's goroutine
// return, in memory or by sendfile.
func TestStalledViewer(t *testing.T) {
	ended := make(chan string, 10)
	s, dials := sendServers(t, ended)
	for name, dial := range dials {
		for _, path := range []string{"/memory", "/file"} {
			t.Run(name+path, func(t *testing.T) {
				c := dial(4 << 10)
				io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: h\r\n\r\n")
				select {
				case p := <-ended:
					if p != path {
						t.Fatalf("handler of %s ended", p)
					}
				case <-time.After(5 * time.Second):
					t.Fatal("the handler still writes to a viewer that has not read for 5 s (body timeout 1 s)")
				}
				// What the sockets held, then the connection's end.
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, err := io.Copy(io.Discard, c)
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("read %d bytes then %v; want the server to have closed", n, err)
				}
				if n >= bigBody {
					t.Fatalf("read the whole body (%d bytes): the viewer was never stalled", n)
				}
				// The connection's goroutine is done too.
				for end := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
					s.mu.Lock()
					left := len(s.conns)
					s.mu.Unlock()
					if left == 0 {
						break
					}
					if time.Now().After(end) {
						t.Fatalf("%d connections still served 5 s after the handler ended", left)
					}
				}
			})
		}
	}
}

// TestSlowViewerNotCut: the body timeout bounds each write's wait, not
// an answer: a handler's own pause between writes, and a large body
// that a viewer takes for longer than the timeout with no long stall,
// are not cut; a hijacked connection is the handler's to bound.
func TestSlowViewerNotCut(t *testing.T) {
	ended := make(chan string, 10)
	_, dials := sendServers(t, ended)
	for name, dial := range dials {
		t.Run(name+"/paused", func(t *testing.T) {
			c := dial(0)
			io.WriteString(c, "GET /paused HTTP/1.1\r\nHost: h\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			a, err := readAnswer(bufio.NewReader(c), "GET")
			if err != nil || a.body != "first second" {
				t.Fatalf("answer %+v, %v; want both writes", a, err)
			}
			<-ended
		})
		t.Run(name+"/hijack", func(t *testing.T) {
			c := dial(0)
			io.WriteString(c, "GET /hijack HTTP/1.1\r\nHost: h\r\n\r\n")
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, err := io.ReadAll(c)
			if !strings.HasSuffix(string(b), "\r\n\r\nlate") {
				t.Fatalf("read %q, %v; want the hijacked connection's late write", b, err)
			}
			<-ended
		})
		for _, path := range []string{"/memory", "/file"} {
			t.Run(name+path, func(t *testing.T) {
				c := dial(64 << 10)
				io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: h\r\n\r\n")
				c.SetReadDeadline(time.Now().Add(10 * time.Second))
				// 50 ms pauses every MiB: 800 ms and more for the body.
				buf := make([]byte, 32<<10)
				var n, mark int64
				for {
					k, err := c.Read(buf)
					n += int64(k)
					if n-mark >= 1<<20 {
						mark = n
						time.Sleep(50 * time.Millisecond)
					}
					if err != nil || n >= bigBody {
						break
					}
				}
				if n < bigBody {
					t.Fatalf("read %d of %d bytes, head included", n, bigBody)
				}
				<-ended
			})
		}
	}
}
