// Package cache is the edge's shared HTTP cache (RFC 9111) with
// CloudFront's TTL rules: a bounded memory tier (otter, byte-weighted), an
// optional bounded disk tier, request coalescing, validation,
// stale-while-revalidate / stale-if-error, Vary, ranges, compression and
// invalidation.
//
// # Use
//
// The edge calls Serve once per request, with the cache key it built
// (distribution + path + forwarded query, headers and cookies), the
// behavior's Policy and a FetchFunc that asks the behavior's origin:
//
//	res := c.Serve(w, r, key, policy, func(ctx context.Context, fr cache.FetchRequest) (*http.Response, error) {
//		req := originRequest(r)          // forwarded values of the viewer's request
//		req.Method = fr.Method           // GET for a HEAD miss, so the object is cached
//		for _, h := range origin.ConditionalHeaders {
//			delete(req.Header, h)    // the cache decides these...
//		}
//		maps.Copy(req.Header, fr.Header) // ...and Accept-Encoding when it compresses
//		return fetcher.Fetch(ctx, req)
//	})
//	switch {
//	case res.Status == 0: // nothing written: answer 502/504 from res.Err
//	case res.Err != nil: // the body broke off: log, then reset the stream
//	}
//
// The edge sets Via and X-Openfront-Id itself; the cache sets X-Cache and
// Age. Custom error pages fit in the FetchFunc: return the page as the
// response, with its status and a max-age of errorCachingMinTTL (or set
// Policy.ErrorTTL). A FetchFunc whose answer came from an upstream
// cache's store (an Origin Shield's hit) wraps its body in UpstreamHit:
// the request that fetched it, a Miss, gets Result.UpstreamHit (the edge
// logs OriginShieldHit). Invalidate / InvalidatePrefix remove entries by
// edge key; Stats and Register expose counters.
//
// # Design
//
//   - Entries are immutable; a refresh stores a new one. A key's entry is
//     an object, a Vary mark (the fields its responses vary on, with a
//     generation that variant keys include) or a pass mark ("hit-for-miss":
//     the last answer was not storable, so requests go straight to the
//     origin without waiting on each other).
//   - A miss makes a flight keyed by the full key, variant included. The
//     leader's response body fills a stream that the leader, the waiters
//     and later arrivals read as it comes; the filler runs on its own
//     goroutine, so a viewer that leaves does not stop the object being
//     stored. Waiters wait at most Policy.Wait; an uncacheable answer sends
//     each of them to the origin at once, never one after the other.
//   - Objects up to MaxObjectBytes are kept whole in memory. Larger ones go
//     to the disk tier when there is one (streamed to viewers through a
//     window of StreamWindow bytes, with backpressure, while the file is
//     written), else they stream through and their ranges are fetched as
//     ranges. A body of unknown length that grows past the limit switches to
//     the window mid-way. The disk tier's files outlive the process: a
//     start indexes them again (disk_persist.go).
//   - Conformance (scripts/cache-tests.sh runs the HTTP caching test
//     suite; docs/cache-tests.md has its counts): any final status is
//     stored with explicit freshness unless must-understand forbids it; an
//     Age that is not one integer makes a response stale; Surrogate-Control
//     for this cache (untargeted or ";openfront", announced in
//     Surrogate-Capability) overrides Cache-Control; a successful unsafe
//     method invalidates its resource under each of its edge keys
//     (Policy.Variants) and what its Location and Content-Location name
//     (Policy.Related), fills of those keys then in flight included
//     (flight.go's tickets), and a POST's answer naming its own URI with
//     explicit freshness serves later GETs (Policy.StoresPOST); an origin's
//     206 is kept as a piece of its object (partial.go); a request without
//     a variant of its own may be answered by the variant in its most
//     preferred language.
//   - The memory tier never holds more than MemoryBytes: inserts are
//     serialized and followed by otter's clean-up, and otter's maximum is
//     the limit less the largest entry. The disk tier is bounded the same
//     way. Bodies being streamed are not counted: they are bounded by the
//     number of fetches in flight times MaxObjectBytes (or the window).
package cache
