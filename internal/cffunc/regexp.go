package cffunc

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/dlclark/regexp2"
	"github.com/dop251/goja"
	"github.com/dop251/goja/ast"
)

// goja runs a pattern RE2 cannot (a named group, a lookaround, a
// backreference) on regexp2, which backtracks, and a run's interrupt
// cannot stop a match under way: /^\/(?<word>\w+)+$/ held a CPU for half
// a minute on a viewer's 29-character URI, however small the budget. So
// each match is cut at a node run's wall-clock cap, where its budget is
// spent: the pending interrupt fails the run at its next step, as it
// fails a loop, and the cut (goja takes it for "no match") changes no
// answer. An offline run's budget is that long too (OfflineBudget).
func init() { regexp2.DefaultMatchTimeout = WallCap * Budget }

// Named capture groups: "ES 9 named capture groups are supported"
// (functions-javascript-runtime-20.md, Regular expressions). goja runs a
// pattern with a named group on regexp2, which numbers the named groups
// after the others (.NET's order), loses some captures when both kinds
// mix, and gives a match no groups object. So a named group is
// rewritten, in the function's regular expression literals and in the
// strings it gives RegExp, as an unnamed one that keeps its name in a
// lookahead that always succeeds, (?<lang>x) as ((?=|lang)x), and
// \k<lang> as the group's number; exec then adds groups, and replace
// and replaceAll give $<name> and a replacer's groups argument. Functions
// whose code names no group keep goja's faster built-in path.

// namedGroup finds a named group's opening in a function's code, in a
// literal or a string given to RegExp: (?<name>, not (?<= or (?<!.
var namedGroup = regexp.MustCompile(`\(\?<[A-Za-z_$]`)

// nameMark opens the lookahead that keeps a rewritten group's name.
const nameMark = "(?=|"

