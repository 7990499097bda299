package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"openfront.dev/internal/signedurl"
)

// -update rewrites the golden files. Another test file of the package may
// define the flag first; then it is shared.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite golden files")
	}
}

func updating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

const routeConfig = "testdata/route/config"

// routeTestNow is TestRoute's clock; betaSession ends the sessions of
// the fixture's sticky policy beta.
var routeTestNow = time.Unix(1_800_000_000, 0)

const betaSession = "1e087d91"

// TestRoute runs `openfront route` over the fixture config and compares exit
// code, stdout and stderr with testdata/route/NAME.golden.
func TestRoute(t *testing.T) {
	const film = "https://a.media.example.com/private/film.mp4"
	until := signedurl.Policy{Expires: time.Unix(2_000_000_000, 0)}
	signed := routeSign(t, film+"?start=5", until, false)
	net24 := signedurl.Policy{Resource: "https://a.media.example.com/private/*", Expires: until.Expires, IP: netip.MustParsePrefix("203.0.113.0/24")}
	cases := []struct {
		name string
		args []string
	}{
		// Distribution by host: exact, wildcard, Host header, port ignored.
		{"root-object", []string{"https://www.example.com/"}},
		{"http-redirect", []string{"http://example.com/img/a.png?v=1"}},
		{"jpg-behavior", []string{"https://example.com/img/cats/tom.jpg"}},
		{"host-header-port", []string{"https://127.0.0.1:8443/docs/guide/intro%20page.html", "-H", "Host: EXAMPLE.com:443"}},
		{"local-origin-http", []string{"http://www.example.com:8080/docs/"}},
		// Cache key: query whitelist, cookie whitelist with a wildcard, headers.
		{"api-key-parts", []string{"-X", "post", "https://www.example.com/api/v1/items?lang=en&x=1&page=2&lang=de",
			"-H", "Cookie: session=abc; theme=dark", "-H", "Cookie: ab-test=b", "-H", "Accept-Language: de-DE"}},
		// Refusals.
		{"https-only-on-http", []string{"http://www.example.com/api/v1"}},
		// redirect-to-https sends a method but GET and HEAD on with a 307,
		// which keeps it and the body; allowedMethods is checked over HTTPS.
		{"redirect-post", []string{"-X", "POST", "http://www.example.com/form"}},
		{"method-not-allowed", []string{"-X", "DELETE", "https://www.example.com/index.html"}},
		{"unknown-host", []string{"https://nope.example.org/"}},
		{"unknown-host-streaming", []string{"https://rtmp.example.com/vod/a.mp4"}},
		{"disabled", []string{"https://old.example.com/"}},
		// Viewer mTLS: the handshake's rule, and the certificate header
		// route cannot know.
		{"mtls", []string{"https://firmware.example.com/v2/image.bin"}},
		{"mtls-passthrough", []string{"https://relay.example.com/"}},
		// Origin group over S3-compatible and custom match-viewer, geo whitelist.
		{"group-wildcard", []string{"http://eu.cdn.media.example.com/videos/a.mp4?t=10&q=hd"}},
		{"group-post-allowed-not", []string{"-X", "PUT", "https://a.media.example.com/videos/a.mp4"}},
		// Signed URLs and cookies.
		{"geo-refused", []string{"--viewer-country", "US", "https://a.media.example.com/videos/a.mp4"}},
		{"geo-served", []string{"--viewer-country", "FR", "https://a.media.example.com/videos/a.mp4"}},
		{"usage-bad-viewer-country", []string{"--viewer-country", "fr", "https://a.media.example.com/videos/a.mp4"}},
		{"private-missing", []string{"https://a.media.example.com/private/film.mp4"}},
		// Checked as the edge checks them, at routeTestNow or --now, for
		// --viewer-ip: valid, expired, changed after signing, another
		// viewer's address, cookies valid and expired.
		{"private-signed-url", []string{signed}},
		{"private-expired", []string{"--now", "2034-01-01T00:00:00Z", signed}},
		{"private-bad-signature", []string{strings.Replace(signed, "start=5", "start=0", 1)}},
		{"private-ip-mismatch", []string{"--viewer-ip", "198.51.100.7", routeSign(t, film, net24, false)}},
		{"private-ip-match", []string{"--viewer-ip", "203.0.113.7", routeSign(t, film, net24, false)}},
		{"private-cookies-valid", []string{film, "-H", routeSignCookies(t, film, net24) + "; other=1", "--viewer-ip", "203.0.113.7"}},
		{"json-private-cookies-expired", []string{"--json", "--now", "2033-05-18T03:33:20Z", film, "-H", routeSignCookies(t, film, net24), "--viewer-ip", "203.0.113.7"}},
		{"private-unknown-key", []string{"https://a.media.example.com/private/film.mp4?Expires=2000000000&Signature=abc&Key-Pair-Id=APKAOTHER"}},
		{"private-incomplete", []string{"https://a.media.example.com/private/film.mp4?Signature=abc"}},
		// An origin that decodes %2F before it resolves dot segments takes
		// this for /private/film.mp4: refused. Without a dot segment, an
		// encoded slash is served.
		{"private-dot-behind-encoded-slash", []string{"https://a.media.example.com/x%2F..%2Fprivate/film.mp4"}},
		{"encoded-slash-served", []string{"https://a.media.example.com/videos/a%2Fb.mp4"}},
		{"private-behind-encoded-slash", []string{"https://a.media.example.com/private%2Ffilm.mp4"}},
		{"private-signed-cookies", []string{"https://a.media.example.com/private/film.mp4",
			"-H", "Cookie: CloudFront-Policy=eyJ9; CloudFront-Signature=sig; CloudFront-Key-Pair-Id=K2JCJMDEHXQW5F; other=1"}},
		{"live", []string{"https://tv.media.example.com/live/show/index.m3u8"}},
		{"vault-signed-sha256", []string{routeSign(t, "https://vault.example.com/a.zip?v=2", until, true),
			"-H", "Cookie: CloudFront-Signature=stale; theme=dark"}},
		{"vault-open-signature-names", []string{"https://vault.example.com/open/a?Expires=1&v=2"}},
		{"vault-pass-all-viewer", []string{"https://vault.example.com/pass/x?a=1", "-H", "Cookie: s=1", "-H", "Accept-Language: de"}},
		// originRequestPolicy, all cookies, headers ["*"], OPTIONS cached.
		{"orp-all-viewer", []string{"https://app.example.com/search?q=cdn&page=2", "-H", "Cookie: a=1; b=2"}},
		// The origin gets the Host routing matched, with the port of the
		// listener the URL reaches and no other.
		{"orp-all-viewer-odd-host", []string{"https://127.0.0.1:8443/search", "-H", "Host: App.Example.COM.:1337"}},
		{"orp-all-viewer-listener-port", []string{"https://App.Example.COM.:8443/search"}},
		{"all-headers-not-cached", []string{"https://eu.app.example.com/ws/chat", "-H", "Upgrade: websocket"}},
		// WebSocket handshakes, as the edge serves them: past the cache,
		// with the origin refusing one whose behavior forwards neither
		// Sec-WebSocket-Key nor Sec-WebSocket-Version
		// (distribution-working-with.websockets). A ws:// or wss:// URL
		// is the handshake a client sends there.
		{"websocket", []string{"wss://eu.app.example.com/ws/chat"}},
		{"websocket-headers", []string{"http://app.example.com/ws/chat", "-H", "Connection: keep-alive, Upgrade", "-H", "Upgrade: websocket",
			"-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "-H", "Sec-WebSocket-Version: 13"}},
		{"websocket-not-forwarded", []string{"wss://www.example.com/api/live"}},
		{"json-websocket-not-forwarded", []string{"--json", "wss://www.example.com/api/live"}},
		{"websocket-s3", []string{"wss://www.example.com/live", "-H", "Sec-WebSocket-Protocol: chat"}},
		{"options-cached", []string{"-X", "OPTIONS", "http://app.example.com/api"}},
		// Response headers policies: CORS for an allowed Origin, a
		// preflight, an Origin not allowed; the managed security headers.
		// Viewer-request functions, run on the request: a URI rewrite, a
		// redirect from a key value store, a generated body (shown, so
		// that answers with the same status tell apart), a request changed
		// after a store miss, the viewer IP, one that throws, one that picks an origin by
		// cookie, and none on the redirect to HTTPS.
		{"function", []string{"http://www.example.com/docs/guide/"}},
		{"function-kvs-redirect", []string{"https://fn.example.com/old-blog"}},
		{"function-body", []string{"https://fn.example.com/expired"}},
		{"function-body-long", []string{"https://fn.example.com/long"}},
		{"json-function-body", []string{"--json", "https://fn.example.com/expired"}},
		{"function-kvs-miss", []string{"https://fn.example.com/a?x=1", "-H", "X-Seen: no"}},
		{"function-viewer-ip", []string{"--viewer-ip", "203.0.113.7", "https://fn.example.com/go"}},
		// An IPv6 address as a URL writes it, in brackets: the same viewer.
		{"function-viewer-ip-brackets", []string{"--viewer-ip", "[2001:db8::7]", "https://fn.example.com/go"}},
		// A function reads the CloudFront headers the edge sets.
		{"function-cfheaders-country", []string{"--viewer-country", "DE", "https://geo.example.com/shop"}},
		{"function-cfheaders-mobile", []string{"--viewer-country", "US", "--viewer-ip", "2001:db8::7", "https://geo.example.com/shop",
			"-H", "User-Agent: Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"}},
		{"function-cfheaders-unknown", []string{"http://geo.example.com/shop", "-H", "CloudFront-Viewer-Country: DE"}},
		{"json-function-cfheaders", []string{"--json", "--viewer-country", "US", "https://geo.example.com/shop",
			"-H", "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"}},
		{"function-throws", []string{"http://fn.example.com/broken/x"}},
		{"function-select-origin", []string{"https://fn.example.com/shop/a", "-H", "Cookie: variant=green; x=1"}},
		{"function-origin-group", []string{"https://fn.example.com/pair/a"}},
		{"function-not-run", []string{"http://fn.example.com/old-blog"}},
		{"json-function-redirect", []string{"--json", "https://fn.example.com/old-blog"}},
		{"json-function-select-origin", []string{"--json", "https://fn.example.com/shop/a", "-H", "Cookie: variant=green"}},
		{"json-function-throws", []string{"--json", "http://fn.example.com/broken/x"}},
		// Viewer-response functions, run on an answer given with
		// --response-status and --response-header: one that changes
		// headers, one that throws; an answer of 400 and above, which
		// none runs on; a request the edge answers itself.
		{"function-response", []string{"--response-status", "200", "--response-header", "Content-Type: text/html", "--response-header", "Strict-Transport-Security: max-age=60", "https://fn.example.com/docs/"}},
		{"json-function-response", []string{"--json", "--response-header", "Content-Type: text/html", "https://fn.example.com/docs/"}},
		{"function-response-throws", []string{"--response-status", "200", "https://fnr.example.com/"}},
		{"json-function-response-throws", []string{"--json", "--response-status", "304", "https://fnr.example.com/"}},
		{"function-response-404", []string{"--response-status", "404", "--response-header", "X-Frame-Options: SAMEORIGIN", "https://fnr.example.com/"}},
		{"function-response-not-reached", []string{"--response-status", "200", "http://fnr.example.com/"}},
		// Functions that log: their console.log lines, in order, for a
		// viewer-request and a viewer-response run, one that fails, and a
		// long log (the first lines in text, what CloudFront keeps in --json).
		{"function-log", []string{"--response-status", "200", "http://log.example.com/about"}},
		// A function's Date is --now's (unset: routeTestNow's), all the run long.
		{"function-log-now", []string{"--now", "2030-01-02T03:04:05Z", "http://log.example.com/about"}},
		{"json-function-log", []string{"--json", "--response-status", "200", "http://log.example.com/about"}},
		{"function-log-throws", []string{"http://log.example.com/fail"}},
		{"function-log-long", []string{"http://log.example.com/loud/x"}},
		{"grpc", []string{"-X", "POST", "https://www.example.com/acme.orders.v1.Orders/Get", "-H", "Content-Type: application/grpc"}},
		{"grpc-function", []string{"-X", "POST", "https://rpc.example.com/acme.rpc.v1.Rpc/Get", "-H", "Content-Type: application/grpc", "-H", "Cookie: variant=green"}},
		{"origin-shield", []string{"https://shielded.example.com/a.css"}},
		{"cors-allowed", []string{"https://www.example.com/api/v1/items", "-H", "Origin: https://shop.example.com"}},
		{"cors-preflight", []string{"-X", "OPTIONS", "https://www.example.com/api/v1/items", "-H", "Origin: https://example.com", "-H", "Access-Control-Request-Method: POST"}},
		{"cors-origin-not-allowed", []string{"https://www.example.com/api/v1/items", "-H", "Origin: https://evil.example.org"}},
		{"json-cors-security-headers", []string{"--json", "https://www.example.com/index.html", "-H", "Origin: https://example.com"}},
		// Cache policies: a managed one, the config's with allExcept.
		{"cp-managed", []string{"https://www.example.com/fonts/a.woff2?v=3", "-H", "Cookie: s=1", "-H", "Accept-Encoding: br"}},
		// Accept-Encoding as the cache policy keys and forwards it: normalized.
		{"cp-accept-encoding", []string{"https://www.example.com/fonts/a.woff2", "-H", "Accept-Encoding: gzip, deflate, br"}},
		{"cp-accept-encoding-identity", []string{"https://www.example.com/fonts/a.woff2", "-H", "Accept-Encoding: deflate"}},
		{"cp-all-except", []string{"https://www.example.com/search?q=cdn&utm_source=mail&page=2&fbclid=x",
			"-H", "Cookie: _ga=GA1; session=s1", "-H", "Accept-Language: de"}},
		{"json-cp-all-except", []string{"--json", "https://www.example.com/search?q=cdn&utm_source=mail", "-H", "Cookie: _ga=GA1; session=s1"}},
		// Continuous deployment: the header sends the request to staging;
		// a weight explains the primary's share.
		{"cd-header", []string{"https://canary.example.com/api/x", "-H", "aws-cf-cd-canary: on"}},
		{"cd-no-header", []string{"https://canary.example.com/api/x"}},
		{"cd-weight", []string{"https://beta.example.com/"}},
		// Staging with a web ACL of its own: the primary's lets the
		// request through, staging's blocks it; both are explained.
		{"cd-staging-waf", []string{"https://gated.example.com/api/beta/x", "-H", "aws-cf-cd-gated: on"}},
		{"json-cd-header", []string{"--json", "https://canary.example.com/api/x", "-H", "aws-cf-cd-canary: on"}},
		// A disabled staging distribution: the primary serves the header's
		// requests too.
		{"cd-staging-disabled", []string{"https://paused.example.com/x", "-H", "aws-cf-cd-paused: on"}},
		// A sticky weight's openfront-cd cookie (at routeTestNow): a live
		// session keeps its side; one past maximumTTL, another policy's or
		// a malformed one starts a new session. The edge takes the cookie
		// out of the request.
		{"cd-sticky-staging", []string{"https://beta.example.com/", "-H", "Cookie: theme=dark; openfront-cd=s.1799999000." + betaSession}},
		{"cd-sticky-primary", []string{"https://beta.example.com/", "-H", "Cookie: openfront-cd=p.1799999000." + betaSession}},
		{"cd-sticky-expired", []string{"https://beta.example.com/", "-H", "Cookie: openfront-cd=s.1799990000." + betaSession}},
		{"cd-sticky-foreign", []string{"https://beta.example.com/", "-H", "Cookie: openfront-cd=s.1799999000.0badcafe"}},
		// A policy without stickiness: the edge ends the session of the
		// cookie, which the request no longer carries.
		{"cd-session-ended", []string{"https://canary.example.com/", "-H", "Cookie: theme=dark; openfront-cd=s.1799999000." + betaSession}},
		{"json-cd-sticky-staging", []string{"--json", "https://beta.example.com/", "-H", "Cookie: openfront-cd=s.1799999000." + betaSession}},
		// A web ACL: an IP set's block; a count rule and a rate rule, counted.
		// Labels: the count rule's, and the block on them.
		{"waf-label-block", []string{"https://labelled.example.com/", "-H", "User-Agent: BadBot/1.0"}},
		{"waf-label-none", []string{"https://labelled.example.com/", "-H", "User-Agent: Mozilla/5.0"}},
		// A custom 403 without a body: no error page replaces it.
		{"waf-custom-403", []string{"https://labelled.example.com/admin"}},
		// A geo match rule that counts labels the country a later rule blocks.
		{"waf-geo-label", []string{"--viewer-country", "KP", "https://labelled.example.com/"}},
		// Rule groups: a group's block, and a group counted by overrideAction
		// count whose label a later group's rule (overridden to count) sees.
		{"waf-group-block", []string{"https://grouped.example.com/admin"}},
		{"waf-group-count", []string{"https://grouped.example.com/old/x"}},
		{"waf-ipset-block", []string{"--viewer-ip", "192.0.2.9", "https://guarded.example.com/api/x"}},
		{"waf-rate-viewer-ip", []string{"--viewer-ip", "2001:db8::9", "https://guarded.example.com/api/x"}},
		// A rate rule on X-Forwarded-For's first address; none valid: MATCH.
		{"waf-forwarded-rate", []string{"https://proxied.example.com/", "-H", "X-Forwarded-For: 198.51.100.7, 10.0.0.1"}},
		{"waf-forwarded-fallback", []string{"https://proxied.example.com/", "-H", "X-Forwarded-For: unknown"}},
		{"waf-forwarded-ipset", []string{"https://proxied.example.com/", "-H", "X-Forwarded-For: 192.0.2.9, 198.51.100.7"}},
		{"waf-forwarded-ipset-last", []string{"https://proxied.example.com/", "-H", "X-Forwarded-For: 198.51.100.7, 192.0.2.9"}},
		{"waf-custom-keys", []string{"https://proxied.example.com/", "-H", "X-Forwarded-For: 198.51.100.7", "-H", "X-Api-Key: k1"}},
		{"waf-custom-keys-missing", []string{"https://proxied.example.com/", "-H", "X-Forwarded-For: 198.51.100.7"}},
		{"waf-rate-counted", []string{"https://guarded.example.com/api/x", "-H", "User-Agent: GoodBot/1.0"}},
		{"json-waf-rate-counted", []string{"--json", "https://guarded.example.com/api/x"}},
		// A path rule sees /x/../admin as the behavior does: /admin.
		// The rule's own line says it matched, and through which spelling.
		{"waf-normalized-path", []string{"https://guarded.example.com/x/../admin"}},
		{"waf-encoded-path", []string{"https://guarded.example.com/%61dmin"}},
		{"waf-decoded-path", []string{"https://guarded.example.com/%2561dmin"}},
		{"json-waf-normalized-path", []string{"--json", "https://guarded.example.com/x/../admin"}},
		// Size, regex pattern set, SQL injection and XSS rules say what
		// they saw: a SQL injection in an argument blocks; a harmless
		// request passes each.
		{"waf-sqli", []string{"https://inspected.example.com/search?page=2&id=1%27%20OR%201%3D1--"}},
		{"waf-inspected-harmless", []string{"https://inspected.example.com/search?q=fish&comment=nice", "-H", "User-Agent: Mozilla/5.0"}},
		// fieldToMatch cookies and headers: each cookie's value alone, a
		// header's name.
		{"waf-cookie-sqli", []string{"https://inspected.example.com/", "-H", "Cookie: theme=dark; session=1%27%20OR%201%3D1--"}},
		{"waf-header-name", []string{"https://inspected.example.com/", "-H", "X-Debug-Token: 1"}},
		// A body or jsonBody rule: route has no body, so a POST's is not evaluated
		// (a GET's is empty, as the edge inspects it).
		{"waf-body-post", []string{"-X", "POST", "https://inspected.example.com/login"}},
		{"waf-body-grpc", []string{"-X", "POST", "https://rpc.inspected.example.com/acme.rpc.v1.Rpc/Get", "-H", "Content-Type: application/grpc"}},
		// An ASN rule sees --viewer-asn (unset: 0, unknown); a JA4 rule
		// is not evaluated over HTTPS (route has no handshake), and over
		// plain HTTP, which has no fingerprint, its fallbackBehavior
		// decides; a uriFragment's decides for every request.
		{"waf-asn-block", []string{"--viewer-asn", "64496", "https://networks.example.com/"}},
		{"waf-asn-unknown", []string{"https://networks.example.com/"}},
		{"waf-ja4-http", []string{"http://networks.example.com/"}},
		// A count rule on JA3 route cannot evaluate labels nothing, so
		// the later rule on its label does not match either.
		{"waf-ja3-label-https", []string{"https://clients.example.com/"}},
		{"json-waf-asn", []string{"--json", "--viewer-asn", "15169", "https://networks.example.com/"}},
		// A custom error page for 403 replaces a geo, web ACL or signature
		// refusal, never a method's nor a gRPC call's.
		{"page-geo", []string{"--viewer-country", "RU", "https://pages.example.com/a.html"}},
		{"page-waf", []string{"--viewer-ip", "192.0.2.9", "https://pages.example.com/a.html"}},
		{"page-signature", []string{"https://pages.example.com/members/a.html"}},
		{"json-page-signature", []string{"--json", "https://pages.example.com/members/a.html"}},
		{"page-method-not-replaced", []string{"-X", "DELETE", "https://pages.example.com/a.html"}},
		// It replaces an origin's error too, when its entry has a page.
		{"page-origin", []string{"--response-status", "503", "--response-header", "Cache-Control: max-age=60", "https://pages.example.com/a.html"}},
		{"json-page-origin", []string{"--json", "--response-status", "503", "https://pages.example.com/a.html"}},
		{"page-origin-not-kept", []string{"-X", "POST", "--response-status", "503", "https://pages.example.com/acme.pages.v1.Pages/Get"}},
		{"page-origin-function", []string{"--response-status", "502", "--response-header", "Strict-Transport-Security: max-age=60", "https://fn.example.com/docs/"}},
		{"page-origin-no-page", []string{"--response-status", "404", "https://pages.example.com/a.html"}},
		// A 403 without max-age or s-maxage is not cached, nor its page.
		{"page-origin-403-not-kept", []string{"--response-status", "403", "https://pages.example.com/a.html"}},
		{"page-origin-403-kept", []string{"--response-status", "403", "--response-header", "Cache-Control: max-age=5", "https://pages.example.com/a.html"}},
		// Nor any error under CachingDisabled.
		{"page-origin-caching-disabled", []string{"--response-status", "503", "--response-header", "Cache-Control: max-age=60", "https://pages.example.com/acme.pages.v1.Pages/Get"}},
		{"page-grpc-not-replaced", []string{"--viewer-country", "RU", "-X", "POST", "https://pages.example.com/acme.pages.v1.Pages/Get", "-H", "Content-Type: application/grpc"}},
		// --json.
		{"json-api", []string{"--json", "-X", "POST", "https://www.example.com/api/v1/items?page=3&lang=fr", "-H", "Cookie: session=s1; theme=x", "-H", "Authorization: Bearer t"}},
		{"json-group-signed", []string{"-json", routeSign(t, film, until, false)}},
		{"json-unknown-host", []string{"--json", "https://nope.example.org/x"}},
		{"json-disabled", []string{"--json", "https://old.example.com/"}},
		{"json-local-root", []string{"--json", "http://www.example.com/docs/a.html"}},
	}
	defer func(f func() time.Time) { routeNow = f }(routeNow)
	routeNow = func() time.Time { return routeTestNow }
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"route", routeConfig}, c.args...)
			checkGolden(t, filepath.Join("testdata/route", c.name+".golden"), args)
		})
	}
}

