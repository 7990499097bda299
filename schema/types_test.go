package schema

import (
	"fmt"
	"io/fs"
	"reflect"
	"sort"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/parser"
)

// loadSchema builds the embedded schema package as the compiler does: from
// schema.Files, imports resolved to CUE's standard library.
func loadSchema(t *testing.T) (*cue.Context, cue.Value) {
	t.Helper()
	inst := build.NewContext().NewInstance(ImportPath, nil)
	entries, err := fs.ReadDir(Files, ".")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		src, err := fs.ReadFile(Files, e.Name())
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(ImportPath+"/"+e.Name(), src, parser.ParseComments)
		if err != nil {
			t.Fatal(err)
		}
		if err := inst.AddSyntax(f); err != nil {
			t.Fatal(err)
		}
	}
	ctx := cuecontext.New()
	v := ctx.BuildInstance(inst)
	if err := v.Err(); err != nil {
		t.Fatalf("build schema: %v", err)
	}
	return ctx, v
}

// goTypes maps each schema definition that has a Go type to it. extra lists
// JSON fields the Go type has beyond the definition (CacheBehavior serves
// both #CacheBehavior and #PathCacheBehavior).
var goTypes = []struct {
	def   string
	typ   any
	extra []string
}{
	{"#Config", Config{}, nil},
	{"#Distribution", Distribution{}, nil},
	{"#Origin", Origin{}, nil},
	{"#OriginShield", OriginShield{}, nil},
	{"#CustomHeader", CustomHeader{}, nil},
	{"#CustomOriginConfig", CustomOriginConfig{}, nil},
	{"#S3OriginConfig", S3OriginConfig{}, nil},
	{"#LocalOriginConfig", LocalOriginConfig{}, nil},
	{"#LiveOriginConfig", LiveOriginConfig{}, nil},
	{"#OriginGroup", OriginGroup{}, nil},
	{"#CacheBehavior", CacheBehavior{}, []string{"pathPattern"}},
	{"#PathCacheBehavior", CacheBehavior{}, nil},
	{"#ForwardedValues", ForwardedValues{}, nil},
	{"#CustomErrorResponse", CustomErrorResponse{}, nil},
	{"#GeoRestriction", GeoRestriction{}, nil},
	{"#ViewerCertificate", ViewerCertificate{}, nil},
	{"#Logging", Logging{}, nil},
	{"#StreamingDistribution", StreamingDistribution{}, nil},
	{"#S3Origin", S3Origin{}, nil},
	{"#Live", Live{}, nil},
	{"#KeyGroup", KeyGroup{}, nil},
	{"#ViewerMtlsConfig", ViewerMtlsConfig{}, nil},
	{"#TrustStoreConfig", TrustStoreConfig{}, nil},
	{"#TrustStore", TrustStore{}, nil},
	{"#ContinuousDeploymentPolicy", ContinuousDeploymentPolicy{}, nil},
	{"#TrafficConfig", TrafficConfig{}, nil},
	{"#PublicKey", PublicKey{}, nil},
	{"#RouteTest", RouteTest{}, nil},
	{"#ResponseHeadersPolicy", ResponseHeadersPolicy{}, nil},
	{"#CorsConfig", CorsConfig{}, nil},
	{"#SecurityHeadersConfig", SecurityHeadersConfig{}, nil},
	{"#XSSProtection", XSSProtection{}, nil},
	{"#FrameOptions", FrameOptions{}, nil},
	{"#ReferrerPolicy", ReferrerPolicy{}, nil},
	{"#ContentSecurityPolicy", ContentSecurityPolicy{}, nil},
	{"#ContentTypeOptions", ContentTypeOptions{}, nil},
	{"#StrictTransportSecurity", StrictTransportSecurity{}, nil},
	{"#ResponseCustomHeader", ResponseCustomHeader{}, nil},
	{"#RemoveHeader", RemoveHeader{}, nil},
	{"#ServerTimingHeadersConfig", ServerTimingHeadersConfig{}, nil},
	{"#CachePolicy", CachePolicy{}, nil},
	{"#CacheKeyParameters", CacheKeyParameters{}, nil},
	{"#OriginRequestPolicy", OriginRequestPolicy{}, nil},
	{"#Function", Function{}, nil},
	{"#FunctionAssociation", FunctionAssociation{}, nil},
	{"#KeyValueStore", KeyValueStore{}, nil},
	{"#WebACL", WebACL{}, nil},
	{"#WAFDefaultAction", WAFDefaultAction{}, nil},
	{"#WAFRule", WAFRule{}, nil},
	{"#WAFRuleAction", WAFRuleAction{}, nil},
	{"#WAFAllowAction", WAFAllowAction{}, nil},
	{"#WAFBlockAction", WAFBlockAction{}, nil},
	{"#WAFCustomResponse", WAFCustomResponse{}, nil},
	{"#WAFStatement", WAFStatement{}, nil},
	{"#ByteMatchStatement", ByteMatchStatement{}, nil},
	{"#WAFFieldToMatch", WAFFieldToMatch{}, nil},
	{"#WAFAssociationConfig", WAFAssociationConfig{}, nil},
	{"#WAFRequestBodyConfig", WAFRequestBodyConfig{}, nil},
	{"#WAFBody", WAFBody{}, nil},
	{"#WAFJSONBody", WAFJSONBody{}, nil},
	{"#WAFJSONMatchPattern", WAFJSONMatchPattern{}, nil},
	{"#SizeConstraintStatement", SizeConstraintStatement{}, nil},
	{"#RegexMatchStatement", RegexMatchStatement{}, nil},
	{"#WAFLabel", WAFLabel{}, nil},
	{"#LabelMatchStatement", LabelMatchStatement{}, nil},
	{"#RuleGroup", RuleGroup{}, nil},
	{"#RuleGroupReferenceStatement", RuleGroupReferenceStatement{}, nil},
	{"#WAFCustomResponseBody", WAFCustomResponseBody{}, nil},
	{"#WAFCustomHTTPHeader", WAFCustomHTTPHeader{}, nil},
	{"#WAFCustomRequestHandling", WAFCustomRequestHandling{}, nil},
	{"#RegexPatternSetReferenceStatement", RegexPatternSetReferenceStatement{}, nil},
	{"#RegexPatternSet", RegexPatternSet{}, nil},
	{"#WAFRegex", WAFRegex{}, nil},
	{"#SqliMatchStatement", SqliMatchStatement{}, nil},
	{"#XssMatchStatement", XssMatchStatement{}, nil},
	{"#WAFHeaders", WAFHeaders{}, nil},
	{"#WAFHeaderMatchPattern", WAFHeaderMatchPattern{}, nil},
	{"#WAFCookies", WAFCookies{}, nil},
	{"#WAFCookieMatchPattern", WAFCookieMatchPattern{}, nil},
	{"#TextTransformation", TextTransformation{}, nil},
	{"#GeoMatchStatement", GeoMatchStatement{}, nil},
	{"#AsnMatchStatement", AsnMatchStatement{}, nil},
	{"#WAFFallback", WAFFallback{}, nil},
	{"#IPSetReferenceStatement", IPSetReferenceStatement{}, nil},
	{"#RateBasedStatement", RateBasedStatement{}, nil},
	{"#ForwardedIPConfig", ForwardedIPConfig{}, nil},
	{"#IPSetForwardedIPConfig", IPSetForwardedIPConfig{}, nil},
	{"#RateCustomKey", RateCustomKey{}, nil},
	{"#RateKeyNamed", RateKeyNamed{}, nil},
	{"#RateKeyTransform", RateKeyTransform{}, nil},
	{"#IPSet", IPSet{}, nil},
}

