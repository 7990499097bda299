package compileworker

import (
	"bufio"
	"bytes"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
)

// NodeMemory is DefaultMemoryOf this machine.
func NodeMemory() int64 { return DefaultMemoryOf(os.DirFS("/")) }

// DefaultMemoryOf is the default bound of a compile on the machine whose
// root is root: half of what the node may use, at most DefaultMemory. A
// fixed 2 GiB is no bound on a node of 1 GiB, or in a container of 512 MiB:
// the kernel would kill the node before the worker reached it. The other
// half is the node's: its table (the old and the new one during a
// reload), its cache. DefaultMemory when the machine does not say.
func DefaultMemoryOf(root fs.FS) int64 {
	n := nodeMemory(root)
	if n <= 0 {
		return DefaultMemory
	}
	return min(DefaultMemory, n/2&^(1<<20-1)) // in MiB, as --help and errors show it
}

// nodeMemory is what the node may use: the smallest of the RAM (MemTotal
// in /proc/meminfo) and the memory limits of the process's cgroup and of
// its ancestors (a systemd slice, a container's pod); 0 when unknown.
func nodeMemory(root fs.FS) int64 {
	n := memTotal(root)
	for _, limit := range cgroupLimits(root) {
		if n <= 0 || limit < n {
			n = limit
		}
	}
	return n
}

// memTotal is /proc/meminfo's MemTotal in bytes, 0 when unknown.
func memTotal(root fs.FS) int64 {
	b, err := fs.ReadFile(root, "proc/meminfo")
	if err != nil {
		return 0
	}
	s := bufio.NewScanner(bytes.NewReader(b))
	for s.Scan() {
		// MemTotal:       24683792 kB
		if rest, ok := strings.CutPrefix(s.Text(), "MemTotal:"); ok {
			f := strings.Fields(rest)
			if len(f) != 2 || f[1] != "kB" {
				return 0
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			if err != nil || kb <= 0 || kb > 1<<50 {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}

// cgroupLimits are the memory limits set on the process's cgroup and its
// ancestors, by /proc/self/cgroup: cgroup v2's memory.max under
// /sys/fs/cgroup ("max" is none), or v1's memory.limit_in_bytes under
// /sys/fs/cgroup/memory (where none is a huge number). In a container
// the process's path may not exist in its view of the hierarchy, whose
// root is then its own cgroup: walking up reaches it.
func cgroupLimits(root fs.FS) []int64 {
	b, err := fs.ReadFile(root, "proc/self/cgroup")
	if err != nil {
		return nil
	}
	var limits []int64
	for line := range strings.Lines(string(b)) {
		// 0::/system.slice/openfront.service (v2), 4:memory:/docker/ID (v1)
		f := strings.SplitN(strings.TrimSpace(line), ":", 3)
		if len(f) != 3 || !strings.HasPrefix(f[2], "/") {
			continue
		}
		var dir, file string
		switch {
		case f[0] == "0" && f[1] == "":
			dir, file = "sys/fs/cgroup", "memory.max"
		case strings.Contains(","+f[1]+",", ",memory,"):
			dir, file = "sys/fs/cgroup/memory", "memory.limit_in_bytes"
		default:
			continue
		}
		for p := path.Clean(f[2]); ; p = path.Dir(p) {
			if b, err := fs.ReadFile(root, path.Join(dir, p, file)); err == nil {
				if n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && n > 0 {
					limits = append(limits, n)
				}
			}
			if p == "/" {
				break
			}
		}
	}
	return limits
}
