package http1

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkReadRequest: the head of a typical cache hit, parsed.
func BenchmarkReadRequest(b *testing.B) {
	const raw = "GET /assets/app.3f2a1c.js?v=2 HTTP/1.1\r\nHost: cdn.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n" +
		"Accept: */*\r\nAccept-Encoding: gzip, br\r\nAccept-Language: en-US,en;q=0.9\r\nConnection: keep-alive\r\n\r\n"
	sr := strings.NewReader(raw)
	c := &conn{srv: &Server{}, br: bufio.NewReaderSize(sr, 4<<10), tmpl: new(http.Request)}
	b.ReportAllocs()
	for b.Loop() {
		sr.Reset(raw)
		c.br.Reset(sr)
		if _, _, _, rerr := c.readRequest(); rerr != nil {
			b.Fatal(rerr)
		}
	}
}

// BenchmarkHit: a small cache hit over loopback keep-alive, the server's
// whole path (read, handler, one write) with a raw client.
func BenchmarkHit(b *testing.B) {
	body := []byte(strings.Repeat("x", 1024))
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Length"] = []string{"1024"}
		w.Header()["Content-Type"] = []string{"text/plain"}
		w.Write(body)
	})}
	benchLoopback(b, s, len(body))
}

// BenchmarkHitFile: a 100 KiB cache hit from a body file, sent with
// sendfile over loopback keep-alive (the path of a memory-tier blob).
func BenchmarkHitFile(b *testing.B) {
	const size = 100 << 10
	f, err := os.CreateTemp(b.TempDir(), "body")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(make([]byte, size)); err != nil {
		b.Fatal(err)
	}
	s := &Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Content-Length"] = []string{strconv.Itoa(size)}
		w.Header()["Content-Type"] = []string{"application/octet-stream"}
		w.(io.ReaderFrom).ReadFrom(io.NewSectionReader(f, 0, size))
	})}
	benchLoopback(b, s, size)
}

// benchLoopback requests the same answer of bodyLen bytes from s over one
// loopback keep-alive connection, with a raw client.
func benchLoopback(b *testing.B, s *Server, bodyLen int) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	req := []byte("GET /a.js HTTP/1.1\r\nHost: cdn.example.com\r\n\r\n")
	br := bufio.NewReaderSize(c, 8<<10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Write(req); err != nil {
			b.Fatal(err)
		}
		if err := skipAnswer(br, bodyLen); err != nil {
			b.Fatal(err)
		}
	}
}

// skipAnswer reads an answer's head (up to its empty line) and bodyLen
// bytes of body.
func skipAnswer(br *bufio.Reader, bodyLen int) error {
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) == 2 {
			break
		}
	}
	_, err := br.Discard(bodyLen)
	return err
}
