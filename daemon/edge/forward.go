package edge

import (
	"net"
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/hopbyhop"
	"openfront.dev/schema"
)

// What a behavior forwards to the origin: what its cache key holds
// (forwardedValues, or a cache policy's as forwardedValues), and what its
// origin request policy adds outside the key (table.OriginRequest). A
// cache key value is forwarded even where the policy's allExcept lists it,
// as in CloudFront.

// ViewerHost is the viewer's Host host as behavior b's origin gets it,
// when it does (table.Behavior.ForwardsHost), and as a shield gets it, for a viewer that
// reached the node's listener at port (https: over TLS): the host routing
// matched, with that port only (origin.ViewerHost). Where the cache key
// holds the Host, each Host has its own entries, and the origin gets it
// as sent. One rule for every protocol (HTTP/1.1, 2, 3, WebSocket, gRPC)
// and for route; a viewer-request function still sees the Host as sent,
// which it may not change.
func ViewerHost(b *table.Behavior, host, port string, https bool) string {
	if b.KeysHost() {
		return host
	}
	return origin.ViewerHost(host, port, https)
}

// originHost is ViewerHost for request r, on the listener it came in on.
func originHost(r *http.Request, b *table.Behavior) string {
	var port string
	if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		_, port, _ = net.SplitHostPort(a.String())
	}
	return ViewerHost(b, r.Host, port, r.TLS != nil)
}

// forwardedHeaders keeps the headers behavior tb forwards, and the
// cookies its cache key or origin request policy keeps. It returns nil
// when the viewer sent nothing the behavior forwards: the usual request,
// which then allocates no map. A CloudFront-* header in passes only when
// the behavior has the node set it (setCloudFrontHeaders put the node's
// value in in).
func forwardedHeaders(tb *table.Behavior, in http.Header) http.Header {
	b, orp := tb.Spec, &tb.OriginRequest
	// The CloudFront-* fields in are the node's (setCloudFrontHeaders): a
	// viewer's Connection cannot hide them from the origin.
	in = withoutConnectionNamed(in, true)
	var out http.Header
	set := func(k string, vs []string) {
		if out == nil {
			out = make(http.Header, 4) // Via and User-Agent come next
		}
		out[k] = vs
	}
	fv := b.ForwardedValues
	if orp.AllHeaders {
		out = make(http.Header, len(in)+2) // room for Via and User-Agent
		for k, vs := range in {
			if forwardable(tb, k) && inAllHeaders(k) && !excepted(orp.Except, k) {
				out[k] = vs
			}
		}
	} else if slices.Contains(fv.Headers, "*") {
		for k, vs := range in {
			if forwardable(tb, k) && inAllHeaders(k) {
				set(k, vs)
			}
		}
	}
	for _, h := range fv.Headers {
		k := textproto.CanonicalMIMEHeaderKey(h)
		if vs, ok := in[k]; ok && k != "Cookie" && forwardable(tb, k) {
			set(k, vs)
		}
	}
	// Normalized in forward; CloudFront sends it under such a cache
	// policy whatever else it forwards.
	if vs, ok := in["Accept-Encoding"]; ok && tb.KeyedEncoding {
		set("Accept-Encoding", vs)
	}
	for _, k := range orp.Headers {
		if vs, ok := in[k]; ok && k != "Cookie" && forwardable(tb, k) {
			set(k, vs)
		}
	}
	for _, h := range origin.ConditionalHeaders {
		if vs, ok := in[h]; ok {
			set(h, vs)
		}
	}
	// As with CloudFront, these reach the origin whatever the behavior says:
	// the origin appends the viewer's address to X-Forwarded-For, and a
	// request body is unreadable without its Content-Type.
	for _, h := range [...]string{"X-Forwarded-For", "Content-Type"} {
		if vs, ok := in[h]; ok {
			set(h, vs)
		}
	}
	if vs, ok := in["Cookie"]; ok && orp.Cookies.Forward == "all" {
		if len(vs) > 1 {
			// One line, as HTTP/2 and HTTP/3 join theirs (RFC 9113
			// 8.2.3): an origin may read only the first (RFC 6265 5.4
			// has a user agent send one).
			vs = []string{strings.Join(vs, "; ")}
		}
		set("Cookie", vs)
	} else if c := keptCookies(in, fv.Cookies, orp.Cookies); c != "" {
		set("Cookie", []string{c})
	}
	return out
}

