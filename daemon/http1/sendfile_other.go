//go:build !linux

package http1

import (
	"errors"
	"net"
	"os"
)

func sendFile(*net.TCPConn, []byte, *os.File, int64, int64) (int64, error) {
	return 0, errors.ErrUnsupported
}
