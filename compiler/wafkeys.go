package compiler

import (
	"strings"

	"cuelang.org/go/cue"

	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

// customKeys checks a rate-based statement's aggregateKeyType
// CUSTOM_KEYS (table/wafkeys.go has the facts): 1 to 5 keys, each one
// kind, none twice, ip or forwardedIP with another key, forwardedIP with
// the statement's forwardedIPConfig, which is there only for it.
func (k *checker) customKeys(key string, at func(...any) []cue.Selector, where string, rb *schema.RateBasedStatement) {
	switch n := len(rb.CustomKeys); {
	case n == 0:
		k.add(key, at("aggregateKeyType"), "%s: aggregateKeyType CUSTOM_KEYS needs customKeys: 1 to %d keys", where, table.MaxWAFRateKeys)
		return
	case n > table.MaxWAFRateKeys:
		k.add(key, at("customKeys", table.MaxWAFRateKeys), "%s: %d customKeys; WAF takes %d at most", where, n, table.MaxWAFRateKeys)
	}
	seen := map[string]bool{}
	forwarded, address := false, false
	for i, c := range rb.CustomKeys {
		kat := func(parts ...any) []cue.Selector { return at(append([]any{"customKeys", i}, parts...)...) }
		kinds := customKeyKinds(c)
		if c.ASN != nil {
			k.add(key, kat("asn"), "%s: customKeys: asn is not supported by openfront", where)
			continue
		}
		if len(kinds) != 1 {
			k.add(key, kat(), "%s: a custom key sets exactly one of header, cookie, queryArgument, queryString, uriPath, httpMethod, ip, forwardedIP, labelNamespace", where)
			continue
		}
		id := kinds[0]
		var tts []schema.TextTransformation
		switch {
		case c.Header != nil:
			id, tts = id+" "+strings.ToLower(c.Header.Name), c.Header.TextTransformations
		case c.Cookie != nil:
			id, tts = id+" "+c.Cookie.Name, c.Cookie.TextTransformations
		case c.QueryArgument != nil:
			id, tts = id+" "+strings.ToLower(c.QueryArgument.Name), c.QueryArgument.TextTransformations
		case c.QueryString != nil:
			tts = c.QueryString.TextTransformations
		case c.URIPath != nil:
			tts = c.URIPath.TextTransformations
		case c.LabelNamespace != nil:
			id += " " + c.LabelNamespace.Namespace
		}
		if seen[id] {
			k.add(key, kat(), "%s: customKeys: %s is a key twice; WAF takes each once", where, id)
		}
		seen[id] = true
		k.transformations(key, func(parts ...any) []cue.Selector { return kat(append([]any{kinds[0]}, parts...)...) }, where+": customKeys", tts)
		forwarded = forwarded || c.ForwardedIP != nil
		address = address || c.ForwardedIP != nil || c.IP != nil
	}
	if address && len(rb.CustomKeys) == 1 {
		k.add(key, at("customKeys"), "%s: an ip or forwardedIP custom key needs another key, as in WAF: aggregate on the address alone with aggregateKeyType IP or FORWARDED_IP", where)
	}
	switch {
	case forwarded && rb.ForwardedIPConfig == nil:
		k.add(key, at("customKeys"), "%s: a forwardedIP custom key needs forwardedIPConfig: the header to read the address from", where)
	case !forwarded && rb.ForwardedIPConfig != nil:
		k.add(key, at("forwardedIPConfig"), "%s: forwardedIPConfig is for aggregateKeyType FORWARDED_IP or a forwardedIP custom key", where)
	}
}

// customKeyKinds names the fields c sets.
func customKeyKinds(c schema.RateCustomKey) []string {
	var out []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"header", c.Header != nil}, {"cookie", c.Cookie != nil}, {"queryArgument", c.QueryArgument != nil},
		{"queryString", c.QueryString != nil}, {"uriPath", c.URIPath != nil}, {"httpMethod", c.HTTPMethod != nil},
		{"ip", c.IP != nil}, {"forwardedIP", c.ForwardedIP != nil}, {"labelNamespace", c.LabelNamespace != nil},
	} {
		if f.set {
			out = append(out, f.name)
		}
	}
	return out
}