// nestedExtra is extra for types met below a definition: a distribution's
// defaultCacheBehavior is a #CacheBehavior decoded into CacheBehavior.
var nestedExtra = map[reflect.Type][]string{reflect.TypeOf(CacheBehavior{}): {"pathPattern"}}

// noGoType are struct definitions deliberately without a Go type.
var noGoType = map[string]bool{"#Quotas": true,
	// A constraint embedded in the cache and origin request policies' types.
	"#NamesLength": true,
	// Deeper levels of #WAFStatement, all WAFStatement in Go.
	"#WAFNestedStatement": true, "#WAFNestedStatement2": true, "#WAFNestedStatement3": true}

// TestGoTypesMatchSchema fails when the CUE schema and the Go types drift:
// every regular field of a definition (optional and required included,
// hidden fields and definitions excluded) has a Go field with its JSON tag
// and a matching kind, and every Go field has a CUE field, recursively
// through nested structs, lists and maps.
func TestGoTypesMatchSchema(t *testing.T) {
	ctx, schemaValue := loadSchema(t)
	m := &matcher{ctx: ctx, seen: map[reflect.Type]bool{}}
	mapped := map[string]bool{}
	for _, g := range goTypes {
		mapped[g.def] = true
		v := schemaValue.LookupPath(cue.ParsePath(g.def))
		if !v.Exists() {
			t.Errorf("%s: no such definition in the schema, but Go type %T claims it", g.def, g.typ)
			continue
		}
		m.match(g.def, v, reflect.TypeOf(g.typ), g.extra)
	}
	for _, e := range m.errs {
		t.Error(e)
	}

	// Every struct definition has a Go type, or is listed as having none.
	it, err := schemaValue.Fields(cue.Definitions(true))
	if err != nil {
		t.Fatal(err)
	}
	for it.Next() {
		name := it.Selector().String()
		if !it.Selector().IsDefinition() || mapped[name] || noGoType[name] {
			continue
		}
		if it.Value().IncompleteKind() == cue.StructKind {
			t.Errorf("%s: a struct definition without a Go type; add it to goTypes (or noGoType)", name)
		}
	}

	// Every struct type reachable from Config was compared with the schema.
	for _, typ := range reachableStructs(reflect.TypeOf(Config{})) {
		if !m.seen[typ] {
			t.Errorf("Go type %s is reachable from Config but matched no schema definition", typ)
		}
	}
}

