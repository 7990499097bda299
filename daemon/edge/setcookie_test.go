package edge

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// TestSetCookieOnlyWhenCookiesForwarded: CloudFront removes Set-Cookie from
// the origin's responses when the behavior forwards no cookies, and keeps
// (and caches) it when it forwards all or a whitelist
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/Cookies.html).
func TestSetCookieOnlyWhenCookiesForwarded(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		w.Header().Set("Set-Cookie", "session=origin")
		io.WriteString(w, "body")
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	src := fmt.Sprintf(`package cdn

distributions: site: {
	aliases: ["site.test"]
	origins: [{id: "app", domainName: %q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}
	cacheBehaviors: [
		{pathPattern: "/all/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: cookies: forward: "all"},
		{pathPattern: "/list/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: cookies: {forward: "whitelist", whitelistedNames: ["s"]}},
		{pathPattern: "/header/*", targetOriginId: "app", viewerProtocolPolicy: "allow-all", forwardedValues: headers: ["Cookie"]},
	]
}
`, strings.TrimPrefix(app.URL, "http://"))
	tbl := testenv.Compile(t, dir, src)
	for _, cached := range []bool{true, false} {
		h := New(origin.NewPool(dir), "test-node", slog.New(slog.DiscardHandler))
		if cached {
			h.SetCache(testCache(t))
		}
		h.SetTable(tbl)
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		for _, tt := range []struct {
			path string
			want string
		}{
			{"/none/a", ""},
			{"/all/a", "session=origin"},
			{"/list/a", "session=origin"},
			{"/header/a", "session=origin"},
		} {
			for _, try := range []string{"miss", "hit"} {
				t.Run(fmt.Sprintf("cache %v %s %s", cached, tt.path, try), func(t *testing.T) {
					req, _ := http.NewRequest("GET", srv.URL+tt.path, nil)
					req.Host = "site.test"
					req.Header.Set("Cookie", "s=1")
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if got := resp.Header.Get("Set-Cookie"); got != tt.want {
						t.Errorf("Set-Cookie %q, want %q (X-Cache %q)", got, tt.want, resp.Header.Get("X-Cache"))
					}
				})
			}
		}
	}
}
