// Package testenv gives tests the real outside parts they use (versitygw,
// later ffmpeg and goaccess): a missing tool skips the test on a developer's
// machine and fails it under CI=true, where .ci/run installs everything.
package testenv

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// Tool returns the path of a command the test needs.
func Tool(t testing.TB, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	// go install puts test servers here, which may not be on PATH.
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed: .ci/run installs it", name)
	}
	t.Skipf("%s is not installed (CI=true makes this a failure)", name)
	return ""
}

// FreePort returns a loopback TCP port that was free a moment ago.
func FreePort(t testing.TB) int { return FreePorts(t, 1)[0] }

// FreePorts returns n distinct free ports on 127.0.0.1: each is held until
// all are picked, as two calls to FreePort may return the same one.
func FreePorts(t testing.TB, n int) []int {
	t.Helper()
	ports := make([]int, n)
	for i := range ports {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		ports[i] = ln.Addr().(*net.TCPAddr).Port
	}
	return ports
}

// S3 is a running versitygw: a real S3 server that checks SigV4 signatures.
type S3 struct {
	Endpoint             string // http://127.0.0.1:PORT
	AccessKey, SecretKey string
	Root                 string // each directory under Root is a bucket
}

// StartS3 runs versitygw with a POSIX backend in a temp dir until the test ends.
func StartS3(t testing.TB) *S3 { t.Helper(); return StartS3InRegion(t, "us-east-1") }

// StartS3InRegion is StartS3 with the server in region: a request signed
// for another is refused as AWS refuses it (AuthorizationHeaderMalformed,
// naming the region).
func StartS3InRegion(t testing.TB, region string) *S3 {
	t.Helper()
	bin := Tool(t, "versitygw")
	s := &S3{AccessKey: "openfronttest", SecretKey: "openfronttestsecret", Root: t.TempDir()}
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	s.Endpoint = "http://" + addr
	cmd := exec.Command(bin, "--port", addr, "--region", region, "posix", s.Root)
	cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+s.AccessKey, "ROOT_SECRET_KEY="+s.SecretKey)
	logf, err := os.Create(filepath.Join(t.TempDir(), "versitygw.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start versitygw: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(s.Endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return s
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(logf.Name())
			t.Fatalf("versitygw did not start on %s: %v\n%s", addr, err, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PutObject writes an object into a bucket directly on the backend.
func (s *S3) PutObject(t testing.TB, bucket, key string, body []byte) {
	t.Helper()
	p := filepath.Join(s.Root, bucket, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, body, 0o644); err != nil {
		t.Fatal(err)
	}
}

// Client is an AWS SDK client of the server (us-east-1, path-style), with
// its root credentials: for what a test sets up as an operator would.
func (s *S3) Client() *awss3.Client {
	return awss3.New(awss3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

// PutBucketCors sets a bucket's CORS configuration through the S3 API
// with the AWS SDK, as an operator would: the bucket then answers CORS
// requests and preflights itself. The bucket is created on the backend
// first if it does not exist.
func (s *S3) PutBucketCors(t testing.TB, bucket string, rules ...s3types.CORSRule) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(s.Root, bucket), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := s.Client().PutBucketCors(context.Background(), &awss3.PutBucketCorsInput{
		Bucket:            aws.String(bucket),
		CORSConfiguration: &s3types.CORSConfiguration{CORSRules: rules},
	})
	if err != nil {
		t.Fatalf("PutBucketCors %s: %v", bucket, err)
	}
}
