package compileworker

import "syscall"

// sysProcAttr has the kernel kill the worker when the node dies: a worker
// busy on an endless compile reads no stdin that would tell it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
