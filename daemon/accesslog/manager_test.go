package accesslog

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"openfront.dev/compiler/table"
	"openfront.dev/internal/testenv"
	"openfront.dev/schema"
)

// compileTable compiles distributions written as CUE.
func compileTable(t *testing.T, dists string) *table.Table {
	t.Helper()
	return testenv.Compile(t, "", "package cdn\n\n"+dists)
}

func dist(id, logging string) string {
	return fmt.Sprintf(`distributions: %[1]s: {
	aliases: ["*.%[1]s.test", "%[1]s.test"]
	origins: [{id: "o", domainName: "origin.test", customOriginConfig: {originProtocolPolicy: "http-only"}}]
	defaultCacheBehavior: {targetOriginId: "o", viewerProtocolPolicy: "allow-all"}
	logging: {%[2]s}
}
`, id, logging)
}

func TestManagerFollowsTables(t *testing.T) {
	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	m, err := NewManager(Options{Dir: dir, NodeName: "TST1", Now: atT0, Registerer: reg, FlushInterval: time.Hour, RotateEvery: time.Hour,
		Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	logTo := func(id string, i int) {
		t.Helper()
		w := m.Writer(id)
		if w == nil {
			t.Fatalf("no writer for %s", id)
		}
		r := rec(i)
		if !w.Log(&r) {
			t.Fatalf("line %d for %s dropped", i, id)
		}
	}

	t1 := compileTable(t, dist("keep", `enabled: true, prefix: "k"`)+dist("gone", `enabled: true, prefix: "g"`)+
		dist("moves", `enabled: true, prefix: "old"`)+dist("quiet", `enabled: false`))
	if err := m.SetTable(t1); err != nil {
		t.Fatal(err)
	}
	if m.Writer("quiet") != nil {
		t.Error("a distribution without logging.enabled has a writer")
	}
	keep := m.Writer("keep")
	logTo("keep", 1)
	logTo("gone", 2)
	logTo("moves", 3)
	old := m.Writer("moves")

	t2 := compileTable(t, dist("keep", `enabled: true, prefix: "k", includeCookies: true`)+
		dist("moves", `enabled: true, prefix: "new"`)+dist("fresh", `enabled: true`))
	if err := m.SetTable(t2); err != nil {
		t.Fatal(err)
	}
	if m.Writer("keep") != keep {
		t.Error("a writer whose files did not change was replaced")
	}
	if m.Writer("gone") != nil {
		t.Error("a removed distribution still has a writer")
	}
	// A request that took the old writer before the swap still logs.
	r := rec(4)
	if !old.Log(&r) {
		t.Error("a line logged to the replaced writer was dropped")
	}
	logTo("moves", 5)
	c := rec(6)
	c.Cookie = "a=b"
	m.Writer("keep").Log(&c)
	logTo("fresh", 7)

	if err := m.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	files, tmps := readLogs(t, dir)
	if len(tmps) != 0 {
		t.Errorf("tmp files after Close: %v", tmps)
	}
	where := map[string][]string{}
	for _, f := range files {
		for _, l := range f.lines {
			where[field(l, 15)] = append(where[field(l, 15)], filepath.Dir(f.path))
		}
	}
	want := map[int]string{1: "k", 2: "g", 3: "old", 4: "new", 5: "new", 6: "k", 7: "."}
	for i, d := range want {
		if got := where[reqID(i)]; len(got) != 1 || got[0] != d {
			t.Errorf("line %d in %v, want once in %s/", i, got, d)
		}
	}
	for _, f := range files {
		for _, l := range f.lines {
			if field(l, 15) == reqID(6) && field(l, 13) != "a=b" {
				t.Errorf("includeCookies did not apply in place: %q", l)
			}
			if !strings.HasSuffix(field(l, 7), ".test") || strings.HasPrefix(field(l, 7), "*") {
				t.Errorf("cs(Host) %q, want the first exact alias", field(l, 7))
			}
		}
	}
	got, err := testutil.GatherAndCount(reg, "openfront_log_lines_written_total")
	if err != nil || got != 3 {
		t.Errorf("written series: %d, %v; want one per logging distribution, none for the removed one", got, err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "distribution" && l.GetValue() == "gone" {
					t.Errorf("%s still has a series for the removed distribution", mf.GetName())
				}
			}
		}
	}
	if v := testutil.ToFloat64(m.opts.Metrics.written.WithLabelValues("moves")); v != 3 {
		t.Errorf("moves wrote %v lines, want 3 across its two writers", v)
	}
}

func TestManagerBadPrefixKeepsOldWriter(t *testing.T) {
	dir := t.TempDir()
	m, err := NewManager(Options{Dir: dir, NodeName: "TST1", Now: atT0, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	if err := m.SetTable(compileTable(t, dist("a", `enabled: true, prefix: "ok"`))); err != nil {
		t.Fatal(err)
	}
	w := m.Writer("a")
	// The compiler refuses a prefix that leaves the log directory; one
	// whose directory cannot be made (a file is in the way) fails here.
	if err := os.WriteFile(filepath.Join(dir, "blocked"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	err = m.SetTable(compileTable(t, dist("a", `enabled: true, prefix: "blocked/sub"`)))
	if err == nil || !strings.Contains(err.Error(), "directory") {
		t.Errorf("SetTable = %v, want the prefix's directory refused", err)
	}
	if m.Writer("a") != w {
		t.Error("the distribution lost its writer over a bad prefix")
	}
	// A new distribution with the bad prefix has no writer at all.
	err = m.SetTable(compileTable(t, dist("a", `enabled: true, prefix: "blocked/sub"`)+dist("b", `enabled: true, prefix: "blocked/b"`)))
	if err == nil || !strings.Contains(err.Error(), "distribution b: ") || !strings.Contains(err.Error(), "distribution a: ") {
		t.Errorf("SetTable = %v, want both distributions named", err)
	}
	// /status says so.
	h := m.Health()
	if len(h) != 2 || h[0].Distribution != "a" || h[1].Distribution != "b" {
		t.Fatalf("Health = %+v, want a and b", h)
	}
	if h[0].SetupError == nil || !strings.Contains(h[0].SetupError.Message, "access log directory") || h[0].Dir != filepath.Join(dir, "ok") {
		t.Errorf("a: %+v; want its setup error, and the old writer's directory", h[0])
	}
	if h[1].SetupError == nil || h[1].Dir != "" {
		t.Errorf("b: %+v; want its setup error and no directory", h[1])
	}
	// Once the prefix is fixed the error goes.
	if err := m.SetTable(compileTable(t, dist("a", `enabled: true, prefix: "fixed"`))); err != nil {
		t.Fatal(err)
	}
	if h := m.Health(); len(h) != 1 || h[0].SetupError != nil || h[0].Dir != filepath.Join(dir, "fixed") {
		t.Errorf("Health after the fix = %+v, want a alone, writing to fixed, without error", h)
	}
}

// TestManagerBucketChangeKeepsOldFiles: the bucket changes while files
// wait for upload (the old server is down). What was written for the old
// bucket, the old writer's last file included, goes there once it is up,
// not to the new one; lines logged after the change go to the new one.
func TestManagerBucketChangeKeepsOldFiles(t *testing.T) {
	u := startUploads(t)
	m, dir, s3 := u.m, u.dir, u.s3
	if err := os.MkdirAll(filepath.Join(s3.Root, "new-logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := m.SetTable(compileTable(t, u.dist(u.dead))); err != nil {
		t.Fatal(err)
	}
	w := m.Writer("up")
	for i := range 3 {
		r := rec(i)
		w.Log(&r)
		flush(t, w) // one closed file each: MaxFileBytes is 1
	}
	r := rec(3)
	w.Log(&r) // still queued when the table changes
	eventually(t, "failed uploads to the dead server", func() bool { return metric(w.m.uploadErrors) > 0 })

	if err := m.SetTable(compileTable(t, u.distTo(s3.Endpoint, "new-logs"))); err != nil {
		t.Fatal(err)
	}
	if m.Writer("up") == w {
		t.Fatal("the writer was kept though its bucket changed")
	}
	logAndFlush(t, m.Writer("up"), 4)
	eventually(t, "the new bucket's file uploaded", func() bool { return len(localFiles(t, dir)) == 4 })
	if h := m.Health(); len(h) != 2 || h[1].Bucket != "logs" || !h[1].Retired || h[1].PendingFiles != 4 {
		t.Errorf("Health = %+v, want the new log and the old one still uploading 4 files to its bucket", h)
	}
	serveS3At(t, u.dead, s3)
	eventually(t, "uploads to the old bucket", func() bool { return len(localFiles(t, dir)) == 0 })
	for bucket, want := range map[string][]int{"logs": {0, 1, 2, 3}, "new-logs": {4}} {
		bucketHolds(t, s3, bucket, want)
	}
	eventually(t, "the old uploader gone", func() bool { return uploaders() == 1 && len(m.Health()) == 1 })
}

// TestManagerRetiredLogUploads: a distribution's logging goes (removed,
// turned off, or its bucket dropped) while its files wait for a bucket
// that is down: they stay until it is up, are uploaded to it, removed
// locally, and then the uploader stops. /status shows them meanwhile.
func TestManagerRetiredLogUploads(t *testing.T) {
	for _, c := range []struct{ name, next string }{
		{"removed", dist("other", `enabled: false`)},
		{"logging off", dist("up", `enabled: false`)},
		{"bucket dropped", dist("up", `enabled: true, prefix: "edge"`)},
	} {
		t.Run(c.name, func(t *testing.T) {
			u := startUploads(t)
			m, dir, s3 := u.m, u.dir, u.s3
			if err := m.SetTable(compileTable(t, u.dist(u.dead))); err != nil {
				t.Fatal(err)
			}
			w := m.Writer("up")
			for i := range 3 {
				logAndFlush(t, w, i)
			}
			r := rec(3)
			w.Log(&r)
			eventually(t, "failed uploads", func() bool { return metric(w.m.uploadErrors) > 0 })
			if err := m.SetTable(compileTable(t, c.next)); err != nil {
				t.Fatal(err)
			}
			var retired *Health
			for _, h := range m.Health() {
				if h.Retired {
					retired = &h
				}
			}
			if retired == nil || retired.Distribution != "up" || retired.Bucket != "logs" || retired.PendingFiles != 4 {
				t.Errorf("Health = %+v, want up's retired log with 4 files waiting for logs", m.Health())
			}
			if n := len(localFiles(t, dir)); n != 4 {
				t.Errorf("%d local files while the bucket is down, want 4", n)
			}
			serveS3At(t, u.dead, s3)
			eventually(t, "every file uploaded", func() bool { return len(localFiles(t, dir)) == 0 })
			files, _ := readLogs(t, filepath.Join(s3.Root, "logs"))
			ids := countIDs(files)
			for i := range 4 {
				if ids[reqID(i)] != 1 {
					t.Errorf("line %d is in the bucket %d times, want once", i, ids[reqID(i)])
				}
			}
			eventually(t, "the uploader stopped", func() bool { return uploaders() == 0 })
			for _, h := range m.Health() {
				if h.Retired {
					t.Errorf("Health still has %+v once uploaded", h)
				}
			}
		})
	}
}

// TestOrphanFilesAfterRestart: a node stopped with files for a bucket
// that was down, or with files written without a bucket, starts again
// with a config whose distribution no longer logs. Files for a bucket are
// uploaded to it; the others are kept and shown stranded, until the
// distribution logs again (to a bucket) and uploads them.
func TestOrphanFilesAfterRestart(t *testing.T) {
	u := startUploads(t)
	dir, s3 := u.dir, u.s3
	// The first run: "up" writes for a bucket that is down, "local" with
	// no bucket; the node stops before the bucket is back.
	u.firstRun(t, u.dist(u.dead)+dist("local", `enabled: true, prefix: "loc"`), func(m *Manager) {
		for i := range 2 {
			logAndFlush(t, m.Writer("up"), i)
			r := rec(10 + i)
			m.Writer("local").Log(&r)
		}
	})
	if n := len(localFiles(t, dir)); n != 3 {
		t.Fatalf("%d files after the first run, want 3: %v", n, localFiles(t, dir))
	}

	// The next run, whose config has neither.
	serveS3At(t, u.dead, s3)
	reg := prometheus.NewRegistry()
	m, err := NewManager(Options{Dir: dir, NodeName: "TST1", Now: atT0, Registerer: reg, Logger: quietLogger(), MinBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(context.Background())
	if err := m.SetTable(compileTable(t, dist("other", `enabled: false`))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "up's files uploaded", func() bool { return len(localFiles(t, dir)) == 1 && len(m.Health()) == 1 })
	files, _ := readLogs(t, filepath.Join(s3.Root, "logs"))
	if ids := countIDs(files); ids[reqID(0)] != 1 || ids[reqID(1)] != 1 || len(ids) != 2 {
		t.Errorf("bucket has %v, want up's two lines once", ids)
	}
	if left := localFiles(t, dir); len(left) != 1 || !strings.HasPrefix(left[0], "loc"+string(filepath.Separator)+"local.") {
		t.Errorf("local files %v, want local's file kept", left)
	}
	h := m.Health()
	if len(h) != 1 || h[0].Distribution != "local" || h[0].Stranded == nil || h[0].StrandedFiles != 1 ||
		!strings.Contains(h[0].Stranded.Message, "without a bucket") {
		t.Errorf("Health = %+v, want local's file stranded", h)
	}
	if v := testutil.ToFloat64(m.opts.Metrics.stranded.WithLabelValues("local")); v != 1 {
		t.Errorf("openfront_log_stranded_files{distribution=local} = %v, want 1", v)
	}

	// local logs again, to a bucket: its writer takes the file.
	if err := m.SetTable(compileTable(t, dist("local", fmt.Sprintf(`enabled: true, bucket: "logs", endpoint: %q, region: "us-east-1", prefix: "new"`, s3.Endpoint)))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "local's file uploaded", func() bool { return len(localFiles(t, dir)) == 0 })
	if h := m.Health(); len(h) != 1 || h[0].Stranded != nil {
		t.Errorf("Health = %+v, want nothing stranded", h)
	}
	if n, _ := testutil.GatherAndCount(reg, "openfront_log_stranded_files"); n != 0 {
		t.Errorf("%d stranded series once taken, want none", n)
	}
}

// TestManagerDistributionComesAndGoes removes and adds back, again and
// again, a distribution whose bucket is down: its files wait for the
// bucket, retried by one uploader, not by one more per removal (each a
// pair of goroutines that lived until shutdown), and all reach the bucket
// once it is up.
func TestManagerDistributionComesAndGoes(t *testing.T) {
	u := startUploads(t)
	m, dir, s3 := u.m, u.dir, u.s3
	with, without := compileTable(t, u.dist(u.dead)), compileTable(t, dist("other", `enabled: false`))
	const cycles = 20
	for i := range cycles {
		if err := m.SetTable(with); err != nil {
			t.Fatal(err)
		}
		w := m.Writer("up")
		r := rec(i)
		w.Log(&r)
		flush(t, w) // a closed file: MaxFileBytes is 1
		if err := m.SetTable(without); err != nil {
			t.Fatal(err)
		}
	}
	if n := uploaders(); n > 1 {
		t.Errorf("%d uploaders after the distribution went %d times, want 1", n, cycles)
	}
	serveS3At(t, u.dead, s3) // the bucket comes back
	eventually(t, "every file uploaded", func() bool { return len(localFiles(t, dir)) == 0 })
	files, _ := readLogs(t, filepath.Join(s3.Root, "logs"))
	ids := countIDs(files)
	for i := range cycles {
		if ids[reqID(i)] != 1 {
			t.Errorf("line %d is in the bucket %d times, want once", i, ids[reqID(i)])
		}
	}
}

// TestRestartAfterBucketChange: a node stopped with files for a bucket
// that was down starts again with a config that logs the distribution to
// another bucket: the old files go to the old bucket once it is up, not
// to the new one.
func TestRestartAfterBucketChange(t *testing.T) {
	u := startUploads(t)
	dir, s3 := u.dir, u.s3
	if err := os.MkdirAll(filepath.Join(s3.Root, "new-logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	u.firstRun(t, u.dist(u.dead), func(m *Manager) {
		for i := range 2 {
			logAndFlush(t, m.Writer("up"), i)
		}
	})
	m := u.m
	if err := m.SetTable(compileTable(t, u.distTo(s3.Endpoint, "new-logs"))); err != nil {
		t.Fatal(err)
	}
	logAndFlush(t, m.Writer("up"), 2)
	eventually(t, "the new file uploaded", func() bool { return len(localFiles(t, dir)) == 2 })
	serveS3At(t, u.dead, s3)
	eventually(t, "the old files uploaded", func() bool { return len(localFiles(t, dir)) == 0 })
	for bucket, want := range map[string][]int{"logs": {0, 1}, "new-logs": {2}} {
		bucketHolds(t, s3, bucket, want)
	}
}

// bucketHolds checks that bucket holds lines want, each once, and no other.
func bucketHolds(t *testing.T, s3 *testenv.S3, bucket string, want []int) {
	t.Helper()
	files, _ := readLogs(t, filepath.Join(s3.Root, bucket))
	ids := countIDs(files)
	for _, i := range want {
		if ids[reqID(i)] != 1 {
			t.Errorf("line %d is in bucket %s %d times, want once", i, bucket, ids[reqID(i)])
		}
	}
	if len(ids) != len(want) {
		t.Errorf("bucket %s has lines %v, want %v", bucket, ids, want)
	}
}

// firstRun is an earlier run of a node on u's log directory, with the
// distributions of cue, in which write logs; it stops at once, leaving
// what it did not upload, and the next manager of the test starts as a
// new process would.
func (u *uploads) firstRun(t *testing.T, cue string, write func(*Manager)) {
	t.Helper()
	first, err := NewManager(Options{Dir: u.dir, NodeName: "TST1", Now: atT0, MaxFileBytes: 1, FlushInterval: time.Hour, Logger: quietLogger(),
		MinBackoff: time.Hour, MaxBackoff: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := first.SetTable(compileTable(t, cue)); err != nil {
		t.Fatal(err)
	}
	write(first)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	first.Close(ctx)
	dirIndexes.Delete(u.dir)
}

// uploaders counts the running uploaders' goroutines.
func uploaders() int {
	buf := make([]byte, 1<<20)
	return strings.Count(string(buf[:runtime.Stack(buf, true)]), "accesslog.(*uploader).run(")
}

// uploads is a manager whose files are cut at every line, a bucket
// (versitygw) and the endpoint of one that is down.
type uploads struct {
	m    *Manager
	dir  string
	s3   *testenv.S3
	dead string
}

func startUploads(t *testing.T) *uploads {
	t.Helper()
	u := &uploads{s3: startS3(t, ""), dead: fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t)), dir: t.TempDir()}
	var err error
	u.m, err = NewManager(Options{Dir: u.dir, NodeName: "TST1", Now: atT0, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		MaxFileBytes: 1, FlushInterval: time.Hour, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Uploads to the dead bucket give up soon.
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		u.m.Close(ctx)
	})
	return u
}

// dist is distribution "up", logging to bucket "logs" at endpoint.
func (u *uploads) dist(endpoint string) string { return u.distTo(endpoint, "logs") }

// distTo is distribution "up", logging to bucket at endpoint.
func (u *uploads) distTo(endpoint, bucket string) string {
	return dist("up", fmt.Sprintf(`enabled: true, bucket: %q, endpoint: %q, region: "us-east-1", prefix: "edge"`, bucket, endpoint))
}

// TestOrphanForUnreachableBucket: a file an earlier run wrote for a
// bucket this run cannot upload to (its credentials profile is gone) is
// kept and shown stranded, even though the distribution now logs to
// another bucket: its writer does not take it, as files go only to the
// bucket they were written for.
func TestOrphanForUnreachableBucket(t *testing.T) {
	u := startUploads(t)
	dir, s3 := u.dir, u.s3
	if err := os.MkdirAll(filepath.Join(s3.Root, "new-logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	orphan := filepath.Join("edge", "up.2026-12-05-22.ORPHAN.gz")
	writeTagged(t, filepath.Join(dir, orphan), schema.Logging{Bucket: "logs", Endpoint: s3.Endpoint, Region: "us-east-1", CredentialsProfile: "gone"})

	m := u.m
	if err := m.SetTable(compileTable(t, u.distTo(s3.Endpoint, "new-logs"))); err != nil {
		t.Fatal(err)
	}
	logAndFlush(t, m.Writer("up"), 2)
	eventually(t, "the new file uploaded, the orphan kept", func() bool {
		left := localFiles(t, dir)
		return len(left) == 1 && left[0] == orphan
	})
	bucketHolds(t, s3, "new-logs", []int{2})
	var stranded []Health
	for _, h := range m.Health() {
		if h.Stranded != nil {
			stranded = append(stranded, h)
		}
	}
	if len(stranded) != 1 || stranded[0].Distribution != "up" || stranded[0].Bucket != "logs" || stranded[0].StrandedFiles != 1 ||
		!strings.Contains(stranded[0].Stranded.Message, "gone") {
		t.Errorf("stranded %+v, want up's file for bucket logs, with why", stranded)
	}
	if v := testutil.ToFloat64(m.opts.Metrics.stranded.WithLabelValues("up")); v != 1 {
		t.Errorf("openfront_log_stranded_files{distribution=up} = %v, want 1", v)
	}
}

// writeTagged writes a log file with only the header lines, named for
// logging l's bucket as a writer names it.
func writeTagged(t *testing.T, path string, l schema.Logging) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	z.Comment = uploadTag(l)
	z.Write(Web.Header())
	z.Close()
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestHeldFilesSentOnceReachable: a file an earlier run wrote for a bucket
// this run could not upload to at start (its credentials profile gone) is
// uploaded there by a later reload that makes the bucket reachable (the
// profile is back), or once the distribution logs to that bucket again,
// and is no longer stranded.
func TestHeldFilesSentOnceReachable(t *testing.T) {
	for _, tc := range []struct {
		name  string
		later func(u *uploads) string // the config of the reload after the profile is back
	}{
		{"profile back", func(u *uploads) string { return u.distTo(u.s3.Endpoint, "new-logs") }},
		{"logs to that bucket again", func(u *uploads) string {
			return dist("up", fmt.Sprintf(`enabled: true, bucket: "logs", endpoint: %q, region: "us-east-1", credentialsProfile: "gone", prefix: "edge"`, u.s3.Endpoint))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := startUploads(t)
			dir, s3, m := u.dir, u.s3, u.m
			if err := os.MkdirAll(filepath.Join(s3.Root, "new-logs"), 0o755); err != nil {
				t.Fatal(err)
			}
			orphan := filepath.Join("edge", "up.2026-12-05-22.ORPHAN.gz")
			writeTagged(t, filepath.Join(dir, orphan), schema.Logging{Bucket: "logs", Endpoint: s3.Endpoint, Region: "us-east-1", CredentialsProfile: "gone"})
			first := compileTable(t, u.distTo(s3.Endpoint, "new-logs"))
			for range 2 { // a reload that changes nothing for the profile keeps it held
				if err := m.SetTable(first); err != nil {
					t.Fatal(err)
				}
			}
			if v := testutil.ToFloat64(m.opts.Metrics.stranded.WithLabelValues("up")); v != 1 {
				t.Fatalf("openfront_log_stranded_files{distribution=up} = %v, want 1 before the profile is back", v)
			}

			profile := fmt.Sprintf("[profile gone]\naws_access_key_id = %s\naws_secret_access_key = %s\n", s3.AccessKey, s3.SecretKey)
			if err := os.WriteFile(os.Getenv("AWS_CONFIG_FILE"), []byte(profile), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := m.SetTable(compileTable(t, tc.later(u))); err != nil {
				t.Fatal(err)
			}
			eventually(t, "the held file uploaded", func() bool { return len(localFiles(t, dir)) == 0 })
			if _, err := os.Stat(filepath.Join(s3.Root, "logs", orphan)); err != nil {
				t.Errorf("the held file is not in bucket logs: %v", err)
			}
			for _, h := range m.Health() {
				if h.Stranded != nil {
					t.Errorf("still stranded: %+v", h)
				}
			}
			if n := testutil.CollectAndCount(m.opts.Metrics.stranded); n != 0 {
				t.Errorf("%d stranded series once sent, want none", n)
			}
		})
	}
}
