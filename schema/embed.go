// Package schema holds openfront's CUE schema, embedded in the binary as the
// single source of truth, and the Go types that configs decode into.
package schema

import "embed"

// ImportPath is the CUE import path of the schema package.
const ImportPath = "openfront.dev/schema"

// Files holds the schema's .cue files.
//
//go:embed *.cue
var Files embed.FS
