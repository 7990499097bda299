package compiler

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"openfront.dev/internal/filestamp"
)

// sourceFile is one .cue file of a config directory with what the compiler
// needs to place it in an evaluation unit. It is cached across compiles and
// re-read only when its file, size, modification time or change time moves.
type sourceFile struct {
	rel     string // slash-separated path relative to the config dir
	size    int64
	modTime time.Time
	// changeTime (the inode's ctime) moves on every write, also when a tool
	// such as rsync -t or tar restores the modification time.
	changeTime int64
	// id is the file's device and inode: a dir link re-pointed at another
	// tree (blue/green releases) shows files under the same names whose
	// size and times may all match, copied at once by cp -a or rsync -a.
	id       filestamp.ID
	hash     [32]byte
	src      []byte
	info     fileInfo
	parseErr error
}

// fileInfo is what a file declares and references at the top level.
type fileInfo struct {
	pkg    string
	pkgPos token.Pos // where the package clause is
	// imports maps local import names to import paths.
	imports map[string]string
	// declares holds the top-level names the file defines (regular fields,
	// definitions, hidden fields, lets).
	declares map[string]bool
	// refs holds identifiers the file uses as references.
	refs map[string]bool
	// dataKeys are the values the file contributes: "distributions.site",
	// "keyGroups.signers", "tests", ...
	dataKeys []string
	// packageWide marks constraints that apply to every file of the package:
	// embeddings other than schema.#Config, pattern constraints at the top or
	// on distributions/streamingDistributions/keyGroups/trustStores/responseHeadersPolicies/
	// cachePolicies/originRequestPolicies/functions/keyValueStores/
	// continuousDeploymentPolicies/webACLs/ipSets/regexPatternSets/ruleGroups.
	packageWide bool
	// global marks shapes the compiler cannot split (comprehensions, dynamic
	// labels, a non-struct distributions value): the whole package is then
	// evaluated as one unit.
	global bool
	// laxSchemaEmbed is where the file embeds schema.#Config without CUE's
	// explicitopen experiment: plain cue vet then accepts misspelt fields.
	laxSchemaEmbed token.Pos
	// embedsSchema: the file embeds schema.#Config.
	embedsSchema bool
}

// splitFields are the top-level fields whose entries may be evaluated apart.
var splitFields = map[string]bool{"distributions": true, "streamingDistributions": true, "keyGroups": true, "trustStores": true, "responseHeadersPolicies": true, "cachePolicies": true, "originRequestPolicies": true, "functions": true, "keyValueStores": true, "continuousDeploymentPolicies": true, "webACLs": true, "ipSets": true, "regexPatternSets": true, "ruleGroups": true}

// IgnoredDir reports directories a config scan skips, as CUE's loader
// does: what they hold is not part of the config.
func IgnoredDir(name string) bool { return ignoredDir(name) }

func ignoredDir(name string) bool {
	return name == "cue.mod" || name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

// scan walks dir and refreshes the file cache; it reports whether anything changed.
func (c *Compiler) scan() (changed bool, err error) {
	seen := map[string]bool{}
	root := c.dir
	// WalkDir does not descend into a root that is a symlink (git-sync's
	// "current", a ConfigMap mount): a trailing slash makes it follow.
	if fi, err := os.Lstat(root); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		root += string(filepath.Separator)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && ignoredDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(d.Name(), ".cue") || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_") {
			return nil
		}
		rel, err := filepath.Rel(c.dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		// The os errors name the file already ("stat PATH: ...").
		fi, err := os.Stat(path) // follows symlinks, as a ConfigMap mount needs
		if err != nil {
			return err
		}
		old := c.files[rel]
		// A file modified within the last two seconds may change again
		// without its size or mtime moving: hash it again next time.
		racy := old != nil && time.Since(old.modTime) < 2*time.Second
		if old != nil && !racy && old.size == fi.Size() && old.modTime.Equal(fi.ModTime()) && old.changeTime == filestamp.ChangeTime(fi) && old.id == filestamp.IDOf(fi) {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		h := sha256.Sum256(src)
		if old != nil && old.hash == h {
			old.size, old.modTime, old.changeTime, old.id = fi.Size(), fi.ModTime(), filestamp.ChangeTime(fi), filestamp.IDOf(fi)
			return nil
		}
		sf := &sourceFile{rel: rel, size: fi.Size(), modTime: fi.ModTime(), changeTime: filestamp.ChangeTime(fi), id: filestamp.IDOf(fi), hash: h, src: src}
		c.analyze(sf)
		c.files[rel] = sf
		changed = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("scan config dir: %w", err)
	}
	for rel := range c.files {
		if !seen[rel] {
			delete(c.files, rel)
			changed = true
		}
	}
	return changed, nil
}

// sortedFiles returns the cached files in path order.
func (c *Compiler) sortedFiles() []*sourceFile {
	out := make([]*sourceFile, 0, len(c.files))
	for _, f := range c.files {
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].rel < out[j].rel })
	return out
}

