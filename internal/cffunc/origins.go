package cffunc

import (
	"fmt"
	"net/textproto"
	"strings"

	"github.com/dop251/goja"
	"golang.org/x/net/http/httpguts"
)

// The origin helpers of the cloudfront module
// (helper-functions-origin-modification.md): a viewer-request function of
// cloudfront-js-2.0 sends its request to another origin. They only record
// what was asked in the run's state; the edge applies it once the function
// returned the request. A bad argument throws, as does an id the
// distribution does not have: a function may catch it and go on to the
// behavior's origin, and an uncaught one fails the run (503).

func init() {
	cloudfrontMethods["selectRequestOriginById"] = selectOriginMethod
	cloudfrontMethods["createRequestOriginGroup"] = createGroupMethod
	cloudfrontMethods["updateRequestOrigin"] = updateOriginMethod
}

// Origins tells which ids a distribution has.
type Origins interface {
	// OriginKind is "origin" or "group" for an id the distribution
	// has, "" for one it does not.
	OriginKind(id string) string
}

// OriginChange is what a run's origin helpers asked for, in the order the
// edge applies it: Select or Group replaces the behavior's target, then
// Update changes its origin (a group's primary, as in CloudFront).
type OriginChange struct {
	Select string // an origin's or an origin group's id
	Group  *OriginGroup
	Update *OriginUpdate
}

// OriginGroup is a failover pair made by createRequestOriginGroup.
type OriginGroup struct {
	Primary, Secondary string
	StatusCodes        []int
}

// OriginUpdate is updateRequestOrigin's settings; a zero field (nil for
// OriginPath, CustomHeaders and SSLProtocols) is the current origin's.
type OriginUpdate struct {
	DomainName string
	OriginPath *string
	// CustomHeaders replace the origin's (lower-case names); an empty
	// map removes them.
	CustomHeaders      map[string]string
	ConnectionAttempts int
	// Timeouts in seconds.
	ConnectionTimeout, ReadTimeout, KeepaliveTimeout int
	Port                                             int
	Protocol                                         string // "http" or "https"
	SSLProtocols                                     []string
}

// runState is what a run's origin helpers act on.
type runState struct {
	origins Origins
	change  *OriginChange
}

// failoverCodes are the status codes an origin group may fail over on
// (OriginGroupFailoverCriteria in CloudFront's API).
var failoverCodes = map[int]bool{400: true, 403: true, 404: true, 416: true, 500: true, 502: true, 503: true, 504: true}

// originHelper wraps a helper: it runs on a viewer-request run of a
// cloudfront-js-2.0 function only, and gets the run's state.
func originHelper(f *Function, m *vm, name string, do func(rt *goja.Runtime, run *runState, call goja.FunctionCall)) func(goja.FunctionCall) goja.Value {
	rt := m.rt
	return func(call goja.FunctionCall) goja.Value {
		if f.Runtime == runtime10 {
			panic(rt.NewTypeError("cf.%s(): origin modification needs cloudfront-js-2.0", name))
		}
		if m.run == nil {
			panic(rt.NewTypeError("cf.%s(): the origin can be changed in a viewer-request function only", name))
		}
		do(rt, m.run, call)
		return goja.Undefined()
	}
}

// knownID throws unless the distribution has id as kind ("" for either).
func knownID(rt *goja.Runtime, run *runState, method, id, kind string) {
	if run.origins == nil {
		return
	}
	got := run.origins.OriginKind(id)
	if got == "" || kind != "" && got != kind {
		what := "an origin or origin group"
		if kind == "origin" {
			what = "an origin"
		}
		panic(rt.NewTypeError("cf.%s(): the distribution has no %s with id %q", method, what, id))
	}
}

func selectOriginMethod(f *Function, m *vm) func(goja.FunctionCall) goja.Value {
	return originHelper(f, m, "selectRequestOriginById", func(rt *goja.Runtime, run *runState, call goja.FunctionCall) {
		id := call.Argument(0)
		if !isString(id) || id.String() == "" {
			panic(rt.NewTypeError("cf.selectRequestOriginById(): the origin id must be a non-empty string"))
		}
		knownID(rt, run, "selectRequestOriginById", id.String(), "")
		// A selected origin comes with its own settings: an earlier
		// update was of the origin it replaces.
		run.change = &OriginChange{Select: id.String()}
	})
}

