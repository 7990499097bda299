// Package edge is the HTTP request path: host → distribution → behavior →
// viewer protocol policy → origin → response. Every request reads one table
// snapshot from start to end.
package edge

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/access"
	"openfront.dev/daemon/accesslog"
	"openfront.dev/daemon/cache"
	"openfront.dev/daemon/origin"
	"openfront.dev/daemon/ratelimit"
	"openfront.dev/daemon/shield"
	"openfront.dev/internal/cfheaders"
	"openfront.dev/internal/codings"
	"openfront.dev/internal/hopbyhop"
	"openfront.dev/internal/signedurl"
	"openfront.dev/schema"
)

// Handler serves viewers from the current table.
type Handler struct {
	table    atomic.Pointer[table.Table]
	origins  *origin.Pool
	verifier *signedurl.Verifier
	cache    *cache.Cache // nil: every request goes to the origin
	metrics  metrics
	trusted  []netip.Prefix // proxies whose X-Forwarded-For is believed
	geo      *access.GeoDB  // nil: no database, unknown countries
	asn      *access.GeoDB  // nil: ASNs from geo's records, if any
	nodeName string
	via      string
	// viaValue and altSvc are header values set on every response: one
	// shared slice each, never appended to in place (cap 1), so setting
	// them allocates nothing.
	viaValue []string
	altSvc   atomic.Pointer[[]string]
	// ports are the node's plain and TLS listener ports (SetListenPorts),
	// for redirects to HTTPS.
	ports     atomic.Pointer[[2]int]
	misdirect MisdirectCheck // nil: any connection serves any host
	log       *slog.Logger
	// bodyTimeout bounds each wait for a forwarded body's bytes (body.go).
	bodyTimeout time.Duration
	gate        *originGate      // origin requests in flight (overload.go)
	shield      *shield.Config   // nil: no fleet shields (shield.go)
	fleetAuth   *shield.Verifier // the fleet's requests to this node; nil: no secret
	// shieldsDown are the shield nodes found unreachable: base URL to
	// the time until which they are passed over, shieldRetry on
	// (shield.go).
	shieldsDown sync.Map
	shieldRetry time.Duration
	// random draws a weight-based continuous deployment policy's side.
	random func() float64
	// rates are web ACLs' rate-based counts, kept across tables.
	rates *ratelimit.Table
	// streams are the WebSockets joined to HTTP/3 viewers (upgrade.go).
	streams joinedStreams

	// Access logs and request metrics (logging.go): the state of each
	// distribution that logs or is counted, swapped with the table.
	logs     *accesslog.Manager
	counting atomic.Bool // Register was called
	states   atomic.Pointer[map[string]*distState]
	setMu    sync.Mutex              // serializes SetTable
	series   map[string]*distMetrics // by distribution id; under setMu
	fnKeys   map[fnKey]bool          // functions with duration series; under setMu
	// wafRules are the web ACL rules each distribution may have series
	// of; under setMu.
	wafRules map[string]map[wafRuleKey]bool
}

// New returns a handler; it answers 503 until a table is set.
func New(origins *origin.Pool, nodeName string, log *slog.Logger) *Handler {
	via := "1.1 " + nodeName + " (openfront)"
	viaValue := []string{via}
	return &Handler{origins: origins, nodeName: nodeName, via: via, viaValue: viaValue, log: log, verifier: signedurl.NewVerifier(4096), metrics: newMetrics(), gate: newOriginGate(), random: rand.Float64, rates: ratelimit.New(maxRateKeys, nil)}
}

// SetCache makes the handler serve through c; call it before serving.
func (h *Handler) SetCache(c *cache.Cache) { h.cache = c }

// SetViewerIdentity sets the proxies trusted for X-Forwarded-For and the
// country database; call it before serving.
func (h *Handler) SetViewerIdentity(trusted []netip.Prefix, geo *access.GeoDB) {
	h.trusted, h.geo = trusted, geo
}

// SetAltSvc sets the Alt-Svc value advertising HTTP/3 to distributions that allow it.
func (h *Handler) SetAltSvc(v string) { h.altSvc.Store(&[]string{v}) }

// SetListenPorts tells the node's plain HTTP and HTTPS listener ports,
// which redirects to HTTPS use (redirectHost).
func (h *Handler) SetListenPorts(http, https int) { h.ports.Store(&[2]int{http, https}) }

// Table returns the current table, nil before the first.
func (h *Handler) Table() *table.Table { return h.table.Load() }

// X-Cache values, as CloudFront words them.
const (
	cacheHit        = "Hit from openfront"
	cacheMiss       = "Miss from openfront"
	cacheRefreshHit = "RefreshHit from openfront"
	cacheError      = "Error from openfront"
	cacheRedirect   = "Redirect from openfront"
)

// withoutConnectionNamed is h without the fields its Connection header
// names, hop-by-hop too (RFC 9110 7.6.1), but, with keepNodeHeaders, the
// node's own (nodeHeader): h itself when it names none but the fixed ones
// (keep-alive, close), else a shallow copy.
func withoutConnectionNamed(h http.Header, keepNodeHeaders bool) http.Header {
	conn := h["Connection"]
	if len(conn) == 0 {
		return h
	}
	out := h
	for k := range h {
		if hopbyhop.Is(k) || keepNodeHeaders && nodeHeader(k) || !httpguts.HeaderValuesContainsToken(conn, k) {
			continue
		}
		if len(out) == len(h) {
			out = maps.Clone(h)
		}
		delete(out, k)
	}
	return out
}

