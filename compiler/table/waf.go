package table

import (
	"fmt"
	"maps"
	"net/http"
	"net/netip"
	"net/textproto"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"openfront.dev/schema"
)

// AWS WAF web ACLs, compiled once per table: rules in priority order,
// IP sets as prefix maps, byte matches with their transformations
// resolved. Nothing is parsed per request. The facts come from the WAFv2
// API reference (API_WebACL, API_Rule, API_Statement and the statements')
// and the WAF developer guide (web-acl-processing-order,
// waf-rule-statement-type-rate-based-high-level-settings,
// customizing-the-response-for-blocked-requests).

// WAFActionKind is what a rule or a web ACL's default does with a request.
type WAFActionKind uint8

const (
	WAFAllow WAFActionKind = iota
	WAFBlock
	WAFCount
)

func (k WAFActionKind) String() string {
	switch k {
	case WAFBlock:
		return "block"
	case WAFCount:
		return "count"
	}
	return "allow"
}

// WAFAction is a rule's action or a web ACL's default action.
type WAFAction struct {
	Kind WAFActionKind
	// Custom: a block's customResponse is set, and the distribution's
	// custom error pages have no effect on it, body or not: "If the AWS
	// WAF Block action has a custom response enabled, the protected
	// resource sends the configured custom response back to the client"
	// (customizing-the-response-for-blocked-requests). Beside Kind, in
	// its padding.
	Custom bool
	// Status answers a block: WAF's 403, or the customResponse's
	// responseCode (API_BlockAction).
	Status int
	// Body and Headers are a block's custom response (wafresponse.go).
	Body    *WAFResponseBody
	Headers []WAFHeader
	// Insert are the headers an allow or count inserts into the request
	// (wafresponse.go).
	Insert []WAFHeader
}

// WebACL is a compiled web ACL.
type WebACL struct {
	Name string
	// Rules are in priority order, lowest first (web-acl-processing-order).
	Rules   []*WAFRule
	Default WAFAction
	// NeedsCountry: a geo match statement reads the viewer's country.
	NeedsCountry bool
	// NeedsASN: an ASN match statement reads the viewer's ASN; NeedsTLS:
	// a statement reads the TLS fingerprints (wafasn.go).
	NeedsASN, NeedsTLS bool
	// NeedsLocate: a geo or ASN statement reads a forwarded address's
	// (wafforwarded.go).
	NeedsLocate bool
	// CountryDB and ASNDB: a statement matches a country, or an ASN, the
	// viewer's or a forwarded address's: a node without a database for
	// it would never match (access.CheckDatabases).
	CountryDB, ASNDB bool
	// Headers are the headers byte matches inspect, canonical, once each.
	Headers []string
	// BodyLimit is the bytes of a body its statements inspect, 0 when
	// none inspects the body: only then does the edge read one before
	// the decision (wafbody.go).
	BodyLimit int
	// Inserts: an action inserts request headers (wafresponse.go).
	Inserts bool
}

// WAFRule is a compiled rule: Match, or Rate for a rate-based statement.
type WAFRule struct {
	Name     string
	Priority int
	Action   WAFAction
	Match    WAFMatcher
	Rate     *WAFRate
	// InspectsBody: a statement of the rule reads the body (wafbody.go).
	InspectsBody bool
	// InspectsTLS: a statement of the rule reads the TLS fingerprints.
	InspectsTLS bool
	// Labels are added to a request the rule matches, fully qualified
	// (waflabel.go).
	Labels []string
	// Via is the web ACL's rule that runs this rule of a rule group, nil
	// for the web ACL's own (wafgroup.go).
	Via *WAFGroupRef
	// Forwarded are the headers the rule's forwarded-address statements
	// read (wafforwarded.go): without any of them the rule does not apply.
	Forwarded []string
	// geo are where the rule's geo match statements read a country, for
	// their labels (wafgeolabel.go): Header "" is the viewer's address.
	geo []WAFForwardedIP
}

// WAFRate is a rate-based statement (API_RateBasedStatement).
type WAFRate struct {
	// ID names the rule's counts: the web ACL, the rule and its settings.
	// A change of any resets them, as WAF's do ("If you change any of
	// these settings in a rule that's currently in use, the change resets
	// the rule's rate limiting counts").
	ID     string
	Limit  int64
	Window time.Duration
	// Aggregate is IP, FORWARDED_IP or CONSTANT (one count for all).
	Aggregate string
	// WAFForwardedIP is FORWARDED_IP's forwardedIPConfig (wafforwarded.go).
	WAFForwardedIP
	// Keys are CUSTOM_KEYS' (wafkeys.go).
	Keys []wafCustomKey
	// ScopeDown, when set, is what a request must match to be counted.
	ScopeDown WAFMatcher
}

// Describe says what the rule counts, as route explains it.
func (r *WAFRate) Describe() string {
	per := "per IP"
	switch r.Aggregate {
	case "FORWARDED_IP":
		per = "per " + r.Header + " address"
	case "CONSTANT":
		per = "for all requests together"
	case "CUSTOM_KEYS":
		per = "per " + r.describeKeys()
	}
	s := fmt.Sprintf("limit %d per %d s %s", r.Limit, int(r.Window/time.Second), per)
	if r.ScopeDown != nil {
		s += ", of requests its scope-down statement matches"
	}
	return s
}

// WAFRequest is what a web ACL inspects of a request.
type WAFRequest struct {
	Method string
	// Path is the URI path as the viewer sent it, RawQuery the query.
	Path, RawQuery string
	// Host is the Host header's, which Header does not hold.
	Host   string
	Header http.Header
	// Client is the viewer's address (the edge's, behind trusted proxies).
	Client netip.Addr
	// Country is the viewer's, "" when unknown.
	Country string
	// Body is what the web ACL inspects of the body (wafbody.go); nil
	// for a request without one.
	Body *WAFBody
	// ASN is the viewer's, 0 when unknown (as WAF assigns); TLS the
	// fingerprints of its ClientHello, nil for none (wafasn.go).
	ASN uint32
	// GRPC: the request is a gRPC call its behavior proxies (grpcConfig),
	// whose rules that inspect the body are left out, neither matching
	// nor labelling: "any request that uses gRPC will ignore the request
	// body inspection rules. All other AWS WAF rules will still apply"
	// (distribution-using-grpc.md). Beside ASN, in its padding.
	GRPC bool
	TLS  WAFFingerprints
	// Locate looks up forwarded addresses when WebACL.NeedsLocate; nil
	// knows none (wafforwarded.go).
	Locate WAFLocator
	// Labels are those the rules evaluated so far added (waflabel.go);
	// evaluation sets them.
	Labels []string
	// Skip, when set, names rules the caller cannot evaluate: openfront
	// route, which has no body and no TLS handshake to give them. They
	// neither match nor label. The edge sets none.
	Skip func(*WAFRule) bool
}

