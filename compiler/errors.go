package compiler

import (
	"fmt"
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
			msg = formatPath(p) + ": " + msg
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
			if p := userPos(v, cue.ParsePath(quotePath(e.Path()))); p.IsValid() {
				best = p
			}
		}
		out = append(out, c.posError(best, msg))
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
