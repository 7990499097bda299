package compiler

import (
	"fmt"
	"net/url"
	"slices"

	"cuelang.org/go/cue"

	"openfront.dev/compiler/table"
	"openfront.dev/schema"
)

// runRouteTests checks the config's tests: each URL must reach the expected
// distribution, behavior and origin. A config repo asserts its routing in CI.
func (c *Compiler) runRouteTests(cfg *schema.Config, t *table.Table, origin map[string]*unit) Errors {
	k := &checker{dir: c.dir}
	for i, rt := range cfg.Tests {
		where := fmt.Sprintf("tests[%d] (%s)", i, rt.URL)
		u, err := url.Parse(rt.URL)
		if err != nil {
			k.add("tests", sel("tests", i, "url"), "%s: %v", where, err)
			continue
		}
		host := u.Host
		if h := rt.Headers["Host"]; h != "" {
			host = h
		}
		if u.Scheme == "rtmp" {
			sd := t.StreamingDistributionForHost(host)
			switch {
			case sd == nil:
				k.add("tests", sel("tests", i, "expect", "distribution"), "%s: no streaming distribution has alias %q, want %q", where, u.Hostname(), rt.Expect.Distribution)
			case sd.ID != rt.Expect.Distribution:
				k.add("tests", sel("tests", i, "expect", "distribution"), "%s: routed to streaming distribution %q, want %q", where, sd.ID, rt.Expect.Distribution)
			}
			continue
		}
		d, b := t.Route(host, u.EscapedPath())
		if d == nil {
			k.add("tests", sel("tests", i, "expect", "distribution"), "%s: no distribution has alias %q, want %q", where, u.Hostname(), rt.Expect.Distribution)
			continue
		}
		if d.ID != rt.Expect.Distribution {
			k.add("tests", sel("tests", i, "expect", "distribution"), "%s: routed to distribution %q, want %q", where, d.ID, rt.Expect.Distribution)
			continue
		}
		if want := rt.Expect.Behavior; want != "" && b.Name() != want {
			k.add("tests", sel("tests", i, "expect", "behavior"), "%s: matched behavior %q, want %q", where, b.Name(), want)
		}
		if !slices.Contains(b.Spec.AllowedMethods, rt.Method) {
			k.add("tests", sel("tests", i, "method"), "%s: behavior %q does not allow %s (allowedMethods %v): the edge answers 403", where, b.Name(), rt.Method, b.Spec.AllowedMethods)
		}
		if want := rt.Expect.Origin; want != "" && b.TargetID() != want {
			k.add("tests", sel("tests", i, "expect", "origin"), "%s: sent to origin %q, want %q", where, b.TargetID(), want)
		}
	}
	if len(k.issues) == 0 {
		return nil
	}
	return c.locate(k.issues, origin)
}

// userPos finds where the value at p was written in the user's files: the
// value itself, else the nearest enclosing value (a defaulted field has no
// position of its own outside the schema).
func userPos(v cue.Value, p cue.Path) (pos cuePos) {
	sels := p.Selectors()
	for n := len(sels); n >= 0; n-- {
		x := v.LookupPath(cue.MakePath(sels[:n]...))
		if !x.Exists() {
			continue
		}
		for _, c := range conjunctPositions(x) {
			if !isSchemaFile(c.Filename()) {
				return c
			}
		}
	}
	return pos
}