// nodeHeader reports whether the request header k (canonical) is the
// node's to set, never the viewer's: CloudFront-* and passthrough mTLS's
// Client-Cert and Client-Cert-Chain.
func nodeHeader(k string) bool {
	return strings.HasPrefix(k, "Cloudfront-") || table.IsClientCertHeader(k)
}

// replaceNodeHeader puts the node's value of header name in h (none when
// value is nil) in place of the viewer's.
func replaceNodeHeader(h http.Header, name string, value []string) {
	if _, claimed := h[name]; claimed {
		delete(h, name)
	}
	if value != nil {
		h[name] = value
	}
}

// geoDenialReason is the metric label of a geo denial (a viewer whose
// country is unknown is never denied).
func geoDenialReason(r schema.GeoRestriction) string {
	if r.RestrictionType == "blacklist" {
		return "blacklisted"
	}
	return "not_whitelisted"
}

// maxURIBytes is CloudFront's limit on a request's URL (path and query).
const maxURIBytes = 8192

// connectionClose is an HTTP/1.x answer's Connection when the edge ends
// the connection after it.
var connectionClose = []string{"close"}

// userAgent is the origin's User-Agent when the viewer's is not forwarded.
var userAgent = []string{"openfront"}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	// Claimed first: a request refused below still used the connection.
	tlsReused := r.TLS != nil && connectionReused(r)
	if r.Method == http.MethodConnect && isExtendedConnect(r) {
		asWebSocketHandshake(r)
	}
	// An absolute-form target may leave its path out (GET http://host
	// HTTP/1.1, RFC 9112 3.2.2): that path is "/" (RFC 9110 4.2.3), the
	// root the default root object answers, for every step below as for
	// openfront route (signedurl.URLPath).
	if r.URL.Path == "" && r.URL.Scheme != "" {
		if r.Method == http.MethodOptions {
			// "OPTIONS http://host" asks about the server, as "OPTIONS *"
			// does (RFC 9112 3.2.4), which the servers answer 200.
			w.Header()["Content-Length"] = []string{"0"}
			w.WriteHeader(http.StatusOK)
			return
		}
		r.URL.Path = "/"
	}
	id := requestID()
	hdr := w.Header()
	// Canonical names, assigned directly: Set would allocate each value.
	hdr["X-Openfront-Id"] = id
	hdr["Via"] = h.viaValue
	t := h.table.Load()
	if t == nil {
		h.refuse(w, r, http.StatusServiceUnavailable, "This edge node has no configuration yet.")
		return
	}
	if _, ok := r.Header[shield.Header]; ok && h.fleetRequest(w, r, t) {
		return
	}
	// Not logged: CloudFront cannot log a request whose URL is over its
	// limit. It "returns HTTP status code 413, Request Entity Too Large, to
	// the viewer, and then terminates the TCP connection"
	// (RequestAndResponseBehaviorCustomOrigin): HTTP/1.x closes; HTTP/2
	// and HTTP/3 end the stream, the connection's other requests go on.
	if len(r.RequestURI) > maxURIBytes {
		if r.ProtoMajor == 1 {
			hdr["Connection"] = connectionClose
		}
		h.refuse(w, r, http.StatusRequestEntityTooLarge, "The request's URL is longer than "+strconv.Itoa(maxURIBytes)+" bytes.")
		return
	}
	path := requestPath(r)
	d, b := t.Route(r.Host, path)
	if d == nil {
		h.refuse(w, r, http.StatusForbidden, "No distribution is configured for the host "+quoteHost(r.Host)+".")
		return
	}
	host := d // the distribution the Host names, whose connection this is
	var setCookie string
	if dep := t.Deployment(d.ID); dep != nil {
		var staged bool
		if staged, setCookie = h.staging(r, dep, start); staged {
			d = dep.Staging
			b = d.Behavior(path)
		}
	}
	sw := w // what serve writes to: observed for the log, under the policy
	st := h.state(d.ID)
	var o *observed
	if st != nil {
		o = observe(w, r, start)
		sw = o
	}
	if d.HidesBehavior(path, b) {
		// Refused before any behavior's work: the behavior matched is not
		// the one whose content an origin that decodes %2F would serve.
		setDetail(sw, accesslog.InvalidRequest)
		h.refuse(sw, r, http.StatusBadRequest, table.HiddenBehavior)
	} else {
		if isWebSocketStream(r) {
			sw = &streamGuard{ResponseWriter: sw}
		}
		sw, r, p := h.withHeadersPolicy(sw, r, d, b, id[0], start, setCookie)
		h.serve(sw, r, t, host, d, b, path, id[0], start, tlsReused)
		p.release()
	}
	if o == nil {
		return
	}
	abort := o.abort
	st.finish(o, r, id[0])
	if abort {
		resetStream(w, r) // once logged (abortStream)
	}
}

