package accesslog

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"openfront.dev/internal/testenv"
)

func TestWriterFiles(t *testing.T) {
	opts := testOptions(t)
	w := mustNew(t, opts, webConfig("site", "cdn/site"))
	for i := range 5 {
		r := rec(i)
		if !w.Log(&r) {
			t.Fatal("line dropped")
		}
	}
	flush(t, w)
	if got := metric(w.m.written); got != 5 {
		t.Errorf("lines written after Flush = %d, want 5", got)
	}
	files, tmps := readLogs(t, opts.Dir)
	if len(files) != 0 || len(tmps) != 1 {
		t.Fatalf("while open: %d closed files, tmp %v; want only one .tmp", len(files), tmps)
	}
	closeWriter(t, w)
	files, tmps = readLogs(t, opts.Dir)
	if len(tmps) != 0 || len(files) != 1 {
		t.Fatalf("after Close: files %v, tmp %v; want one closed file", files, tmps)
	}
	f := files[0]
	// CloudFront's naming: PREFIX/ID.YYYY-MM-DD-HH.UNIQUE.gz, the prefix
	// getting its slash; the hour is the requests' in UTC.
	wantDir := filepath.Join("cdn", "site")
	if filepath.Dir(f.path) != wantDir || !strings.HasPrefix(filepath.Base(f.path), "site."+t0.Format("2006-01-02-15")) {
		t.Errorf("file %s, want %s/site.%s.UNIQUE.gz", f.path, wantDir, t0.Format("2006-01-02-15"))
	}
	if len(f.lines) != 5 || field(f.lines[0], 15) != reqID(0) || field(f.lines[4], 15) != reqID(4) {
		t.Errorf("lines: %q", f.lines)
	}
	if got := field(f.lines[0], 7); got != "site.example.com" {
		t.Errorf("cs(Host) = %q, want the distribution's domain", got)
	}
	if got := field(f.lines[0], 3); got != "TST1" {
		t.Errorf("x-edge-location = %q, want the node name", got)
	}
	r := rec(9)
	if w.Log(&r) {
		t.Error("Log after Close queued a line")
	}
	if got := metric(w.m.dropClosed); got != 1 {
		t.Errorf("dropped after close = %d, want 1", got)
	}
}

func TestRotationBySize(t *testing.T) {
	opts := testOptions(t)
	opts.MaxFileBytes = 2000
	w := mustNew(t, opts, webConfig("big", ""))
	const n = 300
	for i := range n {
		r := rec(i)
		w.Log(&r)
		if i%10 == 9 {
			flush(t, w) // a member every 10 lines
		}
	}
	closeWriter(t, w)
	files, tmps := readLogs(t, opts.Dir)
	if len(tmps) != 0 {
		t.Fatalf("tmp files left: %v", tmps)
	}
	if len(files) < 3 {
		t.Fatalf("%d files, want the %d-byte limit to cut several", len(files), opts.MaxFileBytes)
	}
	next := 0
	for i, f := range files {
		if i < len(files)-1 && f.size < opts.MaxFileBytes {
			t.Errorf("%s closed at %d bytes, before the %d-byte limit", f.path, f.size, opts.MaxFileBytes)
		}
		if f.size > opts.MaxFileBytes+1500 {
			t.Errorf("%s has %d bytes: it grew well past the limit", f.path, f.size)
		}
		for _, l := range f.lines {
			if got := field(l, 15); got != reqID(next) {
				t.Fatalf("%s: line %s, want %s: lines lost or out of order", f.path, got, reqID(next))
			}
			next++
		}
	}
	if next != n {
		t.Errorf("%d lines in the files, want %d", next, n)
	}
}

