package edge

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"openfront.dev/internal/testenv"
)

// TestS3CORS: through the edge to a bucket with a CORS configuration
// (versitygw, which checks signatures), a behavior that forwards the CORS
// fields (the managed CORS-S3Origin policy, or forwardedValues.headers, as
// CloudFront's "Configuring CloudFront to respect CORS settings" has it)
// gets the bucket's Access-Control-Allow-* for each viewer's Origin: a
// second Origin gets its own answer, never the first's from the cache, on
// a GET and on an OPTIONS preflight.
//
// Under the policy the fields are not keyed, as in CloudFront: the
// bucket's Vary keeps its CORS answers apart. Its answer to a viewer
// without Origin has no Vary, so, as in CloudFront, it would answer CORS
// viewers too until it expires: keying the fields (forwardedValues.headers,
// CloudFront's cache policy) is what keeps that one apart, checked first
// under /keyed/.
func TestS3CORS(t *testing.T) {
	gw := testenv.StartS3(t)
	gw.PutObject(t, "media", "a.txt", []byte("hello\n"))
	gw.PutObject(t, "media", "keyed/a.txt", []byte("hello\n"))
	gw.PutBucketCors(t, "media", s3types.CORSRule{
		AllowedOrigins: []string{"https://a.example", "https://b.example"},
		AllowedMethods: []string{"GET", "HEAD"},
		AllowedHeaders: []string{"x-app"},
	})
	dir := t.TempDir()
	t.Setenv("AWS_ACCESS_KEY_ID", gw.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", gw.SecretKey)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "none"))
	tb := testenv.Compile(t, dir, fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "s3", domainName: "127.0.0.1", s3OriginConfig: {endpoint: %q, bucket: "media", region: "us-east-1"}}]
	defaultCacheBehavior: {targetOriginId: "s3", viewerProtocolPolicy: "allow-all", originRequestPolicy: "CORS-S3Origin",
		allowedMethods: ["GET", "HEAD", "OPTIONS"], cachedMethods: ["GET", "HEAD", "OPTIONS"]}
	cacheBehaviors: [{pathPattern: "/keyed/*", targetOriginId: "s3", viewerProtocolPolicy: "allow-all",
		forwardedValues: headers: ["Origin", "Access-Control-Request-Method", "Access-Control-Request-Headers"],
		allowedMethods: ["GET", "HEAD", "OPTIONS"], cachedMethods: ["GET", "HEAD", "OPTIONS"]}]
}
`, gw.Endpoint))
	const a, b = "https://a.example", "https://b.example"
	type step struct {
		name, method string
		header       http.Header
		status       int
		allowOrigin  string
		allowHeaders string
	}
	steps := []step{
		{"GET from a", "GET", http.Header{"Origin": {a}}, 200, a, ""},
		{"GET from b", "GET", http.Header{"Origin": {b}}, 200, b, ""},
		{"GET from a again", "GET", http.Header{"Origin": {a}}, 200, a, ""},
		{"GET from a stranger", "GET", http.Header{"Origin": {"https://c.example"}}, 200, "", ""},
		{"preflight from b", "OPTIONS", http.Header{"Origin": {b}, "Access-Control-Request-Method": {"GET"},
			"Access-Control-Request-Headers": {"x-app"}}, 200, b, "x-app"},
		{"preflight from a", "OPTIONS", http.Header{"Origin": {a}, "Access-Control-Request-Method": {"GET"},
			"Access-Control-Request-Headers": {"x-app"}}, 200, a, "x-app"},
		{"preflight from b again", "OPTIONS", http.Header{"Origin": {b}, "Access-Control-Request-Method": {"GET"},
			"Access-Control-Request-Headers": {"x-app"}}, 200, b, "x-app"},
		{"preflight for a method the bucket refuses", "OPTIONS", http.Header{"Origin": {a}, "Access-Control-Request-Method": {"PUT"}}, 403, "", ""},
	}
	for _, e := range bothEdges(t, dir, tb) {
		for _, path := range []string{"/a.txt", "/keyed/a.txt"} {
			t.Run(fmt.Sprintf("cached=%v%s", e.cached, path), func(t *testing.T) {
				steps := steps
				if strings.HasPrefix(path, "/keyed/") {
					steps = append([]step{{"GET without Origin", "GET", nil, 200, "", ""}}, steps...)
				}
				for _, s := range steps {
					resp, body := siteRequest(t, e.url, s.method, path, s.header, nil)
					if resp.StatusCode != s.status {
						t.Fatalf("%s: status %d, want %d: %s", s.name, resp.StatusCode, s.status, body)
					}
					if g := resp.Header.Get("Access-Control-Allow-Origin"); g != s.allowOrigin {
						t.Errorf("%s: Access-Control-Allow-Origin %q, want %q (%s)", s.name, g, s.allowOrigin, resp.Header.Get("X-Cache"))
					}
					if g := resp.Header.Get("Access-Control-Allow-Headers"); !strings.EqualFold(g, s.allowHeaders) {
						t.Errorf("%s: Access-Control-Allow-Headers %q, want %q", s.name, g, s.allowHeaders)
					}
					if s.method == "OPTIONS" && s.status == 200 && !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "GET") {
						t.Errorf("%s: Access-Control-Allow-Methods %q, want GET in it", s.name, resp.Header.Get("Access-Control-Allow-Methods"))
					}
					if s.method == "GET" && body != "hello\n" {
						t.Errorf("%s: body %q", s.name, body)
					}
				}
			})
		}
	}
}
