package edge

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/origin"
	"openfront.dev/daemon/shield"
	"openfront.dev/internal/hopbyhop"
)

// Origin Shield in a fleet. CloudFront "routes all requests through
// Origin Shield" for an origin that enables it (API_OriginShield,
// Enabled); "all requests from all of CloudFront's caching layers to your
// origin go through Origin Shield", and those for content not in its cache
// "are consolidated with other requests for the same object, resulting in
// as few as one request going to your origin" (origin-shield.html). So a
// node sends every origin request of such an origin (misses,
// revalidations and uncached methods alike) to the shield node of its
// region, but WebSockets and gRPC calls, which hold a connection open and
// cache nothing. The shield serves them from its own cache, asking the
// origin on a miss, with its coalescing: N nodes' misses are one origin
// request.
//
// A shield that cannot be reached (no connection: refused, no route, DNS)
// is not waited for: the node asks the region's next shield node, as
// CloudFront routes a request "to a secondary Origin Shield location if
// the primary Origin Shield location is unavailable" (origin-shield.html,
// Origin Shield high availability), and once none is left the origin
// itself, as it would with no shield: the site stays up at the cost of
// the origin's load. A request with a body goes on only if it never left
// (no connection made, none of its body read): one the shield took is
// never sent twice, its shield's failure is its answer.

// SetShield makes the node part of a fleet with Origin Shield (serve
// --region, --origin-shield, --origin-shield-secret); call it before
// serving.
func (h *Handler) SetShield(c *shield.Config) {
	h.shield = c
	h.shieldRetry = shieldRetryAfter
	if c != nil && len(c.Secret) > 0 {
		h.fleetAuth = shield.NewVerifier(c.Secret, 0)
		// What the node can count shows at 0 from the start, so that
		// increase() sees the first fallback.
		for region := range c.URLs {
			if len(c.Shields(region)) > 0 {
				h.metrics.shieldRequests.WithLabelValues(region, "forwarded")
				h.metrics.shieldRequests.WithLabelValues(region, "fallback")
			}
		}
		if c.Region != "" {
			h.metrics.shieldRequests.WithLabelValues(c.Region, "served")
			h.metrics.shieldRequests.WithLabelValues(c.Region, "replayed")
		}
	}
}

// viaShield sends req for origin o through o's shield node, when the node
// has one for o's region and is not that shield itself: the first of the
// region's shield nodes it can reach. done is false when the request must
// go to the origin (no shield, or none could be reached).
func (h *Handler) viaShield(ctx context.Context, d *table.Distribution, b *table.Behavior, o *table.Origin, req *origin.Request) (resp *http.Response, err error, done bool) {
	if b == nil || req.Upgrade != "" || req.GRPC || o.FromFunction {
		return nil, nil, false
	}
	region := o.Spec.ShieldRegion()
	bases := h.shield.Shields(region)
	if len(bases) == 0 {
		return nil, nil, false
	}
	claim := shield.Claim{Distribution: d.ID, Origin: o.ID, Behavior: int(b.Position), ViewerHTTPS: req.ViewerHTTPS}
	secret := h.shield.Secret
	sign := func(method, host, target string) string {
		return shield.Sign(secret, claim, method, host, target, time.Now())
	}
	now := time.Now()
	bases = slices.DeleteFunc(slices.Clone(bases), func(u *url.URL) bool { return h.shieldDown(u, now) })
	for i, base := range bases {
		if !h.gate.enter() {
			return nil, errCapacity, true
		}
		start := time.Now()
		resp, err = h.origins.Shield(o, base, shield.Header, sign).Fetch(ctx, req)
		// Unreachable (refused, DNS, a dial or handshake that timed out or
		// failed) and the request never left: the next shield node.
		if err != nil && ctx.Err() == nil && unsent(err) {
			h.gate.leave()
			h.shieldsDown.Store(base.String(), time.Now().Add(h.shieldRetry))
			next := "the origin directly"
			if i+1 < len(bases) {
				next = bases[i+1].String()
			}
			h.log.Warn("origin shield unreachable: asking "+next, "region", region, "shield", base.String(), "next", next, "distribution", d.ID, "origin", o.ID, "err", err)
			continue
		}
		h.metrics.shieldRequests.WithLabelValues(region, "forwarded").Inc()
		resp, err = shieldFailed(o, secret, resp, err)
		h.observeOrigin(d, o, time.Since(start), resp, err)
		resp, err = h.admitted(resp, err)
		if err == nil && resp.Header.Get("X-Cache") == cacheHit {
			// The shield's own word, from a node --origin-shield names:
			// its cache had the object. Marked by type, so that no
			// origin's X-Cache passes for it (dropNodeHeaders drops that).
			resp.Body = cache.UpstreamHit{ReadCloser: resp.Body}
		}
		return resp, err, true
	}
	// No shield node of the region could be reached, now or (passed
	// over) within shieldRetryAfter: the origin.
	h.metrics.shieldRequests.WithLabelValues(region, "fallback").Inc()
	return nil, nil, false
}

