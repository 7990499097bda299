package cli

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"openfront.dev/compiler/table"
)

// AWS WAF web ACLs and IP sets from `aws wafv2 get-web-acl` and
// `get-ip-set` output: WAF's JSON in lowerCamelCase, an IP set referenced
// by its config name instead of its ARN. A rule that needs what openfront
// does not enforce is left out as an `// openfront import:` note: taking
// part of it would change what it matches.

// awsWAF is a web ACL or IP set read from a file.
type awsWAF struct {
	awsObject
	arn  string
	name string // in the config
}

// wafSupported are the lowerCamelCase fields openfront's schema gives a
// meaning to inside a rule; any other makes the rule unsupported. The
// statements and fields to match are the table's, which vet checks by.
var wafSupported = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range []string{
		"name", "priority", "statement", "action",
		"allow", "block", "count", "customResponse", "responseCode",
		"statements",
		"searchString", "fieldToMatch", "positionalConstraint", "textTransformations", "type",
		"countryCodes", "arn",
		"comparisonOperator", "size", "regexString", "sensitivityLevel",
		"limit", "evaluationWindowSec", "aggregateKeyType", "forwardedIPConfig",
		"headerName", "fallbackBehavior", "scopeDownStatement",
		"matchPattern", "matchScope", "oversizeHandling", "all",
		"includedHeaders", "excludedHeaders", "includedCookies", "excludedCookies",
		"includedPaths", "invalidFallbackBehavior", // wafjson
		"asnList",
		"ipSetForwardedIPConfig", "position", // wafforwarded
		"customKeys", "header", "cookie", "queryArgument", "httpMethod", "ip", "forwardedIP", "labelNamespace", "namespace", // wafkeys
		"ruleLabels", "key", "scope", // waflabel
		"customResponseBodyKey", "responseHeaders", "value", "customRequestHandling", "insertHeaders", // wafresponse
		"overrideAction", "none", "excludedRules", "ruleActionOverrides", "actionToUse", // wafgroup
	} {
		m[k] = true
	}
	for _, k := range slices.Concat(table.WAFStatements, table.WAFFieldsToMatch) {
		m[k] = true
	}
	return m
}()

// wafFirst orders a rule's fields: the higher, the earlier.
var wafFirst = map[string]int{"Name": 3, "Priority": 2, "Action": 1}

// wafLower is WAF's PascalCase field name in lowerCamelCase: a leading
// run of capitals is lowered but for one that starts a word (IPSetReference
// → ipSetReference, ARN → arn, URIPath → uriPath).
func wafLower(k string) string {
	r := []rune(k)
	n := 0
	for n < len(r) && !unicode.IsLower(r[n]) {
		n++
	}
	if n > 1 && n < len(r) {
		n-- // the capital of the next word
	}
	if n == 0 {
		n = 1
	}
	return strings.ToLower(string(r[:n])) + string(r[n:])
}

// unsupported is why a part of WAF's JSON is not imported.
func unsupported(what string) string {
	return "it uses " + what + ", which openfront does not support"
}

// wafGetCommand is the AWS CLI command that prints a web ACL or IP set,
// with the name and id its ARN
// (arn:aws:wafv2:REGION:ACCOUNT:global/webacl/NAME/ID) holds.
func wafGetCommand(get, arn string) string {
	name, id := "NAME", "ID"
	if parts := strings.Split(arn, "/"); len(parts) == 4 && strings.HasPrefix(arn, "arn:") {
		name, id = parts[2], parts[3]
	}
	return fmt.Sprintf("aws wafv2 %s --scope CLOUDFRONT --name %s --id %s", get, name, id)
}

