package edge

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"openfront.dev/internal/testenv"
	"openfront.dev/internal/tlsfp"
)

// helloListener wraps each connection for tlsfp, as the node's HTTPS
// listener does.
type helloListener struct{ net.Listener }

func (l helloListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &tlsfp.Conn{Conn: c}, nil
}

const (
	iPhone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
	desktop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)

// TestCloudFrontHeaders: the CloudFront-* headers a behavior forwards
// carry the node's values (adding-cloudfront-headers.md), whatever the
// viewer claims; a viewer's own never reach the origin, not under
// AllViewer or "*" either, nor RFC 9440's Client-Cert; a device header in the cache key keeps mobile
// and desktop answers apart.
func TestCloudFrontHeaders(t *testing.T) {
	seen := make(chan http.Header, 1)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		w.Header().Set("Cache-Control", "max-age=60")
		fmt.Fprintf(w, "mobile=%s", r.Header.Get("CloudFront-Is-Mobile-Viewer"))
	}))
	t.Cleanup(app.Close)
	dir := t.TempDir()
	// fp: the fingerprints outside the key, by an origin request policy
	// of the config's (the dated managed one predates them).
	cfg := "package cdn\noriginRequestPolicies: fp: headersConfig: {headerBehavior: \"whitelist\", headers: [\"CloudFront-Viewer-JA3-Fingerprint\", \"CloudFront-Viewer-JA4-Fingerprint\"]}\n"
	for name, behavior := range map[string]string{
		"named": `forwardedValues: headers: ["CloudFront-Viewer-Address", "cloudfront-viewer-http-version", "CloudFront-Viewer-TLS",
			"CloudFront-Viewer-JA3-Fingerprint", "CloudFront-Viewer-JA4-Fingerprint", "CloudFront-Is-Mobile-Viewer", "CloudFront-Is-Desktop-Viewer", "CloudFront-Is-IOS-Viewer", "CloudFront-Viewer-City"]`,
		"cfheaders": `originRequestPolicy: "AllViewerAndCloudFrontHeaders-2022-06"`,
		"allviewer": `originRequestPolicy: "AllViewer"`,
		"star":      `forwardedValues: headers: ["*"]`,
		"fp":        `cachePolicy: "CachingOptimized", originRequestPolicy: "fp"`,
	} {
		cfg += fmt.Sprintf(`distributions: %[1]s: {
	aliases: ["%[1]s.test"]
	origins: [{id: "app", domainName: %[2]q, customOriginConfig: originProtocolPolicy: "http-only"}]
	defaultCacheBehavior: {targetOriginId: "app", viewerProtocolPolicy: "allow-all", %[3]s}
}
`, name, app.Listener.Addr().String(), behavior)
	}
	h := cachedHandler(t, dir, testenv.Compile(t, dir, cfg))
	plain := httptest.NewServer(h)
	t.Cleanup(plain.Close)
	// The HTTPS server keeps each connection's ClientHello, as the node's
	// listener does, and hello the last one.
	hellos := make(chan *tls.ClientHelloInfo, 1)
	secure := httptest.NewUnstartedServer(h)
	secure.Listener = helloListener{secure.Listener}
	secure.Config.ConnContext = tlsfp.ConnContext
	secure.TLS = &tls.Config{GetConfigForClient: func(hi *tls.ClientHelloInfo) (*tls.Config, error) {
		tlsfp.Capture(hi, false)
		select {
		case <-hellos:
		default:
		}
		hellos <- hi
		return nil, nil
	}}
	secure.StartTLS()
	t.Cleanup(secure.Close)

	forged := http.Header{
		"CloudFront-Viewer-Address":         {"203.0.113.66:443"},
		"CloudFront-Viewer-City":            {"Forged"},
		"CloudFront-Is-Mobile-Viewer":       {"forged"},
		"CloudFront-Viewer-TLS":             {"forged"},
		"CloudFront-Viewer-JA3-Fingerprint": {"forged"},
		"CloudFront-Viewer-JA4-Fingerprint": {"forged"},
		"CloudFront-Viewer-ASN":             {"64496"},
		// RFC 9440's, which a proxy "must unconditionally remove".
		"Client-Cert":                    {":Zm9yZ2Vk:"},
		"Client-Cert-Chain":              {":Zm9yZ2Vk:"},
		"CloudFront-Viewer-Cert-Subject": {"CN=forged"},
	}
	// get asks host for path as a viewer with agent; it returns what the
	// origin saw (nil for a hit) and the body.
	get := func(t *testing.T, srv *httptest.Server, host, path, agent string) (http.Header, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Host = host + ".test"
		for k, v := range forged {
			req.Header[k] = v
		}
		req.Header.Set("User-Agent", agent)
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		select {
		case hdr := <-seen:
			return hdr, string(body)
		default:
			return nil, string(body)
		}
	}
	values := func(hdr http.Header) map[string]string {
		out := map[string]string{}
		for k, vs := range hdr {
			if strings.HasPrefix(k, "Cloudfront-") || strings.HasPrefix(k, "Client-Cert") {
				out[k] = strings.Join(vs, ",")
			}
		}
		return out
	}

	t.Run("named, over HTTP", func(t *testing.T) {
		hdr, body := get(t, plain, "named", "/phone", iPhone)
		got := values(hdr)
		addr := got["Cloudfront-Viewer-Address"]
		if !strings.HasPrefix(addr, "127.0.0.1:") || addr == "127.0.0.1:0" {
			t.Errorf("CloudFront-Viewer-Address %q, want 127.0.0.1 and the viewer's port", addr)
		}
		delete(got, "Cloudfront-Viewer-Address")
		want := map[string]string{"Cloudfront-Viewer-Http-Version": "1.1", "Cloudfront-Is-Mobile-Viewer": "true",
			"Cloudfront-Is-Desktop-Viewer": "false", "Cloudfront-Is-Ios-Viewer": "true"}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("the origin got %v, want %v (no TLS over HTTP, no city: the node knows none)", got, want)
		}
		if body != "mobile=true" {
			t.Errorf("body %q", body)
		}
	})
	t.Run("named, device headers key the cache", func(t *testing.T) {
		if hdr, body := get(t, plain, "named", "/page", desktop); hdr == nil || body != "mobile=false" {
			t.Fatalf("desktop: origin saw %v, body %q; want a miss answered for a desktop", hdr != nil, body)
		}
		if hdr, body := get(t, plain, "named", "/page", iPhone); hdr == nil || body != "mobile=true" {
			t.Errorf("phone after desktop: origin saw %v, body %q; want its own miss", hdr != nil, body)
		}
		if hdr, body := get(t, plain, "named", "/page", desktop); hdr != nil || body != "mobile=false" {
			t.Errorf("desktop again: origin saw %v, body %q; want the desktop's hit", hdr != nil, body)
		}
	})
	t.Run("named, over HTTPS", func(t *testing.T) {
		hdr, _ := get(t, secure, "named", "/tls", desktop)
		tlsValue := hdr.Get("CloudFront-Viewer-TLS")
		if want := "TLSv1.3:" + tls.CipherSuiteName(tls.TLS_AES_128_GCM_SHA256) + ":fullHandshake"; tlsValue != want {
			t.Errorf("CloudFront-Viewer-TLS %q, want %q", tlsValue, want)
		}
		hello := <-hellos
		if got, want := hdr.Get("CloudFront-Viewer-JA3-Fingerprint"), tlsfp.JA3(hello); got != want {
			t.Errorf("CloudFront-Viewer-JA3-Fingerprint %q, want %q", got, want)
		}
		if got, want := hdr.Get("CloudFront-Viewer-JA4-Fingerprint"), tlsfp.JA4(hello, false); got != want {
			t.Errorf("CloudFront-Viewer-JA4-Fingerprint %q, want %q", got, want)
		}
	})
	t.Run("fingerprints by an origin request policy, outside the key", func(t *testing.T) {
		secure.Client().CloseIdleConnections() // a new handshake, a new hello
		hdr, _ := get(t, secure, "fp", "/fp", desktop)
		hello := <-hellos
		if got, want := hdr.Get("CloudFront-Viewer-JA3-Fingerprint"), tlsfp.JA3(hello); got != want {
			t.Errorf("CloudFront-Viewer-JA3-Fingerprint %q, want %q", got, want)
		}
		if got, want := hdr.Get("CloudFront-Viewer-JA4-Fingerprint"), tlsfp.JA4(hello, false); got != want {
			t.Errorf("CloudFront-Viewer-JA4-Fingerprint %q, want %q", got, want)
		}
		if hdr, _ := get(t, plain, "fp", "/fp", desktop); hdr != nil {
			t.Errorf("a viewer without TLS missed: the fingerprints are in the key")
		}
	})
	t.Run("AllViewerAndCloudFrontHeaders", func(t *testing.T) {
		hdr, _ := get(t, plain, "cfheaders", "/all", desktop)
		got := values(hdr)
		for _, name := range []string{"Cloudfront-Forwarded-Proto", "Cloudfront-Viewer-Address", "Cloudfront-Viewer-Http-Version",
			"Cloudfront-Is-Desktop-Viewer", "Cloudfront-Is-Mobile-Viewer", "Cloudfront-Is-Smarttv-Viewer",
			"Cloudfront-Is-Tablet-Viewer", "Cloudfront-Is-Android-Viewer", "Cloudfront-Is-Ios-Viewer"} {
			if _, ok := got[name]; !ok {
				t.Errorf("no %s", name)
			}
		}
		for _, name := range []string{"Cloudfront-Viewer-City", "Cloudfront-Viewer-Asn", "Cloudfront-Viewer-Tls",
			"Cloudfront-Viewer-Ja3-Fingerprint", "Cloudfront-Viewer-Ja4-Fingerprint"} {
			if v, ok := got[name]; ok {
				t.Errorf("%s: %q passed", name, v)
			}
		}
		if got["Cloudfront-Is-Desktop-Viewer"] != "true" || got["Cloudfront-Is-Mobile-Viewer"] != "false" {
			t.Errorf("device headers %v for a desktop", got)
		}
	})
	for _, host := range []string{"allviewer", "star"} {
		t.Run(host+" passes no viewer claim", func(t *testing.T) {
			hdr, _ := get(t, plain, host, "/claims", desktop)
			if got := values(hdr); len(got) != 0 {
				t.Errorf("the origin got the viewer's %v", got)
			}
		})
	}
}