// WAFMatcher is a compiled statement that matches a request alone.
type WAFMatcher interface {
	Match(r *WAFRequest) bool
}

// rateKey is the address a rate rule counts r under: the viewer's, its
// forwarded header's first address, or the zero address for CONSTANT.
// apply is false when the rule does not apply (FORWARDED_IP without the
// header: "If the specified header isn't present in the request, AWS WAF
// doesn't apply the rule", API_ForwardedIPConfig); fallback is true when
// the header holds no valid address, and then FallbackMatch is the
// rule's match.
func (r *WAFRate) rateKey(req *WAFRequest) (key netip.Addr, apply, fallback bool) {
	switch r.Aggregate {
	case "CONSTANT":
		return netip.Addr{}, true, false
	case "FORWARDED_IP":
		return r.first(req)
	}
	return req.Client, true, false
}

// WAFGuards are the distributions whose web ACLs a request for host,
// served by d, passes, in order; either may be nil. WAF is in front of the
// host the viewer names: a viewer may ask for a primary's staging
// distribution (its header, a sticky cookie it writes) and gets no way
// past the primary's rules; staging's own, when it has others, apply too.
func WAFGuards(host, d *Distribution) (first, second *Distribution) {
	if host.WebACL != nil {
		first = host
	}
	if d != host && d.WebACL != nil && (host.WebACL == nil || d.WebACL.Name != host.WebACL.Name) {
		second = d
	}
	return first, second
}

// WAFDecision is what a web ACL decides for a request.
type WAFDecision struct {
	// Rule is the rule whose action terminated, nil for the default action.
	Rule   *WAFRule
	Action WAFAction
	// Insert are the headers the origin request gets: those of the count
	// rules that matched, then the allow's (wafresponse.go).
	Insert []WAFHeader
}

// RuleName is the deciding rule's name, "default" for the default action.
func (d WAFDecision) RuleName() string {
	if d.Rule == nil {
		return "default"
	}
	return d.Rule.MetricName()
}

// Describe names what decided: "rule NAME" or "the default action".
func (d WAFDecision) Describe() string {
	if d.Rule == nil {
		return "the default action"
	}
	return fmt.Sprintf("rule %q", d.Rule.MetricName())
}

// Evaluate runs the rules from the lowest priority: the first matching
// rule with allow or block decides; a matching count rule is reported to
// counted and evaluation goes on; none: the default action. over counts
// a request for a rate rule under key and reports whether the key is
// over the limit; nil never is.
//
// AWS WAF inspects the path as sent (unless a rule names NORMALIZE_PATH),
// but behaviors match, and origins resolve, the
// normalized one (MatchPath): "/x/../admin" would get past a rule on
// "/admin" to the "/admin" content. And a header given twice is inspected
// joined, where an origin may read its first value or its last: a second
// User-Agent would hide "BadBot" from an EXACTLY rule. So such a request
// is evaluated again with the normalized path and each repeated header's
// first value, then its last, and blocked when any evaluation blocks: the
// rules protect what they name whichever way the viewer spells it. A rate
// rule counts the request once, and a count rule is reported once.
func (a *WebACL) Evaluate(req *WAFRequest, over func(r *WAFRule, key WAFRateKey) bool, counted func(r *WAFRule)) WAFDecision {
	variants := a.variants(req)
	if variants == nil {
		return a.evaluate(req, over, counted)
	}
	type result struct {
		rule *WAFRule
		pass int
		over bool
	}
	var seen []result
	pass := 0
	// A rule counted in an earlier pass is not counted again: a custom
	// key on the path (or a repeated header) would count the request
	// under each spelling. In one pass, each of its keys (labels) is.
	once := func(r *WAFRule, key WAFRateKey) bool {
		earlier, o := false, false
		for _, s := range seen {
			if s.rule == r && s.pass < pass {
				earlier, o = true, o || s.over
			}
		}
		if earlier {
			return o
		}
		o = over != nil && over(r, key)
		seen = append(seen, result{r, pass, o})
		return o
	}
	dec := a.evaluate(req, once, counted)
	if dec.Action.Kind == WAFBlock {
		return dec
	}
	for _, v := range variants {
		pass++
		if d := a.evaluate(v, once, nil); d.Action.Kind == WAFBlock {
			return d
		}
	}
	return dec
}

// variants are the other spellings of req Evaluate inspects: nil when its
// path is normalized and no header the rules inspect is repeated. The
// last, when it differs, is the path decoded whole before it is
// normalized: MatchPath keeps "%2F", but an origin that decodes it before
// it resolves dot segments takes /x%2F..%2Fadmin for /admin.
func (a *WebACL) variants(req *WAFRequest) []*WAFRequest {
	norm := MatchPath(req.Path)
	decoded := norm
	if strings.IndexByte(req.Path, '%') >= 0 {
		decoded = MatchPath(urlDecode(req.Path))
	}
	var repeated []string
	for _, h := range a.Headers {
		if len(req.Header[h]) > 1 {
			repeated = append(repeated, h)
		}
	}
	if norm == req.Path && decoded == norm && repeated == nil {
		return nil
	}
	first := *req
	first.Path = norm
	out := []*WAFRequest{&first}
	if repeated != nil {
		last := first
		first.Header, last.Header = maps.Clone(req.Header), maps.Clone(req.Header)
		for _, h := range repeated {
			vs := req.Header[h]
			first.Header[h], last.Header[h] = vs[:1], vs[len(vs)-1:]
		}
		out = append(out, &last)
	}
	if decoded != norm {
		d := first
		d.Path = decoded
		out = append(out, &d)
	}
	return out
}

// WAFSpelling is one of the other spellings of a request Evaluate
// inspects, with how it differs from the request as sent.
type WAFSpelling struct {
	Request *WAFRequest
	How     string // "the path normalized (/admin)", "User-Agent's last value", ...
}

