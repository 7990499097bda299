// Package filestamp tells from a file's metadata alone whether it may have
// changed since it was read: its size, modification and change times, and
// which file it is (device and inode).
package filestamp

import (
	"io/fs"
	"syscall"
)

// Stamp is what a file's metadata says of its version.
type Stamp struct {
	Size    int64
	ModTime int64 // ns since the epoch
	// ChangeTime (the inode's ctime) moves on every write, also when a tool
	// such as rsync -t or tar restores the modification time.
	ChangeTime int64
	// ID is the file itself: a file renamed over the old one (an atomic
	// replace) or a directory link re-pointed at another tree may show the
	// same size and times.
	ID ID
}

// ID names a file on its file system.
type ID struct{ Dev, Ino uint64 }

// Of is fi's stamp.
func Of(fi fs.FileInfo) Stamp {
	return Stamp{Size: fi.Size(), ModTime: fi.ModTime().UnixNano(), ChangeTime: ChangeTime(fi), ID: IDOf(fi)}
}

// ChangeTime is fi's ctime in ns, 0 where the system does not say.
func ChangeTime(fi fs.FileInfo) int64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Ctim.Nano()
	}
	return 0
}

// IDOf is fi's device and inode, zero where the system does not say.
func IDOf(fi fs.FileInfo) ID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return ID{uint64(st.Dev), st.Ino}
	}
	return ID{}
}
