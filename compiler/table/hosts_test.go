package table

import (
	"strings"
	"testing"

	"openfront.dev/schema"
)

// A rebuild over the previous table moves only the aliases of the
// distributions that changed, and routes as a build from scratch does;
// the previous table's index is left as it was.
func TestRebuildMovesAliases(t *testing.T) {
	a := dist([]string{"a.example.com", "*.a.example.com"})
	prev := build(t, map[string]*schema.Distribution{
		"a": a,
		"b": dist([]string{"b.example.com"}),
		"c": dist([]string{"c.example.com"}),
	})
	next := map[string]*schema.Distribution{
		"a": a,                                                  // unchanged
		"b": dist([]string{"b2.example.com"}),                   // its alias changed
		"d": dist([]string{"c.example.com", "*.b.example.com"}), // new, with the alias of c, gone
	}
	cfg := &schema.Config{Distributions: next}
	got, err := Build(cfg, Source{}, prev)
	if err != nil {
		t.Fatal(err)
	}
	scratch := build(t, next)
	for host, want := range map[string]string{
		"a.example.com": "a", "x.a.example.com": "a", "b.example.com": "", "b2.example.com": "b",
		"c.example.com": "d", "x.b.example.com": "d",
	} {
		if id, from := idFor(got, host), idFor(scratch, host); id != want || from != want {
			t.Errorf("%s: rebuilt routes to %q, built from scratch to %q, want %q", host, id, from, want)
		}
	}
	if got.Distribution("a") != prev.Distribution("a") {
		t.Error("the unchanged distribution was built again")
	}
	for host, want := range map[string]string{"b.example.com": "b", "c.example.com": "c", "b2.example.com": "", "x.b.example.com": ""} {
		if id := idFor(prev, host); id != want {
			t.Errorf("the previous table routes %s to %q now, want %q", host, id, want)
		}
	}

	// A new distribution that claims an alias an unchanged one holds.
	next["e"] = dist([]string{"a.example.com"})
	if _, err := Build(cfg, Source{}, prev); err == nil || !strings.Contains(err.Error(), `alias "a.example.com" is claimed twice`) {
		t.Errorf("err %v, want the alias claimed twice", err)
	}
}

// idFor is the id of the distribution t routes host to, "" for none.
func idFor(t *Table, host string) string {
	if d := t.DistributionForHost(host); d != nil {
		return d.ID
	}
	return ""
}
