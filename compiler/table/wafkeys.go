package table

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"openfront.dev/schema"
)

// Rate-based custom keys: aggregateKeyType CUSTOM_KEYS with customKeys
// (API_RateBasedStatement, API_RateBasedStatementCustomKey, developer
// guide waf-rule-statement-type-rate-based-aggregation-options):
//
//   - the aggregation key is the combination of the keys' values: a
//     request is counted under (header X-Api-Key "k1", method GET), apart
//     from (k1, POST) and (k2, GET);
//   - "Web requests that are missing any of the components specified in
//     the aggregation keys are omitted from the rate-based rule
//     evaluation and handling": a request without a key's header, cookie
//     or query argument, with an empty query string or no label in the
//     namespace, is not counted and the rule does not match it;
//   - header, cookie and queryArgument take a name and text
//     transformations, queryString and uriPath text transformations;
//     httpMethod, ip and forwardedIP nothing; forwardedIP is the first
//     address of the statement's forwardedIPConfig, whose fallbackBehavior
//     decides for a header without a valid one, as for FORWARDED_IP;
//   - labelNamespace: "Each distinct fully qualified label name that has
//     the specified label namespace contributes to the aggregation
//     instance": a request with two such labels is counted under each;
//   - 1 to 5 keys (waf-limits), none twice, and ip or forwardedIP "must
//     also specify at least one other key" (vet checks these).

// MaxWAFRateKeys is WAF's limit on a rate-based statement's custom keys.
const MaxWAFRateKeys = 5

// WAFRateKey is what a rate rule counts a request under: an address (IP,
// FORWARDED_IP; the zero one for CONSTANT), or CUSTOM_KEYS' values,
// each length-prefixed so that no two combinations spell the same.
type WAFRateKey struct {
	Addr   netip.Addr
	Custom string
}

// wafCustomKey is one of customKeys.
type wafCustomKey struct {
	kind string // header, cookie, queryArgument, queryString, httpMethod, uriPath, ip, forwardedIP, labelNamespace
	// in reads header, queryArgument, queryString, uriPath and
	// httpMethod, transformed; cookie is the cookie's name, with in's
	// transformations.
	in     wafInput
	cookie string
	labels *labelMatcher
}

func compileCustomKeys(ks []schema.RateCustomKey, namespace string) ([]wafCustomKey, error) {
	out := make([]wafCustomKey, 0, len(ks))
	for _, k := range ks {
		var c wafCustomKey
		var f schema.WAFFieldToMatch
		var tts []schema.TextTransformation
		switch {
		case k.Header != nil:
			c.kind, tts = "header", k.Header.TextTransformations
			f.SingleHeader = &schema.WAFSingleHeader{Name: k.Header.Name}
		case k.Cookie != nil:
			c.kind, c.cookie, tts = "cookie", k.Cookie.Name, k.Cookie.TextTransformations
			f.Method = &struct{}{} // for the transformations alone
		case k.QueryArgument != nil:
			c.kind, tts = "queryArgument", k.QueryArgument.TextTransformations
			f.SingleQueryArgument = &schema.WAFSingleQueryArgument{Name: k.QueryArgument.Name}
		case k.QueryString != nil:
			c.kind, tts = "queryString", k.QueryString.TextTransformations
			f.QueryString = &struct{}{}
		case k.URIPath != nil:
			c.kind, tts = "uriPath", k.URIPath.TextTransformations
			f.URIPath = &struct{}{}
		case k.HTTPMethod != nil:
			c.kind = "httpMethod"
			f.Method = &struct{}{}
		case k.IP != nil:
			c.kind = "ip"
		case k.ForwardedIP != nil:
			c.kind = "forwardedIP"
		case k.LabelNamespace != nil:
			c.kind = "labelNamespace"
			c.labels = compileLabelMatch(&schema.LabelMatchStatement{Scope: "NAMESPACE", Key: k.LabelNamespace.Namespace}, namespace)
		default:
			return nil, fmt.Errorf("a custom key openfront does not support")
		}
		if f != (schema.WAFFieldToMatch{}) {
			in, err := compileInput(f, tts)
			if err != nil {
				return nil, err
			}
			c.in = in
		}
		out = append(out, c)
	}
	return out, nil
}