// TestRouteUsage covers exit 2: bad arguments and a config that does not compile.
func TestRouteUsage(t *testing.T) {
	cases := []struct {
		name string
		args []string
	}{
		{"usage-no-url", []string{"route", routeConfig}},
		{"usage-bad-header", []string{"route", routeConfig, "https://www.example.com/", "-H", "NoColon"}},
		{"usage-bad-scheme", []string{"route", routeConfig, "ftp://www.example.com/"}},
		{"usage-no-host", []string{"route", routeConfig, "https:///x"}},
		// A URL as typed to curl, without its scheme: the error gives it whole.
		{"usage-no-scheme", []string{"route", routeConfig, "www.example.com/a"}},
		{"usage-no-scheme-port", []string{"route", routeConfig, "www.example.com:8080/a?b=c"}},
		{"usage-no-scheme-ipv6", []string{"route", routeConfig, "::1"}},
		{"usage-no-scheme-ipv6-path", []string{"route", routeConfig, "2001:db8::1/a"}},
		{"usage-no-scheme-ipv6-port", []string{"route", routeConfig, "[::1]:8080/a"}},
		{"usage-path-only", []string{"route", routeConfig, "/a"}},
		// The URL alone, or before the directory: it names what to give.
		{"usage-url-only", []string{"route", "https://www.example.com/"}},
		{"usage-swapped", []string{"route", "https://www.example.com/", routeConfig}},
		{"usage-bad-viewer-ip", []string{"route", routeConfig, "--viewer-ip", "10.0.0", "https://fn.example.com/go"}},
		{"usage-empty-viewer-ip", []string{"route", routeConfig, "--viewer-ip", "", "https://fn.example.com/go"}},
		{"usage-bad-viewer-asn", []string{"route", routeConfig, "--viewer-asn", "4294967296", "https://fn.example.com/go"}},
		{"usage-bad-now", []string{"route", routeConfig, "--now", "2026-12-05", "https://fn.example.com/go"}},
		{"usage-bad-response-status", []string{"route", routeConfig, "--response-status", "99", "https://fn.example.com/go"}},
		{"usage-bad-response-header", []string{"route", routeConfig, "--response-header", "NoColon", "https://fn.example.com/go"}},
		{"usage-missing-dir", []string{"route", "testdata/route/nowhere", "https://www.example.com/"}},
		{"usage-broken-config", []string{"route", "testdata/route/broken", "https://www.example.com/"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code := checkGolden(t, filepath.Join("testdata/route", c.name+".golden"), c.args)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
		})
	}
}

