package edge

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/access"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/origin"
)

// defaultErrorTTL is how long CloudFront keeps an error response that has
// no custom error response: errorCachingMinTTL's default.
const defaultErrorTTL = 10 * time.Second

// cacheKey is what a cached response depends on: the behavior's scope
// (its settings and origins, so a config change never serves old entries),
// the path, and the query, headers and cookies the behavior keys on. Under
// an origin request policy that forwards all, forwardedValues' headers and
// cookies are forwarded but not keyed (the origin's Vary selects the
// stored variant); a cache policy's are keyed, as CloudFront keys them.
// host is the viewer's Host, which Go's servers keep in Request.Host, not
// in the header.
func cacheKey(d *table.Distribution, b *table.Behavior, path, rawQuery, host string, header http.Header) string {
	// "identity" (none of the policy's codings) is left out, as CloudFront
	// leaves it out.
	ae, ok := b.AcceptEncoding(header["Accept-Encoding"])
	if !ok || ae == "identity" {
		ae = ""
	}
	room := 0
	if ae != "" {
		room = len(encodingField) + len(ae)
	}
	var k strings.Builder
	writeResourceKey(&k, d, b, path, rawQuery, host, header, room)
	if ae != "" {
		k.WriteString(encodingField)
		k.WriteString(ae)
	}
	return k.String()
}

// encodingField precedes the normalized Accept-Encoding in a key.
const encodingField = "\x00Accept-Encoding="

// encodingKeys are the keys of the resource cacheKey names, one for each
// Accept-Encoding the behavior keys on: what an unsafe method's success
// invalidates, whoever sent it (RFC 9111 4.4).
func encodingKeys(d *table.Distribution, b *table.Behavior, path, rawQuery, host string, header http.Header) []string {
	var k strings.Builder
	writeResourceKey(&k, d, b, path, rawQuery, host, header, 0)
	base := k.String()
	keys := []string{base}
	for _, ae := range b.AcceptEncodings() {
		keys = append(keys, base+encodingField+ae)
	}
	return keys
}

// writeResourceKey writes cacheKey's fields but the Accept-Encoding,
// making room for that many more bytes.
func writeResourceKey(k *strings.Builder, d *table.Distribution, b *table.Behavior, path, rawQuery, host string, header http.Header, room int) {
	fv := b.Spec.ForwardedValues
	// One allocation when no header or cookie is keyed.
	cache.WriteKey(k, d.ID, b.CacheScope, path, table.KeyedQuery(fv, rawQuery), room)
	// A cache policy's headers and cookies are keyed whatever the origin
	// request policy forwards beside them (and only a cache policy keys
	// the Accept-Encoding).
	if !b.KeysViewerValues() {
		return
	}
	for _, n := range b.KeyedHeaders {
		k.WriteByte(0)
		k.WriteString(n)
		if n == "Host" {
			k.WriteByte('=')
			k.WriteString(host)
			continue
		}
		// The origin gets the lines as sent, and may tell an empty field
		// from none, or two lines from one joined by a comma: so does the
		// key. An absent field has no "="; lines are joined by a newline,
		// which no field value holds.
		if vs, ok := header[n]; ok {
			k.WriteByte('=')
			k.WriteString(strings.Join(vs, "\n"))
		}
	}
	if c := forwardedCookies(fv.Cookies, header); c != "" {
		k.WriteString("\x00Cookie=")
		k.WriteString(c)
	}
}

// CachePolicy is the behavior's caching rules for this request.
func CachePolicy(d *table.Distribution, tb *table.Behavior, method string, wait time.Duration) cache.Policy {
	b := tb.Spec
	errorTTL := defaultErrorTTL
	if tb.Origin != nil && tb.Origin.Kind == table.OriginLive {
		// The floor protects remote origins; the node's own live origin
		// says how long a stream that is about to start stays missing.
		errorTTL = 0
	}
	return cache.Policy{
		MinTTL:     time.Duration(b.MinTTL) * time.Second,
		DefaultTTL: time.Duration(b.DefaultTTL) * time.Second,
		MaxTTL:     time.Duration(b.MaxTTL) * time.Second,
		ErrorTTL:   errorTTL,
		ErrorTTLs:  d.ErrorCachingMinTTLs,
		// Forwarding every header leaves nothing to share, as in CloudFront.
		Cacheable:     slices.Contains(b.CachedMethods, method) && !slices.Contains(b.ForwardedValues.Headers, "*"),
		Compress:      b.Compress,
		NoGzip:        tb.NoGzip,
		NoBrotli:      tb.NoBrotli,
		KeyedEncoding: tb.KeyedEncoding,
		Wait:          wait,
		// "CloudFront doesn't support request collapsing if you enable
		// cookie forwarding in the cache policy, the origin request
		// policy, or the legacy cache settings" (request collapsing,
		// RequestAndResponseBehaviorCustomOrigin): a viewer's session
		// never gets another's answer for having come during its fetch.
		NoCoalesce: readsCookies(tb),
		// A Vary naming a field the origin never gets selects nothing.
		OriginFields: originFields{tb},
	}
}