func TestRotationByTime(t *testing.T) {
	clock := testenv.NewClock(time.Date(2026, 3, 14, 9, 58, 10, 0, time.UTC))
	opts := testOptions(t)
	opts.Now, opts.RotateEvery = clock.Now, 5*time.Minute
	w := mustNew(t, opts, webConfig("timed", ""))
	next := 0
	log := func(n int) {
		for range n {
			r := rec(next)
			r.Time = clock.Now()
			w.Log(&r)
			next++
		}
		flush(t, w)
	}
	log(3) // 09:58:10: a file for hour 09, closing at 10:00
	clock.Set(time.Date(2026, 3, 14, 10, 0, 1, 0, time.UTC))
	log(2) // the boundary passed: a new file, hour 10, closing at 10:05
	clock.Set(time.Date(2026, 3, 14, 10, 4, 59, 0, time.UTC))
	log(1)
	if files, _ := readLogs(t, opts.Dir); len(files) != 1 {
		t.Fatalf("%d closed files at 10:04:59, want 1", len(files))
	}
	clock.Set(time.Date(2026, 3, 14, 10, 5, 0, 0, time.UTC))
	flush(t, w) // no traffic: the file closes on time all the same
	if files, tmps := readLogs(t, opts.Dir); len(files) != 2 || len(tmps) != 0 {
		t.Fatalf("at 10:05 with no traffic: %d closed files, tmp %v; want 2 and none", len(files), tmps)
	}
	clock.Set(time.Date(2026, 3, 14, 10, 40, 0, 0, time.UTC))
	log(1) // after a quiet period: no empty files for it
	closeWriter(t, w)

	files, _ := readLogs(t, opts.Dir)
	want := []struct {
		hour string
		ids  []int
	}{{"2026-03-14-09", []int{0, 1, 2}}, {"2026-03-14-10", []int{3, 4, 5}}, {"2026-03-14-10", []int{6}}}
	if len(files) != len(want) {
		t.Fatalf("%d files, want %d", len(files), len(want))
	}
	for i, wf := range want {
		f := files[i]
		var ids []string
		for _, l := range f.lines {
			ids = append(ids, field(l, 15))
		}
		var wantIDs []string
		for _, id := range wf.ids {
			wantIDs = append(wantIDs, reqID(id))
		}
		if f.hour != wf.hour || strings.Join(ids, ",") != strings.Join(wantIDs, ",") {
			t.Errorf("file %d: hour %s lines %v, want hour %s lines %v", i, f.hour, ids, wf.hour, wantIDs)
		}
	}
}

func TestRotationCutsAtTheHour(t *testing.T) {
	clock := testenv.NewClock(time.Date(2026, 3, 14, 10, 30, 0, 0, time.UTC))
	opts := testOptions(t)
	opts.Now, opts.RotateEvery = clock.Now, 2*time.Hour
	w := mustNew(t, opts, webConfig("hourly", ""))
	r := rec(0)
	r.Time = clock.Now()
	w.Log(&r)
	flush(t, w)
	clock.Set(time.Date(2026, 3, 14, 11, 0, 0, 0, time.UTC))
	r = rec(1)
	r.Time = clock.Now()
	w.Log(&r)
	closeWriter(t, w)
	files, _ := readLogs(t, opts.Dir)
	if len(files) != 2 || files[0].hour != "2026-03-14-10" || files[1].hour != "2026-03-14-11" {
		t.Fatalf("files %+v: a file must not outlive the hour in its name", files)
	}
}

// TestDropWhenFull: with the disk stuck, Log keeps returning at once and
// counts what it cannot queue; every queued line is written once the disk
// is back.
func TestDropWhenFull(t *testing.T) {
	opts := testOptions(t)
	r0 := rec(0)
	opts.BufferBytes = 64 * len(newLineFormat("TST1", "x", false).appendLine(nil, &r0)) // about 64 lines
	release := make(chan struct{})
	var stuck atomic.Bool
	opts.beforeSync = func() error {
		stuck.Store(true)
		<-release
		return nil
	}
	w := mustNew(t, opts, webConfig("slow", ""))
	var once sync.Once
	unstick := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unstick) // runs before the writer's Close
	// Get the disk stuck first: a Flush waits in its fsync.
	first := rec(-1)
	w.Log(&first)
	flushed := make(chan error, 1)
	go func() { flushed <- w.Flush(context.Background()) }()
	eventually(t, "the disk to get stuck", stuck.Load)
	const n = 20000
	queued := 1
	start := time.Now()
	var slowest time.Duration
	for i := range n {
		r := rec(i)
		t0 := time.Now()
		if w.Log(&r) {
			queued++
		}
		slowest = max(slowest, time.Since(t0))
	}
	elapsed := time.Since(start)
	dropped := metric(w.m.dropFull)
	t.Logf("%d lines in %v (slowest Log %v) with the disk stuck: %d queued, %d dropped", n, elapsed, slowest, queued, dropped)
	if queued+dropped != n+1 || dropped == 0 {
		t.Errorf("queued %d + dropped %d, want %d with drops", queued, dropped, n)
	}
	if elapsed > 5*time.Second {
		t.Errorf("logging took %v while the disk was stuck: it blocked", elapsed)
	}
	unstick()
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	closeWriter(t, w)
	files, _ := readLogs(t, opts.Dir)
	if got := len(countIDs(files)); got != queued {
		t.Errorf("%d lines in the files, want the %d queued", got, queued)
	}
	if got := metric(w.m.written); got != queued {
		t.Errorf("written counter %d, want %d", got, queued)
	}
}

