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

// dbEnv is a config whose origin gets the viewer's city and ASN, and a
// City (Ann Arbor) and an ASN (36375) database for 35.0.0.0/8.
type dbEnv struct {
	opts      Options
	city, asn string // the databases' files
	seen      chan http.Header
}

func newDBEnv(t *testing.T) *dbEnv {
	e := &dbEnv{seen: make(chan http.Header, 1)}
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		e.seen <- r.Header.Clone()
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
	e.city, e.asn = filepath.Join(dbs, "city.mmdb"), filepath.Join(dbs, "asn.mmdb")
	e.write(t, "Ann Arbor", 36375)
	e.opts = Options{ConfigDir: dir, HTTPAddr: "127.0.0.1:0", TrustedProxies: "127.0.0.0/8",
		GeoIPDB: e.city, ASNDB: e.asn, Logger: warnLogger(t), CacheBodyDir: t.TempDir()}
	return e
}

// write puts city and asn for 35.0.0.0/8 in the databases' files.
func (e *dbEnv) write(t *testing.T, city string, asn uint32) {
	testenv.WriteGeoDB(t, e.city, map[string]mmdbtype.Map{"35.0.0.0/8": testenv.Place{Country: "US", City: city}.Record()})
	testenv.WriteGeoDB(t, e.asn, map[string]mmdbtype.Map{"35.0.0.0/8": testenv.ASN(asn, "AS")})
}

// place is the city and ASN n's origin gets for a viewer at 35.1.2.3.
func (e *dbEnv) place(t *testing.T, n *Node) (city, asn string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+n.Addr("http").String()+"/", nil)
	req.Host = "web.test"
	req.Header.Set("X-Forwarded-For", "35.1.2.3")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	hdr := <-e.seen
	return hdr.Get("CloudFront-Viewer-City"), hdr.Get("CloudFront-Viewer-ASN")
}

// TestViewerDatabases: serve --geoip-db (a City database) and --asn-db
// give the origin the viewer's city and ASN; the node shuts down with
// their watchers running; a missing --asn-db file stops the start.
func TestViewerDatabases(t *testing.T) {
	e := newDBEnv(t)
	opts := e.opts
	opts.ASNDB = filepath.Join(filepath.Dir(e.asn), "missing.mmdb")
	if n, err := Start(opts); err == nil || !strings.Contains(err.Error(), "--asn-db") {
		if n != nil {
			n.Shutdown(context.Background())
		}
		t.Fatalf("start with a missing --asn-db file: %v", err)
	}
	n, err := Start(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	if c, a := e.place(t, n); c != "Ann Arbor" || a != "36375" {
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

// TestReloadDatabases: SIGHUP (Node.Reload) reads a changed --geoip-db and
// --asn-db at once, as nginx's reload reads its GeoIP2 databases, rather
// than at the watcher's next look up to 30 s later: an operator who ran
// geoipupdate and then systemctl reload sees the new data on the next
// request.
func TestReloadDatabases(t *testing.T) {
	e := newDBEnv(t)
	n, err := Start(e.opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Shutdown(context.Background()) })
	if c, a := e.place(t, n); c != "Ann Arbor" || a != "36375" {
		t.Fatalf("before: city %q, ASN %q", c, a)
	}
	e.write(t, "Detroit", 7018)
	if err := n.Reload(); err != nil {
		t.Fatal(err)
	}
	if c, a := e.place(t, n); c != "Detroit" || a != "7018" {
		t.Errorf("after the reload: city %q, ASN %q; want the new databases' Detroit, 7018", c, a)
	}
}

// TestReloadDatabasesCheckedAgainstTable: a new database file is vetted
// against the table being served, as the table is against the databases
// at start: a country database replaced by an ASN one under a geo
// restriction (which would then serve every viewer) is refused and the
// old one kept; under a table that needs no country, any file reloads,
// such as an --asn-db first given a country file by mistake, then fixed.
func TestReloadDatabasesCheckedAgainstTable(t *testing.T) {
	asnOnly := map[string]mmdbtype.Map{"35.0.0.0/8": testenv.ASN(7018, "AS")}
	t.Run("geo restriction keeps its countries", func(t *testing.T) {
		e := newDBEnv(t)
		main := filepath.Join(e.opts.ConfigDir, "main.cue")
		b, _ := os.ReadFile(main)
		restricted := strings.Replace(string(b), "\tdefaultCacheBehavior:", "\trestrictions: geoRestriction: {restrictionType: \"whitelist\", items: [\"US\"]}\n\tdefaultCacheBehavior:", 1)
		if err := os.WriteFile(main, []byte(restricted), 0o644); err != nil {
			t.Fatal(err)
		}
		n, err := Start(e.opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Shutdown(context.Background()) })
		testenv.WriteGeoDB(t, e.city, asnOnly)
		n.Reload()
		if c, _ := e.place(t, n); c != "Ann Arbor" {
			t.Errorf("after an ASN file replaced the country database: city %q, want the old database's Ann Arbor", c)
		}
	})
	t.Run("a table without geo needs takes any file", func(t *testing.T) {
		e := newDBEnv(t)
		testenv.WriteGeoDB(t, e.asn, map[string]mmdbtype.Map{"35.0.0.0/8": testenv.Place{Country: "US", City: "Flint"}.Record()})
		n, err := Start(e.opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { n.Shutdown(context.Background()) })
		testenv.WriteGeoDB(t, e.asn, asnOnly)
		n.Reload()
		if _, a := e.place(t, n); a != "7018" {
			t.Errorf("after --asn-db's file was fixed: ASN %q, want 7018", a)
		}
	})
}