// serve answers a request of distribution d, behavior b, received at
// start, for host, the distribution its Host names: d, or the staging
// distribution host's continuous deployment policy chose.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, t *table.Table, host, d *table.Distribution, b *table.Behavior, path, id string, start time.Time, tlsReused bool) {
	call := b.Spec.GrpcConfig.Enabled && isGRPC(r)
	if call {
		r = asGRPCCall(r)
		grpcCalled(w)
		if p, ok := w.(*headersPolicy); ok {
			p.r = r // a failing viewer-response function's answer is gRPC's too
		}
	}
	if h.misdirected(w, r, t, host) {
		return
	}
	hdr := w.Header()
	// An origin that points back at this node would recurse for ever.
	for _, v := range r.Header["Via"] {
		if strings.Contains(v, h.via) {
			h.refuse(w, r, http.StatusLoopDetected, "The request looped back to this edge node: an origin points at the distribution itself.")
			return
		}
	}
	if !d.Spec.Enabled {
		h.refuse(w, r, http.StatusForbidden, "The distribution for this host is disabled.")
		return
	}
	client := access.ClientIP(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), h.trusted)
	// WAF sits in front of CloudFront: its web ACLs see the request first.
	first, second := table.WAFGuards(host, d)
	var body *table.WAFBody // what the web ACLs inspect of the body, if they do
	if limit := wafBodyLimit(r, first, second); limit > 0 {
		var ok bool
		if body, ok = h.readWAFBody(w, r, limit); !ok {
			return
		}
	}
	var inserts wafInserts
	if first != nil && !h.wafCheck(w, r, first, path, client, body, &inserts) ||
		second != nil && !h.wafCheck(w, r, second, path, client, body, &inserts) {
		return
	}
	inserted := inserts.apply(r)
	// A viewer that sent no SNI would have its QUIC handshake refused.
	if a := h.altSvc.Load(); a != nil && r.ProtoMajor < 3 && d.ServesHTTP3() && (r.TLS == nil || r.TLS.ServerName != "") {
		hdr["Alt-Svc"] = *a
	}
	viewerHTTPS := access.ViewerHTTPS(r, h.trusted)
	if !viewerHTTPS {
		switch b.Spec.ViewerProtocolPolicy {
		case "https-only":
			h.refuse(w, r, http.StatusForbidden, "This content is served over HTTPS only.")
			return
		case "redirect-to-https":
			// GET and HEAD get a 301; another method a 307, which has the
			// viewer send its method and body again, but below HTTP/1.1,
			// which has no 307, a 403 (using-https-viewers-to-cloudfront).
			status := table.RedirectToHTTPSStatus(r.Method, r.ProtoAtLeast(1, 1))
			if status == http.StatusForbidden {
				h.refuse(w, r, status, "This content is served over HTTPS only.")
				return
			}
			var ports [2]int
			if p := h.ports.Load(); p != nil {
				ports = *p
			}
			hdr.Set("Location", "https://"+redirectHost(r.Host, ports[0], ports[1])+r.URL.RequestURI())
			hdr.Set("X-Cache", cacheRedirect)
			w.WriteHeader(status)
			return
		}
	}
	if !slices.Contains(b.Spec.AllowedMethods, r.Method) {
		setDetail(w, accesslog.InvalidRequestMethod)
		h.refuse(w, r, http.StatusForbidden, "The method "+r.Method+" is not allowed for this path.")
		return
	}
	if r.Method == http.MethodGet && hasBody(r) {
		// RequestAndResponseBehaviorCustomOrigin, "GET requests that
		// include a body": CloudFront answers 403, whatever the origin.
		setDetail(w, accesslog.InvalidRequest)
		h.refuse(w, r, http.StatusForbidden, "A GET request may not have a body: send it with POST.")
		return
	}
	if !safeMethod(r.Method) && inEarlyData(r) {
		h.refuse(w, r, http.StatusTooEarly, "The request came in TLS early data, which can be replayed: send it again once the handshake is complete.")
		return
	}
	// The viewer is looked up once, for the restriction and the origin,
	// and not at all when neither asks.
	var loc access.Location
	var known bool
	geoRestricted := access.GeoRestricted(d.Spec)
	if h.geo != nil || h.asn != nil {
		loc, known = h.locate(b, client, geoRestricted || forwardsCloudFrontHeader(b, viewerCountryHeader))
	}
	country := loc.Country
	if geoRestricted {
		if ok, reason := table.GeoAllowed(d.Spec.Restrictions.GeoRestriction, country, known); !ok {
			h.metrics.geoDenials.WithLabelValues(geoDenialReason(d.Spec.Restrictions.GeoRestriction)).Inc()
			setDetail(w, accesslog.ClientGeoBlocked)
			h.deny(w, r, d, reason)
			return
		}
	}
	// The CloudFront-* headers are the node's to say, never the viewer's:
	// origins trust them (adding-cloudfront-headers.md).
	if len(b.CloudFrontHeaders) > 0 {
		if !known {
			country = ""
		}
		setCloudFrontHeaders(r, b, &viewer{r: r, tlsReused: tlsReused, loc: loc, mtls: host.Mtls, Viewer: cfheaders.Viewer{HTTPS: viewerHTTPS, Country: country, Client: client,
			RemoteAddr: r.RemoteAddr, ProtoMajor: r.ProtoMajor, ProtoMinor: r.ProtoMinor, Header: r.Header}})
	}
	signed := len(b.Spec.TrustedKeyGroups) > 0
	if signed {
		scheme := "http"
		if viewerHTTPS {
			scheme = "https"
		}
		// Checked at the time the request arrived: one clock read less.
		if dec := h.verifier.VerifyBehavior(signedurl.NewRequest(r, scheme, client, start), t, b); !dec.Allowed {
			h.metrics.signatureDenials.WithLabelValues(dec.Code).Inc()
			h.denySignature(w, r, d, dec)
			return
		}
	}
	rawQuery := r.URL.RawQuery
	// A gRPC call too: "CloudFront gRPC supports CloudFront Functions"
	// (distribution-using-grpc.md), and a function that guards the
	// behavior must not be passed by.
	if b.ViewerRequest != nil {
		var ok bool
		if b, ok = h.viewerRequest(w, r, d, b, client, id, &path, &rawQuery); !ok {
			return
		}
	}
	if call {
		h.proxyGRPC(w, r, d, b, path, rawQuery, id, signed, inserted)
		return
	}
	h.forward(w, r, d, b, path, rawQuery, id, viewerHTTPS, signed, inserted)
}

