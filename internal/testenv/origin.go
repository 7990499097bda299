package testenv

import (
	"io"
	"net/http"
)

// BreakOff is an origin's answer whose body breaks off: it sends part,
// then drops the connection, as an origin that crashes or is cut off
// mid-response. Declare a Content-Length before calling it for a body of
// known length; without one an HTTP/1.1 answer is chunked and ends
// without its last chunk.
func BreakOff(w http.ResponseWriter, part string) {
	io.WriteString(w, part)
	w.(http.Flusher).Flush()
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err) // only an HTTP/1 test server is meant
	}
	conn.Close()
}
