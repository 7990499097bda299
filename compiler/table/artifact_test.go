package table

import (
	"strings"
	"testing"

	"openfront.dev/schema"
)

func artifactOf(t testing.TB, tbl *Table) []byte {
	t.Helper()
	b, err := tbl.MarshalArtifact()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Decoded over the table it replaces, an artifact reuses what did not
// change: the same distributions, not decoded nor built again. The table
// is the one decoded from nothing.
func TestDecodeArtifactReusesWhatDidNotChange(t *testing.T) {
	one := build(t, map[string]*schema.Distribution{"a": dist([]string{"a.example.com"}), "b": dist([]string{"b.example.com"}, "/img/*")})
	prev, err := DecodeArtifact(artifactOf(t, one), "/etc/cdn", nil)
	if err != nil {
		t.Fatal(err)
	}
	if prev.Source().Dir != "/etc/cdn" || prev.Version() != one.Version() {
		t.Fatalf("decoded: dir %q version %s, want /etc/cdn %s", prev.Source().Dir, prev.Version(), one.Version())
	}
	changed := dist([]string{"b.example.com"}, "/img/*", "/api/*")
	two := build(t, map[string]*schema.Distribution{"a": dist([]string{"a.example.com"}), "b": changed})
	next, err := DecodeArtifact(artifactOf(t, two), "/etc/cdn", prev)
	if err != nil {
		t.Fatal(err)
	}
	if next.Version() != two.Version() {
		t.Errorf("version %s, want %s", next.Version(), two.Version())
	}
	if next.dists["a"] != prev.dists["a"] {
		t.Error("the unchanged distribution was built again")
	}
	if next.dists["b"] == prev.dists["b"] || len(next.dists["b"].Behaviors) != 3 {
		t.Errorf("the changed distribution: %d behaviors, want 3 (reused: %v)", len(next.dists["b"].Behaviors), next.dists["b"] == prev.dists["b"])
	}
	cold, err := LoadArtifact(artifactOf(t, two))
	if err != nil {
		t.Fatal(err)
	}
	if cold.dists["a"] == prev.dists["a"] || cold.Version() != next.Version() {
		t.Errorf("decoded from nothing: reused %v, version %s, want %s", cold.dists["a"] == prev.dists["a"], cold.Version(), next.Version())
	}
}

// damagedArtifacts are good, an artifact, damaged, and the error each gives.
func damagedArtifacts(good string) []struct{ name, artifact, want string } {
	return []struct{ name, artifact, want string }{
		{"truncated", good[:len(good)/2], "unexpected EOF"},
		{"truncated after a member", `{"format":"openfront-table/v1","version":"sha256:00"`, "table artifact: unexpected EOF"},
		{"empty", "", "table artifact: unexpected EOF"},
		{"not an object", `[1]`, "not a JSON object"},
		{"trailing data", strings.TrimSpace(good) + `{}`, "data after the end"},
		{"unknown field", strings.Replace(good, `{"format"`, `{"extra":1,"format"`, 1), `unknown field "extra"`},
		{"unknown config field", strings.Replace(good, `"config":{`, `"config":{"extra":[],`, 1), `config: unknown field "extra"`},
		{"unknown distribution field", strings.Replace(good, `"enabled":true`, `"enabled":true,"extra":0`, 1), `distributions "a": json: unknown field "extra"`},
		{"duplicate member", strings.Replace(good, `{"format"`, `{"version":"x","format"`, 1), `member "version" twice`},
		{"bad value", strings.Replace(good, `"enabled":true`, `"enabled":tru`, 1), `distributions "a"`},
		{"other format", strings.Replace(good, ArtifactFormat, "openfront-table/v0", 1), `format "openfront-table/v0"`},
		{"no config", `{"format":"` + ArtifactFormat + `","version":"x","source":{}}`, "no config"},
		{"null config", `{"format":"` + ArtifactFormat + `","version":"x","source":{},"config":null}`, "no config"},
		{"config not an object", `{"format":"` + ArtifactFormat + `","version":"x","source":{},"config":[]}`, "not a JSON object"},
		{"content changed", strings.Replace(good, `"a.example.com"`, `"b.example.com"`, 1), "does not match its version"},
		{"null distribution", strings.Replace(good, `"distributions":{`, `"distributions":{"b":null,`, 1), `distributions "b": null`},
		{"value run into a string", strings.Replace(good, `"config":{`, `"config":{"tests":null"x",`, 1), `want ',' or '}'`},
		{"value run into a literal", strings.Replace(good, `"config":{`, `"config":{"tests":nulltrue,`, 1), `config: invalid character 't' after null`},
		{"number run into a literal", strings.Replace(good, `"config":{`, `"config":{"tests":null-1,`, 1), `config: invalid character '-' after null`},
		{"value run into an array", strings.Replace(good, `"config":{`, `"config":{"tests":null[],`, 1), `want ',' or '}'`},
		{"control character in an id", strings.Replace(good, `{"a":`, `{"a`+"\x01"+`":`, 1), "want a member name"},
		{"duplicate member in another case", strings.Replace(good, `{"format"`, `{"FORMAT":"x","format"`, 1), `member "format" twice`},
	}
}

// A damaged artifact is refused, saying what is wrong.
func TestDecodeArtifactRefusesDamage(t *testing.T) {
	good := string(artifactOf(t, build(t, map[string]*schema.Distribution{"a": dist([]string{"a.example.com"})})))
	for _, tc := range damagedArtifacts(good) {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadArtifact([]byte(tc.artifact))
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "table artifact: ") {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// encoderConfig is a config with an entry in most of its maps.
func encoderConfig() *schema.Config {
	a, b := dist([]string{"a.example.com"}), dist([]string{"b.example.com"}, "/img/*")
	return &schema.Config{
		Distributions:          map[string]*schema.Distribution{"a": a, "b": b},
		StreamingDistributions: map[string]*schema.StreamingDistribution{},
		CachePolicies:          map[string]*schema.CachePolicy{"short": {Comment: "<&> escaped as json.Marshal does", MaxTTL: 60}},
		Functions:              map[string]*schema.Function{"unused": {Runtime: "cloudfront-js-2.0", FunctionCode: "function handler(e) { return e.request }"}},
		KeyValueStores:         map[string]*schema.KeyValueStore{"kv": {Data: map[string]string{"k": "v"}}},
		Tests:                  []schema.RouteTest{{URL: "http://a.example.com/", Method: "GET"}},
	}
}

// An ArtifactEncoder writes MarshalArtifact's bytes, for a first table
// and for one that shares some entries with it.
func TestArtifactEncoderIsMarshalArtifact(t *testing.T) {
	cfg := encoderConfig()
	a := cfg.Distributions["a"]
	var enc ArtifactEncoder
	for i, change := range []func(){
		func() {},
		func() {
			cfg.Distributions = map[string]*schema.Distribution{"a": a, "b": dist([]string{"b.example.com"}), "c": dist([]string{"c.example.com"})}
			cfg.KeyValueStores = nil
		},
	} {
		change()
		tbl, err := Build(cfg, Source{Commit: "abc"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := enc.Marshal(tbl)
		if err != nil {
			t.Fatal(err)
		}
		if want := artifactOf(t, tbl); string(got) != string(want) {
			t.Errorf("table %d:\n got %s\nwant %s", i, got, want)
		}
	}
}

// Member names match as encoding/json matches them to struct fields:
// exactly, else folding case.
func TestDecodeArtifactFoldsCase(t *testing.T) {
	good := artifactOf(t, build(t, map[string]*schema.Distribution{"a": dist([]string{"a.example.com"})}))
	folded := strings.NewReplacer(`"format"`, `"FORMAT"`, `"distributions"`, `"Distributions"`, `"keyGroups"`, `"KEYGROUPS"`).Replace(string(good))
	got, err := LoadArtifact([]byte(folded))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.dists) != 1 || got.dists["a"] == nil {
		t.Errorf("distributions %v, want a", got.dists)
	}
}

// Strings with escaped quotes and backslashes are split where they end.
func TestDecodeArtifactEscapes(t *testing.T) {
	for _, comment := range []string{`say "hi"`, `ends in a backslash \`, `\\"`, `\"{}[],:`, "ünïcode\u2028"} {
		d := dist([]string{"a.example.com"})
		d.Comment = comment
		tbl := build(t, map[string]*schema.Distribution{"a": d, `odd "id" \`: dist([]string{"b.example.com"})})
		got, err := LoadArtifact(artifactOf(t, tbl))
		if err != nil {
			t.Fatalf("%q: %v", comment, err)
		}
		if got.dists["a"].Spec.Comment != comment || got.dists[`odd "id" \`] == nil {
			t.Errorf("%q: decoded %q", comment, got.dists["a"].Spec.Comment)
		}
	}
}

// A delta over the table its reader holds writes only what changed, and
// decodes to the table a whole artifact gives, reusing the reader's
// entries. Over another table than the last encoded, it is whole.
func TestArtifactDelta(t *testing.T) {
	cfg := encoderConfig()
	var enc ArtifactEncoder
	one, err := Build(cfg, Source{Commit: "abc"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, delta, err := enc.MarshalDelta(one, "")
	if err != nil || delta {
		t.Fatalf("first artifact: delta %v, %v", delta, err)
	}
	held, err := DecodeArtifact(b, "/etc/cdn", nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Distributions = map[string]*schema.Distribution{"a": cfg.Distributions["a"], "b": dist([]string{"b.example.com"}, "/api/*")}
	two, err := Build(cfg, Source{Commit: "def"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, delta, err = enc.MarshalDelta(two, held.Version())
	if err != nil || !delta {
		t.Fatalf("second artifact: delta %v, %v", delta, err)
	}
	for _, want := range []string{`{"a":0,"b":{`, `"cachePolicies":{"short":0}`, `"functions":{"unused":0}`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("delta %s\nwant it to contain %s", b, want)
		}
	}
	next, err := DecodeDelta(b, "/etc/cdn", held)
	if err != nil {
		t.Fatal(err)
	}
	if next.Version() != two.Version() || next.Source().Commit != "def" || next.Source().Dir != "/etc/cdn" {
		t.Errorf("decoded version %s source %+v, want %s", next.Version(), next.Source(), two.Version())
	}
	if next.dists["a"] != held.dists["a"] || next.config.CachePolicies["short"] != held.config.CachePolicies["short"] {
		t.Error("a kept entry is not the reader's")
	}
	if got := next.dists["b"].Spec.CacheBehaviors; len(got) != 1 || got[0].PathPattern != "/api/*" {
		t.Errorf("the changed distribution's behaviors: %+v", got)
	}
	// The reader's table is not the last encoded (it refused two): whole.
	b, delta, err = enc.MarshalDelta(two, held.Version())
	if err != nil || delta || string(b) != string(artifactOf(t, two)) {
		t.Errorf("over another table: delta %v, %v, bytes %s", delta, err, b)
	}
}

// A delta is refused over a table it was not made over, and as a whole
// artifact.
func TestDecodeDeltaRefuses(t *testing.T) {
	var enc ArtifactEncoder
	a := dist([]string{"a.example.com"})
	one := build(t, map[string]*schema.Distribution{"a": a})
	if _, err := enc.Marshal(one); err != nil {
		t.Fatal(err)
	}
	b, _, err := enc.MarshalDelta(build(t, map[string]*schema.Distribution{"a": a, "b": dist([]string{"b.example.com"})}), one.Version())
	if err != nil {
		t.Fatal(err)
	}
	other := build(t, map[string]*schema.Distribution{"a": dist([]string{"c.example.com"})})
	for _, tc := range []struct {
		name string
		base *Table
		want string
	}{
		{"no table", nil, "a delta, and no table to apply it to"},
		{"a table without the entry", build(t, map[string]*schema.Distribution{"z": dist([]string{"z.example.com"})}), `distributions "a": kept, but the table the delta is over has none`},
		{"another table", other, "does not match its version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeDelta(b, "", tc.base)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "table artifact: ") {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := DecodeArtifact(b, "", one); err == nil || !strings.Contains(err.Error(), `distributions "a"`) {
		t.Errorf("a delta decoded as a whole artifact: %v", err)
	}
}
