package cache

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// A disk tier object is two files: obj-N, the body as served, and
// obj-N.meta, what the entry says of it (diskMeta, JSON). Both are written
// under temporary names and renamed, the description first, so a body
// file has its whole description or none. At start the tier loads what an
// earlier run left (as nginx's cache loader): a body whose size is not the
// one described (cut short or emptied by a disk error or a crash), a body
// or description without the other, a temporary file (a kill -9 mid
// write) and an object past the time it is kept are removed, the damaged
// ones counted.

// A variant is found through its Vary mark, which the memory tier holds.
// Close saves the marks its variants on disk are stored under in
// marksFile; a start finds those variants again and removes the others:
// those of a mark an unsafe method removed or other fields replaced, and
// all after a crash, when no file says which marks were live.

// diskMetaVersion changes when diskMeta does: files of another version
// are removed at start, not misread.
const diskMetaVersion = 1

type diskMeta struct {
	Version int         `json:"v"`
	Key     string      `json:"key"`
	Status  int         `json:"status"`
	Header  http.Header `json:"header"`
	Size    int64       `json:"size"`
	// Stored is when the entry went into the tier (Unix ns): with Retain,
	// how long it is kept from then.
	Stored       int64         `json:"stored"`
	Retain       time.Duration `json:"retain"`
	ResponseTime int64         `json:"responseTime"`
	InitialAge   time.Duration `json:"initialAge"`
	TTL          time.Duration `json:"ttl"`
	SWR          time.Duration `json:"swr"`
	SIE          time.Duration `json:"sie"`
	MaxStale     time.Duration `json:"maxStale"`
	NoStale      bool          `json:"noStale,omitempty"`
	WindowsHold  bool          `json:"windowsHold,omitempty"`
	Surrogate    []string      `json:"surrogate,omitempty"`
	Transformed  bool          `json:"transformed,omitempty"`
	OriginETag   string        `json:"originETag,omitempty"`
	// Vary is the mark a variant was stored under.
	Vary *diskVary `json:"vary,omitempty"`
}

// diskVary is the Vary mark of a variant on disk: restored with it, so the
// variant is found again after a restart.
type diskVary struct {
	Primary string   `json:"primary"`
	Names   []string `json:"names"`
	Gen     uint64   `json:"gen"`
}

func metaOf(key string, e *entry, stored time.Time) diskMeta {
	return diskMeta{
		Version: diskMetaVersion, Key: key, Status: e.status, Header: e.header, Size: e.size,
		Stored: stored.UnixNano(), Retain: e.retain, ResponseTime: e.responseTime.UnixNano(), InitialAge: e.initialAge,
		TTL: e.ttl, SWR: e.swr, SIE: e.sie, MaxStale: e.maxStale, NoStale: e.noStale, WindowsHold: e.windowsHold,
		Surrogate: e.surrogate, Transformed: e.transformed, OriginETag: e.originETag, Vary: e.diskVary,
	}
}

// entry is the stored entry m describes, its body in file.
func (m *diskMeta) entry(file string) *entry {
	e := &entry{
		kind: kindObject, status: m.Status, header: m.Header, etag: m.Header.Get("ETag"), lastModified: m.Header.Get("Last-Modified"),
		responseTime: time.Unix(0, m.ResponseTime), initialAge: m.InitialAge, ttl: m.TTL, swr: m.SWR, sie: m.SIE,
		maxStale: m.MaxStale, noStale: m.NoStale, windowsHold: m.WindowsHold, surrogate: m.Surrogate,
		transformed: m.Transformed, originETag: m.OriginETag, file: file, size: m.Size, diskKey: m.Key, diskVary: m.Vary,
	}
	e.rep = *newRep(m.Status, m.Header, m.Size, nil)
	e.weigh(m.Key)
	return e
}

// writeMeta writes e's description next to the body file it is to have.
func (d *disk) writeMeta(key string, e *entry) error {
	b, err := json.Marshal(metaOf(key, e, d.now()))
	if err != nil {
		return err
	}
	tmp := filepath.Join(d.dir, "tmp-"+strconv.FormatUint(d.seq.Add(1), 36))
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, e.file+metaSuffix); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

const metaSuffix = ".meta"

// marksFile holds, from Close to the next start, the live Vary marks.
const marksFile = "marks.json"

