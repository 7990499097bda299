package edge

import (
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"

	useragent "github.com/medama-io/go-useragent"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/accesslog"
)

// The CloudFront-* request headers the node sets for the origin
// (table.CloudFrontHeaders), from the viewer's request: what CloudFront
// documents in adding-cloudfront-headers.md. A viewer's own never reach
// the origin, which trusts them as the CDN's word.
const (
	protoHeader         = "Cloudfront-Forwarded-Proto"
	viewerCountryHeader = "Cloudfront-Viewer-Country"
)

var protoHTTP, protoHTTPS = []string{"http"}, []string{"https"}
var trueValue, falseValue = []string{"true"}, []string{"false"}

// viewer is what the CloudFront headers say about a request's viewer.
type viewer struct {
	r       *http.Request
	client  netip.Addr
	country string // "" when unknown
	https   bool
	device  *useragent.UserAgent // parsed on first use
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
	}
	if d := v.deviceType(name); d != nil {
		return d
	}
	return nil // a CloudFront header the node does not set
}

// deviceType is the value of a CloudFront-Is-*-Viewer header, from the
// User-Agent; nil for another name.
func (v *viewer) deviceType(name string) []string {
	var is func(*useragent.UserAgent) bool
	switch name {
	case "Cloudfront-Is-Desktop-Viewer":
		is = (*useragent.UserAgent).IsDesktop
	case "Cloudfront-Is-Mobile-Viewer":
		is = (*useragent.UserAgent).IsMobile
	case "Cloudfront-Is-Smarttv-Viewer":
		is = (*useragent.UserAgent).IsTV
	case "Cloudfront-Is-Tablet-Viewer":
		is = (*useragent.UserAgent).IsTablet
	case "Cloudfront-Is-Android-Viewer":
		is = (*useragent.UserAgent).IsAndroidOS
	case "Cloudfront-Is-Ios-Viewer":
		is = (*useragent.UserAgent).IsIOS
	default:
		return nil
	}
	if v.device == nil {
		ua := userAgents().Parse(v.r.Header.Get("User-Agent"))
		v.device = &ua
	}
	if is(v.device) {
		return trueValue
	}
	return falseValue
}

// userAgents is the User-Agent parser, built on first use (its tables
// take a few MiB): only behaviors that forward a device header need it.
var userAgents = sync.OnceValue(useragent.NewParser)

// forwardsCloudFrontHeader reports whether behavior b has the node set
// the CloudFront header name.
func forwardsCloudFrontHeader(b *table.Behavior, name string) bool {
	return slices.Contains(b.CloudFrontHeaders, name)
}
