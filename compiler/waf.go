package compiler

import (
	"fmt"
	"slices"
	"strings"

	"cuelang.org/go/cue"

	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

// AWS WAF web ACLs and IP sets: what WAF itself refuses (WAFv2 API
// reference: API_WebACL, API_Rule, API_Statement and the statements), and
// what WAF takes but openfront does not enforce, named as unsupported
// rather than ignored.

// wafNestingDepth is how deep and, or and not statements nest under a
// rule's statement (schema #WAFNestedStatement3 is the last level).
const wafNestingDepth = 3

// supportedStatements names what openfront evaluates, for messages.
var supportedStatements = strings.Join(table.WAFStatements, ", ")

// wafField is an optional field of a WAF type: set, and supported or not.
type wafField struct {
	name      string
	set       bool
	supported bool
}

// supportedIn marks the fields of fs that list names as supported: the
// table's lists are the one source of what openfront enforces.
func supportedIn(list []string, fs []wafField) []wafField {
	for i := range fs {
		fs[i].supported = slices.Contains(list, fs[i].name)
	}
	return fs
}

// setFields are the names of fs that are set.
func setFields(fs []wafField) (names []string) {
	for _, f := range fs {
		if f.set {
			names = append(names, f.name)
		}
	}
	return names
}

// unsupported reports each set field openfront does not enforce.
func (k *checker) unsupported(key string, at func(...any) []cue.Selector, where string, fs []wafField) {
	for _, f := range fs {
		if f.set && !f.supported {
			k.add(key, at(f.name), "%s: %s is not supported by openfront", where, f.name)
		}
	}
}

// one checks that exactly one of fs is set, what names the kind.
func (k *checker) one(key string, at func(...any) []cue.Selector, where, what string, fs []wafField) bool {
	set := setFields(fs)
	switch len(set) {
	case 0:
		var names []string
		for _, f := range fs {
			if f.supported {
				names = append(names, f.name)
			}
		}
		k.add(key, at(), "%s: %s needs one of %s", where, what, strings.Join(names, ", "))
		return false
	case 1:
		return true
	}
	k.add(key, at(set[1]), "%s: %s takes one of its kinds, not %s", where, what, strings.Join(set, " and "))
	return false
}

func (k *checker) ipSet(name string, s *schema.IPSet) {
	key := "ipSets." + name
	for i, a := range s.Addresses {
		if _, err := table.ParseIPSetAddress(a, s.IPAddressVersion); err != nil {
			k.add(key, sel("ipSets", name, "addresses", i), "IP set %q: %v", name, err)
		}
	}
}

func (k *checker) regexPatternSet(name string, s *schema.RegexPatternSet) {
	for i, r := range s.RegularExpressionList {
		if _, err := table.CompileWAFRegex(r.RegexString); err != nil {
			k.add("regexPatternSets."+name, sel("regexPatternSets", name, "regularExpressionList", i, "regexString"), "regex pattern set %q: %v", name, err)
		}
	}
}

func (k *checker) webACL(name string, acl *schema.WebACL, cfg *schema.Config) {
	key := "webACLs." + name
	base := sel("webACLs", name)
	at := func(parts ...any) []cue.Selector { return append(slices.Clone(base), sel(parts...)...) }
	where := fmt.Sprintf("web ACL %q", name)
	k.unsupported(key, at, where, []wafField{
		{name: "captchaConfig", set: acl.CaptchaConfig != nil},
		{name: "challengeConfig", set: acl.ChallengeConfig != nil},
		{name: "tokenDomains", set: acl.TokenDomains != nil},
	})
	da := acl.DefaultAction
	dat := func(parts ...any) []cue.Selector { return at(append([]any{"defaultAction"}, parts...)...) }
	if k.one(key, dat, where, "defaultAction", []wafField{{name: "allow", set: da.Allow != nil, supported: true}, {name: "block", set: da.Block != nil, supported: true}}) {
		k.allowBlock(key, dat, where+": defaultAction", da.Allow, da.Block, acl.CustomResponseBodies)
	}
	k.wafRules(key, at, where, "web ACL", acl.Rules, acl.CustomResponseBodies, cfg)
}

// wafRules checks the rules of a web ACL or rule group (what it is).
func (k *checker) wafRules(key string, at func(...any) []cue.Selector, where, what string, rules []schema.WAFRule, bodies map[string]schema.WAFCustomResponseBody, cfg *schema.Config) {
	names := map[string]int{}
	priorities := map[int]string{}
	for i := range rules {
		r := &rules[i]
		rat := func(parts ...any) []cue.Selector { return at(append([]any{"rules", i}, parts...)...) }
		rwhere := fmt.Sprintf("%s: rule %q", where, r.Name)
		if _, dup := names[r.Name]; dup {
			k.add(key, rat("name"), "%s: another rule has the name; names are unique in a %s", rwhere, what)
		}
		names[r.Name] = i
		if other, dup := priorities[r.Priority]; dup {
			k.add(key, rat("priority"), "%s: priority %d is also rule %q's; priorities are unique in a %s", rwhere, r.Priority, other, what)
		} else {
			priorities[r.Priority] = r.Name
		}
		k.unsupported(key, rat, rwhere, []wafField{
			{name: "captchaConfig", set: r.CaptchaConfig != nil},
			{name: "challengeConfig", set: r.ChallengeConfig != nil},
		})
		k.ruleLabels(key, rat, rwhere, r.RuleLabels)
		switch {
		case k.groupRule(key, rat, rwhere, what, r, bodies, cfg):
			// A rule group reference (wafgroup.go).
		case r.Action == nil:
			k.add(key, rat(), "%s: a rule needs an action: allow, block or count", rwhere)
		default:
			k.ruleAction(key, func(parts ...any) []cue.Selector { return rat(append([]any{"action"}, parts...)...) }, rwhere, r.Action, bodies)
		}
		k.wafStatement(key, func(parts ...any) []cue.Selector { return rat(append([]any{"statement"}, parts...)...) }, rwhere, &r.Statement, cfg, 0)
	}
}

// ruleAction checks a rule's action, or an override's actionToUse.
func (k *checker) ruleAction(key string, aat func(...any) []cue.Selector, rwhere string, a *schema.WAFRuleAction, bodies map[string]schema.WAFCustomResponseBody) {
	fs := []wafField{
		{name: "allow", set: a.Allow != nil, supported: true},
		{name: "block", set: a.Block != nil, supported: true},
		{name: "count", set: a.Count != nil, supported: true},
		{name: "captcha", set: a.Captcha != nil},
		{name: "challenge", set: a.Challenge != nil},
	}
	k.unsupported(key, aat, rwhere+": action", fs)
	if k.one(key, aat, rwhere, "action", fs) {
		k.allowBlock(key, aat, rwhere+": action", a.Allow, a.Block, bodies)
		if a.Count != nil {
			k.requestHandling(key, func(parts ...any) []cue.Selector { return aat(append([]any{"count"}, parts...)...) }, rwhere+": action", a.Count.CustomRequestHandling)
		}
	}
}

// allowBlock checks an allow or block action's settings.
func (k *checker) allowBlock(key string, at func(...any) []cue.Selector, where string, allow *schema.WAFAllowAction, block *schema.WAFBlockAction, bodies map[string]schema.WAFCustomResponseBody) {
	if allow != nil {
		k.requestHandling(key, func(parts ...any) []cue.Selector { return at(append([]any{"allow"}, parts...)...) }, where, allow.CustomRequestHandling)
	}
	if block != nil && block.CustomResponse != nil {
		k.customResponse(key, func(parts ...any) []cue.Selector { return at(append([]any{"block", "customResponse"}, parts...)...) }, where+": customResponse", block.CustomResponse, bodies)
	}
}

// wafStatement checks a statement at depth (0: a rule's own).
func (k *checker) wafStatement(key string, at func(...any) []cue.Selector, where string, s *schema.WAFStatement, cfg *schema.Config, depth int) {
	fs := supportedIn(table.WAFStatements, []wafField{
		{name: "byteMatchStatement", set: s.ByteMatchStatement != nil},
		{name: "geoMatchStatement", set: s.GeoMatchStatement != nil},
		{name: "ipSetReferenceStatement", set: s.IPSetReferenceStatement != nil},
		{name: "rateBasedStatement", set: s.RateBasedStatement != nil},
		{name: "sizeConstraintStatement", set: s.SizeConstraintStatement != nil},
		{name: "regexMatchStatement", set: s.RegexMatchStatement != nil},
		{name: "regexPatternSetReferenceStatement", set: s.RegexPatternSetReferenceStatement != nil},
		{name: "sqliMatchStatement", set: s.SqliMatchStatement != nil},
		{name: "xssMatchStatement", set: s.XssMatchStatement != nil},
		{name: "andStatement", set: s.AndStatement != nil},
		{name: "orStatement", set: s.OrStatement != nil},
		{name: "notStatement", set: s.NotStatement != nil},
		{name: "managedRuleGroupStatement", set: s.ManagedRuleGroupStatement != nil},
		{name: "ruleGroupReferenceStatement", set: s.RuleGroupReferenceStatement != nil},
		{name: "labelMatchStatement", set: s.LabelMatchStatement != nil},
		{name: "asnMatchStatement", set: s.AsnMatchStatement != nil},
	})
	for _, f := range fs {
		if f.set && !f.supported {
			k.add(key, at(f.name), "%s: %s is not supported by openfront (it evaluates %s)", where, f.name, supportedStatements)
			return
		}
	}
	if !k.one(key, at, where, "a statement", fs) {
		return
	}
	k.wafASN(key, at, where, s)
	switch {
	case s.ByteMatchStatement != nil:
		k.byteMatch(key, func(parts ...any) []cue.Selector { return at(append([]any{"byteMatchStatement"}, parts...)...) }, where, s.ByteMatchStatement)
	case s.SizeConstraintStatement != nil:
		k.inspection(key, func(parts ...any) []cue.Selector { return at(append([]any{"sizeConstraintStatement"}, parts...)...) }, where+": sizeConstraintStatement", s.SizeConstraintStatement.FieldToMatch, s.SizeConstraintStatement.TextTransformations)
	case s.RegexMatchStatement != nil:
		r := s.RegexMatchStatement
		rat := func(parts ...any) []cue.Selector { return at(append([]any{"regexMatchStatement"}, parts...)...) }
		if _, err := table.CompileWAFRegex(r.RegexString); err != nil {
			k.add(key, rat("regexString"), "%s: regexMatchStatement: %v", where, err)
		}
		k.inspection(key, rat, where+": regexMatchStatement", r.FieldToMatch, r.TextTransformations)
	case s.RegexPatternSetReferenceStatement != nil:
		r := s.RegexPatternSetReferenceStatement
		rat := func(parts ...any) []cue.Selector {
			return at(append([]any{"regexPatternSetReferenceStatement"}, parts...)...)
		}
		if cfg.RegexPatternSets[r.ARN] == nil {
			k.add(key, rat("arn"), "%s: unknown regex pattern set %q%s", where, r.ARN, nameHint(r.ARN, sortedKeys(cfg.RegexPatternSets), "a key of regexPatternSets"))
		}
		k.inspection(key, rat, where+": regexPatternSetReferenceStatement", r.FieldToMatch, r.TextTransformations)
	case s.SqliMatchStatement != nil:
		k.inspection(key, func(parts ...any) []cue.Selector { return at(append([]any{"sqliMatchStatement"}, parts...)...) }, where+": sqliMatchStatement", s.SqliMatchStatement.FieldToMatch, s.SqliMatchStatement.TextTransformations)
	case s.XssMatchStatement != nil:
		k.inspection(key, func(parts ...any) []cue.Selector { return at(append([]any{"xssMatchStatement"}, parts...)...) }, where+": xssMatchStatement", s.XssMatchStatement.FieldToMatch, s.XssMatchStatement.TextTransformations)
	case s.AsnMatchStatement != nil:
		// wafASN checked it.
	case s.GeoMatchStatement != nil:
		// The schema takes its forwardedIPConfig (wafkeys.go).
	case s.IPSetReferenceStatement != nil:
		r := s.IPSetReferenceStatement
		if cfg.IPSets[r.ARN] == nil {
			k.add(key, at("ipSetReferenceStatement", "arn"), "%s: unknown IP set %q%s", where, r.ARN, nameHint(r.ARN, sortedKeys(cfg.IPSets), "a key of ipSets"))
		}
	case s.RateBasedStatement != nil:
		if depth > 0 {
			k.add(key, at("rateBasedStatement"), "%s: a rateBasedStatement goes only at the top of a rule's statement: WAF does not nest it", where)
			return
		}
		k.rateBased(key, func(parts ...any) []cue.Selector { return at(append([]any{"rateBasedStatement"}, parts...)...) }, where, s.RateBasedStatement, cfg)
	case s.RuleGroupReferenceStatement != nil:
		if depth > 0 {
			k.add(key, at("ruleGroupReferenceStatement"), "%s: a ruleGroupReferenceStatement goes only at the top of a web ACL's rule: WAF does not nest it", where)
		}
	case s.LabelMatchStatement != nil:
		if err := table.CheckWAFLabelKey(s.LabelMatchStatement.Scope, s.LabelMatchStatement.Key); err != nil {
			k.add(key, at("labelMatchStatement", "key"), "%s: labelMatchStatement: %v", where, err)
		}
	case s.NotStatement != nil:
		if k.deepEnough(key, at("notStatement"), where, depth) {
			k.wafStatement(key, func(parts ...any) []cue.Selector { return at(append([]any{"notStatement", "statement"}, parts...)...) }, where, &s.NotStatement.Statement, cfg, depth+1)
		}
	default:
		name, list := "andStatement", s.AndStatement
		if s.OrStatement != nil {
			name, list = "orStatement", s.OrStatement
		}
		if !k.deepEnough(key, at(name), where, depth) {
			return
		}
		if len(list.Statements) < 2 {
			k.add(key, at(name, "statements"), "%s: %s needs at least 2 statements", where, name)
		}
		for i := range list.Statements {
			k.wafStatement(key, func(parts ...any) []cue.Selector { return at(append([]any{name, "statements", i}, parts...)...) }, where, &list.Statements[i], cfg, depth+1)
		}
	}
}

func (k *checker) deepEnough(key string, at []cue.Selector, where string, depth int) bool {
	if depth >= wafNestingDepth {
		k.add(key, at, "%s: statements nest too deep: openfront takes and, or and not statements %d levels below a rule's", where, wafNestingDepth)
		return false
	}
	return true
}

func (k *checker) rateBased(key string, at func(...any) []cue.Selector, where string, rb *schema.RateBasedStatement, cfg *schema.Config) {
	switch rb.AggregateKeyType {
	case "CUSTOM_KEYS":
		k.customKeys(key, at, where, rb)
	case "FORWARDED_IP":
		if rb.ForwardedIPConfig == nil {
			k.add(key, at("aggregateKeyType"), "%s: aggregateKeyType FORWARDED_IP needs forwardedIPConfig: the header to read the address from", where)
		}
	default:
		if rb.ForwardedIPConfig != nil {
			k.add(key, at("forwardedIPConfig"), "%s: forwardedIPConfig is for aggregateKeyType FORWARDED_IP, not %s", where, rb.AggregateKeyType)
		}
	}
	if rb.CustomKeys != nil && rb.AggregateKeyType != "CUSTOM_KEYS" {
		k.add(key, at("customKeys"), "%s: customKeys is for aggregateKeyType CUSTOM_KEYS, not %s", where, rb.AggregateKeyType)
	}
	if rb.ScopeDownStatement != nil {
		k.wafStatement(key, func(parts ...any) []cue.Selector { return at(append([]any{"scopeDownStatement"}, parts...)...) }, where, rb.ScopeDownStatement, cfg, 1)
	}
}

func (k *checker) byteMatch(key string, at func(...any) []cue.Selector, where string, b *schema.ByteMatchStatement) {
	where += ": byteMatchStatement"
	if b.SearchStringBase64 != nil {
		k.add(key, at("searchStringBase64"), "%s: searchStringBase64 is not supported by openfront: give searchString", where)
	}
	k.inspection(key, at, where, b.FieldToMatch, b.TextTransformations)
	if b.PositionalConstraint == "CONTAINS_WORD" && !table.IsWord(b.SearchString) {
		k.add(key, at("searchString"), "%s: CONTAINS_WORD takes a searchString of letters, digits and _ only, not %q", where, b.SearchString)
	}
}

// inspection checks a statement's fieldToMatch and textTransformations.
func (k *checker) inspection(key string, at func(...any) []cue.Selector, where string, f schema.WAFFieldToMatch, tts []schema.TextTransformation) {
	fat := func(parts ...any) []cue.Selector { return at(append([]any{"fieldToMatch"}, parts...)...) }
	fs := supportedIn(table.WAFFieldsToMatch, []wafField{
		{name: "uriPath", set: f.URIPath != nil},
		{name: "queryString", set: f.QueryString != nil},
		{name: "method", set: f.Method != nil},
		{name: "singleHeader", set: f.SingleHeader != nil},
		{name: "singleQueryArgument", set: f.SingleQueryArgument != nil},
		{name: "allQueryArguments", set: f.AllQueryArguments != nil},
		{name: "body", set: f.Body != nil},
		{name: "jsonBody", set: f.JSONBody != nil},
		{name: "headers", set: f.Headers != nil},
		{name: "cookies", set: f.Cookies != nil},
		{name: "headerOrder", set: f.HeaderOrder != nil},
		{name: "ja3Fingerprint", set: f.JA3Fingerprint != nil},
		{name: "ja4Fingerprint", set: f.JA4Fingerprint != nil},
		{name: "uriFragment", set: f.URIFragment != nil},
	})
	k.unsupported(key, fat, where+": fieldToMatch", fs)
	k.one(key, fat, where, "fieldToMatch", fs)
	k.headersCookies(key, fat, where+": fieldToMatch", f)
	k.jsonBody(key, fat, where+": fieldToMatch", f.JSONBody)
	k.transformations(key, at, where, tts)
}

// transformations checks a statement's textTransformations.
func (k *checker) transformations(key string, at func(...any) []cue.Selector, where string, tts []schema.TextTransformation) {
	seen := map[int]bool{}
	for i, t := range tts {
		if !table.SupportedTextTransformation(t.Type) {
			k.add(key, at("textTransformations", i, "type"), "%s: text transformation %s is not supported by openfront (it applies %s)", where, t.Type, strings.Join(table.TextTransformations, ", "))
		}
		if seen[t.Priority] {
			k.add(key, at("textTransformations", i, "priority"), "%s: text transformation priority %d is used twice; priorities are unique in a statement", where, t.Priority)
		}
		seen[t.Priority] = true
	}
}

// wafMaxMatchKeys is how many names a headers or cookies match pattern
// lists at most (API_HeaderMatchPattern, API_CookieMatchPattern: "Maximum
// number of 199 items").
const wafMaxMatchKeys = 199

// headersCookies checks a fieldToMatch headers or cookies: its
// matchPattern is exactly one of all, the included names or the excluded
// ones, a list of 1 to 199 names.
func (k *checker) headersCookies(key string, at func(...any) []cue.Selector, where string, f schema.WAFFieldToMatch) {
	name, all, included, excluded := "headers", false, []string(nil), []string(nil)
	inc, exc := "includedHeaders", "excludedHeaders"
	switch {
	case f.Headers != nil:
		p := f.Headers.MatchPattern
		all, included, excluded = p.All != nil, p.IncludedHeaders, p.ExcludedHeaders
	case f.Cookies != nil:
		p := f.Cookies.MatchPattern
		name, inc, exc = "cookies", "includedCookies", "excludedCookies"
		all, included, excluded = p.All != nil, p.IncludedCookies, p.ExcludedCookies
	default:
		return
	}
	pat := func(parts ...any) []cue.Selector { return at(append([]any{name, "matchPattern"}, parts...)...) }
	fs := []wafField{{name: "all", set: all, supported: true}, {name: inc, set: included != nil, supported: true}, {name: exc, set: excluded != nil, supported: true}}
	if !k.one(key, pat, where+": "+name, "matchPattern", fs) {
		return
	}
	for _, l := range []struct {
		field string
		names []string
	}{{inc, included}, {exc, excluded}} {
		switch {
		case l.names == nil:
		case len(l.names) == 0:
			k.add(key, pat(l.field), "%s: %s: %s lists no name; WAF takes 1 to %d", where, name, l.field, wafMaxMatchKeys)
		case len(l.names) > wafMaxMatchKeys:
			k.add(key, pat(l.field), "%s: %s: %s lists %d names; WAF takes %d at most", where, name, l.field, len(l.names), wafMaxMatchKeys)
		}
	}
}
