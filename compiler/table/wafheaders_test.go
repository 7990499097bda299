package table

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"openfront.dev/schema"
)

// BenchmarkWAFEvaluate is a web ACL of path, header and query rules, none
// on headers or cookies, against a browser's request: what such a request
// costs is not to change with fieldToMatch headers and cookies.
func BenchmarkWAFEvaluate(b *testing.B) {
	none := []schema.TextTransformation{{Type: "NONE"}}
	acl, err := newWebACL("acl", &schema.WebACL{Rules: []schema.WAFRule{
		{Name: "admin", Priority: 0, Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}},
			Statement: schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: "/admin", PositionalConstraint: "STARTS_WITH",
				FieldToMatch: schema.WAFFieldToMatch{URIPath: &struct{}{}}, TextTransformations: none}}},
		{Name: "bot", Priority: 1, Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}},
			Statement: schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: "BadBot", PositionalConstraint: "CONTAINS",
				FieldToMatch: schema.WAFFieldToMatch{SingleHeader: &schema.WAFSingleHeader{Name: "user-agent"}}, TextTransformations: none}}},
		{Name: "sqli", Priority: 2, Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}},
			Statement: schema.WAFStatement{SqliMatchStatement: &schema.SqliMatchStatement{
				FieldToMatch: schema.WAFFieldToMatch{AllQueryArguments: &struct{}{}}, TextTransformations: []schema.TextTransformation{{Type: "URL_DECODE"}}}}},
	}}, &schema.Config{})
	if err != nil {
		b.Fatal(err)
	}
	req := &WAFRequest{Method: "GET", Path: "/shop/item", RawQuery: "id=42&color=blue", Host: "www.example.com",
		Header: http.Header{"User-Agent": {"Mozilla/5.0 (X11; Linux x86_64)"}, "Accept": {"text/html"}, "Cookie": {"session=abc; theme=dark"}}}
	b.ReportAllocs()
	for b.Loop() {
		if acl.Evaluate(req, nil, nil).Action.Kind != WAFAllow {
			b.Fatal("blocked")
		}
	}
}

// headersField and cookiesField are fieldToMatch headers and cookies of
// a pattern kind ("all", "included", "excluded") over names.
func headersField(kind, scope, oversize string, names ...string) schema.WAFFieldToMatch {
	h := &schema.WAFHeaders{MatchScope: scope, OversizeHandling: oversize}
	switch kind {
	case "all":
		h.MatchPattern.All = &struct{}{}
	case "included":
		h.MatchPattern.IncludedHeaders = names
	case "excluded":
		h.MatchPattern.ExcludedHeaders = names
	}
	return schema.WAFFieldToMatch{Headers: h}
}

func cookiesField(kind, scope, oversize string, names ...string) schema.WAFFieldToMatch {
	c := &schema.WAFCookies{MatchScope: scope, OversizeHandling: oversize}
	switch kind {
	case "all":
		c.MatchPattern.All = &struct{}{}
	case "included":
		c.MatchPattern.IncludedCookies = names
	case "excluded":
		c.MatchPattern.ExcludedCookies = names
	}
	return schema.WAFFieldToMatch{Cookies: c}
}

// byteMatchCase is a byte match of search at position in f.
type byteMatchCase struct {
	name     string
	f        schema.WAFFieldToMatch
	search   string
	position string
	want     bool
}

func byteMatches(t *testing.T, req *WAFRequest, cases []byteMatchCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := compileByteMatch(&schema.ByteMatchStatement{SearchString: c.search, FieldToMatch: c.f, PositionalConstraint: c.position, TextTransformations: tts("NONE")})
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Match(req); got != c.want {
				t.Errorf("match %v, want %v", got, c.want)
			}
		})
	}
}