// Spellings are the other spellings of req Evaluate inspects, in its
// order, for openfront route to say through which a rule matched.
func (a *WebACL) Spellings(req *WAFRequest) []WAFSpelling {
	vs := a.variants(req)
	out := make([]WAFSpelling, 0, len(vs))
	for _, v := range vs {
		var how []string
		switch {
		case v.Path == req.Path:
		case v.Path == MatchPath(req.Path):
			how = append(how, "the path normalized ("+v.Path+")")
		default:
			how = append(how, "the path decoded ("+v.Path+")")
		}
		for _, h := range a.Headers {
			if all := req.Header[h]; len(all) > 1 {
				which := "first"
				if v.Header[h][0] != all[0] {
					which = "last"
				}
				how = append(how, h+"'s "+which+" value")
			}
		}
		if how != nil { // else the request as sent
			out = append(out, WAFSpelling{v, strings.Join(how, " and ")})
		}
	}
	return out
}

func (a *WebACL) evaluate(req *WAFRequest, over func(r *WAFRule, key WAFRateKey) bool, counted func(r *WAFRule)) WAFDecision {
	req.Labels = nil
	var counts []WAFHeader   // count rules' insertHeaders
	var stopped *WAFGroupRef // a rule group whose evaluation ended in a count
	for _, r := range a.Rules {
		if r.Via != nil && r.Via == stopped || req.Skip != nil && req.Skip(r) || req.GRPC && r.InspectsBody {
			continue
		}
		matched := r.matches(req, over)
		if r.geo != nil {
			r.AddGeoLabels(req) // matched or not
		}
		if !matched {
			continue
		}
		r.AddLabels(req)
		if r.Counted() {
			stopped = r.Via
			if counted != nil {
				counted(r)
			}
			continue
		}
		if r.Action.Kind == WAFCount {
			if counted != nil {
				counted(r)
			}
			counts = append(counts, r.Action.Insert...)
			continue
		}
		return decided(r, r.Action, counts)
	}
	return decided(nil, a.Default, counts)
}

func (r *WAFRule) matches(req *WAFRequest, over func(*WAFRule, WAFRateKey) bool) bool {
	if r.missing(req) != "" {
		return false
	}
	if r.Rate == nil {
		return r.Match.Match(req)
	}
	if r.Rate.ScopeDown != nil && !r.Rate.ScopeDown.Match(req) {
		return false
	}
	if r.Rate.Keys != nil {
		return r.Rate.overCustom(r, req, over)
	}
	key, apply, fallback := r.Rate.rateKey(req)
	switch {
	case !apply:
		return false
	case fallback:
		return r.Rate.FallbackMatch
	}
	return over != nil && over(r, WAFRateKey{Addr: key})
}

// newWebACL compiles a vetted web ACL with the config's IP sets.
func newWebACL(name string, spec *schema.WebACL, cfg *schema.Config) (*WebACL, error) {
	return compileWebACL(name, spec, cfg, map[string]*wafGroup{})
}

// compileWebACL compiles a web ACL; groups are the rule groups compiled
// so far, which it adds to.
func compileWebACL(name string, spec *schema.WebACL, cfg *schema.Config, groups map[string]*wafGroup) (*WebACL, error) {
	a := &WebACL{Name: name, Default: defaultAction(spec.DefaultAction, spec.CustomResponseBodies)}
	c := newWAFCompiler(cfg, WAFLabelNamespace(name, spec))
	for i := range spec.Rules {
		rs := &spec.Rules[i]
		if rs.Statement.RuleGroupReferenceStatement != nil {
			rules, err := c.groupReference(name, spec, rs, cfg, groups)
			if err != nil {
				return nil, fmt.Errorf("web ACL %q: rule %q: %w", name, rs.Name, err)
			}
			a.Rules = append(a.Rules, rules...)
			continue
		}
		r, err := c.rule(name, rs, spec.CustomResponseBodies)
		if err != nil {
			return nil, fmt.Errorf("web ACL %q: %w", name, err)
		}
		a.Rules = append(a.Rules, r)
	}
	// A rule group's rules run in their order where the web ACL's rule
	// that references the group runs.
	slices.SortStableFunc(a.Rules, func(x, y *WAFRule) int { return x.order() - y.order() })
	a.NeedsCountry, a.Headers, a.Inserts = c.geo, c.headers, a.inserts()
	a.NeedsASN, a.NeedsTLS, a.NeedsLocate = c.asn, c.tls, c.locate
	a.CountryDB, a.ASNDB = c.countryDB, c.asnDB
	if c.body {
		a.BodyLimit = WAFBodyLimit(spec)
	}
	return a, nil
}

func newWAFCompiler(cfg *schema.Config, namespace string) *wafCompiler {
	return &wafCompiler{ipSets: cfg.IPSets, sets: map[string]*ipSetMatcher{}, regexSets: cfg.RegexPatternSets, regexes: map[string][]*regexp.Regexp{}, namespace: namespace}
}

// rule compiles a rule of a web ACL or rule group (named acl), its
// labels in the compiler's namespace.
func (c *wafCompiler) rule(acl string, rs *schema.WAFRule, bodies map[string]schema.WAFCustomResponseBody) (*WAFRule, error) {
	r := &WAFRule{Name: rs.Name, Priority: rs.Priority, Labels: wafLabels(c.namespace, rs.RuleLabels)}
	if rs.Action == nil {
		return nil, fmt.Errorf("rule %q has no action", rs.Name)
	}
	r.Action = ruleAction(*rs.Action, bodies)
	var err error
	body, tls := c.body, c.tls
	c.body, c.tls, c.forwarded, c.geoSources = false, false, nil, nil
	if rb := rs.Statement.RateBasedStatement; rb != nil {
		r.Rate, err = c.rate(acl, rs.Name, rb)
	} else {
		r.Match, err = c.statement(&rs.Statement)
	}
	r.Forwarded, r.geo = c.forwarded, c.geoSources
	r.InspectsBody, c.body = c.body, body || c.body
	r.InspectsTLS, c.tls = c.tls, tls || c.tls
	if err != nil {
		return nil, fmt.Errorf("rule %q: %w", rs.Name, err)
	}
	return r, nil
}

func defaultAction(d schema.WAFDefaultAction, bodies map[string]schema.WAFCustomResponseBody) WAFAction {
	if d.Block != nil {
		return blockAction(d.Block, bodies)
	}
	a := WAFAction{Kind: WAFAllow}
	if d.Allow != nil {
		a.Insert = insertHeaders(d.Allow.CustomRequestHandling)
	}
	return a
}

