package compiler

import "testing"

// TestReadsStore: the forms of code that read a key value store, which
// vet warns about when the function names none.
func TestReadsStore(t *testing.T) {
	for _, c := range []struct {
		code string
		want bool
	}{
		{"import cf from 'cloudfront';\nconst h = cf.kvs();", true},
		{`import x from "cloudfront"; x.kvs("id")`, true},
		{"var cf = require('cloudfront');\ncf.kvs();", true},
		{"import { kvs } from 'cloudfront';\nconst h = kvs();", true},
		{"import cf from 'cloudfront';\ncf.updateRequestOrigin({});", false},
		{"function handler(e) { return e.request; }", false},
	} {
		if got := readsStore.MatchString(c.code); got != c.want {
			t.Errorf("%q: %v, want %v", c.code, got, c.want)
		}
	}
}
