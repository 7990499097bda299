package table

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"openfront.dev/schema"
)

// TestJSONBodyMatch: a jsonBody fieldToMatch inspects each key and/or
// each scalar value alone, of the whole document or under its included
// paths; a body that is not JSON, or is cut by the limit, goes to
// invalidFallbackBehavior, and without one what was parsed before the
// error is inspected.
func TestJSONBodyMatch(t *testing.T) {
	decode := []schema.TextTransformation{{Priority: 0, Type: "NONE"}}
	small := func(s string) *WAFBody { return &WAFBody{Data: []byte(s), Size: int64(len(s))} }
	for _, c := range []struct {
		name     string
		paths    []string // nil: all
		scope    string
		fallback string
		oversize string
		search   string // byteMatch EXACTLY
		body     *WAFBody
		want     bool
	}{
		{name: "value, all", scope: "VALUE", search: "admin", body: small(`{"user":"admin"}`), want: true},
		{name: "key is no value", scope: "VALUE", search: "user", body: small(`{"user":"admin"}`), want: false},
		{name: "key", scope: "KEY", search: "user", body: small(`{"user":"admin"}`), want: true},
		{name: "value is no key", scope: "KEY", search: "admin", body: small(`{"user":"admin"}`), want: false},
		{name: "ALL: key", scope: "ALL", search: "user", body: small(`{"user":"admin"}`), want: true},
		{name: "ALL: value", scope: "ALL", search: "admin", body: small(`{"user":"admin"}`), want: true},
		// Each alone: EXACTLY does not see the document as text.
		{name: "alone", scope: "ALL", search: `"user":"admin"`, body: small(`{"user":"admin"}`), want: false},
		{name: "escapes decoded", scope: "VALUE", search: "a\"b/é", body: small(`{"k":"a\"b\/\u00e9"}`), want: true},
		{name: "number as sent", scope: "VALUE", search: "1.50", body: small(`{"k":[1.50]}`), want: true},
		{name: "true", scope: "VALUE", search: "true", body: small(`{"k":true}`), want: true},
		{name: "null", scope: "VALUE", search: "null", body: small(`[null]`), want: true},
		{name: "top-level scalar", scope: "VALUE", search: "x", body: small(`"x"`), want: true},
		{name: "nested", scope: "VALUE", search: "deep", body: small(`{"a":[{"b":[[1,{"c":"deep"}]]}]}`), want: true},
		{name: "nested key", scope: "KEY", search: "c", body: small(`{"a":[{"b":[[1,{"c":"deep"}]]}]}`), want: true},
		// Included paths: the value at the pointer, and what it holds.
		{name: "path", paths: []string{"/a/0/name"}, scope: "VALUE", search: "x", body: small(`{"a":[{"name":"x"},{"name":"y"}]}`), want: true},
		{name: "path, other index", paths: []string{"/a/0/name"}, scope: "VALUE", search: "y", body: small(`{"a":[{"name":"x"},{"name":"y"}]}`), want: false},
		{name: "path, within", paths: []string{"/a/1"}, scope: "VALUE", search: "y", body: small(`{"a":[{"name":"x"},{"name":"y"}]}`), want: true},
		{name: "path, a prefix is no parent", paths: []string{"/a/1"}, scope: "VALUE", search: "z", body: small(`{"a":[0,1,2,3,4,5,6,7,8,9,10,"z"]}`), want: false},
		{name: "path, key", paths: []string{"/a/0/name"}, scope: "KEY", search: "name", body: small(`{"a":[{"name":"x"}]}`), want: true},
		{name: "path, key outside", paths: []string{"/b"}, scope: "KEY", search: "a", body: small(`{"a":1,"b":2}`), want: false},
		{name: "path, escaped", paths: []string{"/a~1b/m~0n"}, scope: "VALUE", search: "v", body: small(`{"a/b":{"m~n":"v"}}`), want: true},
		{name: "path, second of two", paths: []string{"/x", "/y"}, scope: "VALUE", search: "v", body: small(`{"x":1,"y":"v"}`), want: true},
		// Invalid JSON: the fallback decides, or what parsed before the error.
		{name: "invalid, no fallback, before", scope: "VALUE", search: "a", body: small(`{"k":"a",,}`), want: true},
		{name: "invalid, no fallback, after", scope: "VALUE", search: "b", body: small(`{"k":"a",,"j":"b"}`), want: false},
		{name: "invalid MATCH", scope: "VALUE", fallback: "MATCH", search: "none", body: small(`{"k":`), want: true},
		{name: "invalid NO_MATCH", scope: "VALUE", fallback: "NO_MATCH", search: "a", body: small(`{"k":"a",,}`), want: false},
		{name: "invalid as string", scope: "VALUE", fallback: "EVALUATE_AS_STRING", search: `user=x`, body: small(`user=x`), want: true},
		{name: "valid, fallback unused", scope: "VALUE", fallback: "MATCH", search: "none", body: small(`{"k":"a"}`), want: false},
		{name: "two documents", scope: "VALUE", fallback: "MATCH", search: "none", body: small(`{} {}`), want: true},
		{name: "no body", scope: "ALL", fallback: "MATCH", search: "", body: nil, want: false},
		// Cut by the limit: CONTINUE parses the first bytes, which are not
		// JSON whole, so the fallback decides.
		{name: "oversize CONTINUE, first bytes", scope: "VALUE", oversize: "CONTINUE", search: "a",
			body: &WAFBody{Data: []byte(`{"k":"a","pad":"` + strings.Repeat("x", 100)), Oversize: true, Size: 1 << 20}, want: true},
		{name: "oversize CONTINUE, cut, MATCH", scope: "VALUE", oversize: "CONTINUE", fallback: "MATCH", search: "none",
			body: &WAFBody{Data: []byte(`{"k":"a","pad":"` + strings.Repeat("x", 100)), Oversize: true, Size: 1 << 20}, want: true},
		{name: "oversize MATCH", scope: "VALUE", oversize: "MATCH", search: "none", body: &WAFBody{Data: []byte(`{}`), Oversize: true, Size: 1 << 20}, want: true},
		{name: "oversize NO_MATCH", scope: "VALUE", oversize: "NO_MATCH", search: "a", body: &WAFBody{Data: []byte(`{"k":"a"`), Oversize: true, Size: 1 << 20}, want: false},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := schema.WAFFieldToMatch{JSONBody: &schema.WAFJSONBody{MatchScope: c.scope, InvalidFallbackBehavior: c.fallback, OversizeHandling: c.oversize}}
			if c.paths == nil {
				f.JSONBody.MatchPattern.All = &struct{}{}
			} else {
				f.JSONBody.MatchPattern.IncludedPaths = c.paths
			}
			s := schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: c.search, FieldToMatch: f, PositionalConstraint: "EXACTLY", TextTransformations: decode}}
			m, err := (&wafCompiler{}).statement(&s)
			if err != nil {
				t.Fatal(err)
			}
			r := &WAFRequest{Method: "POST", Path: "/api", Body: c.body}
			if got := m.Match(r); got != c.want {
				t.Errorf("match %v, want %v", got, c.want)
			}
			rule := &WAFRule{Name: "json", Match: m}
			if got, why := rule.Explain(r); got != c.want {
				t.Errorf("explain %v (%s), want %v", got, why, c.want)
			}
		})
	}
}

