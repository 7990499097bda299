//go:build !linux

package http1

import (
	"errors"
	"os"
	"syscall"
)

func sendFile(syscall.Conn, []byte, *os.File, int64, int64, func()) (int64, error) {
	return 0, errors.ErrUnsupported
}
