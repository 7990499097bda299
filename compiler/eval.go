package compiler

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"path"
	"strconv"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"openfront.dev/policies"
	"openfront.dev/schema"
)

// embeddedPackages are the CUE packages a config may import besides CUE's
// standard library; they resolve to the copies embedded in this binary.
var embeddedPackages = map[string]fs.FS{
	schema.ImportPath:   schema.Files,
	policies.ImportPath: policies.Files,
}

// schemaUseField is the hidden field that takes the place of a file's
// schema.#Config embedding.
const schemaUseField = "_openfrontSchemaConfig"

// schemaFilePrefix names embedded files in positions: openfront.dev/schema/origin.cue.
func isSchemaFile(name string) bool {
	for p := range embeddedPackages {
		if len(name) > len(p) && name[:len(p)+1] == p+"/" {
			return true
		}
	}
	return false
}

// evaluator evaluates units. CUE contexts are not safe for concurrent use, so
// each worker goroutine has its own, with the embedded packages built once.
type evaluator struct {
	ctx  *cue.Context
	bctx *build.Context
	pkgs map[string]*build.Instance
	uses int
	c    *Compiler
	def  cue.Value // #Config, built once per context
}

// maxUsesPerContext bounds how many units one CUE context evaluates: a
// context keeps every instance it built, so it is replaced now and then.
const maxUsesPerContext = 200

func (c *Compiler) newEvaluator() *evaluator {
	e := &evaluator{c: c}
	e.reset()
	return e
}

func (e *evaluator) reset() {
	e.ctx = cuecontext.New()
	e.pkgs = map[string]*build.Instance{}
	e.def = cue.Value{}
	e.uses = 0
	e.bctx = build.NewContext(build.Loader(e.load))
}

// load resolves imports: embedded packages, else CUE's builtins (nil).
func (e *evaluator) load(pos token.Pos, importPath string) *build.Instance {
	if inst, ok := e.pkgs[importPath]; ok {
		return inst
	}
	fsys, ok := embeddedPackages[importPath]
	if !ok {
		if !isStdlib(importPath) {
			inst := e.bctx.NewInstance(importPath, nil)
			inst.Err = errorf(pos, "import %q: a config may import only %s, %s and CUE's standard library", importPath, schema.ImportPath, policies.ImportPath)
			return inst
		}
		return nil
	}
	inst := e.bctx.NewInstance(importPath, nil)
	inst.ImportPath = importPath
	inst.PkgName = path.Base(importPath)
	entries, _ := fs.ReadDir(fsys, ".")
	for _, ent := range entries {
		if path.Ext(ent.Name()) != ".cue" {
			continue
		}
		src, _ := fs.ReadFile(fsys, ent.Name())
		f, err := parser.ParseFile(importPath+"/"+ent.Name(), src, parser.ParseComments)
		if err != nil {
			inst.Err = errorf(pos, "embedded %s: %v", importPath, err)
			break
		}
		if err := inst.AddSyntax(f); err != nil {
			inst.Err = errorf(pos, "embedded %s: %v", importPath, err)
			break
		}
	}
	e.pkgs[importPath] = inst
	return inst
}

// isStdlib reports an import path of CUE's standard library (no dot in the first element).
func isStdlib(p string) bool {
	for i := 0; i < len(p) && p[i] != '/'; i++ {
		if p[i] == '.' {
			return false
		}
	}
	return true
}

// configDef is the schema's #Config, built once per context.
func (e *evaluator) configDef() (cue.Value, error) {
	if e.def.Exists() {
		return e.def, nil
	}
	inst := e.load(token.NoPos, schema.ImportPath)
	if inst.Err != nil {
		return cue.Value{}, inst.Err
	}
	v := e.ctx.BuildInstance(inst)
	if err := v.Err(); err != nil {
		return cue.Value{}, fmt.Errorf("embedded schema: %w", err)
	}
	e.def = v.LookupPath(cue.MakePath(cue.Def("#Config")))
	return e.def, nil
}

// unitResult is what evaluating a unit yields; it is cached by unit key.
type unitResult struct {
	config *schema.Config
	errs   Errors
}

