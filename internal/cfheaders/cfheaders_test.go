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

// The device headers of real User-Agents. adding-cloudfront-headers.md:
// "Based on the value of the User-Agent header, CloudFront sets the value
// of these headers to true or false"; Android tablets and TVs are told
// apart from phones by the tokens their browsers send ("Mobile" on a
// phone only, "Tablet", "Android TV").
func TestDevices(t *testing.T) {
	type flags struct{ desktop, mobile, smartTV, tablet, android, iOS bool }
	for _, c := range []struct {
		name, ua string
		want     flags
	}{
		{"iPhone", iPhone, flags{mobile: true, iOS: true}},
		{"iPad", "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1", flags{tablet: true, iOS: true}},
		{"Android phone, Chrome", "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36", flags{mobile: true, android: true}},
		{"Android phone, app", "Dalvik/2.1.0 (Linux; U; Android 11; SM-G991B Build/RP1A.200720.012)", flags{mobile: true, android: true}},
		{"Android tablet, Chrome", "Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", flags{tablet: true, android: true}},
		{"Android tablet, Samsung Internet", "Mozilla/5.0 (Linux; Android 12; SM-T870) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/20.0 Chrome/106.0.5249.126 Safari/537.36", flags{tablet: true, android: true}},
		{"Android tablet, Firefox", "Mozilla/5.0 (Android 13; Tablet; rv:120.0) Gecko/120.0 Firefox/120.0", flags{tablet: true, android: true}},
		{"Android phone, Firefox", "Mozilla/5.0 (Android 13; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0", flags{mobile: true, android: true}},
		{"Android TV", "Mozilla/5.0 (Linux; Android 9; SHIELD Android TV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", flags{smartTV: true, android: true}},
		{"Tizen TV", "Mozilla/5.0 (SMART-TV; Linux; Tizen 6.0) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/4.0 Chrome/76.0.3809.146 TV Safari/537.36", flags{smartTV: true}},
		{"webOS TV", "Mozilla/5.0 (Web0S; Linux/SmartTV) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.79 Safari/537.36 WebAppManager", flags{smartTV: true}},
		{"Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36", flags{desktop: true}},
		{"macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15", flags{desktop: true}},
		// A client CloudFront cannot place is a desktop: events captured
		// behind it show curl, Postman and Slackbot as
		// CloudFront-Is-Desktop-Viewer: true, the rest false.
		{"curl", "curl/7.64.1", flags{desktop: true}},
		{"Postman", "PostmanRuntime/7.32.1", flags{desktop: true}},
		{"Slackbot", "Slackbot 1.0 (+https://api.slack.com/robots)", flags{desktop: true}},
		{"no User-Agent", "", flags{desktop: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := Viewer{Header: http.Header{"User-Agent": {c.ua}}}
			got := map[string]bool{}
			for name := range deviceHeaders {
				vs, _ := v.Value(name)
				got[name] = slices.Equal(vs, trueValue)
			}
			want := map[string]bool{
				"Cloudfront-Is-Desktop-Viewer": c.want.desktop, "Cloudfront-Is-Mobile-Viewer": c.want.mobile,
				"Cloudfront-Is-Smarttv-Viewer": c.want.smartTV, "Cloudfront-Is-Tablet-Viewer": c.want.tablet,
				"Cloudfront-Is-Android-Viewer": c.want.android, "Cloudfront-Is-Ios-Viewer": c.want.iOS,
			}
			for name, w := range want {
				if got[name] != w {
					t.Errorf("%s: %v, want %v", name, got[name], w)
				}
			}
		})
	}
}