// analyze parses a file to learn its top-level shape; evaluation re-parses.
func (c *Compiler) analyze(sf *sourceFile) {
	f, err := parser.ParseFile(c.fileName(sf.rel), sf.src)
	if err != nil {
		sf.parseErr = err
		return
	}
	info := fileInfo{
		pkg:      f.PackageName(),
		pkgPos:   f.Pos(),
		imports:  map[string]string{},
		declares: map[string]bool{},
		refs:     map[string]bool{},
	}
	for spec := range f.ImportSpecs() {
		path, _ := strconv.Unquote(spec.Path.Value)
		name := ast.ParseImportPath(path).Qualifier
		if spec.Name != nil {
			name = spec.Name.Name
		}
		info.imports[name] = path
	}
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.Package, *ast.ImportDecl, *ast.Attribute, *ast.CommentGroup:
		case *ast.EmbedDecl:
			if !info.isSchemaConfig(d.Expr) {
				info.packageWide = true
				// schema.#Config & policies.#RequireHTTPS embeds it too.
				info.embedsSchema = info.embedsSchema || info.mentionsSchemaConfig(d.Expr)
			} else {
				info.embedsSchema = true
				if !info.laxSchemaEmbed.IsValid() && !explicitOpen(f) {
					info.laxSchemaEmbed = d.Pos()
				}
			}
			collectRefs(d.Expr, info.refs)
		case *ast.LetClause:
			info.declares[d.Ident.Name] = true
			collectRefs(d.Expr, info.refs)
		case *ast.Field:
			info.field(d)
		default: // comprehensions and anything new
			info.global = true
			collectRefs(d, info.refs)
		}
	}
	sort.Strings(info.dataKeys)
	sf.info = info
}

// checkPackage reports files outside the config's package, the package of
// the first file in path order that has a package clause. Units are
// evaluated apart, so this is checked across all of them: cue vet refuses a
// directory of two packages, skips a file without a package clause (what it
// declares would be served unchecked) and finds no package if no file has
// one.
func (c *Compiler) checkPackage(files []*sourceFile) Errors {
	pkg := ""
	for _, f := range files {
		if f.parseErr == nil && f.info.pkg != "" {
			pkg = f.info.pkg
			break
		}
	}
	var errs Errors
	for _, f := range files {
		switch {
		case f.parseErr != nil: // reported when its unit is evaluated
		case f.info.pkg == "" && pkg == "":
			errs = append(errs, Error{File: c.fileName(f.rel), Line: 1, Col: 1, Msg: "no package clause: every file of a config must start with one, e.g. package cdn"})
		case f.info.pkg == "":
			errs = append(errs, Error{File: c.fileName(f.rel), Line: 1, Col: 1, Msg: fmt.Sprintf("no package clause: every file of a config must be in one package (found %s)", pkg)})
		case f.info.pkg != pkg:
			errs = append(errs, c.posError(f.info.pkgPos, fmt.Sprintf("package %s: every file of a config must be in one package (found %s)", f.info.pkg, pkg)))
		}
	}
	return errs
}

