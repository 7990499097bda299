package cache

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func memfd(body []byte) (*os.File, error) {
	fd, err := unix.MemfdCreate("openfront-cache", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd:openfront-cache")
	if _, err := f.Write(body); err != nil {
		f.Close()
		return nil, fmt.Errorf("memfd write: %w", err)
	}
	// Sealed: no one can change a stored body under a reader.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_WRITE|unix.F_SEAL_GROW|unix.F_SEAL_SHRINK|unix.F_SEAL_SEAL); err != nil {
		f.Close()
		return nil, fmt.Errorf("memfd seal: %w", err)
	}
	return f, nil
}

// dupFile fails, rather than dup some other descriptor, when f is closed:
// Control holds f open while it runs.
func dupFile(f *os.File) (*os.File, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, err
	}
	nfd := -1
	var derr error
	if err := rc.Control(func(fd uintptr) { nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0) }); err != nil {
		return nil, err
	}
	if derr != nil {
		return nil, fmt.Errorf("dup: %w", derr)
	}
	return os.NewFile(uintptr(nfd), f.Name()), nil
}

func openFileLimit() int64 {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
		return 1024
	}
	return int64(l.Cur)
}
