package cache

import (
	"net/http"
	"slices"
	"strings"
	"time"
)

// Freshness follows RFC 9111 4.2 with CloudFront's TTL rules on top:
//   - minTTL 0: the origin's s-maxage / max-age / Expires is capped at
//     maxTTL (0 included); no-store and private are not stored, no-cache is
//     stored only to be revalidated on every use;
//   - minTTL > 0: the origin's value is clamped into [minTTL, maxTTL], and
//     no-store, private and no-cache responses are kept for minTTL, whatever
//     their max-age;
//   - no freshness information: defaultTTL; heuristic freshness is never
//     used;
//   - CloudFront's error codes: ErrorTTL, or the origin's value capped at
//     maxTTL when greater; 400, 403, 405, 412 and 415 only when the origin
//     gives them a max-age, s-maxage or Expires;
//   - errors: no-store, no-cache and private keep a 404, 410, 414 or 501
//     out (minTTL 0), and are ignored on the other errors CloudFront caches.

// defaultStatuses are kept for the default TTL when the origin gives no
// freshness: RFC 9110 15.1's heuristically cacheable codes, except the
// errors (errorStatuses have their own rules; 410 is not among the errors
// CloudFront caches) and 308, which, like 307, CloudFront caches only with
// Cache-Control; plus 302 and 303, which it caches by the behavior's
// settings like any other 3xx
// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/http-3xx-status-codes.html).
var defaultStatuses = []int{200, 203, 204, 206, 300, 301, 302, 303}

// errorStatuses are the codes CloudFront caches for the error caching
// minimum TTL, or the origin's max-age, s-maxage or Expires when longer
// (HTTPStatusCodes.html, "HTTP 4xx and 5xx status codes that CloudFront
// caches"): all of them, but headerErrors.
var errorStatuses = []int{400, 403, 404, 405, 412, 414, 415, 500, 501, 502, 503, 504}

// headerErrors are the errors CloudFront caches only when the origin gives
// them a max-age or s-maxage (same page: "based on Cache-Control
// headers"), or Expires (see cachesError). A 403 from an S3 bucket that hides missing keys, or from an
// origin's authorization, goes to the origin on every request.
var headerErrors = []int{400, 403, 405, 412, 415}

// privateErrors are the errors CloudFront does not cache when the origin
// says no-store, no-cache or private; it ignores those on the others.
var privateErrors = []int{404, 410, 414, 501}

// understoodStatuses are the codes whose caching rules the cache knows
// (RFC 9111 3: must-understand lets only these be stored). Any other final
// code may be stored with explicit freshness, as RFC 9111 3 allows. A 206
// is stored as a piece of its object (partial.go); a 304 never is.
var understoodStatuses = []int{200, 203, 204, 206, 300, 301, 302, 303, 307, 308, 400, 403, 404, 405, 410, 412, 414, 415, 416, 451, 500, 501, 502, 503, 504}

// decision is whether and for how long a response is stored.
type decision struct {
	store bool
	// ttl is the freshness lifetime after CloudFront's clamps.
	ttl time.Duration
	// why explains a refusal, for tests and debugging.
	why string
	// requestOnly says the refusal comes from the request alone (its
	// Authorization, its early data): the response says nothing about what
	// other requests for the key may get.
	requestOnly bool
	// maxStale is how long past its lifetime a stored response may be
	// served stale at most, whatever the reason: the behavior's maxTTL
	// (Expiration.html, "Serve stale (expired) content").
	maxStale time.Duration
	// minTTLOverride says the minimum TTL kept a no-cache, no-store or
	// private response: CloudFront then treats it as any other object,
	// so no-cache does not forbid serving it stale either.
	minTTLOverride bool
}

