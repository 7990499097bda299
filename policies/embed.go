// Package policies holds openfront's opt-in CUE policies, embedded in the
// binary so that configs can import openfront.dev/policies without a cue.mod.
package policies

import "embed"

// ImportPath is the CUE import path of the policies package.
const ImportPath = "openfront.dev/policies"

// Files holds the policies' .cue files.
//
//go:embed *.cue
var Files embed.FS