type matcher struct {
	ctx    *cue.Context
	seen   map[reflect.Type]bool
	active map[reflect.Type]bool // types being matched, against recursion
	errs   []string
}

func (m *matcher) errorf(format string, args ...any) {
	m.errs = append(m.errs, fmt.Sprintf(format, args...))
}

// match compares the regular fields of the struct v with the JSON fields of typ.
func (m *matcher) match(path string, v cue.Value, typ reflect.Type, extra []string) {
	// A recursive definition (#WAFStatement) is compared once per path.
	if m.active[typ] {
		return
	}
	if m.active == nil {
		m.active = map[reflect.Type]bool{}
	}
	m.active[typ] = true
	defer delete(m.active, typ)
	m.seen[typ] = true
	goFields := jsonFields(typ)
	cueFields := map[string]cue.Value{}
	optional := map[string]bool{}
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		m.errorf("%s: %v", path, err)
		return
	}
	for it.Next() {
		name := it.Selector().Unquoted()
		if it.Selector().Type()&(cue.StringLabel) == 0 {
			continue
		}
		cueFields[name] = it.Value()
		optional[name] = it.IsOptional()
	}
	for _, name := range sortedNames(cueFields) {
		f, ok := goFields[name]
		if !ok {
			m.errorf("%s.%s: in the schema, but %s has no field with JSON tag %q", path, name, typ, name)
			continue
		}
		m.compare(path+"."+name, cueFields[name], f.typ)
		// An optional field must be omitted when unset, so the artifact
		// never holds a zero value the schema would reject.
		if optional[name] && !f.omitempty {
			m.errorf("%s.%s: optional in the schema, but %s.%s is not omitempty", path, name, typ, f.goName)
		}
	}
	for _, name := range sortedNames(goFields) {
		if _, ok := cueFields[name]; ok || contains(extra, name) {
			continue
		}
		m.errorf("%s.%s: %s.%s has JSON tag %q, but the schema has no such field", path, name, typ, goFields[name].goName, name)
	}
}

// compare checks a field's kind and recurses into structs, list elements
// and map values.
func (m *matcher) compare(path string, v cue.Value, typ reflect.Type) {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	want := goKind(typ)
	got := kindOf(m.ctx, v, want)
	if got&want == 0 {
		m.errorf("%s: schema kind %v, Go type %s (kind %v)", path, got, typ, want)
		return
	}
	switch typ.Kind() {
	case reflect.Struct:
		m.match(path, v, typ, nestedExtra[typ])
	case reflect.Slice:
		if e, ok := m.listElem(v); ok {
			m.compare(path+"[]", e, typ.Elem())
		} else if goKind(typ.Elem()) == cue.StructKind {
			// A scalar list may be pinned to [] by a default-driven
			// conditional (geoRestriction.items); a list of structs must
			// show its element.
			m.errorf("%s: cannot find the schema's list element type", path)
		}
	case reflect.Map:
		if e, ok := m.mapElem(v); ok {
			m.compare(path+"[_]", e, typ.Elem())
		} else {
			m.errorf("%s: cannot find the schema's pattern constraint", path)
		}
	}
}

