package edge

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// TestForwardedProto: CloudFront-Forwarded-Proto, when the behavior
// forwards it, is the protocol the viewer used, set by the node
// (header-caching.md, "Configuring caching based on the protocol of the
// request"); a viewer's own never reaches the origin, which may trust it.
func TestForwardedProto(t *testing.T) {
	seen := make(chan http.Header, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		io.WriteString(w, "ok\n")
	}))
	t.Cleanup(app.Close)
	host := app.Listener.Addr().String()
	dir := t.TempDir()
	cfg := "package cdn\n"
	for name, behavior := range map[string]string{
		"named":       `forwardedValues: headers: ["cloudfront-forwarded-proto"]`,
		"cfheaders":   `originRequestPolicy: "AllViewerAndCloudFrontHeaders-2022-06"`,
		"allviewer":   `originRequestPolicy: "AllViewer"`,
		"star":        `forwardedValues: headers: ["*"]`,
		"unforwarded": `forwardedValues: headers: ["Accept"]`,
	} {
		cfg += fmt.Sprintf(`distributions: %[1]s: {
	aliases: ["%[1]s.test"]
	origins: [{id: "app", domainName: %[2]q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", %[3]s}
}
`, name, host, behavior)
	}
	h := New(origin.NewPool(dir), "test-node", slog.New(slog.DiscardHandler))
	// The test client is a trusted proxy: its X-Forwarded-Proto says https.
	h.SetViewerIdentity([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, nil)
	h.SetTable(testenv.Compile(t, dir, cfg))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)

	const forged = "https"
	for _, tc := range []struct {
		name, host string
		https      bool
		want       []string
	}{
		{"named, http viewer claiming https", "named", false, []string{"http"}},
		{"named, https viewer", "named", true, []string{"https"}},
		{"AllViewerAndCloudFrontHeaders", "cfheaders", false, []string{"http"}},
		{"AllViewer passes no claim", "allviewer", false, nil},
		{"* passes no claim", "star", false, nil},
		{"not forwarded", "unforwarded", false, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/x", nil)
			req.Host = tc.host + ".test"
			req.Header.Set("CloudFront-Forwarded-Proto", forged)
			if tc.https {
				req.Header.Set("X-Forwarded-Proto", "https")
			} else {
				req.Header.Set("X-Forwarded-Proto", "http")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			got := (<-seen)["Cloudfront-Forwarded-Proto"]
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Errorf("origin got CloudFront-Forwarded-Proto %q, want %q", got, tc.want)
			}
		})
	}
}
