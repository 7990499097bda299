package origin

import "testing"

func TestViewerHost(t *testing.T) {
	for _, tc := range []struct {
		host, port string
		https      bool
		want       string
	}{
		{"site.test", "8080", false, "site.test"},
		{"site.test:8080", "8080", false, "site.test:8080"}, // the listener's own port
		{"site.test:1337", "8080", false, "site.test"},
		{"site.test:8443", "8080", false, "site.test"},
		{"site.test:80", "80", false, "site.test"}, // the scheme's default
		{"site.test:443", "443", true, "site.test"},
		{"site.test:443", "443", false, "site.test:443"}, // plain HTTP on 443
		{"site.test:", "8080", false, "site.test"},
		{"SITE.Test", "8080", false, "site.test"},
		{"site.test.", "8080", false, "site.test"},
		{"Site.TEST.:8080", "8080", false, "site.test:8080"},
		{"site.test:1337", "", false, "site.test"}, // no listener known
		{"[::1]:8080", "8080", false, "[::1]:8080"},
		{"[::1]:1337", "8080", false, "[::1]"},
		{"[::1]", "8080", false, "[::1]"},
		{"[FE80::1]", "8080", false, "[fe80::1]"},
		{"10.0.0.5:8080", "8080", false, "10.0.0.5:8080"},
	} {
		if got := ViewerHost(tc.host, tc.port, tc.https); got != tc.want {
			t.Errorf("ViewerHost(%q, %q, %v) = %q, want %q", tc.host, tc.port, tc.https, got, tc.want)
		}
	}
}
