//go:build !linux

package cache

import (
	"errors"
	"os"
)

func blobFile(string, []byte) (*os.File, []byte, error) { return nil, nil, errors.ErrUnsupported }
func checkBodyDir(string) error                         { return errors.ErrUnsupported }
func unmap([]byte)                                      {}
func openFileLimit() int64                              { return 0 }
