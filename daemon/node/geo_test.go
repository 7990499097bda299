package node

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"openfront.dev/internal/testenv"
)

// TestShutdownWithGeoDB: a node serving with --geoip-db shuts down; the
// database's watcher does not keep Shutdown waiting.
func TestShutdownWithGeoDB(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.cue"), []byte("package cdn\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	geo := filepath.Join(t.TempDir(), "country.mmdb")
	testenv.WriteGeoDB(t, geo, map[string]mmdbtype.Map{"81.0.0.0/8": testenv.Country("FR")})
	n, err := Start(Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", GeoIPDB: geo, Logger: warnLogger(t), CacheBodyDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.Shutdown(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown still waits after 10 s: the geo database's watcher never stops")
	}
}
