package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"openfront.dev/internal/testenv"
)

// TestS3Origin fetches through the edge from versitygw, which checks SigV4
// signatures: signing is proven, not assumed.
func TestS3Origin(t *testing.T) {
	s3 := testenv.StartS3(t)
	s3.PutObject(t, "media", "hello.txt", []byte("hello from s3\n"))
	s3.PutObject(t, "media", "prod/dir x/a+b.txt", []byte("odd key\n"))
	s3.PutObject(t, "media", "prod/video.mp4", []byte(strings.Repeat("0123456789", 1000)))

	dir := t.TempDir()
	cfg := fmt.Sprintf(`package cdn

distributions: media: {
	aliases: ["media.test"]
	origins: [{id: "s3", domainName: "127.0.0.1", s3OriginConfig: {endpoint: %[1]q, bucket: "media", region: "us-east-1"}}]
	defaultCacheBehavior: {targetOriginId: "s3", viewerProtocolPolicy: "allow-all"}
}
distributions: prod: {
	aliases: ["prod.test"]
	origins: [{id: "s3", domainName: "127.0.0.1", originPath: "/prod", s3OriginConfig: {endpoint: %[1]q, bucket: "media", region: "us-east-1"}}]
	defaultCacheBehavior: {targetOriginId: "s3", viewerProtocolPolicy: "allow-all"}
}
distributions: anonymous: {
	aliases: ["anon.test"]
	origins: [{id: "s3", domainName: "127.0.0.1", s3OriginConfig: {endpoint: %[1]q, bucket: "media", region: "us-east-1", signRequests: false}}]
	defaultCacheBehavior: {targetOriginId: "s3", viewerProtocolPolicy: "allow-all"}
}
`, s3.Endpoint)
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}

	start := func(t *testing.T, secret string) string {
		t.Setenv("AWS_ACCESS_KEY_ID", s3.AccessKey)
		t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
		t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
		t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
		n, err := Start(Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Shutdown(context.Background()) })
		return "http://" + n.Addr("http").String()
	}
	get := func(t *testing.T, base, host, path string, hdr http.Header) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Host = host
		for k, v := range hdr {
			req.Header[k] = v
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	t.Run("signed", func(t *testing.T) {
		base := start(t, s3.SecretKey)
		for _, tc := range []struct {
			name, host, path string
			hdr              http.Header
			status           int
			body             string
		}{
			{"object", "media.test", "/hello.txt", nil, 200, "hello from s3\n"},
			{"originPath and an encoded key", "prod.test", "/dir%20x/a+b.txt", nil, 200, "odd key\n"},
			{"range", "prod.test", "/video.mp4", http.Header{"Range": {"bytes=10-19"}}, 206, "0123456789"},
			{"missing object", "media.test", "/nope.txt", nil, 404, ""},
		} {
			t.Run(tc.name, func(t *testing.T) {
				resp, body := get(t, base, tc.host, tc.path, tc.hdr)
				if resp.StatusCode != tc.status {
					t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
				}
				if tc.body != "" && body != tc.body {
					t.Errorf("body %q, want %q", body, tc.body)
				}
				if resp.Header.Get("X-Amz-Request-Id") != "" {
					t.Errorf("S3's request id reached the viewer")
				}
			})
		}
	})
	t.Run("wrong credentials", func(t *testing.T) {
		base := start(t, "not-the-secret")
		resp, body := get(t, base, "media.test", "/hello.txt", nil)
		if resp.StatusCode != http.StatusBadGateway || !strings.Contains(body, "refused this edge node's credentials (SignatureDoesNotMatch)") {
			t.Fatalf("status %d body %q, want 502 saying the bucket refused the credentials", resp.StatusCode, body)
		}
	})
	t.Run("unsigned requests are refused by the bucket", func(t *testing.T) {
		base := start(t, s3.SecretKey)
		resp, body := get(t, base, "anon.test", "/hello.txt", nil)
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("status %d body %q, want the bucket's 403", resp.StatusCode, body)
		}
	})
}
