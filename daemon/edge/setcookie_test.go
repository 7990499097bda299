package edge

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
	for _, e := range bothEdges(t, dir, tbl) {
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
				t.Run(fmt.Sprintf("cache %v %s %s", e.cached, tt.path, try), func(t *testing.T) {
					resp, _ := siteRequest(t, e.url, "GET", tt.path, http.Header{"Cookie": {"s=1"}}, nil)
					if got := resp.Header.Get("Set-Cookie"); got != tt.want {
						t.Errorf("Set-Cookie %q, want %q (X-Cache %q)", got, tt.want, resp.Header.Get("X-Cache"))
					}
				})
			}
		}
	}
}
