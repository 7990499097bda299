package accesslog

import (
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"

	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

// uploader PUTs a writer's closed files to S3, oldest first, and removes
// each local file once S3 accepted it.
type uploader struct {
	w      *Writer
	loc    table.S3Location
	creds  aws.CredentialsProvider
	signer *v4.Signer
	client *http.Client

	mu       sync.Mutex
	pending  []*spoolFile // oldest first
	bytes    int64
	inflight *spoolFile

	kick   chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
}

type spoolFile struct {
	path  string
	size  int64
	lines int // its log lines, -1 when not known
}

// Location is where a distribution's logging config uploads to: the AWS
// form BUCKET.s3[.REGION].amazonaws.com, or endpoint, region and a plain
// bucket name for an S3-compatible server.
func Location(l schema.Logging) (table.S3Location, error) {
	c := schema.S3OriginConfig{Endpoint: l.Endpoint, Region: l.Region, SignRequests: true, CredentialsProfile: l.CredentialsProfile}
	domain := l.Bucket
	if l.Endpoint != "" {
		c.Bucket, domain = l.Bucket, ""
	}
	loc, err := table.ParseS3Location(domain, c)
	if err != nil {
		return loc, fmt.Errorf("logging bucket: %w", err)
	}
	return loc, nil
}

func newUploader(w *Writer) (*uploader, error) {
	loc, err := Location(w.cfg.Logging)
	if err != nil {
		return nil, err
	}
	u := &uploader{
		w:      w,
		loc:    loc,
		creds:  w.opts.Credentials,
		signer: v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }),
		client: noRedirects(w.opts.HTTPClient),
		kick:   make(chan struct{}, 1),
		done:   make(chan struct{}),
	}
	u.ctx, u.cancel = context.WithCancel(context.Background())
	if u.creds == nil {
		opts := []func(*config.LoadOptions) error{config.WithRegion(loc.Region)}
		if p := loc.CredentialsProfile; p != "" {
			opts = append(opts, config.WithSharedConfigProfile(p))
		}
		cfg, err := config.LoadDefaultConfig(context.Background(), opts...)
		if err != nil {
			return nil, fmt.Errorf("logging bucket credentials: %w", err)
		}
		u.creds = cfg.Credentials
	}
	return u, nil
}

// add queues a closed file; over SpoolBytes the oldest waiting files are
// deleted (the one being uploaded is not).
func (u *uploader) add(path string, size int64) { u.addLines(path, size, -1) }

// addLines is add of a file of lines log lines (-1: not known, a file of
// an earlier run, counted if the spool drops it).
func (u *uploader) addLines(path string, size int64, lines int) {
	if _, held := claims.LoadOrStore(path, u); held {
		return
	}
	m := u.w.m
	u.mu.Lock()
	u.pending = append(u.pending, &spoolFile{path: path, size: size, lines: lines})
	u.bytes += size
	m.pendingFiles.Inc()
	m.pendingBytes.Add(float64(size))
	var deleted []*spoolFile
	for u.bytes > u.w.opts.SpoolBytes {
		i := 0
		if u.pending[0] == u.inflight {
			i = 1
		}
		if i >= len(u.pending)-1 { // keep the newest
			break
		}
		deleted = append(deleted, u.pending[i])
		u.removeLocked(i)
	}
	u.mu.Unlock()
	for _, f := range deleted {
		// Its lines count as dropped too: the lines metric says what never
		// reaches the bucket, whatever the reason. The writer counted a
		// file it closed; one of an earlier run is read (outside the lock).
		lines := f.lines
		if lines < 0 {
			lines = logLines(f.path)
		}
		m.dropSpool.Add(float64(lines))
		os.Remove(f.path)
		claims.Delete(f.path)
		m.spoolDropped.Inc()
		u.w.log.Warn("access log spool full: oldest file deleted before upload", "file", f.path, "bytes", f.size)
		u.w.problems.set(&u.w.problems.spool, fmt.Errorf("the spool (%d bytes) is full: %s (%d bytes) was deleted before its upload", u.w.opts.SpoolBytes, filepath.Base(f.path), f.size))
	}
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

func (u *uploader) removeLocked(i int) {
	f := u.pending[i]
	u.pending = append(u.pending[:i], u.pending[i+1:]...)
	u.bytes -= f.size
	u.w.m.pendingFiles.Dec()
	u.w.m.pendingBytes.Sub(float64(f.size))
}

func (u *uploader) next() *spoolFile {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.pending) == 0 {
		return nil
	}
	u.inflight = u.pending[0]
	return u.inflight
}

