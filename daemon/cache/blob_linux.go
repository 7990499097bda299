package cache

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// blobFile copies body into a new unlinked file, mapped read-only: an
// O_TMPFILE in dir, or a sealed memfd when dir is "".
func blobFile(dir string, body []byte) (*os.File, []byte, error) {
	f, err := newBlobFile(dir)
	if err != nil {
		return nil, nil, err
	}
	if _, err := f.Write(body); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("cache body write: %w", err)
	}
	if dir == "" {
		// Sealed: no one can change a stored body under a reader.
		if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_WRITE|unix.F_SEAL_GROW|unix.F_SEAL_SHRINK|unix.F_SEAL_SEAL); err != nil {
			f.Close()
			return nil, nil, fmt.Errorf("memfd seal: %w", err)
		}
	}
	mapped, err := unix.Mmap(int(f.Fd()), 0, len(body), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("cache body mmap: %w", err)
	}
	return f, mapped, nil
}

func newBlobFile(dir string) (*os.File, error) {
	if dir == "" {
		fd, err := unix.MemfdCreate("openfront-cache", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
		if err != nil {
			return nil, fmt.Errorf("memfd_create: %w", err)
		}
		return os.NewFile(uintptr(fd), "memfd:openfront-cache"), nil
	}
	// Unlinked from the start: nothing is left behind by a crash.
	fd, err := unix.Open(dir, unix.O_TMPFILE|unix.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cache body file in %s: %w", dir, err)
	}
	return os.NewFile(uintptr(fd), dir+"/(cache body)"), nil
}

// checkBodyDir says whether dir takes the unlinked files of blobFile.
func checkBodyDir(dir string) error {
	f, err := newBlobFile(dir)
	if err != nil {
		return err
	}
	return f.Close()
}

func unmap(b []byte) { unix.Munmap(b) }

func openFileLimit() int64 {
	var l unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &l); err != nil {
		return 1024
	}
	return int64(l.Cur)
}
