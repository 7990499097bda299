package accesslog

import (
	"context"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestUploadToObjectLockBucket: a log bucket with S3 Object Lock and a
// default retention (write-once logs, as audits ask for) takes the files.
// AWS refuses a PUT into such a bucket that carries neither Content-MD5
// nor an x-amz-checksum header: "Content-MD5 OR x-amz-checksum- HTTP
// header is required for Put Object requests with Object Lock parameters"
// (400 InvalidRequest). versitygw keeps the lock but does not make that
// check, so a gate in front of it makes it as AWS does; versitygw itself
// checks that the Content-MD5 sent is the body's (BadDigest otherwise).
func TestUploadToObjectLockBucket(t *testing.T) {
	s3 := startS3(t, "")
	c := s3.Client()
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &awss3.CreateBucketInput{Bucket: aws.String("worm"), ObjectLockEnabledForBucket: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObjectLockConfiguration(ctx, &awss3.PutObjectLockConfigurationInput{Bucket: aws.String("worm"),
		ObjectLockConfiguration: &s3types.ObjectLockConfiguration{ObjectLockEnabled: s3types.ObjectLockEnabledEnabled,
			Rule: &s3types.ObjectLockRule{DefaultRetention: &s3types.DefaultRetention{Mode: s3types.ObjectLockRetentionModeGovernance, Days: aws.Int32(1)}}}}); err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(s3.Endpoint)
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = pr.In.Host // the Host the request was signed for
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gate := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut && r.Header.Get("Content-MD5") == "" && !hasChecksumHeader(r.Header) {
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidRequest</Code><Message>Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters</Message></Error>`))
			return
		}
		proxy.ServeHTTP(w, r)
	})}
	go gate.Serve(ln)
	t.Cleanup(func() { gate.Close() })

	opts := testOptions(t)
	opts.MinBackoff = time.Minute // one attempt
	cfg := uploadConfig("site", "http://"+ln.Addr().String(), "")
	cfg.Logging.Bucket = "worm"
	w := mustNew(t, opts, cfg)
	for i := range 5 {
		r := rec(i)
		w.Log(&r)
	}
	w.closeLocal()
	eventually(t, "an upload attempt", func() bool { return metric(w.m.uploads)+metric(w.m.uploadErrors) > 0 })
	if h := w.health(); h.UploadError != nil {
		t.Errorf("upload refused: %s", h.UploadError.Message)
	}
	files, _ := readLogs(t, filepath.Join(s3.Root, "worm"))
	if ids := countIDs(files); len(files) != 1 || len(ids) != 5 {
		t.Errorf("bucket holds %d objects with %d lines, want one with 5", len(files), len(ids))
	}
}

func hasChecksumHeader(h http.Header) bool {
	for k := range h {
		if strings.HasPrefix(strings.ToLower(k), "x-amz-checksum-") {
			return true
		}
	}
	return false
}