// wafValue converts WAF's JSON to the config's: lowerCamelCase names, no
// VisibilityConfig (openfront's metrics are its own), the search string
// decoded (the CLI prints the blob in base64). why is what openfront does
// not support in it, "" for nothing.
func (imp *importer) wafValue(v any, parent string) (out any, why string) {
	switch v := v.(type) {
	case map[string]any:
		o := &cueStruct{}
		// A rule reads name first; the rest in WAF's names' order.
		keys := slices.SortedFunc(maps.Keys(v), func(a, b string) int {
			if wa, wb := wafFirst[a], wafFirst[b]; wa != wb {
				return wb - wa
			}
			return strings.Compare(a, b)
		})
		for _, k := range keys {
			name := wafLower(k)
			if name == "visibilityConfig" {
				continue
			}
			if !wafSupported[name] && why == "" {
				why = unsupported(name)
			}
			val := v[k]
			switch {
			case name == "searchString":
				s, _ := val.(string)
				val = decodeSearchString(s)
			case name == "arn" && (parent == "ipSetReferenceStatement" || parent == "regexPatternSetReferenceStatement" || parent == "ruleGroupReferenceStatement"):
				arn, _ := val.(string)
				sets, what, get := imp.ipSets, "IP set", "get-ip-set"
				switch parent {
				case "regexPatternSetReferenceStatement":
					sets, what, get = imp.regexSets, "regex pattern set", "get-regex-pattern-set"
				case "ruleGroupReferenceStatement":
					sets, what, get = imp.ruleGroups, "rule group", "get-rule-group"
				}
				set := wafByARN(sets, arn)
				if set == nil {
					if why == "" {
						why = fmt.Sprintf("its %s %s is in no file given: add `%s` output", what, arn, wafGetCommand(get, arn))
					}
					val = arn
					break
				}
				val = set.name
				if err := regexRefused(set); err != nil && why == "" {
					why = fmt.Sprintf("its regex pattern set %s, left out, holds %v", set.name, err)
				}
			case name == "regexString":
				if re, _ := val.(string); why == "" {
					if _, err := table.CompileWAFRegex(re); err != nil {
						why = fmt.Sprintf("its regex %q is %v", re, err)
					}
				}
			case name == "type" && parent == "textTransformations":
				if t, _ := val.(string); !table.SupportedTextTransformation(t) && why == "" {
					why = unsupported("text transformation " + t)
				}
			}
			c, w := imp.wafValue(val, name)
			if why == "" {
				why = w
			}
			o.set(name, c)
		}
		return o, why
	case []any:
		var out []any
		allStrings := true
		for _, e := range v {
			c, w := imp.wafValue(e, parent)
			if why == "" {
				why = w
			}
			if _, ok := c.(string); !ok {
				allStrings = false
			}
			out = append(out, c)
		}
		if allStrings {
			ss := make([]string, len(out))
			for i, e := range out {
				ss[i] = e.(string)
			}
			return ss, why
		}
		if out == nil {
			return []string{}, why
		}
		return out, why
	case json.Number, string, bool:
		return v, ""
	}
	return fmt.Sprint(v), ""
}

// decodeSearchString undoes the CLI's base64 of a search string; text
// that is not base64 of printable UTF-8 is taken as the string itself
// (as a CloudFormation template or a hand-written file gives it).
func decodeSearchString(s string) string {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(b) == 0 || !utf8.Valid(b) || strings.ContainsFunc(string(b), func(r rune) bool { return !unicode.IsPrint(r) }) {
		return s
	}
	return string(b)
}

func wafByARN(sets []*awsWAF, arn string) *awsWAF {
	for _, s := range sets {
		if s.arn == arn {
			return s
		}
	}
	return nil
}

// webACLByID is the web ACL a distribution's WebACLId names: WAFv2's ARN
// (or, for a file without it, the Id).
func (imp *importer) webACLByID(id string) *awsWAF {
	for _, a := range imp.webACLs {
		if a.arn == id || a.id == id {
			return a
		}
	}
	return nil
}

// wafNames gives the web ACLs, IP sets and regex pattern sets their
// config names, unique in each section.
func (imp *importer) wafNames() {
	for _, section := range [][]*awsWAF{imp.ipSets, imp.regexSets, imp.webACLs, imp.ruleGroups} {
		taken := map[string]bool{}
		for _, s := range section {
			name, _ := s.cfg["Name"].(string)
			s.name = uniqueName(sanitizeID(name, s.id), taken, nil)
		}
	}
}

// wafMetadata are fields of get-web-acl and get-ip-set output that say
// what WAF made, not what it does.
var wafMetadata = map[string]bool{"Name": true, "Id": true, "ARN": true, "Capacity": true,
	"ManagedByFirewallManager": true, "RetrofittedByFirewallManager": true, "LockToken": true, "VisibilityConfig": true}

// wafRest notes what else s holds, WAF's metadata aside.
func (imp *importer) wafRest(o *cueStruct, s *src) {
	for k := range wafMetadata {
		s.get(k)
	}
	imp.rest(o, s)
}

func (imp *importer) ipSetsSection() *cueStruct {
	out := &cueStruct{}
	for _, set := range imp.ipSets {
		s := newSrc(set.file, "ipSets."+set.name, set.cfg)
		o := &cueStruct{}
		o.setStr("description", s.str("Description"), "")
		o.set("ipAddressVersion", s.str("IPAddressVersion"))
		o.set("addresses", s.strs("Addresses"))
		imp.wafRest(o, s)
		out.set(set.name, o)
	}
	return out
}

func (imp *importer) regexSetsSection() *cueStruct {
	out := &cueStruct{}
	for _, set := range imp.regexSets {
		s := newSrc(set.file, "regexPatternSets."+set.name, set.cfg)
		if err := regexRefused(set); err != nil {
			// vet refuses the whole config for it, and its rules are left out.
			imp.note(out, s, "regex pattern set %s not imported: it holds %v", set.name, err)
			continue
		}
		o := &cueStruct{}
		o.setStr("description", s.str("Description"), "")
		var list []any
		for _, r := range s.items("RegularExpressionList") {
			m, _ := r.(map[string]any)
			re, _ := m["RegexString"].(string)
			e := &cueStruct{}
			e.set("regexString", re)
			list = append(list, e)
		}
		o.set("regularExpressionList", list)
		imp.wafRest(o, s)
		out.set(set.name, o)
	}
	return out
}