// TestWriteErrorCutsTheMember: a member whose write fails is cut off, its
// lines counted as dropped, and the file stays readable after it.
func TestWriteErrorCutsTheMember(t *testing.T) {
	opts := testOptions(t)
	var calls atomic.Int32
	opts.beforeSync = func() error {
		if calls.Add(1) == 2 {
			return errors.New("disk on fire")
		}
		return nil
	}
	w := mustNew(t, opts, webConfig("flaky", ""))
	for i := range 9 {
		r := rec(i)
		w.Log(&r)
		if i%3 == 2 {
			err := w.Flush(context.Background())
			if (i == 5) != (err != nil) {
				t.Fatalf("Flush after line %d: %v", i, err)
			}
			// /status shows the failure until writing works again.
			if p := w.health().WriteError; (i == 5) != (p != nil) || p != nil && !strings.Contains(p.Message, "disk on fire") {
				t.Errorf("write error after line %d: %+v", i, p)
			}
		}
	}
	closeWriter(t, w)
	files, _ := readLogs(t, opts.Dir)
	got := countIDs(files)
	for i := range 9 {
		if want := i < 3 || i >= 6; (got[reqID(i)] == 1) != want {
			t.Errorf("line %d present %d times, want present=%v", i, got[reqID(i)], want)
		}
	}
	if d := metric(w.m.dropWrite); d != 3 {
		t.Errorf("write_error drops = %d, want 3", d)
	}
}

// TestFullMembersWaitForTheTick: members closed because they are full are
// fsynced, and their lines acknowledged, at the next flush, not one by
// one; a failed fsync drops all of them and leaves the file readable.
func TestFullMembersWaitForTheTick(t *testing.T) {
	for _, fail := range []bool{false, true} {
		opts := testOptions(t)
		var syncs atomic.Int32
		opts.beforeSync = func() error {
			if syncs.Add(1) == 2 && fail {
				return errors.New("disk on fire")
			}
			return nil
		}
		w := mustNew(t, opts, webConfig("full", ""))
		first := rec(-1)
		w.Log(&first)
		flush(t, w) // the first fsync
		r0 := rec(0)
		n := 3 * memberBytes / len(newLineFormat("TST1", "x", false).appendLine(nil, &r0)) // three members and more
		for i := range n {
			r := rec(i)
			if !w.Log(&r) {
				t.Fatalf("line %d dropped", i)
			}
		}
		eventually(t, "the writer to take the lines", func() bool {
			return w.queue.empty()
		})
		if got := syncs.Load(); got != 1 {
			t.Fatalf("%d fsyncs before the flush, want only the first", got)
		}
		if got := metric(w.m.written); got != 1 {
			t.Fatalf("%d lines acknowledged before the flush, want 1", got)
		}
		if err := w.Flush(context.Background()); (err != nil) != fail {
			t.Fatalf("Flush: %v", err)
		}
		closeWriter(t, w)
		files, _ := readLogs(t, opts.Dir)
		ids := countIDs(files)
		want := n + 1
		if fail {
			want = 1
		}
		if len(ids) != want || metric(w.m.written) != want {
			t.Errorf("fail=%v: %d lines in the files, %d acknowledged, want %d", fail, len(ids), metric(w.m.written), want)
		}
		if fail && metric(w.m.dropWrite) != n {
			t.Errorf("write_error drops = %d, want %d", metric(w.m.dropWrite), n)
		}
	}
}

func gzipMember(t *testing.T, s string) []byte {
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	z.Write([]byte(s))
	z.Close()
	return b.Bytes()
}

