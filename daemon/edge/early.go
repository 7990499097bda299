package edge

import (
	"context"
	"net/http"
)

// Early data (RFC 8470). An HTTP/3 viewer resuming a session may send its
// first requests in QUIC's 0-RTT packets, before the handshake completes.
// Anyone who captured those packets can replay them, and the node cannot
// tell a replay from the original until the handshake completes, which a
// replay never does. So, while a request's connection is still in its
// handshake:
//   - a request that is not safe (anything but GET, HEAD and OPTIONS) is
//     answered 425 Too Early: the viewer sends it again once the
//     handshake is done;
//   - a request forwarded to an origin carries Early-Data: 1, as an
//     intermediary must, so that the origin can answer 425 itself;
//   - cache hits are served: a replayed hit changes nothing.
// Cache hits, the point of 0-RTT, keep their saved round trip.

// handshakeKey is the context key of a connection's handshake channel.
type handshakeKey struct{}

// WithHandshake marks a viewer connection's context with done, closed
// once the connection's handshake has completed (quic-go's
// HandshakeComplete): the server's ConnContext calls it for HTTP/3.
func WithHandshake(ctx context.Context, done <-chan struct{}) context.Context {
	return context.WithValue(ctx, handshakeKey{}, done)
}

// inEarlyData reports whether r's connection is still in its handshake:
// r came in early data and may be a replay.
func inEarlyData(r *http.Request) bool {
	done, _ := r.Context().Value(handshakeKey{}).(<-chan struct{})
	if done == nil {
		return false
	}
	select {
	case <-done:
		return false
	default:
		return true
	}
}

// safeMethod: RFC 9110 9.2.1's safe methods, which a replay cannot use
// to change anything at the origin (TRACE is not served).
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

var earlyDataValue = []string{"1"}