// TestRouteJSONMatchesText checks that --json reports the same decision and
// exit code as the text output, and that it is valid JSON.
func TestRouteJSONMatchesText(t *testing.T) {
	for _, url := range []string{
		"https://www.example.com/", "http://example.com/x", "http://www.example.com/api/x",
		"https://nope.example.org/", "https://a.media.example.com/private/a",
	} {
		var text, js, stderr bytes.Buffer
		tc := Main([]string{"route", routeConfig, url}, &text, &stderr)
		jc := Main([]string{"route", routeConfig, url, "--json"}, &js, &stderr)
		if tc != jc {
			t.Errorf("%s: exit %d as text, %d as JSON", url, tc, jc)
		}
		var e RouteExplanation
		if err := json.Unmarshal(js.Bytes(), &e); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		if !regexp.MustCompile(`(?m)^decision +` + e.Decision.Action + `\b`).MatchString(text.String()) {
			t.Errorf("%s: text output does not show decision %q:\n%s", url, e.Decision.Action, text.String())
		}
		if want := map[string]int{ActionServe: exitOK, ActionRedirect: exitOK, ActionRefuse: exitFail}[e.Decision.Action]; jc != want {
			t.Errorf("%s: decision %s exits %d, want %d", url, e.Decision.Action, jc, want)
		}
	}
}

