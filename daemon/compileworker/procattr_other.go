//go:build !linux

package compileworker

import "syscall"

// sysProcAttr: elsewhere a worker notices its node's death when its stdin
// ends, after the compile in flight.
func sysProcAttr() *syscall.SysProcAttr { return nil }