// settle ends the attempt on f; uploaded (or gone) files leave the queue.
// It returns how many files still wait.
func (u *uploader) settle(f *spoolFile, remove bool) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.inflight = nil
	if !remove {
		return len(u.pending)
	}
	for i, p := range u.pending {
		if p == f {
			u.removeLocked(i)
			break
		}
	}
	claims.Delete(f.path)
	return len(u.pending)
}

func (u *uploader) run() {
	defer close(u.done)
	backoff := u.w.opts.MinBackoff
	for {
		f := u.next()
		if f == nil {
			select {
			case <-u.kick:
				continue
			case <-u.ctx.Done():
				return
			}
		}
		err := u.put(u.ctx, f)
		switch {
		case err == nil:
			os.Remove(f.path)
			if u.settle(f, true) == 0 {
				u.w.problems.set(&u.w.problems.spool, nil) // caught up
			}
			u.w.problems.set(&u.w.problems.upload, nil)
			u.w.m.uploads.Inc()
			backoff = u.w.opts.MinBackoff
			continue
		case errors.Is(err, os.ErrNotExist): // deleted meanwhile: nothing to upload
			u.settle(f, true)
			continue
		}
		u.settle(f, false)
		if u.ctx.Err() != nil {
			return
		}
		u.w.m.uploadErrors.Inc()
		u.w.problems.set(&u.w.problems.upload, fmt.Errorf("upload %s: %w", filepath.Base(f.path), err))
		wait := backoff/2 + rand.N(backoff/2+1) // jitter: nodes do not retry in step
		u.w.log.Warn("access log upload failed", "file", f.path, "retry_in", wait.Round(time.Millisecond), "err", err)
		select {
		case <-time.After(wait):
		case <-u.kick: // a new file or a shutdown: try again now
		case <-u.ctx.Done():
			return
		}
		backoff = min(2*backoff, u.w.opts.MaxBackoff)
	}
}

// drainAndStop uploads until nothing is pending or ctx ends, then stops.
func (u *uploader) drainAndStop(ctx context.Context) error {
	defer u.stop()
	select {
	case u.kick <- struct{}{}:
	default:
	}
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for {
		u.mu.Lock()
		n := len(u.pending)
		u.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d access log files of %s not uploaded yet (kept in the log directory): %w", n, u.w.cfg.ID, ctx.Err())
		case <-t.C:
		}
	}
}

// stop ends uploading and lets go of the files still pending, which it returns.
func (u *uploader) stop() []*spoolFile {
	u.cancel()
	<-u.done
	u.mu.Lock()
	defer u.mu.Unlock()
	left := slices.Clone(u.pending) // removeLocked shifts u.pending in place
	for range left {
		u.removeLocked(0)
	}
	for _, f := range left {
		claims.Delete(f.path)
	}
	return left
}

// key is a file's object key: its path under the log directory, which is
// PREFIX + ID.YYYY-MM-DD-HH.UNIQUE.gz.
func (u *uploader) key(path string) (string, error) {
	rel, err := filepath.Rel(u.w.opts.Dir, path)
	if err != nil {
		return "", err
	}
	return filepath.ToSlash(rel), nil
}

func (u *uploader) put(ctx context.Context, f *spoolFile) error {
	key, err := u.key(f.path)
	if err != nil {
		return err
	}
	fh, err := os.Open(f.path)
	if err != nil {
		return err
	}
	defer fh.Close()
	h, m := sha256.New(), md5.New()
	size, err := io.Copy(io.MultiWriter(h, m), fh)
	if err != nil {
		return err
	}
	sum := payloadSums{sha256: hex.EncodeToString(h.Sum(nil)), md5: base64.StdEncoding.EncodeToString(m.Sum(nil))}
	err = u.putOnce(ctx, key, fh, size, sum)
	var moved *movedError
	if errors.As(err, &moved) {
		// CloudFront's logging bucket is "BUCKET.s3.amazonaws.com", in
		// any region: from now on the one S3 named.
		u.w.log.Info("access log bucket is in another region than configured; set logging.region to save a request", "bucket", u.loc.Bucket, "configured", u.loc.Region, "region", moved.region)
		u.loc = u.loc.InRegion(moved.region)
		err = u.putOnce(ctx, key, fh, size, sum)
	}
	return err
}

