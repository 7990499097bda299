//go:build !unix

package cache

import "os"

// lockDir: no advisory lock here; each start still empties the directory.
func lockDir(string) (*os.File, error) { return nil, nil }