func ruleAction(a schema.WAFRuleAction, bodies map[string]schema.WAFCustomResponseBody) WAFAction {
	switch {
	case a.Block != nil:
		return blockAction(a.Block, bodies)
	case a.Count != nil:
		return WAFAction{Kind: WAFCount, Insert: insertHeaders(a.Count.CustomRequestHandling)}
	}
	return WAFAction{Kind: WAFAllow, Insert: insertHeaders(a.Allow.CustomRequestHandling)}
}

func blockAction(b *schema.WAFBlockAction, bodies map[string]schema.WAFCustomResponseBody) WAFAction {
	if b.CustomResponse != nil {
		a := WAFAction{Kind: WAFBlock, Custom: true, Status: b.CustomResponse.ResponseCode}
		a.customResponse(b.CustomResponse, bodies)
		return a
	}
	return WAFAction{Kind: WAFBlock, Status: http.StatusForbidden}
}

type wafCompiler struct {
	ipSets map[string]*schema.IPSet
	sets   map[string]*ipSetMatcher // compiled once per web ACL
	// regexSets are the config's regex pattern sets, regexes those
	// compiled, once per web ACL.
	regexSets map[string]*schema.RegexPatternSet
	regexes   map[string][]*regexp.Regexp
	wafNeeds
	// namespace is the labels' of the web ACL or rule group compiled:
	// its label match statements' context (waflabel.go).
	namespace string
	// forwarded are the headers the rule compiled reads addresses from.
	forwarded []string
	// geoSources are where its geo match statements read a country.
	geoSources []WAFForwardedIP
}

// wafNeeds is what the statements compiled need of a request beyond
// itself, which the edge then looks up for their web ACL alone; a rule
// group's are its referencing web ACL's too.
type wafNeeds struct {
	geo bool // a statement matches the viewer's country
	// headers are those byte matches inspect, canonical, once each.
	headers []string
	body    bool // a statement inspects the body
	asn     bool // a statement matches the viewer's ASN
	tls     bool // a statement inspects the TLS fingerprints
	locate  bool // a statement looks up a forwarded address
	// countryDB, asnDB: a statement matches a country, an ASN, of the
	// viewer or of a forwarded address.
	countryDB, asnDB bool
}

// add makes n need what o needs.
func (n *wafNeeds) add(o wafNeeds) {
	n.geo, n.body, n.asn, n.tls, n.locate = n.geo || o.geo, n.body || o.body, n.asn || o.asn, n.tls || o.tls, n.locate || o.locate
	n.countryDB, n.asnDB = n.countryDB || o.countryDB, n.asnDB || o.asnDB
	for _, h := range o.headers {
		if !slices.Contains(n.headers, h) {
			n.headers = append(n.headers, h)
		}
	}
}

func (c *wafCompiler) rate(acl, rule string, s *schema.RateBasedStatement) (*WAFRate, error) {
	r := &WAFRate{Limit: s.Limit, Window: time.Duration(s.EvaluationWindowSec) * time.Second, Aggregate: s.AggregateKeyType}
	switch s.AggregateKeyType {
	case "IP", "CONSTANT":
	case "FORWARDED_IP", "CUSTOM_KEYS":
		if s.AggregateKeyType == "CUSTOM_KEYS" {
			var err error
			if r.Keys, err = compileCustomKeys(s.CustomKeys, c.namespace); err != nil {
				return nil, err
			}
		}
		if s.ForwardedIPConfig != nil {
			r.WAFForwardedIP = compileForwarded(s.ForwardedIPConfig.HeaderName, s.ForwardedIPConfig.FallbackBehavior, "FIRST")
		} else if s.AggregateKeyType == "FORWARDED_IP" {
			return nil, fmt.Errorf("aggregateKeyType FORWARDED_IP without forwardedIPConfig")
		}
	default:
		return nil, fmt.Errorf("aggregateKeyType %s is not supported", s.AggregateKeyType)
	}
	if s.ScopeDownStatement != nil {
		var err error
		if r.ScopeDown, err = c.statement(s.ScopeDownStatement); err != nil {
			return nil, fmt.Errorf("scopeDownStatement: %w", err)
		}
	}
	r.ID = acl + "\x00" + rule + "\x00" + hashJSON(s)[:16]
	return r, nil
}

// WAFStatements are the statements openfront evaluates, by their names
// in the config (schema #WAFStatement): vet refuses any other, and import
// leaves out a rule that uses one. One that is added here needs its case
// in statement below.
var WAFStatements = []string{"byteMatchStatement", "geoMatchStatement", "ipSetReferenceStatement", "rateBasedStatement",
	"sizeConstraintStatement", "regexMatchStatement", "regexPatternSetReferenceStatement",
	"sqliMatchStatement", "xssMatchStatement", "andStatement", "orStatement", "notStatement",
	"asnMatchStatement", "labelMatchStatement",
	"ruleGroupReferenceStatement"}

// WAFFieldsToMatch are the parts of a request the statements with a
// fieldToMatch inspect here (schema #WAFFieldToMatch); compileInput reads
// them.
var WAFFieldsToMatch = []string{"uriPath", "queryString", "method", "singleHeader", "singleQueryArgument", "allQueryArguments",
	"headers", "cookies", "body", "jsonBody",
	"ja3Fingerprint", "ja4Fingerprint", "uriFragment"}

