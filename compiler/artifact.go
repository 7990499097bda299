package compiler

import (
	"fmt"
	"path/filepath"

	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

// LoadArtifact decodes a table artifact (compile -o, read by serve
// --table) and refuses one whose config vet would refuse: its content hash
// is no signature, so the config may have been written by hand, by a buggy
// pipeline or by an older openfront, and the table trusts its config. Local
// origins' paths are relative to dir. An error names its place in the
// artifact's JSON (config.distributions.site.…).
func LoadArtifact(b []byte, dir string) (*table.Table, error) {
	c := &Compiler{dir: filepath.Clean(dir)}
	t, err := table.DecodeVetted(b, "", nil, c.vetArtifact)
	if err != nil {
		return nil, err
	}
	if errs := c.runRouteTests(t.Config(), t, nil); errs != nil {
		return nil, fmt.Errorf("table artifact: %w", errs)
	}
	return t, nil
}

// vetArtifact runs the semantic checks compile runs on a config that did
// not come from CUE.
func (c *Compiler) vetArtifact(cfg *schema.Config) error {
	if errs, _ := c.check(cfg, nil); errs != nil {
		return errs
	}
	return nil
}

// jsonPlace is where an issue is in an artifact's JSON.
func jsonPlace(is issue) string {
	if len(is.path.Selectors()) == 0 {
		return "config"
	}
	p := "config." + is.path.String()
	if is.in != (codePos{}) {
		p += fmt.Sprintf(" (line %d, column %d of the code)", is.in.line, is.in.col)
	}
	return p
}
