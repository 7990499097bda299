package node

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"openfront.dev/internal/testenv"
)

// serve --table FILE finds a local origin's directory beside FILE, as
// serve --config DIR finds it in DIR: not in the working directory, which
// is "/" under systemd.
func TestTableLocalOriginBesideArtifact(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "site"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "site", "index.html"), []byte("from the artifact's directory\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tbl := testenv.Compile(t, dir, `package cdn
distributions: d: {
	aliases: ["local.test"]
	origins: [{id: "site", localOriginConfig: path: "site"}]
	defaultCacheBehavior: {targetOriginId: "site", viewerProtocolPolicy: "allow-all"}
}
`)
	b, err := tbl.MarshalArtifact()
	if err != nil {
		t.Fatal(err)
	}
	artifact := filepath.Join(dir, "table.json")
	if err := os.WriteFile(artifact, b, 0o644); err != nil {
		t.Fatal(err)
	}
	n, err := Start(Options{TableFile: artifact, HTTPAddr: "127.0.0.1:0", Logger: testLogger(t), CacheBodyDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	resp, body := do(t, http.DefaultClient, "GET", "http://"+n.Addr("http").String()+"/index.html", http.Header{"Host": {"local.test"}}, "")
	if resp.StatusCode != http.StatusOK || string(body) != "from the artifact's directory\n" {
		t.Errorf("%s: %q, want the file beside the artifact", resp.Status, body)
	}
}
