package http1

import (
	"bufio"
	"net/http"
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
