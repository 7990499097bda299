package compiler

import (
	"fmt"
	"regexp"
	"sort"
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
func (c *Compiler) cueErrors(err error) Errors { return c.cueErrorsIn(err, cue.Value{}) }

// cueErrorsIn is cueErrors for errors of v: an error positioned only in the
// schema (a failed schema check) is placed at the user's value at its path.
func (c *Compiler) cueErrorsIn(err error, v cue.Value) Errors {
	var out Errors
	list := cueerrors.Errors(err)
	for _, e := range list {
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		// CUE heads the errors of a failed disjunction with a line of its
		// own, without a position; the errors that follow say it all.
		if len(list) > 1 && strings.HasSuffix(msg, "errors in empty disjunction:") {
			continue
		}
		if p := e.Path(); len(p) > 0 {
			if p[0] == "#Config" { // the definition the unit was unified with
				p = p[1:]
			}
			if len(p) > 0 {
				msg = formatPath(p) + ": " + msg
			}
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
			path := e.Path()
			if len(path) > 0 && path[0] == "#Config" {
				path = path[1:]
			}
			if p := userPos(v, cue.ParsePath(quotePath(path))); p.IsValid() {
				best = p
			}
		}
		out = append(out, c.posError(best, msg))
	}
	return mergeEnumErrors(out)
}

// conflictRE matches CUE's message for a value outside one disjunct.
var conflictRE = regexp.MustCompile(`^(.*): conflicting values (.+) and (.+)$`)

// mergeEnumErrors folds CUE's one-error-per-disjunct report of a value that
// is not one of an enum's values into one line:
// `viewerProtocolPolicy: "redirect" is not one of "allow-all", "https-only"`.
func mergeEnumErrors(in Errors) Errors {
	var out Errors
	for i := 0; i < len(in); {
		m := conflictRE.FindStringSubmatch(in[i].Msg)
		j := i + 1
		if m != nil {
			allowed := []string{m[2]}
			for ; j < len(in); j++ {
				n := conflictRE.FindStringSubmatch(in[j].Msg)
				if n == nil || n[1] != m[1] || n[3] != m[3] || in[j].File != in[i].File || in[j].Line != in[i].Line || in[j].Col != in[i].Col {
					break
				}
				allowed = append(allowed, n[2])
			}
			if j-i > 1 {
				e := in[i]
				e.Msg = fmt.Sprintf("%s: %s is not one of %s", m[1], m[3], strings.Join(allowed, ", "))
				out = append(out, e)
				i = j
				continue
			}
		}
		out = append(out, in[i])
		i++
	}
	return out
}

// formatPath renders a CUE path as distributions.site.origins[0].id.
func formatPath(p []string) string {
	var b strings.Builder
	for i, s := range p {
		if s != "" && s[0] >= '0' && s[0] <= '9' {
			b.WriteString("[" + s + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(s)
	}
	return b.String()
}

// quotePath turns CUE error path elements into CUE path syntax.
func quotePath(p []string) string {
	var b strings.Builder
	for i, s := range p {
		if s != "" && s[0] >= '0' && s[0] <= '9' {
			b.WriteString("[" + s + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		if ast.IsValidIdent(s) {
			b.WriteString(s)
		} else {
			b.WriteString(literal.Label.Quote(s))
		}
	}
	return b.String()
}