func createGroupMethod(f *Function, m *vm) func(goja.FunctionCall) goja.Value {
	const name = "createRequestOriginGroup"
	return originHelper(f, m, name, func(rt *goja.Runtime, run *runState, call goja.FunctionCall) {
		fail := func(format string, args ...any) {
			panic(rt.NewTypeError(append([]any{"cf." + name + "(): " + format}, args...)...))
		}
		o, ok := call.Argument(0).(*goja.Object)
		if !ok {
			fail("the argument must be an object {originIds, failoverCriteria}")
		}
		ids := array(rt, o.Get("originIds"))
		if len(ids) != 2 {
			fail("originIds must list two origins, the primary and the secondary")
		}
		var members [2]string
		for i, e := range ids {
			// CloudFront's examples write {originId: "..."}; a bare
			// string is taken too.
			v := goja.Value(e)
			if !isString(v) {
				v = e.Get("originId")
			}
			if !isString(v) || v.String() == "" {
				fail("originIds[%d] must be {originId: \"...\"} or a string", i)
			}
			members[i] = v.String()
			knownID(rt, run, name, members[i], "origin")
		}
		if members[0] == members[1] {
			fail("the primary and the secondary are both %q", members[0])
		}
		if s := o.Get("selectionCriteria"); defined(s) && s.String() != "default" {
			fail("selectionCriteria %q: only \"default\" is supported (media-quality-score needs media origins)", s.String())
		}
		var codes []int
		if fc, ok := o.Get("failoverCriteria").(*goja.Object); ok {
			for _, c := range array(rt, fc.Get("statusCodes")) {
				n := int(c.ToInteger())
				if !failoverCodes[n] || c.ToFloat() != float64(n) {
					fail("failoverCriteria.statusCodes: %s is not one of 400, 403, 404, 416, 500, 502, 503, 504", c.String())
				}
				codes = append(codes, n)
			}
		}
		if len(codes) == 0 {
			fail("failoverCriteria.statusCodes must list at least one status code")
		}
		run.change = &OriginChange{Group: &OriginGroup{Primary: members[0], Secondary: members[1], StatusCodes: codes}}
	})
}

func updateOriginMethod(f *Function, m *vm) func(goja.FunctionCall) goja.Value {
	return originHelper(f, m, "updateRequestOrigin", func(rt *goja.Runtime, run *runState, call goja.FunctionCall) {
		o, ok := call.Argument(0).(*goja.Object)
		if !ok {
			panic(rt.NewTypeError("cf.updateRequestOrigin(): the argument must be an object of origin settings"))
		}
		u, err := readUpdate(rt, o)
		if err != nil {
			panic(rt.NewTypeError("cf.updateRequestOrigin(): %s", err))
		}
		if run.change == nil {
			run.change = &OriginChange{}
		}
		// Updates add up: a later one's settings win.
		run.change.Update = u.over(run.change.Update)
	})
}

// readUpdate reads updateRequestOrigin's argument with CloudFront's
// bounds (distribution-web-values-specify.md for each setting).
func readUpdate(rt *goja.Runtime, o *goja.Object) (*OriginUpdate, error) {
	u := &OriginUpdate{}
	for _, k := range o.Keys() {
		switch k {
		case "domainName", "originPath", "customHeaders", "connectionAttempts", "timeouts", "customOriginConfig":
		case "originAccessControlConfig", "originShield":
			return nil, fmt.Errorf("%s is not supported by openfront", k)
		default:
			return nil, fmt.Errorf("unknown setting %q", k)
		}
	}
	if v := o.Get("domainName"); defined(v) {
		if !isString(v) || !validHostname(v.String()) {
			return nil, fmt.Errorf("domainName %q is not a host name", v.String())
		}
		u.DomainName = strings.ToLower(v.String())
	}
	if v := o.Get("originPath"); defined(v) {
		p := v.String()
		if !isString(v) || p != "" && (p[0] != '/' || strings.HasSuffix(p, "/") || len(p) > 255 || strings.ContainsAny(p, "?# \t\r\n")) {
			return nil, fmt.Errorf("originPath %q: it starts with / and does not end with one (at most 255 characters)", p)
		}
		u.OriginPath = &p
	}
	if v := o.Get("customHeaders"); defined(v) {
		h, ok := v.(*goja.Object)
		if !ok {
			return nil, fmt.Errorf("customHeaders must be an object of names and values")
		}
		u.CustomHeaders = map[string]string{}
		for _, name := range h.Keys() {
			val := h.Get(name)
			switch {
			case !httpguts.ValidHeaderFieldName(name) || strings.ToLower(name) != name:
				return nil, fmt.Errorf("customHeaders: %q is not a lower-case header name", name)
			case ForbiddenOriginHeader(name) || disallowed(textproto.CanonicalMIMEHeaderKey(name)):
				return nil, fmt.Errorf("customHeaders: CloudFront can't add %q to origin requests", name)
			case !isString(val) || !httpguts.ValidHeaderFieldValue(val.String()):
				return nil, fmt.Errorf("customHeaders: the value of %q must be a string fit for a header", name)
			}
			u.CustomHeaders[name] = val.String()
		}
	}
	var err error
	if u.ConnectionAttempts, err = intIn(o.Get("connectionAttempts"), "connectionAttempts", 1, 3); err != nil {
		return nil, err
	}
	if v := o.Get("timeouts"); defined(v) {
		t, ok := v.(*goja.Object)
		if !ok {
			return nil, fmt.Errorf("timeouts must be an object")
		}
		// "The minimum timeout is 1 second and the maximum is 120
		// seconds" (helper-functions-origin-modification.md), for
		// readTimeout and keepAliveTimeout both.
		if u.ReadTimeout, err = intIn(t.Get("readTimeout"), "timeouts.readTimeout", 1, 120); err != nil {
			return nil, err
		}
		if u.KeepaliveTimeout, err = intIn(t.Get("keepAliveTimeout"), "timeouts.keepAliveTimeout", 1, 120); err != nil {
			return nil, err
		}
		if u.ConnectionTimeout, err = intIn(t.Get("connectionTimeout"), "timeouts.connectionTimeout", 1, 10); err != nil {
			return nil, err
		}
	}
	if v := o.Get("customOriginConfig"); defined(v) {
		c, ok := v.(*goja.Object)
		if !ok {
			return nil, fmt.Errorf("customOriginConfig must be an object {port, protocol, sslProtocols}")
		}
		if u.Port, err = intIn(c.Get("port"), "customOriginConfig.port", 1, 65535); err != nil {
			return nil, err
		}
		if p := c.Get("protocol"); defined(p) {
			if s := p.String(); s != "http" && s != "https" {
				return nil, fmt.Errorf("customOriginConfig.protocol %q: it is http or https", s)
			}
			u.Protocol = p.String()
		}
		if p := c.Get("sslProtocols"); defined(p) {
			u.SSLProtocols = []string{}
			for _, e := range array(rt, p) {
				switch s := e.String(); s {
				case "SSLv3", "TLSv1", "TLSv1.1", "TLSv1.2":
					u.SSLProtocols = append(u.SSLProtocols, s)
				default:
					return nil, fmt.Errorf("customOriginConfig.sslProtocols: %q is not SSLv3, TLSv1, TLSv1.1 or TLSv1.2", s)
				}
			}
		}
	}
	return u, nil
}

