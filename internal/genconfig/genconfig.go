// Package genconfig writes large generated configs for benchmarks: one file
// per distribution, 3 origins and 5 cache behaviors each, the layout of a
// big GitOps config repo.
package genconfig

import (
	"fmt"
	"os"
	"path/filepath"
)

// FileName is the file that holds distribution i.
func FileName(dir string, i int) string {
	return filepath.Join(dir, fmt.Sprintf("d%05d.cue", i))
}

// Write writes distributions 0..n-1 into dir.
func Write(dir string, n int) error {
	for i := range n {
		if err := WriteDistribution(dir, i, ""); err != nil {
			return err
		}
	}
	return nil
}

// WriteDistribution writes distribution i with the given comment, which a
// benchmark changes to make a one-file edit.
func WriteDistribution(dir string, i int, comment string) error {
	src := fmt.Sprintf(`package cdn

distributions: "d%[1]d": {
	comment: %[2]q
	aliases: ["d%[1]d.example.com", "*.d%[1]d.example.net"]
	origins: [
		{id: "web", domainName: "web%[1]d.example.org", customOriginConfig: {originProtocolPolicy: "https-only"}},
		{id: "assets", domainName: "assets%[1]d.s3.us-east-1.amazonaws.com", s3OriginConfig: {}},
		{id: "api", domainName: "api%[1]d.example.org", customOriginConfig: {originProtocolPolicy: "match-viewer", httpPort: 8080}},
	]
	defaultCacheBehavior: {targetOriginId: "web", viewerProtocolPolicy: "redirect-to-https"}
	cacheBehaviors: [
		{pathPattern: "/img/*", targetOriginId: "assets", viewerProtocolPolicy: "allow-all"},
		{pathPattern: "/api/*", targetOriginId: "api", viewerProtocolPolicy: "https-only", allowedMethods: ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"], forwardedValues: {queryString: true, cookies: {forward: "all"}}, defaultTTL: 0},
		{pathPattern: "*.css", targetOriginId: "assets", viewerProtocolPolicy: "allow-all", compress: true},
		{pathPattern: "/video/*.mp4", targetOriginId: "assets", viewerProtocolPolicy: "allow-all"},
		{pathPattern: "/static/*", targetOriginId: "assets", viewerProtocolPolicy: "allow-all", maxTTL: 600, defaultTTL: 300},
	]
}
`, i, comment)
	return os.WriteFile(FileName(dir, i), []byte(src), 0o644)
}