// TestJSONBodyStatements: every statement with a fieldToMatch takes
// jsonBody; a size constraint compares the body's size, as for body
// (API_SizeConstraintStatement names Body and JsonBody alike).
func TestJSONBodyStatements(t *testing.T) {
	f := schema.WAFFieldToMatch{JSONBody: &schema.WAFJSONBody{MatchPattern: schema.WAFJSONMatchPattern{All: &struct{}{}}, MatchScope: "VALUE"}}
	none := []schema.TextTransformation{{Priority: 0, Type: "NONE"}}
	stmts := map[string]schema.WAFStatement{
		"sqli":  {SqliMatchStatement: &schema.SqliMatchStatement{FieldToMatch: f, TextTransformations: none}},
		"xss":   {XssMatchStatement: &schema.XssMatchStatement{FieldToMatch: f, TextTransformations: none}},
		"regex": {RegexMatchStatement: &schema.RegexMatchStatement{RegexString: "(?i)^union\\s+select", FieldToMatch: f, TextTransformations: none}},
		"size":  {SizeConstraintStatement: &schema.SizeConstraintStatement{FieldToMatch: f, ComparisonOperator: "GT", Size: 60, TextTransformations: none}},
	}
	for _, c := range []struct {
		name string
		body string
		want map[string]bool
	}{
		{"sqli in a value", `{"user": "1' OR '1'='1"}`, map[string]bool{"sqli": true}},
		{"sqli as a key only", `{"1' OR '1'='1": "x"}`, map[string]bool{}},
		{"xss in an array", `{"c": ["ok", "<script>alert(1)</script>"]}`, map[string]bool{"xss": true}},
		{"regex anchored in a value", `{"q": "UNION SELECT 1"}`, map[string]bool{"regex": true, "sqli": true}},
		{"large", `{"pad": "` + strings.Repeat("x", 60) + `"}`, map[string]bool{"size": true}},
		{"clean", `{"user": "fish", "n": [1, 2]}`, map[string]bool{}},
	} {
		for name, s := range stmts {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				m, err := (&wafCompiler{}).statement(&s)
				if err != nil {
					t.Fatal(err)
				}
				r := &WAFRequest{Method: "POST", Path: "/api", Body: &WAFBody{Data: []byte(c.body), Size: int64(len(c.body))}}
				if got := m.Match(r); got != c.want[name] {
					t.Errorf("match %v, want %v", got, c.want[name])
				}
			})
		}
	}
}

