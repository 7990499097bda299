package origin_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync/atomic"
	"testing"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// shieldedConfig has the distribution site whose origin app, with the
// timeouts given, goes through the eu-west-1 shield if enabled.
func shieldedConfig(t *testing.T, readTimeout, connectionTimeout int, enabled bool) *table.Table {
	t.Helper()
	return testenv.Compile(t, "", fmt.Sprintf(`package cdn
distributions: site: {
	origins: [{id: "app", domainName: "app.example.org", connectionTimeout: %d
		customOriginConfig: {originProtocolPolicy: "http-only", originReadTimeout: %d}
		originShield: {enabled: %t, originShieldRegion: "eu-west-1"}}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
}
`, connectionTimeout, readTimeout, enabled))
}

// TestPruneShieldClients: a table swap keeps the connection pool to a
// shield while an origin of the new table is sent there with the same
// timeouts, and closes it otherwise, so that reloads with ever new
// timeouts do not pile up pools.
func TestPruneShieldClients(t *testing.T) {
	for _, tc := range []struct {
		name            string
		read, connect   int // the swapped-in table's origin timeouts
		shielded        bool
		wantConnections int64
	}{
		{"same timeouts", 30, 10, true, 1},
		{"changed read timeout", 31, 10, true, 2},
		{"changed connection timeout", 30, 9, true, 2},
		{"shield disabled", 30, 10, false, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var conns atomic.Int64
			srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "ok")
			}))
			srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
				if s == http.StateNew {
					conns.Add(1)
				}
			}
			srv.Start()
			defer srv.Close()
			base, _ := url.Parse(srv.URL)
			p := origin.NewPool(t.TempDir())
			defer p.Close()
			first := shieldedConfig(t, 30, 10, true)
			fetch := func() {
				t.Helper()
				o := first.Distribution("site").Origins["app"]
				f := p.Shield(o, base, "X-Shield", func(string, string, string) string { return "sig" })
				resp, err := f.Fetch(context.Background(), &origin.Request{Method: http.MethodGet, Path: "/x", Header: http.Header{}, ViewerHost: "site.test"})
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			fetch()
			p.Prune(shieldedConfig(t, tc.read, tc.connect, tc.shielded))
			fetch() // on a new connection if the pool was closed
			if got := conns.Load(); got != tc.wantConnections {
				t.Errorf("%d connections to the shield, want %d", got, tc.wantConnections)
			}
		})
	}
}