// listElem returns the element type of a list, however constrained: unify
// with a one-element list (which also drops a `| *[]` default), else take
// the first element of a fixed-length list.
func (m *matcher) listElem(v cue.Value) (cue.Value, bool) {
	u := v.Unify(m.ctx.CompileString("[_]"))
	if e := u.LookupPath(cue.MakePath(cue.Index(0))); e.Exists() && u.Err() == nil {
		return e, true
	}
	e := v.LookupPath(cue.MakePath(cue.Index(0)))
	return e, e.Exists()
}

// mapElem returns what a pattern constraint such as [#ID]: #Distribution
// makes of a new field with a valid name.
func (m *matcher) mapElem(v cue.Value) (cue.Value, bool) {
	const key = "k0"
	u := v.FillPath(cue.MakePath(cue.Str(key)), m.ctx.CompileString("_"))
	e := u.LookupPath(cue.MakePath(cue.Str(key)))
	return e, e.Exists()
}

// kindOf is the kind a field may take; for a list whose validators fail
// while it is empty (list.MinItems), that of the list with one element.
func kindOf(ctx *cue.Context, v cue.Value, want cue.Kind) cue.Kind {
	k := v.IncompleteKind() &^ (cue.BottomKind | cue.NullKind)
	if k == 0 && want == cue.ListKind {
		k = v.Unify(ctx.CompileString("[_]")).IncompleteKind()
	}
	return k
}

func goKind(typ reflect.Type) cue.Kind {
	switch typ.Kind() {
	case reflect.String:
		return cue.StringKind
	case reflect.Bool:
		return cue.BoolKind
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return cue.IntKind
	case reflect.Float32, reflect.Float64:
		return cue.NumberKind
	case reflect.Slice:
		return cue.ListKind
	case reflect.Struct, reflect.Map:
		return cue.StructKind
	}
	return cue.TopKind
}

type goField struct {
	goName    string
	typ       reflect.Type
	omitempty bool
}

// jsonFields lists typ's fields as encoding/json sees them, embedded structs
// flattened.
func jsonFields(typ reflect.Type) map[string]goField {
	out := map[string]goField{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = goField{goName: f.Name, typ: f.Type, omitempty: strings.Contains(","+opts+",", ",omitempty,")}
	}
	return out
}

// reachableStructs lists the named struct types reachable from typ's fields
// (embedded structs are flattened into their parent, as JSON does).
func reachableStructs(typ reflect.Type) []reflect.Type {
	var out []reflect.Type
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(t reflect.Type) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		out = append(out, t)
		for _, f := range jsonFields(t) {
			walk(f.typ)
		}
	}
	walk(typ)
	return out
}

func sortedNames[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestSchemaDriftDetected makes sure the matcher itself reports drift: a Go
// type missing a field (also in a nested struct), one with a field too many,
// one with the wrong kind.
func TestSchemaDriftDetected(t *testing.T) {
	ctx, schemaValue := loadSchema(t)
	type missing struct {
		ID string `json:"id"`
	}
	type tooMany struct {
		ID         string `json:"id"`
		EncodedKey string `json:"encodedKey"`
		Comment    string `json:"comment"`
		Extra      string `json:"extra"`
	}
	type wrongKind struct {
		ID         int    `json:"id"`
		EncodedKey string `json:"encodedKey"`
		Comment    string `json:"comment"`
	}
	type cookies struct {
		Forward string `json:"forward"`
	}
	type nested struct {
		QueryString          bool     `json:"queryString"`
		QueryStringCacheKeys []string `json:"queryStringCacheKeys"`
		Cookies              cookies  `json:"cookies"`
		Headers              []string `json:"headers"`
	}
	for _, tc := range []struct {
		def  string
		typ  any
		want string
	}{
		{"#ForwardedValues", nested{}, `#ForwardedValues.cookies.whitelistedNames: in the schema, but schema.cookies has no field with JSON tag "whitelistedNames"`},
		{"#PublicKey", missing{}, `#PublicKey.encodedKey: in the schema, but schema.missing has no field with JSON tag "encodedKey"`},
		{"#PublicKey", tooMany{}, `#PublicKey.extra: schema.tooMany.Extra has JSON tag "extra", but the schema has no such field`},
		{"#PublicKey", wrongKind{}, `#PublicKey.id: schema kind string, Go type int (kind int)`},
	} {
		m := &matcher{ctx: ctx, seen: map[reflect.Type]bool{}}
		m.match(tc.def, schemaValue.LookupPath(cue.ParsePath(tc.def)), reflect.TypeOf(tc.typ), nil)
		if !contains(m.errs, tc.want) {
			t.Errorf("%T: got %q, want %q among them", tc.typ, m.errs, tc.want)
		}
	}
}