func TestRecoverTornFiles(t *testing.T) {
	opts := testOptions(t)
	dir := opts.Dir
	header := string(Web.Header())
	r0, r1 := rec(0), rec(1)
	lf := newLineFormat("TST1", "x", false)
	m1 := gzipMember(t, header+string(lf.appendLine(nil, &r0)))
	m2 := gzipMember(t, string(lf.appendLine(nil, &r1)))
	badCRC := gzipMember(t, "req-9999999 must not survive\n")
	badCRC[len(badCRC)-8] ^= 0xff
	write := func(name string, parts ...[]byte) {
		if err := os.WriteFile(filepath.Join(dir, name), bytes.Join(parts, nil), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	torn := gzipMember(t, "req-8888888 half written\n")
	write("rec.2026-03-14-09.AAAA.gz.tmp", m1, m2, torn[:len(torn)/2]) // killed mid-member
	write("rec.2026-03-14-09.BBBB.gz.tmp", m1, badCRC)                 // a corrupt tail
	write("rec.2026-03-14-09.CCCC.gz.tmp", torn[:5])                   // nothing whole
	write("other.2026-03-14-09.DDDD.gz.tmp", m1)                       // another distribution's
	w := mustNew(t, opts, webConfig("rec", ""))
	closeWriter(t, w)

	files, tmps := readLogs(t, dir)
	if len(tmps) != 1 || tmps[0] != "other.2026-03-14-09.DDDD.gz.tmp" {
		t.Errorf("tmp files left %v, want only the other distribution's", tmps)
	}
	byName := map[string][]string{}
	for _, f := range files {
		byName[f.path] = f.lines
	}
	if l := byName["rec.2026-03-14-09.AAAA.gz"]; len(l) != 2 {
		t.Errorf("AAAA kept %q, want its 2 whole lines", l)
	}
	if l := byName["rec.2026-03-14-09.BBBB.gz"]; len(l) != 1 {
		t.Errorf("BBBB kept %q, want the line before the corrupt member", l)
	}
	if _, ok := byName["rec.2026-03-14-09.CCCC.gz"]; ok || len(files) != 2 {
		t.Errorf("files %v: a file with no whole member must be removed", files)
	}
}

// TestCrashLosesNoAcknowledgedLine kills processes that log as fast as
// they can (SIGKILL: no Close, no deferred code) at different moments, each
// restarted in the same directory, and counts: every line a dead writer
// acknowledged is in the files exactly once, and no line is there twice.
func TestCrashLosesNoAcknowledgedLine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	dir := t.TempDir()
	acked := map[string]bool{}
	dropped := map[string]bool{}
	const rounds = 10
	for round := range rounds {
		base := round * 1_000_000
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$")
		cmd.Env = append(os.Environ(), "ACCESSLOG_CRASH_DIR="+dir, fmt.Sprintf("ACCESSLOG_CRASH_BASE=%d", base))
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Killed at a moment unrelated to what it does: a line, a member
		// write or an fsync may be under way.
		timer := time.AfterFunc(time.Duration(20+rand.IntN(100))*time.Millisecond, func() { cmd.Process.Kill() })
		acks, upTo := 0, base
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			kind, arg, _ := strings.Cut(sc.Text(), " ")
			n, _ := strconv.Atoi(arg)
			switch kind {
			case "ACK": // every line before n is acknowledged
				upTo = max(upTo, n)
				acks++
			case "DROP":
				dropped[reqID(n)] = true
			case "ERR":
				t.Errorf("helper: %s", sc.Text())
			}
		}
		timer.Stop()
		if err := cmd.Wait(); err == nil {
			t.Fatalf("round %d: the helper finished before it was killed", round)
		}
		for i := base; i < upTo; i++ {
			acked[reqID(i)] = true
		}
		_, tmps := readLogs(t, dir)
		var torn int64
		for _, name := range tmps {
			if f, err := os.Open(filepath.Join(dir, name)); err == nil {
				info, _ := f.Stat()
				torn += info.Size() - validPrefix(f)
				f.Close()
			}
		}
		t.Logf("round %d: killed after %d acknowledged lines, %d .tmp left with %d bytes of torn tail", round, upTo-base, len(tmps), torn)
	}

	w, err := New(crashOptions(dir), webConfig("crash", "p"))
	if err != nil {
		t.Fatal(err)
	}
	closeWriter(t, w)
	files, tmps := readLogs(t, dir)
	if len(tmps) != 0 {
		t.Errorf("tmp files left after the restart: %v", tmps)
	}
	counts := countIDs(files)
	extra := 0
	for id, n := range counts {
		if n > 1 {
			t.Errorf("%s is in the logs %d times", id, n)
		}
		if !acked[id] {
			extra++
		}
	}
	for id := range acked {
		if counts[id] != 1 && !dropped[id] {
			t.Errorf("acknowledged line %s is in the logs %d times, want once", id, counts[id])
		}
	}
	t.Logf("%d files; all %d acknowledged lines once (%d dropped as the queue was full); %d unacknowledged lines survived too, once each",
		len(files), len(acked), len(dropped), extra)
}