func (c *wafCompiler) statement(s *schema.WAFStatement) (WAFMatcher, error) {
	if m, ok, err := c.forwardedStatement(s); ok {
		return m, err
	}
	switch {
	case s.ByteMatchStatement != nil:
		m, err := compileByteMatch(s.ByteMatchStatement)
		if err != nil {
			return nil, err
		}
		c.inspects(&m.wafInput)
		return m, nil
	case s.SizeConstraintStatement != nil:
		m, err := compileSize(s.SizeConstraintStatement)
		if err != nil {
			return nil, err
		}
		c.inspects(&m.wafInput)
		return m, nil
	case s.RegexMatchStatement != nil:
		m, err := compileRegexMatch(s.RegexMatchStatement)
		if err != nil {
			return nil, err
		}
		c.inspects(&m.wafInput)
		return m, nil
	case s.SqliMatchStatement != nil:
		in, err := compileInput(s.SqliMatchStatement.FieldToMatch, s.SqliMatchStatement.TextTransformations)
		if err != nil {
			return nil, err
		}
		c.inspects(&in)
		return &injectionMatcher{wafInput: in, high: s.SqliMatchStatement.SensitivityLevel == "HIGH"}, nil
	case s.XssMatchStatement != nil:
		in, err := compileInput(s.XssMatchStatement.FieldToMatch, s.XssMatchStatement.TextTransformations)
		if err != nil {
			return nil, err
		}
		c.inspects(&in)
		return &injectionMatcher{wafInput: in, xss: true}, nil
	case s.RegexPatternSetReferenceStatement != nil:
		r := s.RegexPatternSetReferenceStatement
		in, err := compileInput(r.FieldToMatch, r.TextTransformations)
		if err != nil {
			return nil, err
		}
		res, err := c.regexSet(r.ARN)
		if err != nil {
			return nil, err
		}
		c.inspects(&in)
		return &regexMatcher{wafInput: in, set: r.ARN, regexes: res}, nil
	case s.AsnMatchStatement != nil:
		c.asn, c.asnDB = true, true
		return compileASN(s.AsnMatchStatement)
	case s.GeoMatchStatement != nil:
		c.geo, c.countryDB = true, true
		c.geoSource(WAFForwardedIP{})
		return geoMatcher(slices.Clone(s.GeoMatchStatement.CountryCodes)), nil
	case s.IPSetReferenceStatement != nil:
		name := s.IPSetReferenceStatement.ARN
		if m := c.sets[name]; m != nil {
			return m, nil
		}
		set := c.ipSets[name]
		if set == nil {
			return nil, fmt.Errorf("unknown IP set %q", name)
		}
		m, err := compileIPSet(name, set)
		if err != nil {
			return nil, fmt.Errorf("IP set %q: %w", name, err)
		}
		c.sets[name] = m
		return m, nil
	case s.AndStatement != nil, s.OrStatement != nil:
		list, and := s.OrStatement, false
		if s.AndStatement != nil {
			list, and = s.AndStatement, true
		}
		ms := make([]WAFMatcher, 0, len(list.Statements))
		for i := range list.Statements {
			m, err := c.statement(&list.Statements[i])
			if err != nil {
				return nil, err
			}
			ms = append(ms, m)
		}
		if and {
			return andMatcher(ms), nil
		}
		return orMatcher(ms), nil
	case s.LabelMatchStatement != nil:
		return compileLabelMatch(s.LabelMatchStatement, c.namespace), nil
	case s.NotStatement != nil:
		m, err := c.statement(&s.NotStatement.Statement)
		if err != nil {
			return nil, err
		}
		return notMatcher{m}, nil
	}
	return nil, fmt.Errorf("a statement openfront does not support")
}

// regexSet is the named regex pattern set's regexes, compiled once.
func (c *wafCompiler) regexSet(name string) ([]*regexp.Regexp, error) {
	if res, ok := c.regexes[name]; ok {
		return res, nil
	}
	set := c.regexSets[name]
	if set == nil {
		return nil, fmt.Errorf("unknown regex pattern set %q", name)
	}
	res := make([]*regexp.Regexp, 0, len(set.RegularExpressionList))
	for _, r := range set.RegularExpressionList {
		re, err := CompileWAFRegex(r.RegexString)
		if err != nil {
			return nil, fmt.Errorf("regex pattern set %q: %w", name, err)
		}
		res = append(res, re)
	}
	c.regexes[name] = res
	return res, nil
}

// inspects notes the header in reads, for Evaluate's spellings.
func (c *wafCompiler) inspects(in *wafInput) {
	c.body = c.body || in.field == "body" || in.field == "jsonBody"
	c.tls = c.tls || in.field == "ja3Fingerprint" || in.field == "ja4Fingerprint"
	if h := in.header; h != "" && h != "Host" && !slices.Contains(c.headers, h) {
		c.headers = append(c.headers, h)
	}
}

type andMatcher []WAFMatcher

func (a andMatcher) Match(r *WAFRequest) bool {
	for _, m := range a {
		if !m.Match(r) {
			return false
		}
	}
	return true
}

type orMatcher []WAFMatcher

func (o orMatcher) Match(r *WAFRequest) bool {
	for _, m := range o {
		if m.Match(r) {
			return true
		}
	}
	return false
}

type notMatcher struct{ m WAFMatcher }

func (n notMatcher) Match(r *WAFRequest) bool { return !n.m.Match(r) }

// geoMatcher matches the viewer's country; an unknown one matches none
// (WAF's own database would know more countries than a node's may).
type geoMatcher []string

func (g geoMatcher) Match(r *WAFRequest) bool {
	return r.Country != "" && slices.Contains(g, r.Country)
}

// ipSetMatcher holds an IP set's prefixes by length: a lookup masks the
// address once per distinct length, with no allocation.
type ipSetMatcher struct {
	name     string
	bits     []int // distinct prefix lengths, of either family
	prefixes map[netip.Prefix]struct{}
}

// ParseIPSetAddress parses an IP set's address: CIDR notation of the
// set's ipAddressVersion (IPV4 or IPV6), any length but /0 (WAF "supports
// all IPv4 and IPv6 CIDR ranges except for /0", API_IPSet).
func ParseIPSetAddress(s, version string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an address in CIDR notation (such as 192.0.2.0/24 or 2001:db8::/32)", s)
	}
	if p.Addr().Is4() != (version == "IPV4") {
		return netip.Prefix{}, fmt.Errorf("%q is not an %s address, the set's ipAddressVersion", s, version)
	}
	if p.Bits() == 0 {
		return netip.Prefix{}, fmt.Errorf("%q: WAF takes any CIDR range but /0", s)
	}
	return p.Masked(), nil
}

func compileIPSet(name string, s *schema.IPSet) (*ipSetMatcher, error) {
	m := &ipSetMatcher{name: name, prefixes: make(map[netip.Prefix]struct{}, len(s.Addresses))}
	for _, a := range s.Addresses {
		p, err := ParseIPSetAddress(a, s.IPAddressVersion)
		if err != nil {
			return nil, err
		}
		// An IPv4 viewer's address is unmapped (Match): an IPV6 set's
		// ::ffff:a.b.c.d/n is a.b.c.d/(n-96) to it.
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		m.prefixes[p] = struct{}{}
		if !slices.Contains(m.bits, p.Bits()) {
			m.bits = append(m.bits, p.Bits())
		}
	}
	slices.Sort(m.bits)
	return m, nil
}