// deny answers 403 for a viewer the distribution does not admit (its geo
// restriction, its web ACL), with its custom error page for 403 when it
// has one, which replaces the reason, as for a refused signature.
// Otherwise the reason is in the body and, as a signature's, in
// X-Openfront-Reason.
func (h *Handler) deny(w http.ResponseWriter, r *http.Request, d *table.Distribution, reason string) {
	if !h.refusalPage(w, r, d, http.StatusForbidden) {
		w.Header().Set("X-Openfront-Reason", reason)
		h.refuse(w, r, http.StatusForbidden, reason)
	}
}

// denySignature answers 403 for a signed URL or cookies the behavior does
// not accept, with its custom error page for 403 when it has one, or else
// as CloudFront does: an XML <Error> whose Code viewers' tooling matches on.
// openfront's precise reason goes in X-Openfront-Reason, not in an element
// CloudFront's body does not have: the plain-text page showed it to the
// same viewer before, and the access log has fixed CloudFront fields.
func (h *Handler) denySignature(w http.ResponseWriter, r *http.Request, d *table.Distribution, dec signedurl.Decision) {
	if h.refusalPage(w, r, d, http.StatusForbidden) {
		return
	}
	if grpcCall(r) {
		refuseGRPC(w, signatureCode(dec.Code), dec.Reason)
		return
	}
	body, _ := xml.Marshal(signatureError{Code: dec.ErrorCode, Message: dec.ErrorMessage})
	w.Header().Set("X-Openfront-Reason", dec.Reason)
	// CloudFront's declaration, without encoding/xml's line break after it.
	writeError(w, r, http.StatusForbidden, "text/xml", strings.TrimSuffix(xml.Header, "\n")+string(body))
}

// signatureError is CloudFront's body for a refused signature.
type signatureError struct {
	XMLName xml.Name `xml:"Error"`
	Code    string
	Message string
}

// forward fetches path and rawQuery (the viewer's, or a viewer-request
// function's) from the behavior's origin. For a signed behavior
// the signature's query parameters and cookies never reach the origin. id
// is the request's X-Openfront-Id: an origin's response must not replace it.
// inserted are the headers the web ACLs insert (wafInserts.apply).
func (h *Handler) forward(w http.ResponseWriter, r *http.Request, d *table.Distribution, b *table.Behavior, path, rawQuery, id string, viewerHTTPS, signed bool, inserted []table.WAFHeader) {
	path = d.ObjectPath(path)
	// Under a cache policy that enables gzip or brotli, the key, the origin
	// request and the cache's variants see only the normalized
	// Accept-Encoding, as in CloudFront (table.Behavior.AcceptEncoding).
	// An HTTP/1.0 viewer's is removed: "CloudFront removes the
	// Accept-Encoding header and serves uncompressed content"
	// (ServingCompressedFiles, "Request uses HTTP 1.0").
	if r.ProtoMajor == 1 && r.ProtoMinor == 0 && (b.Spec.Compress || b.KeyedEncoding) {
		delete(r.Header, "Accept-Encoding")
	}
	if ae, ok := b.AcceptEncoding(r.Header["Accept-Encoding"]); ok {
		r.Header["Accept-Encoding"] = codings.Field(ae)
	}
	header := r.Header
	if signed {
		rawQuery = signedurl.StripSignature(rawQuery)
		if readsCookies(b) {
			header = withoutSignatureCookies(r.Header)
		}
	}
	args := originArgs{id: id, path: path, rawQuery: rawQuery, header: header, viewerHTTPS: viewerHTTPS, body: h.forwardedBody(r), inserted: inserted}
	upgrade := upgradeProtocol(r)
	if h.cache != nil && upgrade == "" {
		h.serveCached(w, r, d, b, cacheKey(d, b, path, rawQuery, r.Host, header), args)
		return
	}
	req := h.originRequest(r, b, args)
	req.Upgrade = upgrade
	resp, err := h.fetch(r.Context(), d, b, req)
	if err != nil {
		if h.answerStalled(w, r, args.body, false) {
			return
		}
		h.originFailed(w, r, d, err)
		return
	}
	dropSetCookie(b, resp.Header)
	shieldHit(w, resp)
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if err := h.join(w, r, resp, id, upgrade); err != nil {
			h.log.Debug("switch protocols", "err", err)
		}
		return
	}
	if err := h.relay(w, r, d, resp, id); err != nil {
		h.log.Debug("copy to viewer", "err", err)
		h.answerStalled(w, r, args.body, true)
	}
}