// coalesceWait is how long a request waits for another's origin fetch:
// the origin's response timeout (originReadTimeout, 30 s for S3 without
// one) for each of the connectionAttempts a GET may take, or its
// responseCompletionTimeout when sooner, so that waiters do not go to a
// slow origin themselves while the first request is still trying.
func coalesceWait(b *table.Behavior) time.Duration {
	wait := 30 * time.Second
	if o := b.Origin; o != nil {
		if c := o.Spec.CustomOriginConfig; c != nil {
			wait = time.Duration(c.OriginReadTimeout) * time.Second
		} else if s := o.Spec.S3OriginConfig; s != nil && s.OriginReadTimeout > 0 {
			wait = time.Duration(s.OriginReadTimeout) * time.Second
		}
		wait *= time.Duration(max(o.Spec.ConnectionAttempts, 1))
		if o.Spec.ResponseCompletionTimeout > 0 {
			wait = min(wait, time.Duration(o.Spec.ResponseCompletionTimeout)*time.Second)
		}
	}
	return wait
}

// serveCached answers through the cache; the cache asks the origin on a
// miss, a revalidation or a pass.
func (h *Handler) serveCached(w http.ResponseWriter, r *http.Request, d *table.Distribution, b *table.Behavior, key string, args originArgs) {
	wait := coalesceWait(b)
	p := CachePolicy(d, b, r.Method, wait)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		// An unsafe method invalidates its resource and what its answer
		// names, under every keyed Accept-Encoding; only then (no
		// closure on the hit path).
		p.Variants = encodingKeys(d, b, args.path, args.rawQuery, r.Host, args.header)
		p.Related = func(ref string) []string { return relatedKeys(d, b, r, args.path, ref) }
		p.StoresPOST = r.Method == http.MethodPost && CachePolicy(d, b, http.MethodGet, wait).Cacheable
	}
	res := h.cache.Serve(w, r, key, p, func(ctx context.Context, fr cache.FetchRequest) (*http.Response, error) {
		req := h.originRequest(r, b, args)
		o := *req
		o.Method = fr.Method
		o.Header = req.Header.Clone()
		for _, name := range origin.ConditionalHeaders {
			o.Header.Del(name)
		}
		if _, ok := fr.Header["Accept-Encoding"]; ok {
			o.Header.Del("Accept-Encoding")
		}
		for name, vs := range fr.Header {
			o.Header[name] = vs
		}
		// The cache passes on a Surrogate-Capability it was sent, for a
		// surrogate in front of it; here the viewer is anyone, whose
		// tokens ("ESI/1.0") must not choose, outside the key, what the
		// origin answers everyone: they go only where the behavior
		// forwards the header.
		if _, fwd := req.Header["Surrogate-Capability"]; !fwd && fr.Header["Surrogate-Capability"] != nil {
			o.Header["Surrogate-Capability"] = []string{cache.SurrogateCapability}
		}
		if o.Method == http.MethodGet || o.Method == http.MethodHead {
			o.Body, o.ContentLength = nil, 0
		}
		var resp *http.Response
		var err error
		if args.shielded != nil {
			resp, err = h.fetchFrom(ctx, d, nil, args.shielded, &o)
		} else {
			resp, err = h.fetch(ctx, d, b, &o)
		}
		if err != nil {
			return nil, err
		}
		// The node's own headers are set per request, never stored.
		dropNodeHeaders(resp.Header)
		dropSetCookie(b, resp.Header)
		// An expired object the cache answers a 5xx with goes out in
		// place of the page, as CloudFront serves "the object even
		// though it has expired" (HTTPStatusCodes.html, with custom
		// error pages too): the page, as a 200 or a 404, would
		// replace it.
		if resp.StatusCode >= 400 && args.shielded == nil && !(resp.StatusCode >= 500 && fr.StaleAnswers5xx) {
			if page := h.fetchErrorPage(ctx, r, d, resp.StatusCode, args.id); page != nil {
				resp.Body.Close()
				// The policy made again, not captured: this closure is
				// allocated on every hit, and p would more than double it.
				holdErrorPage(page, CachePolicy(d, b, r.Method, wait).ErrorLifetime(resp.StatusCode, resp.Header, time.Now()))
				return page, nil
			}
		}
		return resp, nil
	})
	if res.UpstreamHit && res.Err == nil {
		setDetail(w, accesslog.OriginShieldHit) // its shield had it (viaShield)
	}
	if (res.Status == 0 || res.Err != nil) && h.answerStalled(w, r, args.body, res.Status != 0) {
		return
	}
	if res.Err != nil && res.Status != 0 {
		// The body broke off: the final result is Error (a viewer
		// that left is ClientCommError in the log whatever this says),
		// and the viewer's stream is reset rather than ended.
		detail := accesslog.Error
		if res.XCache != cache.XCacheHit {
			detail = originDetail(res.Err)
		}
		setDetail(w, detail)
		abortStream(w, r)
	}
	switch {
	case res.Status != 0:
	case args.shielded != nil: // a fleet node's request, which this node shields
		h.fleetFailed(w, r, res.Err)
	default:
		h.originFailed(w, r, d, res.Err)
	}
}

