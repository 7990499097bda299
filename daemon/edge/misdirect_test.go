package edge

import (
	"crypto/tls"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// TestMisdirectedAsksOnlyForAnotherDistribution: the node's check is
// consulted only for a TLS request whose host is not the SNI name and
// whose distribution is not the SNI's; its reason becomes a 421.
func TestMisdirectedAsksOnlyForAnotherDistribution(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "site"), 0o755)
	os.WriteFile(filepath.Join(dir, "site", "index.html"), []byte("index\n"), 0o644)
	tb := testenv.Compile(t, dir, `package cdn

distributions: a: {
	aliases: ["a.test"]
	origins: [{id: "files", localOriginConfig: path: "site"}]
	defaultCacheBehavior: {targetOriginId: "files", viewerProtocolPolicy: "allow-all"}
}
distributions: w: {
	aliases: ["*.w.test"]
	origins: [{id: "files", localOriginConfig: path: "site"}]
	defaultCacheBehavior: {targetOriginId: "files", viewerProtocolPolicy: "allow-all"}
}
`)
	h := New(origin.NewPool(dir), "edgetest", slog.New(slog.DiscardHandler))
	h.SetTable(tb)
	var asked []string // "sni->d" of each call
	h.SetMisdirectCheck(func(r *http.Request, sni, d *table.Distribution) string {
		from := "nil"
		if sni != nil {
			from = sni.ID
		}
		asked = append(asked, from+"->"+d.ID)
		if r.Header.Get("X-Refuse") != "" {
			return "refused"
		}
		return ""
	})
	for _, tt := range []struct {
		name, host string
		sni        *string // nil: plain HTTP
		refuse     bool
		asked      string // "": not asked
		status     int
	}{
		{"plain HTTP", "a.test", nil, true, "", 200},
		{"SNI is the host", "a.test", ptr("a.test"), true, "", 200},
		{"SNI is the host, with a port and in another case", "A.Test:8443", ptr("a.test"), true, "", 200},
		{"SNI a prefix of the host", "a.test", ptr("a.tes"), true, "nil->a", 421},
		{"same wildcard distribution", "x.w.test", ptr("y.w.test"), true, "", 200},
		{"another distribution", "x.w.test", ptr("a.test"), true, "a->w", 421},
		{"another distribution, check passes", "x.w.test", ptr("a.test"), false, "a->w", 200},
		{"no SNI", "a.test", ptr(""), true, "nil->a", 421},
		{"SNI of no distribution", "a.test", ptr("nomatch.test"), true, "nil->a", 421},
	} {
		t.Run(tt.name, func(t *testing.T) {
			asked = nil
			r := httptest.NewRequest("GET", "http://"+tt.host+"/index.html", nil)
			if tt.sni != nil {
				r.TLS = &tls.ConnectionState{ServerName: *tt.sni}
			}
			if tt.refuse {
				r.Header.Set("X-Refuse", "1")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if got := ""; len(asked) > 0 {
				got = asked[0]
				if got != tt.asked || len(asked) > 1 {
					t.Errorf("asked %v, want %q", asked, tt.asked)
				}
			} else if tt.asked != "" {
				t.Errorf("not asked, want %q", tt.asked)
			}
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			if w.Code == http.StatusMisdirectedRequest && (w.Header().Get("X-Cache") != cacheError || w.Header().Get("Via") == "" || w.Header().Get("X-Openfront-Id") == "") {
				t.Errorf("421 without the edge's headers: %v", w.Header())
			}
		})
	}
}

func ptr(s string) *string { return &s }