// dropSetCookie removes the origin's Set-Cookie when behavior b forwards
// no cookies: CloudFront then "removes Set-Cookie headers from responses
// before returning responses to your viewers" (Cookies.html), so a cached
// response never hands one viewer's session cookie to the others.
func dropSetCookie(b *table.Behavior, h http.Header) {
	if _, ok := h["Set-Cookie"]; ok && !readsCookies(b) {
		delete(h, "Set-Cookie")
	}
}

// originArgs is what an origin request is made from besides the viewer's
// request: kept until the cache asks the origin, so a hit builds none.
type originArgs struct {
	id             string // the request's X-Openfront-Id
	path, rawQuery string // the path after defaultRootObject, the query without a signature
	header         http.Header
	viewerHTTPS    bool
	body           *viewerBody       // nil: none forwarded
	inserted       []table.WAFHeader // the headers the web ACLs insert
	// shielded is the origin a fleet node's request to this node, its
	// shield, asks for (fleetRequest): fetched from itself, never
	// through another shield, an origin group or an error page.
	shielded *table.Origin
}

// originRequest is what the origin is asked: the viewer's request reduced
// to what the behavior forwards.
func (h *Handler) originRequest(r *http.Request, b *table.Behavior, a originArgs) *origin.Request {
	header := a.header
	req := &origin.Request{
		Method:      r.Method,
		Path:        a.path,
		RawQuery:    b.ForwardedQuery(a.rawQuery),
		ViewerHTTPS: a.viewerHTTPS,
		PeerIP:      access.PeerIP(r.RemoteAddr).String(),
		ViewerHost:  originHost(r, b),
		ForwardHost: b.ForwardsHost(),
	}
	if a.body != nil {
		req.Body, req.ContentLength = a.body, r.ContentLength
	}
	var fwd http.Header
	if a.shielded != nil {
		// A fleet node's request holds what the origin gets already,
		// its Host made by the asking node's listener.
		fwd, req.PeerIP = fleetHeader(header)
		req.ViewerHost = r.Host
	} else {
		fwd = forwardedHeaders(b, header)
	}
	if fwd == nil {
		fwd = make(http.Header, 3)
	}
	if a.shielded == nil && forwardsAuthorization(b, r.Method) {
		if vs, ok := header["Authorization"]; ok {
			fwd["Authorization"] = vs
		}
	}
	setWAFInserts(fwd, a.inserted)
	if inEarlyData(r) {
		fwd["Early-Data"] = earlyDataValue
	}
	req.Header = h.withNodeHeaders(fwd, r, a.id)
	return req
}

// withNodeHeaders adds to fwd what the node says in every origin request,
// as CloudFront adds Via, User-Agent (unless the viewer's is forwarded) and
// X-Amz-Cf-Id: origins see the node, a loop can be detected, and the
// request id (never the viewer's) ties the origin's log to the access log.
// Shared values are safe: the cache and the fetchers clone a header
// before changing it.
func (h *Handler) withNodeHeaders(fwd http.Header, r *http.Request, id string) http.Header {
	if via := r.Header["Via"]; len(via) > 0 {
		fwd["Via"] = []string{strings.Join(via, ", ") + ", " + h.via}
	} else {
		fwd["Via"] = h.viaValue
	}
	if fwd.Get("User-Agent") == "" {
		fwd["User-Agent"] = userAgent
	}
	fwd["X-Openfront-Id"] = []string{id}
	return fwd
}

// relay sends an origin response to the viewer without caching it; the
// error is the body's, broken off after the status went out.
func (h *Handler) relay(w http.ResponseWriter, r *http.Request, d *table.Distribution, resp *http.Response, id string) error {
	defer resp.Body.Close()
	if resp.StatusCode >= 400 && h.errorPage(w, r, d, resp.StatusCode) {
		return nil
	}
	h.writeOriginHeader(w, resp, id)
	if r.Method == http.MethodHead {
		return nil
	}
	return copyBody(w, r, resp.Body)
}

// writeOriginHeader sends resp's status and header, as originHeader
// makes it, to the viewer: a Miss, or an Error from 400 on.
func (h *Handler) writeOriginHeader(w http.ResponseWriter, resp *http.Response, id string) http.Header {
	hdr := h.originHeader(w, resp, id)
	if resp.StatusCode >= 400 {
		hdr.Set("X-Cache", cacheError)
	} else {
		hdr.Set("X-Cache", cacheMiss)
	}
	w.WriteHeader(resp.StatusCode)
	return hdr
}

// originHeader puts in w's header the origin's end-to-end fields of
// resp, with the node's Via and id (request id) in place of any the origin
// sent, and returns it.
func (h *Handler) originHeader(w http.ResponseWriter, resp *http.Response, id string) http.Header {
	hdr := w.Header()
	for k, vs := range withoutConnectionNamed(resp.Header, false) {
		if !hopbyhop.Is(k) {
			hdr[k] = vs
		}
	}
	hdr["Via"] = h.viaValue
	hdr.Set("X-Openfront-Id", id)
	delete(hdr, shield.ErrorHeader) // only a shield's own answer has it (fleetFailed)
	return hdr
}

// copyBody sends an origin's body once the status went out. A body that
// breaks off is the final result Error, the origin's fault unless the
// viewer left (the log then says ClientCommError), and resets the
// viewer's stream: ended cleanly, a short body could pass for a whole
// one, as a chunked or HTTP/2 or HTTP/3 viewer cannot tell.
func copyBody(w http.ResponseWriter, r *http.Request, body io.Reader) error {
	_, err := io.Copy(w, body)
	return brokeOff(w, r, err)
}