func TestHeadersMatch(t *testing.T) {
	req := &WAFRequest{Method: "GET", Path: "/", Host: "www.example.com", Header: http.Header{
		"User-Agent": {"Mozilla/5.0"},
		"X-Api-Key":  {"k-123"},
		// A second header of the same name: each is inspected alone.
		"X-Forwarded-Host": {"a.example.com", "evil.test"},
	}}
	byteMatches(t, req, []byteMatchCase{
		{"value in any header", headersField("all", "VALUE", "CONTINUE"), "evil.test", "EXACTLY", true},
		{"a name is no value", headersField("all", "VALUE", "CONTINUE"), "X-Api-Key", "EXACTLY", false},
		{"name in any header", headersField("all", "KEY", "CONTINUE"), "X-Api-Key", "EXACTLY", true},
		// The name as an HTTP/2 viewer (or curl -H x-api-key) sends it:
		// the request keeps no case, so either spelling is inspected.
		{"name in lower case", headersField("all", "KEY", "CONTINUE"), "x-api-key", "EXACTLY", true},
		{"included name in lower case", headersField("included", "KEY", "CONTINUE", "X-API-KEY"), "x-api-key", "EXACTLY", true},
		{"ALL: host in lower case", headersField("all", "ALL", "CONTINUE"), "host", "EXACTLY", true},
		{"a value is no name", headersField("all", "KEY", "CONTINUE"), "k-123", "EXACTLY", false},
		{"ALL: a name", headersField("all", "ALL", "CONTINUE"), "X-Api-Key", "EXACTLY", true},
		{"ALL: a value", headersField("all", "ALL", "CONTINUE"), "k-123", "EXACTLY", true},
		// Each key and each value alone: no name=value, no joined values.
		{"ALL: not key and value together", headersField("all", "ALL", "CONTINUE"), "X-Api-Key: k-123", "CONTAINS", false},
		{"repeated: not joined", headersField("all", "VALUE", "CONTINUE"), "a.example.com,evil.test", "CONTAINS", false},
		{"repeated: the first alone", headersField("all", "VALUE", "CONTINUE"), "a.example.com", "EXACTLY", true},
		{"host is a header", headersField("all", "VALUE", "CONTINUE"), "www.example.com", "EXACTLY", true},
		// Header names in a pattern are header names: their case aside.
		{"included, its case aside", headersField("included", "VALUE", "CONTINUE", "x-forwarded-host"), "evil.test", "EXACTLY", true},
		{"included: others not inspected", headersField("included", "VALUE", "CONTINUE", "user-agent"), "evil.test", "EXACTLY", false},
		{"included host", headersField("included", "VALUE", "CONTINUE", "HOST"), "example.com", "ENDS_WITH", true},
		{"included, absent", headersField("included", "VALUE", "CONTINUE", "Referer"), "", "CONTAINS", false},
		{"excluded, its case aside", headersField("excluded", "VALUE", "CONTINUE", "X-FORWARDED-HOST"), "evil.test", "EXACTLY", false},
		{"excluded: others inspected", headersField("excluded", "VALUE", "CONTINUE", "user-agent"), "evil.test", "EXACTLY", true},
		{"excluded host", headersField("excluded", "VALUE", "CONTINUE", "host"), "www.example.com", "EXACTLY", false},
	})
}

func TestCookiesMatch(t *testing.T) {
	req := &WAFRequest{Method: "GET", Path: "/", Header: http.Header{
		"Cookie": {"session=abc123; Theme=dark", "track=1%27%20OR%201%3D1--;flag"},
	}}
	byteMatches(t, req, []byteMatchCase{
		{"value", cookiesField("all", "VALUE", "CONTINUE"), "dark", "EXACTLY", true},
		{"value of a second Cookie header", cookiesField("all", "VALUE", "CONTINUE"), "1%27", "STARTS_WITH", true},
		{"a name is no value", cookiesField("all", "VALUE", "CONTINUE"), "session", "EXACTLY", false},
		{"name", cookiesField("all", "KEY", "CONTINUE"), "Theme", "EXACTLY", true},
		{"a value is no name", cookiesField("all", "KEY", "CONTINUE"), "abc123", "EXACTLY", false},
		{"ALL: name", cookiesField("all", "ALL", "CONTINUE"), "session", "EXACTLY", true},
		{"ALL: value", cookiesField("all", "ALL", "CONTINUE"), "abc123", "EXACTLY", true},
		{"not name=value", cookiesField("all", "ALL", "CONTINUE"), "session=abc123", "EXACTLY", false},
		// A pair without "=" is inspected whole, whichever the scope.
		{"no =", cookiesField("all", "VALUE", "CONTINUE"), "flag", "EXACTLY", true},
		// Cookie names are as sent: case matters.
		{"included", cookiesField("included", "VALUE", "CONTINUE", "Theme"), "dark", "EXACTLY", true},
		{"included, case matters", cookiesField("included", "VALUE", "CONTINUE", "theme"), "dark", "EXACTLY", false},
		{"included: others not inspected", cookiesField("included", "VALUE", "CONTINUE", "session"), "dark", "EXACTLY", false},
		{"excluded", cookiesField("excluded", "VALUE", "CONTINUE", "Theme"), "dark", "EXACTLY", false},
		{"excluded, case matters", cookiesField("excluded", "VALUE", "CONTINUE", "theme"), "dark", "EXACTLY", true},
	})
	// Every statement with a fieldToMatch inspects them, after the
	// statement's transformations.
	sqli, err := compileInput(cookiesField("all", "VALUE", "CONTINUE"), tts("URL_DECODE"))
	if err != nil {
		t.Fatal(err)
	}
	if !(&injectionMatcher{wafInput: sqli}).Match(req) {
		t.Error("no SQL injection found in cookie track")
	}
	if (&injectionMatcher{wafInput: sqli}).Match(&WAFRequest{Header: http.Header{"Cookie": {"track=1; session=abc"}}}) {
		t.Error("SQL injection found in clean cookies")
	}
	size, err := compileSize(&schema.SizeConstraintStatement{FieldToMatch: cookiesField("included", "VALUE", "CONTINUE", "session"), ComparisonOperator: "GT", Size: 5, TextTransformations: tts("NONE")})
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := size.explain(req); !ok || why != "matches: a cookie's value (of session) is 6 bytes (GT 5)" {
		t.Errorf("size: %v %q", ok, why)
	}
	re, err := compileRegexMatch(&schema.RegexMatchStatement{RegexString: "^[a-z]+$", FieldToMatch: headersField("all", "KEY", "CONTINUE"), TextTransformations: tts("LOWERCASE")})
	if err != nil {
		t.Fatal(err)
	}
	if ok, why := re.explain(req); !ok || why != `matches: a header's name after LOWERCASE matches regex "^[a-z]+$"` {
		t.Errorf("regex: %v %q", ok, why)
	}
}

