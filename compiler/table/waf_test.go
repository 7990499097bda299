package table

import (
	"net/http"
	"net/netip"
	"reflect"
	"slices"
	"strings"
	"testing"

	"openfront.dev/schema"
)

func TestByteMatch(t *testing.T) {
	tt := func(types ...string) []schema.TextTransformation {
		var out []schema.TextTransformation
		for i, ty := range types {
			out = append(out, schema.TextTransformation{Priority: len(types) - i, Type: ty}) // listed in reverse priority
		}
		return out
	}
	path := schema.WAFFieldToMatch{URIPath: &struct{}{}}
	header := schema.WAFFieldToMatch{SingleHeader: &schema.WAFSingleHeader{Name: "user-agent"}}
	req := &WAFRequest{Method: "GET", Path: "/Shop/%41dmin/x", RawQuery: "q=1", Host: "www.example.com",
		Header: http.Header{"User-Agent": {"Mozilla BadBot/1.0 %3Cscript%3E %zz 100%"}}}
	for _, c := range []struct {
		name string
		s    schema.ByteMatchStatement
		want bool
	}{
		{"exactly", schema.ByteMatchStatement{SearchString: "/Shop/%41dmin/x", FieldToMatch: path, PositionalConstraint: "EXACTLY", TextTransformations: tt("NONE")}, true},
		{"case matters", schema.ByteMatchStatement{SearchString: "/shop", FieldToMatch: path, PositionalConstraint: "STARTS_WITH", TextTransformations: tt("NONE")}, false},
		{"lowercase", schema.ByteMatchStatement{SearchString: "/shop", FieldToMatch: path, PositionalConstraint: "STARTS_WITH", TextTransformations: tt("LOWERCASE")}, true},
		// URL_DECODE (priority 1) runs before LOWERCASE (priority 2): %41 is A, then a.
		{"decode then lowercase", schema.ByteMatchStatement{SearchString: "/admin/", FieldToMatch: path, PositionalConstraint: "CONTAINS", TextTransformations: tt("LOWERCASE", "URL_DECODE")}, true},
		{"not decoded", schema.ByteMatchStatement{SearchString: "/admin/", FieldToMatch: path, PositionalConstraint: "CONTAINS", TextTransformations: tt("LOWERCASE")}, false},
		{"ends with", schema.ByteMatchStatement{SearchString: "/x", FieldToMatch: path, PositionalConstraint: "ENDS_WITH", TextTransformations: tt("NONE")}, true},
		{"word", schema.ByteMatchStatement{SearchString: "BadBot", FieldToMatch: header, PositionalConstraint: "CONTAINS_WORD", TextTransformations: tt("NONE")}, true},
		{"part of a word", schema.ByteMatchStatement{SearchString: "Bot", FieldToMatch: header, PositionalConstraint: "CONTAINS_WORD", TextTransformations: tt("NONE")}, false},
		// A malformed escape elsewhere in the value does not stop the
		// others from being decoded.
		{"decode past a bad escape", schema.ByteMatchStatement{SearchString: "<script>", FieldToMatch: header, PositionalConstraint: "CONTAINS", TextTransformations: tt("URL_DECODE")}, true},
		{"query", schema.ByteMatchStatement{SearchString: "q=1", FieldToMatch: schema.WAFFieldToMatch{QueryString: &struct{}{}}, PositionalConstraint: "EXACTLY", TextTransformations: tt("NONE")}, true},
		{"method", schema.ByteMatchStatement{SearchString: "POST", FieldToMatch: schema.WAFFieldToMatch{Method: &struct{}{}}, PositionalConstraint: "EXACTLY", TextTransformations: tt("NONE")}, false},
		{"host header", schema.ByteMatchStatement{SearchString: "example.com", FieldToMatch: schema.WAFFieldToMatch{SingleHeader: &schema.WAFSingleHeader{Name: "Host"}}, PositionalConstraint: "ENDS_WITH", TextTransformations: tt("NONE")}, true},
		{"missing header", schema.ByteMatchStatement{SearchString: "x", FieldToMatch: schema.WAFFieldToMatch{SingleHeader: &schema.WAFSingleHeader{Name: "referer"}}, PositionalConstraint: "CONTAINS", TextTransformations: tt("NONE")}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := compileByteMatch(&c.s)
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Match(req); got != c.want {
				t.Errorf("match %v, want %v", got, c.want)
			}
		})
	}
}