// isSchemaConfig reports whether e is schema.#Config, which every unit embeds anyway.
func (info *fileInfo) isSchemaConfig(e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok {
		return false
	}
	x, ok := sel.X.(*ast.Ident)
	if !ok || info.imports[x.Name] != "openfront.dev/schema" {
		return false
	}
	name, _, _ := ast.LabelName(sel.Sel)
	return name == "#Config"
}

// mentionsSchemaConfig reports whether e refers to schema.#Config anywhere.
func (info *fileInfo) mentionsSchemaConfig(e ast.Expr) bool {
	found := false
	ast.Walk(e, func(n ast.Node) bool {
		if x, ok := n.(ast.Expr); ok && info.isSchemaConfig(x) {
			found = true
		}
		return !found
	}, nil)
	return found
}

// explicitOpen reports whether f sets @experiment(explicitopen), which makes
// CUE refuse fields declared beside an embedded definition that it does not
// allow; otherwise they pass unchecked, at any depth (cue-lang/cue#1576,
// #4032). CUE reads the attribute only before the package clause.
func explicitOpen(f *ast.File) bool {
	for _, d := range f.Decls {
		switch d := d.(type) {
		case *ast.Package:
			return false
		case *ast.Attribute:
			key, body := d.Split()
			if key != "experiment" {
				continue
			}
			for e := range strings.SplitSeq(body, ",") {
				if strings.TrimSpace(e) == "explicitopen" {
					return true
				}
			}
		}
	}
	return false
}

func (info *fileInfo) field(d *ast.Field) {
	collectRefs(d.Value, info.refs)
	name, isIdent, err := ast.LabelName(d.Label)
	if err != nil || name == "" {
		// [pattern]: constraint or a dynamic label.
		if _, ok := d.Label.(*ast.ListLit); ok {
			info.packageWide = true
			collectRefs(d.Label, info.refs)
			return
		}
		info.global = true
		return
	}
	_ = isIdent
	if a, ok := d.Label.(*ast.Alias); ok {
		_ = a
		info.global = true
		return
	}
	info.declares[name] = true
	if strings.HasPrefix(name, "#") || strings.HasPrefix(name, "_") {
		return
	}
	if d.Constraint != 0 { // foo?: or foo!: constrain whatever others define
		info.packageWide = true
		return
	}
	if !splitFields[name] {
		info.dataKeys = append(info.dataKeys, name)
		return
	}
	st, ok := d.Value.(*ast.StructLit)
	if !ok {
		info.global = true
		return
	}
	for _, e := range st.Elts {
		switch e := e.(type) {
		case *ast.CommentGroup, *ast.Attribute:
		case *ast.Field:
			key, _, err := ast.LabelName(e.Label)
			switch {
			case err != nil || key == "":
				if _, ok := e.Label.(*ast.ListLit); ok {
					info.packageWide = true
				} else {
					info.global = true
				}
			case strings.HasPrefix(key, "#") || strings.HasPrefix(key, "_") || e.Constraint != 0:
				info.packageWide = true
			default:
				info.dataKeys = append(info.dataKeys, name+"."+key)
			}
		default:
			info.global = true
		}
	}
}

// collectRefs records identifiers used as references below n. Field labels
// and selectors after a dot are names, not references.
func collectRefs(n ast.Node, refs map[string]bool) {
	if n == nil {
		return
	}
	ast.Walk(n, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.Ident:
			refs[n.Name] = true
		case *ast.Field:
			if l, ok := n.Label.(*ast.ListLit); ok {
				collectRefs(l, refs)
			}
			collectRefs(n.Value, refs)
			return false
		case *ast.SelectorExpr:
			collectRefs(n.X, refs)
			return false
		}
		return true
	}, nil)
}