// regexRefused is what refuses one of a regex pattern set's regexes
// (vet's check, which RE2 cannot compile), nil for none.
func regexRefused(set *awsWAF) error {
	list, _ := set.cfg["RegularExpressionList"].([]any)
	for _, r := range list {
		m, _ := r.(map[string]any)
		re, _ := m["RegexString"].(string)
		if _, err := table.CompileWAFRegex(re); err != nil {
			return fmt.Errorf("regex %q, %w", re, err)
		}
	}
	return nil
}

func (imp *importer) webACLsSection() *cueStruct {
	out := &cueStruct{}
	for _, acl := range imp.webACLs {
		s := newSrc(acl.file, "webACLs."+acl.name, acl.cfg)
		o := &cueStruct{}
		o.setStr("description", s.str("Description"), "")
		da, why := imp.wafValue(s.get("DefaultAction"), "defaultAction")
		if why != "" {
			imp.note(o, s, "DefaultAction imported without its settings: %s", why)
			da = plainAction(s.obj("DefaultAction").m)
		}
		o.set("defaultAction", da)
		imp.wafRules(o, s, "web ACL "+acl.name)
		imp.customResponseBodies(o, s)
		imp.associationConfig(o, s)
		imp.wafRest(o, s)
		out.set(acl.name, o)
	}
	return out
}

// ruleBlocks is what a rule of WAF's JSON m protected, "" when it
// refuses nothing: a block, CAPTCHA or challenge action, or a rule group
// whose own actions apply (overrideAction none). Count and allow rules,
// and a group overridden to count, let through what they match.
func ruleBlocks(owner, name string, m map[string]any) string {
	action, _ := m["Action"].(map[string]any)
	override, _ := m["OverrideAction"].(map[string]any)
	for _, a := range []struct{ key, does string }{{"Block", "blocked"}, {"Captcha", "put a CAPTCHA before"}, {"Challenge", "put a challenge before"}} {
		if _, ok := action[a.key]; ok {
			return fmt.Sprintf("%s: rule %s, which %s the requests it matched", owner, name, a.does)
		}
	}
	if _, ok := override["None"]; ok {
		return fmt.Sprintf("%s: rule %s, a rule group whose rules blocked the requests they matched", owner, name)
	}
	return ""
}

// plainAction is an allow or block default action without its custom
// handling.
func plainAction(m map[string]any) *cueStruct {
	o := &cueStruct{}
	if _, ok := m["Block"]; ok {
		o.set("block", &cueStruct{})
	} else {
		o.set("allow", &cueStruct{})
	}
	return o
}

// webACLRef sets a distribution's webACLId from its WebACLId.
func (imp *importer) webACLRef(o *cueStruct, s *src) {
	id := s.str("WebACLId")
	if id == "" {
		return
	}
	if acl := imp.webACLByID(id); acl != nil {
		o.set("webACLId", acl.name)
		return
	}
	what := fmt.Sprintf("%s: web ACL %s, whose rules CloudFront applied to every request", s.path, id)
	if !strings.HasPrefix(id, "arn:") {
		// API_DistributionConfig: "To specify a web ACL created using the
		// latest version of AWS WAF, use the ACL ARN ... To specify a web
		// ACL created using AWS WAF Classic, use the ACL ID".
		imp.weaker(o, s, what, "WebACLId %s not imported: an ID, not an ARN, is an AWS WAF Classic web ACL, which `aws wafv2 get-web-acl` does not print and openfront does not take: migrate it to AWS WAF (the WAF Classic console's migration wizard), then add the new web ACL's `%s` output", id, wafGetCommand("get-web-acl", ""))
		return
	}
	imp.weaker(o, s, what, "WebACLId %s not imported: add `%s` output (and get-ip-set and get-regex-pattern-set output for its sets); openfront enforces rate-based, IP set, geo, string match, size, regex, regex pattern set, SQL injection and XSS rules on the path, query, its arguments, method, headers, cookies, body and JSON body", id, wafGetCommand("get-web-acl", id))
}

// associationConfig imports a web ACL's CloudFront body inspection limit
// (API_AssociationConfig); other resource types' are no CloudFront
// distribution's and stay a note.
func (imp *importer) associationConfig(o *cueStruct, s *src) {
	m, _ := s.m["AssociationConfig"].(map[string]any)
	body, _ := m["RequestBody"].(map[string]any)
	cf, _ := body["CLOUDFRONT"].(map[string]any)
	limit, _ := cf["DefaultSizeInspectionLimit"].(string)
	if limit == "" || len(m) != 1 || len(body) != 1 || len(cf) != 1 {
		return // a note, from wafRest
	}
	s.get("AssociationConfig")
	l, rb, ac := &cueStruct{}, &cueStruct{}, &cueStruct{}
	l.set("defaultSizeInspectionLimit", limit)
	rb.set("CLOUDFRONT", l)
	ac.set("requestBody", rb)
	o.set("associationConfig", ac)
}