// decide applies the rules above to a response; now is when it arrived.
func decide(status int, h http.Header, cc directives, p Policy, reqHeader http.Header, now time.Time) decision {
	switch {
	case !p.Cacheable:
		return decision{why: "method or behavior not cached"}
	case status < 200 || status > 599 || status == http.StatusNotModified:
		return decision{why: "status not cacheable"}
	case status == http.StatusTooEarly:
		// RFC 8470: the origin refused the request's early data; a
		// request sent after the handshake gets another answer.
		return decision{why: "425 answers the request's early data", requestOnly: true}
	case status == http.StatusPartialContent && !storablePiece(h):
		return decision{why: "206 without one range of a known length"}
	case varyStar(h) && p.MinTTL <= 0:
		// Under a minTTL CloudFront drops the "*" as any Vary value it
		// does not key on and keeps the object (varyNames skips it);
		// without one it asks the origin every time
		// (RequestAndResponseBehaviorCustomOrigin, "Content negotiation").
		return decision{why: "Vary: * with minTTL 0"}
	}
	understood := slices.Contains(understoodStatuses, status)
	if cc.mustUnderstand {
		if !understood {
			return decision{why: "must-understand with an unknown status"}
		}
		// RFC 9111 5.2.2.3: Cache-Control's no-store is for caches
		// that do not know must-understand (Surrogate-Control's is ours).
		if cc.surrogate == nil {
			cc.noStore = false
		}
	}
	if reqHeader != nil {
		// RFC 9111 3.5: a shared cache stores an answer to an
		// authenticated request only when the origin says it may.
		if _, ok := reqHeader["Authorization"]; ok && !cc.public && cc.sMaxAge < 0 && !cc.mustRevalidate {
			return decision{why: "request carries Authorization", requestOnly: true}
		}
	}
	if status == http.StatusRequestedRangeNotSatisfiable {
		// "CloudFront doesn't cache status code 416 responses"
		// (custom-error-pages-expiration.html): one viewer's bad range
		// must not answer the others.
		return decision{why: "416 is never cached"}
	}
	if cc.surrogate == nil && (cc.noStore || cc.noCache || cc.private) {
		// custom-error-pages-expiration.html: CloudFront does not cache a
		// 404, 410, 414 or 501 with these, and ignores them on the other
		// errors it caches. Surrogate-Control's no-store is ours: kept.
		switch {
		case slices.Contains(privateErrors, status):
			if p.MinTTL <= 0 {
				return decision{why: "404, 410, 414 or 501 with no-store, no-cache or private"}
			}
		case slices.Contains(errorStatuses, status):
			cc.noStore, cc.noCache, cc.private = false, false, false
		}
	}
	if p.MinTTL <= 0 && (cc.noStore || cc.private) {
		return decision{why: "no-store or private"}
	}
	if cc.surrogate != nil && cc.noStore {
		// Addressed to this cache, by an origin that means it for CDNs or
		// by the edge (an error CloudFront does not keep, holdErrorPage):
		// no minimum TTL overrides it.
		return decision{why: "Surrogate-Control no-store"}
	}
	explicit, ok := explicitLifetime(h, cc, now)
	var ttl time.Duration
	override := false
	switch {
	case p.MinTTL > 0 && (cc.noCache || cc.noStore || cc.private) && (ok || understood):
		// CloudFront keeps these for the minimum TTL, whatever their
		// max-age or Expires says, and not the default TTL either.
		ttl, override = p.MinTTL, true
	case slices.Contains(errorStatuses, status) && !p.cachesError(status, ok):
		return decision{why: "error not cached: maxTTL 0, or a 400, 403, 405, 412 or 415 without freshness"}
	case ok:
		// The origin's value is capped at maxTTL, even a maxTTL of 0
		// (CloudFront's CachingDisabled: always revalidate).
		ttl = min(explicit, max(p.MaxTTL, 0))
		if slices.Contains(errorStatuses, status) {
			ttl = p.errorLifetime(status, explicit)
		}
	case !understood:
		return decision{why: "unknown status without explicit freshness"}
	case slices.Contains(errorStatuses, status):
		// CloudFront keeps errors for the error caching minimum TTL,
		// whatever the behavior's TTLs.
		ttl := p.errorTTL(status)
		if ttl <= 0 {
			return decision{why: "error status without freshness"}
		}
		return decision{store: true, ttl: ttl, maxStale: max(p.MaxTTL, 0)}
	case slices.Contains(defaultStatuses, status):
		// maxTTL applies to the origin's values only: a behavior's
		// defaultTTL is never above it.
		ttl = p.DefaultTTL
	default:
		return decision{why: "status needs explicit freshness"}
	}
	if ttl < p.MinTTL && !slices.Contains(errorStatuses, status) {
		// An error's lifetime is errorCachingMinTTL's and the origin's
		// (errorLifetime), as when it has no freshness of its own.
		ttl = p.MinTTL
	}
	if p.MinTTL <= 0 && cc.noCache {
		ttl = 0
	}
	if ttl <= 0 && !hasValidator(h) && min(max(cc.staleWhileRevalidate, cc.staleIfError), p.MaxTTL) <= 0 {
		return decision{why: "zero lifetime and no validator"}
	}
	return decision{store: true, ttl: max(ttl, 0), maxStale: max(p.MaxTTL, 0), minTTLOverride: override}
}

// explicitLifetime is s-maxage, else max-age, else Expires - Date; an
// invalid Expires means already expired (RFC 9111 5.3).
func explicitLifetime(h http.Header, cc directives, now time.Time) (time.Duration, bool) {
	switch {
	case cc.surrogateMaxAge >= 0:
		return cc.surrogateMaxAge, true
	case cc.surrogate != nil:
		return 0, false // Surrogate-Control without max-age: Expires does not count
	case cc.sMaxAge >= 0:
		return cc.sMaxAge, true
	case cc.maxAge >= 0:
		return cc.maxAge, true
	}
	vs, ok := h["Expires"]
	if !ok {
		return 0, false
	}
	if len(vs) == 0 {
		return 0, true
	}
	exp, err := http.ParseTime(vs[0])
	if err != nil {
		return 0, true
	}
	date := now
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		date = d
	}
	return max(exp.Sub(date), 0), true
}

