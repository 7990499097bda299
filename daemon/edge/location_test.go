package edge

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter/mmdbtype"

	"openfront.dev/daemon/access"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/testenv"
)

// locationNames are the viewer location headers, as a behavior names them
// (adding-cloudfront-headers.md).
var locationNames = []string{"CloudFront-Viewer-Country", "CloudFront-Viewer-Country-Name", "CloudFront-Viewer-Country-Region",
	"CloudFront-Viewer-Country-Region-Name", "CloudFront-Viewer-City", "CloudFront-Viewer-Postal-Code",
	"CloudFront-Viewer-Time-Zone", "CloudFront-Viewer-Latitude", "CloudFront-Viewer-Longitude",
	"CloudFront-Viewer-Metro-Code", "CloudFront-Viewer-ASN"}

// TestViewerLocationHeaders: an origin gets the viewer location headers
// from a City and an ASN database for the address a trusted proxy names,
// formatted as CloudFront's (five decimals, non-ASCII percent-encoded);
// with a Country database only the country and its name; none that the
// behavior does not forward, and never a viewer's own.
func TestViewerLocationHeaders(t *testing.T) {
	seen := make(chan http.Header, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		w.Header().Set("Cache-Control", "no-store")
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	cfg := "package cdn\n"
	for name, behavior := range map[string]string{
		// All but the country: a behavior names at most 10 headers.
		"named":      `forwardedValues: headers: ["` + strings.Join(locationNames[1:], `", "`) + `"]`,
		"cfheaders":  `originRequestPolicy: "AllViewerAndCloudFrontHeaders-2022-06"`,
		"excepthost": `originRequestPolicy: "AllViewerExceptHostHeader"`,
		"city":       `forwardedValues: headers: ["cloudfront-viewer-city"]`,
		"asn":        `originRequestPolicy: "AllViewer", forwardedValues: headers: ["CloudFront-Viewer-ASN"]`,
		"none":       `forwardedValues: headers: ["Accept-Language"]`,
		"allviewer":  `originRequestPolicy: "AllViewer"`,
	} {
		cfg += fmt.Sprintf(`distributions: %[1]s: {
	aliases: ["%[1]s.test"]
	origins: [{id: "app", domainName: %[2]q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", %[3]s}
}
`, name, app.Listener.Addr().String(), behavior)
	}
	tb := testenv.Compile(t, dir, cfg)

	annArbor := testenv.Place{Country: "US", CountryName: "United States", Region: "MI", RegionName: "Michigan",
		City: "Ann Arbor", Postal: "48105", TimeZone: "America/Detroit", Latitude: 42.3068, Longitude: -83.7059, MetroCode: 505}
	zurich := testenv.Place{Country: "CH", CountryName: "Switzerland", Region: "ZH", RegionName: "Zürich",
		City: "Zürich", Postal: "8001", TimeZone: "Europe/Zurich", Latitude: 47.3769, Longitude: 8.5417, MetroCode: 7, ASN: 559}
	open := func(name string, records map[string]mmdbtype.Map) *access.GeoDB {
		path := filepath.Join(dir, name)
		testenv.WriteGeoDB(t, path, records)
		db, err := access.OpenGeoDB(path)
		if err != nil {
			t.Fatal(err)
		}
		return db
	}
	city := open("city.mmdb", map[string]mmdbtype.Map{"35.0.0.0/8": annArbor.Record(), "81.0.0.0/8": zurich.Record()})
	asn := open("asn.mmdb", map[string]mmdbtype.Map{"35.0.0.0/8": testenv.ASN(36375, "UMICH"), "81.0.0.0/8": testenv.ASN(3303, "Swisscom")})
	country := open("country.mmdb", map[string]mmdbtype.Map{"35.0.0.0/8": testenv.Country("US")})
	trusted := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	serve := func(geo, asnDB *access.GeoDB) *httptest.Server {
		h := New(origin.NewPool(dir), "test-node", slog.New(slog.DiscardHandler))
		h.SetViewerIdentity(trusted, geo)
		h.SetASNDB(asnDB)
		h.SetTable(tb)
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		return srv
	}
	cityASN, cityOnly, countryOnly, noDB := serve(city, asn), serve(city, nil), serve(country, nil), serve(nil, nil)

	michigan := map[string]string{"Cloudfront-Viewer-Country": "US", "Cloudfront-Viewer-Country-Name": "United States",
		"Cloudfront-Viewer-Country-Region": "MI", "Cloudfront-Viewer-Country-Region-Name": "Michigan",
		"Cloudfront-Viewer-City": "Ann Arbor", "Cloudfront-Viewer-Postal-Code": "48105", "Cloudfront-Viewer-Time-Zone": "America/Detroit",
		"Cloudfront-Viewer-Latitude": "42.30680", "Cloudfront-Viewer-Longitude": "-83.70590", "Cloudfront-Viewer-Metro-Code": "505",
		"Cloudfront-Viewer-Asn": "36375"}
	without := func(m map[string]string, names ...string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		for _, n := range names {
			delete(out, n)
		}
		return out
	}
	cases := []struct {
		name string
		srv  *httptest.Server
		host string
		xff  string
		want map[string]string
	}{
		{"City and ASN databases", cityASN, "named", "35.1.2.3", without(michigan, "Cloudfront-Viewer-Country")},
		{"AllViewerAndCloudFrontHeaders", cityASN, "cfheaders", "35.1.2.3", michigan},
		// The managed policy for API Gateway and Lambda function URL
		// origins adds the CloudFront headers too: captured requests of
		// CloudFront to a function URL carry them all.
		{"AllViewerExceptHostHeader", cityASN, "excepthost", "35.1.2.3", michigan},
		{"non-ASCII percent-encoded; metro code only in the US; the ASN database's", cityASN, "cfheaders", "81.1.2.3",
			map[string]string{"Cloudfront-Viewer-Country": "CH", "Cloudfront-Viewer-Country-Name": "Switzerland",
				"Cloudfront-Viewer-Country-Region": "ZH", "Cloudfront-Viewer-Country-Region-Name": "Z%C3%BCrich",
				"Cloudfront-Viewer-City": "Z%C3%BCrich", "Cloudfront-Viewer-Postal-Code": "8001", "Cloudfront-Viewer-Time-Zone": "Europe/Zurich",
				"Cloudfront-Viewer-Latitude": "47.37690", "Cloudfront-Viewer-Longitude": "8.54170", "Cloudfront-Viewer-Asn": "3303"}},
		{"no ASN database: the City record's traits", cityOnly, "cfheaders", "81.1.2.3",
			map[string]string{"Cloudfront-Viewer-Country": "CH", "Cloudfront-Viewer-Country-Name": "Switzerland",
				"Cloudfront-Viewer-Country-Region": "ZH", "Cloudfront-Viewer-Country-Region-Name": "Z%C3%BCrich",
				"Cloudfront-Viewer-City": "Z%C3%BCrich", "Cloudfront-Viewer-Postal-Code": "8001", "Cloudfront-Viewer-Time-Zone": "Europe/Zurich",
				"Cloudfront-Viewer-Latitude": "47.37690", "Cloudfront-Viewer-Longitude": "8.54170", "Cloudfront-Viewer-Asn": "559"}},
		{"no ASN anywhere", cityOnly, "cfheaders", "35.1.2.3", without(michigan, "Cloudfront-Viewer-Asn")},
		{"one header named, one sent", cityASN, "city", "35.1.2.3", map[string]string{"Cloudfront-Viewer-City": "Ann Arbor"}},
		{"ASN alone", cityASN, "asn", "35.1.2.3", map[string]string{"Cloudfront-Viewer-Asn": "36375"}},
		{"Country database: the country alone", countryOnly, "cfheaders", "35.1.2.3",
			map[string]string{"Cloudfront-Viewer-Country": "US", "Cloudfront-Viewer-Country-Name": "x"}},
		{"unknown address", cityASN, "cfheaders", "192.0.2.1", map[string]string{}},
		{"no database", noDB, "cfheaders", "35.1.2.3", map[string]string{}},
		{"not forwarded", cityASN, "none", "35.1.2.3", map[string]string{}},
		{"not forwarded, AllViewer", cityASN, "allviewer", "35.1.2.3", map[string]string{}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/%d", c.srv.URL, i), nil)
			req.Host = c.host + ".test"
			req.Header.Set("X-Forwarded-For", c.xff)
			req.Header.Set("CloudFront-Viewer-City", "Forged") // never passes
			resp, err := c.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			hdr := <-seen
			got := map[string]string{}
			for k, vs := range hdr {
				if strings.HasPrefix(k, "Cloudfront-Viewer-") && k != "Cloudfront-Viewer-Address" && k != "Cloudfront-Viewer-Http-Version" {
					got[k] = strings.Join(vs, ",")
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(c.want) {
				t.Errorf("the origin got\n%v\nwant\n%v", got, c.want)
			}
		})
	}
}

// TestLocationUnasked: a hit for a behavior that forwards no location
// header costs nothing more with City and ASN databases than without.
func TestLocationUnasked(t *testing.T) {
	if testing.Short() {
		t.Skip("allocation counts")
	}
	allocs := func(withDBs bool) float64 {
		h, _, _ := observedEdge(t, false, false)
		if withDBs {
			dir := t.TempDir()
			var dbs [2]*access.GeoDB
			for i, rec := range []mmdbtype.Map{testenv.Place{Country: "US", City: "Ann Arbor"}.Record(), testenv.ASN(36375, "UMICH")} {
				path := filepath.Join(dir, fmt.Sprint(i))
				testenv.WriteGeoDB(t, path, map[string]mmdbtype.Map{"127.0.0.0/8": rec})
				db, err := access.OpenGeoDB(path)
				if err != nil {
					t.Fatal(err)
				}
				dbs[i] = db
			}
			h.SetViewerIdentity(nil, dbs[0])
			h.SetASNDB(dbs[1])
		}
		r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/obj/1k/bench", nil)
		r.RemoteAddr = "127.0.0.1:40000"
		w := &discardWriter{}
		w.serve(h, r)
		return testing.AllocsPerRun(200, func() { w.serve(h, r) })
	}
	if without, with := allocs(false), allocs(true); with != without {
		t.Errorf("a hit allocates %v times with the databases, %v without", with, without)
	}
}
