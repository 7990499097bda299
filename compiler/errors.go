package compiler

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"
)

// Error is one problem in a config, positioned at the offending value.
type Error struct {
	File      string // as the user named it: DIR joined with the file's path
	Line, Col int
	Msg       string
}

func (e Error) Error() string {
	if e.File == "" {
		return e.Msg
	}
	return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
}

// Errors is every problem found in a config, sorted by position.
type Errors []Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// sortDedup orders errors by file and position and drops repeats, which arise
// when a shared file is evaluated with every unit.
func (es Errors) sortDedup() Errors {
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Col != b.Col {
			return a.Col < b.Col
		}
		return a.Msg < b.Msg
	})
	out := es[:0]
	for i, e := range es {
		if i > 0 && e == es[i-1] {
			continue
		}
		out = append(out, e)
	}
	return out
}

// posError builds an Error at a CUE position.
func (c *Compiler) posError(pos token.Pos, msg string) Error {
	if !pos.IsValid() {
		return Error{Msg: msg}
	}
	p := pos.Position()
	return Error{File: c.displayName(p.Filename), Line: p.Line, Col: p.Column, Msg: msg}
}

// cueErrors converts CUE's errors, preferring a position in the user's files
// over one in the embedded schema.
func (c *Compiler) cueErrors(err error) Errors {
	return c.cueErrorsIn(err, cue.Value{}, cue.Value{}, token.NoPos)
}

// cueErrorsIn is cueErrors for errors of v: an error positioned only in the
// schema (a failed schema check) is placed at the user's value at its path.
//
// An error still placed in an embedded package (a policy's missing
// parameter) goes to fallback, where the unit embeds a policy. A field
// not allowed by def, the #Config v was unified with, gets the name the
// user likely meant.
func (c *Compiler) cueErrorsIn(err error, v, def cue.Value, fallback token.Pos) Errors {
	var out Errors
	list := cueerrors.Errors(err)
	for _, e := range list {
		msg := errorText(e)
		// CUE heads the errors of a failed disjunction with a line of its
		// own, without a position; the errors that follow say it all.
		if len(list) > 1 && strings.HasSuffix(msg, "errors in empty disjunction:") {
			continue
		}
		// A policy checked with matchN also reports its own message; the
		// matchN line only dumps the value.
		if len(list) > 1 && strings.HasSuffix(msg, "(does not satisfy matchN)") {
			continue
		}
		if followsFrom(e, list) {
			continue
		}
		path := e.Path()
		if len(path) > 0 && path[0] == "#Config" { // the definition the unit was unified with
			path = path[1:]
			if strings.HasSuffix(msg, "field not allowed") {
				msg += fieldHint(def, path)
			}
		}
		var at cue.Value
		if v.Exists() {
			at = v.LookupPath(cue.ParsePath(quotePath(path)))
		}
		msg = explainIncomplete(explainPatterns(explainValidator(msg, at)))
		if len(path) > 0 {
			msg = formatPath(path) + ": " + msg
		}
		positions := append([]token.Pos{e.Position()}, e.InputPositions()...)
		var best token.Pos
		for _, p := range positions {
			if !p.IsValid() {
				continue
			}
			if !best.IsValid() {
				best = p
			}
			if !isSchemaFile(p.Filename()) {
				best = p
				break
			}
		}
		if (!best.IsValid() || isSchemaFile(best.Filename())) && v.Exists() {
			if p := userPos(v, cue.ParsePath(quotePath(path))); p.IsValid() {
				best = p
			}
		}
		if (!best.IsValid() || isSchemaFile(best.Filename())) && fallback.IsValid() {
			best = fallback
			if strings.HasSuffix(msg, "field is required but not present") {
				msg = "policy parameter " + msg + ": set it where the policy is embedded, e.g. policies.#MaxTTL & {#maxTTL: 3600}"
			}
		}
		out = append(out, c.posError(best, msg))
	}
	return dropListLengthNoise(mergeEnumErrors(out))
}