func crashOptions(dir string) Options {
	// Members go out every millisecond without an acknowledgement too, and
	// in 256-byte writes, so a kill often lands in the middle of one.
	return Options{Dir: dir, NodeName: "TST1", Now: atT0, MaxFileBytes: 16 << 10, FlushInterval: time.Millisecond, RotateEvery: time.Hour,
		Logger: quietLogger(), writeBuf: 256}
}

// TestCrashHelper is the process TestCrashLosesNoAcknowledgedLine kills.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv("ACCESSLOG_CRASH_DIR")
	if dir == "" {
		t.Skip("run by TestCrashLosesNoAcknowledgedLine")
	}
	base, _ := strconv.Atoi(os.Getenv("ACCESSLOG_CRASH_BASE"))
	w, err := New(crashOptions(dir), webConfig("crash", "p"))
	if err != nil {
		fmt.Println("ERR", err)
		return
	}
	for i := base; i < base+900_000; i++ {
		r := rec(i)
		if !w.Log(&r) {
			fmt.Println("DROP", i)
		}
		if i%37 == 36 {
			if err := w.Flush(context.Background()); err != nil {
				fmt.Println("ERR", err)
			} else {
				fmt.Println("ACK", i+1)
			}
		}
	}
}

func TestBadPrefix(t *testing.T) {
	for _, p := range []string{"../escape", "a/../../b", "a//b", "/abs"} {
		if _, err := New(testOptions(t), webConfig("x", p)); err == nil {
			t.Errorf("prefix %q accepted", p)
		}
	}
}

// TestBigBatchesAreCutIntoMembers: lines that piled up while the disk was
// stuck are taken in one batch, and still written as members of about
// memberBytes each, so a crash tears at most one member's worth.
func TestBigBatchesAreCutIntoMembers(t *testing.T) {
	opts := testOptions(t)
	release := make(chan struct{})
	var stuck atomic.Bool
	opts.beforeSync = func() error {
		if stuck.CompareAndSwap(false, true) {
			<-release
		}
		return nil
	}
	w := mustNew(t, opts, webConfig("batch", ""))
	first := rec(-1)
	w.Log(&first)
	flushed := make(chan error, 1)
	go func() { flushed <- w.Flush(context.Background()) }()
	eventually(t, "the disk to get stuck", stuck.Load)
	r0 := rec(0)
	line := len(newLineFormat("TST1", "x", false).appendLine(nil, &r0))
	n := 3*memberBytes/line + 10
	for i := range n {
		r := rec(i)
		if !w.Log(&r) {
			t.Fatalf("line %d dropped", i)
		}
	}
	close(release)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	closeWriter(t, w)
	files, _ := readLogs(t, opts.Dir)
	if got := len(countIDs(files)); len(files) != 1 || got != n+1 {
		t.Fatalf("%d files with %d lines, want one with %d", len(files), got, n+1)
	}
	b, err := os.ReadFile(filepath.Join(opts.Dir, files[0].path))
	if err != nil {
		t.Fatal(err)
	}
	sizes := memberSizes(t, b)
	if len(sizes) < 4 {
		t.Errorf("%d members (%v), want the first line's and at least three more", len(sizes), sizes)
	}
	for i, s := range sizes {
		if s > memberBytes+2*line {
			t.Errorf("member %d holds %d bytes of lines, want at most about %d", i, s, memberBytes)
		}
	}
}

// memberSizes is the uncompressed size of each gzip member of b.
func memberSizes(t *testing.T, b []byte) []int {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(b))
	var sizes []int
	z, err := gzip.NewReader(br)
	for err == nil {
		z.Multistream(false)
		text, rerr := io.ReadAll(z)
		if rerr != nil {
			t.Fatalf("member %d: %v", len(sizes), rerr)
		}
		sizes = append(sizes, len(text))
		err = z.Reset(br)
	}
	if err != io.EOF {
		t.Fatalf("after member %d: %v", len(sizes), err)
	}
	return sizes
}

