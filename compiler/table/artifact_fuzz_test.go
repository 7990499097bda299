package table

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"openfront.dev/schema"
)

// referenceLoad is LoadArtifact as it was before the hand-written
// splitter: encoding/json refusing unknown fields, then Build.
func referenceLoad(b []byte) (t *Table, err error) {
	defer func() {
		if p := recover(); p != nil {
			t, err = nil, fmt.Errorf("table artifact: panic: %v", p)
		}
	}()
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var a artifact
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("table artifact: %w", err)
	}
	if a.Format != ArtifactFormat {
		return nil, fmt.Errorf("table artifact: format %q, want %q", a.Format, ArtifactFormat)
	}
	if a.Config == nil {
		return nil, fmt.Errorf("table artifact: no config")
	}
	if t, err = Build(a.Config, a.Source, nil); err != nil {
		return nil, fmt.Errorf("table artifact: %w", err)
	}
	if t.version != a.Version {
		return nil, fmt.Errorf("table artifact: content hash %s does not match its version %s", t.version, a.Version)
	}
	return t, nil
}

// dupOrTrailing reports whether the JSON document b has an object with
// two member names that encoding/json takes for the same (it folds case
// for struct fields), or data after its first value: what DecodeArtifact
// refuses on top of encoding/json.
func dupOrTrailing(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type obj struct {
		keys  []string
		inKey bool // the next string is a member name
	}
	var stack []*obj
	for {
		tok, err := dec.Token()
		if err != nil {
			return false // invalid: encoding/json refuses it anyway
		}
		top := (*obj)(nil)
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &obj{inKey: true})
			continue
		case json.Delim('['):
			stack = append(stack, nil)
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
		default:
			if s, ok := tok.(string); ok && top != nil && top.inKey {
				for _, k := range top.keys {
					if strings.EqualFold(k, s) {
						return true
					}
				}
				top.keys = append(top.keys, s)
				top.inKey = false
				continue
			}
		}
		if len(stack) == 0 {
			_, err := dec.Token()
			return err != io.EOF
		}
		if top := stack[len(stack)-1]; top != nil {
			top.inKey = true
		}
	}
}

var contentHash = regexp.MustCompile(`content hash (\S+) does not match`)

// artifactSeeds are real artifacts, damaged ones, and ones that stress
// the splitter: escapes, unicode, deep nesting, huge numbers, white space.
func artifactSeeds(tb testing.TB) [][]byte {
	good := artifactOf(tb, build(tb, map[string]*schema.Distribution{"a": dist([]string{"a.example.com"})}))
	seeds := [][]byte{good}
	for _, tc := range damagedArtifacts(string(good)) {
		seeds = append(seeds, []byte(tc.artifact))
	}
	files, err := filepath.Glob("testdata/artifacts/*.json")
	if err != nil {
		tb.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			tb.Fatal(err)
		}
		seeds = append(seeds, b)
	}
	d := dist([]string{"a.example.com"}, "/img/*")
	d.Comment = "ünïcode\u2028 \"quoted\" \\ <&> \x7f"
	seeds = append(seeds, artifactOf(tb, build(tb, map[string]*schema.Distribution{"a": d, "\u00e9\"\\\t": dist([]string{"b.example.com"})})))
	tbl, err := Build(encoderConfig(), Source{Commit: "abc"}, nil)
	if err != nil {
		tb.Fatal(err)
	}
	full := artifactOf(tb, tbl)
	seeds = append(seeds, full)
	var indented bytes.Buffer
	if err := json.Indent(&indented, full, "\r\n", "\t"); err != nil {
		tb.Fatal(err)
	}
	g := string(good)
	seeds = append(seeds, indented.Bytes(),
		[]byte(" \n\t"+strings.ReplaceAll(g, ",", " ,\r\n ")),
		[]byte(strings.Replace(g, `"format"`, `"\u0066orm\u0061t"`, 1)),
		[]byte(strings.Replace(g, `"format"`, `"FORMAT"`, 1)),
		[]byte(strings.Replace(g, `"distributions":{"a"`, `"distributions":{"\u0061"`, 1)),
		[]byte(strings.Replace(g, `"distributions":{"a"`, `"Distributions":{"a"`, 1)),
		[]byte(strings.Replace(g, `"maxTTL":31536000`, `"maxTTL":1e400`, 1)),
		[]byte(strings.Replace(g, `"maxTTL":31536000`, `"maxTTL":99999999999999999999999`, 1)),
		[]byte(strings.Replace(g, `"maxTTL":31536000`, `"maxTTL":-0.0e+0`, 1)),
		[]byte(strings.Replace(g, `"config":{`, `"config":{"tests":`+strings.Repeat("[", 10001)+strings.Repeat("]", 10001)+",", 1)),
		[]byte(strings.Replace(g, `"config":{`, `"config":{"tests":null"x",`, 1)),
		[]byte(strings.Replace(g, `"distributions":{`, `"distributions":{"b":null,`, 1)),
		[]byte(strings.Replace(g, `"distributions":{`, `"distributions":{"b`+"\x01"+`":{},`, 1)),
		[]byte(strings.Replace(g, `"distributions":{"a"`, `"distributions":{"a`+"\x7f\x1f"+`"`, 1)),
		[]byte(strings.Replace(g, `"source"`, `"\u017fOURCE"`, 1)), // ſ folds to s
		[]byte(strings.Replace(g, `"distributions":{"a"`, `"distributions":{"`+"\xff"+`":{},"`+"\xfe"+`"`, 1)),
		[]byte(strings.Replace(g, `"maxTTL":31536000`, `"maxTTL":31536000x`, 1)),
		[]byte(`{"config":{"distributions":{"a":`+strings.Repeat(`{"a":`, 20)+`1`+strings.Repeat("}", 20)+`}}}`),
	)
	return seeds
}