// holdErrorPage has the cache keep a custom error page, stored under the
// failing URL, for ttl (errorCachingMinTTL, or longer when the original
// error said so) whatever the page's own Cache-Control says, which is the
// viewers'. Surrogate-Control addressed
// to the cache does that and is never passed on, stored or not.
func holdErrorPage(page *http.Response, ttl time.Duration) {
	if ttl <= 0 {
		// An error CloudFront does not cache: nor its page.
		page.Header["Surrogate-Control"] = []string{"no-store;" + cache.SurrogateToken}
		return
	}
	page.Header["Surrogate-Control"] = []string{"max-age=" + strconv.Itoa(int(ttl/time.Second)) + ";" + cache.SurrogateToken}
}

// errNoPage: a custom error page could not be fetched; nothing is kept
// and the answer it was to replace goes out.
var errNoPage = errors.New("edge: the custom error page could not be fetched")

// refusalPage answers a request the edge refuses itself (geo restriction,
// web ACL, signature) with status with the distribution's custom error
// page, as errorPage, and reports whether it did. The page is kept in the
// cache as CloudFront keeps pages in its edge caches, for
// errorCachingMinTTL or the page's own max-age, s-maxage or Expires when
// longer (up to its behavior's maxTTL): a flood of refused requests, what
// a web ACL's rate rule is for, costs the page's origin one fetch, not one
// each, and coalesces while it runs.
func (h *Handler) refusalPage(w http.ResponseWriter, r *http.Request, d *table.Distribution, status int) bool {
	cer := d.ErrorPage(status)
	if h.cache == nil || cer == nil || grpcCall(r) {
		return h.errorPage(w, r, d, status)
	}
	pb := d.Behavior(cer.ResponsePagePath)
	id := w.Header().Get("X-Openfront-Id")
	p := CachePolicy(d, pb, http.MethodGet, coalesceWait(pb))
	// The page is fetched with none of the viewer's fields, so anyone may
	// share it, and waits on one fetch (no viewer's cookies go with it);
	// it goes whole and as its origin sent it, as errorPage's.
	p.Cacheable, p.Compress, p.NoCoalesce = true, false, false
	pr := r.WithContext(r.Context())
	pr.Method, pr.Header, pr.Body, pr.ContentLength = http.MethodGet, http.Header{}, http.NoBody, 0
	if r.Method == http.MethodHead {
		pr.Method = http.MethodHead
	}
	key := errorPageKey(d, pb, cer.ResponsePagePath, status, originHost(r, pb))
	res := h.cache.Serve(refusalWriter{w}, pr, key, p, func(ctx context.Context, _ cache.FetchRequest) (*http.Response, error) {
		page := h.fetchErrorPage(ctx, r, d, status, id)
		if page == nil {
			return nil, errNoPage
		}
		holdErrorPage(page, p.RefusalLifetime(status, page.Header, time.Now()))
		return page, nil
	})
	if res.Status == 0 {
		return false
	}
	if res.Err != nil {
		// The page broke off after its status went out.
		abortStream(w, r)
	}
	return true
}

// refusalWriter sends the cache's answer as the edge's own refusal, an
// Error in X-Cache and the access log whether the page came from the
// cache or not and whatever its responseCode, as errorPage sends it.
type refusalWriter struct{ http.ResponseWriter }

func (w refusalWriter) WriteHeader(status int) {
	w.Header()["X-Cache"] = []string{cacheError}
	w.ResponseWriter.WriteHeader(status)
}