// originFields is cache.OriginFields for behavior b: the viewer's header
// fields that forwardedHeaders and originRequest pass to its origin (a
// GET's, as the cache fetches), or that the node sends made from them
// (Via, X-Forwarded-For, a web ACL's insertions, CloudFront-*). One
// pointer, so a cache.Policy holds it without allocating.
type originFields struct{ b *table.Behavior }

func (f originFields) Gets(k string) bool {
	tb := f.b
	switch {
	case k == "Cookie":
		return readsCookies(tb)
	case k == "Via" || k == "X-Forwarded-For" || k == "Content-Type" || k == "Early-Data" ||
		slices.Contains(origin.ConditionalHeaders, k) || strings.HasPrefix(k, table.WAFInsertPrefix):
		return true
	case !forwardable(tb, k):
		return false
	case strings.HasPrefix(k, "Cloudfront-"):
		return true // forwardable: the node sets it for the origin
	}
	orp, fv := &tb.OriginRequest, &tb.Spec.ForwardedValues
	return orp.AllHeaders && inAllHeaders(k) && !excepted(orp.Except, k) ||
		slices.Contains(fv.Headers, "*") && inAllHeaders(k) ||
		slices.ContainsFunc(fv.Headers, func(h string) bool { return textproto.CanonicalMIMEHeaderKey(h) == k }) ||
		slices.Contains(orp.Headers, k)
}

// forwardsAuthorization reports whether the viewer's Authorization goes
// to the origin of behavior b with a method request whatever b forwards:
// for the methods whose answers no other viewer gets, as CloudFront
// ("DELETE, PATCH, POST, and PUT requests – CloudFront doesn't remove the
// header field before forwarding the request to your origin"; OPTIONS
// keeps it "if you don't configure CloudFront to cache responses to
// OPTIONS requests", RequestAndResponseBehaviorCustomOrigin, HTTP request
// headers). A GET's or HEAD's reaches the origin only through the cache
// key or an all-viewer policy.
func forwardsAuthorization(b *table.Behavior, method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	case http.MethodOptions:
		return !slices.Contains(b.Spec.CachedMethods, http.MethodOptions)
	}
	return false
}

// inAllHeaders reports whether the canonical header name k goes with
// "all headers" (an all-viewer policy, legacy "*"): not Cookie, the
// cookie settings' to forward, nor Expect, which the node answers itself
// (it reads the body it forwards) and CloudFront "removes"
// (RequestAndResponseBehaviorCustomOrigin, HTTP request headers); a
// behavior that names either still forwards it.
func inAllHeaders(k string) bool {
	return k != "Cookie" && k != "Expect"
}

// excepted reports whether an allExcept policy's list except names k,
// spelled with underscores for its hyphens or not (dashed).
func excepted(except []string, k string) bool {
	return slices.Contains(except, k) || strings.IndexByte(k, '_') >= 0 && slices.Contains(except, dashed(k))
}

// forwardable reports whether the canonical header name k may reach the
// origin of behavior tb when tb forwards it: not a field that is never
// forwarded, nor a CloudFront-* field tb does not have the node set.
func forwardable(tb *table.Behavior, k string) bool {
	if strings.IndexByte(k, '_') >= 0 && nodeOwned(dashed(k)) {
		return false
	}
	return !neverForwarded(k) && (!strings.HasPrefix(k, "Cloudfront-") && !table.IsClientCertHeader(k) || forwardsCloudFrontHeader(tb, k))
}

// dashed is the canonical header name k with its underscores taken for
// hyphens, as CGI, Rack, PHP and WSGI servers take them
// (HTTP_X_FORWARDED_PROTO is X_Forwarded_Proto and X-Forwarded-Proto
// alike): the name an origin behind one reads.
func dashed(k string) string {
	return textproto.CanonicalMIMEHeaderKey(strings.ReplaceAll(k, "_", "-"))
}

