package node

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"openfront.dev/internal/testenv"
)

// TestViewerDatabases: serve --geoip-db (a City database) and --asn-db
// give the origin the viewer's city and ASN; the node shuts down with
// their watchers running; a missing --asn-db file stops the start.
func TestViewerDatabases(t *testing.T) {
	seen := make(chan http.Header, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`package cdn

distributions: web: {
	aliases: ["web.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: headers: ["CloudFront-Viewer-City", "CloudFront-Viewer-ASN"]}
}
`, app.Listener.Addr().String())
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	dbs := t.TempDir()
	city, asn := filepath.Join(dbs, "city.mmdb"), filepath.Join(dbs, "asn.mmdb")
	testenv.WriteGeoDB(t, city, map[string]mmdbtype.Map{"35.0.0.0/8": testenv.Place{Country: "US", City: "Ann Arbor"}.Record()})
	testenv.WriteGeoDB(t, asn, map[string]mmdbtype.Map{"35.0.0.0/8": testenv.ASN(36375, "UMICH")})
	opts := Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", TrustedProxies: "127.0.0.0/8",
		GeoIPDB: city, ASNDB: filepath.Join(dbs, "missing.mmdb"), Logger: warnLogger(t), CacheBodyDir: t.TempDir()}
	if n, err := Start(opts); err == nil || !strings.Contains(err.Error(), "--asn-db") {
		if n != nil {
			n.Shutdown(context.Background())
		}
		t.Fatalf("start with a missing --asn-db file: %v", err)
	}
	opts.ASNDB = asn
	n, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://"+n.Addr("http").String()+"/", nil)
	req.Host = "web.test"
	req.Header.Set("X-Forwarded-For", "35.1.2.3")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	hdr := <-seen
	if c, a := hdr.Get("CloudFront-Viewer-City"), hdr.Get("CloudFront-Viewer-ASN"); c != "Ann Arbor" || a != "36375" {
		t.Errorf("the origin got city %q, ASN %q", c, a)
	}
	done := make(chan error, 1)
	go func() { done <- n.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown still waits after 10 s: the database watchers never stop")
	}
}
