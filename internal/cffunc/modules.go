package cffunc

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/dop251/goja"
)

// A module is what require(name) gives a function, made once per runtime.
// CloudFront offers a fixed set (functions-javascript-runtime-20.md); a
// function cannot load code from anywhere else.
type module func(f *Function, m *vm) (goja.Value, error)

// modules are the names a function may import or require.
var modules = map[string]module{}

func moduleNames() string {
	names := make([]string, 0, len(modules))
	for n := range modules {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// importLine is an ES module import as CloudFront's 2.0 examples write
// them: `import cf from 'cloudfront';`, `import crypto from 'crypto'`,
// `import * as qs from 'querystring'`, `import { createHash } from
// 'crypto'`. goja runs scripts, not modules, so each becomes a require.
var importLine = regexp.MustCompile(`(?m)(^[ \t]*|;[ \t]*)import[ \t]+(?:\*[ \t]*as[ \t]+([A-Za-z_$][\w$]*)|([A-Za-z_$][\w$]*)|\{([^}]*)\})[ \t]+from[ \t]+(['"])([^'"\n]*)(['"])`)

var importAs = regexp.MustCompile(`[ \t]+as[ \t]+`)

// rewriteImports turns the code's import declarations into requires on
// the same lines, so positions of later lines do not move. An import of
// a module CloudFront does not offer is a SyntaxError at its line.
func rewriteImports(code string) (string, error) {
	var b strings.Builder
	last := 0
	for _, ix := range importLine.FindAllStringSubmatchIndex(code, -1) {
		group := func(i int) string {
			if ix[2*i] < 0 {
				return ""
			}
			return code[ix[2*i]:ix[2*i+1]]
		}
		indent, name := group(1), group(6)
		if _, ok := modules[name]; !ok || group(5) != group(7) {
			at := ix[3] // the import keyword
			line := strings.Count(code[:at], "\n") + 1
			col := utf8.RuneCountInString(code[strings.LastIndexByte(code[:at], '\n')+1:at]) + 1
			return "", &SyntaxError{Line: line, Col: col, Msg: fmt.Sprintf("cannot import %q: CloudFront Functions offer %s", name, moduleNames())}
		}
		binding := group(2) + group(3)
		if named := group(4); named != "" {
			// { a, b as c } destructures as { a, b: c }.
			binding = "{" + importAs.ReplaceAllString(named, ": ") + "}"
		}
		b.WriteString(code[last:ix[0]])
		fmt.Fprintf(&b, "%svar %s = require(%q)", indent, binding, name)
		last = ix[1]
	}
	b.WriteString(code[last:])
	return b.String(), nil
}

// enableRequire gives rt a require that knows only modules, each made
// once per runtime. goja_nodejs's require is not used: it would also
// offer every Node core module linked into the binary (util, node:buffer)
// and read files from the node's disk.
func (f *Function) enableRequire(m *vm) {
	rt := m.rt
	loaded := map[string]goja.Value{}
	rt.Set("require", func(call goja.FunctionCall) goja.Value {
		name := call.Argument(0).String()
		if v, ok := loaded[name]; ok {
			return v
		}
		load, ok := modules[name]
		if !ok {
			panic(rt.NewGoError(fmt.Errorf("cannot find module %q: CloudFront Functions offer %s", name, moduleNames())))
		}
		v, err := load(f, m)
		if err != nil {
			panic(rt.NewGoError(err))
		}
		loaded[name] = v
		return v
	})
}
