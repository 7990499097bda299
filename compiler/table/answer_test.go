package table

import (
	"strings"
	"testing"

	"openfront.dev/schema"
)

func TestGeoAllowed(t *testing.T) {
	white := schema.GeoRestriction{RestrictionType: "whitelist", Items: []string{"FR", "DE"}}
	black := schema.GeoRestriction{RestrictionType: "blacklist", Items: []string{"KP"}}
	none := schema.GeoRestriction{RestrictionType: "none"}
	cases := []struct {
		name    string
		r       schema.GeoRestriction
		country string
		known   bool
		want    bool
	}{
		{"whitelist, listed", white, "FR", true, true},
		{"whitelist, not listed", white, "US", true, false},
		// CloudFront serves a viewer whose country it cannot determine,
		// whatever the list (georestrictions.html).
		{"whitelist, unknown address", white, "", false, true},
		{"blacklist, listed", black, "KP", true, false},
		{"blacklist, not listed", black, "FR", true, true},
		{"blacklist, unknown address", black, "", false, true},
		{"none", none, "", false, true},
		{"whitelist, lower-case database code", white, "de", true, true},
	}
	for _, c := range cases {
		ok, reason := GeoAllowed(c.r, c.country, c.known)
		if ok != c.want {
			t.Errorf("%s: allowed %v", c.name, ok)
		}
		if !ok && !strings.HasSuffix(reason, ".") {
			t.Errorf("%s: reason %q", c.name, reason)
		}
		if !ok && c.known && !strings.Contains(reason, c.country) {
			t.Errorf("%s: reason %q does not name the country", c.name, reason)
		}
	}
}

// TestErrorPage: the entry for the status with a page replaces an answer;
// one that only sets errorCachingMinTTL, or another status's, does not.
func TestErrorPage(t *testing.T) {
	d := &Distribution{Spec: &schema.Distribution{CustomErrorResponses: []schema.CustomErrorResponse{
		{ErrorCode: 403, ResponsePagePath: "/errors/denied.html", ResponseCode: 404, ErrorCachingMinTTL: 30},
		{ErrorCode: 404, ErrorCachingMinTTL: 5},
	}}}
	cases := []struct {
		status int
		want   string // the page's path; "": none
	}{
		{403, "/errors/denied.html"},
		{404, ""},
		{500, ""},
	}
	for _, c := range cases {
		got := "(none)"
		if p := d.ErrorPage(c.status); p != nil {
			got = p.ResponsePagePath
		}
		if c.want == "" {
			c.want = "(none)"
		}
		if got != c.want {
			t.Errorf("ErrorPage(%d) = %q, want %q", c.status, got, c.want)
		}
	}
}
