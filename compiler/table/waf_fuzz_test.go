package table

import (
	"strings"
	"testing"

	"openfront.dev/schema"
)

// FuzzTextTransformations feeds hostile values to every transformation
// and to the query-argument walk: none may panic, and none may make a
// value longer than the viewer sent (a request cannot grow a rule's work).
func FuzzTextTransformations(f *testing.F) {
	for _, s := range []string{"%u00", "%uFF01%", "&#x110000;&#", "\\u12\\x4\\0777\\", "\\ff ff\\\n", "/a//../..\\b/./", "QQ=x", "4a4", "\xc2\xa0\xc2", "a=1&&b&=&c=%"} {
		f.Add(s, "a")
	}
	f.Fuzz(func(t *testing.T, v, name string) {
		for _, typ := range TextTransformations {
			tr := textTransformations[typ]
			if tr == nil {
				continue
			}
			if out := tr(v); len(out) > len(v) && typ != "LOWERCASE" {
				t.Errorf("%s(%q) = %q, longer than its input", typ, v, out)
			}
		}
		for _, field := range []schema.WAFFieldToMatch{{AllQueryArguments: &struct{}{}}, {SingleQueryArgument: &schema.WAFSingleQueryArgument{Name: name}}} {
			in, err := compileInput(field, []schema.TextTransformation{{Priority: 0, Type: "URL_DECODE_UNI"}, {Priority: 1, Type: "HTML_ENTITY_DECODE"}})
			if err != nil {
				t.Fatal(err)
			}
			seen := 0
			in.inspectArgs(v, func(string) bool { seen++; return false })
			if seen > strings.Count(v, "&")+1 {
				t.Errorf("%d arguments in %q", seen, v)
			}
		}
	})
}
