package compiler

import (
	"bytes"
	"errors"
	"fmt"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/token"

	"openfront.dev/internal/cffunc"
	"openfront.dev/schema"
)

// codePos is a place in a string field's value: its line and column
// (1-based), a function's code as the JavaScript parser counts them.
type codePos struct{ line, col int }

// function compiles a function's code, as the node will: a syntax error
// or a missing handler is reported at its line in the CUE file.
func (k *checker) function(name string, f *schema.Function) {
	key := "functions." + name
	at := sel("functions", name, "functionCode")
	if n := len(f.FunctionCode); n > functionCodeSize {
		k.add(key, at, "function %q: functionCode is %d bytes; CloudFront takes at most %d", name, n, functionCodeSize)
		return
	}
	_, err := cffunc.Compile(name, f.Runtime, f.FunctionCode)
	var se *cffunc.SyntaxError
	if errors.As(err, &se) {
		k.issues = append(k.issues, issue{unitKey: key, path: cue.MakePath(at...), in: codePos{se.Line, se.Col},
			msg: fmt.Sprintf("function %q: functionCode line %d, column %d: %s", name, se.Line, se.Col, se.Msg)})
	} else if err != nil {
		k.add(key, at, "function %q: %v", name, err)
	}
}

// functionCodeSize is #Quotas.functionCodeSize, in bytes (the schema
// can bound runes only).
const functionCodeSize = 10240

// functionRefs checks a behavior's function associations: each names a
// function of the config, and an event type has one at most (CloudFront's
// "Each event type ... can have only one edge function association").
func (k *checker) functionRefs(key string, at []cue.Selector, where string, b *schema.CacheBehavior, cfg *schema.Config) {
	seen := map[string]bool{}
	for i, a := range b.FunctionAssociations {
		field := func(name string) []cue.Selector {
			return append(append([]cue.Selector{}, at...), cue.Index(i), cue.Str(name))
		}
		if seen[a.EventType] {
			k.add(key, field("eventType"), "%s: functionAssociations[%d]: a second function for %s; a behavior runs one per event type", where, i, a.EventType)
		}
		seen[a.EventType] = true
		if cfg.Functions[a.FunctionName] == nil {
			k.add(key, field("functionName"), "%s: functionAssociations[%d]: unknown function %q%s", where, i, a.FunctionName, nameHint(a.FunctionName, sortedKeys(cfg.Functions), "a key of functions"))
		}
	}
}

// codeError is an error at in, a place inside the string literal at pos:
// the line of a multi-line literal ("""), the column of a one-line one.
// Where the literal cannot be read back, the error is at pos.
func (c *Compiler) codeError(pos token.Pos, in codePos, msg string) Error {
	e := c.posError(pos, msg)
	if !pos.IsValid() {
		return e
	}
	p := pos.Position()
	var src []byte
	for _, f := range c.files {
		if c.fileName(f.rel) == p.Filename {
			src = f.src
		}
	}
	if p.Offset >= len(src) {
		return e
	}
	lit := src[p.Offset:]
	hashes := len(lit) - len(bytes.TrimLeft(lit, "#"))
	lit = lit[hashes:]
	switch {
	case bytes.HasPrefix(lit, []byte(`"""`)) || bytes.HasPrefix(lit, []byte(`'''`)):
		// Each line is stripped of the closing delimiter's indentation:
		// the closing delimiter is the first one alone on its line.
		delim := append(lit[:3:3], bytes.Repeat([]byte("#"), hashes)...)
		indent := -1
		for off := 3; indent < 0; {
			i := bytes.Index(lit[off:], delim)
			if i < 0 {
				return e
			}
			lineStart := bytes.LastIndexByte(lit[:off+i], '\n') + 1
			if len(bytes.TrimLeft(lit[lineStart:off+i], " \t")) == 0 {
				indent = off + i - lineStart
			}
			off += i + len(delim)
		}
		e.Line, e.Col = p.Line+in.line, indent+in.col
	case in.line == 1:
		e.Col = p.Column + hashes + 1 + in.col - 1
	}
	return e
}
