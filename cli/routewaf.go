package cli

import (
	"net/netip"
	"strings"

	"openfront.dev/compiler/table"
)

// RouteWAF explains a distribution's web ACL: each rule in priority order
// up to the one that decides.
type RouteWAF struct {
	WebACL   string         `json:"webACL"`
	Rules    []RouteWAFRule `json:"rules"`
	Decision string         `json:"decision"`
}

// RouteWAFRule is a rule route evaluated.
type RouteWAFRule struct {
	Name     string `json:"name"`
	Priority int    `json:"priority"`
	Action   string `json:"action"`
	Result   string `json:"result"`
}

// explainWAF records what the web ACL a request for hostDist served by d
// passes first does with r (table.WAFGuards), and returns the request it
// inspects, nil when there is none.
func (e *RouteExplanation) explainWAF(hostDist, d *table.Distribution, r RouteRequest, path string) *table.WAFRequest {
	first, second := table.WAFGuards(hostDist, d)
	if first == nil {
		first = second
	}
	if first == nil {
		return nil
	}
	acl := first.WebACL
	ip := r.ViewerIP
	if ip == "" {
		ip = defaultViewerIP
	}
	client, _ := netip.ParseAddr(ip)
	req := &table.WAFRequest{Method: r.Method, Path: path, RawQuery: r.URL.RawQuery, Host: r.host(), Header: r.Header, Client: client.Unmap(), Country: r.ViewerCountry}
	w := &RouteWAF{WebACL: acl.Name, Rules: []RouteWAFRule{}}
	e.WAF = w
	w.Decision = "default action: " + acl.Default.String()
	for _, rule := range acl.Rules {
		matched, why := rule.Explain(req)
		w.Rules = append(w.Rules, RouteWAFRule{Name: rule.Name, Priority: rule.Priority, Action: rule.Action.String(), Result: why})
		if matched && rule.Action.Kind != table.WAFCount {
			w.Decision = "rule " + rule.Name + ": " + rule.Action.String()
			break
		}
	}
	// The rules above saw the request as sent; the edge blocks what they
	// block on its normalized path or a repeated header's single value too.
	if !strings.Contains(w.Decision, ": block") {
		if dec := acl.Evaluate(req, nil, nil); dec.Action.Kind == table.WAFBlock {
			by := "default action"
			if dec.Rule != nil {
				by = "rule " + dec.Rule.Name
			}
			w.Decision = by + ": " + dec.Action.String() + ", on the path normalized (" + table.MatchPath(path) + ") or decoded, or a repeated header's single value"
		}
	}
	return req
}

// printWAF writes the web ACL's lines of route's text output.
func printWAF(line func(key, format string, args ...any), w *RouteWAF) {
	if w == nil {
		return
	}
	line("web ACL", "%s: %s", w.WebACL, w.Decision)
	for _, r := range w.Rules {
		line("  rule", "[%d] %s (%s): %s", r.Priority, r.Name, r.Action, r.Result)
	}
}