// brokeOff ends a response whose body's copy failed with err (see
// copyBody), and returns err.
func brokeOff(w http.ResponseWriter, r *http.Request, err error) error {
	if err != nil {
		if d := originDetail(err); d != "" {
			setDetail(w, d)
		}
		abortStream(w, r)
	}
	return err
}

// maxFailoverBody bounds the request body an origin group keeps to send
// again to its secondary: a larger one goes to the primary alone, whose
// answer is then the viewer's.
const maxFailoverBody = 1 << 20

// fetch sends req to the behavior's target; an origin group fails over to
// its secondary on a connection error, a timeout or a listed status.
func (h *Handler) fetch(ctx context.Context, d *table.Distribution, b *table.Behavior, req *origin.Request) (*http.Response, error) {
	if b.Origin != nil {
		return h.fetchFrom(ctx, d, b, b.Origin, req)
	}
	g := b.Group
	// As CloudFront, only a GET, HEAD or OPTIONS fails over: another
	// method (a function may send one to a group) goes to the primary
	// alone, which may have acted on it.
	if !failsOverMethod(req.Method) {
		return h.fetchFrom(ctx, d, b, g.Primary, req)
	}
	// The primary reads a body (an OPTIONS one), so the secondary's copy
	// is kept first.
	var body []byte
	whole := req.Body == nil
	if !whole {
		var err error
		body, err = io.ReadAll(io.LimitReader(req.Body, maxFailoverBody+1))
		if err != nil {
			return nil, &origin.Error{Origin: g.Primary.ID, Err: fmt.Errorf("read the viewer's body: %w", err)}
		}
		first := *req
		if whole = len(body) <= maxFailoverBody; whole {
			first.Body, first.ContentLength = bytes.NewReader(body), int64(len(body))
		} else {
			first.Body = io.MultiReader(bytes.NewReader(body), req.Body)
		}
		req = &first
	}
	resp, err := h.fetchFrom(ctx, d, b, g.Primary, req)
	if err == nil && !g.FailsOver(resp.StatusCode) || !whole {
		return resp, err
	}
	if err == nil {
		resp.Body.Close()
	}
	if body != nil {
		second := *req
		second.Body = bytes.NewReader(body)
		req = &second
	}
	return h.fetchFrom(ctx, d, b, g.Secondary, req)
}

