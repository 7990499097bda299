package edge

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestIfMatchWithoutETag: a viewer's If-Match is ignored for a cached
// object its origin sent no ETag for, which is then served (200), as
// CloudFront: "If you do not specify an ETag value, CloudFront ignores
// subsequent If-Match or If-None-Match headers"
// (RequestAndResponseBehaviorCustomOrigin, Caching); it was 412, on the
// miss and on every hit. An object with an ETag still answers a
// mismatch 412.
func TestIfMatchWithoutETag(t *testing.T) {
	edges := appSiteEdges(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "max-age=60")
		if strings.HasPrefix(r.URL.Path, "/tagged") {
			w.Header().Set("ETag", `"v1"`)
		}
		if strings.HasPrefix(r.URL.Path, "/dated") {
			w.Header().Set("Last-Modified", "Sat, 05 Dec 2026 12:00:00 GMT")
		}
		io.WriteString(w, "ok")
	},
		``,
		`defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all"}`)
	tests := []struct {
		path, ifMatch, ifUnmodifiedSince string
		want                             int
	}{
		{"/untagged/a", `"abc"`, "", http.StatusOK},
		{"/untagged/b", `W/"v1", "v2"`, "", http.StatusOK},
		{"/tagged/a", `"abc"`, "", http.StatusPreconditionFailed},
		{"/tagged/b", `"v1"`, "", http.StatusOK},
		// An ignored If-Match is as absent: If-Unmodified-Since counts,
		// and is ignored in turn without a Last-Modified (RFC 9110 13.1.4).
		{"/dated/a", `"abc"`, "Fri, 04 Dec 2026 12:00:00 GMT", http.StatusPreconditionFailed},
		{"/dated/b", `"abc"`, "Sun, 06 Dec 2026 12:00:00 GMT", http.StatusOK},
		{"/untagged/c", `"abc"`, "Fri, 04 Dec 2026 12:00:00 GMT", http.StatusOK},
	}
	// Without a cache the origin gets If-Match and decides.
	url := edges[1].url
	for _, tt := range tests {
		for _, round := range []string{"miss", "hit"} {
			h := http.Header{"If-Match": {tt.ifMatch}}
			if tt.ifUnmodifiedSince != "" {
				h.Set("If-Unmodified-Since", tt.ifUnmodifiedSince)
			}
			resp, body := siteRequest(t, url, "GET", tt.path, h, nil)
			if resp.StatusCode != tt.want || tt.want == http.StatusOK && body != "ok" {
				t.Errorf("%s If-Match %s If-Unmodified-Since %q (%s): %d %q, want %d", tt.path, tt.ifMatch, tt.ifUnmodifiedSince, round, resp.StatusCode, body, tt.want)
			}
		}
	}
}
