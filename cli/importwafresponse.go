package cli

import (
	"maps"
	"slices"
)

// customResponseBodies imports a web ACL's CustomResponseBodies: their
// keys are the config's own names, kept as written.
func (imp *importer) customResponseBodies(o *cueStruct, s *src) {
	m, _ := s.get("CustomResponseBodies").(map[string]any)
	if len(m) == 0 {
		return
	}
	out := &cueStruct{}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		b, _ := m[k].(map[string]any)
		body := &cueStruct{}
		ct, _ := b["ContentType"].(string)
		content, _ := b["Content"].(string)
		body.set("contentType", ct)
		body.set("content", content)
		out.set(k, body)
	}
	o.set("customResponseBodies", out)
}
