package compiler

import (
	"cuelang.org/go/cue"
	"cuelang.org/go/cue/token"
)

type cuePos = token.Pos

// conjunctPositions lists the positions of the values unified into x: its
// own position first, then those of its conjuncts.
func conjunctPositions(x cue.Value) []token.Pos {
	var out []token.Pos
	if p := x.Pos(); p.IsValid() {
		out = append(out, p)
	}
	_, args := x.Expr()
	for _, a := range args {
		if p := a.Pos(); p.IsValid() {
			out = append(out, p)
		}
	}
	return out
}
