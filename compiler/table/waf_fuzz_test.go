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
	for _, s := range []string{"%u00", "%uFF01%", "&#x110000;&#", "\\u12\\x4\\0777\\", "\\ff ff\\\n", "/a//../..\\b/./", "QQ=x", "4a4", "\xc2\xa0\xc2", "a=1&&b&=&c=%", "ls -la /tmp", "a  (b", "x\ty"} {
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
		// The shortcuts that leave a value as it is agree with the full
		// transformation.
		if !needsCompressing(v) && compressAll(v) != v {
			t.Errorf("COMPRESS_WHITE_SPACE changes %q, which needsCompressing passes", v)
		}
		if !cmdLineChanges(v) && cmdLineAll(v) != v {
			t.Errorf("CMD_LINE changes %q, which cmdLineChanges passes", v)
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

// TestTransformationsKeepPlainValues: a value a transformation leaves as
// it is costs no allocation, as most values on the request path are.
func TestTransformationsKeepPlainValues(t *testing.T) {
	for _, typ := range []string{"COMPRESS_WHITE_SPACE", "CMD_LINE", "URL_DECODE", "HTML_ENTITY_DECODE", "NORMALIZE_PATH", "JS_DECODE"} {
		tr := textTransformations[typ]
		const v = "id=42 and name=joe/x"
		if n := testing.AllocsPerRun(100, func() { tr(v) }); n != 0 || tr(v) != v {
			t.Errorf("%s(%q) = %q with %v allocations; want it unchanged, none", typ, v, tr(v), n)
		}
	}
}
