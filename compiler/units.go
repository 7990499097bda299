package compiler

import (
	"crypto/sha256"
	"sort"
)

// A unit is a set of files evaluated together by CUE. Files that share a
// data key (two files adding to distributions.site) or reference each other's
// top-level names must be evaluated together to keep CUE's semantics; files
// that only hold constraints (policies, definitions, pattern defaults) are
// shared: added to every unit. Everything else is evaluated apart, in
// parallel, and cached by content: a change to one file re-evaluates its unit.
type unit struct {
	files  []*sourceFile // data files, in path order
	shared []*sourceFile // constraint-only files, in every unit
	key    [32]byte      // content hash of everything evaluated
}

// planUnits groups files into units.
func planUnits(files []*sourceFile, schemaHash [32]byte) []*unit {
	var data, shared []*sourceFile
	global := false
	for _, f := range files {
		switch {
		case f.parseErr != nil:
			// Evaluated alone so its error is reported once.
			data = append(data, f)
		case f.info.global:
			global = true
			data = append(data, f)
		case len(f.info.dataKeys) == 0:
			shared = append(shared, f)
		default:
			if f.info.packageWide {
				global = true
			}
			data = append(data, f)
		}
	}

	// Who declares each top-level name.
	declaredBy := map[string][]int{} // name -> data file indexes
	for i, f := range data {
		for n := range f.info.declares {
			declaredBy[n] = append(declaredBy[n], i)
		}
	}
	// A shared file that needs a data file's name needs that file everywhere.
	for _, f := range shared {
		for n := range f.info.refs {
			if len(declaredBy[n]) > 0 {
				global = true
			}
		}
	}

	uf := newUnionFind(len(data))
	if global {
		for i := range data {
			uf.union(0, i)
		}
	} else {
		owner := map[string]int{}
		for i, f := range data {
			for _, k := range f.info.dataKeys {
				if j, ok := owner[k]; ok {
					uf.union(i, j)
				} else {
					owner[k] = i
				}
			}
			for n := range f.info.refs {
				for _, j := range declaredBy[n] {
					if j != i {
						uf.union(i, j)
					}
				}
			}
		}
	}

	groups := map[int][]*sourceFile{}
	for i, f := range data {
		r := uf.find(i)
		groups[r] = append(groups[r], f)
	}
	needed := sharedFilesFor(shared)
	var units []*unit
	for _, g := range groups {
		units = append(units, newUnit(g, needed(g), schemaHash))
	}
	// One unit of every shared file, so that errors in a library no data
	// file uses are reported too.
	if len(shared) > 0 {
		units = append(units, newUnit(nil, shared, schemaHash))
	}
	sort.Slice(units, func(i, j int) bool { return units[i].name() < units[j].name() })
	return units
}

// sharedFilesFor returns which shared files a group of data files needs:
// every package-wide file (policies, pattern constraints), and the library
// files (definitions, hidden fields) that the group or those files reference,
// transitively. A change to a library file then re-evaluates only its users.
func sharedFilesFor(shared []*sourceFile) func(group []*sourceFile) []*sourceFile {
	var wide []*sourceFile
	declaredBy := map[string][]*sourceFile{}
	for _, f := range shared {
		if f.info.packageWide {
			wide = append(wide, f)
			continue
		}
		for n := range f.info.declares {
			declaredBy[n] = append(declaredBy[n], f)
		}
	}
	return func(group []*sourceFile) []*sourceFile {
		need := map[*sourceFile]bool{}
		var queue []*sourceFile
		queue = append(queue, group...)
		queue = append(queue, wide...)
		for len(queue) > 0 {
			f := queue[0]
			queue = queue[1:]
			for n := range f.info.refs {
				for _, lib := range declaredBy[n] {
					if !need[lib] {
						need[lib] = true
						queue = append(queue, lib)
					}
				}
			}
		}
		out := append([]*sourceFile{}, wide...)
		for _, f := range shared {
			if need[f] && !f.info.packageWide {
				out = append(out, f)
			}
		}
		return out
	}
}

func newUnit(files, shared []*sourceFile, schemaHash [32]byte) *unit {
	sort.Slice(files, func(i, j int) bool { return files[i].rel < files[j].rel })
	h := sha256.New()
	h.Write(schemaHash[:])
	for _, group := range [][]*sourceFile{files, shared} {
		h.Write([]byte{0})
		for _, f := range group {
			h.Write([]byte(f.rel))
			h.Write([]byte{0})
			h.Write(f.hash[:])
		}
	}
	u := &unit{files: files, shared: shared}
	h.Sum(u.key[:0])
	return u
}

func (u *unit) name() string {
	if len(u.files) > 0 {
		return u.files[0].rel
	}
	return ""
}

type unionFind []int

func newUnionFind(n int) unionFind {
	uf := make(unionFind, n)
	for i := range uf {
		uf[i] = i
	}
	return uf
}

func (uf unionFind) find(i int) int {
	for uf[i] != i {
		uf[i] = uf[uf[i]]
		i = uf[i]
	}
	return i
}

func (uf unionFind) union(a, b int) { uf[uf.find(a)] = uf.find(b) }
