package edge

import (
	"net/http"
	"net/textproto"
	"slices"
	"strings"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/origin"
	"openfront.dev/internal/hopbyhop"
	"openfront.dev/schema"
)

// What a behavior forwards to the origin. With plain forwardedValues only
// what enters the cache key is forwarded, so a cached response never depends
// on an unkeyed input; an origin request policy forwards everything viewer-side.

// forwardsAll reports a managed origin request policy that forwards all viewer values.
func forwardsAll(b *schema.CacheBehavior) bool {
	return strings.HasPrefix(b.OriginRequestPolicy, "AllViewer")
}

func forwardsHost(b *schema.CacheBehavior) bool {
	switch b.OriginRequestPolicy {
	case "AllViewer", "AllViewerAndCloudFrontHeaders-2022-06", "HostHeaderOnly":
		return true
	}
	for _, h := range b.ForwardedValues.Headers {
		if h == "*" || strings.EqualFold(h, "Host") {
			return true
		}
	}
	return false
}

// forwardedQuery keeps the query string per forwardedValues: none, all, or
// only queryStringCacheKeys (in the viewer's order).
func forwardedQuery(b *schema.CacheBehavior, raw string) string {
	if forwardsAll(b) {
		return raw
	}
	return table.KeyedQuery(b.ForwardedValues, raw)
}

// forwardedHeaders keeps the headers behavior tb forwards, and the
// cookies it whitelists. Under forwardedValues it returns nil when the
// viewer sent nothing the behavior forwards: the usual request, which then
// allocates no map. A CloudFront-* header in passes only when the behavior
// has the node set it (setCloudFrontHeaders put the node's value in in).
func forwardedHeaders(tb *table.Behavior, in http.Header) http.Header {
	b := tb.Spec
	// The CloudFront-* fields in are the node's (setCloudFrontHeaders): a
	// viewer's Connection cannot hide them from the origin.
	in = withoutConnectionNamed(in, "Cloudfront-")
	passes := func(k string) bool {
		return !neverForwarded(k) && (!strings.HasPrefix(k, "Cloudfront-") || forwardsCloudFrontHeader(tb, k))
	}
	if forwardsAll(b) {
		out := make(http.Header, len(in)+2) // room for Via and User-Agent
		for k, vs := range in {
			if passes(k) {
				out[k] = vs
			}
		}
		if b.OriginRequestPolicy == "AllViewerExceptHostHeader" {
			out.Del("Host")
		}
		return out
	}
	var out http.Header
	set := func(k string, vs []string) {
		if out == nil {
			out = make(http.Header, 4) // Via and User-Agent come next
		}
		out[k] = vs
	}
	fv := b.ForwardedValues
	if slices.Contains(fv.Headers, "*") {
		for k, vs := range in {
			if passes(k) && k != "Cookie" {
				set(k, vs)
			}
		}
	} else {
		for _, h := range fv.Headers {
			k := textproto.CanonicalMIMEHeaderKey(h)
			if vs, ok := in[k]; ok && k != "Cookie" && passes(k) {
				set(k, vs)
			}
		}
	}
	// Normalized in forward; CloudFront sends it under such a cache
	// policy whatever else it forwards.
	if vs, ok := in["Accept-Encoding"]; ok && tb.KeyedEncoding {
		set("Accept-Encoding", vs)
	}
	for _, h := range table.PolicyHeaders[b.OriginRequestPolicy] {
		if vs, ok := in[h]; ok {
			set(h, vs)
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
	if c := forwardedCookies(fv.Cookies, in); c != "" {
		set("Cookie", []string{c})
	}
	return out
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
	switch c.Forward {
	case "all":
		return strings.Join(in.Values("Cookie"), "; ")
	case "whitelist", "allExcept":
		listed := c.Forward == "whitelist"
		var kept []string
		for _, line := range in.Values("Cookie") {
			for part := range strings.SplitSeq(line, ";") {
				part = strings.TrimSpace(part)
				if part == "" {
					continue // "a=1;" and "; b=2" hold no empty cookie
				}
				name, _, _ := strings.Cut(part, "=")
				matched := slices.ContainsFunc(c.WhitelistedNames, func(pattern string) bool { return cookieNameMatches(pattern, name) })
				if matched == listed {
					kept = append(kept, part)
				}
			}
		}
		return strings.Join(kept, "; ")
	}
	return ""
}

// cookieNameMatches applies CloudFront's cookie whitelist wildcards: * and ?.
func cookieNameMatches(pattern, name string) bool {
	if !strings.ContainsAny(pattern, "*?") {
		return pattern == name
	}
	p, err := table.CompilePattern("/" + pattern)
	return err == nil && p.Match("/"+name)
}
