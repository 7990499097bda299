package table

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"openfront.dev/internal/cffunc"
	"openfront.dev/schema"
)

// EdgeAnswer is the edge's own answer to a request, before any function
// runs: a refusal or the redirect to HTTPS (daemon/edge's serve, in its order).
type EdgeAnswer struct {
	Status   int
	Location string // of a redirect
	Reason   string
	// Method: the method is what is refused (not in allowedMethods).
	Method bool
	// Pages is the distribution whose custom error page (ErrorPage)
	// replaces this refusal, as it does a refused signature's: the web
	// ACL's for its 403 block, d's for its geo restriction; nil for the
	// edge's other answers, which no page replaces.
	Pages *Distribution
}

// ErrorPage is d's custom error response that replaces an answer of
// status (a refusal of the viewer or an origin's error) with the page at
// its responsePagePath, or nil when there is none: an entry without a
// page only sets errorCachingMinTTL. The edge sends the page under
// responseCode when its fetch answers 200, the page's origin's answer
// under its own status when it answers another, and the original answer
// when the fetch fails.
func (d *Distribution) ErrorPage(status int) *schema.CustomErrorResponse {
	for i := range d.Spec.CustomErrorResponses {
		if c := &d.Spec.CustomErrorResponses[i]; c.ErrorCode == status {
			if c.ResponsePagePath == "" {
				return nil
			}
			return c
		}
	}
	return nil
}

// Admit is the edge's answer to a request of d and b by scheme (http or
// https), method, host and requestURI (path and query) from a viewer in
// country ("": unknown, served as CloudFront serves it), or nil when the
// request goes on to b's functions and origin. openfront route and vet's
// route tests decide with it; the signature, which needs what the config
// does not hold, comes after it. waf is the request d's web ACL inspects
// (nil: none): its rate-based rules are taken as under their limit.
// hostDist is the distribution the Host names: d, or the primary whose
// staging distribution d is, whose web ACL the request passes too
// (WAFGuards).
func (d *Distribution) Admit(hostDist *Distribution, b *Behavior, scheme, method, host, requestURI, country string, waf *WAFRequest) *EdgeAnswer {
	refuse := func(format string, args ...any) *EdgeAnswer {
		return &EdgeAnswer{Status: http.StatusForbidden, Reason: fmt.Sprintf(format, args...)}
	}
	if path, _, _ := strings.Cut(requestURI, "?"); d.HidesBehavior(path, b) {
		return &EdgeAnswer{Status: http.StatusBadRequest, Reason: HiddenBehavior}
	}
	if !d.Spec.Enabled {
		return refuse("distribution %q is disabled", d.ID)
	}
	first, second := WAFGuards(hostDist, d)
	for _, g := range []*Distribution{first, second} {
		if g == nil || waf == nil {
			continue
		}
		if dec := g.WebACL.Evaluate(waf, nil, nil); dec.Action.Kind == WAFBlock {
			a := &EdgeAnswer{Status: dec.Action.Status, Reason: fmt.Sprintf("web ACL %q: %s blocks the request", g.WebACL.Name, dec.Describe())}
			// WAF's default 403 gets the page; a customResponse, body or
			// not, takes precedence over it (WAFAction.Custom).
			if !dec.Action.Custom {
				a.Pages = g
			}
			return a
		}
	}
	if p := b.Spec.ViewerProtocolPolicy; scheme == "http" && p != "allow-all" {
		if p == "https-only" {
			return refuse("viewerProtocolPolicy https-only refuses http")
		}
		return &EdgeAnswer{Status: RedirectToHTTPSStatus(method, true), Location: "https://" + (&url.URL{Host: host}).Hostname() + requestURI,
			Reason: "viewerProtocolPolicy redirect-to-https"}
	}
	if !slices.Contains(b.Spec.AllowedMethods, method) {
		a := refuse("method %s is not in allowedMethods", method)
		a.Method = true
		return a
	}
	if ok, reason := GeoAllowed(d.Spec.Restrictions.GeoRestriction, country, country != ""); !ok {
		a := refuse("%s", reason)
		a.Pages = d
		return a
	}
	return nil
}

// RedirectToHTTPSStatus is redirect-to-https's answer to a request of
// method over plain HTTP: 301 for GET and HEAD; for another method 307,
// which keeps the method and body, from HTTP/1.1 on (http11), and 403
// below it, as CloudFront answers (using-https-viewers-to-cloudfront).
func RedirectToHTTPSStatus(method string, http11 bool) int {
	switch {
	case method == http.MethodGet || method == http.MethodHead:
		return http.StatusMovedPermanently
	case http11:
		return http.StatusTemporaryRedirect
	}
	return http.StatusForbidden
}

// ViewerAnswer makes resp, an answer of the origin or the cache to req, what
// the viewer gets, as the edge does (daemon/edge's headersPolicy): b's
// response headers policy first, then b's viewer-response function, which
// sees the policy's headers, on an answer below 400. ran: the function
// ran. On its error the edge answers cffunc.Failure's status instead.
func (d *Distribution) ViewerAnswer(b *Behavior, c cffunc.Context, req *cffunc.Request, resp *cffunc.Response) (ran bool, err error) {
	if b.ResponseHeaders != nil {
		b.ResponseHeaders.Apply(resp.Header, req.Header, req.Method)
	}
	if b.ViewerResponse == nil || resp.Status >= 400 {
		return false, nil
	}
	c.Origins = d
	return true, b.ViewerResponse.ViewerResponse(c, req, resp)
}

// geoReasonBlocked is a geo restriction's reason, as a viewer's 403 body says it.
const geoReasonBlocked = "This distribution is not available in the viewer's country (%s)."

// GeoAllowed applies a distribution's geo restriction to a viewer's country.
// known is false when the database did not know the address: such a viewer
// is served under a whitelist as under a blacklist, as CloudFront does ("If
// CloudFront can't determine a user's location, CloudFront serves the
// content that the user has requested").
func GeoAllowed(r schema.GeoRestriction, country string, known bool) (bool, string) {
	if !known {
		return true, ""
	}
	listed := slices.ContainsFunc(r.Items, func(c string) bool { return strings.EqualFold(c, country) })
	switch r.RestrictionType {
	case "whitelist":
		if !listed {
			return false, fmt.Sprintf(geoReasonBlocked, country)
		}
	case "blacklist":
		if listed {
			return false, fmt.Sprintf(geoReasonBlocked, country)
		}
	}
	return true, ""
}