// routeSign signs rawURL with testdata/route/signer.pem, the private key
// of the fixture's K2JCJMDEHXQW5F. RSA PKCS #1 v1.5 signatures are
// deterministic, so a golden file can hold the URL.
func routeSign(t *testing.T, rawURL string, p signedurl.Policy, sha256 bool) string {
	t.Helper()
	u, err := routeSigner(t, sha256).SignURL(rawURL, p)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// routeSignCookies is the "Cookie: ..." header of signed cookies for rawURL.
func routeSignCookies(t *testing.T, rawURL string, p signedurl.Policy) string {
	t.Helper()
	cs, err := routeSigner(t, false).SignCookies(rawURL, p)
	if err != nil {
		t.Fatal(err)
	}
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Name + "=" + c.Value
	}
	return "Cookie: " + strings.Join(parts, "; ")
}

func routeSigner(t *testing.T, sha256 bool) signedurl.Signer {
	t.Helper()
	pemBytes, err := os.ReadFile("testdata/route/signer.pem")
	if err != nil {
		t.Fatal(err)
	}
	key, err := signedurl.ParsePrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	return signedurl.Signer{KeyPairID: "K2JCJMDEHXQW5F", Key: key, SHA256: sha256}
}

// checkGolden runs Main and compares with the golden file, or rewrites it.
func checkGolden(t *testing.T, golden string, args []string) int {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := Main(args, &stdout, &stderr)
	got := fmt.Sprintf("# openfront %s\nexit %d\n-- stdout --\n%s-- stderr --\n%s", quoteArgs(args), code, stdout.String(), stderr.String())
	compareGolden(t, golden, got, "Route")
	return code
}

