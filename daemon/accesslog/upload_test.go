package accesslog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"openfront.dev/internal/testenv"
	"openfront.dev/schema"
)

// startS3 runs versitygw with a "logs" bucket and gives this process its
// credentials the standard way (environment), as a node would have them.
func startS3(t *testing.T, secret string) *testenv.S3 {
	t.Helper()
	return startS3InRegion(t, secret, "us-east-1")
}

// startS3InRegion is startS3 with the server in region.
func startS3InRegion(t *testing.T, secret, region string) *testenv.S3 {
	t.Helper()
	s3 := testenv.StartS3InRegion(t, region)
	if err := os.MkdirAll(filepath.Join(s3.Root, "logs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if secret == "" {
		secret = s3.SecretKey
	}
	useCredentials(t, s3.AccessKey, secret)
	return s3
}

// useCredentials gives this process the key pair the standard way
// (environment), and no shared config files.
func useCredentials(t *testing.T, key, secret string) {
	none := filepath.Join(t.TempDir(), "none")
	t.Setenv("AWS_ACCESS_KEY_ID", key)
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	t.Setenv("AWS_CONFIG_FILE", none)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", none)
}

// failingUpload logs one line to a distribution uploading to endpoint,
// which refuses it, until two uploads failed; then closes the writer and
// returns its options (their Dir) and what Close said.
func failingUpload(t *testing.T, endpoint string) (Options, error) {
	t.Helper()
	opts := testOptions(t)
	opts.MinBackoff = 10 * time.Millisecond
	w := mustNew(t, opts, uploadConfig("site", endpoint, ""))
	r := rec(0)
	w.Log(&r)
	w.closeLocal()
	eventually(t, "upload errors", func() bool { return metric(w.m.uploadErrors) >= 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	return opts, w.Close(ctx)
}

// serveS3At makes s3 answer at endpoint (http://127.0.0.1:PORT), where
// nothing listened: a bucket that was down comes up.
func serveS3At(t *testing.T, endpoint string, s3 *testenv.S3) {
	t.Helper()
	target, _ := url.Parse(s3.Endpoint)
	ln, err := net.Listen("tcp", strings.TrimPrefix(endpoint, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host // the Host the request was signed for
	}}}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
}

func uploadConfig(id, endpoint, prefix string) Config {
	return Config{ID: id, Domain: id + ".example.com", Logging: schema.Logging{
		Enabled: true, Bucket: "logs", Endpoint: endpoint, Region: "us-east-1", Prefix: prefix}}
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// localFiles lists the log files (not directories) under dir.
func localFiles(t *testing.T, dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	return out
}

func TestUploadToS3(t *testing.T) {
	s3 := startS3(t, "")
	opts := testOptions(t)
	opts.MinBackoff = 10 * time.Millisecond
	// A prefix with a space and a plus: the key must be signed as S3
	// canonicalizes it.
	w := mustNew(t, opts, uploadConfig("site", s3.Endpoint, "edge logs/a+b"))
	for i := range 40 {
		r := rec(i)
		w.Log(&r)
		if i == 19 {
			flush(t, w)
		}
	}
	closeWriter(t, w) // uploads what is pending before it returns

	if left := localFiles(t, opts.Dir); len(left) != 0 {
		t.Errorf("local files left after upload: %v", left)
	}
	bucket := filepath.Join(s3.Root, "logs")
	files, _ := readLogs(t, bucket)
	if len(files) != 1 || len(files[0].lines) != 40 {
		t.Fatalf("bucket holds %+v, want one object with 40 lines", files)
	}
	if !strings.HasPrefix(files[0].path, filepath.Join("edge logs", "a+b", "site.")) {
		t.Errorf("object key %s, want PREFIX/site.YYYY-MM-DD-HH.UNIQUE.gz", files[0].path)
	}
	if metric(w.m.uploads) != 1 || metric(w.m.pendingFiles) != 0 || metric(w.m.pendingBytes) != 0 || metric(w.m.uploadErrors) != 0 {
		t.Errorf("uploads %d pending %d/%dB errors %d, want 1, 0, 0", metric(w.m.uploads), metric(w.m.pendingFiles), metric(w.m.pendingBytes), metric(w.m.uploadErrors))
	}
}

// TestUploadBucketRegion: a logging bucket in another region than the
// configuration names (CloudFront's "BUCKET.s3.amazonaws.com" names none:
// us-east-1) gets its logs, signed for the region S3 names when it
// refuses the first PUT, without an error counted. S3 refuses before it
// read the body: a big file is still being sent when the second PUT
// starts, which must send it whole all the same.
func TestUploadBucketRegion(t *testing.T) {
	for _, lines := range []int{1, 20000} {
		t.Run(fmt.Sprintf("%d lines", lines), func(t *testing.T) {
			s3 := startS3InRegion(t, "", "eu-west-1")
			opts := testOptions(t)
			opts.MinBackoff = time.Minute                                // no second try from the retry loop
			w := mustNew(t, opts, uploadConfig("site", s3.Endpoint, "")) // says us-east-1
			for i := range lines {
				r := rec(i)
				r.Path = fmt.Sprintf("/%x/%x", uint32(i*2654435761), uint32(i*40503)) // compresses less
				for !w.Log(&r) {
					time.Sleep(time.Millisecond) // a full queue: wait for the writer
				}
			}
			closeWriter(t, w)
			files, _ := readLogs(t, filepath.Join(s3.Root, "logs"))
			if len(files) != 1 || len(files[0].lines) != lines {
				t.Fatalf("bucket holds %d objects, want one with %d lines", len(files), lines)
			}
			if metric(w.m.uploadErrors) != 0 {
				t.Errorf("%d upload errors, want 0", metric(w.m.uploadErrors))
			}
		})
	}
}

// TestUploadRefusedKeepsFiles: S3 refuses the node's signature; the file
// stays on disk, the errors are counted, Close says what is left.
func TestUploadRefusedKeepsFiles(t *testing.T) {
	s3 := startS3(t, "not-the-secret")
	opts, err := failingUpload(t, s3.Endpoint)
	if err == nil || !strings.Contains(err.Error(), "1 access log files of site not uploaded") {
		t.Errorf("Close = %v, want an error naming what is left", err)
	}
	if left := localFiles(t, opts.Dir); len(left) != 1 {
		t.Errorf("local files %v, want the one not uploaded", left)
	}
}

// TestUploadRetriesUntilServerUp: uploads fail while nothing listens, and
// succeed once the server is there, without a restart; the local file goes
// only then. A file left by a previous run is uploaded too.
func TestUploadRetriesUntilServerUp(t *testing.T) {
	s3 := startS3(t, "")
	port := testenv.FreePort(t)
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	opts := testOptions(t)
	opts.MinBackoff, opts.MaxBackoff = 20*time.Millisecond, 100*time.Millisecond
	opts.MaxFileBytes = 1 // every member closes its file

	// A closed file from an earlier run, never uploaded.
	left, err := New(Options{Dir: opts.Dir, NodeName: "TST1", Now: atT0, MaxFileBytes: 1, Logger: quietLogger()}, webConfig("site", ""))
	if err != nil {
		t.Fatal(err)
	}
	r := rec(100)
	left.Log(&r)
	closeWriter(t, left)

	w := mustNew(t, opts, uploadConfig("site", endpoint, ""))
	for i := range 3 {
		r := rec(i)
		w.Log(&r)
		flush(t, w)
	}
	eventually(t, "failed attempts while the server is down", func() bool { return metric(w.m.uploadErrors) >= 3 })
	if n := len(localFiles(t, opts.Dir)); n != 4 || metric(w.m.pendingFiles) != 4 {
		t.Fatalf("%d local files, %d pending while the server is down; want 4 and 4", n, metric(w.m.pendingFiles))
	}
	if h := w.health(); h.UploadError == nil || !strings.Contains(h.UploadError.Message, "connection refused") || h.PendingFiles != 4 || h.PendingBytes == 0 {
		t.Errorf("health while the server is down: %+v, want the upload error and 4 files pending", h)
	}

	// A file dropped from the spool meanwhile (as TestSpoolBound drops
	// them) is shown until the spool is empty again.
	w.problems.set(&w.problems.spool, errors.New("the spool is full"))

	serveS3At(t, endpoint, s3) // the server comes up on the endpoint's port

	eventually(t, "uploads once the server is up", func() bool { return metric(w.m.pendingFiles) == 0 })
	if n := localFiles(t, opts.Dir); len(n) != 0 {
		t.Errorf("local files %v after upload", n)
	}
	if h := w.health(); h.UploadError != nil || h.SpoolFull != nil || h.PendingFiles != 0 {
		t.Errorf("health once uploaded: %+v, want no error, nothing pending", h)
	}
	files, _ := readLogs(t, filepath.Join(s3.Root, "logs"))
	ids := countIDs(files)
	for _, i := range []int{0, 1, 2, 100} {
		if ids[reqID(i)] != 1 {
			t.Errorf("line %d is in the bucket %d times, want once", i, ids[reqID(i)])
		}
	}
	if metric(w.m.uploads) != 4 {
		t.Errorf("uploads = %d, want 4", metric(w.m.uploads))
	}
}

// TestSpoolBound: with S3 unreachable the spool keeps to SpoolBytes by
// deleting the oldest files, and counts them and their lines.
func TestSpoolBound(t *testing.T) {
	opts := testOptions(t)
	opts.MinBackoff, opts.MaxBackoff = time.Hour, time.Hour // one attempt, then quiet
	opts.MaxFileBytes = 1
	opts.SpoolBytes = 2500
	opts.Credentials = staticCreds{}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))
	w := mustNew(t, opts, uploadConfig("spool", endpoint, ""))
	const n = 10
	for i := range n {
		r := rec(i)
		w.Log(&r)
		flush(t, w)
	}
	files, _ := readLogs(t, opts.Dir)
	var total int64
	for _, f := range files {
		total += f.size
	}
	dropped := metric(w.m.spoolDropped)
	t.Logf("%d files (%d bytes) kept of %d, %d dropped", len(files), total, n, dropped)
	if dropped == 0 || len(files)+dropped != n {
		t.Errorf("%d files kept and %d dropped, want %d in all with drops", len(files), dropped, n)
	}
	// A line a file each: the deleted files' lines are dropped lines.
	if lines := metric(w.m.dropSpool); lines != dropped {
		t.Errorf("%d lines counted dropped with the spool full, want %d (those of the deleted files)", lines, dropped)
	}
	if metric(w.m.pendingFiles) != len(files) || int64(metric(w.m.pendingBytes)) != total {
		t.Errorf("pending gauges %d files/%d bytes, want %d/%d", metric(w.m.pendingFiles), metric(w.m.pendingBytes), len(files), total)
	}
	if total > opts.SpoolBytes+1000 {
		t.Errorf("spool holds %d bytes, bound %d", total, opts.SpoolBytes)
	}
	if h := w.health(); h.SpoolFull == nil || !strings.Contains(h.SpoolFull.Message, "deleted before its upload") {
		t.Errorf("health after drops: %+v, want the spool shown full", h.SpoolFull)
	}
	// The oldest go (one may be spared while its upload is being tried).
	if ids := countIDs(files); ids[reqID(n-1)] != 1 || ids[reqID(0)]+ids[reqID(1)] > 1 {
		t.Errorf("kept %v: the newest must stay, the oldest go", ids)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := w.Close(ctx); err == nil {
		t.Error("Close reported everything uploaded to a server that is down")
	}
}

type staticCreds struct{}

func (staticCreds) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{AccessKeyID: "AKIDEXAMPLE", SecretAccessKey: "secret"}, nil
}

func TestLocation(t *testing.T) {
	cases := []struct {
		l                        schema.Logging
		bucket, region, endpoint string
		pathStyle                bool
	}{
		{schema.Logging{Bucket: "mylogs.s3.amazonaws.com"}, "mylogs", "us-east-1", "https://s3.us-east-1.amazonaws.com", false},
		{schema.Logging{Bucket: "mylogs.s3.eu-west-1.amazonaws.com"}, "mylogs", "eu-west-1", "https://s3.eu-west-1.amazonaws.com", false},
		{schema.Logging{Bucket: "mylogs.s3.amazonaws.com", Region: "ap-south-1"}, "mylogs", "ap-south-1", "https://s3.ap-south-1.amazonaws.com", false},
		{schema.Logging{Bucket: "logs", Endpoint: "http://minio:9000", Region: "local"}, "logs", "local", "http://minio:9000", true},
	}
	for _, c := range cases {
		loc, err := Location(c.l)
		if err != nil || loc.Bucket != c.bucket || loc.Region != c.region || loc.Endpoint != c.endpoint || loc.PathStyle != c.pathStyle {
			t.Errorf("Location(%+v) = %+v, %v", c.l, loc, err)
		}
	}
	if _, err := Location(schema.Logging{Bucket: "plainname"}); err == nil {
		t.Error("a plain bucket name without endpoint was accepted")
	}
}

// TestUploadAfterPrefixChange: files an earlier run left under another
// prefix (closed, and one torn by a crash) are recovered and uploaded by
// the distribution's first writer of the next run, under their own
// prefix's keys; they were left on disk for good.
func TestUploadAfterPrefixChange(t *testing.T) {
	s3 := startS3(t, "")
	opts := testOptions(t)
	opts.MinBackoff = 10 * time.Millisecond
	old := mustNew(t, opts, webConfig("site", "old/"))
	for i := range 10 {
		r := rec(i)
		old.Log(&r)
	}
	closeWriter(t, old)
	closed, _ := filepath.Glob(filepath.Join(opts.Dir, "old", "site.*.gz"))
	if len(closed) != 1 {
		t.Fatalf("closed files %v, want 1", closed)
	}
	// A crash's leftover: whole members, then a torn one.
	b, _ := os.ReadFile(closed[0])
	torn := filepath.Join(opts.Dir, "old", "site.2026-12-05-07.TORNTORNTORN.gz.tmp")
	if err := os.WriteFile(torn, append(b, b[:len(b)/2]...), 0o644); err != nil {
		t.Fatal(err)
	}

	dirIndexes.Delete(opts.Dir) // as a new process: it has not looked yet
	w := mustNew(t, opts, uploadConfig("site", s3.Endpoint, "new/"))
	closeWriter(t, w)

	if left := localFiles(t, opts.Dir); len(left) != 0 {
		t.Errorf("local files left: %v", left)
	}
	files, tmps := readLogs(t, filepath.Join(s3.Root, "logs"))
	if len(tmps) != 0 || len(files) != 2 {
		t.Fatalf("bucket holds %d files and %v, want the two of the old prefix", len(files), tmps)
	}
	for _, f := range files {
		if !strings.HasPrefix(f.path, "old"+string(filepath.Separator)) || len(f.lines) != 10 {
			t.Errorf("object %s with %d lines, want one under old/ with 10", f.path, len(f.lines))
		}
	}
}

// TestUploadObjectURL: a log file's URL in its bucket. A bucket with a
// dot in its name goes path-style, as the AWS SDKs send it over HTTPS:
// S3's *.s3.REGION.amazonaws.com certificate does not cover it as a host.
func TestUploadObjectURL(t *testing.T) {
	tests := []struct {
		name    string
		logging schema.Logging
		want    string
	}{
		{"virtual-hosted", schema.Logging{Bucket: "logs.s3.amazonaws.com"}, "https://logs.s3.us-east-1.amazonaws.com/cf/a%20b.gz"},
		{"a dotted bucket", schema.Logging{Bucket: "logs.example.com.s3.eu-west-1.amazonaws.com"}, "https://s3.eu-west-1.amazonaws.com/logs.example.com/cf/a%20b.gz"},
		{"an endpoint", schema.Logging{Bucket: "logs", Endpoint: "http://127.0.0.1:9000", Region: "us-east-1"}, "http://127.0.0.1:9000/logs/cf/a%20b.gz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := Location(tt.logging)
			if err != nil {
				t.Fatal(err)
			}
			u := &uploader{loc: loc}
			if got := u.objectURL("cf/a b.gz").String(); got != tt.want {
				t.Errorf("URL %s, want %s", got, tt.want)
			}
		})
	}
}

