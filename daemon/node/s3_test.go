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
distributions: uploads: {
	aliases: ["up.test"]
	origins: [{id: "s3", domainName: "127.0.0.1", originPath: "/up", s3OriginConfig: {endpoint: %[1]q, bucket: "media", region: "us-east-1"}}]
	defaultCacheBehavior: {targetOriginId: "s3", viewerProtocolPolicy: "allow-all",
		allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"]
		forwardedValues: {queryString: true, headers: ["x-amz-meta-color"]}}
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
	do := func(t *testing.T, method, base, host, path, body string, hdr http.Header) (*http.Response, string) {
		var rb io.Reader
		if body != "" {
			rb = strings.NewReader(body)
		}
		req, _ := http.NewRequest(method, base+path, rb)
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
	get := func(t *testing.T, base, host, path string, hdr http.Header) (*http.Response, string) {
		return do(t, http.MethodGet, base, host, path, "", hdr)
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
	// A behavior that allows every method writes through to the bucket,
	// as CloudFront "forwards GET, HEAD, OPTIONS, PUT, PATCH, POST, and
	// DELETE requests" to an S3 origin (API_AllowedMethods), and
	// forwards its query string ("You can configure whether CloudFront
	// forwards query string parameters to your Amazon S3 origin").
	t.Run("writes and queries", func(t *testing.T) {
		base := start(t, s3.SecretKey)
		steps := []struct {
			method, path, body string
			hdr                http.Header
			status             int
			want               string            // the body, when set
			wantHdr            map[string]string // response fields
		}{
			{"PUT", "/new%20file.txt", "uploaded\n", http.Header{"Content-Type": {"text/x-up"}, "X-Amz-Meta-Color": {"red"}}, 200, "", nil},
			{"GET", "/new%20file.txt", "", nil, 200, "uploaded\n", map[string]string{"Content-Type": "text/x-up", "X-Amz-Meta-Color": "red"}},
			{"GET", "/new%20file.txt?response-content-type=text%2Fx-over", "", nil, 200, "uploaded\n", map[string]string{"Content-Type": "text/x-over"}},
			{"DELETE", "/new%20file.txt", "", nil, 204, "", nil},
			{"GET", "/new%20file.txt", "", nil, 404, "", nil},
		}
		for _, st := range steps {
			resp, body := do(t, st.method, base, "up.test", st.path, st.body, st.hdr)
			if resp.StatusCode != st.status || st.want != "" && body != st.want {
				t.Fatalf("%s %s: status %d body %q, want %d %q", st.method, st.path, resp.StatusCode, body, st.status, st.want)
			}
			for k, v := range st.wantHdr {
				if g := resp.Header.Get(k); g != v {
					t.Errorf("%s %s: %s %q, want %q", st.method, st.path, k, g, v)
				}
			}
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
