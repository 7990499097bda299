package table

import (
	"fmt"
	"net/textproto"
	"slices"
	"strings"

	"openfront.dev/schema"
)

// fieldToMatch headers and cookies (API_Headers, API_Cookies,
// API_HeaderMatchPattern, API_CookieMatchPattern; the developer guide's
// waf-rule-statement-fields-list and waf-oversize-request-components):
//
//   - the match pattern selects all, only the named (includedHeaders,
//     includedCookies) or all but the named (excludedHeaders,
//     excludedCookies): exactly one, 1 to 199 names;
//   - matchScope inspects each selected one's name (KEY), value (VALUE)
//     or both (ALL); "ALL does not require a match to be found in the keys
//     and a match to be found in the values. It requires a match to be
//     found in the keys or the values or both": each name and each value
//     is inspected alone, and any match is the statement's;
//   - header names are HTTP's, their case aside (as singleHeader's: "The
//     name isn't case sensitive"); cookie names are as sent, case and all
//     (RFC 6265: WAF says nothing);
//   - "The underlying host service forwards a maximum of 200 headers and
//     at most 8 KB of header contents" (cookies: 200 cookies, 8 KB), and
//     oversizeHandling says what a request past that does: CONTINUE
//     inspects "the available headers normally", MATCH matches, NO_MATCH
//     does not.
//
// Names are compiled once; per request only the Cookie header of a
// request such a rule inspects is split, in place.

// WAF's inspection limits for headers and cookies
// (waf-oversize-request-components).
const (
	wafMaxHeaderItems = 200
	wafMaxHeaderBytes = 8192
)

// wafMulti is a fieldToMatch headers or cookies, compiled.
type wafMulti struct {
	cookies bool
	// included, or else excluded (nil for all): canonical header names, or
	// cookie names as given.
	included []string
	excluded map[string]bool
	keys     bool // matchScope KEY or ALL
	values   bool // matchScope VALUE or ALL
	oversize string
}

func compileHeaders(h *schema.WAFHeaders) (*wafMulti, error) {
	p := h.MatchPattern
	m, err := newWAFMulti(h.MatchScope, h.OversizeHandling, p.All != nil, p.IncludedHeaders, p.ExcludedHeaders, textproto.CanonicalMIMEHeaderKey)
	if err != nil {
		return nil, fmt.Errorf("headers: %w", err)
	}
	return m, nil
}

func compileCookies(c *schema.WAFCookies) (*wafMulti, error) {
	p := c.MatchPattern
	m, err := newWAFMulti(c.MatchScope, c.OversizeHandling, p.All != nil, p.IncludedCookies, p.ExcludedCookies, func(s string) string { return s })
	if err != nil {
		return nil, fmt.Errorf("cookies: %w", err)
	}
	m.cookies = true
	return m, nil
}

func newWAFMulti(scope, oversize string, all bool, included, excluded []string, name func(string) string) (*wafMulti, error) {
	kinds := 0
	for _, set := range []bool{all, included != nil, excluded != nil} {
		if set {
			kinds++
		}
	}
	if kinds != 1 {
		return nil, fmt.Errorf("matchPattern takes exactly one of all, included and excluded names")
	}
	m := &wafMulti{keys: scope != "VALUE", values: scope != "KEY", oversize: oversize}
	switch scope {
	case "ALL", "KEY", "VALUE":
	default:
		return nil, fmt.Errorf("matchScope %q is none of ALL, KEY and VALUE", scope)
	}
	switch oversize {
	case "CONTINUE", "MATCH", "NO_MATCH":
	default:
		return nil, fmt.Errorf("oversizeHandling %q is none of CONTINUE, MATCH and NO_MATCH", oversize)
	}
	for _, n := range included {
		m.included = append(m.included, name(n))
	}
	if excluded != nil {
		m.excluded = make(map[string]bool, len(excluded))
		for _, n := range excluded {
			m.excluded[name(n)] = true
		}
	}
	return m, nil
}

// inspectMulti calls match with each selected header's or cookie's name
// and value, transformed, as the scope says, until one matches; past
// WAF's limits oversizeHandling decides first. A request with none
// selected matches nothing.
func (in *wafInput) inspectMulti(r *WAFRequest, match func(v string) bool) bool {
	m := in.multi
	if m.oversize != "CONTINUE" {
		if n, size := m.count(r); n > wafMaxHeaderItems || size > wafMaxHeaderBytes {
			return m.oversize == "MATCH"
		}
	}
	one := func(name, v string) bool {
		return m.keys && in.matchName(name, !m.cookies, match) || m.values && match(in.transform(v))
	}
	if m.cookies {
		return eachCookie(r.Header["Cookie"], func(name, v string, hasValue bool) bool {
			if !m.selects(name) {
				return false
			}
			if !hasValue { // "flag": what a viewer sent is inspected, name or not
				return match(in.transform(name))
			}
			return one(name, v)
		})
	}
	if m.included != nil {
		for _, h := range m.included {
			if h == "Host" {
				if r.Host != "" && one(h, r.Host) {
					return true
				}
				continue
			}
			for _, v := range r.Header[h] {
				if one(h, v) {
					return true
				}
			}
		}
		return false
	}
	if r.Host != "" && !m.excluded["Host"] && one("Host", r.Host) {
		return true
	}
	for h, vs := range r.Header {
		if m.excluded[h] {
			continue
		}
		// A header given twice is two headers: each value alone.
		for _, v := range vs {
			if one(h, v) {
				return true
			}
		}
	}
	return false
}