// TestUploadNoSuchBucket: a logging bucket that does not exist (yet)
// refuses every PUT; the file stays, each refusal is counted and shown
// with S3's code, and once the bucket is made the file goes there, once.
func TestUploadNoSuchBucket(t *testing.T) {
	s3 := startS3(t, "")
	opts := testOptions(t)
	opts.MinBackoff, opts.MaxBackoff = 10*time.Millisecond, 50*time.Millisecond
	cfg := uploadConfig("site", s3.Endpoint, "p")
	cfg.Logging.Bucket = "later"
	w := mustNew(t, opts, cfg)
	r := rec(0)
	w.Log(&r)
	w.closeLocal()
	eventually(t, "refused uploads", func() bool { return metric(w.m.uploadErrors) >= 2 })
	if h := w.health(); h.UploadError == nil || !strings.Contains(h.UploadError.Message, "NoSuchBucket") || h.PendingFiles != 1 {
		t.Errorf("health while the bucket is missing: %+v, want NoSuchBucket and the file pending", h)
	}
	if left := localFiles(t, opts.Dir); len(left) != 1 {
		t.Fatalf("local files %v, want the one refused", left)
	}
	if err := os.MkdirAll(filepath.Join(s3.Root, "later"), 0o755); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the upload once the bucket exists", func() bool { return metric(w.m.pendingFiles) == 0 })
	files, _ := readLogs(t, filepath.Join(s3.Root, "later"))
	if ids := countIDs(files); len(files) != 1 || ids[reqID(0)] != 1 {
		t.Errorf("bucket holds %+v, want the file once", files)
	}
	if left := localFiles(t, opts.Dir); len(left) != 0 {
		t.Errorf("local files %v after the upload", left)
	}
}

