package edge

import (
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"

	"github.com/maypok86/otter/v2"
	useragent "github.com/medama-io/go-useragent"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/access"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/internal/tlsfp"
)

// The CloudFront-* request headers the node sets for the origin
// (table.CloudFrontHeaders), from the viewer's request: what CloudFront
// documents in adding-cloudfront-headers.md. A viewer's own never reach
// the origin, which trusts them as the CDN's word.
const (
	protoHeader         = "Cloudfront-Forwarded-Proto"
	viewerCountryHeader = "Cloudfront-Viewer-Country"
	ja3Header           = "Cloudfront-Viewer-Ja3-Fingerprint"
	ja4Header           = "Cloudfront-Viewer-Ja4-Fingerprint"
)

var protoHTTP, protoHTTPS = []string{"http"}, []string{"https"}
var trueValue, falseValue = []string{"true"}, []string{"false"}

// viewer is what the CloudFront headers say about a request's viewer.
type viewer struct {
	r       *http.Request
	client  netip.Addr
	country string          // "" when unknown
	loc     access.Location // the rest of what the databases say (location.go)
	https   bool
	// device is what its User-Agent says, once deviceKnown.
	device      deviceFlags
	deviceKnown bool
}

// setCloudFrontHeaders puts the node's value of each CloudFront header
// behavior b forwards into r.Header in place of the viewer's (none when
// the node has no value): the cache key and the origin request read them
// from there.
func setCloudFrontHeaders(r *http.Request, b *table.Behavior, v *viewer) {
	for _, name := range b.CloudFrontHeaders {
		replaceNodeHeader(r.Header, name, v.header(name))
	}
}

// header is the node's value of the CloudFront header name, nil for none.
func (v *viewer) header(name string) []string {
	switch name {
	case protoHeader:
		if v.https {
			return protoHTTPS
		}
		return protoHTTP
	case viewerCountryHeader:
		if v.country == "" {
			return nil
		}
		return []string{v.country}
	case "Cloudfront-Viewer-Address":
		// "IP:port", an IPv6 address unbracketed, as CloudFront sends it.
		// The port is the connection's when the viewer is the peer; behind
		// a trusted proxy it is unknown: 0.
		port := 0
		if peer, err := netip.ParseAddrPort(v.r.RemoteAddr); err == nil && peer.Addr().Unmap() == v.client {
			port = int(peer.Port())
		}
		return []string{v.client.String() + ":" + strconv.Itoa(port)}
	case "Cloudfront-Viewer-Http-Version":
		return []string{strconv.Itoa(v.r.ProtoMajor) + "." + strconv.Itoa(v.r.ProtoMinor)}
	case "Cloudfront-Viewer-Tls":
		// "version:cipher:handshake", OpenSSL's names as in the access log.
		s := v.r.TLS
		if s == nil {
			return nil
		}
		handshake := "fullHandshake"
		if s.DidResume {
			handshake = "sessionResumed"
		}
		return []string{accesslog.TLSVersionName(s.Version) + ":" + accesslog.CipherName(s.CipherSuite) + ":" + handshake}
	case ja3Header, ja4Header:
		// From the viewer's ClientHello: HTTPS only, and only when the
		// node terminated the TLS (not behind a proxy that did).
		if v.r.TLS == nil {
			return nil
		}
		h := tlsfp.FromContext(v.r.Context())
		if h == nil {
			return nil
		}
		fp := h.JA4()
		if name == ja3Header {
			fp = h.JA3()
		}
		if fp == "" {
			return nil
		}
		return []string{fp}
	}
	if vs, ok := v.locationHeader(name); ok {
		return vs
	}
	return v.deviceType(name) // nil: a CloudFront header the node does not set
}

// deviceType is the value of a CloudFront-Is-*-Viewer header, from the
// User-Agent; nil for another name.
func (v *viewer) deviceType(name string) []string {
	bit, ok := deviceHeaders[name]
	if !ok {
		return nil
	}
	if !v.deviceKnown {
		v.device, v.deviceKnown = deviceOf(v.r.Header.Get("User-Agent")), true
	}
	if v.device&bit != 0 {
		return trueValue
	}
	return falseValue
}

// deviceFlags say what a User-Agent is, one bit per device header.
type deviceFlags uint8

const (
	isDesktop deviceFlags = 1 << iota
	isMobile
	isSmartTV
	isTablet
	isAndroid
	isIOS
)

// deviceHeaders are the device headers and the bit each reports.
var deviceHeaders = map[string]deviceFlags{
	"Cloudfront-Is-Desktop-Viewer": isDesktop,
	"Cloudfront-Is-Mobile-Viewer":  isMobile,
	"Cloudfront-Is-Smarttv-Viewer": isSmartTV,
	"Cloudfront-Is-Tablet-Viewer":  isTablet,
	"Cloudfront-Is-Android-Viewer": isAndroid,
	"Cloudfront-Is-Ios-Viewer":     isIOS,
}

// deviceOf parses ua, through a bounded cache: parsing takes 1–3 µs, and
// a behavior that keys on the device does it for every hit, while
// viewers share a few thousand User-Agents.
func deviceOf(ua string) deviceFlags {
	c := deviceCache()
	if f, ok := c.GetIfPresent(ua); ok {
		return f
	}
	p := userAgents().Parse(ua)
	var f deviceFlags
	for _, d := range [...]struct {
		bit deviceFlags
		is  bool
	}{{isDesktop, p.IsDesktop()}, {isMobile, p.IsMobile()}, {isSmartTV, p.IsTV()},
		{isTablet, p.IsTablet()}, {isAndroid, p.IsAndroidOS()}, {isIOS, p.IsIOS()}} {
		if d.is {
			f |= d.bit
		}
	}
	c.Set(ua, f)
	return f
}

// userAgents is the User-Agent parser, built on first use (30 ms, 5 MiB
// of tables): only behaviors that forward a device header need it.
var userAgents = sync.OnceValue(useragent.NewParser)

var deviceCache = sync.OnceValue(func() *otter.Cache[string, deviceFlags] {
	c, err := otter.New(&otter.Options[string, deviceFlags]{MaximumSize: 10_000})
	if err != nil {
		panic(err) // only for invalid options
	}
	return c
})

// forwardsCloudFrontHeader reports whether behavior b has the node set
// the CloudFront header name.
func forwardsCloudFrontHeader(b *table.Behavior, name string) bool {
	return slices.Contains(b.CloudFrontHeaders, name)
}
