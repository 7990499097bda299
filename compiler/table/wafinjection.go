package table

import (
	"regexp"

	"github.com/corazawaf/libinjection-go"
)

// injectionMatcher is a SqliMatchStatement (API_SqliMatchStatement) or
// an XssMatchStatement (API_XssMatchStatement), detected by libinjection,
// the tokenizer ModSecurity and Coraza use for @detectSQLi and
// @detectXSS: it parses the value as SQL (as is, and as if it followed a
// single or a double quote) and as HTML, with no regex to evade by
// spelling.
//
// WAF says only that HIGH "detects more attacks, but might generate more
// false positives" and LOW "is generally a better choice for resources
// that ... have a low tolerance for false positives" (API_SqliMatchStatement),
// and its announcement that HIGH "uses additional SQLi signatures". So
// LOW is libinjection alone, whose fingerprints exclude what it has seen
// be harmless text; HIGH adds sqliHighSignatures, SQL that libinjection
// lets through as too common in prose (a quote then OR, "select ...
// from", UNION SELECT split by comments it normalises differently,
// stacked statements, time delays).
type injectionMatcher struct {
	wafInput
	xss  bool
	high bool // SQLi sensitivityLevel HIGH
}

// sqliHighSignatures are HIGH's signatures beyond libinjection, compiled
// once.
// Each wants SQL's shape, not only its words: "select an item from the
// list" is prose, "select name from users" is not.
var sqliHighSignatures = regexp.MustCompile(`(?i)` +
	`\bunion(?:\s|\+|/\*[^*]*\*/)+(?:(?:all|distinct)(?:\s|\+|/\*[^*]*\*/)+)?select\b` +
	`|\bselect(?:\s|\+)+(?:\*|[\w.\x60"\[\]]+(?:\s*,\s*[\w.\x60"\[\]]+)*)(?:\s|\+)+from(?:\s|\+)+[\w.\x60"\[]` +
	`|['"]\s*\)*\s*(?:(?:or|and)\b|\|\||&&)` +
	`|;\s*(?:drop|delete|insert|update|alter|create|truncate|exec|execute|shutdown|declare)\b` +
	`|\b(?:sleep|benchmark|pg_sleep)\s*\(|\bwaitfor\s+delay\b`)

func (m *injectionMatcher) Match(r *WAFRequest) bool {
	return m.inspect(r, func(v string) bool { _, ok := m.detect(v); return ok })
}

// detect reports whether v is an injection, with what libinjection saw.
func (m *injectionMatcher) detect(v string) (string, bool) {
	if m.xss {
		return "", libinjection.IsXSS(v)
	}
	if ok, fp := libinjection.IsSQLi(v); ok {
		return "libinjection fingerprint " + fp, true
	}
	if m.high {
		if s := sqliHighSignatures.FindString(v); s != "" {
			return "HIGH signature " + s, true
		}
	}
	return "", false
}

func (m *injectionMatcher) explain(r *WAFRequest) (bool, string) {
	var how string
	matched := m.inspect(r, func(v string) bool {
		var ok bool
		how, ok = m.detect(v)
		return ok
	})
	what := "SQL injection"
	if m.xss {
		what = "cross-site scripting"
	}
	if !matched {
		return false, "does not match: no " + what + " in " + m.describe()
	}
	if how != "" {
		how = " (" + how + ")"
	}
	return true, "matches: " + what + " in " + m.describe() + how
}
