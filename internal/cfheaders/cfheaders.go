// Package cfheaders is the part of the CloudFront-* request headers
// (adding-cloudfront-headers.md) that the viewer's request alone tells:
// the protocol, the country, the address, the HTTP version and the device.
// The edge sets them from a served request (daemon/edge, which adds the
// TLS, fingerprint and place headers of the connection and the
// databases); openfront route and vet's route tests set them from what
// they are told, so a viewer-request function sees what the edge gives it.
// A behavior has them set only when it names them
// (table.Behavior.CloudFrontHeaders), as CloudFront does.
package cfheaders

import (
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/maypok86/otter/v2"
	useragent "github.com/medama-io/go-useragent"
)

// The headers Value knows (canonical names).
const (
	ForwardedProto    = "Cloudfront-Forwarded-Proto"
	ViewerCountry     = "Cloudfront-Viewer-Country"
	ViewerAddress     = "Cloudfront-Viewer-Address"
	ViewerHTTPVersion = "Cloudfront-Viewer-Http-Version"
)

var protoHTTP, protoHTTPS = []string{"http"}, []string{"https"}
var trueValue, falseValue = []string{"true"}, []string{"false"}

// Viewer is what the request tells of its viewer.
type Viewer struct {
	HTTPS   bool
	Country string // "" when unknown
	Client  netip.Addr
	// RemoteAddr is the connection's peer, "IP:port": CloudFront-Viewer-Address
	// has its port when it is Client; else (behind a trusted proxy, or
	// unknown) port 0.
	RemoteAddr string
	// ProtoMajor and ProtoMinor are the viewer's HTTP version; 0: unknown.
	ProtoMajor, ProtoMinor int
	// Header is the viewer's request header; its User-Agent says the device.
	Header http.Header
	// device is what its User-Agent says, once deviceKnown.
	device      deviceFlags
	deviceKnown bool
}

// Value is v's value of the CloudFront header name, nil for none; ok is
// false for a header the request alone does not tell.
func (v *Viewer) Value(name string) (value []string, ok bool) {
	switch name {
	case ForwardedProto:
		if v.HTTPS {
			return protoHTTPS, true
		}
		return protoHTTP, true
	case ViewerCountry:
		if v.Country == "" {
			return nil, true
		}
		return []string{v.Country}, true
	case ViewerAddress:
		if !v.Client.IsValid() {
			return nil, true
		}
		// "IP:port", an IPv6 address unbracketed, as CloudFront sends it.
		port := 0
		if peer, err := netip.ParseAddrPort(v.RemoteAddr); err == nil && peer.Addr().Unmap() == v.Client {
			port = int(peer.Port())
		}
		return []string{v.Client.String() + ":" + strconv.Itoa(port)}, true
	case ViewerHTTPVersion:
		if v.ProtoMajor == 0 {
			return nil, true
		}
		return []string{strconv.Itoa(v.ProtoMajor) + "." + strconv.Itoa(v.ProtoMinor)}, true
	}
	bit, ok := deviceHeaders[name]
	if !ok {
		return nil, false
	}
	if !v.deviceKnown {
		v.device, v.deviceKnown = deviceOf(v.Header.Get("User-Agent")), true
	}
	if v.device&bit != 0 {
		return trueValue, true
	}
	return falseValue, true
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
	f = refineDevice(ua, f)
	c.Set(ua, f)
	return f
}

// tvTokens mark a TV's browser; the parser takes some (an Android TV's,
// webOS's) for a phone's or for nothing.
var tvTokens = []string{"Android TV", "GoogleTV", "SmartTV", "SMART-TV", "Web0S", "HbbTV"}

// refineDevice corrects the parser where it takes every Android device for
// a phone. An Android browser names a phone "Mobile" ("Mobile Safari",
// Firefox's "Mobile;") and a tablet "Tablet" or not at all: an origin
// that serves tablets their layout by CloudFront-Is-Tablet-Viewer gave
// them the phone's. An app's User-Agent (not "Mozilla/") says neither,
// and stays a phone. A client of no kind the parser knows (curl, Postman,
// a bot, none) is a desktop, as CloudFront has it: requests captured
// behind CloudFront from curl, Postman and Slackbot carry
// CloudFront-Is-Desktop-Viewer: true, where an origin that picks its page
// by that header gave them none.
func refineDevice(ua string, f deviceFlags) deviceFlags {
	if slices.ContainsFunc(tvTokens, func(t string) bool { return strings.Contains(ua, t) }) {
		return f&(isAndroid|isIOS) | isSmartTV
	}
	if f&isAndroid != 0 && f&isTablet == 0 && strings.HasPrefix(ua, "Mozilla/") &&
		(strings.Contains(ua, "Tablet") || !strings.Contains(ua, "Mobile")) {
		return f&^(isMobile|isDesktop) | isTablet
	}
	if f&(isDesktop|isMobile|isTablet|isSmartTV) == 0 {
		f |= isDesktop
	}
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

// Set puts v's value of each of names (a behavior's CloudFrontHeaders)
// into h in place of the viewer's, as the edge does before the
// viewer-request function runs; unset are the names it has no value for
// (of those the edge may have one for: the TLS, the fingerprints, the
// places). For openfront route and vet, which have no connection: the
// edge sets them with the rest in one pass.
func Set(h http.Header, names []string, v *Viewer) (unset []string) {
	for _, name := range names {
		vs, _ := v.Value(name)
		delete(h, name)
		if vs == nil {
			unset = append(unset, name)
			continue
		}
		h[name] = vs
	}
	return unset
}
