package edge

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"openfront.dev/internal/testenv"
)

// TestShieldTLSFailureBypassed: a shield the node cannot set up TLS with
// (a certificate no trusted CA signed, no TLS on its port) cannot be
// reached, as one that refuses the connection: the node asks the origin
// itself.
func TestShieldTLSFailureBypassed(t *testing.T) {
	clock := testenv.NewClock(time.Now())
	app, hits := countingOrigin(t, clock)
	tb := testenv.Compile(t, "", fmt.Sprintf(shieldedSite, app.Listener.Addr().String()))
	untrusted := httptest.NewUnstartedServer(http.NotFoundHandler())
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0)
	untrusted.StartTLS()
	t.Cleanup(untrusted.Close)
	plain := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(plain.Close)
	for _, base := range []string{untrusted.URL, strings.Replace(plain.URL, "http:", "https:", 1)} {
		t.Run(base, func(t *testing.T) {
			u, _ := url.Parse(base)
			edge, _ := shieldNode(t, "edge-a", tb, u, clock)
			before := hits.Load()
			w := httptest.NewRecorder()
			edge.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "http://site.test/x", nil))
			if w.Code != http.StatusOK || w.Body.String() != "object /x" || hits.Load() != before+1 {
				t.Errorf("%d %q after %d origin requests, want 200 from the origin itself", w.Code, w.Body.String(), hits.Load()-before)
			}
			if n := testutil.ToFloat64(edge.metrics.shieldRequests.WithLabelValues("eu-west-1", "fallback")); n != 1 {
				t.Errorf("%v fallback requests counted, want 1", n)
			}
		})
	}
}
