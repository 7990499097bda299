package signedurl

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"flag"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"openfront.dev/compiler/table"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

// now is the clock of every test: signatures are made relative to it.
var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// Test keys: K1 and K2 are both in the trusted group (rotation), K3 is in
// a group the behavior does not trust.
var (
	keysOnce            sync.Once
	keyK1, keyK2, keyK3 *rsa.PrivateKey
	trustedGroup        *table.KeyGroup
	otherGroup          *table.KeyGroup
)

func keys(t testing.TB) {
	t.Helper()
	keysOnce.Do(func() {
		gen := func() *rsa.PrivateKey {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				panic(err)
			}
			return k
		}
		keyK1, keyK2, keyK3 = gen(), gen(), gen()
		trustedGroup = &table.KeyGroup{ID: "signers", Keys: map[string]crypto.PublicKey{
			"K1": &keyK1.PublicKey, "K2": &keyK2.PublicKey}}
		otherGroup = &table.KeyGroup{ID: "others", Keys: map[string]crypto.PublicKey{"K3": &keyK3.PublicKey}}
	})
}

// requestFor builds the Request a viewer sends for an absolute URL.
func requestFor(t testing.TB, rawURL string) Request {
	t.Helper()
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		t.Fatalf("not absolute: %s", rawURL)
	}
	host, target := rest, "/"
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		host, target = rest[:i], rest[i:]
	}
	path, query := SplitRequestURI(target)
	return Request{Scheme: scheme, Host: host, RawPath: path, RawQuery: query,
		ClientIP: netip.MustParseAddr("198.51.100.7"), Now: now}
}

// jsCase is a request from testdata/js-signed.json.
func jsCase(t testing.TB, name string) Request {
	t.Helper()
	b, err := os.ReadFile("testdata/js-signed.json")
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), `"name": "`+name+`"`)
	if i < 0 {
		t.Fatalf("no case %q", name)
	}
	rest := string(b[i:])
	j := strings.Index(rest, `"url": "`) + len(`"url": "`)
	return requestFor(t, rest[j:j+strings.IndexByte(rest[j:], '"')])
}

func checkGolden(t *testing.T, name string, got string) {
	t.Helper()
	path := "testdata/" + name
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run go test -update and review the diff):\n--- got\n%s", path, got)
	}
}