// shieldRetryAfter is how long a shield node found unreachable is passed
// over: CloudFront's requests to Origin Shield "use active error tracking
// for each request to automatically route the request to a secondary
// Origin Shield location" (origin-shield.html), so that one whose
// connections time out does not hold every request for its
// connectionTimeout. Then it is asked again.
const shieldRetryAfter = 10 * time.Second

// shieldDown reports whether the shield node at base was found
// unreachable less than shieldRetryAfter before now.
func (h *Handler) shieldDown(base *url.URL, now time.Time) bool {
	until, ok := h.shieldsDown.Load(base.String())
	if ok && !now.Before(until.(time.Time)) {
		h.shieldsDown.CompareAndDelete(base.String(), until)
		return false
	}
	return ok
}

// unsent reports an origin request that failed before it left: its body,
// unread, can go elsewhere.
func unsent(err error) bool {
	var oe *origin.Error
	return errors.As(err, &oe) && oe.Unsent
}

// shieldFailure is the failure a shield's answer marked with
// shield.ErrorHeader stands for: the shield got no answer from the origin.
type shieldFailure struct {
	kind   string // originErrorKind's
	detail string // originDetail's
}

func (f *shieldFailure) Error() string {
	return "the origin shield got no answer from the origin (" + f.kind + ", " + f.detail + ")"
}

// shieldFailed turns the shield's answer resp into the failure it stands
// for when the shield marked it as its own (fleetFailed), so that a group
// fails over, and the log and metrics say, as if this node had asked the
// origin. A mark that does not verify for this request is dropped.
func shieldFailed(o *table.Origin, secret []byte, resp *http.Response, err error) (*http.Response, error) {
	if err != nil {
		return resp, err
	}
	v := resp.Header.Get(shield.ErrorHeader)
	if v == "" {
		return resp, nil
	}
	delete(resp.Header, shield.ErrorHeader)
	sent := resp.Request
	kind, detail, ok := shield.VerifyError(secret, v, sent.Method, sent.Host, sent.URL.RequestURI())
	if !ok {
		return resp, nil
	}
	resp.Body.Close()
	return nil, &origin.Error{Origin: o.ID, Timeout: kind == kindTimeout, Err: &shieldFailure{kind: kind, detail: detail}}
}

// fleetFailed answers a fleet node's request whose origin request failed
// with err: the status the node would answer itself, marked with
// shield.ErrorHeader as the failure it stands for, which the node takes
// for it (shieldFailed). No custom error page: the asking node picks
// its own, if it does not fail over. A shed request is no origin's
// failure: its 503 goes unmarked.
func (h *Handler) fleetFailed(w http.ResponseWriter, r *http.Request, err error) {
	if h.shed(w, r, err) {
		return
	}
	setDetail(w, originDetail(err)) // the shield's own log line, as originFailed's
	status, reason := originFailure(err)
	if kind := originErrorKind(err); kind != "" {
		w.Header().Set(shield.ErrorHeader, shield.MarkError(h.shield.Secret, kind, originDetail(err), r.Method, r.Host, r.RequestURI))
	}
	h.log.Warn("origin request of a fleet node failed", "host", r.Host, "path", r.URL.Path, "err", err)
	h.refuse(w, r, status, reason)
}

// shieldHit unwraps resp's body when the shield answered it from its own
// cache (viaShield), and says so in w's log line: an answer relayed
// without the cache, which unwraps the others (cache.Result.UpstreamHit).
func shieldHit(w http.ResponseWriter, resp *http.Response) {
	if cache.UnwrapUpstreamHit(resp) {
		setDetail(w, accesslog.OriginShieldHit)
	}
}