// TestTwoNodesOneBucket: two nodes log the same distribution in the same
// hour to one bucket and prefix; their files' unique ids keep every
// object apart, so no node overwrites another's lines.
func TestTwoNodesOneBucket(t *testing.T) {
	s3 := startS3(t, "")
	const perNode, filesPerNode = 30, 3
	var writers []*Writer
	for node := range 2 {
		opts := testOptions(t) // a log directory of its own
		opts.NodeName = fmt.Sprintf("NODE%d", node)
		opts.MaxFileBytes = 1 // every flush closes a file
		w := mustNew(t, opts, uploadConfig("site", s3.Endpoint, "shared/"))
		writers = append(writers, w)
	}
	for i := range perNode {
		for node, w := range writers {
			r := rec(node*1000 + i)
			w.Log(&r)
			if i%(perNode/filesPerNode) == perNode/filesPerNode-1 {
				flush(t, w)
			}
		}
	}
	for _, w := range writers {
		closeWriter(t, w)
	}
	files, _ := readLogs(t, filepath.Join(s3.Root, "logs"))
	if len(files) != 2*filesPerNode {
		t.Errorf("%d objects in the bucket, want %d", len(files), 2*filesPerNode)
	}
	ids := countIDs(files)
	for node := range 2 {
		for i := range perNode {
			if n := ids[reqID(node*1000+i)]; n != 1 {
				t.Errorf("node %d line %d is in the bucket %d times, want once", node, i, n)
			}
		}
	}
}

// TestUploadRedirectNotFollowed: an endpoint that redirects a PUT
// elsewhere (a proxy, a bucket S3 answers 307 for while it is new) is an
// upload error, not a resend of the log file to another host: Go's client
// would follow it with the body and without the signature.
func TestUploadRedirectNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.WriteHeader(http.StatusForbidden)
	}))
	defer other.Close()
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	useCredentials(t, "AKIDEXAMPLE", "secret")
	opts, _ := failingUpload(t, redirect.URL)
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect's target got %d requests, want none", n)
	}
	if left := localFiles(t, opts.Dir); len(left) != 1 {
		t.Errorf("local files %v, want the one not uploaded", left)
	}
}
