package table

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"openfront.dev/schema"
)

// The body as JSON (API_JsonBody, API_JsonMatchPattern; developer guide
// waf-rule-statement-fields-list, "JSON body"). What WAF says, and this
// file does:
//   - the same bytes as body are inspected: the web ACL's limit, and
//     oversizeHandling past it (wafbody.go);
//   - matchScope KEY inspects the keys, VALUE the values, ALL both, each
//     alone: "It requires a match to be found in the keys or the values or
//     both";
//   - matchPattern all is the whole document, includedPaths "JSON Pointer
//     syntax" (RFC 6901), "/dogs/0/name": here a path includes the value
//     at it and everything that value holds, and a member's key with its
//     value;
//   - invalidFallbackBehavior, when WAF "fails to completely parse the
//     JSON body": MATCH, NO_MATCH, or EVALUATE_AS_STRING "Inspect the body
//     as plain text"; unset, "WAF parses and evaluates the content only up
//     to the first parsing failure". A body cut by the limit is such a
//     failure, as is anything after the first JSON value. WAF's own parser
//     "doesn't fully validate the input JSON"; encoding/json does, so a
//     body WAF would parse may fall back here.

// wafJSON is a jsonBody fieldToMatch's settings.
type wafJSON struct {
	paths    []string // includedPaths, as given (escaped); nil for all
	keys     bool     // KEY or ALL
	values   bool     // VALUE or ALL
	fallback string   // invalidFallbackBehavior, "" unset
	longest  int      // bytes of the longest path: the pointers it needs
}

func compileJSON(j *schema.WAFJSONBody) *wafJSON {
	longest := 0
	for _, p := range j.MatchPattern.IncludedPaths {
		longest = max(longest, len(p))
	}
	return &wafJSON{
		longest:  longest,
		paths:    j.MatchPattern.IncludedPaths,
		keys:     j.MatchScope != "VALUE",
		values:   j.MatchScope != "KEY",
		fallback: j.InvalidFallbackBehavior,
	}
}

// includes reports whether the item at pointer p is inspected.
func (j *wafJSON) includes(p string) bool {
	if j.paths == nil {
		return true
	}
	for _, inc := range j.paths {
		if p == inc || strings.HasPrefix(p, inc) && p[len(inc)] == '/' {
			return true
		}
	}
	return false
}

// jsonItem is a key or a scalar value of a JSON body, its text as
// decoded (a string unquoted, a number as sent), at its JSON Pointer.
type jsonItem struct {
	pointer string
	key     bool
	text    string
}

// jsonDoc is a body parsed once per request, for all its jsonBody
// statements.
type jsonDoc struct {
	items   []jsonItem // up to the first error
	invalid bool
	// pointers is how long a pointer grows: one longer than that is cut
	// after the first reference token that takes it past (jsonChild).
	pointers int
}

// json is b parsed, once for the statements whose paths are at most
// pointers bytes; a request without a body has an empty, valid document.
func (b *WAFBody) json(pointers int) *jsonDoc {
	if b == nil {
		return &jsonDoc{}
	}
	if b.doc == nil || b.doc.pointers < pointers {
		b.doc = parseJSON(b.Data, pointers)
	}
	return b.doc
}

// jsonChild is the pointer of parent's member or element seg, cut when
// parent is longer than pointers bytes: then it is parent. Cut so, a
// pointer is still included by exactly the paths of at most pointers
// bytes that include the whole (a path can only be a prefix of what is
// kept), and a viewer's deep nesting costs no copy of each level's
// pointer, which grew the memory as the square of the depth.
func jsonChild(parent string, pointers int, seg func() string) string {
	if len(parent) > pointers {
		return parent
	}
	return parent + "/" + seg()
}

// jsonLevel is an object or array being read: the pointer to it, and for
// an array the next index, for an object whether a key comes next and
// the last one's pointer.
type jsonLevel struct {
	pointer string
	array   bool
	index   int
	wantKey bool
	member  string
}

// parseJSON reads data's tokens, no document built: keys and scalar
// values with their pointers, up to the first error.
func parseJSON(data []byte, pointers int) *jsonDoc {
	doc := &jsonDoc{pointers: pointers}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []jsonLevel
	values := 0 // top-level values
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			doc.invalid = len(stack) > 0
			return doc
		}
		if err != nil {
			doc.invalid = true
			return doc
		}
		// The pointer of the value tok is or opens.
		var at string
		if n := len(stack); n > 0 {
			l := &stack[n-1]
			switch {
			case tok == json.Delim('}') || tok == json.Delim(']'):
			case l.array:
				at = jsonChild(l.pointer, pointers, func() string { return strconv.Itoa(l.index) })
				l.index++
			case l.wantKey:
				key, _ := tok.(string)
				l.member = jsonChild(l.pointer, pointers, func() string { return jsonEscape(key) })
				l.wantKey = false
				doc.items = append(doc.items, jsonItem{pointer: l.member, key: true, text: key})
				continue
			default:
				at = l.member
				l.wantKey = true
			}
		} else if values++; values > 1 {
			doc.invalid = true // a second document
			return doc
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, jsonLevel{pointer: at, array: t == '[', wantKey: t == '{'})
			default:
				stack = stack[:len(stack)-1]
			}
		case string:
			doc.items = append(doc.items, jsonItem{pointer: at, text: t})
		case json.Number:
			doc.items = append(doc.items, jsonItem{pointer: at, text: string(t)})
		case bool:
			doc.items = append(doc.items, jsonItem{pointer: at, text: strconv.FormatBool(t)})
		case nil:
			doc.items = append(doc.items, jsonItem{pointer: at, text: "null"})
		}
	}
}

// jsonEscape is key as a JSON Pointer's reference token (RFC 6901 §3).
func jsonEscape(key string) string {
	if !strings.ContainsAny(key, "~/") {
		return key
	}
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}

// inspectJSON calls match with each key and/or value the statement
// inspects, transformed, and reports whether any matched.
func (in *wafInput) inspectJSON(r *WAFRequest, match func(v string) bool) bool {
	if decided, matched := in.oversized(r); decided {
		return matched
	}
	doc := r.Body.json(in.json.longest)
	if doc.invalid {
		switch in.json.fallback {
		case "MATCH":
			return true
		case "NO_MATCH":
			return false
		case "EVALUATE_AS_STRING":
			return match(in.transform(r.Body.text()))
		}
	}
	for _, it := range doc.items {
		if (it.key && in.json.keys || !it.key && in.json.values) && in.json.includes(it.pointer) && match(in.transform(it.text)) {
			return true
		}
	}
	return false
}

// describe names what a jsonBody statement inspects, for route.
func (j *wafJSON) describe() string {
	s := map[[2]bool]string{{true, false}: "the keys", {false, true}: "the values", {true, true}: "the keys and values"}[[2]bool{j.keys, j.values}]
	s += " of the JSON body"
	if j.paths != nil {
		s += " under " + strings.Join(j.paths, ", ")
	}
	return s
}