// shieldKey separates in a shield's cache the fleet's answers from its
// own viewers' where they may differ: for an origin group, a failing
// primary's error is not its secondary's answer, and with custom error
// responses a viewer's entry may be the error page. Elsewhere the shield's
// own viewers share the fleet's entries. After a NUL, so invalidations by
// path still match (cache.InvalidatePaths).
const shieldKey = "\x00Shield-Origin="

// fleetRequest answers a request with a shield authenticator, and reports
// whether it did: when it verifies, the request is a fleet node's origin
// request (its viewer checks, functions and policies done there), served
// from this node's cache for that distribution, behavior and origin and
// not logged as a viewer's. One that does not verify is a viewer's, with
// no privilege: the header is dropped and the request served as any other.
// So is one verified before: a copy of a fleet node's request replayed.
func (h *Handler) fleetRequest(w http.ResponseWriter, r *http.Request, t *table.Table) bool {
	v := r.Header.Get(shield.Header)
	delete(r.Header, shield.Header)
	c, err := h.fleetAuth.Verify(v, r.Method, r.Host, r.RequestURI, time.Now())
	if err != nil {
		if errors.Is(err, shield.ErrReplayed) {
			h.metrics.shieldRequests.WithLabelValues(shieldRegion(t, c), "replayed").Inc()
		}
		h.log.Debug("origin shield request refused: served as a viewer's", "err", err, "remote", r.RemoteAddr)
		return false
	}
	d := t.Distribution(c.Distribution)
	var o *table.Origin
	var b *table.Behavior
	if d != nil && c.Behavior >= 0 && c.Behavior < len(d.Behaviors) {
		o, b = d.Origins[c.Origin], d.Behaviors[c.Behavior]
	}
	if o == nil {
		h.refuse(w, r, http.StatusBadGateway, "This shield node has no distribution "+strconv.Quote(c.Distribution)+" with origin "+strconv.Quote(c.Origin)+" and behavior "+strconv.Itoa(c.Behavior)+": its config is not the asking node's.")
		return true
	}
	h.metrics.shieldRequests.WithLabelValues(o.Spec.ShieldRegion(), "served").Inc()
	id := w.Header().Get("X-Openfront-Id")
	if asked := r.Header.Get("X-Openfront-Id"); asked != "" {
		id = asked // the asking node's: the origin's log ties to its access log
	}
	path, rawQuery := requestPath(r), r.URL.RawQuery
	args := originArgs{id: id, path: path, rawQuery: rawQuery, header: r.Header, viewerHTTPS: c.ViewerHTTPS, body: h.forwardedBody(r), shielded: o}
	if h.cache == nil {
		resp, err := h.fetchFrom(r.Context(), d, nil, o, h.originRequest(r, b, args))
		if err != nil {
			h.fleetFailed(w, r, err)
			return true
		}
		h.writeOriginHeader(w, resp, id)
		defer resp.Body.Close()
		if r.Method != http.MethodHead {
			copyBody(w, r, resp.Body)
		}
		return true
	}
	key := cacheKey(d, b, path, rawQuery, r.Host, r.Header)
	if b.Origin == nil || len(d.Spec.CustomErrorResponses) > 0 {
		key += shieldKey + o.ID
	}
	h.serveCached(w, r, d, b, key, args)
	return true
}

// shieldRegion is the shield region of claim c's origin in t, "" when t
// has no such origin.
func shieldRegion(t *table.Table, c shield.Claim) string {
	if d := t.Distribution(c.Distribution); d != nil {
		if o := d.Origins[c.Origin]; o != nil {
			return o.Spec.ShieldRegion()
		}
	}
	return ""
}

// fleetHeader is the origin request's header of a fleet node's request
// with header h: h without what the connection to this node added (hop-by-hop
// fields) and what this node says itself (withNodeHeaders), and the
// X-Forwarded-For the asking node made, which this node's origin request
// carries on (the viewer's address, not the asking node's).
func fleetHeader(h http.Header) (http.Header, string) {
	out := make(http.Header, len(h)+2)
	for k, vs := range withoutConnectionNamed(h, false) {
		if !hopbyhop.Is(k) {
			out[k] = vs
		}
	}
	for _, k := range []string{"Via", "X-Openfront-Id", "X-Forwarded-For"} {
		delete(out, k)
	}
	return out, strings.Join(h.Values("X-Forwarded-For"), ", ")
}
