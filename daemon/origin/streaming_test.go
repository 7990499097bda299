package origin_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// streamingConfig has the streaming distribution tv with the s3Origin
// domain given, or none with "".
func streamingConfig(t *testing.T, domain string) *table.Table {
	t.Helper()
	cfg := "package cdn\n"
	if domain != "" {
		cfg += `streamingDistributions: tv: {
	aliases: ["tv.test"]
	s3Origin: domainName: "` + domain + `"
}
`
	}
	return testenv.Compile(t, "", cfg)
}

// TestPruneKeepsStreamingFetchers: a table swap keeps a streaming
// distribution's S3 fetcher (and its warm connections) while the
// distribution and its s3Origin stay, and drops it otherwise.
func TestPruneKeepsStreamingFetchers(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	const domain = "media.s3.us-east-1.amazonaws.com"
	for _, tc := range []struct {
		name     string
		next     string // the swapped-in table's s3Origin domain; "": tv removed
		wantSame bool
	}{
		{"same distribution", domain, true},
		{"changed s3Origin", "other.s3.us-east-1.amazonaws.com", false},
		{"distribution removed", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := origin.NewPool(t.TempDir())
			defer p.Close()
			first := streamingConfig(t, domain)
			sd := first.StreamingDistribution("tv")
			before, err := p.StreamingFetcher(sd)
			if err != nil {
				t.Fatal(err)
			}
			p.Prune(streamingConfig(t, tc.next))
			after, err := p.StreamingFetcher(sd)
			if err != nil {
				t.Fatal(err)
			}
			if same := before == after; same != tc.wantSame {
				t.Errorf("fetcher kept across Prune: %v, want %v", same, tc.wantSame)
			}
		})
	}
}

// TestPruneKeepsWebFetchers: a config compiled again (every row a new
// value, as after a reload in another process or a git deploy) keeps an
// unchanged origin's fetcher and its warm connections; a changed origin
// gets a new one.
func TestPruneKeepsWebFetchers(t *testing.T) {
	web := func(port int) string {
		return fmt.Sprintf(`package cdn
distributions: site: {
	origins: [{id: "app", domainName: "app.example.org", customOriginConfig: {originProtocolPolicy: "http-only", httpPort: %d}}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
}
`, port)
	}
	fetcher := func(p *origin.Pool, tbl *table.Table) origin.Fetcher {
		d := tbl.Distribution("site")
		f, err := p.Fetcher(d, d.Origins["app"])
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, tc := range []struct {
		name     string
		nextPort int
		wantSame bool
	}{
		{"same origin, compiled again", 8080, true},
		{"changed port", 8081, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := origin.NewPool(t.TempDir())
			defer p.Close()
			before := fetcher(p, testenv.Compile(t, "", web(8080)))
			next := testenv.Compile(t, "", web(tc.nextPort))
			p.Prune(next)
			if same := fetcher(p, next) == before; same != tc.wantSame {
				t.Errorf("fetcher kept across Prune: %v, want %v", same, tc.wantSame)
			}
		})
	}
}
