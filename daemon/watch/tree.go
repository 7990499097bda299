package watch

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"openfront.dev/compiler"
)

// ignoredDir reports directories the compiler skips (compiler/source.go
// ignoredDir): they are neither watched nor hashed.
func ignoredDir(name string) bool {
	return name == "cue.mod" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// configFile reports files the compiler reads.
func configFile(name string) bool {
	return strings.HasSuffix(name, ".cue") && !strings.HasPrefix(name, ".") && !strings.HasPrefix(name, "_")
}

// resolveRoot returns the real path behind dir. Watches are set on real
// paths so that a re-pointed symlink shows up as a different path.
func resolveRoot(dir string) (string, error) {
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", fmt.Errorf("config: %w", err)
	}
	return filepath.Abs(root)
}

// links lists the paths whose re-pointing or replacement changes what dir
// means: dir itself, every symlink met while resolving it, in any of its
// components (Kubernetes' ..data, git-sync's current, a link to such a link,
// or a release link above the config dir: current/config), and the real
// directory it ends at. Each is watched from its parent directory, where
// such changes land.
func links(dir string) []string {
	p, err := filepath.Abs(dir)
	if err != nil {
		return nil
	}
	out := []string{p}
	seen := map[string]bool{p: true}
	add := func(l string) {
		if !seen[l] {
			seen[l] = true
			out = append(out, l)
		}
	}
	resolved := string(filepath.Separator)
	rest := strings.Split(p, string(filepath.Separator))
	hops := 0
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		switch name {
		case "", ".":
			continue
		case "..":
			resolved = filepath.Dir(resolved)
			continue
		}
		next := filepath.Join(resolved, name)
		fi, err := os.Lstat(next)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 || hops >= 40 { // the kernel's own limit on symlink hops
			resolved = next
			continue
		}
		target, err := os.Readlink(next)
		if err != nil {
			resolved = next
			continue
		}
		hops++
		add(next)
		if filepath.IsAbs(target) {
			resolved = string(filepath.Separator)
		}
		rest = append(strings.Split(target, string(filepath.Separator)), rest...)
	}
	add(resolved)
	return out
}

// treeDirs lists the directories under root that the compiler scans
// (symlinked directories are not followed, as filepath.WalkDir does not),
// and the config files in them that are symlinks: the compiler reads
// what they point at, which may be edited elsewhere.
func treeDirs(root string) (dirs, fileLinks []string, err error) {
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if path != root && errors.Is(err, fs.ErrNotExist) {
				return nil // removed while walking: its event is on the way
			}
			return err
		}
		if !d.IsDir() {
			if d.Type()&fs.ModeSymlink != 0 && configFile(d.Name()) {
				fileLinks = append(fileLinks, path)
			}
			return nil
		}
		if path != root && ignoredDir(d.Name()) {
			return filepath.SkipDir
		}
		dirs = append(dirs, path)
		return nil
	})
	return dirs, fileLinks, err
}

// fingerprint hashes what a compile of path reads: the real root (so that a
// re-pointed link counts as a change, and gets its commit shown) and every
// config file's path and content, through symlinks; or the file's content.
// It never fails: an unreadable tree hashes to its error, which is a state
// like any other. It also reports whether a file it read was empty.
func fingerprint(path string, file bool) (sum [32]byte, empty bool) {
	h := sha256.New()
	root, err := resolveRoot(path)
	if err != nil {
		fmt.Fprintf(h, "error\x00%v", err)
		return [32]byte(h.Sum(nil)), false
	}
	fmt.Fprintf(h, "root\x00%s\x00", root)
	if file {
		b, err := os.ReadFile(root)
		fmt.Fprintf(h, "%d\x00%v\x00", len(b), err)
		h.Write(b)
		return [32]byte(h.Sum(nil)), err == nil && len(b) == 0
	}
	// The commit is part of what a table says (its source): a commit that
	// changes no config file still shows in /status, at the next rehash.
	fmt.Fprintf(h, "commit\x00%s\x00", compiler.GitCommit(root))
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && ignoredDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !configFile(d.Name()) {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		b, err := os.ReadFile(path) // follows symlinks, as the compiler does
		if err != nil {
			fmt.Fprintf(h, "file\x00%s\x00error\x00%v\x00", rel, err)
			return nil
		}
		fmt.Fprintf(h, "file\x00%s\x00%d\x00", rel, len(b))
		h.Write(b)
		empty = empty || len(b) == 0
		return nil
	})
	if err != nil {
		fmt.Fprintf(h, "error\x00%v", err)
	}
	return [32]byte(h.Sum(nil)), empty
}