// unnameGroups rewrites the named groups of a pattern; ok is false when
// it names none.
func unnameGroups(pattern string) (string, bool) {
	if !namedGroup.MatchString(pattern) {
		return pattern, false
	}
	names := map[string]int{}
	group := 0
	scanGroups(pattern, func(name string, named bool) {
		group++
		if named {
			names[name] = group
		}
	})
	var b strings.Builder
	inClass := false
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		switch {
		case c == '\\' && i+1 < len(pattern):
			if n, end := backReference(pattern[i:], names); !inClass && end > 0 {
				b.WriteString(`\` + strconv.Itoa(n))
				i += end - 1
				continue
			}
			b.WriteString(pattern[i : i+2])
			i++
			continue
		case inClass:
			inClass = c != ']'
		case c == '[':
			inClass = true
		case c == '(' && strings.HasPrefix(pattern[i:], "(?<") && len(pattern) > i+3 && pattern[i+3] != '=' && pattern[i+3] != '!':
			end := strings.IndexByte(pattern[i:], '>')
			if end < 0 {
				break
			}
			b.WriteString("(" + nameMark + pattern[i+3:i+end] + ")")
			i += end
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), true
}

// backReference reads \k<name> at the start of s: the named group's
// number and the reference's length; end 0 when s has none.
func backReference(s string, names map[string]int) (n, end int) {
	if !strings.HasPrefix(s, `\k<`) {
		return 0, 0
	}
	gt := strings.IndexByte(s, '>')
	if gt < 0 {
		return 0, 0
	}
	n, ok := names[s[3:gt]]
	if !ok {
		return 0, 0
	}
	return n, gt + 1
}

// scanGroups calls found for each capturing group of a pattern, in the
// order they open: with its name for a named one, (?<name>...) or
// rewritten ((?=|name)...).
func scanGroups(pattern string, found func(name string, named bool)) {
	inClass := false
	for i := 0; i < len(pattern); i++ {
		switch c := pattern[i]; {
		case c == '\\':
			i++
		case inClass:
			inClass = c != ']'
		case c == '[':
			inClass = true
		case c == '(':
			rest := pattern[i+1:]
			switch {
			case strings.HasPrefix(rest, nameMark):
				name, _, _ := strings.Cut(rest[len(nameMark):], ")")
				found(name, true)
			case strings.HasPrefix(rest, "?<") && len(rest) > 2 && rest[2] != '=' && rest[2] != '!':
				name, _, _ := strings.Cut(rest[2:], ">")
				found(name, true)
			case !strings.HasPrefix(rest, "?"):
				found("", false)
			}
		}
	}
}

// unnameLiterals rewrites the named groups of the program's regular
// expression literals.
func unnameLiterals(prg *ast.Program) {
	walkNodes(prg, func(node any) {
		if re, ok := node.(*ast.RegExpLiteral); ok {
			re.Pattern, _ = unnameGroups(re.Pattern)
		}
	})
}

// enableNamedGroups gives rt a RegExp that rewrites a string pattern's
// named groups, and an exec that adds a match's groups.
func enableNamedGroups(rt *goja.Runtime) {
	g := rt.GlobalObject()
	class := g.Get("RegExp").ToObject(rt)
	proto := class.Get("prototype").ToObject(rt)
	wrapper := rt.ToValue(func(call goja.ConstructorCall) *goja.Object {
		args := call.Arguments
		if len(args) > 0 && goja.IsString(args[0]) {
			if p, ok := unnameGroups(args[0].String()); ok {
				args = append([]goja.Value{rt.ToValue(p)}, args[1:]...)
			}
		}
		o, err := rt.New(class, args...)
		if err != nil {
			panic(err)
		}
		return o
	}).ToObject(rt)
	wrapper.DefineDataProperty("prototype", proto, goja.FLAG_FALSE, goja.FLAG_FALSE, goja.FLAG_FALSE)
	g.Set("RegExp", wrapper)

	exec, _ := goja.AssertFunction(proto.Get("exec"))
	proto.DefineDataProperty("exec", rt.ToValue(func(call goja.FunctionCall) goja.Value {
		res, err := exec(call.This, call.Arguments...)
		if err != nil {
			panic(err)
		}
		m, ok := res.(*goja.Object)
		if !ok {
			return res // null: no match
		}
		var groups *goja.Object
		group := 0
		scanGroups(call.This.ToObject(rt).Get("source").String(), func(name string, named bool) {
			group++
			if !named {
				return
			}
			if groups == nil {
				groups = rt.CreateObject(nil)
			}
			groups.Set(name, m.Get(strconv.Itoa(group)))
		})
		if groups != nil {
			m.Set("groups", groups)
		}
		return m
	}), goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)

	strProto := g.Get("String").ToObject(rt).Get("prototype").ToObject(rt)
	for _, name := range []string{"replace", "replaceAll"} {
		replace, _ := goja.AssertFunction(strProto.Get(name))
		strProto.DefineDataProperty(name, rt.ToValue(func(call goja.FunctionCall) goja.Value {
			args := call.Arguments
			if len(args) > 1 {
				if names := groupNames(rt, args[0]); names != nil {
					args = append([]goja.Value{args[0], namedReplacement(rt, args[1], names)}, args[2:]...)
				}
			}
			res, err := replace(call.This, args...)
			if err != nil {
				panic(err)
			}
			return res
		}), goja.FLAG_TRUE, goja.FLAG_FALSE, goja.FLAG_TRUE)
	}
}

// groupNames returns, for a RegExp whose pattern had named groups, each
// capturing group's name ("" for an unnamed one) in order; nil for any
// other value.
func groupNames(rt *goja.Runtime, v goja.Value) []string {
	re, ok := v.(*goja.Object)
	if !ok || re.ClassName() != "RegExp" {
		return nil
	}
	source := re.Get("source").String()
	if !strings.Contains(source, nameMark) {
		return nil
	}
	var names []string
	scanGroups(source, func(name string, _ bool) { names = append(names, name) })
	return names
}

// namedReplacement gives replace what a pattern with named groups means:
// a string's $<name> as the group's $n (one the pattern does not name as
// nothing), and a replacer the groups object after the input string.
func namedReplacement(rt *goja.Runtime, v goja.Value, names []string) goja.Value {
	if fn, ok := goja.AssertFunction(v); ok {
		return rt.ToValue(func(call goja.FunctionCall) goja.Value {
			// (match, p1…pn, offset, string): the captures follow match.
			groups := rt.CreateObject(nil)
			for i, name := range names {
				if name != "" {
					groups.Set(name, call.Argument(i+1))
				}
			}
			res, err := fn(call.This, append(call.Arguments, groups)...)
			if err != nil {
				panic(err)
			}
			return res
		})
	}
	if !goja.IsString(v) || !strings.Contains(v.String(), "$<") {
		return v
	}
	repl := v.String()
	var b strings.Builder
	for i := 0; i < len(repl); i++ {
		switch {
		case strings.HasPrefix(repl[i:], "$$"):
			b.WriteString("$$")
			i++
			continue
		case strings.HasPrefix(repl[i:], "$<"):
			gt := strings.IndexByte(repl[i:], '>')
			if gt < 0 {
				break // no name: a plain "$<"
			}
			if n := slices.Index(names, repl[i+2:i+gt]); n >= 0 && repl[i+2:i+gt] != "" {
				// Two digits, so that a digit after it is not read
				// as part of the number.
				b.WriteString(fmt.Sprintf("$%02d", n+1))
			}
			i += gt
			continue
		}
		b.WriteByte(repl[i])
	}
	return rt.ToValue(b.String())
}
