package testenv

import (
	"net/http"

	"github.com/coder/websocket"
)

// WebSocketEcho is a WebSocket origin: it accepts the handshake (in one
// of subprotocols when the viewer asks for it) and answers each message
// with "echo: " and the message.
func WebSocketEcho(subprotocols ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: subprotocols, InsecureSkipVerify: true})
		if err != nil {
			return // Accept answered the handshake's fault
		}
		defer c.CloseNow()
		for {
			typ, msg, err := c.Read(r.Context())
			if err != nil {
				return
			}
			if err := c.Write(r.Context(), typ, append([]byte("echo: "), msg...)); err != nil {
				return
			}
		}
	})
}