// eval evaluates one unit against the schema and decodes it.
func (e *evaluator) eval(u *unit) *unitResult {
	if e.uses >= maxUsesPerContext {
		e.reset()
	}
	e.uses++
	v, errs := e.build(u)
	if errs != nil {
		return &unitResult{errs: errs}
	}
	cfg := &schema.Config{}
	if decodeValue(v, cfg) == nil {
		return &unitResult{config: cfg}
	}
	// Encoding as JSON and decoding that is several times cheaper than
	// Value.Decode, which builds a CUE context per field; it also gives
	// the messages for what decodeValue does not handle.
	b, err := v.MarshalJSON()
	if err != nil {
		return &unitResult{errs: e.c.cueErrorsIn(err, v, e.def, token.NoPos)}
	}
	cfg = &schema.Config{}
	if err := json.Unmarshal(b, cfg); err != nil {
		return &unitResult{errs: Errors{{Msg: fmt.Sprintf("decode %s: %v", u.name(), err)}}}
	}
	return &unitResult{config: cfg}
}

// build returns the unit's value, unified with #Config and validated as concrete.
func (e *evaluator) build(u *unit) (cue.Value, Errors) {
	inst := e.bctx.NewInstance(e.c.dir, nil)
	var errs Errors
	pkg := ""
	var policyEmbed token.Pos // where errors inside a policy are shown
	for _, sf := range append(append([]*sourceFile{}, u.files...), u.shared...) {
		f, err := parser.ParseFile(e.c.fileName(sf.rel), sf.src, parser.ParseComments)
		if err != nil {
			errs = append(errs, e.c.cueErrors(err)...)
			continue
		}
		if name := f.PackageName(); name != "" {
			pkg = name // one for all files: Compile checked
		}
		for spec := range f.ImportSpecs() {
			ip, _ := strconv.Unquote(spec.Path.Value)
			if _, ok := embeddedPackages[ip]; !ok && !isStdlib(ip) {
				errs = append(errs, e.c.posError(spec.Path.Pos(), fmt.Sprintf("import %q: a config may import only %s, %s and CUE's standard library", ip, schema.ImportPath, policies.ImportPath)))
			}
		}
		stripSchemaEmbed(f)
		if !policyEmbed.IsValid() {
			policyEmbed = firstPolicyEmbed(f)
		}
		if err := inst.AddSyntax(f); err != nil {
			errs = append(errs, e.c.cueErrors(err)...)
		}
	}
	if errs != nil {
		return cue.Value{}, errs
	}
	inst.PkgName = pkg
	v := e.ctx.BuildInstance(inst)
	// The unit is unified with #Config as a whole: embedding #Config in a
	// file closes it only under @experiment(explicitopen), which older
	// configs lack (CUE allows fields declared beside an embedding, so a
	// misspelt field would pass), and a file need not import the schema.
	if def, err := e.configDef(); err != nil {
		return v, Errors{{Msg: err.Error()}}
	} else {
		v = def.Unify(v)
	}
	if err := v.Validate(cue.Concrete(true)); err != nil {
		return v, e.c.cueErrorsIn(err, v, e.def, policyEmbed)
	}
	return v, nil
}

// firstPolicyEmbed is the position of the file's first embedding of a policy.
func firstPolicyEmbed(f *ast.File) token.Pos {
	names := map[string]bool{}
	for spec := range f.ImportSpecs() {
		path, _ := strconv.Unquote(spec.Path.Value)
		if path != policies.ImportPath {
			continue
		}
		name := ast.ParseImportPath(path).Qualifier
		if spec.Name != nil {
			name = spec.Name.Name
		}
		names[name] = true
	}
	for _, d := range f.Decls {
		e, ok := d.(*ast.EmbedDecl)
		if !ok {
			continue
		}
		found := false
		ast.Walk(e.Expr, func(n ast.Node) bool {
			if id, ok := n.(*ast.Ident); ok && names[id.Name] {
				found = true
			}
			return !found
		}, nil)
		if found {
			return e.Pos()
		}
	}
	return token.NoPos
}

// stripSchemaEmbed replaces a file's embedding of schema.#Config by a
// hidden field: the unit is unified with #Config once, as a whole, and the
// import stays used.
func stripSchemaEmbed(f *ast.File) {
	imports := map[string]string{}
	for spec := range f.ImportSpecs() {
		path, _ := strconv.Unquote(spec.Path.Value)
		name := ast.ParseImportPath(path).Qualifier
		if spec.Name != nil {
			name = spec.Name.Name
		}
		imports[name] = path
	}
	info := fileInfo{imports: imports}
	for i, d := range f.Decls {
		if e, ok := d.(*ast.EmbedDecl); ok && info.isSchemaConfig(e.Expr) {
			f.Decls[i] = &ast.Field{Label: ast.NewIdent(schemaUseField), Value: e.Expr}
		}
	}
}

func errorf(pos token.Pos, format string, args ...any) cueerrors.Error {
	return cueerrors.Newf(pos, format, args...)
}