// values are the key's values in r: nil when r has none.
func (k *wafCustomKey) values(r *WAFRequest, rate *WAFRate) []string {
	switch k.kind {
	case "ip":
		return []string{r.Client.String()}
	case "forwardedIP":
		a, _, _ := rate.first(r)
		return []string{a.String()}
	case "cookie":
		var v string
		found := eachCookie(r.Header["Cookie"], func(name, value string, _ bool) bool {
			v = value
			return name == k.cookie
		})
		if !found {
			return nil
		}
		return []string{k.in.transform(v)}
	case "labelNamespace":
		var out []string
		for _, l := range r.Labels {
			if k.labels.matches(l) && !slices.Contains(out, l) {
				out = append(out, l)
			}
		}
		return out
	}
	var out []string
	k.in.inspect(r, func(v string) bool {
		if v != "" {
			out = append(out, v)
		}
		return true // the first: a query argument given twice is one key
	})
	return out
}

// describe names the key as route says it.
func (k *wafCustomKey) describe() string {
	switch k.kind {
	case "header":
		return "header " + k.in.header
	case "cookie":
		return "cookie " + k.cookie
	case "queryArgument":
		return "query argument " + k.in.arg
	case "queryString":
		return "the query string"
	case "uriPath":
		return "the URI path"
	case "httpMethod":
		return "the method"
	case "ip":
		return "the viewer's address"
	case "forwardedIP":
		return "the forwarded address"
	}
	return "labels in " + k.labels.key
}

// customKeys are the keys r is counted under, one per combination of its
// values (labelNamespace may have several); nil when a key has no value.
// fallback is true when forwardedIP's header has no valid address.
func (rate *WAFRate) customKeys(r *WAFRequest) (keys []WAFRateKey, missing string, fallback bool) {
	combos := []string{""}
	for i := range rate.Keys {
		k := &rate.Keys[i]
		if k.kind == "forwardedIP" {
			if _, apply, fb := rate.first(r); !apply {
				return nil, rate.Header + " header", false
			} else if fb {
				return nil, "", true
			}
		}
		vs := k.values(r, rate)
		if len(vs) == 0 {
			return nil, k.describe(), false
		}
		next := make([]string, 0, len(combos)*len(vs))
		for _, c := range combos {
			for _, v := range vs {
				next = append(next, c+strconv.Itoa(len(v))+":"+v)
			}
		}
		combos = next
	}
	keys = make([]WAFRateKey, len(combos))
	for i, c := range combos {
		keys[i] = WAFRateKey{Custom: c}
	}
	return keys, "", false
}

// describeKeys is "header X-Api-Key and the method".
func (rate *WAFRate) describeKeys() string {
	names := make([]string, len(rate.Keys))
	for i := range rate.Keys {
		names[i] = rate.Keys[i].describe()
	}
	return strings.Join(names, " and ")
}

// explainKeys says what r is counted under, for route.
func (rate *WAFRate) explainKeys(r *WAFRequest) (matched bool, why string) {
	keys, missing, fallback := rate.customKeys(r)
	switch {
	case fallback && rate.FallbackMatch:
		return true, "matches: no valid address in " + rate.Header + " (fallbackBehavior MATCH)"
	case fallback:
		return false, "does not match: no valid address in " + rate.Header + " (fallbackBehavior NO_MATCH)"
	case keys == nil:
		return false, "not counted: the request has no " + missing + " (a request missing a key's value is not counted)"
	}
	var under []string
	for _, k := range keys {
		under = append(under, readableKey(k.Custom, rate))
	}
	return false, "counted under " + strings.Join(under, "; ") + ", " + rate.Describe() + " (route takes it as under the limit)"
}

// readableKey spells a custom key's values with their keys' names:
// header X-Api-Key "k1", the method "GET".
func readableKey(c string, rate *WAFRate) string {
	var parts []string
	for i := 0; c != "" && i < len(rate.Keys); i++ {
		n, rest, _ := strings.Cut(c, ":")
		l, _ := strconv.Atoi(n)
		parts = append(parts, fmt.Sprintf("%s %q", rate.Keys[i].describe(), rest[:l]))
		c = rest[l:]
	}
	return strings.Join(parts, ", ")
}

// overCustom counts req under each of its custom keys and reports
// whether any is over the limit; a request missing a key's value is not
// counted.
func (rate *WAFRate) overCustom(r *WAFRule, req *WAFRequest, over func(*WAFRule, WAFRateKey) bool) bool {
	keys, _, fallback := rate.customKeys(req)
	if fallback {
		return rate.FallbackMatch
	}
	matched := false
	for _, k := range keys {
		if over != nil && over(r, k) {
			matched = true
		}
	}
	return matched
}