// TestQueueBoundsHeldBytes: a queued record keeps its request's strings,
// so the queue's bound counts the request bytes they hold. A writer that
// cannot keep up drops lines before the requests it holds outgrow
// BufferBytes, whatever their size.
func TestQueueBoundsHeldBytes(t *testing.T) {
	const limit = 64 << 10
	for _, c := range []struct {
		name    string
		bytesIn int64
		fit     int
	}{
		{"a short request", 100, limit / (recordBytes + 100)},
		{"a 20 KiB head", 20 << 10, limit / (recordBytes + 20<<10)},
		{"an upload (held bytes capped)", 10 << 20, limit / (recordBytes + maxHeldBytes)},
	} {
		t.Run(c.name, func(t *testing.T) {
			q := lineQueue{maxBytes: limit, wake: make(chan struct{}, 1)} // nothing takes from it
			r := rec(0)
			r.BytesIn = c.bytesIn
			n := 0
			for q.pushRecord(&r) == queued {
				n++
			}
			if n != c.fit || c.fit == 0 {
				t.Errorf("%d records queued within %d bytes, want %d", n, limit, c.fit)
			}
		})
	}
}

// TestHeaderOncePerFile: a member closed because it took in memberBytes is
// not fsynced before the next tick, so a file can hold several members
// before its first acknowledgement, in its first period and after a size
// rotation; each file carries the header once, at its start.
func TestHeaderOncePerFile(t *testing.T) {
	for _, c := range []struct {
		name     string
		maxBytes int64
	}{
		{"first file", 0},
		{"after size rotations", memberBytes / 8}, // about two compressed members
	} {
		t.Run(c.name, func(t *testing.T) {
			opts := testOptions(t)
			opts.MaxFileBytes = c.maxBytes
			opts.BufferBytes = 64 << 20 // every line queued however slow the writer: none dropped
			w := mustNew(t, opts, webConfig("hdr", ""))
			r0 := rec(0)
			n := 6 * memberBytes / len(newLineFormat("TST1", "x", false).appendLine(nil, &r0))
			for i := range n {
				r := rec(i)
				if !w.Log(&r) {
					t.Fatalf("line %d dropped", i)
				}
			}
			closeWriter(t, w)
			files, _ := readLogs(t, opts.Dir) // fails on a second header
			if c.maxBytes > 0 && len(files) < 2 {
				t.Errorf("%d files, want size rotations", len(files))
			}
			if got := len(countIDs(files)); got != n {
				t.Errorf("%d lines in %d files, want %d", got, len(files), n)
			}
		})
	}
}

// TestClockGoesBack: a file is for one period of its hour; when the node's
// clock steps back before that period (NTP correcting a clock that ran
// ahead), the file is closed and the lines go to a file named for the new
// time, instead of a file that stays open, unuploaded, until the clock
// catches up again. A step back within the period changes nothing.
func TestClockGoesBack(t *testing.T) {
	for _, c := range []struct {
		name          string
		from, to      time.Time
		wantHours     []string
		closedOnClock bool // the first file closes with no traffic after the step
	}{
		{"a day back", time.Date(2026, 3, 15, 10, 2, 0, 0, time.UTC), time.Date(2026, 3, 14, 10, 2, 0, 0, time.UTC),
			[]string{"2026-03-15-10", "2026-03-14-10"}, true},
		{"back over the hour", time.Date(2026, 3, 14, 10, 1, 0, 0, time.UTC), time.Date(2026, 3, 14, 9, 59, 0, 0, time.UTC),
			[]string{"2026-03-14-10", "2026-03-14-09"}, true},
		{"back within the period", time.Date(2026, 3, 14, 10, 3, 0, 0, time.UTC), time.Date(2026, 3, 14, 10, 1, 0, 0, time.UTC),
			[]string{"2026-03-14-10"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := testenv.NewClock(c.from)
			opts := testOptions(t)
			opts.Now, opts.RotateEvery = clock.Now, 5*time.Minute
			w := mustNew(t, opts, webConfig("clock", ""))
			r := rec(0)
			r.Time = clock.Now()
			w.Log(&r)
			flush(t, w)
			clock.Set(c.to)
			flush(t, w)
			if files, _ := readLogs(t, opts.Dir); (len(files) == 1) != c.closedOnClock {
				t.Errorf("%d closed files after the step back with no traffic, want the first closed: %v", len(files), c.closedOnClock)
			}
			r = rec(1)
			r.Time = clock.Now()
			w.Log(&r)
			closeWriter(t, w)
			files, _ := readLogs(t, opts.Dir)
			var hours []string
			for _, f := range files {
				hours = append(hours, f.hour)
			}
			if strings.Join(hours, " ") != strings.Join(c.wantHours, " ") {
				t.Errorf("files for hours %v, want %v", hours, c.wantHours)
			}
		})
	}
}

