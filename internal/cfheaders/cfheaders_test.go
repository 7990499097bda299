package cfheaders

import (
	"net/http"
	"net/netip"
	"slices"
	"testing"
)

const iPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"

// Set as route and vet use it: no connection, so no port and no HTTP
// version; the viewer's own value of a named header never stays.
func TestSet(t *testing.T) {
	names := []string{ForwardedProto, ViewerCountry, ViewerAddress, ViewerHTTPVersion,
		"Cloudfront-Is-Mobile-Viewer", "Cloudfront-Is-Desktop-Viewer", "Cloudfront-Viewer-Ja3-Fingerprint"}
	for _, c := range []struct {
		name      string
		v         Viewer
		want      http.Header
		wantUnset []string
	}{
		{"https DE iPhone", Viewer{HTTPS: true, Country: "DE", Client: netip.MustParseAddr("2001:db8::7")},
			http.Header{ForwardedProto: {"https"}, ViewerCountry: {"DE"}, ViewerAddress: {"2001:db8::7:0"},
				"Cloudfront-Is-Mobile-Viewer": {"true"}, "Cloudfront-Is-Desktop-Viewer": {"false"}},
			[]string{ViewerHTTPVersion, "Cloudfront-Viewer-Ja3-Fingerprint"}},
		{"http unknown country, peer port", Viewer{Client: netip.MustParseAddr("192.0.2.1"), RemoteAddr: "192.0.2.1:40000", ProtoMajor: 1, ProtoMinor: 1},
			http.Header{ForwardedProto: {"http"}, ViewerAddress: {"192.0.2.1:40000"}, ViewerHTTPVersion: {"1.1"},
				"Cloudfront-Is-Mobile-Viewer": {"true"}, "Cloudfront-Is-Desktop-Viewer": {"false"}},
			[]string{ViewerCountry, "Cloudfront-Viewer-Ja3-Fingerprint"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := http.Header{"User-Agent": {iPhone}, ViewerCountry: {"FR"}, "Cloudfront-Viewer-Ja3-Fingerprint": {"spoofed"}}
			c.v.Header = h
			unset := Set(h, names, &c.v)
			delete(h, "User-Agent")
			for _, n := range slices.Concat(names, []string{"User-Agent"}) {
				if got, want := h[n], c.want[n]; !slices.Equal(got, want) {
					t.Errorf("%s: %q, want %q", n, got, want)
				}
			}
			if !slices.Equal(unset, c.wantUnset) {
				t.Errorf("unset %q, want %q", unset, c.wantUnset)
			}
		})
	}
}
