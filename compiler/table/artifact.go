package table

import (
	"bytes"
	"encoding/json"
	"fmt"

	"openfront.dev/schema"
)

// ArtifactFormat names the table artifact's format; a loader refuses others.
const ArtifactFormat = "openfront-table/v1"

// artifact is the JSON form of a table: the vetted config with every default
// applied, its version and its source. The daemon rebuilds the table from it
// without evaluating CUE.
type artifact struct {
	Format  string         `json:"format"`
	Version string         `json:"version"`
	Source  Source         `json:"source"`
	Config  *schema.Config `json:"config"`
}

// MarshalArtifact encodes the table. The same config and source always give
// the same bytes: struct fields are ordered and map keys sorted.
func (t *Table) MarshalArtifact() ([]byte, error) {
	b, err := json.Marshal(artifact{Format: ArtifactFormat, Version: t.version, Source: t.source, Config: t.config})
	if err != nil {
		return nil, fmt.Errorf("marshal table: %w", err)
	}
	return append(b, '\n'), nil
}

// LoadArtifact decodes and rebuilds a table, refusing a truncated or
// corrupted artifact and one whose content does not match its version.
func LoadArtifact(b []byte) (*Table, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var a artifact
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("table artifact: %w", err)
	}
	if a.Format != ArtifactFormat {
		return nil, fmt.Errorf("table artifact: format %q, want %q", a.Format, ArtifactFormat)
	}
	if a.Config == nil {
		return nil, fmt.Errorf("table artifact: no config")
	}
	t, err := Build(a.Config, a.Source, nil)
	if err != nil {
		return nil, fmt.Errorf("table artifact: %w", err)
	}
	if t.version != a.Version {
		return nil, fmt.Errorf("table artifact: content hash %s does not match its version %s", t.version, a.Version)
	}
	return t, nil
}