// nodeOwned reports whether the canonical header name k is the node's to
// say to an origin, which a viewer's field of that name never passes as
// (neverForwarded, CloudFront-*, what withNodeHeaders and
// forwardedHeaders set, a web ACL's insertions): a viewer's field with
// underscores for its hyphens is dropped, or an origin that reads both as
// one would take the viewer's for the node's.
func nodeOwned(k string) bool {
	switch k {
	case "Via", "X-Openfront-Id", "X-Forwarded-For", "Early-Data":
		return true
	}
	return neverForwarded(k) || strings.HasPrefix(k, "Cloudfront-") || table.IsClientCertHeader(k) || strings.HasPrefix(k, table.WAFInsertPrefix)
}

// neverForwarded reports whether the canonical header name k never reaches
// the origin, whatever the behavior says: hop-by-hop fields, and those
// CloudFront removes and cannot be told to forward (X-Forwarded-Proto,
// X-Real-IP, X-Edge-*: RequestAndResponseBehaviorCustomOrigin.md), so a
// viewer cannot forge what an origin trusts as the CDN's.
func neverForwarded(k string) bool {
	return hopbyhop.Is(k) || k == "X-Forwarded-Proto" || k == "X-Real-Ip" || strings.HasPrefix(k, "X-Edge-")
}

// forwardedCookies are the viewer's cookies behavior b's cookies keep:
// all, the whitelisted ones, or (a cache policy's allExcept) all but the
// listed ones; "" for none.
func forwardedCookies(c schema.Cookies, in http.Header) string {
	return keptCookies(in, c, schema.Cookies{})
}

// keptCookies are the viewer's cookies that a or b keeps (as
// forwardedCookies), sorted by name as CloudFront sorts the cookies it
// forwards ("CloudFront sorts cookies", Cookies.md): viewers that send the
// same cookies in another order or spacing share one cached object. Names
// and values keep their case; cookies of one name keep the viewer's order.
func keptCookies(in http.Header, a, b schema.Cookies) string {
	all := a.Forward == "all" || b.Forward == "all"
	filters := func(c schema.Cookies) bool { return c.Forward == "whitelist" || c.Forward == "allExcept" }
	if !all && !filters(a) && !filters(b) {
		return ""
	}
	lines := in.Values("Cookie")
	if all && len(lines) == 1 && sortedCookies(lines[0]) {
		return lines[0] // most viewers' line: kept as it is, without allocating
	}
	var buf [16]string // most viewers' cookies, without allocating
	kept := buf[:0]
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue // "a=1;" and "; b=2" hold no empty cookie
			}
			name, _, _ := strings.Cut(part, "=")
			if all || cookieKept(a, name) || cookieKept(b, name) {
				kept = append(kept, part)
			}
		}
	}
	slices.SortStableFunc(kept, func(x, y string) int { return strings.Compare(cookieName(x), cookieName(y)) })
	return strings.Join(kept, "; ")
}

func cookieName(c string) string {
	name, _, _ := strings.Cut(c, "=")
	return name
}

// sortedCookies reports whether line is already as keptCookies writes all
// of it: cookies separated by "; ", none empty or padded, sorted by name.
func sortedCookies(line string) bool {
	prev, i := "", 0
	for part := range strings.SplitSeq(line, "; ") {
		if part == "" || strings.TrimSpace(part) != part || strings.IndexByte(part, ';') >= 0 {
			return false
		}
		name := cookieName(part)
		if i > 0 && name < prev {
			return false
		}
		prev, i = name, i+1
	}
	return true
}

// cookieKept reports whether a whitelist or allExcept c keeps the cookie
// named name.
func cookieKept(c schema.Cookies, name string) bool {
	if c.Forward != "whitelist" && c.Forward != "allExcept" {
		return false
	}
	matched := slices.ContainsFunc(c.WhitelistedNames, func(pattern string) bool { return cookieNameMatches(pattern, name) })
	return matched == (c.Forward == "whitelist")
}

// cookieNameMatches applies CloudFront's cookie whitelist wildcards: * and ?.
func cookieNameMatches(pattern, name string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == name
	}
	return table.CompileNamePattern(pattern).Match(name)
}