// alternate is n times, a and b in turn; alternateHours their files' hours.
func alternate(n int, a, b time.Time) []time.Time {
	ts := make([]time.Time, n)
	for i := range ts {
		ts[i] = a
		if i%2 == 1 {
			ts[i] = b
		}
	}
	return ts
}

func alternateHours(n int, a, b string) []string {
	hs := make([]string, n)
	for i := range hs {
		hs[i] = a
		if i%2 == 1 {
			hs[i] = b
		}
	}
	return hs
}

// TestFileHourIsTheLines: a file's name carries the hour of the requests
// in it, not of the moment the writer got them. CloudFront (Developer
// Guide, "Standard logging reference", log file delivery): "When log
// entries are delayed, CloudFront saves them in a log file whose file
// name includes the date and time of the period in which the requests
// occurred, not the date and time when the file was delivered." A line
// of 10:59:59 written at 11:00:00 goes to a file of hour 10.
func TestFileHourIsTheLines(t *testing.T) {
	at := func(h, m, s, ms int) time.Time { return time.Date(2026, 3, 14, h, m, s, ms*1e6, time.UTC) }
	for _, c := range []struct {
		name      string
		clock     time.Time   // when the writer takes the lines
		lines     []time.Time // the requests' times, in the order logged
		wantHours []string    // the hour of each line's file
		wantFiles int
	}{
		{"late at the hour", at(11, 0, 0, 200), []time.Time{at(10, 59, 59, 900), at(11, 0, 0, 100)},
			[]string{"2026-03-14-10", "2026-03-14-11"}, 2},
		{"a straggler after the next hour began", at(11, 0, 0, 200), []time.Time{at(10, 59, 59, 800), at(11, 0, 0, 100), at(10, 59, 59, 950)},
			[]string{"2026-03-14-10", "2026-03-14-11", "2026-03-14-10"}, 3},
		{"delayed by an hour", at(12, 10, 0, 0), []time.Time{at(10, 30, 0, 0), at(10, 30, 1, 0)},
			[]string{"2026-03-14-10", "2026-03-14-10"}, 1},
		// Requests finishing on two cores as the hour turns are logged a
		// little out of order: the late lines wait for the next tick, not
		// a file each (a file, an upload and two fsyncs per switch).
		{"two hours mixed at the turn", at(11, 0, 0, 200), alternate(200, at(10, 59, 59, 900), at(11, 0, 0, 100)),
			alternateHours(200, "2026-03-14-10", "2026-03-14-11"), 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := testenv.NewClock(c.clock)
			opts := testOptions(t)
			opts.Now, opts.RotateEvery = clock.Now, 5*time.Minute
			w := mustNew(t, opts, webConfig("hour", ""))
			for i, tm := range c.lines {
				r := rec(i)
				r.Time = tm
				w.Log(&r)
			}
			closeWriter(t, w)
			files, _ := readLogs(t, opts.Dir)
			if len(files) != c.wantFiles {
				t.Errorf("%d files, want %d", len(files), c.wantFiles)
			}
			got := map[string]string{}
			for _, f := range files {
				for _, l := range f.lines {
					if lineHour := field(l, 1) + "-" + field(l, 2)[:2]; lineHour != f.hour {
						t.Errorf("%s of hour %s holds a line of %s", f.path, f.hour, lineHour)
					}
					got[field(l, 15)] = f.hour
				}
			}
			for i, want := range c.wantHours {
				if got[reqID(i)] != want {
					t.Errorf("line %d in a file of hour %q, want %q", i, got[reqID(i)], want)
				}
			}
		})
	}
}