// errorLifetime is how long an error whose origin gave it the explicit
// lifetime is kept: the greater of that, capped at maxTTL, and the error
// caching minimum TTL (HTTPStatusCodes.html,
// custom-error-pages-expiration.html).
func (p Policy) errorLifetime(status int, explicit time.Duration) time.Duration {
	return max(min(explicit, max(p.MaxTTL, 0)), p.errorTTL(status))
}

// cachesError says an error the origin gave cc is cached at all: never a
// 416 ("CloudFront doesn't cache status code 416 responses", even with an
// errorCachingMinTTL, custom-error-pages-expiration.html), nor under a
// maxTTL of 0 (CloudFront's CachingDisabled "won't cache these status
// codes or custom error pages", HTTPStatusCodes.html), nor one of
// headerErrors without explicit freshness (explicit): HTTPStatusCodes
// names max-age and s-maxage, custom-error-pages-expiration counts Expires
// beside them for errors, and so does RFC 9111 (the HTTP caching tests'
// status-400-fresh).
func (p Policy) cachesError(status int, explicit bool) bool {
	if p.MaxTTL <= 0 || status == http.StatusRequestedRangeNotSatisfiable {
		return false
	}
	return explicit || !slices.Contains(headerErrors, status)
}

// ErrorLifetime is how long an origin's error response (status, header
// h, arrived at now) is kept, 0 when it is not: what the cache decides for
// it. The edge keeps a custom error page standing in for the error as long.
func (p Policy) ErrorLifetime(status int, h http.Header, now time.Time) time.Duration {
	if d := decide(status, h, parseCacheControl(h), p, nil, now); d.store {
		return d.ttl
	}
	return 0
}

// RefusalLifetime is errorLifetime when h has a max-age, s-maxage or
// Expires, else the error caching minimum TTL: how long the edge keeps the
// custom error page of a request it refuses itself (status), h being the
// page's header, whatever status it is; none under a maxTTL of 0.
func (p Policy) RefusalLifetime(status int, h http.Header, now time.Time) time.Duration {
	if p.MaxTTL <= 0 {
		return 0
	}
	if explicit, ok := explicitLifetime(h, parseCacheControl(h), now); ok {
		return p.errorLifetime(status, explicit)
	}
	return p.errorTTL(status)
}

// initialAge is RFC 9111 4.2.3's corrected_initial_age. An Age that is not
// a single non-negative integer (a list, two lines, a sign, a fraction,
// parameters) says the response has been cached somewhere for an unknown
// time: it is taken as stale, which at worst costs a revalidation.
func initialAge(h http.Header, requestTime, responseTime time.Time) time.Duration {
	apparent := time.Duration(0)
	if d, err := http.ParseTime(h.Get("Date")); err == nil {
		apparent = max(responseTime.Sub(d), 0)
	}
	corrected := max(responseTime.Sub(requestTime), 0)
	if vs, ok := h["Age"]; ok {
		age, valid := parseAge(vs)
		if !valid {
			return maxDelta
		}
		corrected += age
	}
	return min(max(apparent, corrected), maxDelta)
}

// parseAge reads an Age field: one line of digits.
func parseAge(vs []string) (time.Duration, bool) {
	if len(vs) != 1 {
		return 0, false
	}
	v := strings.TrimSpace(vs[0])
	if v == "" || strings.Trim(v, "0123456789") != "" {
		return 0, false
	}
	return parseDelta(v), true
}

func hasValidator(h http.Header) bool {
	return h.Get("ETag") != "" || h.Get("Last-Modified") != ""
}

func varyStar(h http.Header) bool {
	for _, v := range h["Vary"] {
		for f := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(f) == "*" {
				return true
			}
		}
	}
	return false
}

// forbidsStale says a stale copy may never be served without validation,
// not even within a window. s-maxage is not among these: CloudFront serves
// an expired object when its origin is unreachable or fails "if the
// minimum or maximum TTL value is greater than 0", the way not to being
// stale-if-error=0 (Expiration.html), and s-maxage is the doc's way to give
// CloudFront its own cache duration ("s-maxage=60,
// stale-while-revalidate=600" is how frameworks such as Next.js ask a CDN
// for it), not to forgo that (RFC 9111's implied proxy-revalidate).
func (d directives) forbidsStale() bool {
	return d.mustRevalidate || d.proxyRevalidate || d.noCache
}