// writeMarks saves marks for the next start.
func (d *disk) writeMarks(marks map[string]diskVary) error {
	b, err := json.Marshal(marks)
	if err != nil {
		return err
	}
	tmp := filepath.Join(d.dir, "tmp-marks")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		os.Remove(tmp)
		return err
	}
	return os.Rename(tmp, filepath.Join(d.dir, marksFile))
}

// readMarks reads and removes the marks the last Close saved: none after
// a crash, or when the file is damaged.
func (d *disk) readMarks() map[string]diskVary {
	path := filepath.Join(d.dir, marksFile)
	b, err := os.ReadFile(path)
	os.Remove(path) // a later crash must not find it
	var marks map[string]diskVary
	if err != nil || json.Unmarshal(b, &marks) != nil {
		return nil
	}
	return marks
}

// removeFiles removes an object's body and description.
func removeFiles(file string) {
	os.Remove(file + metaSuffix)
	os.Remove(file)
}

// load indexes the objects an earlier run left in the tier's directory
// and returns the Vary marks of their variants.
func (d *disk) load() (marks map[string]diskVary, loaded int, err error) {
	des, err := os.ReadDir(d.dir)
	if err != nil {
		return nil, 0, err
	}
	saved := d.readMarks()
	names := map[string]bool{}
	for _, de := range des {
		names[de.Name()] = true
	}
	type found struct {
		m    diskMeta
		file string
	}
	var objs []found
	var maxSeq uint64
	for _, de := range des {
		name := de.Name()
		path := filepath.Join(d.dir, name)
		base, isMeta := strings.CutSuffix(name, metaSuffix)
		if n, err := strconv.ParseUint(strings.TrimPrefix(base, "obj-"), 36, 64); err == nil {
			maxSeq = max(maxSeq, n)
		}
		switch {
		case name == marksFile: // read and removed above
		case !strings.HasPrefix(name, "obj-"):
			// tmp-*: written when a run stopped. Anything else is not ours
			// to keep in our directory either.
			d.damaged.Add(1)
			os.RemoveAll(path)
		case !isMeta:
			if !names[name+metaSuffix] {
				d.damaged.Add(1)
				os.Remove(path)
			}
		default:
			file := filepath.Join(d.dir, base)
			m, why := readMeta(path, file)
			if why != "" {
				d.damaged.Add(1)
				d.log.Warn("disk tier: removed a damaged object", "file", file, "why", why)
				removeFiles(file)
				continue
			}
			objs = append(objs, found{m, file})
		}
	}
	d.seq.Store(maxSeq)
	// Newest first: when the tier is smaller now, otter's admission (a
	// newcomer no more used than what it would evict stays out) then
	// favours the most recently stored.
	slices.SortFunc(objs, func(a, b found) int { return cmp.Compare(b.m.Stored, a.m.Stored) })
	now := d.now()
	seen := map[string]bool{}
	for _, o := range objs {
		e := o.m.entry(o.file)
		// Kept as long as it was to be kept from its store.
		e.retain = o.m.Retain - now.Sub(time.Unix(0, o.m.Stored))
		// A key's older copy (its replacement's removal cut short by a
		// crash) is not brought back over the newer, even when the newer
		// is no longer kept.
		older := seen[o.m.Key]
		seen[o.m.Key] = true
		v := o.m.Vary
		orphan := v != nil && (saved[v.Primary].Gen != v.Gen || !slices.Equal(saved[v.Primary].Names, v.Names))
		if older || orphan || e.retain <= 0 || e.diskWeight() > d.maxEntry {
			removeFiles(o.file)
			continue
		}
		d.insert(o.m.Key, e)
	}
	marks = map[string]diskVary{}
	for _, o := range objs {
		if _, ok := d.index.GetEntryQuietly(o.m.Key); !ok {
			continue // expired, or evicted for a tier smaller now
		}
		loaded++
		if v := o.m.Vary; v != nil {
			marks[v.Primary] = saved[v.Primary]
		}
	}
	return marks, loaded, nil
}

// readMeta reads the description at path of the body in file; why says
// what is wrong with them.
func readMeta(path, file string) (m diskMeta, why string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return m, err.Error()
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return m, fmt.Sprintf("description: %v", err)
	}
	if m.Version != diskMetaVersion || m.Key == "" || m.Header == nil {
		return m, fmt.Sprintf("description of version %d", m.Version)
	}
	fi, err := os.Stat(file)
	if err != nil {
		return m, err.Error()
	}
	if fi.Size() != m.Size {
		return m, fmt.Sprintf("%d bytes, described as %d", fi.Size(), m.Size)
	}
	return m, ""
}