func TestIPSetMatch(t *testing.T) {
	v4, err := compileIPSet("v4", &schema.IPSet{IPAddressVersion: "IPV4", Addresses: []string{"192.0.2.0/24", "198.51.100.7/32", "10.1.2.3/8"}})
	if err != nil {
		t.Fatal(err)
	}
	v6, err := compileIPSet("v6", &schema.IPSet{IPAddressVersion: "IPV6", Addresses: []string{"2001:db8::/32"}})
	if err != nil {
		t.Fatal(err)
	}
	mapped, err := compileIPSet("mapped", &schema.IPSet{IPAddressVersion: "IPV6", Addresses: []string{"::ffff:203.0.113.0/120"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		set  *ipSetMatcher
		addr string
		want bool
	}{
		// An IPv4 viewer is the same whichever way a set or a socket
		// writes its address.
		{mapped, "203.0.113.9", true},
		{mapped, "::ffff:203.0.113.9", true},
		{mapped, "203.0.114.9", false},
		{v4, "::ffff:192.0.2.200", true},
		{v4, "192.0.2.200", true},
		{v4, "192.0.3.1", false},
		{v4, "198.51.100.7", true},
		{v4, "198.51.100.8", false},
		{v4, "10.200.0.1", true}, // a range given with host bits is its network's
		{v4, "2001:db8::1", false},
		{v6, "2001:db8:ffff::1", true},
		{v6, "2001:db9::1", false},
		{v6, "192.0.2.1", false},
	} {
		if got := c.set.Match(&WAFRequest{Client: netip.MustParseAddr(c.addr)}); got != c.want {
			t.Errorf("%s: match %v, want %v", c.addr, got, c.want)
		}
	}
	if v4.Match(&WAFRequest{}) {
		t.Error("an unknown viewer address matches")
	}
}

func TestRateKey(t *testing.T) {
	r := &WAFRate{Aggregate: "FORWARDED_IP", WAFForwardedIP: WAFForwardedIP{Header: "X-Client-Ip"}}
	for _, c := range []struct {
		header          []string
		key             string
		apply, fallback bool
	}{
		{nil, "", false, false},
		{[]string{"192.0.2.1, 10.0.0.1"}, "192.0.2.1", true, false},
		{[]string{" 2001:db8::1 "}, "2001:db8::1", true, false},
		{[]string{"::ffff:192.0.2.9"}, "192.0.2.9", true, false},
		{[]string{"unknown"}, "", true, true},
		{[]string{""}, "", true, true},
	} {
		h := http.Header{}
		if c.header != nil {
			h["X-Client-Ip"] = c.header
		}
		key, apply, fallback := r.rateKey(&WAFRequest{Header: h, Client: netip.MustParseAddr("203.0.113.1")})
		want := netip.Addr{}
		if c.key != "" {
			want = netip.MustParseAddr(c.key)
		}
		if key != want || apply != c.apply || fallback != c.fallback {
			t.Errorf("%q: key %v apply %v fallback %v, want %v %v %v", c.header, key, apply, fallback, want, c.apply, c.fallback)
		}
	}
}

// A path that normalizes to another is blocked when either spelling is:
// an allow rule on the raw path lets nothing past the rules on the path
// the behavior and the origin see, and a rate rule counts it once.
func TestEvaluateNormalizedPath(t *testing.T) {
	path := func(s, position string) WAFMatcher {
		m, err := compileByteMatch(&schema.ByteMatchStatement{SearchString: s, PositionalConstraint: position,
			FieldToMatch: schema.WAFFieldToMatch{URIPath: &struct{}{}}, TextTransformations: []schema.TextTransformation{{Type: "NONE"}}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	rate := &WAFRule{Name: "rate", Action: WAFAction{Kind: WAFBlock, Status: 429},
		Rate: &WAFRate{ID: "rate", Limit: 1, Aggregate: "CONSTANT", ScopeDown: path("/api/", "STARTS_WITH")}}
	acl := &WebACL{Default: WAFAction{Kind: WAFBlock, Status: 403}, Rules: []*WAFRule{
		{Name: "watch", Action: WAFAction{Kind: WAFCount}, Match: path("/", "STARTS_WITH")},
		rate,
		{Name: "public", Action: WAFAction{Kind: WAFAllow}, Match: path("/public/", "STARTS_WITH")},
		{Name: "api", Action: WAFAction{Kind: WAFAllow}, Match: path("/api/", "STARTS_WITH")},
	}}
	for _, c := range []struct {
		path, rule string
		status     int
	}{
		{"/public/a", "public", 0},
		{"/public/../private/a", "default", 403},
		{"/public/%2e%2e/private/a", "default", 403},
		{"/public/x%2F..%2F..%2Fprivate/a", "default", 403},
		{"/public/a%2Fb", "public", 0},
		{"/public//a", "public", 0},
		{"/public/./a", "public", 0},
		{"/api//a", "api", 0},
		{"/api/./a", "api", 0},
		// As AWS WAF: the path as sent is blocked, whatever it resolves to.
		{"/x/../public/a", "default", 403},
	} {
		counts, overs := 0, 0
		dec := acl.Evaluate(&WAFRequest{Path: c.path}, func(r *WAFRule, _ WAFRateKey) bool { overs++; return false },
			func(r *WAFRule) { counts++ })
		if dec.RuleName() != c.rule || dec.Action.Status != c.status {
			t.Errorf("%s: decided by %s (%v), want %s (%d)", c.path, dec.RuleName(), dec.Action, c.rule, c.status)
		}
		if counts != 1 {
			t.Errorf("%s: the count rule reported %d times, want once", c.path, counts)
		}
		if want := map[bool]int{true: 1}[strings.HasPrefix(c.path, "/api/")]; overs != want {
			t.Errorf("%s: the rate rule counted it %d times, want %d", c.path, overs, want)
		}
	}
}

// A header given twice is inspected joined, and each value alone: a
// second User-Agent does not hide the first from an EXACTLY rule, nor a
// first the last from an ENDS_WITH one.
func TestEvaluateRepeatedHeader(t *testing.T) {
	acl, err := newWebACL("acl", &schema.WebACL{Rules: []schema.WAFRule{{
		Name: "bot", Priority: 0, Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}},
		Statement: schema.WAFStatement{OrStatement: &schema.WAFStatements{Statements: []schema.WAFStatement{
			{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: "BadBot", PositionalConstraint: "EXACTLY",
				FieldToMatch: schema.WAFFieldToMatch{SingleHeader: &schema.WAFSingleHeader{Name: "user-agent"}}, TextTransformations: []schema.TextTransformation{{Type: "NONE"}}}},
			{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: ".php", PositionalConstraint: "ENDS_WITH",
				FieldToMatch: schema.WAFFieldToMatch{SingleHeader: &schema.WAFSingleHeader{Name: "x-target"}}, TextTransformations: []schema.TextTransformation{{Type: "NONE"}}}},
		}}},
	}}}, &schema.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		header http.Header
		want   WAFActionKind
	}{
		{http.Header{"User-Agent": {"BadBot"}}, WAFBlock},
		{http.Header{"User-Agent": {"BadBot", "Mozilla"}}, WAFBlock},
		{http.Header{"User-Agent": {"Mozilla", "BadBot"}}, WAFBlock},
		{http.Header{"User-Agent": {"Mozilla", "Mozilla"}}, WAFAllow},
		{http.Header{"X-Target": {"a.php", "b.html"}}, WAFBlock},
		{http.Header{"X-Target": {"a.html", "b.html"}}, WAFAllow},
	} {
		if got := acl.Evaluate(&WAFRequest{Path: "/", Header: c.header}, nil, nil).Action.Kind; got != c.want {
			t.Errorf("%v: %v, want %v", c.header, got, c.want)
		}
	}
}

// Spellings say how each spelling Evaluate inspects differs from the
// request as sent, for route to name the one a rule matched.
func TestSpellings(t *testing.T) {
	acl, err := newWebACL("acl", &schema.WebACL{Rules: []schema.WAFRule{{
		Name: "bot", Priority: 0, Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}},
		Statement: schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: "BadBot", PositionalConstraint: "EXACTLY",
			FieldToMatch: schema.WAFFieldToMatch{SingleHeader: &schema.WAFSingleHeader{Name: "user-agent"}}, TextTransformations: []schema.TextTransformation{{Type: "NONE"}}}},
	}}}, &schema.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path   string
		header http.Header
		want   []string
	}{
		{"/admin", http.Header{"User-Agent": {"a"}}, []string{}},
		{"/x/../admin", nil, []string{"the path normalized (/admin)"}},
		{"/%2561dmin", nil, []string{"the path decoded (/admin)"}},
		{"/a", http.Header{"User-Agent": {"Mozilla", "BadBot"}}, []string{"User-Agent's first value", "User-Agent's last value"}},
		{"/x/../a", http.Header{"User-Agent": {"Mozilla", "BadBot"}}, []string{
			"the path normalized (/a) and User-Agent's first value", "the path normalized (/a) and User-Agent's last value"}},
	} {
		got := []string{}
		for _, sp := range acl.Spellings(&WAFRequest{Path: c.path, Header: c.header}) {
			got = append(got, sp.How)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s %v: %q, want %q", c.path, c.header, got, c.want)
		}
	}
}