func (m *ipSetMatcher) Match(r *WAFRequest) bool {
	_, ok := m.lookup(r.Client)
	return ok
}

// lookup is the set's shortest prefix holding a.
func (m *ipSetMatcher) lookup(a netip.Addr) (netip.Prefix, bool) {
	a = a.Unmap()
	if !a.IsValid() {
		return netip.Prefix{}, false
	}
	for _, bits := range m.bits {
		p, err := a.Prefix(bits)
		if err != nil {
			continue // longer than the family's addresses
		}
		if _, ok := m.prefixes[p]; ok {
			return p, true
		}
	}
	return netip.Prefix{}, false
}

// wafInput is a statement's fieldToMatch with its textTransformations
// (API_FieldToMatch, API_TextTransformation): the part of a request it
// inspects, transformed "from the lowest priority setting" up before the
// statement looks at it.
type wafInput struct {
	field      string                // uriPath, queryString, method, singleHeader, singleQueryArgument or allQueryArguments
	header     string                // canonical, for singleHeader
	arg        string                // singleQueryArgument's name
	oversize   string                // body's oversizeHandling
	transforms []func(string) string // in priority order, NONE left out
	names      []string              // their types, for route
	multi      *wafMulti             // headers or cookies (wafheaders.go)
	fallback   string                // ja3Fingerprint's, ja4Fingerprint's or uriFragment's fallbackBehavior
	json       *wafJSON              // jsonBody's (wafjson.go)
}

func compileInput(f schema.WAFFieldToMatch, tts []schema.TextTransformation) (wafInput, error) {
	var in wafInput
	switch {
	case f.URIPath != nil:
		in.field = "uriPath"
	case f.QueryString != nil:
		in.field = "queryString"
	case f.Method != nil:
		in.field = "method"
	case f.SingleHeader != nil:
		in.field, in.header = "singleHeader", textproto.CanonicalMIMEHeaderKey(f.SingleHeader.Name)
	case f.SingleQueryArgument != nil:
		in.field, in.arg = "singleQueryArgument", f.SingleQueryArgument.Name
	case f.AllQueryArguments != nil:
		in.field = "allQueryArguments"
	case f.Headers != nil, f.Cookies != nil:
		var err error
		if in.field, in.multi, err = compileMultiField(f); err != nil {
			return in, err
		}
	case f.Body != nil:
		in.field, in.oversize = "body", f.Body.OversizeHandling
	case f.JSONBody != nil:
		in.field, in.oversize, in.json = "jsonBody", f.JSONBody.OversizeHandling, compileJSON(f.JSONBody)
	case f.JA3Fingerprint != nil:
		in.field, in.fallback = "ja3Fingerprint", f.JA3Fingerprint.FallbackBehavior
	case f.JA4Fingerprint != nil:
		in.field, in.fallback = "ja4Fingerprint", f.JA4Fingerprint.FallbackBehavior
	case f.URIFragment != nil:
		in.field, in.fallback = "uriFragment", f.URIFragment.FallbackBehavior
	default:
		return in, fmt.Errorf("a fieldToMatch openfront does not support")
	}
	ts := slices.Clone(tts)
	slices.SortStableFunc(ts, func(a, b schema.TextTransformation) int { return a.Priority - b.Priority })
	for _, t := range ts {
		if !SupportedTextTransformation(t.Type) {
			return in, fmt.Errorf("text transformation %s is not supported", t.Type)
		}
		if f := textTransformations[t.Type]; f != nil {
			in.transforms = append(in.transforms, f)
			in.names = append(in.names, t.Type)
		}
	}
	return in, nil
}

// inspect calls match with the field's value, transformed, and reports
// its answer; a request without the field (a header it lacks) matches
// nothing. Query arguments are each inspected alone, and any match is
// the statement's.
func (in *wafInput) inspect(r *WAFRequest, match func(v string) bool) bool {
	var v string
	switch in.field {
	case "singleQueryArgument", "allQueryArguments":
		return in.inspectArgs(r.RawQuery, match)
	case "headers", "cookies":
		return in.inspectMulti(r, match)
	case "body":
		return in.inspectBody(r, match)
	case "jsonBody":
		return in.inspectJSON(r, match)
	case "ja3Fingerprint", "ja4Fingerprint", "uriFragment":
		return in.inspectFallback(r, match)
	case "uriPath":
		v = r.Path
	case "queryString":
		v = r.RawQuery
	case "method":
		v = r.Method
	case "singleHeader":
		if in.header == "Host" {
			v = r.Host
			break
		}
		vs, ok := r.Header[in.header]
		if !ok {
			return false
		}
		// WAF inspects the header's value; repeated ones, joined.
		if len(vs) == 1 {
			v = vs[0]
		} else {
			v = strings.Join(vs, ",")
		}
	}
	return match(in.transform(v))
}

// inspectArgs calls match with each query argument's value (the text
// after its first "=", as sent: a rule's URL_DECODE decodes it), or only
// with those whose name is singleQueryArgument's, its case aside
// (API_SingleQueryArgument: "The name isn't case sensitive") and its %XX
// decoded, so that com%6Dent is comment too. An argument without "=" is
// inspected whole by allQueryArguments. The query is read in place,
// no map made.
func (in *wafInput) inspectArgs(query string, match func(v string) bool) bool {
	for query != "" {
		var arg string
		arg, query, _ = strings.Cut(query, "&")
		name, v, hasValue := strings.Cut(arg, "=")
		if !hasValue && in.field == "allQueryArguments" {
			v = arg // ?<script>: what a viewer sent is inspected, name or not
		}
		if in.field == "singleQueryArgument" && !strings.EqualFold(name, in.arg) && !strings.EqualFold(urlDecode(name), in.arg) {
			continue
		}
		if arg != "" && match(in.transform(v)) {
			return true
		}
	}
	return false
}

func (in *wafInput) transform(v string) string {
	for _, t := range in.transforms {
		v = t(v)
	}
	return v
}

// explainInput says why m, a statement with a fieldToMatch, matched or
// not when the field's size (oversizeHandling) or absence
// (fallbackBehavior) decided it; ok is false otherwise.
func explainInput(m WAFMatcher, r *WAFRequest) (matched bool, why string, ok bool) {
	i, isInput := m.(interface{ input() *wafInput })
	if !isInput {
		return false, "", false
	}
	in := i.input()
	if decided, matched := in.oversized(r); decided {
		return matched, in.explainOversize(matched), true
	}
	if matched, why, ok := in.explainFallback(r); ok {
		return matched, why, true
	}
	return in.multiOversize(r)
}

