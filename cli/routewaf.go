package cli

import (
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"openfront.dev/compiler/table"
)

// RouteWAF explains a distribution's web ACL: each rule in priority order
// up to the one that decides.
type RouteWAF struct {
	WebACL string `json:"webACL"`
	// Staging: the web ACL is the staging distribution's own, which the
	// request meets after the primary's (continuous deployment).
	Staging  bool           `json:"staging,omitempty"`
	Rules    []RouteWAFRule `json:"rules"`
	Decision string         `json:"decision"`
}

// RouteWAFRule is a rule route evaluated.
type RouteWAFRule struct {
	Name     string `json:"name"`
	Priority int    `json:"priority"`
	Action   string `json:"action"`
	Result   string `json:"result"`
	// Spelling is how the request differed where the rule matched it
	// only when normalized or decoded: "the path normalized (/admin)".
	Spelling string `json:"spelling,omitempty"`
	// Via is the web ACL's rule that runs this rule of a rule group.
	Via *RouteWAFGroup `json:"via,omitempty"`
}

// explainWAF records what the web ACLs a request for hostDist served by
// d passes do with r (table.WAFGuards): the host's, then, when the
// request gets past it to a staging distribution with a web ACL of its
// own, staging's. It returns the request they inspect, nil when there is
// none.
// grpc says r is a gRPC call d's behavior proxies, whose body rules the
// web ACLs leave out.
func (e *RouteExplanation) explainWAF(hostDist, d *table.Distribution, r RouteRequest, path string, grpc bool) *table.WAFRequest {
	first, second := table.WAFGuards(hostDist, d)
	if first == nil && second == nil {
		return nil
	}
	ip := r.ViewerIP
	if ip == "" {
		ip = defaultViewerIP
	}
	client, _ := netip.ParseAddr(ip)
	req := &table.WAFRequest{Method: r.Method, Path: path, RawQuery: r.URL.RawQuery, Host: r.host(), Header: r.Header, Client: client.Unmap(), Country: r.ViewerCountry, GRPC: grpc}
	routeViewer(req, r)
	// Every pass over the rules, route's and the edge's answer (Admit),
	// skips those route cannot evaluate, as the lines say.
	req.Skip = func(rule *table.WAFRule) bool { return needsBody(rule, req) || noHandshake(rule, req) }
	blocked := false
	if first != nil {
		e.WAF, blocked = explainACL(first.WebACL, req, path)
	}
	if second != nil && !blocked {
		w, _ := explainACL(second.WebACL, req, path)
		if e.WAF == nil {
			e.WAF = w
		} else {
			w.Staging = true
			e.StagingWAF = w
		}
	}
	return req
}

// explainACL explains acl's rules for req, up to the one that decides,
// and whether it blocks.
func explainACL(acl *table.WebACL, req *table.WAFRequest, path string) (w *RouteWAF, blocked bool) {
	decided, lines := walkRules(acl, req, -1)
	w = &RouteWAF{WebACL: acl.Name, Rules: lines, Decision: "default action: " + acl.Default.String()}
	if decided >= 0 {
		rule := acl.Rules[decided]
		w.Decision = "rule " + rule.MetricName() + ": " + rule.Action.String()
		if rule.Action.Kind == table.WAFBlock {
			return w, true
		}
	}
	// The rules above saw the request as sent; the edge blocks what they
	// block on its normalized path or a repeated header's single value too.
	dec := acl.Evaluate(req, nil, nil)
	if dec.Action.Kind != table.WAFBlock {
		return w, false
	}
	how := "the path normalized (" + table.MatchPath(path) + ") or decoded, or a repeated header's single value"
	for _, sp := range acl.Spellings(req) {
		if i, _ := walkRules(acl, sp.Request, -1); dec.Rule != nil && i >= 0 && acl.Rules[i] == dec.Rule {
			// The rule's own line says it matched, and through which
			// spelling, after the rules before it.
			_, w.Rules = walkRules(acl, req, i)
			r := &w.Rules[i]
			r.Result, r.Spelling = "matches "+sp.How+" (as sent: "+r.Result+")", sp.How
			how = sp.How
			break
		}
	}
	w.Decision = "default action: " + dec.Action.String() + ", on " + how
	if dec.Rule != nil {
		w.Decision = "rule " + dec.Rule.MetricName() + ": " + dec.Action.String() + ", on " + how
	}
	return w, true
}

