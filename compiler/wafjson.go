package compiler

import (
	"regexp"

	"cuelang.org/go/cue"

	"openfront.dev/schema"
)

// wafJSONPointer is what WAF takes as an included path
// (API_JsonMatchPattern: pattern ([/])|([/](([^~])|(~[01]))+), 1 to 512
// characters): a JSON Pointer (RFC 6901) whose ~ escapes only ~ and /.
var wafJSONPointer = regexp.MustCompile(`^/(?:[^~]|~[01])*$`)

// wafMaxJSONPointer is the longest included path WAF takes, in characters.
const wafMaxJSONPointer = 512

// jsonBody checks a jsonBody fieldToMatch's matchPattern: exactly one
// kind, and 1 or more included paths WAF takes.
func (k *checker) jsonBody(key string, at func(...any) []cue.Selector, where string, j *schema.WAFJSONBody) {
	if j == nil {
		return
	}
	where += ": jsonBody"
	pat := func(parts ...any) []cue.Selector { return at(append([]any{"jsonBody", "matchPattern"}, parts...)...) }
	paths := j.MatchPattern.IncludedPaths
	fs := []wafField{{name: "all", set: j.MatchPattern.All != nil, supported: true}, {name: "includedPaths", set: paths != nil, supported: true}}
	if !k.one(key, pat, where, "matchPattern", fs) {
		return
	}
	if paths != nil && len(paths) == 0 {
		k.add(key, pat("includedPaths"), "%s: includedPaths lists no path; WAF takes 1 or more (for every path, give all)", where)
	}
	for i, p := range paths {
		switch {
		case !wafJSONPointer.MatchString(p):
			k.add(key, pat("includedPaths", i), "%s: included path %q is not a JSON Pointer WAF takes: \"/\" then names, ~ written only as ~0 (for ~) or ~1 (for /), as \"/dogs/0/name\"", where, p)
		case len([]rune(p)) > wafMaxJSONPointer:
			k.add(key, pat("includedPaths", i), "%s: included path has %d characters; WAF takes %d at most", where, len([]rune(p)), wafMaxJSONPointer)
		}
	}
}