// input is the fieldToMatch of the statement that embeds in.
func (in *wafInput) input() *wafInput { return in }

// describe names the field as route says it: "the query string".
func (in *wafInput) describe() string {
	s := map[string]string{"uriPath": "the URI path", "queryString": "the query string", "method": "the method", "body": "the body",
		"ja3Fingerprint": "the JA3 fingerprint", "ja4Fingerprint": "the JA4 fingerprint", "uriFragment": "the URI fragment"}[in.field]
	switch in.field {
	case "singleHeader":
		s = "header " + in.header
	case "singleQueryArgument":
		s = "query argument " + in.arg
	case "allQueryArguments":
		s = "a query argument"
	case "headers", "cookies":
		s = in.multi.describe()
	case "jsonBody":
		s = in.json.describe()
	}
	if in.names != nil {
		s += " after " + strings.Join(in.names, ", ")
	}
	return s
}

// byteMatcher is a ByteMatchStatement (API_ByteMatchStatement).
type byteMatcher struct {
	wafInput
	search   string
	position string
}

func compileByteMatch(s *schema.ByteMatchStatement) (*byteMatcher, error) {
	in, err := compileInput(s.FieldToMatch, s.TextTransformations)
	if err != nil {
		return nil, err
	}
	return &byteMatcher{wafInput: in, search: s.SearchString, position: s.PositionalConstraint}, nil
}

func (m *byteMatcher) Match(r *WAFRequest) bool {
	return m.inspect(r, func(v string) bool { return positionMatch(v, m.search, m.position) })
}

// sizeMatcher is a SizeConstraintStatement (API_SizeConstraintStatement):
// "Size ComparisonOperator size in bytes of FieldToMatch" after the
// transformations ("If you choose text transformations, AWS WAF performs
// your transformations before inspecting the request"): a URL_DECODE
// makes %41 one byte.
type sizeMatcher struct {
	wafInput
	op   string
	size int64
}

func compileSize(s *schema.SizeConstraintStatement) (*sizeMatcher, error) {
	in, err := compileInput(s.FieldToMatch, s.TextTransformations)
	if err != nil {
		return nil, err
	}
	return &sizeMatcher{wafInput: in, op: s.ComparisonOperator, size: s.Size}, nil
}

func (m *sizeMatcher) Match(r *WAFRequest) bool {
	if m.field == "body" || m.field == "jsonBody" {
		return m.matchBody(r)
	}
	return m.inspect(r, func(v string) bool { return compareSize(int64(len(v)), m.op, m.size) })
}

// compareSize is "the size of the field OP size": GT matches a field
// longer than size.
func compareSize(n int64, op string, size int64) bool {
	switch op {
	case "EQ":
		return n == size
	case "NE":
		return n != size
	case "LE":
		return n <= size
	case "LT":
		return n < size
	case "GE":
		return n >= size
	case "GT":
		return n > size
	}
	return false
}

func (m *sizeMatcher) explain(r *WAFRequest) (bool, string) {
	if m.field == "body" || m.field == "jsonBody" {
		return m.explainBody(r)
	}
	n := int64(-1)
	matched := m.inspect(r, func(v string) bool { n = int64(len(v)); return compareSize(n, m.op, m.size) })
	if n < 0 && !matched {
		return false, "does not match: the request has no " + m.describe()
	}
	how := "does not match"
	if matched {
		how = "matches"
	}
	return matched, fmt.Sprintf("%s: %s is %d bytes (%s %d)", how, m.describe(), n, m.op, m.size)
}

// regexMatcher is a RegexMatchStatement (API_RegexMatchStatement), or a
// RegexPatternSetReferenceStatement: a match of any of its regexes,
// compiled with the table. WAF's regexes are PCRE without backreferences,
// lookaround, recursion or possessive quantifiers
// (waf-regex-pattern-set-managing): RE2, Go's regexp, takes what WAF
// takes, and vet refuses what RE2 refuses.
type regexMatcher struct {
	wafInput
	set     string // the regex pattern set's name, "" for a regexMatchStatement
	regexes []*regexp.Regexp
}

func compileRegexMatch(s *schema.RegexMatchStatement) (*regexMatcher, error) {
	in, err := compileInput(s.FieldToMatch, s.TextTransformations)
	if err != nil {
		return nil, err
	}
	re, err := CompileWAFRegex(s.RegexString)
	if err != nil {
		return nil, err
	}
	return &regexMatcher{wafInput: in, regexes: []*regexp.Regexp{re}}, nil
}

// MaxWAFRegexLength is WAF's quota on the characters of a regex pattern
// (waf-limits: "Maximum number of characters allowed in a regex
// pattern", 200), which is less than the API's 512 (API_Regex).
const MaxWAFRegexLength = 200

// CompileWAFRegex compiles a WAF regex; an error says what RE2 refuses.
func CompileWAFRegex(s string) (*regexp.Regexp, error) {
	if n := utf8.RuneCountInString(s); n > MaxWAFRegexLength {
		return nil, fmt.Errorf("the regex has %d characters; WAF takes %d at most", n, MaxWAFRegexLength)
	}
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, fmt.Errorf("a regex openfront cannot evaluate (RE2 syntax, as WAF's PCRE without backreferences or lookaround): %w", err)
	}
	return re, nil
}

func (m *regexMatcher) Match(r *WAFRequest) bool {
	return m.inspect(r, func(v string) bool { return m.which(v) != nil })
}

// which is the first regex that matches v, nil for none.
func (m *regexMatcher) which(v string) *regexp.Regexp {
	for _, re := range m.regexes {
		if re.MatchString(v) {
			return re
		}
	}
	return nil
}

func (m *regexMatcher) explain(r *WAFRequest) (bool, string) {
	var re *regexp.Regexp
	m.inspect(r, func(v string) bool { re = m.which(v); return re != nil })
	in := ""
	if m.set != "" {
		in = " of regex pattern set " + m.set
	}
	if re == nil {
		return false, "does not match: no regex" + in + " matches " + m.describe()
	}
	return true, fmt.Sprintf("matches: %s matches regex %q%s", m.describe(), re.String(), in)
}