// walkRules explains acl's rules for req in priority order, as the edge
// runs them, with the rules route cannot evaluate (a body it does not
// have, a TLS handshake it has not made) skipped, neither matching nor
// labelling: decided is the first rule that allows or blocks, -1 for
// none. The lines stop at the rule at last, or with last -1 at decided.
// One walk gives both, so the decision and the lines cannot disagree.
func walkRules(acl *table.WebACL, req *table.WAFRequest, last int) (decided int, lines []RouteWAFRule) {
	lines = []RouteWAFRule{}
	decided = -1
	req.Labels = nil
	var stopped *table.WAFRule // the rule a rule group ended at in a count
	for i, rule := range acl.Rules {
		if last >= 0 && i > last || last < 0 && decided >= 0 {
			break
		}
		if stopped != nil && rule.Via == stopped.Via {
			lines = append(lines, routeGroupRule(rule, "not evaluated: the rule group ended at rule "+stopped.Name))
			continue
		}
		if why := unevaluable(acl, rule, req); why != "" {
			lines = append(lines, routeGroupRule(rule, why))
			continue
		}
		matched, why := rule.Explain(req)
		if added := rule.AddGeoLabels(req); len(added) > 0 {
			// Matched or not, as the edge's evaluation adds them.
			why += "; adds label " + strings.Join(added, ", ")
		}
		if matched && len(rule.Labels) > 0 {
			// Later rules' label match statements see them.
			rule.AddLabels(req)
			why += "; adds label " + strings.Join(rule.Labels, ", ")
		}
		switch {
		case matched && rule.Counted():
			stopped = rule
			why += "; counted, not applied (overrideAction count): the rule group ends here"
		case matched && rule.Action.Kind != table.WAFCount && decided < 0:
			decided = i
		}
		lines = append(lines, routeGroupRule(rule, why))
	}
	return decided, lines
}

// unevaluable says why route cannot evaluate rule of acl for req, ""
// when it can: the rules WAFRequest.Skip skips.
func unevaluable(acl *table.WebACL, rule *table.WAFRule, req *table.WAFRequest) string {
	switch {
	case req.GRPC && rule.InspectsBody:
		return "not evaluated: it inspects the request's body, which a gRPC call's web ACL leaves out, as on CloudFront"
	case needsBody(rule, req):
		return "not evaluated: it inspects the request's body, which route does not have (the edge reads the first " + strconv.Itoa(acl.BodyLimit) + " bytes of a " + req.Method + "'s body for it)"
	case noHandshake(rule, req):
		return notEvaluatedTLS
	}
	return ""
}

// printWAF writes the web ACL's lines of route's text output.
func printWAF(line func(key, format string, args ...any), w *RouteWAF) {
	if w == nil {
		return
	}
	name := w.WebACL
	if w.Staging {
		name += " (the staging distribution's)"
	}
	line("web ACL", "%s: %s", name, w.Decision)
	for i, r := range w.Rules {
		if r.Via == nil {
			line("  rule", "[%d] %s (%s): %s", r.Priority, r.Name, r.Action, r.Result)
			continue
		}
		if i == 0 || w.Rules[i-1].Via == nil || *w.Rules[i-1].Via != *r.Via {
			line("  rule", "[%d] %s (%s):", r.Via.Priority, r.Via.Rule, r.Via.Describe)
		}
		line("    rule", "[%d] %s (%s): %s", r.Priority, r.Name, r.Action, r.Result)
	}
}

// needsBody reports whether rule inspects a body req would have: route
// has none to give it. A GET or HEAD sends none to the origin, and the
// edge inspects it as empty.
func needsBody(rule *table.WAFRule, req *table.WAFRequest) bool {
	return rule.InspectsBody && !req.GRPC && req.Method != http.MethodGet && req.Method != http.MethodHead
}