// Build of an unvetted config (a test's, a program's) names the
// distribution whose webACLId names no web ACL.
func TestBuildUnknownWebACL(t *testing.T) {
	d := dist([]string{"www.example.com"})
	d.WebACLID = "nope"
	_, err := Build(&schema.Config{Distributions: map[string]*schema.Distribution{"site": d}}, Source{}, nil)
	if want := `distribution "site": webACLId: unknown web ACL "nope"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want %q in it", err, want)
	}
}

// The statements and fields to match vet and import take are the
// schema's names for them: a misspelt one would be refused everywhere.
func TestWAFSupportedNamesAreSchemas(t *testing.T) {
	for _, tc := range []struct {
		list []string
		of   reflect.Type
	}{
		{WAFStatements, reflect.TypeFor[schema.WAFStatement]()},
		{WAFFieldsToMatch, reflect.TypeFor[schema.WAFFieldToMatch]()},
	} {
		names := map[string]bool{}
		for i := range tc.of.NumField() {
			name, _, _ := strings.Cut(tc.of.Field(i).Tag.Get("json"), ",")
			names[name] = true
		}
		for _, n := range tc.list {
			if !names[n] {
				t.Errorf("%s is no field of schema.%s", n, tc.of.Name())
			}
		}
	}
}

// tts is textTransformations of types, in priority order.
func tts(types ...string) []schema.TextTransformation {
	out := []schema.TextTransformation{}
	for i, ty := range types {
		out = append(out, schema.TextTransformation{Priority: i, Type: ty})
	}
	return out
}

func TestSizeConstraint(t *testing.T) {
	req := &WAFRequest{Method: "GET", Path: "/a%41", RawQuery: "q=12345", Header: http.Header{"X-Token": {"abc"}}}
	query := schema.WAFFieldToMatch{QueryString: &struct{}{}}
	for _, c := range []struct {
		name  string
		field schema.WAFFieldToMatch
		op    string
		size  int64
		ts    []string
		want  bool
	}{
		{"greater", query, "GT", 6, nil, true},
		{"not greater", query, "GT", 7, nil, false},
		{"equal", query, "EQ", 7, nil, true},
		{"not equal", query, "NE", 7, nil, false},
		{"less or equal", query, "LE", 7, nil, true},
		{"less", query, "LT", 7, nil, false},
		{"greater or equal", query, "GE", 8, nil, false},
		// Size after the transformations: %41 decodes to one byte.
		{"path as sent", schema.WAFFieldToMatch{URIPath: &struct{}{}}, "EQ", 5, nil, true},
		{"path decoded", schema.WAFFieldToMatch{URIPath: &struct{}{}}, "EQ", 3, []string{"URL_DECODE"}, true},
		{"header", schema.WAFFieldToMatch{SingleHeader: &schema.WAFSingleHeader{Name: "x-token"}}, "LT", 4, nil, true},
		{"missing header", schema.WAFFieldToMatch{SingleHeader: &schema.WAFSingleHeader{Name: "referer"}}, "LT", 4, nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, err := compileSize(&schema.SizeConstraintStatement{FieldToMatch: c.field, ComparisonOperator: c.op, Size: c.size, TextTransformations: tts(append([]string{"NONE"}, c.ts...)...)})
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Match(req); got != c.want {
				t.Errorf("match %v, want %v", got, c.want)
			}
		})
	}
}

func TestRegexMatch(t *testing.T) {
	req := &WAFRequest{Method: "GET", Path: "/Shop/index.PH%50", RawQuery: "id=1", Header: http.Header{"User-Agent": {"sqlmap/1.7"}}}
	path := schema.WAFFieldToMatch{URIPath: &struct{}{}}
	for _, c := range []struct {
		name, regex string
		field       schema.WAFFieldToMatch
		ts          []string
		want        bool
	}{
		{"as sent", `\.php$`, path, nil, false},
		{"decoded and lowercased", `\.php$`, path, []string{"URL_DECODE", "LOWERCASE"}, true},
		// Priority orders them: lowercase first leaves %50 a P.
		{"lowercased then decoded", `\.php$`, path, []string{"LOWERCASE", "URL_DECODE"}, false},
		{"case-insensitive flag", `(?i)\.ph%50$`, path, nil, true},
		{"header", `^(sqlmap|nikto)/`, schema.WAFFieldToMatch{SingleHeader: &schema.WAFSingleHeader{Name: "User-Agent"}}, nil, true},
		{"query", `^id=\d+$`, schema.WAFFieldToMatch{QueryString: &struct{}{}}, nil, true},
	} {
		t.Run(c.name, func(t *testing.T) { checkRegexMatch(t, req, c.regex, c.field, c.ts, c.want) })
	}
	for _, bad := range []string{`(?=x)`, `(a)\1`, strings.Repeat("a", MaxWAFRegexLength+1)} {
		if _, err := CompileWAFRegex(bad); err == nil {
			t.Errorf("%.20q compiled", bad)
		}
	}
}

// A regex pattern set matches with any of its regexes (OR,
// waf-regex-pattern-set-managing), each compiled once per web ACL.
func TestRegexPatternSet(t *testing.T) {
	ref := func(arn string) schema.WAFStatement {
		return schema.WAFStatement{RegexPatternSetReferenceStatement: &schema.RegexPatternSetReferenceStatement{ARN: arn,
			FieldToMatch: schema.WAFFieldToMatch{SingleHeader: &schema.WAFSingleHeader{Name: "user-agent"}}, TextTransformations: tts("LOWERCASE")}}
	}
	cfg := &schema.Config{RegexPatternSets: map[string]*schema.RegexPatternSet{
		"scanners": {RegularExpressionList: []schema.WAFRegex{{RegexString: "^(sqlmap|nikto)/"}, {RegexString: "masscan|zgrab"}}}}}
	acl, err := newWebACL("acl", &schema.WebACL{DefaultAction: schema.WAFDefaultAction{Allow: &schema.WAFAllowAction{}}, Rules: []schema.WAFRule{
		{Name: "scanners", Priority: 1, Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}}, Statement: ref("scanners")},
		{Name: "again", Priority: 2, Action: &schema.WAFRuleAction{Count: &schema.WAFCountAction{}}, Statement: ref("scanners")},
	}}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := acl.Rules[0].Match.(*regexMatcher), acl.Rules[1].Match.(*regexMatcher); &a.regexes[0] != &b.regexes[0] {
		t.Error("the set is compiled once per rule, not once per web ACL")
	}
	for ua, want := range map[string]bool{"SQLMap/1.7": true, "Mozilla zgrab/0.x": true, "Mozilla/5.0 (nikto/2)": false, "": false} {
		req := &WAFRequest{Header: http.Header{"User-Agent": {ua}}}
		if got := acl.Evaluate(req, nil, nil).Action.Kind == WAFBlock; got != want {
			t.Errorf("User-Agent %q: blocked %v, want %v", ua, got, want)
		}
	}
	matched, why := acl.Rules[0].Explain(&WAFRequest{Header: http.Header{"User-Agent": {"SQLMap/1.7"}}})
	if want := `matches: header User-Agent after LOWERCASE matches regex "^(sqlmap|nikto)/" of regex pattern set scanners`; !matched || why != want {
		t.Errorf("Explain: %v %q, want %q", matched, why, want)
	}
	if _, err := newWebACL("acl", &schema.WebACL{Rules: []schema.WAFRule{{Name: "x", Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}}, Statement: ref("missing")}}}, cfg); err == nil {
		t.Error("an unknown regex pattern set compiled")
	}
}

func TestInjectionMatch(t *testing.T) {
	query := schema.WAFFieldToMatch{QueryString: &struct{}{}}
	decode := tts("URL_DECODE")
	sqli := func(level string) *injectionMatcher {
		in, err := compileInput(query, decode)
		if err != nil {
			t.Fatal(err)
		}
		return &injectionMatcher{wafInput: in, high: level == "HIGH"}
	}
	xss, err := compileInput(query, decode)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		query            string
		low, high, isXSS bool
	}{
		{"id=1%27%20OR%201%3D1--", true, true, false},
		{"id=1%20union%20select%20password%20from%20users", true, true, false},
		// URL_DECODE leaves + as it is: libinjection sees no SQL there.
		{"id=1+union+select+password+from+users", false, true, false},
		{"q=-1'%20and%201=1%20union/*%20foo%20*/select%20load_file('/etc/passwd')--", true, true, false},
		// libinjection lets these through as prose; HIGH's signatures do not.
		{"q=select%20name%20from%20the%20menu", false, true, false},
		{"q=select%20id,%60name%60%20from%20users", false, true, false},
		{"q=1%20union%20all%20select%201", true, true, false},
		{"q=x%27%20||%20%271", true, true, false},
		// Not even HIGH takes prose for SQL.
		{"q=please%20select%20an%20item%20from%20the%20list", false, false, false},
		{"q=the%20union%20will%20select%20a%20leader", false, false, false},
		{"q=%3Cscript%3Ealert(1)%3C/script%3E", false, false, true},
		{"q=%3Cimg%20src=x%20onerror=alert(1)%3E", false, false, true},
		{"q=fish%20and%20chips&page=2", false, false, false},
		{"q=O'Reilly%20books", false, false, false},
	} {
		req := &WAFRequest{RawQuery: c.query}
		if got := sqli("LOW").Match(req); got != c.low {
			t.Errorf("%s: SQLi LOW %v, want %v", c.query, got, c.low)
		}
		if got := sqli("HIGH").Match(req); got != c.high {
			t.Errorf("%s: SQLi HIGH %v, want %v", c.query, got, c.high)
		}
		if got := (&injectionMatcher{wafInput: xss, xss: true}).Match(req); got != c.isXSS {
			t.Errorf("%s: XSS %v, want %v", c.query, got, c.isXSS)
		}
	}
	raw, _ := compileInput(query, tts("NONE"))
	if (&injectionMatcher{wafInput: raw, xss: true}).Match(&WAFRequest{RawQuery: "q=%3Cscript%3Ealert(1)%3C/script%3E"}) {
		t.Error("XSS found in an escaped query without URL_DECODE")
	}
	if ok, why := sqli("LOW").explain(&WAFRequest{RawQuery: "id=1%27%20OR%201%3D1--"}); !ok || !strings.HasPrefix(why, "matches: SQL injection in the query string after URL_DECODE (libinjection fingerprint ") {
		t.Errorf("explain: %v %q", ok, why)
	}
}

func TestTextTransformations(t *testing.T) {
	for _, c := range []struct{ typ, in, want string }{
		{"COMPRESS_WHITE_SPACE", "a \t\n\r\f\vb\u00a0\u00a0c  d", "a b c d"},
		{"HTML_ENTITY_DECODE", "&lt;script&GT;&quot;&amp;&nbsp;&#39;&#x3c;&#60x&bogus;&", "<script>\"&\u00a0'<<x&bogus;&"},
		{"REMOVE_NULLS", "a\x00b\x00", "ab"},
		{"REPLACE_NULLS", "a\x00b", "a b"},
		{"CMD_LINE", `C^m"D'.e\xe  /C  ,,dir ; (x)`, "cmd.exe/c dir(x)"},
		{"NORMALIZE_PATH", "/a//b/./c/../d/", "/a/b/d/"},
		{"NORMALIZE_PATH", "../x/./y/..", "../x/"},
		{"NORMALIZE_PATH", "/../etc/passwd", "/etc/passwd"},
		{"NORMALIZE_PATH", "/plain/path", "/plain/path"},
		{"NORMALIZE_PATH_WIN", `C:\a\..\windows\\system32`, "C:/windows/system32"},
		{"URL_DECODE_UNI", "%u003cscript%uFF1E%41%zz%u12", "<script>A%zz%u12"},
		{"URL_DECODE", "%u003c%41", "%u003cA"},
		{"BASE64_DECODE", "PHNjcmlwdD4=", "<script>"},
		{"BASE64_DECODE", "PHNjcmlwdD4", "<script>"},
		{"HEX_DECODE", "3c736372697074", "<script"},
		{"HEX_DECODE", "3c3ezz", "<>zz"},
		{"JS_DECODE", `\u003cscript\x3e\74\n\'\uFF1E\q`, "<script><\n'>q"},
		{"CSS_DECODE", `ja\vascript\3a \00003C\\\ff1e`, "javascript:<\\>"},
		{"LOWERCASE", "ABC", "abc"},
		// "Convert uppercase letters (A-Z) to lowercase (a-z)": the
		// Kelvin sign is no k, and the bytes URL_DECODE makes stay bytes
		// (a size constraint counts them).
		{"LOWERCASE", "/KEYİ", "/Keyİ"},
		{"LOWERCASE", "A%À¯B", "a%À¯b"},
	} {
		f := textTransformations[c.typ]
		if f == nil {
			t.Fatalf("%s: no transformation", c.typ)
		}
		if got := f(c.in); got != c.want {
			t.Errorf("%s(%q) = %q, want %q", c.typ, c.in, got, c.want)
		}
	}
	for _, ty := range []string{"UTF8_TO_UNICODE", "MD5", "SQL_HEX_DECODE"} {
		if SupportedTextTransformation(ty) {
			t.Errorf("%s is supported; WAF's docs leave it too vague", ty)
		}
	}
	// Priority orders them, lowest first, whatever the list's order.
	in, err := compileInput(schema.WAFFieldToMatch{QueryString: &struct{}{}}, []schema.TextTransformation{
		{Priority: 5, Type: "HTML_ENTITY_DECODE"}, {Priority: 1, Type: "URL_DECODE"}, {Priority: 9, Type: "COMPRESS_WHITE_SPACE"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := in.transform("%26lt;a%09%09b"); got != "<a b" {
		t.Errorf("URL_DECODE, HTML_ENTITY_DECODE, COMPRESS_WHITE_SPACE: %q, want %q", got, "<a b")
	}
}

func TestQueryArguments(t *testing.T) {
	req := &WAFRequest{RawQuery: "page=2&Comment=%3Cscript%3E&tag=a&TAG=bb&com%6Dent=x&&flag"}
	single := func(name string) schema.WAFFieldToMatch {
		return schema.WAFFieldToMatch{SingleQueryArgument: &schema.WAFSingleQueryArgument{Name: name}}
	}
	all := schema.WAFFieldToMatch{AllQueryArguments: &struct{}{}}
	for _, c := range []struct {
		name  string
		field schema.WAFFieldToMatch
		regex string
		ts    []string
		want  bool
	}{
		// The name's case does not matter (API_SingleQueryArgument).
		{"single, other case", single("comment"), "^<script>$", []string{"URL_DECODE"}, true},
		{"single, as sent", single("COMMENT"), "^%3Cscript%3E$", nil, true},
		{"single, another argument's value", single("page"), "script", []string{"URL_DECODE"}, false},
		// Each of a repeated argument's values is inspected alone.
		{"repeated, second", single("tag"), "^bb$", nil, true},
		{"repeated, not joined", single("tag"), "a.*bb", nil, false},
		{"escaped name", single("comment"), "^x$", nil, true},
		{"missing", single("user"), ".*", nil, false},
		{"all, any value", all, "^<script>$", []string{"URL_DECODE"}, true},
		{"all, values only", all, "^page", nil, false},
		{"all, an argument without a value", all, "^flag$", nil, true},
	} {
		t.Run(c.name, func(t *testing.T) { checkRegexMatch(t, req, c.regex, c.field, c.ts, c.want) })
	}
	// A size constraint on an argument: any value's size.
	m, err := compileSize(&schema.SizeConstraintStatement{FieldToMatch: single("tag"), ComparisonOperator: "GT", Size: 1, TextTransformations: tts("NONE")})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Match(req) {
		t.Error("size of tag=bb not over 1")
	}
}

// checkRegexMatch checks that regex in field, after NONE and ts, matches
// req or not as want says.
func checkRegexMatch(t *testing.T, req *WAFRequest, regex string, field schema.WAFFieldToMatch, ts []string, want bool) {
	t.Helper()
	m, err := compileRegexMatch(&schema.RegexMatchStatement{RegexString: regex, FieldToMatch: field, TextTransformations: tts(append([]string{"NONE"}, ts...)...)})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Match(req); got != want {
		t.Errorf("match %v, want %v", got, want)
	}
}

// A distribution reused from the previous table keeps its web ACL only
// while the regex pattern sets it names are the same values: a changed
// set takes effect on the next table.
func TestRegexPatternSetChangeRebuilds(t *testing.T) {
	d := dist([]string{"a.example.com"})
	d.WebACLID = "acl"
	acl := &schema.WebACL{DefaultAction: schema.WAFDefaultAction{Allow: &schema.WAFAllowAction{}}, Rules: []schema.WAFRule{{
		Name: "bad", Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}},
		Statement: schema.WAFStatement{RegexPatternSetReferenceStatement: &schema.RegexPatternSetReferenceStatement{ARN: "bad",
			FieldToMatch: schema.WAFFieldToMatch{URIPath: &struct{}{}}, TextTransformations: tts("NONE")}}}}}
	config := func(regex string) *schema.Config {
		return &schema.Config{Distributions: map[string]*schema.Distribution{"a": d}, WebACLs: map[string]*schema.WebACL{"acl": acl},
			RegexPatternSets: map[string]*schema.RegexPatternSet{"bad": {RegularExpressionList: []schema.WAFRegex{{RegexString: regex}}}}}
	}
	checkChangeRebuilds(t, func(path string) *schema.Config { return config("^" + path) })
}

// checkChangeRebuilds checks that distribution "a" of config("/old")
// blocks /old, and that of config("/new"), built on it, blocks /new only.
func checkChangeRebuilds(t *testing.T, config func(path string) *schema.Config) {
	t.Helper()
	one, err := Build(config("/old"), Source{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	two, err := Build(config("/new"), Source{}, one)
	if err != nil {
		t.Fatal(err)
	}
	blocks := func(tbl *Table, path string) bool {
		return tbl.Distribution("a").WebACL.Evaluate(&WAFRequest{Path: path}, nil, nil).Action.Kind == WAFBlock
	}
	if !blocks(one, "/old") || blocks(two, "/old") || !blocks(two, "/new") {
		t.Errorf("/old blocked by %v, %v; /new by the second table %v: the change did not take effect", blocks(one, "/old"), blocks(two, "/old"), blocks(two, "/new"))
	}
}