// urlDecode is URL_DECODE: each %XX decoded, a malformed escape left as
// it is. url.PathUnescape refuses the whole value for one bad escape: a
// viewer would append "%zz" to keep "%3Cscript%3E" from a rule's sight.
func urlDecode(v string) string {
	i := strings.IndexByte(v, '%')
	if i < 0 {
		return v
	}
	b := make([]byte, 0, len(v))
	b = append(b, v[:i]...)
	for ; i < len(v); i++ {
		if v[i] == '%' && i+2 < len(v) {
			if d, err := strconv.ParseUint(v[i+1:i+3], 16, 8); err == nil {
				b = append(b, byte(d))
				i += 2
				continue
			}
		}
		b = append(b, v[i])
	}
	return string(b)
}

func positionMatch(v, s, position string) bool {
	switch position {
	case "EXACTLY":
		return v == s
	case "STARTS_WITH":
		return strings.HasPrefix(v, s)
	case "ENDS_WITH":
		return strings.HasSuffix(v, s)
	case "CONTAINS":
		return strings.Contains(v, s)
	case "CONTAINS_WORD":
		for i := 0; ; {
			j := strings.Index(v[i:], s)
			if j < 0 {
				return false
			}
			start, end := i+j, i+j+len(s)
			if (start == 0 || !wordByte(v[start-1])) && (end == len(v) || !wordByte(v[end])) {
				return true
			}
			i = start + 1
		}
	}
	return false
}

// wordByte: CONTAINS_WORD's word characters, "alphanumeric characters or
// underscore (A-Z, a-z, 0-9, or _)" (API_ByteMatchStatement).
func wordByte(c byte) bool {
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// IsWord reports whether s is a CONTAINS_WORD search string.
func IsWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !wordByte(s[i]) {
			return false
		}
	}
	return true
}

// String is how a route explanation names an action.
func (a WAFAction) String() string {
	if a.Kind == WAFBlock {
		if r := a.DescribeResponse(); r != "" {
			return "block (" + strconv.Itoa(a.Status) + ", " + r + ")"
		}
		return "block (" + strconv.Itoa(a.Status) + ")"
	}
	if a.Insert != nil {
		return a.Kind.String() + " (" + a.describeInsert() + ")"
	}
	return a.Kind.String()
}

// compileWebACLs compiles the web ACLs cfg's distributions name, by name.
func compileWebACLs(cfg *schema.Config) (map[string]*WebACL, error) {
	var out map[string]*WebACL
	groups := map[string]*wafGroup{} // each compiled once
	for id, d := range cfg.Distributions {
		name := d.WebACLID
		if name == "" || out[name] != nil {
			continue
		}
		spec := cfg.WebACLs[name]
		if spec == nil {
			return nil, fmt.Errorf("distribution %q: webACLId: unknown web ACL %q (a key of webACLs)", id, name)
		}
		a, err := compileWebACL(name, spec, cfg, groups)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = map[string]*WebACL{}
		}
		out[name] = a
	}
	return out, nil
}

// setRefs are the IP sets and regex pattern sets a web ACL's statements
// name, sorted, once each.
func setRefs(acl *schema.WebACL) (ipSets, regexSets []string) {
	var walk func(s *schema.WAFStatement)
	walk = func(s *schema.WAFStatement) {
		if s == nil {
			return
		}
		if r := s.IPSetReferenceStatement; r != nil && !slices.Contains(ipSets, r.ARN) {
			ipSets = append(ipSets, r.ARN)
		}
		if r := s.RegexPatternSetReferenceStatement; r != nil && !slices.Contains(regexSets, r.ARN) {
			regexSets = append(regexSets, r.ARN)
		}
		if rb := s.RateBasedStatement; rb != nil {
			walk(rb.ScopeDownStatement)
		}
		for _, l := range []*schema.WAFStatements{s.AndStatement, s.OrStatement} {
			if l != nil {
				for i := range l.Statements {
					walk(&l.Statements[i])
				}
			}
		}
		if s.NotStatement != nil {
			walk(&s.NotStatement.Statement)
		}
	}
	for i := range acl.Rules {
		walk(&acl.Rules[i].Statement)
	}
	slices.Sort(ipSets)
	slices.Sort(regexSets)
	return ipSets, regexSets
}

// Explain says what r does with req for openfront route, which cannot
// know a rate-based rule's count: such a rule is taken as under its limit.
func (r *WAFRule) Explain(req *WAFRequest) (matched bool, why string) {
	if h := r.missing(req); h != "" {
		return false, "does not apply: the request has no " + h + " header"
	}
	if r.Rate == nil {
		if matched, why, ok := explainInput(r.Match, req); ok {
			return matched, why
		}
		if m, ok := r.Match.(*ipSetMatcher); ok {
			// The address route was given decides: say which.
			if p, in := m.lookup(req.Client); in {
				return true, fmt.Sprintf("matches: the viewer's address %s is in IP set %s (%s)", req.Client, m.name, p)
			}
			return false, fmt.Sprintf("does not match: the viewer's address %s is not in IP set %s", req.Client, m.name)
		}
		if e, ok := r.Match.(interface {
			explain(*WAFRequest) (bool, string)
		}); ok {
			return e.explain(req)
		}
		if r.Match.Match(req) {
			return true, "matches"
		}
		return false, "does not match"
	}
	if r.Rate.ScopeDown != nil && !r.Rate.ScopeDown.Match(req) {
		return false, "not counted: the scope-down statement does not match"
	}
	if r.Rate.Keys != nil {
		return r.Rate.explainKeys(req)
	}
	key, apply, fallback := r.Rate.rateKey(req)
	switch {
	case !apply:
		return false, "does not apply: the request has no " + r.Rate.Header + " header"
	case fallback && r.Rate.FallbackMatch:
		return true, "matches: no valid address in " + r.Rate.Header + " (fallbackBehavior MATCH)"
	case fallback:
		return false, "does not match: no valid address in " + r.Rate.Header + " (fallbackBehavior NO_MATCH)"
	}
	under := ""
	switch r.Rate.Aggregate {
	case "IP":
		under = " under the viewer's address " + key.String()
	case "FORWARDED_IP":
		under = " under " + key.String() + ", the first address in " + r.Rate.Header
	}
	return false, "counted" + under + ", " + r.Rate.Describe() + " (route takes it as under the limit)"
}
