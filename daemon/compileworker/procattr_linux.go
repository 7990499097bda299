package compileworker

import "syscall"

// sysProcAttr has the kernel kill the worker when the node dies: a worker
// busy on an endless compile reads no stdin that would tell it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// selfPath is the file a worker runs: this process's own, even after a
// package upgrade replaced exe, so that worker and node speak the same
// protocol and artifact format until the node restarts.
func selfPath(exe string) string { return "/proc/self/exe" }