// explainIncomplete says in words what CUE's "incomplete value A | B"
// means: a field of several choices and no default (viewerProtocolPolicy,
// which CloudFront requires) was given none of them.
func explainIncomplete(msg string) string {
	choices, ok := strings.CutPrefix(msg, "incomplete value ")
	if !ok || !strings.Contains(choices, " | ") || strings.Contains(choices, "*") {
		return msg
	}
	list := strings.Split(choices, " | ")
	return "no value: set one of " + strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}

// dropListLengthNoise drops "incompatible list lengths" errors from a list
// default (`*["GET", "HEAD"]`) when an error inside the same list says what
// is actually wrong.
// followsFrom reports whether e only follows from another error of list:
// an operator given a value already in error (bottom) reports that error
// again, wrapped ("invalid left-hand value to '=~' (type _|_): ..."), at
// the operator's place, which is not where the user went wrong.
func followsFrom(e cueerrors.Error, list []cueerrors.Error) bool {
	format, args := e.Msg()
	if len(args) == 0 || !strings.HasPrefix(format, "invalid left-hand value to ") && !strings.HasPrefix(format, "invalid right-hand value to ") {
		return false
	}
	inner, ok := args[len(args)-1].(cueerrors.Error)
	if !ok {
		return false
	}
	cause := errorText(inner)
	return slices.ContainsFunc(list, func(o cueerrors.Error) bool { return o != e && errorText(o) == cause })
}

// errorText is a CUE error's message, without its path or position.
func errorText(e cueerrors.Error) string {
	format, args := e.Msg()
	return fmt.Sprintf(format, args...)
}

func dropListLengthNoise(in Errors) Errors {
	var out Errors
	for _, e := range in {
		if p, rest, _ := strings.Cut(e.Msg, ": "); strings.HasPrefix(rest, "incompatible list lengths") {
			if slices.ContainsFunc(in, func(o Error) bool {
				op := errPath(o.Msg)
				return o.Msg != e.Msg && (op == p || strings.HasPrefix(op, p+"[") || strings.HasPrefix(op, p+"."))
			}) {
				continue
			}
		}
		out = append(out, e)
	}
	return out
}

// validatorRE matches CUE's report of a failed validator, which dumps the
// whole value: `invalid value [...] (does not satisfy list.MaxItems(25))`.
var validatorRE = regexp.MustCompile(`^invalid value (.*) \(does not satisfy ([a-zA-Z.]+)(?:\(([^)]*)\))?\)$`)

// explainValidator says what a failed validator wants in words, with the
// count or the repeated item instead of the value itself.
func explainValidator(msg string, at cue.Value) string {
	m := validatorRE.FindStringSubmatch(msg)
	if m == nil {
		return msg
	}
	value, fn, arg := m[1], m[2], m[3]
	// The value at the path is in error, so read its items from the dump,
	// which is JSON for lists of plain values.
	n := -1
	var items []string
	var list []json.RawMessage
	if json.Unmarshal([]byte(value), &list) == nil {
		n = len(list)
		for _, it := range list {
			items = append(items, string(it))
		}
	} else {
		n = countItems(value)
	}
	_ = at
	switch fn {
	case "list.MaxItems":
		if n >= 0 {
			return fmt.Sprintf("%d items, at most %s (a CloudFront quota, schema/quotas.cue)", n, arg)
		}
	case "list.MinItems":
		if n >= 0 {
			return fmt.Sprintf("%d items, at least %s needed", n, arg)
		}
	case "list.UniqueItems":
		seen := map[string]bool{}
		for _, s := range items {
			if seen[s] {
				return s + " appears more than once"
			}
			seen[s] = true
		}
	case "strings.MaxRunes":
		if s, err := strconv.Unquote(value); err == nil {
			return fmt.Sprintf("%d characters, at most %s", len([]rune(s)), arg)
		}
	}
	if len(value) > 80 {
		value = value[:77] + "..."
	}
	if arg != "" {
		fn += "(" + arg + ")"
	}
	return fmt.Sprintf("invalid value %s (does not satisfy %s)", value, fn)
}

// countItems counts the elements of a printed CUE list of structs, or -1.
func countItems(dump string) int {
	if len(dump) < 2 || dump[0] != '[' {
		return -1
	}
	if dump == "[]" {
		return 0
	}
	n, depth, inString := 1, 0, false
	for i := 0; i < len(dump); i++ {
		switch c := dump[i]; {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '[' || c == '{' || c == '(':
			depth++
		case c == ']' || c == '}' || c == ')':
			depth--
		case c == ',' && depth == 1:
			n++
		}
	}
	return n
}