// TestJSONBodyInspectsBody: a web ACL with a jsonBody rule reads the
// body as one with a body rule does.
func TestJSONBodyInspectsBody(t *testing.T) {
	c := &wafCompiler{}
	s := schema.WAFStatement{XssMatchStatement: &schema.XssMatchStatement{TextTransformations: []schema.TextTransformation{{Type: "NONE"}},
		FieldToMatch: schema.WAFFieldToMatch{JSONBody: &schema.WAFJSONBody{MatchPattern: schema.WAFJSONMatchPattern{All: &struct{}{}}, MatchScope: "ALL"}}}}
	if _, err := c.statement(&s); err != nil {
		t.Fatal(err)
	}
	if !c.body {
		t.Error("a jsonBody statement does not read the body")
	}
}

// TestJSONBodyParsedOnce: the statements of a request share one parse of
// its body.
func TestJSONBodyParsedOnce(t *testing.T) {
	f := schema.WAFFieldToMatch{JSONBody: &schema.WAFJSONBody{MatchPattern: schema.WAFJSONMatchPattern{All: &struct{}{}}, MatchScope: "VALUE"}}
	none := []schema.TextTransformation{{Type: "NONE"}}
	c := &wafCompiler{}
	first, err := c.statement(&schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: "a", PositionalConstraint: "EXACTLY", FieldToMatch: f, TextTransformations: none}})
	if err != nil {
		t.Fatal(err)
	}
	second, err := c.statement(&schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: "b", PositionalConstraint: "EXACTLY", FieldToMatch: f, TextTransformations: none}})
	if err != nil {
		t.Fatal(err)
	}
	r := &WAFRequest{Method: "POST", Body: &WAFBody{Data: []byte(`{"k":"a"}`), Size: 9}}
	if !first.Match(r) {
		t.Fatal("the first statement does not match")
	}
	// What the second statement sees is the first one's parse, here
	// another document's.
	r.Body.doc.tokens = parseJSON([]byte(`{"j":"b"}`)).tokens
	if !second.Match(r) {
		t.Error("the second statement parsed the body again")
	}
}

// TestJSONBodyDeep: a viewer's deeply nested body costs memory in
// proportion to its size, not to its depth squared (each level's JSON
// Pointer once held its parent's whole), and what it holds deep down is
// still inspected under an included path.
func TestJSONBodyDeep(t *testing.T) {
	const depth = 8 << 10 // of the 16 KB WAF inspects by default
	deep := func(open, inner, close string) *WAFBody {
		s := strings.Repeat(open, depth) + inner + strings.Repeat(close, depth)
		return &WAFBody{Data: []byte(s), Size: int64(len(s))}
	}
	for _, c := range []struct {
		name   string
		paths  []string // nil: all
		search string
		body   *WAFBody
		want   bool
	}{
		{name: "arrays, all", search: "x", body: deep("[", `"x"`, "]"), want: true},
		{name: "arrays, path", paths: []string{"/0/0"}, search: "x", body: deep("[", `"x"`, "]"), want: true},
		{name: "arrays, other path", paths: []string{"/1"}, search: "x", body: deep("[", `"x"`, "]"), want: false},
		{name: "objects, path", paths: []string{"/a/a/a"}, search: "x", body: deep(`{"a":`, `"x"`, "}"), want: true},
		{name: "objects, a longer key is no parent", paths: []string{"/a/a/a"}, search: "x", body: deep(`{"a":`, `{"ab":"x"}`, "}"), want: true},
		{name: "objects, other key", paths: []string{"/a/b"}, search: "x", body: deep(`{"a":`, `"x"`, "}"), want: false},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := jsonExactly(t, c.paths, "VALUE", c.search)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			got := m.Match(&WAFRequest{Method: "POST", Body: c.body})
			runtime.ReadMemStats(&after)
			if got != c.want {
				t.Errorf("match %v, want %v", got, c.want)
			}
			// The body's own size and the parser's stacks: a few MB.
			if n := after.TotalAlloc - before.TotalAlloc; n > 8<<20 {
				t.Errorf("parsing %d bytes nested %d deep allocated %d MB", len(c.body.Data), depth, n>>20)
			}
		})
	}
}