// over is u with what u leaves unset taken from an earlier update.
func (u *OriginUpdate) over(prev *OriginUpdate) *OriginUpdate {
	if prev == nil {
		return u
	}
	n := *prev
	if u.DomainName != "" {
		n.DomainName = u.DomainName
	}
	if u.OriginPath != nil {
		n.OriginPath = u.OriginPath
	}
	if u.CustomHeaders != nil {
		n.CustomHeaders = u.CustomHeaders
	}
	for _, p := range []struct{ to, from *int }{
		{&n.ConnectionAttempts, &u.ConnectionAttempts}, {&n.ConnectionTimeout, &u.ConnectionTimeout},
		{&n.ReadTimeout, &u.ReadTimeout}, {&n.KeepaliveTimeout, &u.KeepaliveTimeout}, {&n.Port, &u.Port},
	} {
		if *p.from != 0 {
			*p.to = *p.from
		}
	}
	if u.Protocol != "" {
		n.Protocol = u.Protocol
	}
	if u.SSLProtocols != nil {
		n.SSLProtocols = u.SSLProtocols
	}
	return &n
}

// intIn is v, an integer in [lo, hi], or 0 when v is not given.
func intIn(v goja.Value, name string, lo, hi int) (int, error) {
	if !defined(v) {
		return 0, nil
	}
	f := v.ToFloat()
	if n := int(f); float64(n) == f && n >= lo && n <= hi {
		return n, nil
	}
	return 0, fmt.Errorf("%s %s: an integer from %d to %d", name, v.String(), lo, hi)
}

// validHostname: letters, digits, hyphens and dots, as a DNS name (no
// port, scheme or path: customOriginConfig has the port).
func validHostname(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// forbiddenOriginHeaders are the custom headers CloudFront can't add to
// origin requests (add-origin-custom-headers.md), in lower case. Headers
// beginning with x-amz- and x-edge- are refused too.
var forbiddenOriginHeaders = map[string]bool{
	"cache-control":       true,
	"connection":          true,
	"content-length":      true,
	"cookie":              true,
	"host":                true,
	"if-match":            true,
	"if-modified-since":   true,
	"if-none-match":       true,
	"if-range":            true,
	"if-unmodified-since": true,
	"max-forwards":        true,
	"pragma":              true,
	"proxy-authorization": true,
	"proxy-connection":    true,
	"range":               true,
	"request-range":       true,
	"te":                  true,
	"trailer":             true,
	"transfer-encoding":   true,
	"upgrade":             true,
	"via":                 true,
	"x-real-ip":           true,
}

// ForbiddenOriginHeader reports whether CloudFront refuses name as an
// origin custom header (an origin's customHeaders, or updateRequestOrigin's).
func ForbiddenOriginHeader(name string) bool {
	n := strings.ToLower(name)
	return forbiddenOriginHeaders[n] || strings.HasPrefix(n, "x-amz-") || strings.HasPrefix(n, "x-edge-")
}
