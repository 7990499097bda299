package cache

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

func memfd(body []byte) (*os.File, []byte, error) {
	fd, err := unix.MemfdCreate("openfront-cache", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, nil, fmt.Errorf("memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "memfd:openfront-cache")
	if _, err := f.Write(body); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("memfd write: %w", err)
	}
	// Sealed: no one can change a stored body under a reader.
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_WRITE|unix.F_SEAL_GROW|unix.F_SEAL_SHRINK|unix.F_SEAL_SEAL); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("memfd seal: %w", err)
	}
	mapped, err := unix.Mmap(fd, 0, len(body), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("memfd mmap: %w", err)
	}
	return f, mapped, nil
}

func unmap(b []byte) { unix.Munmap(b) }

func openFileLimit() int64 {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
		return 1024
	}
	return int64(l.Cur)
}
