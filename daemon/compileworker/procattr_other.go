//go:build !linux

package compileworker

import "syscall"

// sysProcAttr: elsewhere a worker notices its node's death when its stdin
// ends, after the compile in flight.
func sysProcAttr() *syscall.SysProcAttr { return nil }

// selfPath is the file a worker runs.
func selfPath(exe string) string { return exe }
