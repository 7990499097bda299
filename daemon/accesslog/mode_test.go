//go:build unix

package accesslog

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestLogModes: access logs hold viewers' addresses, cookies and signed
// query strings, so neither the files nor the directories the writer makes
// are for other users: 0640 and 0750 (Debian's nginx logs are 0640, group
// adm), less what the umask takes away, never more.
func TestLogModes(t *testing.T) {
	tests := []struct {
		umask            int
		wantDir, wantLog fs.FileMode
	}{
		{0o022, 0o750, 0o640},
		{0o002, 0o750, 0o640},
		{0o000, 0o750, 0o640},
		{0o027, 0o750, 0o640},
		{0o077, 0o700, 0o600},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("umask %03o", tt.umask), func(t *testing.T) {
			// The umask is the process's: no test of this package runs in parallel.
			old := syscall.Umask(tt.umask)
			defer syscall.Umask(old)
			opts := testOptions(t)
			w := mustNew(t, opts, webConfig("site", "cdn/site"))
			logAndFlush(t, w, 1)
			check := func(path string, want fs.FileMode) {
				t.Helper()
				fi, err := os.Stat(path)
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != want {
					t.Errorf("%s: mode %v, want %v", path, got, want)
				}
			}
			for _, d := range []string{"cdn", "cdn/site"} {
				check(filepath.Join(opts.Dir, d), tt.wantDir)
			}
			tmps, _ := filepath.Glob(filepath.Join(opts.Dir, "cdn/site/*.tmp"))
			if len(tmps) != 1 {
				t.Fatalf("open files %v, want one", tmps)
			}
			check(tmps[0], tt.wantLog)
			closeWriter(t, w)
			files, _ := filepath.Glob(filepath.Join(opts.Dir, "cdn/site/*.gz"))
			if len(files) != 1 {
				t.Fatalf("closed files %v, want one", files)
			}
			check(files[0], tt.wantLog)
		})
	}
}
