package table

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// jsonReference is what a jsonBody statement with paths (nil: all) sees
// of data, as encoding/json's Decoder.Token reads it, each key and scalar
// value with its whole JSON Pointer: the implementation jsonParser and
// jsonWalk replaced, kept as their yardstick.
func jsonReference(data []byte, paths []string) (seen []string, invalid bool) {
	includes := func(p string) bool {
		if paths == nil {
			return true
		}
		for _, inc := range paths {
			if p == inc || strings.HasPrefix(p, inc) && p[len(inc)] == '/' {
				return true
			}
		}
		return false
	}
	add := func(pointer string, key bool, text string) {
		if includes(pointer) {
			seen = append(seen, fmt.Sprintf("%v %q", key, text))
		}
	}
	type level struct {
		pointer, member string
		array, wantKey  bool
		index           int
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []level
	values := 0
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return seen, len(stack) > 0
		}
		if err != nil {
			return seen, true
		}
		var at string
		if n := len(stack); n > 0 {
			l := &stack[n-1]
			switch {
			case tok == json.Delim('}') || tok == json.Delim(']'):
			case l.array:
				at = l.pointer + "/" + strconv.Itoa(l.index)
				l.index++
			case l.wantKey:
				key, _ := tok.(string)
				l.member = l.pointer + "/" + strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
				l.wantKey = false
				add(l.member, true, key)
				continue
			default:
				at = l.member
				l.wantKey = true
			}
		} else if values++; values > 1 {
			return seen, true
		}
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				stack = append(stack, level{pointer: at, array: t == '[', wantKey: t == '{'})
			} else {
				stack = stack[:len(stack)-1]
			}
		case string:
			add(at, false, t)
		case json.Number:
			add(at, false, string(t))
		case bool:
			add(at, false, strconv.FormatBool(t))
		case nil:
			add(at, false, "null")
		}
	}
}

// jsonSeen is what a statement with paths sees of data, as the edge
// reads it.
func jsonSeen(data []byte, paths []string) (seen []string, invalid bool) {
	doc := parseJSON(data)
	w := jsonWalk{json: &wafJSON{paths: paths}, tokens: doc.tokens}
	for {
		key, text, ok := w.next()
		if !ok {
			return seen, doc.invalid
		}
		seen = append(seen, fmt.Sprintf("%v %q", key, text))
	}
}

// jsonSeeds are bodies at the edges of JSON, each with a path.
var jsonSeeds = [][2]string{
	{`{"a":[{"name":"x"},{"name":"y"}]}`, "/a/0/name"},
	{`{"a":[0,1,2,3,4,5,6,7,8,9,10,"z"]}`, "/a/1"},
	{`{"a/b":{"m~n":"v","m":1}}`, "/a~1b/m~0n"},
	{`{"a":{"ab":"x","a":{"b":2}}}`, "/a/a"},
	{`{"":{"":[1]}}`, "//"},
	{`[[[["x"]]],[1]]`, "/0/0"},
	{` {"k" : "a" , "j":[ true,false ,null] } `, "/j/2"},
	{`{"k":"a",,"j":"b"}`, "/j"},
	{`{"k":"a\"b\/\u00e9\ud83d\ude00\ud800\u0041\udc00x\ud800\ud800"}`, "/k"},
	{"{\"k\":\"\xff\xc3(\xed\xa0\x80\xef\xbf\xbd\"}", "/k"},
	{"[\"a\x01\"]", ""},
	{`[-0,1.5e+3,0.0E-1,1E5,-12]`, "/1"},
	{`[01]`, "/0"}, {`[1.]`, "/0"}, {`[-]`, "/0"}, {`[1e]`, "/0"}, {`[1x]`, "/0"}, {`[truex]`, "/0"}, {`[tru]`, "/0"},
	{`[1,]`, "/0"}, {`{"a":1,}`, "/a"}, {`{"a" 1}`, "/a"}, {`{"a"}`, "/a"}, {`{1:2}`, "/1"}, {`{"a":}`, "/a"},
	{`"x"`, ""}, {`12`, "/"}, {`{} {}`, "/"}, {`"x"y`, ""}, {`{}]`, ""}, {``, ""}, {"  \n\t", ""},
	{`{"a":{`, "/a"}, {`["abc`, "/0"}, {`["\u12"]`, "/0"}, {`["\q"]`, "/0"}, {`[1 2]`, "/1"},
}

// TestJSONBodyParse: the edge sees of each body what encoding/json's
// Token, with a pointer per value, saw.
func TestJSONBodyParse(t *testing.T) {
	for _, s := range jsonSeeds {
		for _, paths := range [][]string{nil, {s[1]}, {"/zz", s[1]}, {}} {
			wantSeen, wantInvalid := jsonReference([]byte(s[0]), paths)
			seen, invalid := jsonSeen([]byte(s[0]), paths)
			if !slices.Equal(seen, wantSeen) || invalid != wantInvalid {
				t.Errorf("%q under %q: %q, invalid %v; encoding/json: %q, invalid %v", s[0], paths, seen, invalid, wantSeen, wantInvalid)
			}
		}
	}
}

// FuzzJSONBodyParse holds jsonParser and jsonWalk to encoding/json and
// the pointers of each value, for any body and path.
func FuzzJSONBodyParse(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, body, path string) {
		for _, paths := range [][]string{nil, {path}, {"/0", path}} {
			wantSeen, wantInvalid := jsonReference([]byte(body), paths)
			seen, invalid := jsonSeen([]byte(body), paths)
			if !slices.Equal(seen, wantSeen) || invalid != wantInvalid {
				t.Errorf("%q under %q: %q, invalid %v; encoding/json: %q, invalid %v", body, paths, seen, invalid, wantSeen, wantInvalid)
			}
		}
	})
}
