package compileworker

import (
	"os"
	"path/filepath"
	"testing"
)

// The default bound of a compile, on the machines of testdata/memory: a
// root each, with what the kernel shows in /proc and /sys/fs/cgroup.
func TestDefaultMemoryOf(t *testing.T) {
	const MiB = 1 << 20
	for _, tt := range []struct {
		machine string
		want    int64
	}{
		{"big-host", DefaultMemory},        // 23.5 GiB of RAM, no limit: the cap
		{"small-host", 490 * MiB},          // 980 MiB of RAM: half, in MiB
		{"container-v2", 256 * MiB},        // cgroup v2 namespace: its root's memory.max, 512 MiB
		{"service-v2", 512 * MiB},          // the service has none, its slice 1 GiB
		{"unlimited-v2", 1 << 30},          // a pod limit of 64 GiB on 2 GiB of RAM: the RAM
		{"v1-unlimited", DefaultMemory},    // cgroup v1's "no limit", 2^63 less a page
		{"v1-limited", 384 * MiB},          // a v1 container of 768 MiB, its own path absent from its view
		{"garbled", DefaultMemory},         // files it cannot read: the cap
		{"no-such-machine", DefaultMemory}, // no /proc at all (another OS)
	} {
		t.Run(tt.machine, func(t *testing.T) {
			if got := DefaultMemoryOf(os.DirFS(filepath.Join("testdata", "memory", tt.machine))); got != tt.want {
				t.Errorf("DefaultMemoryOf = %s, want %s", bytesString(got), bytesString(tt.want))
			}
		})
	}
}
