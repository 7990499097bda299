//go:build !linux

package http1

import (
	"errors"
	"net"
	"os"
	"syscall"
)

type sender struct{}

func newSender(syscall.Conn, func()) (*sender, error) { return nil, errors.ErrUnsupported }

func (*sender) send([]byte, *os.File, int64, int64) (int64, error) {
	return 0, errors.ErrUnsupported
}

// pendingInput: no cheap way to peek here; the buffered bytes alone say
// the client sent more (serveRequest).
func pendingInput(net.Conn) bool { return false }
