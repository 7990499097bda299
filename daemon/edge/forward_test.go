package edge

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/origin"
	"openfront.dev/schema"
)

// behavior is a cache behavior with the schema's defaults for what it forwards.
func behavior(fv schema.ForwardedValues, policy string) *schema.CacheBehavior {
	if fv.Cookies.Forward == "" {
		fv.Cookies.Forward = "none"
	}
	return &schema.CacheBehavior{ForwardedValues: fv, OriginRequestPolicy: policy}
}

// tableBehavior is behavior as the compiler builds it.
func tableBehavior(fv schema.ForwardedValues, policy string) *table.Behavior {
	b := behavior(fv, policy)
	orp := table.ManagedOriginRequestPolicies[policy]
	return &table.Behavior{Spec: b, CloudFrontHeaders: table.CloudFrontHeadersFor(b, orp),
		OriginRequest: table.ResolveOriginRequest(policy, orp)}
}

func TestForwardedQuery(t *testing.T) {
	keys := func(k ...string) schema.ForwardedValues {
		return schema.ForwardedValues{QueryString: true, QueryStringCacheKeys: k}
	}
	tests := []struct {
		name   string
		fv     schema.ForwardedValues
		policy string
		raw    string
		want   string
	}{
		{"queryString false drops all", schema.ForwardedValues{}, "", "a=1&b=2", ""},
		// "CloudFront forwards all query string parameters to the origin,
		// but it only caches based on the query string parameters that
		// you specify" (ForwardedValues.QueryString).
		{"legacy cache keys forward every parameter", keys("a"), "", "b=2&a=1&x", "b=2&a=1&x"},
		{"queryString true keeps all as sent", schema.ForwardedValues{QueryString: true}, "", "b=2&a=1&a=3&x", "b=2&a=1&a=3&x"},
		{"queryString true, empty query", schema.ForwardedValues{QueryString: true}, "", "", ""},
		{"cache keys keep the viewer's order and repeats", keys("a", "c"), "policy", "b=2&a=1&c=x&a=3", "a=1&c=x&a=3"},
		{"cache keys keep a name without value", keys("a"), "policy", "a&b=1", "a"},
		{"cache keys match decoded names, forward encoded", keys("a b"), "policy", "a%20b=1&a+b=2&ab=3", "a%20b=1&a+b=2"},
		{"cache keys are case-sensitive", keys("a"), "policy", "A=1&a=2", "a=2"},
		{"cache keys, none present", keys("a"), "policy", "b=1", ""},
		{"cache keys keep values verbatim", keys("q"), "policy", "q=%2F%26x&z=1", "q=%2F%26x"},
		{"AllViewer forwards all", schema.ForwardedValues{}, "AllViewer", "b=2&a=1", "b=2&a=1"},
		{"AllViewerExceptHostHeader forwards all", keys("a"), "AllViewerExceptHostHeader", "b=2&a=1", "b=2&a=1"},
		{"Elemental-MediaTailor-PersonalizedManifests forwards all", schema.ForwardedValues{}, "Elemental-MediaTailor-PersonalizedManifests", "b=2&a=1", "b=2&a=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// policy "policy" is a cache policy whose query strings
			// whitelist is fv's cache keys: forwarded as keyed.
			b := tableBehavior(tt.fv, "")
			if tt.policy == "policy" {
				b.Spec.CachePolicy = "policy"
			} else {
				b = tableBehavior(tt.fv, tt.policy)
			}
			if got := b.ForwardedQuery(tt.raw); got != tt.want {
				t.Errorf("ForwardedQuery(%q) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

func TestForwardedHeaders(t *testing.T) {
	// in is what net/http hands the edge: canonical keys, no Host.
	in := http.Header{
		"Accept":          {"text/html"},
		"Accept-Language": {"en", "fr"},
		"User-Agent":      {"test/1"},
		"X-Custom":        {"v"},
		"Cookie":          {"a=1; b=2", "c=3"},
		"If-None-Match":   {`"etag"`},
		"Range":           {"bytes=0-1"},
		"X-Forwarded-For": {"203.0.113.9"},
		"Content-Type":    {"application/x-www-form-urlencoded"},
		"Connection":      {"keep-alive"},
		"Te":              {"trailers"},
		"Upgrade":         {"h2c"},
		// CloudFront removes these whatever the behavior forwards
		// (RequestAndResponseBehaviorCustomOrigin.md's header table).
		"X-Forwarded-Proto": {"https"},
		"X-Real-Ip":         {"198.51.100.7"},
		"X-Edge-Location":   {"forged"},
		// The node's to set: it has put its own values in place of these
		// for the CloudFront headers the behavior forwards.
		"Cloudfront-Viewer-Address":     {"192.0.2.1:1234"},
		"Cloudfront-Is-Mobile-Viewer":   {"true"},
		"Origin":                        {"https://app.example"},
		"Access-Control-Request-Method": {"GET"},
		"Referer":                       {"https://app.example/page"},
	}
	always := http.Header{
		"If-None-Match":   {`"etag"`},
		"Range":           {"bytes=0-1"},
		"X-Forwarded-For": {"203.0.113.9"},
		"Content-Type":    {"application/x-www-form-urlencoded"},
	}
	with := func(extra http.Header) http.Header {
		h := always.Clone()
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	viewerAll := http.Header{}
	for k, v := range in {
		switch k {
		case "Connection", "Te", "Upgrade", "X-Forwarded-Proto", "X-Real-Ip", "X-Edge-Location", "Cloudfront-Viewer-Address", "Cloudfront-Is-Mobile-Viewer":
		default:
			viewerAll[k] = v
		}
	}
	// The viewer's Cookie lines as one, as HTTP/2 and HTTP/3 join them
	// (RFC 9113 8.2.3): a user agent sends one (RFC 6265 5.4).
	viewerAll["Cookie"] = []string{"a=1; b=2; c=3"}
	viewerAndCloudFront := viewerAll.Clone()
	viewerAndCloudFront["Cloudfront-Viewer-Address"] = in["Cloudfront-Viewer-Address"]
	viewerAndCloudFront["Cloudfront-Is-Mobile-Viewer"] = in["Cloudfront-Is-Mobile-Viewer"]
	tests := []struct {
		name   string
		fv     schema.ForwardedValues
		policy string
		want   http.Header
	}{
		{"nothing whitelisted: conditionals, X-Forwarded-For and Content-Type only", schema.ForwardedValues{}, "", always},
		{"whitelist is case-insensitive, keeps every value",
			schema.ForwardedValues{Headers: []string{"accept-language", "X-CUSTOM", "x-absent"}}, "",
			with(http.Header{"Accept-Language": {"en", "fr"}, "X-Custom": {"v"}})},
		{"whitelisting Cookie does not bypass the cookie setting",
			schema.ForwardedValues{Headers: []string{"Cookie"}}, "", always},
		{"hop-by-hop headers are never whitelisted",
			schema.ForwardedValues{Headers: []string{"Connection", "TE"}}, "", always},
		{"X-Forwarded-Proto, X-Real-IP and X-Edge-* are never whitelisted",
			schema.ForwardedValues{Headers: []string{"X-Forwarded-Proto", "x-real-ip", "X-Edge-Location"}}, "", always},
		{"* forwards all but hop-by-hop and cookies",
			schema.ForwardedValues{Headers: []string{"*"}}, "",
			with(http.Header{"Accept": {"text/html"}, "Accept-Language": {"en", "fr"}, "User-Agent": {"test/1"}, "X-Custom": {"v"},
				"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"GET"}, "Referer": {"https://app.example/page"}})},
		{"cookies all",
			schema.ForwardedValues{Cookies: schema.Cookies{Forward: "all"}}, "",
			with(http.Header{"Cookie": {"a=1; b=2; c=3"}})},
		{"cookies whitelist",
			schema.ForwardedValues{Cookies: schema.Cookies{Forward: "whitelist", WhitelistedNames: []string{"c", "b"}}}, "",
			with(http.Header{"Cookie": {"b=2; c=3"}})},
		{"AllViewer forwards every viewer header and cookie", schema.ForwardedValues{}, "AllViewer", viewerAll},
		{"AllViewerAndCloudFrontHeaders forwards them and the CloudFront headers", schema.ForwardedValues{}, "AllViewerAndCloudFrontHeaders-2022-06", viewerAndCloudFront},
		{"AllViewerExceptHostHeader forwards the same and the CloudFront headers", schema.ForwardedValues{}, "AllViewerExceptHostHeader", viewerAndCloudFront},
		// The managed policies that name their headers
		// (using-managed-origin-request-policies.md), with what the
		// behavior keys on besides.
		{"CORS-S3Origin forwards the CORS fields the viewer sent", schema.ForwardedValues{}, "CORS-S3Origin",
			with(http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"GET"}})},
		{"CORS-S3Origin with a whitelisted header", schema.ForwardedValues{Headers: []string{"Accept"}}, "CORS-S3Origin",
			with(http.Header{"Accept": {"text/html"}, "Origin": {"https://app.example"}, "Access-Control-Request-Method": {"GET"}})},
		{"CORS-CustomOrigin forwards Origin", schema.ForwardedValues{}, "CORS-CustomOrigin",
			with(http.Header{"Origin": {"https://app.example"}})},
		{"UserAgentRefererHeaders forwards User-Agent and Referer", schema.ForwardedValues{}, "UserAgentRefererHeaders",
			with(http.Header{"User-Agent": {"test/1"}, "Referer": {"https://app.example/page"}})},
		{"Elemental-MediaTailor-PersonalizedManifests forwards the CORS fields, User-Agent and X-Forwarded-For",
			schema.ForwardedValues{}, "Elemental-MediaTailor-PersonalizedManifests",
			with(http.Header{"Origin": {"https://app.example"}, "Access-Control-Request-Method": {"GET"}, "User-Agent": {"test/1"}})},
		{"a named CloudFront header passes, and only it",
			schema.ForwardedValues{Headers: []string{"cloudfront-viewer-address"}}, "",
			with(http.Header{"Cloudfront-Viewer-Address": in["Cloudfront-Viewer-Address"]})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := forwardedHeaders(tableBehavior(tt.fv, tt.policy), in)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("forwardedHeaders:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
	t.Run("does not alias the viewer's header map", func(t *testing.T) {
		got := forwardedHeaders(tableBehavior(schema.ForwardedValues{}, ""), in)
		got.Set("Range", "changed")
		if in.Get("Range") != "bytes=0-1" {
			t.Errorf("changing the forwarded header changed the viewer's: %q", in.Get("Range"))
		}
	})
}

func TestForwardedCookies(t *testing.T) {
	wl := func(names ...string) schema.Cookies {
		return schema.Cookies{Forward: "whitelist", WhitelistedNames: names}
	}
	tests := []struct {
		name    string
		c       schema.Cookies
		cookies []string
		want    string
	}{
		{"none", schema.Cookies{Forward: "none"}, []string{"a=1"}, ""},
		{"all joins every line", schema.Cookies{Forward: "all"}, []string{"a=1; b=2", "c=3"}, "a=1; b=2; c=3"},
		{"whitelist exact names, sorted by name", wl("c", "a"), []string{"c=3; b=2", "a=1"}, "a=1; c=3"},
		{"whitelist exact names, viewer's order", wl("c", "a"), []string{"a=1; b=2", "c=3"}, "a=1; c=3"},
		{"whitelist is case-sensitive", wl("session"), []string{"Session=1; session=2"}, "session=2"},
		{"whitelist * wildcard", wl("pref-*"), []string{"pref-lang=en; pref-=x; prefs=1; pref-tz=utc"}, "pref-=x; pref-lang=en; pref-tz=utc"},
		{"whitelist ? is exactly one character", wl("a?c"), []string{"abc=1; ac=2; abbc=3; a-c=4"}, "a-c=4; abc=1"},
		{"whitelist wildcard in the middle", wl("x*y"), []string{"xy=1; x-long-y=2; xyz=3"}, "x-long-y=2; xy=1"},
		{"whitelist keeps values with = and spaces trimmed", wl("t"), []string{"  t=a=b ;u=1"}, "t=a=b"},
		{"whitelist without cookies", wl("a"), nil, ""},
		{"whitelist skips empty pairs", wl("*"), []string{"a=1;", "; b=2"}, "a=1; b=2"},
		{"allExcept leaves the listed out", schema.Cookies{Forward: "allExcept", WhitelistedNames: []string{"tracking", "ab"}},
			[]string{"session=1; tracking=x", "ab=2; lang=en"}, "lang=en; session=1"},
		{"allExcept of every cookie", schema.Cookies{Forward: "allExcept", WhitelistedNames: []string{"a"}}, []string{"a=1"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			for _, c := range tt.cookies {
				h.Add("Cookie", c)
			}
			if got := forwardedCookies(tt.c, h); got != tt.want {
				t.Errorf("forwardedCookies(%q) = %q, want %q", tt.cookies, got, tt.want)
			}
		})
	}
}

// TestConnectionNamedFieldsDropped: the fields a Connection header names
// are hop-by-hop (RFC 9110 7.6.1) and never cross the edge: not the
// viewer's to the origin, whatever the behavior forwards, nor the
// origin's to the viewer.
func TestConnectionNamedFieldsDropped(t *testing.T) {
	in := http.Header{
		"Connection":   {"keep-alive, x-secret", "Content-Type, CloudFront-Viewer-Country"},
		"X-Secret":     {"hop"},
		"Content-Type": {"text/plain"},
		"X-Kept":       {"v"},
		// The node's: not the viewer's to take out.
		"Cloudfront-Viewer-Country": {"FR"},
	}
	for _, tt := range []struct {
		name   string
		fv     schema.ForwardedValues
		policy string
		want   http.Header
	}{
		{"whitelisted", schema.ForwardedValues{Headers: []string{"X-Secret", "X-Kept"}}, "", http.Header{"X-Kept": {"v"}}},
		{"*", schema.ForwardedValues{Headers: []string{"*"}}, "", http.Header{"X-Kept": {"v"}}},
		{"AllViewer", schema.ForwardedValues{}, "AllViewer", http.Header{"X-Kept": {"v"}}},
		{"always forwarded", schema.ForwardedValues{}, "", nil},
		{"the node's CloudFront headers", schema.ForwardedValues{}, "AllViewerAndCloudFrontHeaders-2022-06",
			http.Header{"X-Kept": {"v"}, "Cloudfront-Viewer-Country": {"FR"}}},
	} {
		t.Run("to the origin, "+tt.name, func(t *testing.T) {
			if got := forwardedHeaders(tableBehavior(tt.fv, tt.policy), in); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("forwardedHeaders:\n got %v\nwant %v", got, tt.want)
			}
		})
	}
	t.Run("to the viewer", func(t *testing.T) {
		h := New(origin.NewPool(t.TempDir()), "test-node", slog.New(slog.DiscardHandler))
		resp := &http.Response{StatusCode: 200, Header: in.Clone(), Body: io.NopCloser(strings.NewReader("ok"))}
		w := httptest.NewRecorder()
		if err := h.relay(w, httptest.NewRequest("GET", "/", nil), nil, resp, "id"); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"Connection", "X-Secret", "Content-Type", "Cloudfront-Viewer-Country"} {
			if v, ok := w.Result().Header[k]; ok {
				t.Errorf("%s: %q relayed", k, v)
			}
		}
		if w.Result().Header.Get("X-Kept") != "v" {
			t.Errorf("X-Kept dropped: %v", w.Result().Header)
		}
	})
}

// TestCookieNameMatches: a cookie whitelist's names are compared as they
// are, wildcards aside; nothing in them is normalized as a path is (an
// escape stays an escape, "." and ".." are names).
func TestCookieNameMatches(t *testing.T) {
	for _, c := range []struct {
		pattern, name string
		want          bool
	}{
		{"session", "session", true},
		{"session", "Session", false},
		{"sess*", "session-id", true},
		{"sess%41*", "sess%41abc", true},
		{"sess%41*", "sessAabc", false},
		{"id%e6?", "id%e6x", true},
		{"..", "..", true},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
	} {
		if got := cookieNameMatches(c.pattern, c.name); got != c.want {
			t.Errorf("cookie whitelist %q against cookie %q: %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}