// noRedirects is c refusing to follow redirects: a PUT's body can be sent
// again (GetBody), and Go's client would resend the log file to where a
// 307 points, without its signature. S3 names another region with a 301
// the uploader reads itself (movedError).
func noRedirects(c *http.Client) *http.Client {
	n := *c
	n.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &n
}

// payloadSums are a file's digests as a PUT carries them: SHA-256 in hex
// for SigV4's x-amz-content-sha256, MD5 in base64 for Content-MD5.
type payloadSums struct{ sha256, md5 string }

// movedError is S3's refusal of a request for the wrong region.
type movedError struct{ region string }

func (e *movedError) Error() string { return "the bucket is in region " + e.region }

// putOnce sends one PUT of the file fh as key.
func (u *uploader) putOnce(ctx context.Context, key string, fh *os.File, size int64, sum payloadSums) error {
	// Each request reads the file through a reader of its own: a server
	// that answers before it read the body (S3 naming the bucket's region)
	// leaves the transport still sending it, and a shared file offset
	// would send the next PUT an empty body.
	newBody := func() (io.ReadCloser, error) { return io.NopCloser(io.NewSectionReader(fh, 0, size)), nil }
	rc, _ := newBody()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.objectURL(key).String(), rc)
	if err != nil {
		return err
	}
	req.GetBody = newBody
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/x-gzip")
	req.Header.Set("X-Amz-Content-Sha256", sum.sha256)
	// S3 refuses a PUT without Content-MD5 (or an x-amz-checksum header)
	// into a bucket whose Object Lock sets a default retention: "Content-MD5
	// OR x-amz-checksum- HTTP header is required for Put Object requests
	// with Object Lock parameters". Every S3-compatible server knows it.
	req.Header.Set("Content-MD5", sum.md5)
	creds, err := u.creds.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("no S3 credentials for the logging bucket on this node: %w", err)
	}
	if err := u.signer.SignHTTP(ctx, creds, req, sum.sha256, "s3", u.loc.Region, time.Now()); err != nil {
		return fmt.Errorf("sign: %w", err)
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Code    string `xml:"Code"`
			Message string `xml:"Message"`
			Region  string `xml:"Region"`
		}
		xml.Unmarshal(body, &e)
		if r := table.S3BucketRegion(resp.StatusCode, resp.Header.Get("X-Amz-Bucket-Region"), e.Code, e.Region); r != "" && r != u.loc.Region {
			return &movedError{r}
		}
		return fmt.Errorf("PUT s3://%s/%s: %s %s %s", u.loc.Bucket, key, resp.Status, e.Code, e.Message)
	}
	return nil
}

// objectURL addresses key in the bucket, path-style on an S3-compatible
// endpoint, virtual-hosted on AWS; the key is escaped as SigV4's canonical
// form wants it (the signer is told not to escape again).
func (u *uploader) objectURL(key string) *url.URL {
	base, _ := url.Parse(u.loc.Endpoint)
	escaped := s3Escape(key)
	if u.loc.PathStyle {
		escaped = "/" + s3Escape(u.loc.Bucket) + "/" + escaped
	} else {
		base.Host = u.loc.Bucket + "." + base.Host
		escaped = "/" + escaped
	}
	prefix := strings.TrimSuffix(base.EscapedPath(), "/")
	raw := prefix + escaped
	u2 := *base
	u2.RawPath = raw
	u2.Path, _ = url.PathUnescape(raw)
	return &u2
}

func s3Escape(key string) string {
	const hexd = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(key); i++ {
		c := key[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hexd[c>>4])
			b.WriteByte(hexd[c&15])
		}
	}
	return b.String()
}