// Unwrap lets the access log and http.ResponseController reach w's own.
func (w refusalWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// errorPageKey is where refusalPage keeps d's page for status, and, for
// status 0, where pageObject keeps the page object itself: under the
// page's own path, so that invalidating it drops the page, and with a
// field after two NULs, which no viewer's key has (a path is escaped, a
// keyed field, a method or a variant is never empty), so no viewer
// request can read or poison it. host is the Host the page is fetched
// with, the viewer's when the page's behavior forwards it.
func errorPageKey(d *table.Distribution, pb *table.Behavior, path string, status int, host string) string {
	var k strings.Builder
	cache.WriteKey(&k, d.ID, pb.CacheScope, path, "", 0)
	k.WriteString("\x00\x00ErrorPage=")
	k.WriteString(strconv.Itoa(status))
	k.WriteString("\x00Host=")
	k.WriteString(host)
	return k.String()
}

// pageObject is the custom error page at path, which d's behavior pb
// serves: as CloudFront, the node "finds the first cache behavior in your
// distribution that has a path pattern that matches the path of the
// custom error page" and requests the page from "the origin that is
// specified in the cache behavior" (HTTPStatusCodes.md, steps 2 and 3).
// With a cache it goes through it, under the page's own path
// (errorPageKey), kept for pb's TTLs and the page's own Cache-Control as
// any object: an error that is not kept costs its origin one request once
// the page is, and invalidating the page's path fetches it anew. The
// answer is the page object as the cache or its origin sent it, its
// status its origin's; errorCachingMinTTL is how long the answer for the
// failing URL is kept (holdErrorPage), not the page object.
//
// It is fetched with none of the viewer's header fields, so anyone may
// share it, whole; the first viewer's address, scheme and request id go
// with its fetch (X-Forwarded-For, CloudFront-Forwarded-Proto), and with
// a refresh the cache makes later. It is never replaced by another page:
// a page that is an error itself goes out as it is (no loop).
func (h *Handler) pageObject(ctx context.Context, r *http.Request, d *table.Distribution, pb *table.Behavior, path, id string) (*http.Response, error) {
	host := originHost(r, pb)
	base := origin.Request{Method: http.MethodGet, Path: path, Header: h.withNodeHeaders(make(http.Header, 3), r, id),
		ViewerHTTPS: access.ViewerHTTPS(r, h.trusted), PeerIP: access.PeerIP(r.RemoteAddr).String(), ViewerHost: host}
	if h.cache == nil {
		return h.fetch(ctx, d, pb, &base)
	}
	p := CachePolicy(d, pb, http.MethodGet, coalesceWait(pb))
	p.Compress, p.NoCoalesce = false, false // no viewer's cookies go with it
	pr, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, fmt.Errorf("custom error page %q: %w", path, err)
	}
	pr.Host = r.Host
	key := errorPageKey(d, pb, path, 0, host)
	// The cache may call it after the answer, to refresh the page: it
	// holds nothing of the viewer's request.
	fetch := func(ctx context.Context, fr cache.FetchRequest) (*http.Response, error) {
		req := base
		req.Method = fr.Method
		req.Header = base.Header.Clone()
		for name, vs := range fr.Header { // a revalidation's conditionals
			req.Header[name] = vs
		}
		resp, err := h.fetch(ctx, d, pb, &req)
		if err != nil {
			return nil, err
		}
		dropNodeHeaders(resp.Header)
		dropSetCookie(pb, resp.Header)
		return resp, nil
	}
	return origin.PipeResponse(func(w http.ResponseWriter) error {
		res := h.cache.Serve(w, pr, key, p, fetch)
		if res.Status == 0 && res.Err == nil {
			return errNoPage
		}
		return res.Err
	})
}

// relatedKeys are the cache keys of the resource a Location or
// Content-Location in the origin's answer names (encodingKeys), so that a
// successful unsafe method invalidates it too; nil for none. The
// reference is in the origin's URL space (originPath included); only one
// on the viewer's own host counts (RFC 9111 4.4), so an origin cannot
// flush another site's entries.
func relatedKeys(d *table.Distribution, b *table.Behavior, r *http.Request, reqPath, ref string) []string {
	u, err := url.Parse(ref)
	if err != nil || u.Opaque != "" || u.User != nil {
		return nil
	}
	if u.Host != "" && !strings.EqualFold(u.Host, r.Host) {
		return nil
	}
	if u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" {
		return nil
	}
	prefix := ""
	if b.Origin != nil {
		prefix = b.Origin.Spec.OriginPath
	}
	base, err := url.Parse(prefix + reqPath)
	if err != nil {
		return nil
	}
	target := base.ResolveReference(u)
	path, ok := strings.CutPrefix(target.EscapedPath(), prefix)
	if !ok || !strings.HasPrefix(path, "/") {
		return nil
	}
	return encodingKeys(d, d.Behavior(path), path, target.RawQuery, r.Host, r.Header)
}