func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " ?&;:'\"*") {
			a = strconv.Quote(a)
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

// TestRouteSignatureInKey checks what the edge does with a signature's
// parts: on a behavior with trustedKeyGroups all five query parameters
// (Hash-Algorithm too) and the CloudFront-* cookies leave the cache key and
// the origin request; on a public behavior they are ordinary parameters.
func TestRouteSignatureInKey(t *testing.T) {
	res, _ := compileDir("route", routeConfig, io.Discard)
	if res == nil {
		t.Fatal("the route config does not compile")
	}
	until := signedurl.Policy{Expires: time.Unix(2_000_000_000, 0)}
	_, sig, _ := strings.Cut(routeSign(t, "https://vault.example.com/a.zip?v=2", until, true), "v=2&")
	cookies := strings.TrimPrefix(routeSignCookies(t, "https://vault.example.com/a.zip?v=2", until), "Cookie: ") + "; CloudFront-Hash-Algorithm=SHA1; theme=dark"
	cases := []struct {
		name, url, cookie string
		status            string
		query, cookies    string // the key's, as name=value joined by & and ;
		origin            string // the origin request
	}{
		{"signed url with Hash-Algorithm", "https://vault.example.com/a.zip?v=2&" + sig, "theme=dark",
			"valid", "v=2", "theme=dark", "GET https://files.example.net:443/a.zip?v=2"},
		{"signed cookies", "https://vault.example.com/a.zip?v=2", cookies,
			"valid", "v=2", "theme=dark", "GET https://files.example.net:443/a.zip?v=2"},
		{"key cookies sorted by name, as the edge keys them", "https://vault.example.com/a.zip?v=2&" + sig, "theme=dark; lang=en",
			"valid", "v=2", "lang=en; theme=dark", "GET https://files.example.net:443/a.zip?v=2"},
		{"Hash-Algorithm alone is no signed URL", "https://vault.example.com/a.zip?Hash-Algorithm=SHA256", "",
			"refused", "", "", "GET https://files.example.net:443/a.zip"},
		{"public behavior keys and forwards them", "https://vault.example.com/open/a?" + sig, cookies,
			"not required", sig, "", "GET https://files.example.net:443/open/a?" + sig},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var h []string
			if c.cookie != "" {
				h = append(h, "Cookie: "+c.cookie)
			}
			req, err := NewRouteRequest("GET", c.url, h)
			if err != nil {
				t.Fatal(err)
			}
			e := ExplainRoute(res.Table, req)
			var q, ck []string
			for _, v := range e.CacheKey.Query.Key {
				q = append(q, v.Name+"="+v.Value)
			}
			for _, v := range e.CacheKey.Cookies.Key {
				ck = append(ck, v.Name+"="+v.Value)
			}
			got := []string{e.Signature.Status, strings.Join(q, "&"), strings.Join(ck, "; "), e.Target.Origin.Request}
			want := []string{c.status, c.query, c.cookies, c.origin}
			if !slices.Equal(got, want) {
				t.Errorf("signature status, key query, key cookies, origin request:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// TestRouteKeyUnderAllViewer checks that under an origin request policy
// that forwards every viewer value the key holds the query only, as at the
// edge: headers and cookies reach the origin and its Vary selects.
func TestRouteKeyUnderAllViewer(t *testing.T) {
	res, _ := compileDir("route", routeConfig, io.Discard)
	if res == nil {
		t.Fatal("the route config does not compile")
	}
	cases := []struct {
		name, url string
		query     int
	}{
		{"AllViewer", "https://app.example.com/search?q=cdn", 0},
		{"AllViewerExceptHostHeader with forwardedValues", "https://vault.example.com/pass/x?a=1", 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := NewRouteRequest("GET", c.url, []string{"Cookie: s=1; t=2", "Accept-Language: de"})
			if err != nil {
				t.Fatal(err)
			}
			k := ExplainRoute(res.Table, req).CacheKey
			if len(k.Query.Key) != c.query || len(k.Cookies.Key) != 0 || len(k.Headers.Key) != 0 || !k.Cached {
				t.Errorf("key query %v, cookies %v, headers %v, cached %v; want %d parameters, no cookies or headers, cached",
					k.Query.Key, k.Cookies.Key, k.Headers.Key, k.Cached, c.query)
			}
		})
	}
}

// TestRoutePathAsSent checks that route matches and keys the path as the
// viewer sends it, escapes included: the edge reads the request target's
// path undecoded (net/url's RawPath), even where net/url would escape it
// another way.
func TestRoutePathAsSent(t *testing.T) {
	res, _ := compileDir("route", routeConfig, io.Discard)
	if res == nil {
		t.Fatal("the route config does not compile")
	}
	cases := []struct{ url, path, behavior string }{
		{"https://www.example.com/img/a.jpg", "/img/a.jpg", "/img/*.jpg"},
		{"https://www.example.com/img/x%7Ey.jpg", "/img/x%7Ey.jpg", "/img/*.jpg"},
		{"https://www.example.com/img/a|b%2Fc.jpg", "/img/a|b%2Fc.jpg", "/img/*.jpg"},
		{"https://www.example.com/img/a^b%2F.jpg?x=1", "/img/a^b%2F.jpg", "/img/*.jpg"},
		// Not sendable as typed: a client escapes the space.
		{"https://www.example.com/img/a b.jpg", "/img/a%20b.jpg", "/img/*.jpg"},
	}
	for _, c := range cases {
		req, err := NewRouteRequest("GET", c.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		e := ExplainRoute(res.Table, req)
		if e.Request.Path != c.path || e.CacheKey.Path != c.path || e.Behavior.Name != c.behavior {
			t.Errorf("%s: path %q, key path %q, behavior %s; want %q and %s", c.url, e.Request.Path, e.CacheKey.Path, e.Behavior.Name, c.path, c.behavior)
		}
	}
}