// matchName calls match with a header's or cookie's name, transformed. A
// header's is canonical (Go keeps no case): it is inspected as that and
// as all lower case too, the names an HTTP/1.1 viewer may send and an
// HTTP/2 one sends, so that a rule on x-api-key without LOWERCASE matches
// as WAF's would on what the viewer sent. A cookie's is as sent.
func (in *wafInput) matchName(name string, header bool, match func(v string) bool) bool {
	if match(in.transform(name)) {
		return true
	}
	if !header {
		return false
	}
	lower := lowercase(name)
	return lower != name && match(in.transform(lower))
}

// selects reports whether the pattern selects the cookie name.
func (m *wafMulti) selects(name string) bool {
	if m.included != nil {
		for _, n := range m.included {
			if n == name {
				return true
			}
		}
		return false
	}
	return !m.excluded[name]
}

// count is how many headers (cookies) r has and their bytes: each
// header's name and value (the Host header's too), or the Cookie
// headers' values.
func (m *wafMulti) count(r *WAFRequest) (n, size int) {
	if m.cookies {
		for _, line := range r.Header["Cookie"] {
			size += len(line)
		}
		eachCookie(r.Header["Cookie"], func(string, string, bool) bool { n++; return false })
		return n, size
	}
	if r.Host != "" {
		n, size = 1, len("Host")+len(r.Host)
	}
	for h, vs := range r.Header {
		for _, v := range vs {
			n++
			size += len(h) + len(v)
		}
	}
	return n, size
}

// eachCookie calls f with each cookie of the Cookie header lines, name
// and value as sent, in place, until f returns true.
func eachCookie(lines []string, f func(name, value string, hasValue bool) bool) bool {
	for _, line := range lines {
		for line != "" {
			var part string
			part, line, _ = strings.Cut(line, ";")
			if part = strings.TrimSpace(part); part == "" {
				continue
			}
			name, v, ok := strings.Cut(part, "=")
			if f(name, v, ok) {
				return true
			}
		}
	}
	return false
}

// describe names what is inspected as route says it: "a header's name or
// value (of X-Api-Key)".
func (m *wafMulti) describe() string {
	s := "a header's "
	if m.cookies {
		s = "a cookie's "
	}
	switch {
	case m.keys && m.values:
		s += "name or value"
	case m.keys:
		s += "name"
	default:
		s += "value"
	}
	switch {
	case m.included != nil:
		s += " (of " + strings.Join(m.included, ", ") + ")"
	case m.excluded != nil:
		names := make([]string, 0, len(m.excluded))
		for n := range m.excluded {
			names = append(names, n)
		}
		slices.Sort(names)
		s += " (not of " + strings.Join(names, ", ") + ")"
	}
	return s
}

// multiOversize is what route says of a request past WAF's limits on the
// headers or cookies in inspects, whose oversizeHandling decides without
// inspecting them; decided is false otherwise.
func (in *wafInput) multiOversize(r *WAFRequest) (matched bool, why string, decided bool) {
	m := in.multi
	if m == nil || m.oversize == "CONTINUE" {
		return false, "", false
	}
	n, size := m.count(r)
	what := "headers"
	if m.cookies {
		what = "cookies"
	}
	var past string
	switch {
	case n > wafMaxHeaderItems:
		past = fmt.Sprintf("%d %s, more than the %d WAF inspects", n, what, wafMaxHeaderItems)
	case size > wafMaxHeaderBytes:
		past = fmt.Sprintf("%d bytes of %s, more than the %d WAF inspects", size, what, wafMaxHeaderBytes)
	default:
		return false, "", false
	}
	if m.oversize == "MATCH" {
		return true, "matches: the request has " + past + " (oversizeHandling MATCH)", true
	}
	return false, "does not match: the request has " + past + " (oversizeHandling NO_MATCH)", true
}

// compileMultiField compiles f's headers or cookies: the field's name and
// what it selects.
func compileMultiField(f schema.WAFFieldToMatch) (string, *wafMulti, error) {
	if f.Headers != nil {
		m, err := compileHeaders(f.Headers)
		return "headers", m, err
	}
	m, err := compileCookies(f.Cookies)
	return "cookies", m, err
}
