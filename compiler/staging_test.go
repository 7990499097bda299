package compiler

import (
	"testing"

	"openfront.dev/schema"
)

func TestLooserGeo(t *testing.T) {
	geo := func(kind string, items ...string) schema.GeoRestriction {
		return schema.GeoRestriction{RestrictionType: kind, Items: items}
	}
	for _, tc := range []struct {
		name             string
		primary, staging schema.GeoRestriction
		want             string
	}{
		{"primary none", geo("none"), geo("none"), ""},
		{"same whitelist", geo("whitelist", "DE", "FR"), geo("whitelist", "FR", "DE"), ""},
		{"shorter whitelist", geo("whitelist", "DE", "FR"), geo("whitelist", "DE"), ""},
		{"longer whitelist", geo("whitelist", "DE"), geo("whitelist", "DE", "US", "FR"), `viewers in US, FR, which "site"'s geo restriction blocks`},
		{"whitelist to blacklist", geo("whitelist", "DE", "FR"), geo("blacklist", "RU"), `viewers outside "site"'s whitelist (DE, FR): its restrictionType is blacklist`},
		{"whitelist to none", geo("whitelist", "DE"), geo("none"), `viewers outside "site"'s whitelist (DE): its restrictionType is none`},
		{"blacklist to whitelist outside it", geo("blacklist", "RU"), geo("whitelist", "DE"), ""},
		{"blacklist to whitelist of a blocked one", geo("blacklist", "KP", "RU"), geo("whitelist", "DE", "RU"), `viewers in RU, which "site"'s geo restriction blocks`},
		{"longer blacklist", geo("blacklist", "RU"), geo("blacklist", "KP", "RU"), ""},
		{"shorter blacklist", geo("blacklist", "KP", "RU"), geo("blacklist", "RU"), `viewers in KP, which "site"'s geo restriction blocks`},
		{"blacklist to none", geo("blacklist", "KP", "RU"), geo("none"), `viewers in KP, RU, which "site"'s geo restriction blocks: its restrictionType is none`},
	} {
		if got := looserGeo("site", tc.primary, tc.staging); got != tc.want {
			t.Errorf("%s: looserGeo = %q, want %q", tc.name, got, tc.want)
		}
	}
}