// Past 200 headers or cookies, or 8 KiB of them, oversizeHandling
// decides: CONTINUE inspects them, MATCH matches, NO_MATCH does not.
func TestHeadersOversize(t *testing.T) {
	many := http.Header{"X-Bad": {"evil"}}
	for i := range 200 {
		many.Add("X-Filler", strconv.Itoa(i))
	}
	big := http.Header{"X-Bad": {"evil"}, "X-Filler": {strings.Repeat("a", 8200)}}
	small := http.Header{"X-Bad": {"evil"}}
	cookies := func(n int) http.Header {
		var b strings.Builder
		b.WriteString("bad=evil")
		for i := range n {
			fmt.Fprintf(&b, "; c%d=1", i)
		}
		return http.Header{"Cookie": {b.String()}}
	}
	bigCookie := http.Header{"Cookie": {"bad=evil; pad=" + strings.Repeat("a", 8200)}}
	for _, c := range []struct {
		name     string
		header   http.Header
		cookies  bool
		oversize string
		search   string
		want     bool
	}{
		{"headers: within", small, false, "NO_MATCH", "evil", true},
		{"headers: within, MATCH", small, false, "MATCH", "nothing", false},
		{"headers: 201, CONTINUE", many, false, "CONTINUE", "evil", true},
		{"headers: 201, MATCH", many, false, "MATCH", "nothing", true},
		{"headers: 201, NO_MATCH", many, false, "NO_MATCH", "evil", false},
		{"headers: 8 KiB, MATCH", big, false, "MATCH", "nothing", true},
		{"headers: 8 KiB, NO_MATCH", big, false, "NO_MATCH", "evil", false},
		{"cookies: 200", cookies(199), true, "NO_MATCH", "evil", true},
		{"cookies: 201, CONTINUE", cookies(200), true, "CONTINUE", "evil", true},
		{"cookies: 201, MATCH", cookies(200), true, "MATCH", "nothing", true},
		{"cookies: 201, NO_MATCH", cookies(200), true, "NO_MATCH", "evil", false},
		{"cookies: 8 KiB, MATCH", bigCookie, true, "MATCH", "nothing", true},
		{"cookies: 8 KiB, NO_MATCH", bigCookie, true, "NO_MATCH", "evil", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := headersField("all", "VALUE", c.oversize)
			if c.cookies {
				f = cookiesField("all", "VALUE", c.oversize)
			}
			m, err := compileByteMatch(&schema.ByteMatchStatement{SearchString: c.search, FieldToMatch: f, PositionalConstraint: "EXACTLY", TextTransformations: tts("NONE")})
			if err != nil {
				t.Fatal(err)
			}
			if got := m.Match(&WAFRequest{Path: "/", Header: c.header}); got != c.want {
				t.Errorf("match %v, want %v", got, c.want)
			}
		})
	}
}

// Route says when oversizeHandling, not the inspection, decided.
func TestExplainOversize(t *testing.T) {
	m, err := compileByteMatch(&schema.ByteMatchStatement{SearchString: "nothing", FieldToMatch: headersField("all", "VALUE", "MATCH"), PositionalConstraint: "EXACTLY", TextTransformations: tts("NONE")})
	if err != nil {
		t.Fatal(err)
	}
	rule := &WAFRule{Name: "big", Action: WAFAction{Kind: WAFBlock, Status: 403}, Match: m}
	h := http.Header{}
	for i := range 205 {
		h.Add("X-Filler", strconv.Itoa(i))
	}
	if ok, why := rule.Explain(&WAFRequest{Path: "/", Header: h}); !ok || why != "matches: the request has 205 headers, more than the 200 WAF inspects (oversizeHandling MATCH)" {
		t.Errorf("%v %q", ok, why)
	}
	if ok, why := rule.Explain(&WAFRequest{Path: "/", Header: http.Header{"X-A": {"b"}}}); ok || why != "does not match" {
		t.Errorf("%v %q", ok, why)
	}
}
