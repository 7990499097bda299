package edge

import (
	"crypto/sha256"
	"net/http"
	"net/netip"

	"github.com/prometheus/client_golang/prometheus"

	"openfront.dev/compiler/table"
	"openfront.dev/daemon/ratelimit"
)

// maxRateKeys bounds the addresses rate-based rules count on a node, all
// rules together: past it the least recently counted is forgotten.
const maxRateKeys = 100_000

// wafCheck evaluates d's web ACL on r, as WAF inspects a request before
// CloudFront serves it, and answers a blocked request; false: it did.
// path is the URI path as the viewer sent it, client the viewer's address
// (access.ClientIP), body what the web ACLs inspect of the body (nil:
// none read).
func (h *Handler) wafCheck(w http.ResponseWriter, r *http.Request, d *table.Distribution, path string, client netip.Addr, body *table.WAFBody, ins *wafInserts) bool {
	acl := d.WebACL
	req := table.WAFRequest{Method: r.Method, Path: path, RawQuery: r.URL.RawQuery, Host: r.Host, Header: r.Header, Client: client.Unmap(),
		Body: body.Within(acl.BodyLimit), GRPC: grpcCall(r)}
	if acl.NeedsCountry && h.geo != nil {
		req.Country, _ = h.geo.Lookup(req.Client)
	}
	h.wafViewer(&req, acl, r)
	dec := acl.Evaluate(&req, h.rateOver, func(rule *table.WAFRule) {
		h.metrics.waf.WithLabelValues(d.ID, acl.Name, rule.MetricName(), "count").Inc()
	})
	h.metrics.waf.WithLabelValues(d.ID, acl.Name, dec.RuleName(), dec.Action.Kind.String()).Inc()
	if dec.Action.Kind != table.WAFBlock {
		ins.add(acl, dec.Insert)
		return true
	}
	reason := "The request was blocked by the distribution's web ACL."
	addWAFHeaders(w, dec.Action)
	if dec.Action.Body != nil {
		h.wafRespond(w, r, dec.Action, reason)
		return false
	}
	// WAF's default 403 is CloudFront's like any other, custom error page
	// included; a customResponse, with a body or not, takes precedence
	// over the page: "Any response settings that you might have defined
	// in the protected resource itself have no effect"
	// (customizing-the-response-for-blocked-requests). The access log has
	// Error for the result and the detailed result (repost.aws
	// cloudfront-troubleshoot-403-errors).
	if !dec.Action.Custom {
		h.deny(w, r, d, reason)
	} else {
		h.refuse(w, r, dec.Action.Status, reason)
	}
	return false
}

// rateOver counts a request for a rate-based rule on this node.
func (h *Handler) rateOver(rule *table.WAFRule, key table.WAFRateKey) bool {
	return h.rates.Over(ratelimit.Key{Rule: rule.Rate.ID, Addr: key.Addr, Custom: customRateKey(key.Custom)}, rule.Rate.Limit, rule.Rate.Window)
}

// maxCustomRateKey is the longest custom key kept as sent: a longer one
// (a viewer writes its header and cookie values) is kept as its SHA-256,
// so that maxRateKeys keys cost a bounded amount of memory.
const maxCustomRateKey = 64

func customRateKey(k string) string {
	if len(k) <= maxCustomRateKey {
		return k
	}
	sum := sha256.Sum256([]byte(k))
	return string(sum[:])
}

// wafRuleKey is a web ACL, one of its rules ("default": its default
// action) and the rule's action, as the labels of
// openfront_waf_requests_total name them.
type wafRuleKey struct{ acl, rule, action string }

// forgetWAFRules deletes the series of rules and web ACLs that d no
// longer has, and of rules whose action changed, notes those it has, and
// shows each rule's decision (the
// default action's too) at 0, so that increase() sees a rule's first
// block; call it under setMu.
func (h *Handler) forgetWAFRules(d *table.Distribution) {
	if d.WebACL == nil && h.wafRules[d.ID] == nil {
		return // no web ACL, before or now: most distributions
	}
	now := map[wafRuleKey]bool{}
	if acl := d.WebACL; acl != nil {
		now[wafRuleKey{acl.Name, "default", acl.Default.Kind.String()}] = true
		for _, r := range acl.Rules {
			action := r.Action.Kind.String()
			if r.Counted() { // a rule group's rule overridden to count
				action = table.WAFCount.String()
			}
			now[wafRuleKey{acl.Name, r.MetricName(), action}] = true
		}
		for k := range now {
			h.metrics.waf.WithLabelValues(d.ID, k.acl, k.rule, k.action)
		}
	}
	kept := map[[2]string]bool{}
	for k := range now {
		kept[[2]string{k.acl, k.rule}] = true
	}
	for k := range h.wafRules[d.ID] {
		switch {
		case !kept[[2]string{k.acl, k.rule}]: // the rule left: every action it counted
			h.metrics.waf.DeletePartialMatch(prometheus.Labels{"distribution": d.ID, "web_acl": k.acl, "rule": k.rule})
		case !now[k]: // its action changed: the old one's series
			h.metrics.waf.DeleteLabelValues(d.ID, k.acl, k.rule, k.action)
		}
	}
	if h.wafRules == nil {
		h.wafRules = map[string]map[wafRuleKey]bool{}
	}
	if len(now) == 0 {
		delete(h.wafRules, d.ID)
		return
	}
	h.wafRules[d.ID] = now
}