// failsOverMethod reports whether a request with method may go on to a
// group's secondary ("Optimizing high availability with CloudFront origin
// failover": GET, HEAD or OPTIONS only).
func failsOverMethod(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// fetchFrom sends req to origin o, through its shield node when it has
// one elsewhere (viaShield); b is the behavior asking, nil for a request
// that never goes through a shield.
func (h *Handler) fetchFrom(ctx context.Context, d *table.Distribution, b *table.Behavior, o *table.Origin, req *origin.Request) (*http.Response, error) {
	if resp, err, done := h.viaShield(ctx, d, b, o, req); done {
		throughShield(ctx, resp, err)
		return withoutOriginOnly(resp), err
	}
	f, err := h.origins.Fetcher(d, o)
	if err != nil {
		h.observeOrigin(d, o, 0, nil, err)
		return nil, err
	}
	// Not the origin's failure: not observed as one.
	if !h.gate.enter() {
		return nil, errCapacity
	}
	ctx, trace := timeUpstream(ctx)
	start := time.Now()
	resp, err := f.Fetch(ctx, req)
	took := time.Since(start)
	trace.done(ctx, took)
	if err == nil && !rangeLengthMatches(resp) {
		resp.Body.Close()
		resp, err = nil, &origin.Error{Origin: o.ID, Err: errContentRangeLength,
			Reason: "The origin " + strconv.Quote(o.ID) + " answered 206 with a Content-Length that is not the length of its Content-Range."}
	}
	h.observeOrigin(d, o, took, resp, err)
	return h.admitted(withoutOriginOnly(resp), err)
}

// errContentRangeLength is an origin's 206 whose Content-Length is not
// the length of its Content-Range. CloudFront answers it 502 and logs
// OriginContentRangeLengthError ("The Content-Length header in the
// origin's response doesn't match the length in the Content-Range
// header", standard-logs-reference): passed on, the viewer would take
// the body for a range it is not.
var errContentRangeLength = errors.New("the Content-Length of the origin's 206 does not match its Content-Range")

// rangeLengthMatches reports whether resp, when a 206 with both a
// Content-Length and a single range's Content-Range, has a body as long
// as that range; other answers pass.
func rangeLengthMatches(resp *http.Response) bool {
	if resp.StatusCode != http.StatusPartialContent || resp.ContentLength < 0 {
		return true
	}
	first, last, _, ok := cache.ContentRangeSpan(resp.Header.Get("Content-Range"))
	return !ok || last-first+1 == resp.ContentLength
}

// withoutOriginOnly drops the fields of an origin's answer that are
// addressed to whatever sits in front of the origin, never to viewers,
// before the answer is relayed or stored:
//   - Alt-Svc: its alternatives are the origin's (its own HTTP/3 port and
//     lifetime), which a viewer would take for the node's, and it would
//     replace the node's own (SetAltSvc). Caddy's and YARP's proxies drop
//     it likewise;
//   - X-Accel-* (X-Accel-Redirect's internal path, -Buffering, -Expires):
//     an nginx's instructions, which nginx's proxy keeps from clients
//     ("By default, nginx does not pass the header fields ... X-Accel-...
//     from the response of a proxied server to a client",
//     proxy_hide_header) and CloudFront reserves (edge functions may not
//     set them).
func withoutOriginOnly(resp *http.Response) *http.Response {
	if resp == nil {
		return resp
	}
	delete(resp.Header, "Alt-Svc")
	for k := range resp.Header {
		if strings.HasPrefix(k, "X-Accel-") {
			delete(resp.Header, k)
		}
	}
	return resp
}

// originFailure is the status and reason for a failed origin request.
func originFailure(err error) (int, string) {
	var oe *origin.Error
	switch {
	case errors.Is(err, origin.ErrUnsupported):
		return http.StatusBadGateway, "The origin's kind is not supported by this edge node yet."
	case errors.As(err, &oe) && oe.Timeout:
		return http.StatusGatewayTimeout, "The origin " + strconv.Quote(oe.Origin) + " did not answer in time."
	case oe != nil && oe.Reason != "":
		return http.StatusBadGateway, oe.Reason
	case oe != nil:
		return http.StatusBadGateway, "The edge could not connect to the origin " + strconv.Quote(oe.Origin) + "."
	}
	return http.StatusBadGateway, "The edge could not connect to the origin."
}

// errorPage answers with the distribution's custom error response for
// status, fetched through the same distribution, and reports whether it
// did: never to a gRPC call, as a page is no gRPC answer.
func (h *Handler) errorPage(w http.ResponseWriter, r *http.Request, d *table.Distribution, status int) bool {
	if grpcCall(r) {
		return false
	}
	// The request's id, set on every answer before anything else (ServeHTTP).
	resp := h.fetchErrorPage(r.Context(), r, d, status, w.Header().Get("X-Openfront-Id"))
	if resp == nil {
		return false
	}
	defer resp.Body.Close()
	hdr := w.Header()
	for k, vs := range resp.Header {
		hdr[k] = vs
	}
	delete(hdr, cache.ErrorAnswerField)
	hdr.Set("X-Cache", cacheError)
	w.WriteHeader(resp.StatusCode)
	if r.Method != http.MethodHead {
		copyBody(w, r, resp.Body)
	}
	return true
}

// fetchErrorPage fetches the custom error page for status through the same
// distribution, and its cache (pageObject): the page as its origin sent it, end-to-end header fields
// included, under the configured responseCode, or the page's origin's
// answer under its own status when that is not 200; nil when there is no
// page or its fetch fails. id is the viewer's request's X-Openfront-Id.
//
// What CloudFront sends, from AWS's documentation:
//   - the page is an object returned to the viewer ("Custom error pages
//     and error caching", DownloadDistValuesErrorPages.html), and its
//     origin may add Cache-Control or Expires "along with the custom error
//     pages" ("Configure error response behavior",
//     custom-error-pages-procedure.html): the page's own fields go with it;
//   - errorCachingMinTTL is how long the page is "cached in CloudFront
//     edge caches" (same pages; "How CloudFront processes and caches HTTP
//     4xx and 5xx status codes", HTTPStatusCodes.html), never a value sent
//     to viewers: for an error without a page, CloudFront keeps it for
//     errorCachingMinTTL yet passes the origin's Cache-Control "on to the
//     client undisturbed" (Stack Overflow, "Does CloudFront make use of
//     Cache-Control headers in error responses (e.g. 503) from the
//     origin?", the answer);
//   - of the original error response, only its max-age / s-maxage / Expires
//     count, for how long the edge keeps the page (the greater of them and
//     errorCachingMinTTL, HTTPStatusCodes.html,
//     custom-error-pages-expiration.html); the page replaces its fields.
//
// So no Cache-Control is made up here: serveCached (an origin's error)
// and refusalPage (the edge's own refusal) tell the cache how long to
// keep the page (holdErrorPage).
func (h *Handler) fetchErrorPage(ctx context.Context, r *http.Request, d *table.Distribution, status int, id string) *http.Response {
	// The predicate openfront route shows the page by.
	cer := d.ErrorPage(status)
	if cer == nil {
		return nil
	}
	pb := d.Behavior(cer.ResponsePagePath)
	resp, err := h.pageObject(ctx, r, d, pb, cer.ResponsePagePath, id)
	if err != nil {
		return nil
	}
	// A page that cannot be had goes out as its origin answered, under
	// that status and not responseCode: "CloudFront returns to the viewer
	// the status code that CloudFront received from the origin that
	// contains the custom error pages" (GeneratingCustomErrorResponses.html),
	// a deleted page's 404 whatever the original error.
	code := cer.ResponseCode
	if resp.StatusCode != http.StatusOK {
		code = resp.StatusCode
	}
	hdr := make(http.Header, len(resp.Header))
	for k, vs := range withoutConnectionNamed(resp.Header, false) {
		if !hopbyhop.Is(k) {
			hdr[k] = vs
		}
	}
	dropNodeHeaders(hdr)
	// The page object's age in the cache is not the answer's, a new one
	// for the failing URL (kept, it gets its own).
	delete(hdr, "Age")
	// The page's Surrogate-Control is addressed to this node, which keeps
	// a page errorCachingMinTTL or longer (holdErrorPage) or, relayed,
	// not at all (errorPage):
	// never the viewer's, whichever way the page goes.
	delete(hdr, "Surrogate-Control")
	// The page's behavior decides, as it would for the page itself.
	dropSetCookie(pb, hdr)
	// The error's answer, whatever responseCode says: X-Cache Error.
	hdr[cache.ErrorAnswerField] = errorAnswerValue
	resp.StatusCode, resp.Status, resp.Header = code, http.StatusText(code), hdr
	return resp
}

// errorAnswerValue is cache.ErrorAnswerField's value: only its presence counts.
var errorAnswerValue = []string{"1"}

// dropNodeHeaders removes from an origin's header what the node sets
// itself on every answer: another node's values never pass.
func dropNodeHeaders(h http.Header) {
	for _, name := range []string{"Via", "X-Openfront-Id", "X-Cache", shield.ErrorHeader, cache.ErrorAnswerField} {
		delete(h, name)
	}
}

// refuse answers with CloudFront's kind of error page: a status, a reason
// a developer can act on, and the request id; a gRPC call gets the code
// for status and the reason (refuseGRPC).
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, reason string) {
	if grpcCall(r) {
		refuseGRPC(w, grpcCode(status), reason)
		return
	}
	body := http.StatusText(status) + "\n" + reason + "\nGenerated by openfront (" + h.nodeName + ")\nRequest ID: " + w.Header().Get("X-Openfront-Id") + "\n"
	writeError(w, r, status, "text/plain; charset=utf-8", body)
}