// FuzzDecodeArtifact checks the hand-written splitter against
// encoding/json: never a panic; what one accepts the other accepts, to
// the same table (but for duplicate members and trailing data, which
// DecodeArtifact refuses); decoded over a table, the same table.
func FuzzDecodeArtifact(f *testing.F) {
	for _, s := range artifactSeeds(f) {
		f.Add(s)
	}
	b, err := os.ReadFile("testdata/artifacts/edge-functions.json")
	if err != nil {
		f.Fatal(err)
	}
	prev, err := LoadArtifact(b)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := LoadArtifact(b)
		ref, refErr := referenceLoad(b)
		switch {
		case err == nil && refErr != nil:
			t.Fatalf("DecodeArtifact accepted what encoding/json refuses: %v", refErr)
		case err == nil && (got.Version() != ref.Version() || !reflect.DeepEqual(got.config, ref.config)):
			t.Fatalf("DecodeArtifact: version %s, encoding/json: %s", got.Version(), ref.Version())
		case err != nil && refErr == nil && !dupOrTrailing(b):
			t.Fatalf("DecodeArtifact refused what encoding/json accepts: %v", err)
		case err != nil && !strings.HasPrefix(err.Error(), "table artifact: "):
			t.Fatalf("error %q does not say it is the artifact", err)
		}
		// A config that does not match its version: the same content, or
		// the same refusal.
		switch m, r := contentHash.FindStringSubmatch(fmt.Sprint(err)), contentHash.FindStringSubmatch(fmt.Sprint(refErr)); {
		case m != nil && r != nil && m[1] != r[1]:
			t.Fatalf("content hash %s, encoding/json's %s", m[1], r[1])
		case m != nil && r == nil:
			t.Fatalf("DecodeArtifact decoded a config encoding/json refuses: %v", refErr)
		case m == nil && r != nil && !dupOrTrailing(b):
			t.Fatalf("DecodeArtifact refused a config encoding/json decodes: %v", err)
		}
		for _, over := range []*Table{prev, got} {
			if over == nil {
				continue
			}
			again, err2 := DecodeArtifact(b, "", over)
			if (err == nil) != (err2 == nil) {
				t.Fatalf("decoded over a table: %v, over none: %v", err2, err)
			}
			if err != nil {
				continue
			}
			if again.Version() != got.Version() {
				t.Fatalf("decoded over a table: version %s, over none: %s", again.Version(), got.Version())
			}
			// Encoded after the table it was decoded over, sharing its
			// entries: MarshalArtifact's bytes.
			var enc ArtifactEncoder
			for _, tbl := range []*Table{over, again} {
				b, err := enc.Marshal(tbl)
				if err != nil {
					t.Fatal(err)
				}
				if want := artifactOf(t, tbl); !bytes.Equal(b, want) {
					t.Fatalf("ArtifactEncoder:\n%s\nMarshalArtifact:\n%s", b, want)
				}
			}
		}
	})
}

// The example artifacts still load: regenerate one that does not with
// openfront compile examples/NAME -o compiler/table/testdata/artifacts/NAME.json.
func TestExampleArtifactsLoad(t *testing.T) {
	files, _ := filepath.Glob("testdata/artifacts/*.json")
	if len(files) == 0 {
		t.Fatal("no artifacts in testdata/artifacts")
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := LoadArtifact(b); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
