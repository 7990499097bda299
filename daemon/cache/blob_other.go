//go:build !linux

package cache

import (
	"errors"
	"os"
)

func memfd([]byte) (*os.File, error) { return nil, errors.ErrUnsupported }
func openFileLimit() int64           { return 0 }
