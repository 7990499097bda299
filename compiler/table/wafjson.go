package table

import (
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
//     "doesn't fully validate the input JSON"; jsonParser does, as
//     encoding/json, so a body WAF would parse may fall back here.

// Memory: a request's parse is kept as one string of tokens (jsonDoc),
// about the body's size, with no JSON Pointer in it; each statement walks
// it and works out where each token is relative to its own paths as it
// goes (jsonWalk), keeping a place per open container only while that
// container is on the way to a path, so at most one per byte of the
// longest path. A pointer per value, with a long includedPath and a wide
// array, once cost 26 MB for a 64 KB body, and encoding/json's Token
// alone 10 MB (some 300 bytes a value): the body is read by jsonParser
// (wafjsonparse.go), which takes and decodes what encoding/json does.
// A 64 KB body now costs about 200 KB (TestJSONBodyMemory).

// wafJSON is a jsonBody fieldToMatch's settings.
type wafJSON struct {
	paths    []string // includedPaths, as given (escaped); nil for all
	keys     bool     // KEY or ALL
	values   bool     // VALUE or ALL
	fallback string   // invalidFallbackBehavior, "" unset
}

func compileJSON(j *schema.WAFJSONBody) *wafJSON {
	return &wafJSON{
		paths:    j.MatchPattern.IncludedPaths,
		keys:     j.MatchScope != "VALUE",
		values:   j.MatchScope != "KEY",
		fallback: j.InvalidFallbackBehavior,
	}
}

// jsonDoc is a body parsed once per request, for all its jsonBody
// statements.
type jsonDoc struct {
	// tokens are the document's, up to the first error, each a tag
	// (jsonObject, jsonArray, jsonEnd, jsonKey, jsonValue); a key or a
	// scalar value then has its text's length (uvarint) and its text as
	// decoded: a string unquoted, a number as sent, true, false, null.
	tokens  string
	invalid bool
}

const (
	jsonObject = '{'
	jsonArray  = '['
	jsonEnd    = ']' // of either
	jsonKey    = 'k'
	jsonValue  = 'v'
)

// json is b parsed, once; a request without a body has an empty, valid
// document.
func (b *WAFBody) json() *jsonDoc {
	if b == nil {
		return &jsonDoc{}
	}
	if b.doc == nil {
		b.doc = parseJSON(b.Data)
	}
	return b.doc
}

// inspectJSON calls match with each key and/or value the statement
// inspects, transformed, and reports whether any matched.
func (in *wafInput) inspectJSON(r *WAFRequest, match func(v string) bool) bool {
	if decided, matched := in.oversized(r); decided {
		return matched
	}
	doc := r.Body.json()
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
	w := jsonWalk{json: in.json, tokens: doc.tokens}
	for {
		key, text, ok := w.next()
		if !ok {
			return false
		}
		if (key && in.json.keys || !key && in.json.values) && match(in.transform(text)) {
			return true
		}
	}
}

// A jsonPlace is where a JSON Pointer is for a statement's paths: in one
// (a path is it or an ancestor's), out of all with all it holds, or on
// the way to one or more, when it is paths[path][:n] and that path goes
// on with a '/'.
type jsonPlace struct {
	state uint8 // jsonIn, jsonOut, jsonOn
	path  int
	n     int
}

const (
	jsonOut = iota
	jsonIn
	jsonOn
)

// jsonFrame is an open container on the way to a path: its place, and
// for an array the next index, for an object the place of the member
// whose key came last.
type jsonFrame struct {
	at     jsonPlace
	array  bool
	index  int
	member jsonPlace
}

// jsonWalk reads a document's tokens for one statement.
type jsonWalk struct {
	json   *wafJSON
	tokens string
	i      int
	frames []jsonFrame // open containers on the way to a path
	// decided counts the open containers at and inside the outermost one
	// in or out of the paths; in says which.
	decided int
	in      bool
}

// next is the next key or scalar value and whether the statement's paths
// include it; ok is false at the end.
func (w *jsonWalk) next() (key bool, text string, ok bool) {
	for w.i < len(w.tokens) {
		tag := w.tokens[w.i]
		w.i++
		if tag == jsonKey || tag == jsonValue {
			n := 0
			for shift := 0; ; shift += 7 {
				c := w.tokens[w.i]
				w.i++
				n |= int(c&0x7f) << shift
				if c < 0x80 {
					break
				}
			}
			text = w.tokens[w.i : w.i+n]
			w.i += n
		}
		// The place of the key's member, or of the value tag is or opens.
		var at jsonPlace
		switch top := len(w.frames) - 1; {
		case tag == jsonEnd:
			if w.decided > 0 {
				w.decided--
			} else {
				w.frames = w.frames[:top]
			}
			continue
		case w.decided > 0:
			at.state = jsonOut
			if w.in {
				at.state = jsonIn
			}
		case top < 0:
			at = w.json.root()
		case w.frames[top].array:
			f := &w.frames[top]
			at = w.json.child(f.at, "", f.index)
			f.index++
		case tag == jsonKey:
			f := &w.frames[top]
			f.member = w.json.child(f.at, text, -1)
			at = f.member
		default:
			at = w.frames[top].member
		}
		switch {
		case tag == jsonKey || tag == jsonValue:
			if at.state == jsonIn {
				return tag == jsonKey, text, true
			}
		case w.decided > 0:
			w.decided++
		case at.state == jsonOn:
			w.frames = append(w.frames, jsonFrame{at: at, array: tag == jsonArray})
		default:
			w.decided, w.in = 1, at.state == jsonIn
		}
	}
	return false, "", false
}

// root is the place of the document itself, the pointer "".
func (j *wafJSON) root() jsonPlace {
	if j.paths == nil {
		return jsonPlace{state: jsonIn}
	}
	on := jsonPlace{state: jsonOut}
	for k, p := range j.paths {
		if p == "" {
			return jsonPlace{state: jsonIn}
		}
		if p[0] == '/' {
			on = jsonPlace{state: jsonOn, path: k}
		}
	}
	return on
}

// child is the place of the member key (unescaped) or, for index >= 0,
// the element index of the container at parent, which is on the way.
// Its pointer is compared with the paths' in place, never built.
func (j *wafJSON) child(parent jsonPlace, key string, index int) jsonPlace {
	base := j.paths[parent.path][:parent.n]
	var digits [20]byte
	seg := strconv.AppendInt(digits[:0], int64(index), 10)
	at := jsonPlace{state: jsonOut}
	for k, p := range j.paths {
		if len(p) <= len(base) || p[:len(base)] != base || p[len(base)] != '/' {
			continue
		}
		end, ok := 0, false
		if i := len(base) + 1; index >= 0 {
			end, ok = i+len(seg), len(p)-i >= len(seg) && p[i:i+len(seg)] == string(seg)
		} else {
			end, ok = jsonEscaped(p, i, key)
		}
		switch {
		case !ok:
		case end == len(p):
			return jsonPlace{state: jsonIn}
		case p[end] == '/':
			at = jsonPlace{state: jsonOn, path: k, n: end}
		}
	}
	return at
}

// jsonEscaped reports whether p goes on at i with key as a reference
// token (RFC 6901 §3: ~0 for ~, ~1 for /), and where that ends.
func jsonEscaped(p string, i int, key string) (int, bool) {
	for k := 0; k < len(key); k++ {
		var want string
		switch key[k] {
		case '~':
			want = "~0"
		case '/':
			want = "~1"
		default:
			want = key[k : k+1]
		}
		if len(p)-i < len(want) || p[i:i+len(want)] != want {
			return 0, false
		}
		i += len(want)
	}
	return i, true
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
