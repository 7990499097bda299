//go:build !linux

package cache

import (
	"errors"
	"os"
)

func memfd([]byte) (*os.File, []byte, error) { return nil, nil, errors.ErrUnsupported }
func unmap([]byte)                           {}
func openFileLimit() int64                   { return 0 }