// jsonExactly is a byteMatchStatement EXACTLY search, untransformed, on
// a jsonBody of paths (nil: all) and scope.
func jsonExactly(t *testing.T, paths []string, scope, search string) WAFMatcher {
	t.Helper()
	f := schema.WAFFieldToMatch{JSONBody: &schema.WAFJSONBody{MatchScope: scope}}
	if paths == nil {
		f.JSONBody.MatchPattern.All = &struct{}{}
	} else {
		f.JSONBody.MatchPattern.IncludedPaths = paths
	}
	s := schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: search, PositionalConstraint: "EXACTLY", FieldToMatch: f,
		TextTransformations: []schema.TextTransformation{{Type: "NONE"}}}}
	m, err := (&wafCompiler{}).statement(&s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestJSONBodyMemory: what a request's jsonBody statement allocates is a
// small multiple of the body, whatever the included path's length and
// the document's shape: a long path down to a wide array or object once
// gave each of its thousands of values its own copy of the path (16 MB
// for 64 KB).
func TestJSONBodyMemory(t *testing.T) {
	long := strings.Repeat("k", 500)                   // one key, a pointer of 501 bytes
	deep := strings.Repeat("/a", 250)                  // 250 levels, 500 bytes
	down := func(keys []string, inner string) string { // {"k1":{"k2":...inner}}
		var b strings.Builder
		for _, k := range keys {
			b.WriteString(`{"` + k + `":`)
		}
		b.WriteString(inner)
		b.WriteString(strings.Repeat("}", len(keys)))
		return b.String()
	}
	// fill repeats item, comma separated, in open and close, to size bytes
	// with last as the last item.
	fill := func(size int, prefix, open, item, last, close, suffix string) string {
		n := (size - len(prefix) - len(open) - len(last) - len(close) - len(suffix)) / (len(item) + 1)
		return prefix + open + strings.Repeat(item+",", n) + last + close + suffix
	}
	wide := func(size int, keys []string, open, item, last, close string) string {
		pre := down(keys, "")
		pre = pre[:len(pre)-len(keys)]
		return fill(size, pre, open, item, last, close, strings.Repeat("}", len(keys)))
	}
	deepKeys := strings.Split(deep[1:], "/")
	for _, size := range []int{16 << 10, 64 << 10} {
		for _, c := range []struct {
			name   string
			paths  []string // nil: all
			scope  string
			search string
			body   string
			want   bool
		}{
			{name: "long path, wide array", paths: []string{"/" + long}, scope: "VALUE", search: "x",
				body: wide(size, []string{long}, "[", "1", `"x"`, "]"), want: true},
			{name: "long path, many members", paths: []string{"/" + long}, scope: "KEY", search: "x",
				body: wide(size, []string{long}, "{", `"":1`, `"x":1`, "}"), want: true},
			{name: "long path, an array on the way", paths: []string{"/" + long + "/1"}, scope: "VALUE", search: "x",
				body: wide(size, []string{long}, "[", "1", `"x"`, "]"), want: false},
			{name: "deep path, wide array", paths: []string{deep}, scope: "VALUE", search: "x",
				body: wide(size, deepKeys, "[", "1", `"x"`, "]"), want: true},
			{name: "deep path, nested arrays", paths: []string{deep}, scope: "VALUE", search: "x",
				body: wide(size, deepKeys, "[", "[]", `"x"`, "]"), want: true},
			{name: "other path, wide array", paths: []string{deep + "/b"}, scope: "VALUE", search: "x",
				body: wide(size, deepKeys, "[", "1", `"x"`, "]"), want: false},
			{name: "all, wide array", scope: "ALL", search: "x", body: fill(size, "", "[", "1", `"x"`, "]", ""), want: true},
			// Each invalid byte is U+FFFD, three bytes, for the rules.
			{name: "invalid UTF-8", paths: []string{"/0"}, scope: "VALUE", search: "x", body: `["` + strings.Repeat("\xff", size-4) + `"]`, want: false},
			{name: "nested arrays", paths: []string{"/0/0"}, scope: "VALUE", search: "x",
				body: strings.Repeat("[", size/2-2) + `"x"` + strings.Repeat("]", size/2-2), want: true},
		} {
			t.Run(fmt.Sprintf("%s/%dKB", c.name, size>>10), func(t *testing.T) {
				if len(c.body) > size || len(c.body) < size-8 {
					t.Fatalf("body of %d bytes, want %d", len(c.body), size)
				}
				m := jsonExactly(t, c.paths, c.scope, c.search)
				data := []byte(c.body)
				const runs = 4
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				for range runs {
					if got := m.Match(&WAFRequest{Method: "POST", Body: &WAFBody{Data: data, Size: int64(len(data))}}); got != c.want {
						t.Fatalf("match %v, want %v", got, c.want)
					}
				}
				runtime.ReadMemStats(&after)
				per := (after.TotalAlloc - before.TotalAlloc) / runs
				t.Logf("%d bytes: %d KB per request", len(data), per>>10)
				if per > uint64(8*len(data)) {
					t.Errorf("a request with %d bytes of JSON allocated %d KB, over 8 times the body", len(data), per>>10)
				}
			})
		}
	}
}

// BenchmarkJSONBody is a typical JSON POST of about 1 KB under a few
// jsonBody rules, each request's body parsed afresh.
func BenchmarkJSONBody(b *testing.B) {
	none := []schema.TextTransformation{{Type: "NONE"}}
	all := schema.WAFFieldToMatch{JSONBody: &schema.WAFJSONBody{MatchPattern: schema.WAFJSONMatchPattern{All: &struct{}{}}, MatchScope: "VALUE"}}
	user := schema.WAFFieldToMatch{JSONBody: &schema.WAFJSONBody{MatchPattern: schema.WAFJSONMatchPattern{IncludedPaths: []string{"/user/name", "/items"}}, MatchScope: "ALL"}}
	acl, err := newWebACL("acl", &schema.WebACL{Rules: []schema.WAFRule{
		{Name: "sqli", Priority: 0, Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}},
			Statement: schema.WAFStatement{SqliMatchStatement: &schema.SqliMatchStatement{FieldToMatch: all, TextTransformations: none}}},
		{Name: "xss", Priority: 1, Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}},
			Statement: schema.WAFStatement{XssMatchStatement: &schema.XssMatchStatement{FieldToMatch: all, TextTransformations: none}}},
		{Name: "admin", Priority: 2, Action: &schema.WAFRuleAction{Block: &schema.WAFBlockAction{}},
			Statement: schema.WAFStatement{ByteMatchStatement: &schema.ByteMatchStatement{SearchString: "admin", PositionalConstraint: "CONTAINS", FieldToMatch: user, TextTransformations: none}}},
	}}, &schema.Config{})
	if err != nil {
		b.Fatal(err)
	}
	var body strings.Builder
	body.WriteString(`{"user":{"name":"Ada Lovelace","email":"ada@example.com","id":1815,"tags":["math","engines"]},"items":[`)
	for i := range 12 {
		if i > 0 {
			body.WriteString(",")
		}
		fmt.Fprintf(&body, `{"sku":"SKU-%04d","qty":%d,"price":%d.99,"gift":false,"note":"leave at the door"}`, i, i%3+1, 10+i)
	}
	body.WriteString(`],"coupon":null,"comment":"Please deliver before noon \u2014 thanks!"}`)
	data := []byte(body.String())
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		req := &WAFRequest{Method: "POST", Path: "/api/orders", Host: "www.example.com", Body: &WAFBody{Data: data, Size: int64(len(data))}}
		if acl.Evaluate(req, nil, nil).Action.Kind != WAFAllow {
			b.Fatal("blocked")
		}
	}
}