// writeError writes an error the edge makes itself: never cached.
func writeError(w http.ResponseWriter, r *http.Request, status int, contentType, body string) {
	hdr := w.Header()
	hdr.Set("Content-Type", contentType)
	hdr.Set("X-Cache", cacheError)
	hdr.Set("Cache-Control", "no-store")
	// Declared, so the access log's sc-content-len has it whatever the
	// protocol (a server adds one to a short body only after the handler).
	hdr["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	io.WriteString(w, body)
}

// requestPath is the path as the viewer sent it, not decoded.
func requestPath(r *http.Request) string {
	if p := r.URL.RawPath; p != "" {
		return p
	}
	return r.URL.EscapedPath()
}

// requestID is a fresh X-Openfront-Id as a header value: 18 bytes in
// base64url, 12 drawn at random when the process starts and a 48-bit
// count of its requests. Unique, not secret, and not random: in an access
// log, consecutive ids then differ in their last characters, which gzip
// matches. With 18 random bytes the ids were the part of a line gzip could
// not shrink: logs of varied traffic came out twice as large and cost 30 %
// more to compress (docs/benchmarks.md). Like Varnish's X-Varnish, two ids
// tell how many requests the process served between them.
func requestID() []string {
	var b [18]byte
	copy(b[:12], idPrefix[:])
	n := idCount.Add(1)
	b[12], b[13], b[14], b[15], b[16], b[17] = byte(n>>40), byte(n>>32), byte(n>>24), byte(n>>16), byte(n>>8), byte(n)
	return []string{base64.RawURLEncoding.EncodeToString(b[:])}
}

var (
	idPrefix [12]byte
	idCount  atomic.Uint64
)

func init() {
	binary.LittleEndian.PutUint64(idPrefix[:], rand.Uint64())
	binary.LittleEndian.PutUint32(idPrefix[8:], rand.Uint32())
}

// readsCookies reports whether the origin request or the cache key of
// behavior b can hold the viewer's cookies (forwardedHeaders, cacheKey):
// only then must the signature cookies be taken out of the header they are
// built from.
func readsCookies(b *table.Behavior) bool {
	fv := b.Spec.ForwardedValues
	if c := b.OriginRequest.Cookies.Forward; c != "none" && c != "" || fv.Cookies.Forward != "none" && fv.Cookies.Forward != "" {
		return true
	}
	return slices.ContainsFunc(fv.Headers, func(h string) bool { return strings.EqualFold(h, "Cookie") })
}

// withoutSignatureCookies is the viewer's header without CloudFront-*
// signature cookies; the header itself is not changed. The copy is
// shallow: its other values are shared, which is safe as the cache and the
// fetchers clone a header before changing it.
func withoutSignatureCookies(in http.Header) http.Header {
	lines := in["Cookie"]
	if len(lines) == 0 {
		return in
	}
	out := maps.Clone(in)
	var kept []string
	for _, l := range lines {
		if l = signedurl.StripSignatureCookies(l); l != "" {
			kept = append(kept, l)
		}
	}
	if kept == nil {
		delete(out, "Cookie")
	} else {
		out["Cookie"] = kept
	}
	return out
}

// redirectHost is the host of the HTTPS URL a plain-HTTP viewer is sent
// to, at HTTPS's default port as with CloudFront. A viewer that addressed
// the node's own plain listener by its port (http://localhost:8080/, with
// no port mapping between) is sent to the node's HTTPS port instead, as
// Alt-Svc assumes too; httpsPort 0: no HTTPS listener known.
func redirectHost(h string, httpPort, httpsPort int) string {
	host, port, err := net.SplitHostPort(h)
	if err != nil {
		return h
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if httpsPort != 0 && httpsPort != 443 && port == strconv.Itoa(httpPort) {
		return host + ":" + strconv.Itoa(httpsPort)
	}
	return host
}

func quoteHost(h string) string {
	if len(h) > 100 {
		h = h[:100] + "..."
	}
	return "\"" + strings.ToValidUTF8(h, "?") + "\""
}