// mismatchRE matches a value of the wrong type against an enum or default.
var mismatchRE = regexp.MustCompile(`^(.*): conflicting values (.+) and (.+) \(mismatched types (\w+) and (\w+)\)$`)

// conflictRE matches CUE's message for a value outside one disjunct.
var conflictRE = regexp.MustCompile(`^(.*): conflicting values ("(?:[^"\\]|\\.)*"|[^ "]+) and ("(?:[^"\\]|\\.)*"|[^ "]+)$`)

// mergeEnumErrors tidies CUE's report of a value that failed a disjunction,
// which has one error per disjunct at the same place. When one of them says
// more than "conflicting values" (a failed pattern, a bound), the conflicts
// with the other disjuncts (usually a default) are dropped; when all are
// conflicts, the value is not one of an enum's values and they fold into one:
// `viewerProtocolPolicy: "redirect" is not one of "allow-all", "https-only"`.
func mergeEnumErrors(in Errors) Errors {
	var out Errors
	for i := 0; i < len(in); {
		j := i + 1
		for j < len(in) && in[j].File == in[i].File && in[j].Line == in[i].Line && in[j].Col == in[i].Col && errPath(in[j].Msg) == errPath(in[i].Msg) {
			j++
		}
		group := in[i:j]
		i = j
		if m := mismatchRE.FindStringSubmatch(group[0].Msg); m != nil {
			e := group[0]
			e.Msg = fmt.Sprintf("%s: %s is %s %s, want %s %s%s", m[1], m[2], article(m[4]), m[4], article(m[5]), m[5], typeHint(m[2], m[4], m[5]))
			out = append(out, e)
			continue
		}
		if len(group) == 1 {
			out = append(out, group[0])
			continue
		}
		var other Errors
		var allowed []string
		var prefix, value string
		for _, e := range group {
			if m := conflictRE.FindStringSubmatch(e.Msg); m != nil {
				prefix, value = m[1], m[3]
				allowed = append(allowed, m[2])
			} else {
				other = append(other, e)
			}
		}
		switch {
		case len(other) > 0 && len(allowed) > 0 && disjunctionWants[lastElem(prefix)] != "":
			// An enum with a range (a port: 80 | 443 | 1024 to 65535):
			// the bound alone would hide the enum's values.
			e := group[0]
			e.Msg = fmt.Sprintf("%s: invalid value %s (want %s)", prefix, value, disjunctionWants[lastElem(prefix)])
			out = append(out, e)
		case len(other) > 0:
			out = append(out, other...)
		default:
			e := group[0]
			e.Msg = fmt.Sprintf("%s: %s is not one of %s", prefix, value, strings.Join(allowed, ", "))
			out = append(out, e)
		}
	}
	return out
}

// disjunctionWants says in words what a field whose schema mixes values and
// bounds accepts, keyed by the field's name.
var disjunctionWants = map[string]string{
	"httpPort":  "80, 443, or a port from 1024 to 65535",
	"httpsPort": "80, 443, or a port from 1024 to 65535",
}

// lastElem is the last field name of a path such as a.b[0].c.
func lastElem(path string) string {
	if i := strings.LastIndexByte(path, '.'); i >= 0 {
		return path[i+1:]
	}
	return path
}

func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// errPath is the "path: " prefix of a message.
func errPath(msg string) string {
	p, _, _ := strings.Cut(msg, ": ")
	return p
}

// formatPath renders a CUE path as distributions.site.origins[0].id.
func formatPath(p []string) string { return joinPath(p, false) }

// quotePath turns CUE error path elements into CUE path syntax.
func quotePath(p []string) string { return joinPath(p, true) }

func joinPath(p []string, quote bool) string {
	var b strings.Builder
	for i, s := range p {
		if s != "" && s[0] >= '0' && s[0] <= '9' {
			b.WriteString("[" + s + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		if quote && !ast.IsValidIdent(s) {
			s = literal.Label.Quote(s)
		}
		b.WriteString(s)
	}
	return b.String()
}
